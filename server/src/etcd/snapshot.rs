//! etcd's `Maintenance.Snapshot`: a backup of this member's state as a
//! stream of messages (`remaining_bytes` counting down to 0), the same bytes
//! `keelctl snapshot save` writes, so `etcdctl snapshot save` works too.

use super::proto::etcdserverpb as pb;
use super::unary::Context;
use crate::grpc::{Call, Code, Status};

/// Bytes of the backup per message (etcd sends 32 KiB).
pub(crate) const PIECE_BYTES: usize = 64 * 1024;

/// A backup for the call's caller: only root may take one once auth is on.
pub(crate) async fn backup_as(
    ctx: &Context,
) -> Result<keel_engine::backup::BackupStream, keel_engine::api::ApiError> {
    ctx.node
        .authorize(ctx.credentials.clone(), keel_engine::node::Need::Admin)
        .await?;
    ctx.node.backup().await
}

/// Serves one snapshot call.
pub async fn serve(ctx: Context, call: Call) {
    let Call {
        mut reader,
        mut sink,
        ..
    } = call;
    match reader.next::<pb::SnapshotRequest>().await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return sink.finish(&Status::internal(
                "grpc: no request message before end of stream",
            ));
        }
        Err(status) => return sink.finish(&status),
    }
    let mut stream = match backup_as(&ctx).await {
        Ok(stream) => stream,
        Err(error) => return sink.finish(&super::errors::maintenance_status_of(&error)),
    };
    loop {
        match stream.next_piece(PIECE_BYTES) {
            Ok(Some((blob, remaining_bytes))) => {
                let piece = pb::SnapshotResponse {
                    header: None,
                    remaining_bytes,
                    blob,
                };
                if sink.send(&piece).await.is_err() {
                    return;
                }
            }
            Ok(None) => return sink.finish(&Status::new(Code::Ok, "")),
            Err(err) => {
                tracing::error!("snapshot stream failed: {err}");
                return sink.finish(&Status::internal(format!("keel: snapshot failed: {err}")));
            }
        }
    }
}
