//! The etcd version Keel reports, and Keel's own.
//!
//! Keel implements etcd 3.4's API. Clients and tools read the server's
//! version (`GET /version`, `Status.version`, the start-up log) and choose
//! what they may ask for by it, so Keel answers as the etcd release whose
//! behaviour it follows. Keel's own version is [`KEEL_VERSION`], printed by
//! `keel --version` and `keelctl version`.

/// The etcd server version Keel reports wherever etcd reports its own
/// (`/version`'s `etcdserver`, `Status.version`): Keel implements etcd
/// 3.4's API, and this is the etcd 3.4 release its behaviour was checked
/// against. Clients parse it as 3.4.
pub const ETCD_VERSION: &str = "3.4.23";

/// Keel's own version (the crates' version).
pub const KEEL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// etcd's API version for [`ETCD_VERSION`]: `major.minor` (`3.4`), as in
/// etcd's `enabled capabilities for version 3.4`.
pub fn etcd_api_version() -> String {
    let mut parts = ETCD_VERSION.split('.');
    let major = parts.next().unwrap_or("3");
    let minor = parts.next().unwrap_or("4");
    format!("{major}.{minor}")
}

/// etcd's cluster version for [`ETCD_VERSION`]: `major.minor.0` (`3.4.0`),
/// what etcd answers in `/version`'s `etcdcluster` once the cluster
/// version is decided (etcd keeps only major and minor of its members'
/// versions).
pub fn etcd_cluster_version() -> String {
    format!("{}.0", etcd_api_version())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_and_api_versions_follow_the_server_version() {
        assert_eq!(ETCD_VERSION, "3.4.23");
        assert_eq!(etcd_api_version(), "3.4");
        assert_eq!(etcd_cluster_version(), "3.4.0");
    }
}
