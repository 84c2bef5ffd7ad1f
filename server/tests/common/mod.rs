//! Helpers shared by the server's integration tests (each test binary uses
//! a different subset of them).
#![allow(dead_code)]

pub mod etcdctl;
pub mod grpc;

use keel_engine::node::NodeConfig;
use keel_engine::storage::wal::WalOptions;
use keel_server::client_port::ClientPortOptions;
use keel_server::daemon::{ClusterState, DaemonOptions};
use keel_server::peer::PeerTransportOptions;
use keel_server::url::Url;
use std::time::Duration;

/// `n` distinct ports nobody listens on right now (bound, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A member of a test cluster on 127.0.0.1: fast ticks, 1 MiB WAL segments.
pub fn daemon_options(
    dir: &std::path::Path,
    name: &str,
    client: u16,
    peer: u16,
    cluster: &[(String, String)],
    state: ClusterState,
) -> DaemonOptions {
    let mut node = NodeConfig::new(0);
    node.tick_interval = Duration::from_millis(20);
    node.request_timeout = Duration::from_secs(3);
    DaemonOptions {
        name: name.into(),
        data_dir: dir.join(name),
        wal_dir: None,
        listen_client_urls: vec![Url::parse(&format!("http://127.0.0.1:{client}")).unwrap()],
        advertise_client_urls: vec![format!("http://127.0.0.1:{client}")],
        listen_peer_urls: vec![Url::parse(&format!("http://127.0.0.1:{peer}")).unwrap()],
        initial_advertise_peer_urls: vec![format!("http://127.0.0.1:{peer}")],
        initial_cluster: cluster.to_vec(),
        initial_cluster_state: state,
        initial_cluster_token: "t".into(),
        node,
        wal: WalOptions {
            segment_bytes: 1 << 20,
            ..WalOptions::default()
        },
        client_port: ClientPortOptions::default(),
        peer_transport: PeerTransportOptions::default(),
        join_timeout: Duration::from_secs(10),
        client_tls: Default::default(),
        peer_tls: Default::default(),
        client_auto_tls: false,
        peer_auto_tls: false,
        initial_corrupt_check: false,
        corrupt_check_interval: None,
        auto_compaction: None,
        metrics: Default::default(),
    }
}

/// Panics on tokio's worker threads (a spawned task that panicked) since
/// the process started. The `keel` binary exits on any panic; in-process
/// tests count them instead, so a task that died quietly still fails the
/// test that caused it.
pub fn task_panics() -> usize {
    use std::sync::Once;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with("tokio-"));
            if worker {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    PANICS.load(Ordering::SeqCst)
}
