//! etcd's checks of the other side's certificate beyond its chain:
//! `--peer-cert-allowed-cn` (the Common Name must be exactly this) and
//! `--peer-cert-allowed-hostname` / `--client-cert-allowed-hostname` (the
//! certificate must be valid for this host, by Go's
//! `x509.Certificate.VerifyHostname`, which since Go 1.17 — etcd 3.4.23 is
//! built with Go 1.19 — looks at the DNS and IP subject alternative names
//! only, never at the Common Name).
//!
//! etcd runs the check in `tls.Config.VerifyPeerCertificate`, on the leaf
//! of a verified chain, so it applies wherever that side's configuration
//! verifies a certificate: an `https` listener with client-cert-auth, and
//! (for peers) the certificates of the members this one dials.
//! [`CheckedClientVerifier`] and [`CheckedServerVerifier`] wrap rustls's
//! verifiers the same way: the chain is verified first, then the check.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::net::IpAddr;
use std::sync::Arc;

/// What the other side's certificate must satisfy (etcd's `AllowedCN` or
/// `AllowedHostname`; etcd refuses both at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertCheck {
    /// The subject's Common Name must equal this exactly.
    CommonName(String),
    /// The certificate must be valid for this host name or IP address.
    Hostname(String),
}

impl CertCheck {
    /// Whether the DER certificate `der` passes; one that does not parse
    /// fails.
    pub fn allows(&self, der: &[u8]) -> bool {
        let Some(names) = CertNames::parse(der) else {
            return false;
        };
        match self {
            CertCheck::CommonName(cn) => names.common_name.as_deref() == Some(cn.as_str()),
            CertCheck::Hostname(host) => names.valid_for(host),
        }
    }
}

/// The names in a certificate that the checks look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertNames {
    /// The subject's Common Name (the last one, as Go's `pkix.Name` keeps).
    pub common_name: Option<String>,
    /// The subject alternative names of type dNSName.
    pub dns_names: Vec<String>,
    /// The subject alternative names of type iPAddress.
    pub ip_addresses: Vec<IpAddr>,
}

/// One DER element: its tag byte and contents; `None` on anything
/// malformed (multi-byte tags and indefinite lengths are not DER here).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The elements of a constructed value's contents.
fn elements(mut input: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tag, contents, rest) = element(input)?;
        out.push((tag, contents));
        input = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
/// 2.5.4.3, id-at-commonName.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17, id-ce-subjectAltName.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// A directory string's text, for the string types Go's x509 reads.
fn directory_string(tag: u8, contents: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, NumericString.
        0x0c | 0x13 | 0x16 | 0x12 => std::str::from_utf8(contents).ok().map(str::to_string),
        // T61String: Go reads it as Latin-1.
        0x14 => Some(contents.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UCS-2 big endian.
        0x1e => {
            if contents.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = contents
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

impl CertNames {
    /// The names in the DER certificate `der`; `None` if it does not
    /// parse.
    pub fn parse(der: &[u8]) -> Option<CertNames> {
        let (SEQUENCE, certificate, _) = element(der)? else {
            return None;
        };
        let (SEQUENCE, tbs, _) = element(certificate)? else {
            return None;
        };
        let mut fields = elements(tbs)?.into_iter().peekable();
        // [0] EXPLICIT version, optional.
        if fields.peek().is_some_and(|(tag, _)| *tag == 0xa0) {
            fields.next();
        }
        // serialNumber, signature, issuer, validity, subject.
        let mut fields = fields.skip(4);
        let (SEQUENCE, subject) = fields.next()? else {
            return None;
        };
        let mut names = CertNames::default();
        for (tag, rdn) in elements(subject)? {
            if tag != SET {
                return None;
            }
            for (tag, attribute) in elements(rdn)? {
                let [(OID, oid), (value_tag, value)] = elements(attribute)?[..] else {
                    return None;
                };
                if tag == SEQUENCE && oid == OID_COMMON_NAME {
                    names.common_name = Some(directory_string(value_tag, value)?);
                }
            }
        }
        // subjectPublicKeyInfo, then [1], [2] unique IDs and [3] extensions.
        for (tag, contents) in fields {
            if tag != 0xa3 {
                continue;
            }
            let [(SEQUENCE, extensions)] = elements(contents)?[..] else {
                return None;
            };
            for (_, extension) in elements(extensions)? {
                let parts = elements(extension)?;
                let Some(&(OID, oid)) = parts.first() else {
                    return None;
                };
                if oid != OID_SUBJECT_ALT_NAME {
                    continue;
                }
                let Some(&(OCTET_STRING, value)) = parts.last() else {
                    return None;
                };
                let (SEQUENCE, general_names, _) = element(value)? else {
                    return None;
                };
                for (tag, name) in elements(general_names)? {
                    match tag {
                        // [2] dNSName (IA5String).
                        0x82 => names
                            .dns_names
                            .push(std::str::from_utf8(name).ok()?.to_string()),
                        // [7] iPAddress: 4 or 16 octets.
                        0x87 => match name.len() {
                            4 => names
                                .ip_addresses
                                .push(IpAddr::from(<[u8; 4]>::try_from(name).ok()?)),
                            16 => names
                                .ip_addresses
                                .push(IpAddr::from(<[u8; 16]>::try_from(name).ok()?)),
                            _ => return None,
                        },
                        _ => {}
                    }
                }
            }
        }
        Some(names)
    }

    /// Go's `VerifyHostname`: an IP address (optionally in brackets) must
    /// equal an IP SAN (IPv4 and its IPv6-mapped form are equal); a name
    /// must match a DNS SAN case-insensitively, a wildcard standing for
    /// exactly the left-most label, and only valid host names getting
    /// wildcard and trailing-dot treatment (others must match exactly).
    pub fn valid_for(&self, host: &str) -> bool {
        let candidate_ip = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) if host.len() >= 3 => inner,
            _ => host,
        };
        if let Ok(ip) = candidate_ip.parse::<IpAddr>() {
            let canonical = |ip: &IpAddr| match ip {
                IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map(IpAddr::V4)
                    .unwrap_or(IpAddr::V6(*v6)),
                v4 => *v4,
            };
            return self
                .ip_addresses
                .iter()
                .any(|candidate| canonical(candidate) == canonical(&ip));
        }
        let candidate = host.to_ascii_lowercase();
        let valid_candidate = valid_hostname(&candidate, false);
        self.dns_names.iter().any(|pattern| {
            if valid_candidate && valid_hostname(pattern, true) {
                match_hostnames(pattern, &candidate)
            } else {
                match_exactly(pattern, &candidate)
            }
        })
    }
}

/// Go's `validHostname` (RFC 6125 2.2, leniently: `_` allowed; a pattern
/// may start with a `*` label; an input may end with a dot).
fn valid_hostname(host: &str, is_pattern: bool) -> bool {
    let host = if is_pattern {
        host
    } else {
        host.strip_suffix('.').unwrap_or(host)
    };
    if host.is_empty() {
        return false;
    }
    host.split('.').enumerate().all(|(i, part)| {
        if part.is_empty() {
            return false;
        }
        if is_pattern && i == 0 && part == "*" {
            return true;
        }
        part.char_indices()
            .all(|(j, c)| c.is_ascii_alphanumeric() || (c == '-' && j != 0) || c == '_')
    })
}

fn match_exactly(a: &str, b: &str) -> bool {
    if a.is_empty() || a == "." || b.is_empty() || b == "." {
        return false;
    }
    a.eq_ignore_ascii_case(b)
}

fn match_hostnames(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if pattern.is_empty() || host.is_empty() {
        return false;
    }
    let pattern_parts: Vec<&str> = pattern.split('.').collect();
    let host_parts: Vec<&str> = host.split('.').collect();
    pattern_parts.len() == host_parts.len()
        && pattern_parts
            .iter()
            .zip(&host_parts)
            .enumerate()
            .all(|(i, (p, h))| (i == 0 && *p == "*") || p == h)
}

/// The error a failed check gives: rustls's "not valid for name", whose
/// alert is `bad_certificate`, the alert Go (etcd) sends when its
/// `VerifyPeerCertificate` fails; the reason is logged here, in etcd's
/// words.
fn refused(check: &CertCheck) -> rustls::Error {
    match check {
        CertCheck::CommonName(cn) => tracing::warn!(
            "client certificate authentication failed: the certificate's Common Name is not {cn:?}"
        ),
        CertCheck::Hostname(host) => tracing::warn!(
            "client certificate authentication failed: the certificate is not valid for {host:?}"
        ),
    }
    rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
}

/// A client certificate verifier that, once `inner` accepts the chain,
/// applies `check` to the end-entity certificate.
#[derive(Debug)]
pub struct CheckedClientVerifier {
    /// The chain verifier.
    pub inner: Arc<dyn ClientCertVerifier>,
    /// The check.
    pub check: CertCheck,
}

impl ClientCertVerifier for CheckedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.check.allows(end_entity) {
            Ok(verified)
        } else {
            Err(refused(&self.check))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A server certificate verifier that, once `inner` accepts the chain and
/// name, applies `check` to the end-entity certificate (etcd checks the
/// members it dials as it checks those that dial it).
#[derive(Debug)]
pub struct CheckedServerVerifier {
    /// The chain verifier.
    pub inner: Arc<dyn ServerCertVerifier>,
    /// The check.
    pub check: CertCheck,
}

impl ServerCertVerifier for CheckedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.check.allows(end_entity) {
            Ok(verified)
        } else {
            Err(refused(&self.check))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn cert(cn: Option<&str>, sans: &[&str]) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params
            .distinguished_name
            .push(DnType::OrganizationName, "keel");
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn names_are_read_from_the_certificate() {
        let der = cert(Some("member-1"), &["Example.COM", "127.0.0.1", "::1"]);
        let names = CertNames::parse(&der).unwrap();
        assert_eq!(names.common_name.as_deref(), Some("member-1"));
        assert_eq!(names.dns_names, ["Example.COM"]);
        assert_eq!(
            names.ip_addresses,
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        let none = CertNames::parse(&cert(None, &[])).unwrap();
        assert_eq!(none, CertNames::default());
        assert_eq!(CertNames::parse(b"not a certificate"), None);
        assert_eq!(CertNames::parse(&der[..der.len() / 2]), None);
    }

    #[test]
    fn the_common_name_check_is_exact() {
        let der = cert(Some("member-1"), &["localhost"]);
        assert!(CertCheck::CommonName("member-1".into()).allows(&der));
        assert!(!CertCheck::CommonName("member-2".into()).allows(&der));
        assert!(!CertCheck::CommonName("Member-1".into()).allows(&der));
        assert!(!CertCheck::CommonName("member-1".into()).allows(&cert(None, &["member-1"])));
    }

    #[test]
    fn the_hostname_check_follows_go_verify_hostname() {
        let der = cert(
            Some("cn.example.com"),
            &["node.example.com", "*.wild.example.com", "10.0.0.1", "::2"],
        );
        let allows = |host: &str| CertCheck::Hostname(host.into()).allows(&der);
        assert!(allows("node.example.com"));
        assert!(allows("NODE.Example.com"));
        assert!(allows("node.example.com."));
        assert!(allows("a.wild.example.com"));
        assert!(!allows("a.b.wild.example.com"));
        assert!(!allows("wild.example.com"));
        assert!(allows("10.0.0.1"));
        assert!(allows("[::2]"));
        assert!(allows("::ffff:10.0.0.1"));
        assert!(!allows("10.0.0.2"));
        // The Common Name is not a host name (Go 1.17 and later).
        assert!(!allows("cn.example.com"));
        // An IP address matches IP SANs only, never a DNS SAN.
        let dns_ip = cert(None, &["localhost"]);
        assert!(!CertCheck::Hostname("127.0.0.2".into()).allows(&dns_ip));
    }

    proptest::proptest! {
        /// Certificates come from the network: no input makes the reader
        /// panic, whether garbage or a real certificate with bytes changed.
        #[test]
        fn any_bytes_are_read_without_panicking(
            garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            flips in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 1..8),
        ) {
            let _ = CertNames::parse(&garbage);
            let mut der = cert(Some("member-1"), &["localhost", "127.0.0.1"]);
            for (at, byte) in flips {
                let len = der.len();
                der[at % len] = byte;
            }
            let _ = CertNames::parse(&der);
            let _ = CertCheck::Hostname("localhost".into()).allows(&der);
        }
    }

    #[test]
    fn invalid_names_match_only_exactly() {
        let names = CertNames {
            dns_names: vec!["*.bad..name".into(), "*.ok.name".into()],
            ..CertNames::default()
        };
        assert!(names.valid_for("*.bad..name"));
        assert!(!names.valid_for("x.bad..name"));
        assert!(names.valid_for("x.ok.name"));
        // An invalid candidate is compared exactly, so a wildcard does not
        // stand for it.
        assert!(!names.valid_for("x y.ok.name"));
        assert!(!names.valid_for(""));
    }
}
