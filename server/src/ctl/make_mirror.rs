//! `keelctl make-mirror`: copies the source cluster's keys (one prefix, or
//! all of them) to a destination cluster and keeps copying their changes,
//! as etcdctl 3.4's command does.
//!
//! The order is etcdctl's, since it decides which error a bad invocation
//! gets: the argument count; the destination's TLS files (exit 128); a
//! read of the source's revision; only then the
//! `--dest-prefix`/`--no-dest-prefix` conflict (exit 128). Neither cluster
//! is dialed before it is needed (etcdctl 3.4's dial does not block
//! either). The keys at that revision are put one by one, then a watch
//! from the next revision is replayed, one destination txn per source
//! revision. Every 30 s the number of keys and events mirrored so far is
//! printed on a line of its own. The command runs until it is killed or
//! an error that is the cluster's answer ends it (exit 1); an unreachable
//! source or destination is waited for, for ever, as etcdctl waits (its
//! clientv3 requests here have no deadline and wait for a connection).

use super::cli::parse_go_bool;
use super::error::CtlError;
use super::output::Output;
use super::run::{Session, client_options, request_error, unexpected};
use super::snapshot::go_io;
use crate::client::{Client, ClientError};
use crate::tls::ClientTlsFiles;
use bytes::Bytes;
use keel_engine::api::{
    ApiError, DeleteRangeRequest, Event, EventKind, PutRequest, RangeRequest, RangeResponse,
    Request, RequestOp, Response, TxnRequest, WatchCreateRequest,
};
use keel_engine::mvcc::KeyRange;
use std::cell::Cell;
use std::path::PathBuf;
use std::time::Duration;

/// How often the running count is printed (etcdctl's 30 s).
const COUNT_INTERVAL: Duration = Duration::from_secs(30);

/// The pause before a request or watch that found its cluster unreachable
/// is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// At most this many keys per read of the source (etcdctl's batch).
const SYNC_BATCH_KEYS: i64 = 1000;

/// `make-mirror [options] <destination>`.
#[derive(clap::Args, Debug)]
pub struct MakeMirrorArgs {
    /// Key-value prefix to mirror
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// destination prefix to mirror a prefix to a different prefix in the destination cluster
    #[arg(long = "dest-prefix", default_value = "")]
    pub dest_prefix: String,
    /// mirror key-values to the root of the destination cluster
    #[arg(long = "no-dest-prefix", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = parse_go_bool)]
    pub no_dest_prefix: bool,
    /// Identify secure client using this TLS certificate file for the destination cluster
    #[arg(long = "dest-cert", default_value = "")]
    pub dest_cert: String,
    /// Identify secure client using this TLS key file
    #[arg(long = "dest-key", default_value = "")]
    pub dest_key: String,
    /// Verify certificates of TLS enabled secure servers using this CA bundle
    #[arg(long = "dest-cacert", default_value = "")]
    pub dest_cacert: String,
    /// Disable transport security for client connections
    #[arg(long = "dest-insecure-transport", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "true", value_parser = parse_go_bool)]
    pub dest_insecure_transport: bool,
    /// The destination endpoint.
    pub args: Vec<String>,
}

impl MakeMirrorArgs {
    /// The destination's TLS files (empty flags: none).
    fn dest_tls(&self) -> ClientTlsFiles {
        let path = |text: &str| (!text.is_empty()).then(|| PathBuf::from(text));
        ClientTlsFiles {
            ca_file: path(&self.dest_cacert),
            cert_file: path(&self.dest_cert),
            key_file: path(&self.dest_key),
            insecure_skip_verify: false,
        }
    }

    /// Each destination TLS file given can be opened, checked in the order
    /// etcdctl reads them (certificate, key, CA), with Go's words for the
    /// first that cannot (exit 128).
    fn check_dest_files(&self) -> Result<(), CtlError> {
        for path in [&self.dest_cert, &self.dest_key, &self.dest_cacert] {
            if path.is_empty() {
                continue;
            }
            if let Err(error) = std::fs::File::open(path) {
                return Err(CtlError::bad_args(go_io("open", path, &error)));
            }
        }
        Ok(())
    }

    /// The destination prefix the keys get, after the conflict check.
    fn dest_prefix(&self) -> Result<&str, CtlError> {
        if self.no_dest_prefix && !self.dest_prefix.is_empty() {
            return Err(CtlError::bad_args(
                "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, \
                 choose one",
            ));
        }
        if !self.no_dest_prefix && self.dest_prefix.is_empty() {
            return Ok(&self.prefix);
        }
        Ok(&self.dest_prefix)
    }
}

/// Renames source keys for the destination: the first occurrence of the
/// source prefix becomes the destination prefix (Go's `strings.Replace`
/// with n = 1; an empty source prefix puts the destination's in front).
#[derive(Debug, Clone)]
struct Renamer {
    from: Vec<u8>,
    to: Vec<u8>,
}

impl Renamer {
    fn rename(&self, key: &[u8]) -> Bytes {
        let at = if self.from.is_empty() {
            Some(0)
        } else {
            key.windows(self.from.len())
                .position(|window| window == self.from.as_slice())
        };
        let Some(at) = at else {
            return Bytes::copy_from_slice(key);
        };
        let mut renamed = Vec::with_capacity(key.len() + self.to.len());
        renamed.extend_from_slice(&key[..at]);
        renamed.extend_from_slice(&self.to);
        renamed.extend_from_slice(&key[at + self.from.len()..]);
        Bytes::from(renamed)
    }
}

/// The source range mirrored: the prefix's keys, or every key.
fn source_range(prefix: &str) -> (Bytes, Bytes) {
    if prefix.is_empty() {
        (Bytes::from_static(&[0]), Bytes::from_static(&[0]))
    } else {
        let key = Bytes::copy_from_slice(prefix.as_bytes());
        let end = KeyRange::prefix_end(&key);
        (key, end)
    }
}

/// A request error of the running mirror: etcdctl's exit 1 and message.
fn mirror_error(error: ClientError) -> CtlError {
    CtlError::error(error.to_string())
}

/// Whether `error` says only that the cluster could not be reached (in
/// time): clientv3 waits for such a cluster without a deadline in
/// make-mirror, so the mirror does too.
fn unreachable(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::DeadlineExceeded | ClientError::ConnectionLost
    )
}

/// Sends `request` until the cluster answers it. Sending one of the
/// mirror's requests twice is harmless: it reads, or it puts and deletes
/// what the source holds, which gives the same destination either way.
async fn patiently(client: &Client, request: Request) -> Result<Response, CtlError> {
    loop {
        match client.request(request.clone()).await {
            Err(error) if unreachable(&error) => tokio::time::sleep(RETRY_PAUSE).await,
            other => return other.map_err(mirror_error),
        }
    }
}

impl Session<'_> {
    /// `make-mirror`: runs until killed, or until it fails.
    pub(super) async fn make_mirror(self, args: MakeMirrorArgs) -> Result<Output, CtlError> {
        let [destination] = args.args.as_slice() else {
            return Err(CtlError::bad_args(
                "make-mirror takes one destination argument",
            ));
        };
        args.check_dest_files()?;
        let mut dest_globals = self.globals.clone();
        dest_globals.tls = args.dest_tls();
        dest_globals.insecure_transport = args.dest_insecure_transport;
        let dest = Client::new(client_options(&dest_globals, vec![destination.clone()])).map_err(
            |error| match error {
                // etcdctl cannot build the destination's TLS settings: 128.
                ClientError::Tls(message) => CtlError::bad_args(message),
                other => request_error(other),
            },
        )?;
        let source = self.client_for(self.globals.endpoints.clone())?;
        let total = Cell::new(0_i64);
        let mirror = Mirror {
            source: &source,
            dest: &dest,
            total: &total,
        };
        let prompts = self.prompts;
        let counting = async {
            let mut ticks = tokio::time::interval_at(
                tokio::time::Instant::now() + COUNT_INTERVAL,
                COUNT_INTERVAL,
            );
            loop {
                ticks.tick().await;
                let line = format!("{}\n", total.get());
                // A failed write is not the mirror's failure.
                let _ = prompts
                    .write_all(line.as_bytes())
                    .and_then(|()| prompts.flush());
            }
        };
        tokio::select! {
            result = mirror.run(&args) => result.map(|()| Output::default()),
            () = counting => Ok(Output::default()),
        }
    }
}

/// One running mirror.
struct Mirror<'m> {
    source: &'m Client,
    dest: &'m Client,
    /// Keys put and events replayed so far.
    total: &'m Cell<i64>,
}

impl Mirror<'_> {
    async fn run(&self, args: &MakeMirrorArgs) -> Result<(), CtlError> {
        // The revision the copy is made at (etcd's syncer reads "foo").
        let revision = self.source_revision().await;
        let renamer = Renamer {
            from: args.prefix.as_bytes().to_vec(),
            to: args.dest_prefix()?.as_bytes().to_vec(),
        };
        let revision = revision?;
        self.copy_base(&args.prefix, revision, &renamer).await?;
        self.follow(&args.prefix, revision, &renamer).await
    }

    async fn source_revision(&self) -> Result<i64, CtlError> {
        let request = Request::Range(RangeRequest {
            key: Bytes::from_static(b"foo"),
            ..RangeRequest::default()
        });
        match patiently(self.source, request).await? {
            Response::Range(response) => Ok(response.header.revision),
            other => Err(unexpected(&other)),
        }
    }

    /// Puts every key of the range as it was at `revision`, in batches.
    async fn copy_base(
        &self,
        prefix: &str,
        revision: i64,
        renamer: &Renamer,
    ) -> Result<(), CtlError> {
        let (mut key, range_end) = source_range(prefix);
        loop {
            let page = self.read_page(key, range_end.clone(), revision).await?;
            for kv in &page.kvs {
                let put = Request::Put(PutRequest {
                    key: renamer.rename(&kv.key),
                    value: kv.value.clone(),
                    ..PutRequest::default()
                });
                match patiently(self.dest, put).await? {
                    Response::Put(_) => self.total.set(self.total.get() + 1),
                    other => return Err(unexpected(&other)),
                }
            }
            let Some(last) = page.kvs.last().filter(|_| page.more) else {
                return Ok(());
            };
            let mut next = last.key.to_vec();
            next.push(0);
            key = Bytes::from(next);
        }
    }

    async fn read_page(
        &self,
        key: Bytes,
        range_end: Bytes,
        revision: i64,
    ) -> Result<RangeResponse, CtlError> {
        let request = Request::Range(RangeRequest {
            key,
            range_end,
            limit: SYNC_BATCH_KEYS,
            revision,
            ..RangeRequest::default()
        });
        match patiently(self.source, request).await? {
            Response::Range(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }

    /// Replays the source's changes after `revision`: one destination txn
    /// per source revision.
    async fn follow(&self, prefix: &str, revision: i64, renamer: &Renamer) -> Result<(), CtlError> {
        let (key, range_end) = source_range(prefix);
        let mut create = WatchCreateRequest {
            key,
            range_end,
            start_revision: revision + 1,
            ..WatchCreateRequest::default()
        };
        let mut watcher = self.source.watch(create.clone());
        loop {
            let response = match watcher.next().await {
                None => break,
                Some(Ok(response)) => response,
                Some(Err(error)) if unreachable(&error) => {
                    // As clientv3's watch: resumed once the source answers.
                    create.start_revision = watcher.next_revision();
                    tokio::time::sleep(RETRY_PAUSE).await;
                    watcher = self.source.watch(create.clone());
                    continue;
                }
                Some(Err(error)) => return Err(mirror_error(error)),
            };
            if response.compact_revision != 0 {
                return Err(CtlError::error(
                    ApiError::Compacted {
                        compact_revision: response.compact_revision,
                    }
                    .to_string(),
                ));
            }
            for events in response
                .events
                .chunk_by(|a, b| a.kv.mod_revision == b.kv.mod_revision)
            {
                self.replay(events, renamer).await?;
            }
            if response.canceled {
                break;
            }
        }
        // etcdctl's watch channel closed: it reports a nil error.
        Err(CtlError::error("<nil>"))
    }

    /// One source revision's events as one destination txn.
    async fn replay(&self, events: &[Event], renamer: &Renamer) -> Result<(), CtlError> {
        let success = events
            .iter()
            .map(|event| {
                let key = renamer.rename(&event.kv.key);
                match event.kind {
                    EventKind::Put => RequestOp::Put(PutRequest {
                        key,
                        value: event.kv.value.clone(),
                        ..PutRequest::default()
                    }),
                    EventKind::Delete => RequestOp::DeleteRange(DeleteRangeRequest {
                        key,
                        ..DeleteRangeRequest::default()
                    }),
                }
            })
            .collect();
        self.total.set(self.total.get() + events.len() as i64);
        let txn = Request::Txn(TxnRequest {
            success,
            ..TxnRequest::default()
        });
        match patiently(self.dest, txn).await? {
            Response::Txn(_) => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::ExitCode;

    fn renamer(from: &str, to: &str) -> Renamer {
        Renamer {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn keys_are_renamed_as_go_replaces_once() {
        assert_eq!(renamer("o_", "d_").rename(b"o_key1"), "d_key1");
        assert_eq!(renamer("o_", "").rename(b"o_key1"), "key1");
        assert_eq!(renamer("", "d/").rename(b"key"), "d/key");
        assert_eq!(renamer("", "").rename(b"key"), "key");
        assert_eq!(renamer("a", "b").rename(b"aaa"), "baa");
        assert_eq!(renamer("x", "y").rename(b"abc"), "abc");
    }

    #[test]
    fn the_whole_keyspace_is_mirrored_without_a_prefix() {
        assert_eq!(
            source_range(""),
            (Bytes::from_static(&[0]), Bytes::from_static(&[0]))
        );
        assert_eq!(source_range("ab"), (Bytes::from("ab"), Bytes::from("ac")));
    }

    fn args(prefix: &str, dest_prefix: &str, no_dest_prefix: bool) -> MakeMirrorArgs {
        MakeMirrorArgs {
            prefix: prefix.into(),
            dest_prefix: dest_prefix.into(),
            no_dest_prefix,
            dest_cert: String::new(),
            dest_key: String::new(),
            dest_cacert: String::new(),
            dest_insecure_transport: true,
            args: Vec::new(),
        }
    }

    #[test]
    fn dest_prefix_defaults_to_the_prefix_and_conflicts_with_no_dest_prefix() {
        assert_eq!(args("o_", "", false).dest_prefix(), Ok("o_"));
        assert_eq!(args("o_", "d_", false).dest_prefix(), Ok("d_"));
        assert_eq!(args("o_", "", true).dest_prefix(), Ok(""));
        let error = args("o_", "d_", true).dest_prefix().unwrap_err();
        assert_eq!(error.exit, ExitCode::BadArgs);
    }
}
