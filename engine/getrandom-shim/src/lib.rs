//! getrandom 0.2's public API, implemented over the libc `getrandom` function.
//!
//! Why this exists: raft-rs draws election timeouts from `rand::thread_rng()`,
//! which is seeded through getrandom 0.2. Upstream getrandom 0.2 on Linux
//! issues the raw `SYS_getrandom` syscall, which madsim cannot intercept, so
//! the same simulation seed elected different leaders. madsim overrides the
//! libc *function* `getrandom`; calling it here makes every OS random draw
//! deterministic under `--cfg madsim` and leaves production unchanged (the
//! function is glibc's own outside the simulator). The root Cargo.toml patches
//! crates.io's getrandom 0.2 with this crate; the determinism test in
//! `keel-engine` proves the effect.

use core::num::NonZeroU32;
use std::fmt;

/// An error from the OS random source: an errno, or one of the constants.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error(NonZeroU32);

const fn internal(n: u32) -> Error {
    match NonZeroU32::new(Error::INTERNAL_START + n) {
        Some(code) => Error(code),
        None => panic!("internal error codes are non-zero"),
    }
}

impl Error {
    /// Codes at or above this are not OS errors.
    pub const INTERNAL_START: u32 = 1 << 31;
    /// Codes at or above this are reserved for custom sources.
    pub const CUSTOM_START: u32 = (1 << 31) + (1 << 30);
    /// The platform has no random source.
    pub const UNSUPPORTED: Error = internal(0);
    /// The OS reported failure without a positive errno.
    pub const ERRNO_NOT_POSITIVE: Error = internal(1);
    /// Something unexpected happened.
    pub const UNEXPECTED: Error = internal(2);

    /// The errno, if this error came from the OS.
    pub fn raw_os_error(self) -> Option<i32> {
        let code = self.0.get();
        (code < Self::INTERNAL_START).then_some(code as i32)
    }

    /// The raw code.
    pub const fn code(self) -> NonZeroU32 {
        self.0
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.raw_os_error() {
            Some(errno) => write!(f, "Error {{ os_error: {errno} }}"),
            None => write!(f, "Error {{ internal_code: {} }}", self.0),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.raw_os_error() {
            Some(errno) => write!(f, "{}", std::io::Error::from_raw_os_error(errno)),
            None => write!(f, "getrandom: internal error {}", self.0),
        }
    }
}

impl std::error::Error for Error {}

impl From<NonZeroU32> for Error {
    fn from(code: NonZeroU32) -> Self {
        Error(code)
    }
}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        match err.raw_os_error() {
            Some(errno) => std::io::Error::from_raw_os_error(errno),
            None => std::io::Error::other(err),
        }
    }
}

/// Fills `dest` with random bytes from the OS (or from madsim's seeded RNG
/// when running inside the simulator).
pub fn getrandom(dest: &mut [u8]) -> Result<(), Error> {
    let mut filled = 0;
    while filled < dest.len() {
        let rest = &mut dest[filled..];
        // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if errno == libc::EINTR {
                continue;
            }
            return Err(u32::try_from(errno)
                .ok()
                .and_then(NonZeroU32::new)
                .map_or(Error::ERRNO_NOT_POSITIVE, Error));
        }
        filled += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_the_whole_buffer_with_varying_bytes() {
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        getrandom(&mut a).unwrap();
        getrandom(&mut b).unwrap();
        assert_ne!(a, b);
        // 4096 zero bytes from a working source has probability 2^-32768.
        assert!(a.iter().any(|&x| x != 0));
        getrandom(&mut []).unwrap();
    }

    #[test]
    fn os_errors_round_trip_through_io_error() {
        let err = Error::from(NonZeroU32::new(libc::EIO as u32).unwrap());
        assert_eq!(err.raw_os_error(), Some(libc::EIO));
        assert_eq!(std::io::Error::from(err).raw_os_error(), Some(libc::EIO));
        assert_eq!(Error::UNSUPPORTED.raw_os_error(), None);
    }
}
