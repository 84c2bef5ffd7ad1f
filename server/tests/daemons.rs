//! Three members in one process, over real TCP on 127.0.0.1: the peer
//! transport, both listeners and the client library end to end.

mod common;

use bytes::Bytes;
use common::{daemon_options as options, free_ports};
use keel_engine::api::*;
use keel_engine::storage::disk::OsDisk;
use keel_server::client::{Client, ClientError, ClientOptions};
use keel_server::daemon::{ClusterState, Daemon, DaemonError};
use std::sync::Arc;
use std::time::Duration;

fn put(key: &str, value: &str) -> Request {
    Request::Put(PutRequest {
        key: Bytes::from(key.to_string()),
        value: Bytes::from(value.to_string()),
        ..PutRequest::default()
    })
}

fn get(key: &str) -> Request {
    Request::Range(RangeRequest {
        key: Bytes::from(key.to_string()),
        ..RangeRequest::default()
    })
}

#[tokio::test]
async fn three_daemons_serve_over_tcp_and_a_member_joins() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(8);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| {
            (
                format!("m{i}"),
                format!("http://127.0.0.1:{}", ports[3 + i]),
            )
        })
        .collect();
    let mut daemons = Vec::new();
    for i in 0..3 {
        let opts = options(
            dir.path(),
            &format!("m{i}"),
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        daemons.push(Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap());
    }
    for d in &daemons {
        assert!(
            d.wait_ready(Duration::from_secs(20)).await,
            "member not ready"
        );
    }
    let endpoints: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let client = Client::new(ClientOptions::new(endpoints.clone())).unwrap();
    for i in 0..50 {
        client
            .request(put(&format!("k{i}"), &i.to_string()))
            .await
            .unwrap();
    }
    match client.request(get("k49")).await.unwrap() {
        Response::Range(r) => assert_eq!(r.kvs[0].value, Bytes::from("49")),
        other => panic!("{other:?}"),
    }
    // A fourth member: added, then started with existing state.
    let peer_url = format!("http://127.0.0.1:{}", ports[7]);
    let add = Request::MemberAdd(MemberAddRequest {
        peer_urls: vec![peer_url.clone()],
        is_learner: false,
        force: false,
    });
    let added = match client.request(add).await.unwrap() {
        Response::Member(m) => m.member.unwrap(),
        other => panic!("{other:?}"),
    };
    let mut joined_cluster = cluster.clone();
    joined_cluster.push(("m3".into(), peer_url));
    let opts = options(
        dir.path(),
        "m3",
        ports[6],
        ports[7],
        &joined_cluster,
        ClusterState::Existing,
    );
    let fourth = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert_eq!(fourth.identity.member_id, added.id);
    assert!(fourth.wait_ready(Duration::from_secs(20)).await);
    let direct = Client::new(ClientOptions::new(vec![format!("127.0.0.1:{}", ports[6])])).unwrap();
    let mut seen = None;
    for _ in 0..100 {
        if let Ok(Response::Range(r)) = direct.request(get("k49")).await {
            if !r.kvs.is_empty() {
                seen = Some(r.kvs[0].value.clone());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(Bytes::from("49")), "the new member caught up");
    // Failover: stop the member the client talks to; it moves on.
    let first = daemons.remove(0);
    first.shutdown().await;
    let mut ok = false;
    for _ in 0..20 {
        match client.request(put("after", "failover")).await {
            Ok(_) => {
                ok = true;
                break;
            }
            Err(ClientError::DeadlineExceeded)
            | Err(ClientError::ConnectionLost)
            | Err(ClientError::Api(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(ok, "writes continue after a member stops");
    for d in daemons {
        d.shutdown().await;
    }
    fourth.shutdown().await;
}

mod malformed {
    use super::*;
    use keel_engine::wire::frame::FrameKind;
    use keel_engine::wire::handshake::{Role, encode_hello};
    use keel_engine::wire::{Decode, Frame};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Everything the server sent before closing the connection.
    async fn exchange(address: &str, bytes: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        stream.flush().await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
        out
    }

    /// The error a client-port answer carries after the 8-byte handshake.
    fn error_in(answer: &[u8], skip_handshake: bool) -> ApiError {
        let frames = if skip_handshake { &answer[8..] } else { answer };
        let (frame, _) = keel_engine::wire::decode_frame(frames, 1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!(frame.kind, FrameKind::Error);
        ApiError::from_bytes(&frame.body).unwrap()
    }

    #[tokio::test]
    async fn bad_input_on_either_port_gets_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(2);
        let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
        let daemon = Daemon::start(
            options(
                dir.path(),
                "solo",
                ports[0],
                ports[1],
                &cluster,
                ClusterState::New,
            ),
            Arc::new(OsDisk::new()),
        )
        .await
        .unwrap();
        assert!(daemon.wait_ready(Duration::from_secs(20)).await);
        let client_addr = format!("127.0.0.1:{}", ports[0]);
        let peer_addr = format!("127.0.0.1:{}", ports[1]);
        let client = Client::new(ClientOptions::new(vec![client_addr.clone()])).unwrap();
        client.request(put("keep", "me")).await.unwrap();

        let hello = encode_hello(Role::Client).to_vec();
        // Random bytes instead of a handshake.
        let garbage: Vec<u8> = (0..64u32).map(|i| (i * 7919 % 251) as u8).collect();
        let answer = exchange(&client_addr, &garbage).await;
        assert!(matches!(error_in(&answer, false), ApiError::BadRequest(_)));
        // A frame claiming 4 GiB.
        let mut huge = hello.clone();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            error_in(&exchange(&client_addr, &huge).await, true),
            ApiError::RequestTooLarge
        );
        // A truncated frame: half a request, then the connection ends.
        let full = Frame::new(
            FrameKind::Request,
            5,
            keel_engine::wire::Encode::to_bytes(&put("x", "y")),
        )
        .encode();
        let mut truncated = hello.clone();
        truncated.extend_from_slice(&full[..full.len() / 2]);
        let answer = {
            let mut stream = TcpStream::connect(&client_addr).await.unwrap();
            stream.write_all(&truncated).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut out = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
            out
        };
        assert!(matches!(error_in(&answer, true), ApiError::BadRequest(_)));
        // An unknown frame kind, and a garbage body.
        let mut unknown = hello.clone();
        unknown.extend_from_slice(&[0, 0, 0, 9, 200, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(
            error_in(&exchange(&client_addr, &unknown).await, true),
            ApiError::BadRequest(_)
        ));
        let mut bad_body = hello.clone();
        bad_body.extend_from_slice(
            &Frame::new(FrameKind::Request, 3, Bytes::from_static(&[99, 1, 2])).encode(),
        );
        assert!(matches!(
            error_in(&exchange(&client_addr, &bad_body).await, true),
            ApiError::BadRequest(_)
        ));
        // Peer port: garbage, a 4 GiB frame after a proper greeting, a hello
        // from another cluster. The peer port just closes.
        assert!(exchange(&peer_addr, &garbage).await.len() <= 8);
        let mut peer_huge = encode_hello(Role::Peer).to_vec();
        peer_huge.extend_from_slice(&u32::MAX.to_be_bytes());
        let _ = exchange(&peer_addr, &peer_huge).await;
        let mut foreign = encode_hello(Role::Peer).to_vec();
        let hello_body = keel_engine::wire::Encode::to_bytes(&keel_engine::wire::PeerHello {
            cluster_id: 1,
            from: 2,
            to: daemon.identity.member_id,
        });
        foreign.extend_from_slice(&Frame::new(FrameKind::PeerHello, 0, hello_body).encode());
        let answer = exchange(&peer_addr, &foreign).await;
        let (frame, _) = keel_engine::wire::decode_frame(&answer[8..], 1 << 20)
            .unwrap()
            .unwrap();
        let ack = keel_engine::wire::PeerHelloAck::from_bytes(&frame.body).unwrap();
        assert!(
            !ack.accepted && ack.reason.contains("cluster ID mismatch"),
            "{ack:?}"
        );
        // The server is up and the data intact.
        match client.request(get("keep")).await.unwrap() {
            Response::Range(r) => assert_eq!(r.kvs[0].value, Bytes::from("me")),
            other => panic!("{other:?}"),
        }
        client.request(put("still", "writable")).await.unwrap();
        daemon.shutdown().await;
    }
}

#[tokio::test]
async fn a_data_dir_of_another_cluster_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = vec![("a".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let first = options(
        dir.path(),
        "a",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    let daemon = Daemon::start(first.clone(), Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    daemon.shutdown().await;
    // Same directory, another cluster (other token, so other ids).
    let mut foreign = first.clone();
    foreign.initial_cluster_token = "another-cluster".into();
    let err = Daemon::start(foreign, Arc::new(OsDisk::new()))
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("belongs to member") && text.contains("--data-dir"),
        "{text}"
    );
    // The same member restarts fine, even with an edited member list.
    let mut edited = first.clone();
    edited
        .initial_cluster
        .push(("b".into(), "http://127.0.0.1:1".into()));
    let again = Daemon::start(edited, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(again.wait_ready(Duration::from_secs(20)).await);
    again.shutdown().await;
}

/// One HTTP/1.1 GET on the client port (`Connection: close`): the whole
/// answer.
async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8(answer).unwrap()
}

#[tokio::test]
async fn version_answers_as_etcd_3_4_does() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = vec![("v".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let opts = options(
        dir.path(),
        "v",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    let answer = http_get(ports[0], "/version").await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    // etcd 3.4.23's body, byte for byte, and its headers in its order.
    assert_eq!(body, r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#);
    let names: Vec<&str> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(
        names,
        [
            "Access-Control-Allow-Headers",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Origin",
            "Content-Type",
            "Date",
            "Content-Length",
            "Connection"
        ]
    );
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\nContent-Type: application/json\r\n"),
        "{head}"
    );
    // Status.version says the same.
    let status = daemon.node.endpoint_status().await.unwrap();
    assert_eq!(status.version, "3.4.23");
    let health = http_get(ports[0], "/health").await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(
        health.ends_with("\r\n\r\n{\"health\":\"true\"}"),
        "{health}"
    );
    daemon.shutdown().await;
}

/// Puts `key` through `client`, again while the cluster elects a leader
/// (an indeterminate answer may have been applied: the key is written at
/// least once, which is all the callers need).
async fn put_retrying(client: &Client, key: &str) {
    for _ in 0..100 {
        match client.request(put(key, "v")).await {
            Ok(_) => return,
            Err(ClientError::Api(_)) | Err(ClientError::DeadlineExceeded) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("{other}"),
        }
    }
    panic!("no write of {key} succeeded");
}

/// Waits until the member on `port` serves `key` from its own state.
async fn wait_for_key(port: u16, key: &str) {
    let direct = Client::new(ClientOptions::new(vec![format!("127.0.0.1:{port}")])).unwrap();
    for _ in 0..200 {
        let serializable = Request::Range(RangeRequest {
            key: Bytes::from(key.to_string()),
            serializable: true,
            ..RangeRequest::default()
        });
        if let Ok(Response::Range(r)) = direct.request(serializable).await {
            if !r.kvs.is_empty() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("member on {port} never saw {key}");
}

#[tokio::test]
async fn the_initial_corrupt_check_refuses_a_member_whose_data_differs() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(6);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| {
            (
                format!("m{i}"),
                format!("http://127.0.0.1:{}", ports[3 + i]),
            )
        })
        .collect();
    let member = |i: usize| {
        let mut opts = options(
            dir.path(),
            &format!("m{i}"),
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        opts.initial_corrupt_check = true;
        opts
    };
    let mut daemons = Vec::new();
    for i in 0..3 {
        // A new member has nothing to compare: no check on a first start.
        daemons.push(Some(
            Daemon::start(member(i), Arc::new(OsDisk::new()))
                .await
                .unwrap(),
        ));
    }
    for d in daemons.iter().flatten() {
        assert!(d.wait_ready(Duration::from_secs(20)).await);
    }
    let endpoints: Vec<String> = (1..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let client = Client::new(ClientOptions::new(endpoints)).unwrap();
    for i in 0..10 {
        client.request(put(&format!("k{i}"), "v")).await.unwrap();
    }
    for &port in &ports[..3] {
        wait_for_key(port, "k9").await;
    }
    // A member whose data matches its peers' restarts and serves.
    daemons[1].take().unwrap().shutdown().await;
    let restarted = Daemon::start(member(1), Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(restarted.wait_ready(Duration::from_secs(20)).await);
    daemons[1] = Some(restarted);

    // A deliberately different store: while m0 is down, a key is written
    // into its state directly (not through raft), and the cluster writes
    // on at the same revisions.
    let first = daemons[0].take().unwrap();
    let id0 = first.identity.member_id;
    first.shutdown().await;
    {
        let disk: Arc<dyn keel_engine::storage::disk::Disk> = Arc::new(OsDisk::new());
        let db = keel_engine::node::db_path(&dir.path().join("m0"));
        let mut state = keel_engine::state_machine::StateMachine::open(disk, &db).unwrap();
        let index = state.applied_index();
        let body = keel_engine::node::proposal::ProposalBody::Client(put("planted", "x"));
        state.apply(index, &body, None).unwrap().unwrap();
        state.checkpoint().unwrap();
    }
    // m0 may have led: writes wait out the election.
    for i in 0..3 {
        put_retrying(&client, &format!("after{i}")).await;
    }
    let refused = Daemon::start(member(0), Arc::new(OsDisk::new())).await;
    match refused {
        Err(DaemonError::DataInconsistency(text)) => {
            assert_eq!(text, format!("{id0:x} found data inconsistency with peers"));
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a member with different data started"),
    }
    // The others go on.
    put_retrying(&client, "still").await;
    for d in daemons.into_iter().flatten() {
        d.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_corrupt_check_raises_corrupt_and_the_cluster_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(6);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| {
            (
                format!("m{i}"),
                format!("http://127.0.0.1:{}", ports[3 + i]),
            )
        })
        .collect();
    let member = |i: usize| {
        let mut opts = options(
            dir.path(),
            &format!("m{i}"),
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        opts.corrupt_check_interval = Some(Duration::from_millis(300));
        opts
    };
    let mut daemons = Vec::new();
    for i in 0..3 {
        daemons.push(Some(
            Daemon::start(member(i), Arc::new(OsDisk::new()))
                .await
                .unwrap(),
        ));
    }
    for d in daemons.iter().flatten() {
        assert!(d.wait_ready(Duration::from_secs(20)).await);
    }
    let endpoints: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let client = Client::new(ClientOptions::new(endpoints)).unwrap();
    for i in 0..10 {
        put_retrying(&client, &format!("k{i}")).await;
    }
    for &port in &ports[..3] {
        wait_for_key(port, "k9").await;
    }
    // Healthy members: checks pass, no alarm.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alarms = || {
        Request::Alarm(AlarmRequest {
            action: AlarmAction::Get,
            member_id: 0,
            alarm: AlarmType::None,
        })
    };
    match client.request(alarms()).await {
        Ok(Response::Alarm(answer)) => assert!(answer.alarms.is_empty(), "{answer:?}"),
        other => panic!("{other:?}"),
    }

    // m0's store is changed behind raft's back (it is one revision ahead
    // of the others from then on) and it rejoins.
    let first = daemons[0].take().unwrap();
    let id0 = first.identity.member_id;
    first.shutdown().await;
    {
        let disk: Arc<dyn keel_engine::storage::disk::Disk> = Arc::new(OsDisk::new());
        let db = keel_engine::node::db_path(&dir.path().join("m0"));
        let mut state = keel_engine::state_machine::StateMachine::open(disk, &db).unwrap();
        let index = state.applied_index();
        let body = keel_engine::node::proposal::ProposalBody::Client(put("planted", "x"));
        state.apply(index, &body, None).unwrap().unwrap();
        state.checkpoint().unwrap();
    }
    daemons[0] = Some(
        Daemon::start(member(0), Arc::new(OsDisk::new()))
            .await
            .unwrap(),
    );
    // The leader compares; a leader that is itself the odd one out sees its
    // peers behind it and cannot prove anything, so lead elsewhere.
    let m0 = Client::new(ClientOptions::new(vec![format!("127.0.0.1:{}", ports[0])])).unwrap();
    let mut raised = None;
    for _ in 0..100 {
        if let Ok(Response::Status(status)) = m0.request(Request::Status).await {
            if status.leader == id0 {
                let target_id = daemons[1].as_ref().unwrap().identity.member_id;
                let _ = m0
                    .request(Request::MoveLeader(MoveLeaderRequest { target_id }))
                    .await;
            }
        }
        let _ = client.request(put("traffic", "v")).await;
        if let Ok(Response::Alarm(answer)) = client.request(alarms()).await {
            if let Some(alarm) = answer.alarms.first() {
                raised = Some(*alarm);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let raised = raised.expect("no CORRUPT alarm was raised");
    assert_eq!((raised.member_id, raised.alarm), (id0, AlarmType::Corrupt));
    // Writes are refused cluster-wide with etcd's error; reads answer.
    assert_eq!(
        client.request(put("refused", "v")).await,
        Err(ClientError::Api(ApiError::Corrupt))
    );
    assert_eq!(ApiError::Corrupt.to_string(), "etcdserver: corrupt cluster");
    match client.request(get("k3")).await {
        Ok(Response::Range(range)) => assert_eq!(range.kvs.len(), 1),
        other => panic!("{other:?}"),
    }
    // With the damaged member gone, an operator disarms the alarm and the
    // cluster takes writes again.
    daemons[0].take().unwrap().shutdown().await;
    let disarm = Request::Alarm(AlarmRequest {
        action: AlarmAction::Deactivate,
        member_id: id0,
        alarm: AlarmType::Corrupt,
    });
    let survivors: Vec<String> = (1..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let survivors = Client::new(ClientOptions::new(survivors)).unwrap();
    let mut disarmed = false;
    for _ in 0..50 {
        if survivors.request(disarm.clone()).await.is_ok() {
            disarmed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(disarmed);
    put_retrying(&survivors, "after-disarm").await;
    for d in daemons.into_iter().flatten() {
        d.shutdown().await;
    }
}
