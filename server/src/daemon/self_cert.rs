//! Self-signed certificates for `--auto-tls` and `--peer-auto-tls`, as
//! etcd makes them: `cert.pem` and `key.pem` in `<data-dir>/fixtures/client`
//! (or `/peer`), made on the first start and reused after, valid for a
//! year, naming each listen URL's host (an IP address or a DNS name).
//!
//! Differences from etcd: the key is ECDSA P-256 (etcd uses P-521, which
//! rustls's `ring` provider cannot sign with), written as PKCS#8; the
//! files are written under temporary names and renamed, so a crash never
//! leaves half a key for the next start to trip on.

use crate::tls::TlsError;
use rand::RngCore;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a generated certificate is valid (etcd's year).
const VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The certificate and key in `dir` for `hosts`: the files already there,
/// or new ones. Returns (certificate file, key file).
pub fn self_cert(dir: &Path, hosts: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    create_private_dir(dir)?;
    let (cert_pem, key_pem) = generate(hosts)?;
    // The key first: a crash before the certificate is written leaves no
    // pair, and the next start makes a new one.
    write_atomically(&key_path, key_pem.as_bytes(), 0o600)?;
    write_atomically(&cert_path, cert_pem.as_bytes(), 0o644)?;
    tracing::info!("created self-signed certificate {}", cert_path.display());
    Ok((cert_path, key_path))
}

/// A new self-signed certificate and its key, as PEM.
fn generate(hosts: &[String]) -> Result<(String, String), TlsError> {
    let failed = |e: rcgen::Error| TlsError::Config(format!("generating a certificate: {e}"));
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut names: Vec<String> = hosts
        .iter()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
        .collect();
    names.sort();
    names.dedup();
    let mut params = CertificateParams::new(names).map_err(failed)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "keel");
    let mut serial = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from(serial.to_vec()));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + now;
    params.not_after = epoch + now + VALIDITY;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn io_error(path: &Path, err: std::io::Error) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        why: err.to_string(),
    }
}

/// `dir` and its parents, the last one readable by its owner only.
fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` with `mode`: a temporary file, synced, then
/// renamed over `path`.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let temporary = path.with_extension("pem.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(&temporary)
        .map_err(|e| io_error(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = dir.path().join("fixtures").join("client");
        let hosts = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let (cert, key) = self_cert(&fixtures, &hosts).unwrap();
        assert_eq!(cert, fixtures.join("cert.pem"));
        assert_eq!(key, fixtures.join("key.pem"));
        let first = std::fs::read(&cert).unwrap();
        // Usable by the TLS listener as they are.
        let files = crate::tls::TlsFiles {
            cert_file: Some(cert.clone()),
            key_file: Some(key.clone()),
            ..crate::tls::TlsFiles::default()
        };
        crate::tls::server_config(&files).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, _) = self_cert(&fixtures, &hosts).unwrap();
        assert_eq!(std::fs::read(again).unwrap(), first, "reused, not remade");
        // Half a pair (a crash between the two writes) is made anew.
        std::fs::remove_file(&cert).unwrap();
        self_cert(&fixtures, &hosts).unwrap();
        assert_ne!(std::fs::read(&cert).unwrap(), first);
    }
}
