//! Password hashes as etcd keeps them: bcrypt, `$2a$` like Go's
//! `x/crypto/bcrypt`, with etcd's `--bcrypt-cost` (4 to 31, default 10).
//!
//! Hashing and checking take milliseconds to seconds by design; callers run
//! them off any task that must stay responsive.

/// etcd's default `--bcrypt-cost`.
pub const DEFAULT_BCRYPT_COST: u32 = 10;

/// A password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bcrypt: {0}")]
pub struct HashError(String);

/// The bcrypt hash of `password` at `cost` with `salt`. Passwords longer
/// than bcrypt's 72 bytes count by their first 72, as in Go's bcrypt that
/// etcd 3.4 uses.
pub fn hash_password(password: &str, cost: u32, salt: [u8; 16]) -> Result<String, HashError> {
    bcrypt::hash_with_salt(password, cost, salt)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `hash`; a hash that does not parse matches
/// nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_its_password_only() {
        let hash = hash_password("secret", 4, [7; 16]).expect("cost 4 is valid");
        assert!(hash.starts_with("$2a$04$"), "{hash}");
        assert!(verify_password("secret", &hash));
        assert!(!verify_password("secreT", &hash));
        assert!(!verify_password("", &hash));
        assert_ne!(hash, hash_password("secret", 4, [8; 16]).expect("valid"));
    }

    #[test]
    fn a_hash_from_go_bcrypt_is_understood() {
        // Made by Go's golang.org/x/crypto/bcrypt (as etcd 3.4 stores
        // passwords) for the password "pass" at cost 4.
        let go = "$2a$04$.au/rxGqtnZuOC48zq4zAuLTJPI/kWPCjU.1JjaNuff.2Z8ZrKc.2";
        assert!(verify_password("pass", go));
        assert!(!verify_password("pas", go));
    }

    #[test]
    fn bad_costs_and_garbage_hashes_are_errors_not_panics() {
        assert!(hash_password("x", 3, [0; 16]).is_err());
        assert!(hash_password("x", 32, [0; 16]).is_err());
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", "$2a$04$short"));
    }
}
