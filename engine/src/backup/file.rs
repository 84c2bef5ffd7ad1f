//! The backup file's byte stream, and opening one for reading.

use super::error::{BackupError, go_bytes};
use crate::storage::btree::{IMAGE_PREFIX_BYTES, ImageReader, image_length};
use crate::storage::disk::{Disk, DiskFile};
use sha2::{Digest, Sha256};
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// Length of the hash trailer.
pub const HASH_BYTES: usize = 32;
/// The image and its padding fill whole blocks of this size.
const BLOCK: u64 = 512;

/// A backup file as a byte stream (`Read`): the image, its padding, then
/// the hash. It pins the checkpoint the image comes from, so the backup is
/// that checkpoint exactly however long the copy takes, and holds one page
/// in memory at a time.
#[derive(Debug)]
pub struct BackupStream {
    image: ImageReader,
    image_left: u64,
    padding_left: u64,
    hasher: Sha256,
    hash: Option<[u8; HASH_BYTES]>,
    hash_at: usize,
    total: u64,
}

impl BackupStream {
    /// The backup of the checkpoint `image` was exported from.
    pub fn new(image: ImageReader) -> BackupStream {
        let image_bytes = image.total_bytes();
        let padded = image_bytes.div_ceil(BLOCK) * BLOCK;
        BackupStream {
            image,
            image_left: image_bytes,
            padding_left: padded - image_bytes,
            hasher: Sha256::new(),
            hash: None,
            hash_at: 0,
            total: padded + HASH_BYTES as u64,
        }
    }

    /// The stream's exact length in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// The next piece of at most `max` bytes, with how many bytes remain
    /// after it; `None` once everything was handed out.
    pub fn next_piece(&mut self, max: usize) -> io::Result<Option<(bytes::Bytes, u64)>> {
        let sent = self.total - self.left();
        let want = usize::try_from(self.total - sent)
            .unwrap_or(usize::MAX)
            .min(max);
        if want == 0 {
            return Ok(None);
        }
        let mut piece = vec![0u8; want];
        self.read_exact(&mut piece)?;
        Ok(Some((bytes::Bytes::from(piece), self.left())))
    }

    /// Bytes not yet read.
    fn left(&self) -> u64 {
        let hash_left = (HASH_BYTES - self.hash_at) as u64;
        self.image_left + self.padding_left + hash_left
    }
}

impl Read for BackupStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.image_left > 0 {
            let want = buf
                .len()
                .min(usize::try_from(self.image_left).unwrap_or(usize::MAX));
            let n = self.image.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the image ended before its length",
                ));
            }
            self.hasher.update(&buf[..n]);
            self.image_left -= n as u64;
            return Ok(n);
        }
        if self.padding_left > 0 {
            let n = buf
                .len()
                .min(usize::try_from(self.padding_left).unwrap_or(usize::MAX));
            buf[..n].fill(0);
            self.hasher.update(&buf[..n]);
            self.padding_left -= n as u64;
            return Ok(n);
        }
        let hash = *self
            .hash
            .get_or_insert_with(|| self.hasher.clone().finalize().into());
        let rest = &hash[self.hash_at..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.hash_at += n;
        Ok(n)
    }
}

/// Opens the backup at `path` on `disk` and returns a reader of exactly its
/// image. Unless `skip_hash_check`, the file must end with the hash of what
/// precedes it, and the hash must match ([`BackupError::MissingHash`],
/// [`BackupError::HashMismatch`]); the image itself is checked as it is
/// installed. Reads the file in pieces, never whole.
pub fn open_image(
    disk: &dyn Disk,
    path: &Path,
    skip_hash_check: bool,
) -> Result<impl Read + use<>, BackupError> {
    let file = disk
        .open(path)
        .map_err(|e| BackupError::Io(e.to_string()))?;
    let len = file.len().map_err(|e| BackupError::io("snapshot", e))?;
    let has_hash = len % BLOCK == HASH_BYTES as u64;
    if has_hash && !skip_hash_check {
        let content = len - HASH_BYTES as u64;
        let mut trailer = [0u8; HASH_BYTES];
        file.read_exact_at(&mut trailer, content)
            .map_err(|e| BackupError::io("reading the snapshot's hash", e))?;
        let mut hasher = Sha256::new();
        io::copy(
            &mut FileReader::new(Arc::clone(&file), content),
            &mut hasher,
        )
        .map_err(|e| BackupError::io("reading the snapshot", e))?;
        let got: [u8; HASH_BYTES] = hasher.finalize().into();
        if got != trailer {
            return Err(BackupError::HashMismatch {
                expected: go_bytes(&trailer),
                got: go_bytes(&got),
            });
        }
    } else if !has_hash && !skip_hash_check {
        return Err(BackupError::MissingHash);
    }
    let mut prefix = [0u8; IMAGE_PREFIX_BYTES];
    let image_bytes = match file.read_exact_at(&mut prefix, 0) {
        Ok(()) => image_length(&prefix),
        Err(_) => None,
    }
    .filter(|&image| image <= len)
    .ok_or_else(|| BackupError::BadImage("not a Keel snapshot".into()))?;
    Ok(BufReader::with_capacity(
        1 << 16,
        FileReader::new(file, image_bytes),
    ))
}

/// The first `end` bytes of a file, as a stream.
struct FileReader {
    file: Arc<dyn DiskFile>,
    at: u64,
    end: u64,
}

impl FileReader {
    fn new(file: Arc<dyn DiskFile>, end: u64) -> FileReader {
        FileReader { file, at: 0, end }
    }
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.at).unwrap_or(usize::MAX);
        let n = buf.len().min(left);
        if n == 0 {
            return Ok(0);
        }
        self.file
            .read_exact_at(&mut buf[..n], self.at)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.at += n as u64;
        Ok(n)
    }
}

/// The image inside a whole backup held in memory: the length must carry
/// the hash trailer and the hash must match (the image itself is checked
/// when it is installed).
pub fn image_of(backup: &[u8]) -> Result<&[u8], BackupError> {
    let len = backup.len() as u64;
    if len % BLOCK != HASH_BYTES as u64 {
        return Err(BackupError::MissingHash);
    }
    let (content, trailer) = backup.split_at(backup.len() - HASH_BYTES);
    let got: [u8; HASH_BYTES] = Sha256::digest(content).into();
    if got[..] != trailer[..] {
        return Err(BackupError::HashMismatch {
            expected: go_bytes(trailer),
            got: go_bytes(&got),
        });
    }
    let image = backup
        .get(..IMAGE_PREFIX_BYTES)
        .and_then(image_length)
        .and_then(|image| usize::try_from(image).ok())
        .and_then(|image| content.get(..image))
        .ok_or_else(|| BackupError::BadImage("not a Keel snapshot".into()))?;
    Ok(image)
}
