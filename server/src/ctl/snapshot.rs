//! `keelctl snapshot save|status|restore`: etcdctl 3.4's backup commands,
//! with the same arguments, defaults, messages and exit codes.

use super::cli::{ArgsOnly, SnapshotCommand, SnapshotRestoreArgs};
use super::error::{CtlError, ExitCode};
use super::output::{self, Output};
use super::run::Session;
use crate::daemon::{Identity, members_of};
use keel_engine::backup::{self, RestoreTarget};
use keel_engine::node::ids;
use keel_engine::storage::disk::OsDisk;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl Session<'_> {
    pub(super) async fn snapshot(self, command: SnapshotCommand) -> Result<Output, CtlError> {
        match command {
            SnapshotCommand::Save(args) => self.snapshot_save(args).await,
            SnapshotCommand::Status(args) => self.snapshot_status(args),
            SnapshotCommand::Restore(args) => self.snapshot_restore(args),
        }
    }

    /// Streams a backup from the one endpoint into `<file>.part`, syncs it
    /// and renames it to `<file>`; the partial file is removed on failure.
    /// Every failure exits 5, as etcdctl's does.
    async fn snapshot_save(self, args: ArgsOnly) -> Result<Output, CtlError> {
        let [path] = args.args.as_slice() else {
            return Err(CtlError::bad_args("snapshot save expects one argument"));
        };
        let interrupted = |message: String| CtlError::new(ExitCode::Interrupted, message);
        let endpoints = self.globals.endpoints.clone();
        if endpoints.len() != 1 {
            return Err(interrupted(format!(
                "snapshot must be requested to one selected node, not multiple [{}]",
                endpoints.join(" ")
            )));
        }
        let client = self.client_for(endpoints)?;
        let part = format!("{path}.part");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&part)
            .map_err(|e| {
                interrupted(format!(
                    "could not open {part} ({})",
                    go_io("open", &part, &e)
                ))
            })?;
        let saved = async {
            let mut download = client.backup().await.map_err(|e| e.to_string())?;
            let mut size = 0u64;
            while let Some(piece) = download.next().await {
                let piece = piece.map_err(|e| e.to_string())?;
                file.write_all(&piece.blob)
                    .map_err(|e| go_io("write", &part, &e))?;
                size += piece.blob.len() as u64;
            }
            if size % 512 != backup::HASH_BYTES as u64 {
                return Err(format!("sha256 checksum not found [bytes: {size}]"));
            }
            file.sync_all().map_err(|e| go_io("sync", &part, &e))?;
            std::fs::rename(&part, path)
                .map_err(|e| format!("could not rename {part} to {path} ({e})"))
        }
        .await;
        if let Err(message) = saved {
            let _ = std::fs::remove_file(&part);
            return Err(interrupted(message));
        }
        Ok(output::print_snapshot_saved(path))
    }

    fn snapshot_status(self, args: ArgsOnly) -> Result<Output, CtlError> {
        let [path] = args.args.as_slice() else {
            return Err(CtlError::bad_args(
                "snapshot status requires exactly one argument",
            ));
        };
        std::fs::metadata(path).map_err(|e| CtlError::error(go_io("stat", path, &e)))?;
        let status = backup::status(Arc::new(OsDisk::new()), Path::new(path))
            .map_err(|e| CtlError::error(e.to_string()))?;
        Ok(output::print_snapshot_status(self.print(), &status))
    }

    /// Makes a new member's data directory from a backup, for the cluster
    /// `--initial-cluster` describes, with its raft log in `--wal-dir` if
    /// given (which must not exist, as for etcdctl); logs what it does on
    /// stderr as etcdctl's zap logger does.
    fn snapshot_restore(self, args: SnapshotRestoreArgs) -> Result<Output, CtlError> {
        let [path] = args.args.as_slice() else {
            return Err(CtlError::bad_args(
                "snapshot restore requires exactly one argument",
            ));
        };
        let pairs = crate::config::initial_cluster(&args.initial_cluster)
            .map_err(|e| CtlError::error(e.to_string()))?;
        let members = members_of(&pairs, &args.initial_cluster_token);
        let me = members
            .iter()
            .find(|m| m.name == args.name)
            .ok_or_else(|| {
                CtlError::error(format!(
                    "couldn't find local name {:?} in the initial cluster configuration",
                    args.name
                ))
            })?;
        let mut advertised: Vec<&str> = args
            .initial_advertise_peer_urls
            .split(',')
            .map(str::trim)
            .collect();
        advertised.sort_unstable();
        let mut listed: Vec<&str> = me.peer_urls.iter().map(String::as_str).collect();
        listed.sort_unstable();
        if advertised != listed {
            return Err(CtlError::error(format!(
                "--initial-cluster has {}={} but --initial-advertise-peer-urls is {}",
                me.name,
                me.peer_urls.join(","),
                args.initial_advertise_peer_urls
            )));
        }
        let data_dir = if args.data_dir.is_empty() {
            PathBuf::from(format!("{}.keel", args.name))
        } else {
            PathBuf::from(&args.data_dir)
        };
        if data_dir.exists() {
            return Err(CtlError::error(format!(
                "data-dir {:?} exists",
                data_dir.display().to_string()
            )));
        }
        let wal_dir = (!args.wal_dir.is_empty()).then(|| PathBuf::from(&args.wal_dir));
        if let Some(wal) = wal_dir.as_ref().filter(|wal| wal.exists()) {
            return Err(CtlError::error(format!(
                "wal-dir {:?} exists",
                wal.display().to_string()
            )));
        }
        let shown_wal = wal_dir
            .clone()
            .unwrap_or_else(|| keel_engine::node::wal_dir(&data_dir));
        let member_ids: Vec<u64> = members.iter().map(|m| m.id).collect();
        let cluster_id = ids::cluster_id(&member_ids);
        let dirs = [
            ("path", serde_json::Value::from(path.as_str())),
            ("wal-dir", shown_wal.display().to_string().into()),
            ("data-dir", data_dir.display().to_string().into()),
        ];
        log(self.stderr, "restoring snapshot", &dirs);
        std::fs::File::open(path).map_err(|e| CtlError::error(go_io("open", path, &e)))?;
        let target = RestoreTarget {
            data_dir: data_dir.clone(),
            wal_dir: wal_dir.clone(),
            cluster_id,
            members: members.clone(),
            skip_hash_check: args.skip_hash_check,
        };
        let report = backup::restore(Arc::new(OsDisk::new()), Path::new(path), &target)
            .map_err(|e| CtlError::error(e.to_string()))?;
        let identity = Identity {
            member_id: me.id,
            cluster_id,
        };
        if let Err(err) = identity.store(&OsDisk::new(), &data_dir) {
            let _ = std::fs::remove_dir_all(&data_dir);
            if let Some(wal) = &wal_dir {
                let _ = std::fs::remove_dir_all(wal);
            }
            return Err(CtlError::error(err.to_string()));
        }
        for member in &members {
            let added = [
                ("cluster-id", format!("{cluster_id:x}").into()),
                ("local-member-id", "0".into()),
                ("added-peer-id", format!("{:x}", member.id).into()),
                ("added-peer-peer-urls", member.peer_urls.clone().into()),
            ];
            log(self.stderr, "added member", &added);
        }
        let [path_field, wal_field, dir_field] = dirs;
        let restored = [
            path_field,
            wal_field,
            dir_field,
            ("revision", report.revision.into()),
        ];
        log(self.stderr, "restored snapshot", &restored);
        Ok(Output::default())
    }
}

/// One line of etcdctl's zap JSON log on stderr, fields in the order given.
fn log(stderr: &mut dyn Write, message: &str, fields: &[(&str, serde_json::Value)]) {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut line = format!(
        "{{\"level\":\"info\",\"ts\":{ts},\"caller\":\"keelctl/snapshot\",\"msg\":{}",
        serde_json::Value::from(message)
    );
    for (key, value) in fields {
        line.push_str(&format!(",{}:{value}", serde_json::Value::from(*key)));
    }
    let _ = writeln!(stderr, "{line}}}");
}

/// An I/O error as Go's `os` package words it (`open x: no such file or
/// directory`).
pub(super) fn go_io(op: &str, path: &str, err: &std::io::Error) -> String {
    let why = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::AlreadyExists => "file exists".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => err.to_string(),
    };
    format!("{op} {path}: {why}")
}
