//! `--cipher-suites`: Go's names for TLS cipher suites (etcd's), and the
//! rustls suites they stand for.
//!
//! As etcd 3.4 (Go 1.19's `tls.Config.CipherSuites`), the list restricts
//! TLS 1.2 only: TLS 1.3 stays enabled with all its suites, which Go does
//! not let a program configure, and TLS 1.3 names in the list are accepted
//! and change nothing.

use rustls::CipherSuite;
use rustls::crypto::CryptoProvider;

/// What a name in `--cipher-suites` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoCipherSuite {
    /// A TLS 1.2 suite Keel's TLS implements.
    Tls12(CipherSuite),
    /// A TLS 1.3 suite: accepted, no effect (always enabled).
    Tls13,
    /// A suite Go knows but rustls does not implement (RSA key exchange,
    /// CBC, RC4, 3DES).
    NotImplemented,
    /// Not a name Go knows: etcd refuses it.
    Unknown,
}

/// The TLS 1.2 suites Keel implements, by Go's names (Go's aliases
/// without `_SHA256` included, as etcd's `tlsutil` takes them).
const TLS12: &[(&str, CipherSuite)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Go 1.19's TLS 1.3 suite names.
const TLS13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The rest of Go 1.19's names (`tls.CipherSuites()` and
/// `tls.InsecureCipherSuites()`), which rustls does not implement.
const NOT_IMPLEMENTED: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// What the Go name `name` is (exact, case-sensitive, as Go compares).
pub fn go_cipher_suite(name: &str) -> GoCipherSuite {
    if let Some((_, suite)) = TLS12.iter().find(|(n, _)| *n == name) {
        GoCipherSuite::Tls12(*suite)
    } else if TLS13.contains(&name) {
        GoCipherSuite::Tls13
    } else if NOT_IMPLEMENTED.contains(&name) {
        GoCipherSuite::NotImplemented
    } else {
        GoCipherSuite::Unknown
    }
}

/// The Go names of the TLS 1.2 suites Keel implements.
pub fn implemented_tls12_names() -> impl Iterator<Item = &'static str> {
    TLS12.iter().map(|(name, _)| *name)
}

/// `provider` restricted to `tls12` for TLS 1.2, in that order, with all
/// its TLS 1.3 suites; `None` (no `--cipher-suites`) leaves it as it is.
/// An empty list (only TLS 1.3 names given) leaves no TLS 1.2 suite, as
/// in Go.
pub fn restrict(mut provider: CryptoProvider, tls12: Option<&[CipherSuite]>) -> CryptoProvider {
    let Some(tls12) = tls12 else {
        return provider;
    };
    let all = std::mem::take(&mut provider.cipher_suites);
    let tls13 = all
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13);
    let listed = tls12
        .iter()
        .filter_map(|wanted| all.iter().find(|s| s.suite() == *wanted));
    provider.cipher_suites = tls13.chain(listed).copied().collect();
    provider
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names_map_to_what_keel_does_with_them() {
        assert_eq!(
            go_cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            GoCipherSuite::Tls12(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        );
        assert_eq!(
            go_cipher_suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"),
            GoCipherSuite::Tls12(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        );
        assert_eq!(
            go_cipher_suite("TLS_AES_128_GCM_SHA256"),
            GoCipherSuite::Tls13
        );
        assert_eq!(
            go_cipher_suite("TLS_RSA_WITH_AES_128_GCM_SHA256"),
            GoCipherSuite::NotImplemented
        );
        assert_eq!(
            go_cipher_suite("tls_ecdhe_rsa_with_aes_128_gcm_sha256"),
            GoCipherSuite::Unknown
        );
        assert_eq!(
            go_cipher_suite("ECDHE-RSA-AES128-GCM-SHA256"),
            GoCipherSuite::Unknown
        );
    }

    #[test]
    fn every_implemented_name_is_in_the_ring_provider() {
        let provider = rustls::crypto::ring::default_provider();
        for (name, suite) in TLS12 {
            assert!(
                provider.cipher_suites.iter().any(|s| s.suite() == *suite),
                "{name}"
            );
        }
    }

    #[test]
    fn restricting_keeps_tls13_and_the_listed_tls12_suites() {
        let provider = restrict(
            rustls::crypto::ring::default_provider(),
            Some(&[
                CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            ]),
        );
        let suites: Vec<CipherSuite> = provider.cipher_suites.iter().map(|s| s.suite()).collect();
        assert_eq!(
            suites,
            [
                CipherSuite::TLS13_AES_256_GCM_SHA384,
                CipherSuite::TLS13_AES_128_GCM_SHA256,
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
                CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            ]
        );
        let all = rustls::crypto::ring::default_provider().cipher_suites.len();
        assert_eq!(
            restrict(rustls::crypto::ring::default_provider(), None)
                .cipher_suites
                .len(),
            all
        );
        assert_eq!(
            restrict(rustls::crypto::ring::default_provider(), Some(&[]))
                .cipher_suites
                .len(),
            3
        );
    }
}
