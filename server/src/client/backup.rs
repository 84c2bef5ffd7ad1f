//! Backups through the client library (etcdctl's `snapshot save`).

use super::connection::{CallError, Connection};
use super::{Client, ClientError};
use keel_engine::wire::{BackupData, Frame, decode_backup_data};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A backup arriving from one member, piece by piece, in order.
pub struct BackupDownload {
    connection: Arc<Connection>,
    id: u64,
    frames: mpsc::Receiver<Frame>,
    done: bool,
}

impl BackupDownload {
    /// The next piece (with the bytes still to come after it), an error
    /// that ends the download, or `None` after the last piece.
    pub async fn next(&mut self) -> Option<Result<BackupData, ClientError>> {
        if self.done {
            return None;
        }
        let outcome = match self.frames.recv().await {
            None => Err(ClientError::ConnectionLost),
            Some(frame) => match decode_backup_data(&frame) {
                Ok(Ok(data)) => Ok(data),
                Ok(Err(error)) => Err(ClientError::Api(error)),
                Err(error) => Err(ClientError::Protocol(error)),
            },
        };
        self.done = outcome
            .as_ref()
            .map_or(true, |data| data.remaining_bytes == 0);
        Some(outcome)
    }
}

impl Drop for BackupDownload {
    fn drop(&mut self) {
        self.connection.forget_watch(self.id);
    }
}

impl Client {
    /// Starts a backup of the member this client connects to (the first
    /// endpoint that answers within the dial timeout). The download itself
    /// has no deadline: a large state takes as long as it takes.
    pub async fn backup(&self) -> Result<BackupDownload, ClientError> {
        let deadline = Instant::now() + self.options.dial_timeout;
        let connection = self.connect(deadline).await?;
        let (id, frames) = connection.backup().await.map_err(|e| match e {
            CallError::Protocol(err) => ClientError::Protocol(err),
            CallError::NotSent | CallError::Lost => ClientError::ConnectionLost,
        })?;
        Ok(BackupDownload {
            connection,
            id,
            frames,
            done: false,
        })
    }
}
