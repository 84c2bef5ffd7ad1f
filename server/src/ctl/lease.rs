//! `lease grant|revoke|timetolive|list|keep-alive`: etcdctl 3.4's
//! arguments, checks, messages and exit codes, and clientv3's keep-alive
//! loop (renew every TTL/3; give up once the lease is gone or no renewal
//! succeeded for a whole TTL).

use super::concurrency::KeepAlive;
use super::error::{CtlError, ExitCode};
use super::go_parse::parse_int;
use super::output::{self, Output};
use super::run::{Session, unexpected};
use keel_engine::api::*;
use std::sync::Arc;
use std::time::Duration;

/// `lease ...`.
#[derive(clap::Subcommand, Debug)]
pub enum LeaseCommand {
    /// Creates leases
    #[command(override_usage = "grant <ttl>")]
    Grant(LeaseArgs),
    /// Revokes leases
    #[command(override_usage = "revoke <leaseID>")]
    Revoke(LeaseArgs),
    /// Get lease information
    #[command(override_usage = "timetolive <leaseID> [options]")]
    Timetolive(TimeToLiveArgs),
    /// List all active leases
    List(LeaseArgs),
    /// Keeps leases alive (renew)
    #[command(override_usage = "keep-alive [options] <leaseID>")]
    KeepAlive(KeepAliveArgs),
}

/// A lease command's positional arguments (checked by the command, with
/// etcdctl's messages).
#[derive(clap::Args, Debug)]
pub struct LeaseArgs {
    /// The arguments.
    pub args: Vec<String>,
}

/// `lease timetolive <leaseID> [options]`.
#[derive(clap::Args, Debug)]
pub struct TimeToLiveArgs {
    /// Get keys attached to this lease
    #[arg(long)]
    pub keys: bool,
    /// The lease id.
    pub args: Vec<String>,
}

/// `lease keep-alive [options] <leaseID>`.
#[derive(clap::Args, Debug)]
pub struct KeepAliveArgs {
    /// Resets the keep-alive time to its original value and exits immediately
    #[arg(long)]
    pub once: bool,
    /// The lease id.
    pub args: Vec<String>,
}

/// A lease id argument: hex, as Go's `ParseInt(arg, 16, 64)` reads it,
/// with etcdctl's message (exit 128) when it is not one.
pub fn lease_id_arg(text: &str) -> Result<i64, CtlError> {
    parse_int(text, 16).map_err(|error| {
        CtlError::bad_args(format!("bad lease ID arg ({error}), expecting ID in Hex"))
    })
}

/// The one lease id a command takes; `missing` is etcdctl's message when
/// there is not exactly one argument.
fn one_lease_id(args: &[String], missing: &str) -> Result<i64, CtlError> {
    match args {
        [id] => lease_id_arg(id),
        _ => Err(CtlError::bad_args(missing)),
    }
}

impl Session<'_> {
    /// Runs one `lease` subcommand.
    pub(super) async fn lease(self, command: LeaseCommand) -> Result<Output, CtlError> {
        let print = self.print();
        match command {
            LeaseCommand::Grant(LeaseArgs { args }) => {
                let [ttl] = args.as_slice() else {
                    return Err(CtlError::bad_args("lease grant command needs TTL argument"));
                };
                let ttl = parse_int(ttl, 10)
                    .map_err(|error| CtlError::bad_args(format!("bad TTL ({error})")))?;
                let request = Request::LeaseGrant(LeaseGrantRequest {
                    ttl_seconds: ttl,
                    id: 0,
                });
                match self.send(request).await {
                    Ok(Response::LeaseGrant(response)) => {
                        Ok(output::print_lease_grant(print, &response))
                    }
                    Ok(other) => Err(unexpected(&other)),
                    Err(error) => Err(CtlError::error(format!(
                        "failed to grant lease ({})",
                        error.message
                    ))),
                }
            }
            LeaseCommand::Revoke(LeaseArgs { args }) => {
                let id = one_lease_id(&args, "lease revoke command needs 1 argument")?;
                match self
                    .send(Request::LeaseRevoke(LeaseRevokeRequest { id }))
                    .await
                {
                    Ok(Response::LeaseRevoke(response)) => {
                        Ok(output::print_lease_revoke(print, id, &response))
                    }
                    Ok(other) => Err(unexpected(&other)),
                    Err(error) => Err(CtlError::error(format!(
                        "failed to revoke lease ({})",
                        error.message
                    ))),
                }
            }
            LeaseCommand::Timetolive(TimeToLiveArgs { keys, args }) => {
                let id =
                    one_lease_id(&args, "lease timetolive command needs lease ID as argument")?;
                let request = Request::LeaseTimeToLive(LeaseTimeToLiveRequest { id, keys });
                match self.send(request).await.map_err(bad_connection)? {
                    Response::LeaseTimeToLive(response) => {
                        Ok(output::print_lease_time_to_live(print, &response, keys))
                    }
                    other => Err(unexpected(&other)),
                }
            }
            // etcdctl ignores any arguments `lease list` is given.
            LeaseCommand::List(_) => {
                match self
                    .send(Request::LeaseLeases)
                    .await
                    .map_err(bad_connection)?
                {
                    Response::LeaseLeases(response) => {
                        Ok(output::print_lease_list(print, &response))
                    }
                    other => Err(unexpected(&other)),
                }
            }
            LeaseCommand::KeepAlive(KeepAliveArgs { once, args }) => {
                let id =
                    one_lease_id(&args, "lease keep-alive command needs lease ID as argument")?;
                if once {
                    self.keep_alive_once(id).await
                } else {
                    self.keep_alive(id).await
                }
            }
        }
    }

    /// `--once`: one renewal; a lease that does not exist is clientv3's
    /// `ErrLeaseNotFound`, which etcdctl reports with exit 2.
    async fn keep_alive_once(self, id: i64) -> Result<Output, CtlError> {
        let request = Request::LeaseKeepAlive(LeaseKeepAliveRequest { id });
        match self.send(request).await {
            Ok(Response::LeaseKeepAlive(response)) if response.ttl_seconds > 0 => {
                Ok(output::print_lease_keep_alive(self.print(), &response))
            }
            Ok(Response::LeaseKeepAlive(_)) => Err(CtlError::new(
                ExitCode::BadConnection,
                ApiError::LeaseNotFound.to_string(),
            )),
            Ok(other) => Err(unexpected(&other)),
            Err(error) => Err(CtlError::new(ExitCode::BadConnection, error.message)),
        }
    }

    /// Renews the lease every TTL/3, printing each renewal as it comes,
    /// until the lease is gone (revoked, expired, never existed) or no
    /// renewal succeeded within a TTL of the last one; then prints
    /// etcdctl's `expired or revoked.` line and exits 0. Runs until
    /// interrupted otherwise.
    async fn keep_alive(self, id: i64) -> Result<Output, CtlError> {
        let client = Arc::new(self.client_for(self.globals.endpoints.clone())?);
        let print = self.print();
        // clientv3 waits dial timeout + 1 s for the first answer.
        let first = self.globals.dial_timeout + Duration::from_secs(1);
        let mut renewals = KeepAlive::new(client, id, first);
        while let Some(renewed) = renewals.next().await {
            let printed = output::print_lease_keep_alive(print, &renewed);
            if printed.exit_code != 0 {
                return Ok(printed);
            }
            if self
                .prompts
                .write_all(&printed.stdout)
                .and_then(|()| self.prompts.flush())
                .is_err()
            {
                // Standard output is gone (`keelctl ... | head`).
                return Ok(Output::default());
            }
        }
        Ok(output::print_lease_keep_alive_ended(print, id))
    }
}

/// etcdctl reports `timetolive` and `list` failures with exit 2.
fn bad_connection(error: CtlError) -> CtlError {
    CtlError::new(ExitCode::BadConnection, error.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_ids_are_hex_with_etcdctls_messages() {
        assert_eq!(lease_id_arg("694d77aa9e38260f"), Ok(0x694d77aa9e38260f));
        assert_eq!(
            lease_id_arg("zz").unwrap_err(),
            CtlError::bad_args(
                "bad lease ID arg (strconv.ParseInt: parsing \"zz\": invalid syntax), expecting ID in Hex"
            )
        );
        assert_eq!(
            lease_id_arg("8000000000000000").unwrap_err().message,
            "bad lease ID arg (strconv.ParseInt: parsing \"8000000000000000\": value out of range), expecting ID in Hex"
        );
        assert_eq!(
            one_lease_id(&[], "needs").unwrap_err(),
            CtlError::bad_args("needs")
        );
        assert_eq!(
            one_lease_id(&["1".into(), "2".into()], "needs").unwrap_err(),
            CtlError::bad_args("needs")
        );
    }
}
