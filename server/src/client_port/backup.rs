//! Backups on the native protocol: a `BackupRequest` frame answered by a
//! stream of `BackupData` frames (or one `Error` frame).

use keel_engine::api::ApiError;
use keel_engine::node::NodeHandle;
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::{BackupData, Encode, Frame};
use tokio::sync::mpsc;

/// Bytes of the backup per frame (etcd sends 32 KiB per message).
pub(crate) const PIECE_BYTES: usize = 64 * 1024;

/// Streams a backup of `node` as frames with id `id` into `out`, which
/// bounds how far the backup runs ahead of the client. Stops early if the
/// connection goes away.
pub(super) async fn send_backup(node: NodeHandle, id: u64, out: mpsc::Sender<Frame>) {
    let mut stream = match node.backup().await {
        Ok(stream) => stream,
        Err(error) => {
            let _ = out.send(error_frame(id, &error)).await;
            return;
        }
    };
    loop {
        let frame = match stream.next_piece(PIECE_BYTES) {
            Ok(Some((blob, remaining_bytes))) => {
                let data = BackupData {
                    remaining_bytes,
                    blob,
                };
                Frame::new(FrameKind::BackupData, id, data.encode())
            }
            Ok(None) => return,
            Err(err) => {
                tracing::error!("backup stream failed: {err}");
                error_frame(
                    id,
                    &ApiError::Unavailable(format!("keel: backup failed: {err}")),
                )
            }
        };
        let last = frame.kind == FrameKind::Error;
        if out.send(frame).await.is_err() || last {
            return;
        }
    }
}

fn error_frame(id: u64, error: &ApiError) -> Frame {
    Frame::new(FrameKind::Error, id, error.to_bytes())
}
