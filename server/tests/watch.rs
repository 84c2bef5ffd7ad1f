//! Watches over real TCP on 127.0.0.1, through the client library: events
//! in order with prev_kv and filters, txns delivered whole, cancel, a
//! compacted start revision, many watches on one connection, and resuming
//! on another member after the watched one is shut down.

mod common;

use bytes::Bytes;
use common::{daemon_options, free_ports};
use keel_engine::api::*;
use keel_engine::storage::disk::OsDisk;
use keel_server::client::{Client, ClientOptions, Watcher};
use keel_server::daemon::{ClusterState, Daemon};
use std::sync::Arc;
use std::time::Duration;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn put(client: &Client, key: &str, value: &str) -> i64 {
    match client
        .request(Request::Put(PutRequest {
            key: b(key),
            value: b(value),
            ..PutRequest::default()
        }))
        .await
        .unwrap()
    {
        Response::Put(p) => p.header.revision,
        other => panic!("{other:?}"),
    }
}

async fn delete(client: &Client, key: &str) {
    client
        .request(Request::DeleteRange(DeleteRangeRequest {
            key: b(key),
            ..DeleteRangeRequest::default()
        }))
        .await
        .unwrap();
}

/// Starts `n` members; returns them and their client endpoints.
async fn cluster(dir: &std::path::Path, n: usize) -> (Vec<Daemon>, Vec<String>) {
    let ports = free_ports(2 * n);
    let initial: Vec<(String, String)> = (0..n)
        .map(|i| {
            (
                format!("m{i}"),
                format!("http://127.0.0.1:{}", ports[n + i]),
            )
        })
        .collect();
    let mut daemons = Vec::new();
    for i in 0..n {
        let options = daemon_options(
            dir,
            &format!("m{i}"),
            ports[i],
            ports[n + i],
            &initial,
            ClusterState::New,
        );
        daemons.push(
            Daemon::start(options, Arc::new(OsDisk::new()))
                .await
                .unwrap(),
        );
    }
    for d in &daemons {
        assert!(
            d.wait_ready(Duration::from_secs(20)).await,
            "member not ready"
        );
    }
    let endpoints = (0..n).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    (daemons, endpoints)
}

/// The next response that carries events (skipping creation and progress).
async fn events(watcher: &mut Watcher<'_>) -> WatchResponse {
    loop {
        let response = tokio::time::timeout(Duration::from_secs(10), watcher.next())
            .await
            .expect("a watch response in time")
            .expect("the watch goes on")
            .expect("no client error");
        if !response.events.is_empty() || response.canceled {
            return response;
        }
    }
}

fn summary(response: &WatchResponse) -> Vec<(EventKind, String, String, i64)> {
    response
        .events
        .iter()
        .map(|e| {
            (
                e.kind,
                String::from_utf8_lossy(&e.kv.key).into_owned(),
                String::from_utf8_lossy(&e.kv.value).into_owned(),
                e.kv.mod_revision,
            )
        })
        .collect()
}

#[tokio::test]
async fn watches_deliver_history_live_events_filters_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let (daemons, endpoints) = cluster(dir.path(), 1).await;
    let client = Client::new(ClientOptions::new(endpoints)).unwrap();
    let first = put(&client, "a/1", "x").await;
    put(&client, "a/1", "y").await;
    put(&client, "b", "other").await;

    // From a past revision, with prev_kv: history first, then live events.
    let mut prefix = client.watch(WatchCreateRequest {
        key: b("a/"),
        range_end: b("a0"),
        start_revision: first,
        prev_kv: true,
        ..WatchCreateRequest::default()
    });
    let created = prefix.next().await.unwrap().unwrap();
    assert!(created.created);
    let history = events(&mut prefix).await;
    assert_eq!(
        summary(&history),
        vec![
            (EventKind::Put, "a/1".into(), "x".into(), first),
            (EventKind::Put, "a/1".into(), "y".into(), first + 1),
        ]
    );
    assert_eq!(history.events[0].prev_kv, None);
    assert_eq!(history.events[1].prev_kv.as_ref().unwrap().value, b("x"));

    // Only deletes, from now on.
    let mut deletes = client.watch(WatchCreateRequest {
        key: b("a/"),
        range_end: b("a0"),
        no_put: true,
        ..WatchCreateRequest::default()
    });
    assert!(deletes.next().await.unwrap().unwrap().created);

    // A txn's events arrive in one response, at one revision.
    let txn = Request::Txn(TxnRequest {
        compare: vec![],
        success: vec![
            RequestOp::Put(PutRequest {
                key: b("a/2"),
                value: b("t"),
                ..PutRequest::default()
            }),
            RequestOp::DeleteRange(DeleteRangeRequest {
                key: b("a/1"),
                ..DeleteRangeRequest::default()
            }),
        ],
        failure: vec![],
    });
    let txn_revision = match client.request(txn).await.unwrap() {
        Response::Txn(t) => t.header.revision,
        other => panic!("{other:?}"),
    };
    let live = events(&mut prefix).await;
    assert_eq!(
        summary(&live),
        vec![
            (EventKind::Put, "a/2".into(), "t".into(), txn_revision),
            (EventKind::Delete, "a/1".into(), "".into(), txn_revision),
        ]
    );
    assert_eq!(live.events[1].prev_kv.as_ref().unwrap().value, b("y"));
    let only_deletes = events(&mut deletes).await;
    assert_eq!(
        summary(&only_deletes),
        vec![(EventKind::Delete, "a/1".into(), "".into(), txn_revision)]
    );

    // Cancel: the final response says so, then nothing.
    prefix.cancel().await;
    let last = events(&mut prefix).await;
    assert!(last.canceled, "{last:?}");
    assert!(prefix.next().await.is_none());
    // The other watch on the same connection goes on.
    delete(&client, "a/2").await;
    assert_eq!(events(&mut deletes).await.events.len(), 1);
    for d in daemons {
        d.shutdown().await;
    }
}

#[tokio::test]
async fn a_compacted_start_revision_cancels_the_watch_with_the_compact_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (daemons, endpoints) = cluster(dir.path(), 1).await;
    let client = Client::new(ClientOptions::new(endpoints)).unwrap();
    for i in 0..10 {
        put(&client, "k", &i.to_string()).await;
    }
    client
        .request(Request::Compact(CompactionRequest {
            revision: 8,
            physical: true,
        }))
        .await
        .unwrap();
    let mut watcher = client.watch(WatchCreateRequest {
        key: b("k"),
        start_revision: 3,
        ..WatchCreateRequest::default()
    });
    assert!(watcher.next().await.unwrap().unwrap().created);
    let canceled = events(&mut watcher).await;
    assert!(canceled.canceled);
    assert_eq!(canceled.compact_revision, 8);
    assert_eq!(
        canceled.cancel_reason,
        "etcdserver: mvcc: required revision has been compacted"
    );
    // From the compact revision on, history is there.
    let mut again = client.watch(WatchCreateRequest {
        key: b("k"),
        start_revision: 8,
        ..WatchCreateRequest::default()
    });
    again.next().await.unwrap().unwrap();
    let replay = events(&mut again).await;
    assert_eq!(replay.events.first().unwrap().kv.mod_revision, 8);
    for d in daemons {
        d.shutdown().await;
    }
}

#[tokio::test]
async fn a_watch_resumes_on_another_member_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (mut daemons, mut endpoints) = cluster(dir.path(), 3).await;
    // The watched member is a follower (shutting a leader down would leave
    // the writer's puts indeterminate): it goes first in the watcher's
    // endpoints and goes away mid-stream.
    let leader = daemons[0].node.status().leader_id;
    let watched = daemons
        .iter()
        .position(|d| d.identity.member_id != leader)
        .unwrap();
    endpoints.swap(0, watched);
    daemons.swap(0, watched);
    let writer = Client::new(ClientOptions::new(endpoints[1..].to_vec())).unwrap();
    let reader = Client::new(ClientOptions::new(endpoints)).unwrap();
    let mut watcher = reader.watch(WatchCreateRequest {
        key: b("w"),
        ..WatchCreateRequest::default()
    });
    assert!(watcher.next().await.unwrap().unwrap().created);
    let mut seen: Vec<(String, i64)> = Vec::new();
    let mut written = Vec::new();
    for i in 0..40 {
        if i == 20 {
            daemons.remove(0).shutdown().await;
        }
        let value = format!("v{i}");
        let revision = put(&writer, "w", &value).await;
        written.push((value, revision));
    }
    while seen.len() < written.len() {
        let response = events(&mut watcher).await;
        assert!(!response.canceled, "{response:?}");
        for e in response.events {
            seen.push((
                String::from_utf8_lossy(&e.kv.value).into_owned(),
                e.kv.mod_revision,
            ));
        }
    }
    assert_eq!(
        seen, written,
        "every write, once, in order, across the failover"
    );
    for d in daemons {
        d.shutdown().await;
    }
}

/// Runs keelctl with `args` against `endpoint` for at most `within`;
/// returns what it streamed to stdout, and its output if it ended.
async fn keelctl(
    endpoint: &str,
    args: &[&str],
    within: Duration,
) -> (Vec<u8>, Option<keel_server::ctl::output::Output>) {
    let mut all = vec![format!("--endpoints={endpoint}")];
    all.extend(args.iter().map(|a| a.to_string()));
    let mut stdin = std::io::Cursor::new(Vec::new());
    let mut streamed = Vec::new();
    let ended = tokio::time::timeout(
        within,
        keel_server::ctl::run(keel_server::ctl::Invocation {
            args: all.into_iter().map(Into::into).collect(),
            env: Default::default(),
            stdin: &mut stdin,
            prompts: &mut streamed,
            stderr: None,
            stdin_lines: None,
            interrupt: None,
        }),
    )
    .await
    .ok();
    (streamed, ended)
}

#[tokio::test]
async fn keelctl_watch_prints_as_etcdctl_does() {
    let dir = tempfile::tempdir().unwrap();
    let (daemons, endpoints) = cluster(dir.path(), 1).await;
    let client = Client::new(ClientOptions::new(endpoints.clone())).unwrap();
    let first = put(&client, "foo", "bar").await;
    put(&client, "foo", "baz").await;
    delete(&client, "foo").await;
    // Output captured from etcdctl 3.4.23 for the same history.
    let (simple, ended) = keelctl(
        &endpoints[0],
        &["watch", "--rev", &first.to_string(), "foo"],
        Duration::from_millis(500),
    )
    .await;
    assert!(ended.is_none(), "a watch runs until interrupted");
    assert_eq!(
        String::from_utf8_lossy(&simple),
        "PUT\nfoo\nbar\nPUT\nfoo\nbaz\nDELETE\nfoo\n\n"
    );
    let (with_prev, _) = keelctl(
        &endpoints[0],
        &[
            "watch",
            "--prev-kv",
            "--rev",
            &(first + 1).to_string(),
            "foo",
        ],
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&with_prev),
        "PUT\nfoo\nbar\nfoo\nbaz\nDELETE\nfoo\nbaz\nfoo\n\n"
    );
    let (json, _) = keelctl(
        &endpoints[0],
        &[
            "watch",
            "-w",
            "json",
            "--rev",
            &(first + 2).to_string(),
            "foo",
        ],
        Duration::from_millis(500),
    )
    .await;
    let json = String::from_utf8_lossy(&json);
    let line: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(line["Events"][0]["type"], 1, "{json}");
    assert_eq!(line["Events"][0]["kv"]["key"], "Zm9v");
    assert_eq!(line["Canceled"], false);
    assert_eq!(line["CompactRevision"], 0);

    // A compacted start revision: etcdctl's words and exit status 5.
    client
        .request(Request::Compact(CompactionRequest {
            revision: first + 2,
            physical: true,
        }))
        .await
        .unwrap();
    let (streamed, ended) = keelctl(
        &endpoints[0],
        &["watch", "--rev", &first.to_string(), "foo"],
        Duration::from_secs(5),
    )
    .await;
    let output = ended.expect("a canceled watch ends");
    // etcdctl 3.4.23 prints the cancellation on stderr.
    assert_eq!(String::from_utf8_lossy(&streamed), "");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "watch was canceled (etcdserver: mvcc: required revision has been compacted)\n\
         Error: watch is canceled by the server\n"
    );
    assert_eq!(output.exit_code, 5);
    // Argument errors as etcdctl's.
    let (_, ended) = keelctl(&endpoints[0], &["watch"], Duration::from_secs(5)).await;
    let output = ended.unwrap();
    assert_eq!(output.exit_code, 128);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "Error: bad number of arguments\n"
    );
    let (_, ended) = keelctl(
        &endpoints[0],
        &["watch", "--prefix", "a", "b"],
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&ended.unwrap().stderr),
        "Error: `range_end` and `--prefix` are mutually exclusive\n"
    );
    for d in daemons {
        d.shutdown().await;
    }
}
