//! Starting one member: listeners, identity, data, node, address book.
//!
//! Identity: a new cluster's members derive their ids (and the cluster id)
//! from `--initial-cluster` and the token, as etcd does; a member started
//! with `--initial-cluster-state existing` asks a running peer for the
//! cluster and finds itself by its advertised peer URLs (it must have been
//! added with `member add` first). The identity is written into the data
//! directory (`member`) on first start and read back on every restart,
//! when the `--initial-*` settings are ignored, as etcd ignores them.
//!
//! TLS: each `https://` listener serves TLS with the certificate of its
//! side (`--cert-file`/`--key-file` for clients, `--peer-*` for peers);
//! `http://` listeners stay plain, so the two can be mixed as etcd allows.
//! Every TLS file is loaded before anything binds: a missing or bad file
//! stops the start with [`DaemonError::Tls`]. With `--auto-tls` /
//! `--peer-auto-tls` and no certificate of that side, a self-signed one is
//! made under `<data-dir>/fixtures/` (`self_cert.rs`); peers dialed with
//! generated certificates are not verified, as etcd does not verify them.
//!
//! A restarted member with `--experimental-initial-corrupt-check` compares
//! its data with its peers' before it talks to them or serves clients
//! (`corrupt_check.rs`). Once running, it logs etcd's start-up milestones
//! (`milestones.rs`).

mod corrupt_check;
mod identity;
mod milestones;
mod self_cert;

use crate::client_port::{ClientPortOptions, serve_clients};
use crate::etcd::Context;
use crate::metrics::{MemberFacts, Metrics, MetricsOptions};
use crate::peer::{
    LeaderLink, PeerIdentity, PeerListenerOptions, PeerTransport, PeerTransportOptions,
    fetch_cluster_info, serve_peers,
};
use crate::tls::{Dialer, ServerConfig, TlsError, TlsFiles};
use crate::url::Url;
pub use identity::Identity;
use keel_engine::api::{Member, MemberListRequest, Request, Response};
use keel_engine::compactor::AutoCompaction;
use keel_engine::node::{
    Bootstrap, NodeConfig, NodeError, NodeHandle, NodeOptions, ids, start_node,
};
use keel_engine::storage::disk::Disk;
use keel_engine::storage::wal::WalOptions;
use milestones::MilestoneFacts;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Whether the member bootstraps a new cluster or joins a running one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    /// `--initial-cluster-state new`.
    New,
    /// `--initial-cluster-state existing`.
    Existing,
}

/// Everything a member needs to run (the validated configuration).
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// `--name`.
    pub name: String,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--wal-dir`: a directory of its own for the raft log, created if
    /// missing (`None`, or `--wal-dir ''`: `<data-dir>/wal`).
    pub wal_dir: Option<PathBuf>,
    /// `--listen-client-urls`.
    pub listen_client_urls: Vec<Url>,
    /// `--advertise-client-urls`.
    pub advertise_client_urls: Vec<String>,
    /// `--listen-peer-urls`.
    pub listen_peer_urls: Vec<Url>,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--initial-cluster`: (name, peer URL) pairs.
    pub initial_cluster: Vec<(String, String)>,
    /// `--initial-cluster-state`.
    pub initial_cluster_state: ClusterState,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// Consensus settings (the member id is filled in at start).
    pub node: NodeConfig,
    /// WAL settings.
    pub wal: WalOptions,
    /// Client port limits.
    pub client_port: ClientPortOptions,
    /// Peer transport limits.
    pub peer_transport: PeerTransportOptions,
    /// How long to keep asking peers for the cluster when joining.
    pub join_timeout: Duration,
    /// Client-port TLS (`--cert-file`, `--key-file`, `--trusted-ca-file`,
    /// `--client-cert-auth`), used by `https://` client URLs.
    pub client_tls: TlsFiles,
    /// Peer TLS (`--peer-cert-file`, `--peer-key-file`,
    /// `--peer-trusted-ca-file`, `--peer-client-cert-auth`), used by
    /// `https://` peer URLs, listening and dialing.
    pub peer_tls: TlsFiles,
    /// `--auto-tls`: without `client_tls` certificates, serve https client
    /// URLs with a generated self-signed one.
    pub client_auto_tls: bool,
    /// `--peer-auto-tls`: without `peer_tls` certificates, use a generated
    /// self-signed one for the peer port and for dialing peers, whose
    /// certificates are then not verified.
    pub peer_auto_tls: bool,
    /// `--experimental-initial-corrupt-check`: on a restart, compare the
    /// data with the peers' before serving (refuse to start on a mismatch).
    pub initial_corrupt_check: bool,
    /// `--experimental-corrupt-check-time`: how often the leader compares
    /// the members' hashes and raises CORRUPT on a mismatch (`None`: never,
    /// etcd's default).
    pub corrupt_check_interval: Option<Duration>,
    /// `--auto-compaction-mode` and `--auto-compaction-retention` (`None`:
    /// no automatic compaction, etcd's default).
    pub auto_compaction: Option<AutoCompaction>,
    /// `--listen-metrics-urls` and `--metrics`.
    pub metrics: MetricsOptions,
}

/// Why a member could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A listener could not be bound.
    #[error("listen on {url}: {detail}")]
    Listen {
        /// The URL.
        url: String,
        /// Why.
        detail: String,
    },
    /// The configuration does not describe this member.
    #[error("{0}")]
    Config(String),
    /// Joining an existing cluster failed.
    #[error("{0}")]
    Join(String),
    /// The member's data or node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The initial corruption check found a peer whose data differs.
    #[error("{0}")]
    DataInconsistency(String),
    /// A TLS certificate, key or CA could not be loaded.
    #[error("{side} TLS: {error}")]
    Tls {
        /// `client` or `peer`.
        side: &'static str,
        /// What is wrong.
        error: TlsError,
    },
}

/// The TLS settings `Daemon::start` loads before binding.
struct Tls {
    client: Option<Arc<ServerConfig>>,
    peer: Option<Arc<ServerConfig>>,
    dialer: Dialer,
}

/// One side's TLS files: its own, or with auto TLS and none of its own,
/// a self-signed certificate made for `urls`' hosts under `dir` (etcd's
/// generated certificate replaces the side's whole TLS settings). Returns
/// the files and whether they are generated.
fn side_files(
    files: &TlsFiles,
    auto: bool,
    dir: &std::path::Path,
    urls: &[Url],
) -> Result<(TlsFiles, bool), TlsError> {
    if !auto || files.cert_file.is_some() || files.key_file.is_some() {
        return Ok((files.clone(), false));
    }
    let hosts: Vec<String> = urls.iter().map(|u| u.host.clone()).collect();
    let (cert, key) = self_cert::self_cert(dir, &hosts)?;
    // As etcd, the generated side keeps --cipher-suites only (etcd applies
    // them again after making the certificate; the allowed CN or hostname
    // goes with the replaced settings).
    let generated = TlsFiles {
        cert_file: Some(cert),
        key_file: Some(key),
        cipher_suites: files.cipher_suites.clone(),
        ..TlsFiles::default()
    };
    Ok((generated, true))
}

/// Loads what the `https://` URLs of `options` need.
fn load_tls(options: &DaemonOptions) -> Result<Tls, DaemonError> {
    let tls_error = |side| move |error| DaemonError::Tls { side, error };
    let fixtures = options.data_dir.join("fixtures");
    let (client_files, _) = side_files(
        &options.client_tls,
        options.client_auto_tls,
        &fixtures.join("client"),
        &options.listen_client_urls,
    )
    .map_err(tls_error("client"))?;
    let (peer_files, peer_generated) = side_files(
        &options.peer_tls,
        options.peer_auto_tls,
        &fixtures.join("peer"),
        &options.listen_peer_urls,
    )
    .map_err(tls_error("peer"))?;
    let client = if options
        .listen_client_urls
        .iter()
        .chain(&options.metrics.listen_urls)
        .any(|u| u.tls)
    {
        Some(crate::tls::server_config(&client_files).map_err(tls_error("client"))?)
    } else {
        None
    };
    let peer = if options.listen_peer_urls.iter().any(|u| u.tls) {
        Some(crate::tls::server_config(&peer_files).map_err(tls_error("peer"))?)
    } else {
        None
    };
    // Peers are dialed with TLS wherever their URL says https; the CA is
    // what makes that possible, so it alone decides whether we can. With a
    // generated certificate there is no CA: peers' certificates are taken
    // unverified (etcd's --peer-auto-tls), and ours is presented.
    let dialer = if peer_generated || peer_files.trusted_ca_file.is_some() {
        Dialer::with_tls(
            crate::tls::peer_client_config(&peer_files, peer_generated)
                .map_err(tls_error("peer"))?,
        )
    } else {
        Dialer::plain()
    };
    Ok(Tls {
        client,
        peer,
        dialer,
    })
}

/// A running member.
pub struct Daemon {
    /// Its node.
    pub node: NodeHandle,
    /// Its identity.
    pub identity: Identity,
    /// The addresses its client listeners are bound to.
    pub client_addresses: Vec<String>,
    /// The addresses its peer listeners are bound to.
    pub peer_addresses: Vec<String>,
    /// The addresses its `--listen-metrics-urls` listeners are bound to.
    pub metrics_addresses: Vec<String>,
    tasks: Vec<JoinHandle<()>>,
}

/// The initial members named by `--initial-cluster`, with their ids.
pub fn initial_members(options: &DaemonOptions) -> Vec<Member> {
    members_of(&options.initial_cluster, &options.initial_cluster_token)
}

/// The members `name=url` pairs describe in a cluster with token `token`,
/// with the ids every member computes for them alike.
pub fn members_of(initial_cluster: &[(String, String)], token: &str) -> Vec<Member> {
    let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, url) in initial_cluster {
        by_name.entry(name.as_str()).or_default().push(url.clone());
    }
    by_name
        .into_iter()
        .map(|(name, peer_urls)| Member {
            id: ids::member_id(&peer_urls, token, 0),
            name: name.to_string(),
            peer_urls,
            client_urls: Vec::new(),
            is_learner: false,
        })
        .collect()
}

async fn bind(urls: &[Url]) -> Result<Vec<TcpListener>, DaemonError> {
    let mut listeners = Vec::new();
    for url in urls {
        let listener =
            TcpListener::bind(url.socket_address())
                .await
                .map_err(|e| DaemonError::Listen {
                    url: url.to_string(),
                    detail: e.to_string(),
                })?;
        listeners.push(listener);
    }
    Ok(listeners)
}

fn local_addresses(listeners: &[TcpListener]) -> Vec<String> {
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect()
}

/// Members' first peer URLs.
fn address_book(members: &[Member]) -> BTreeMap<u64, Url> {
    members
        .iter()
        .filter_map(|m| {
            let url = m.peer_urls.first()?;
            Some((m.id, Url::parse(url).ok()?))
        })
        .collect()
}

impl Daemon {
    /// Starts the member: binds its listeners (failing fast if a port is
    /// taken), establishes its identity and data, starts its node, serves.
    pub async fn start(options: DaemonOptions, disk: Arc<dyn Disk>) -> Result<Daemon, DaemonError> {
        let tls = load_tls(&options)?;
        let client_listeners = bind(&options.listen_client_urls).await?;
        let peer_listeners = bind(&options.listen_peer_urls).await?;
        let metrics_listeners = bind(&options.metrics.listen_urls).await?;
        let metrics_addresses = local_addresses(&metrics_listeners);
        let client_addresses = local_addresses(&client_listeners);
        let peer_addresses = local_addresses(&peer_listeners);

        let (identity, bootstrap, known_members, first_start) =
            establish(&options, &disk, &tls.dialer).await?;
        let transport = PeerTransport::new(
            identity.member_id,
            identity.cluster_id,
            options.peer_transport.clone(),
            tls.dialer.clone(),
        );
        // The corruption check runs before this member talks to its peers:
        // until it passes, raft's messages have nowhere to go.
        let check_corruption = options.initial_corrupt_check && !first_start;
        if !check_corruption {
            transport.set_addresses(address_book(&known_members));
        }
        let mut config = options.node.clone();
        config.member_id = identity.member_id;
        config.name = options.name.clone();
        config.client_urls = options.advertise_client_urls.clone();
        let node = start_node(NodeOptions {
            config,
            disk: Arc::clone(&disk),
            data_dir: options.data_dir.clone(),
            wal_dir: options.wal_dir.clone(),
            wal: options.wal.clone(),
            transport: Arc::new(transport.clone()),
            bootstrap,
        })?;
        if first_start {
            // Only once the data exists: a member that crashed before this
            // starts over as if new, never as a member without data.
            identity.store(disk.as_ref(), &options.data_dir)?;
        }
        transport.set_node(node.clone());
        if check_corruption {
            let checked = corrupt_check::initial_corrupt_check(
                &node,
                identity,
                &tls.dialer,
                options.node.request_timeout,
                options.peer_transport.max_frame_bytes,
            )
            .await;
            if let Err(err) = checked {
                stop_node(&node).await;
                return Err(err);
            }
            transport.set_addresses(address_book(&known_members));
        }

        let mut tasks = Vec::new();
        if let Some(interval) = options.corrupt_check_interval {
            tasks.push(tokio::spawn(corrupt_check::periodic_corrupt_check(
                node.clone(),
                identity,
                tls.dialer.clone(),
                interval,
                options.node.request_timeout,
                options.peer_transport.max_frame_bytes,
            )));
        }
        if let Some(policy) = options.auto_compaction {
            tracing::info!(?policy, "auto-compaction enabled");
            tasks.push(tokio::spawn(keel_engine::compactor::run(
                node.clone(),
                policy,
                keel_engine::compactor::REVISION_CHECK_INTERVAL,
            )));
        }
        let peer_identity = PeerIdentity {
            member_id: identity.member_id,
            cluster_id: identity.cluster_id,
        };
        let peer_options = PeerListenerOptions {
            max_frame_bytes: options.peer_transport.max_frame_bytes,
            traffic: transport.traffic(),
            ..PeerListenerOptions::default()
        };
        for (listener, url) in peer_listeners.into_iter().zip(&options.listen_peer_urls) {
            tasks.push(tokio::spawn(serve_peers(
                listener,
                node.clone(),
                peer_identity,
                peer_options.clone(),
                tls.peer.clone().filter(|_| url.tls),
            )));
        }
        let milestones = MilestoneFacts {
            name: options.name.clone(),
            client_urls: options.advertise_client_urls.clone(),
            cluster_id: identity.cluster_id,
            client_listeners: client_addresses
                .iter()
                .cloned()
                .zip(options.listen_client_urls.iter().map(|u| u.tls))
                .collect(),
        };
        let metrics = Metrics::new(
            node.clone(),
            MemberFacts {
                quota_backend_bytes: options.node.quota_backend_bytes,
            },
            transport.traffic(),
            options.metrics.level,
        );
        for (listener, url) in client_listeners
            .into_iter()
            .zip(&options.listen_client_urls)
        {
            let ctx = Context {
                metrics: Some(Arc::clone(&metrics)),
                metrics_only: false,
                node: node.clone(),
                leader: Some(LeaderLink::new(
                    tls.dialer.clone(),
                    options.peer_transport.max_frame_bytes,
                )),
                gateway_calls: Some(Arc::new(tokio::sync::Semaphore::new(
                    options.client_port.grpc.max_concurrent_streams as usize,
                ))),
                credentials: Default::default(),
                client_common_name: None,
            };
            tasks.push(tokio::spawn(serve_clients(
                listener,
                ctx,
                options.client_port.clone(),
                tls.client.clone().filter(|_| url.tls),
            )));
        }
        for (listener, url) in metrics_listeners
            .into_iter()
            .zip(&options.metrics.listen_urls)
        {
            let ctx = Context {
                node: node.clone(),
                leader: None,
                gateway_calls: None,
                metrics: Some(Arc::clone(&metrics)),
                metrics_only: true,
                credentials: Default::default(),
                client_common_name: None,
            };
            tasks.push(tokio::spawn(serve_clients(
                listener,
                ctx,
                options.client_port.clone(),
                tls.client.clone().filter(|_| url.tls),
            )));
        }
        let seeds = peer_seeds(&options, &known_members);
        tasks.push(tokio::spawn(refresh_address_book(
            node.clone(),
            transport,
            seeds,
            tls.dialer,
            identity.cluster_id,
            options.peer_transport.max_frame_bytes,
        )));
        tasks.push(tokio::spawn(milestones::log_milestones(
            node.clone(),
            milestones,
        )));
        tracing::info!(
            member = format_args!("{:x}", identity.member_id),
            cluster = format_args!("{:x}", identity.cluster_id),
            clients = ?client_addresses,
            peers = ?peer_addresses,
            metrics = ?metrics_addresses,
            "keel member started"
        );
        Ok(Daemon {
            node,
            identity,
            client_addresses,
            peer_addresses,
            metrics_addresses,
            tasks,
        })
    }

    /// Waits until the member knows a leader, has applied its first entries
    /// and the member list shows its name and client URLs (etcd's
    /// "published": `member list` is complete), or `timeout` passes.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut status = self.node.watch_status();
        let ready = async {
            loop {
                {
                    let now = status.borrow_and_update();
                    if now.stopped {
                        return false;
                    }
                    if now.ready_for_clients() {
                        return true;
                    }
                }
                if status.changed().await.is_err() {
                    return false;
                }
            }
        };
        tokio::time::timeout(timeout, ready).await.unwrap_or(false)
    }

    /// Stops serving: listeners close, the node answers what is pending with
    /// `Stopped` and stops.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        stop_node(&self.node).await;
    }
}

/// Stops `node` and waits until it has.
async fn stop_node(node: &NodeHandle) {
    node.stop().await;
    let mut status = node.watch_status();
    while !status.borrow_and_update().stopped {
        if status.changed().await.is_err() {
            break;
        }
    }
}

/// Who this member is, how its data starts, who it knows about, and
/// whether this is its first start.
async fn establish(
    options: &DaemonOptions,
    disk: &Arc<dyn Disk>,
    dialer: &Dialer,
) -> Result<(Identity, Bootstrap, Vec<Member>, bool), DaemonError> {
    if let Some(identity) = Identity::load(disk.as_ref(), &options.data_dir)? {
        // Restart: the data decides; peers come from the member list.
        let members = initial_members(options);
        check_data_belongs_here(options, &identity, &members)?;
        let bootstrap = Bootstrap::JoinExisting {
            cluster_id: identity.cluster_id,
        };
        return Ok((identity, bootstrap, members, false));
    }
    let (identity, bootstrap, members) = match options.initial_cluster_state {
        ClusterState::New => {
            let members = initial_members(options);
            let me = members
                .iter()
                .find(|m| m.name == options.name)
                .ok_or_else(|| {
                    DaemonError::Config(format!(
                        "couldn't find local name {:?} in the initial cluster configuration",
                        options.name
                    ))
                })?;
            let mine: Vec<&String> = options.initial_advertise_peer_urls.iter().collect();
            if me.peer_urls.iter().collect::<Vec<_>>() != mine {
                return Err(DaemonError::Config(format!(
                    "--initial-cluster has {}={} but --initial-advertise-peer-urls is {}",
                    options.name,
                    me.peer_urls.join(","),
                    options.initial_advertise_peer_urls.join(",")
                )));
            }
            let ids: Vec<u64> = members.iter().map(|m| m.id).collect();
            let identity = Identity {
                member_id: me.id,
                cluster_id: ids::cluster_id(&ids),
            };
            let bootstrap = Bootstrap::NewCluster {
                cluster_id: identity.cluster_id,
                members: members.clone(),
            };
            (identity, bootstrap, members)
        }
        ClusterState::Existing => join(options, dialer).await?,
    };
    Ok((identity, bootstrap, members, true))
}

/// Refuses a data directory of another cluster: with `new`, if none of the
/// members the flags describe is the data's member. A changed member list
/// (the same member, another cluster id) is only a warning: the flags are
/// ignored on restart, as etcd ignores them.
fn check_data_belongs_here(
    options: &DaemonOptions,
    identity: &Identity,
    members: &[Member],
) -> Result<(), DaemonError> {
    if options.initial_cluster_state != ClusterState::New {
        return Ok(());
    }
    let ids: Vec<u64> = members.iter().map(|m| m.id).collect();
    let flagged_cluster = ids::cluster_id(&ids);
    if flagged_cluster == identity.cluster_id {
        return Ok(());
    }
    if ids.contains(&identity.member_id) {
        tracing::warn!(
            "--initial-cluster is ignored: this member already belongs to cluster {:x}",
            identity.cluster_id
        );
        return Ok(());
    }
    Err(DaemonError::Config(format!(
        "the data directory {} belongs to member {:x} of cluster {:x}, but the flags describe \
         cluster {:x} without that member; point --data-dir elsewhere, or remove the directory \
         to start this member afresh",
        options.data_dir.display(),
        identity.member_id,
        identity.cluster_id,
        flagged_cluster
    )))
}

/// Asks the peers of `--initial-cluster` for the cluster until one answers,
/// and finds this member in it by its advertised peer URLs.
async fn join(
    options: &DaemonOptions,
    dialer: &Dialer,
) -> Result<(Identity, Bootstrap, Vec<Member>), DaemonError> {
    let peers: Vec<Url> = options
        .initial_cluster
        .iter()
        .filter(|(_, url)| !options.initial_advertise_peer_urls.contains(url))
        .filter_map(|(_, url)| Url::parse(url).ok())
        .collect();
    if peers.is_empty() {
        return Err(DaemonError::Config(
            "--initial-cluster-state existing needs other members in --initial-cluster".into(),
        ));
    }
    let deadline = tokio::time::Instant::now() + options.join_timeout;
    let mut last_error = String::new();
    while tokio::time::Instant::now() < deadline {
        for peer in &peers {
            let asked = tokio::time::timeout(
                Duration::from_secs(1),
                fetch_cluster_info(peer, dialer, options.peer_transport.max_frame_bytes),
            )
            .await;
            let info = match asked {
                Ok(Ok(info)) => info,
                Ok(Err(err)) => {
                    last_error = format!("{peer}: {err}");
                    continue;
                }
                Err(_) => {
                    last_error = format!("{peer}: timed out");
                    continue;
                }
            };
            let me = info.members.iter().find(|m| {
                m.peer_urls
                    .iter()
                    .any(|u| options.initial_advertise_peer_urls.contains(u))
            });
            let Some(me) = me else {
                return Err(DaemonError::Join(format!(
                    "this member ({}) is not in the cluster's member list; add it first with \
                     `keelctl member add {} --peer-urls={}`",
                    options.initial_advertise_peer_urls.join(","),
                    options.name,
                    options.initial_advertise_peer_urls.join(",")
                )));
            };
            let identity = Identity {
                member_id: me.id,
                cluster_id: info.cluster_id,
            };
            let bootstrap = Bootstrap::JoinExisting {
                cluster_id: info.cluster_id,
            };
            return Ok((identity, bootstrap, info.members));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(DaemonError::Join(format!(
        "could not reach any member of the cluster to join: {last_error}"
    )))
}

/// Keeps the transport's address book equal to the member list.
async fn refresh_address_book(
    node: NodeHandle,
    transport: PeerTransport,
    seeds: Vec<Url>,
    dialer: Dialer,
    cluster_id: u64,
    max_frame_bytes: usize,
) {
    loop {
        let list = Request::MemberList(MemberListRequest {
            linearizable: false,
        });
        let mut book = match node.request(list).await {
            Ok(Response::Member(members)) => address_book(&members.members),
            _ => BTreeMap::new(),
        };
        // Nothing applied yet (a joining member that restarted before
        // catching up), or raft talks to members the local list does not
        // know (it is behind a membership change): the flags need not name
        // members by their real ids, so ask a peer, as joining does.
        if book.is_empty() || !transport.take_unknown_peers().is_empty() {
            if let Some(info) =
                ask_peers_for_cluster(&seeds, &dialer, cluster_id, max_frame_bytes).await
            {
                book.extend(address_book(&info.members));
            }
        }
        if !book.is_empty() {
            transport.set_addresses(book);
        }
        if node.status().stopped {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Peer addresses worth asking for the cluster: the members this one was
/// started with, except itself.
fn peer_seeds(options: &DaemonOptions, known: &[Member]) -> Vec<Url> {
    let mut seeds: Vec<Url> = options
        .initial_cluster
        .iter()
        .filter(|(_, url)| !options.initial_advertise_peer_urls.contains(url))
        .map(|(_, url)| url.clone())
        .chain(known.iter().flat_map(|m| m.peer_urls.iter().cloned()))
        .filter(|url| !options.initial_advertise_peer_urls.contains(url))
        .filter_map(|url| Url::parse(&url).ok())
        .collect();
    seeds.sort_by_key(|u| u.to_string());
    seeds.dedup();
    seeds
}

/// The member list of cluster `cluster_id` from the first peer that answers.
async fn ask_peers_for_cluster(
    seeds: &[Url],
    dialer: &Dialer,
    cluster_id: u64,
    max_frame_bytes: usize,
) -> Option<keel_engine::wire::peer::ClusterInfo> {
    for peer in seeds {
        let asked = tokio::time::timeout(
            Duration::from_secs(1),
            fetch_cluster_info(peer, dialer, max_frame_bytes),
        )
        .await;
        if let Ok(Ok(info)) = asked {
            if info.cluster_id == cluster_id && !info.members.is_empty() {
                return Some(info);
            }
        }
    }
    None
}
