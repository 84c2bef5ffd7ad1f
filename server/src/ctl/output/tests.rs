//! Every printer against etcdctl 3.4.23's captured output
//! (`server/tests/fixtures/etcdctl/`, made by its `capture.sh`; the inputs
//! below are the values those captures show). Fixtures whose text names
//! `ETCD_*` or `etcdctl` are compared after the deliberate renames.

use super::*;
use keel_engine::api::*;
use std::time::Duration;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/etcdctl/",
            $name
        ))
    };
}

const CLUSTER_ID: u64 = 15_118_495_548_433_857_066;
const E1: u64 = 13_668_033_151_171_901_709;
const E2: u64 = 16_408_860_472_983_443_824;

fn simple() -> PrintOptions {
    PrintOptions::default()
}

fn json() -> PrintOptions {
    PrintOptions {
        format: OutputFormat::Json,
        hex: false,
    }
}

fn table() -> PrintOptions {
    PrintOptions {
        format: OutputFormat::Table,
        hex: false,
    }
}

fn header(revision: i64) -> ResponseHeader {
    ResponseHeader {
        cluster_id: CLUSTER_ID,
        member_id: E1,
        revision,
        raft_term: 2,
    }
}

fn kv(key: &str, create: i64, modified: i64, version: i64, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string().into(),
        create_revision: create,
        mod_revision: modified,
        version,
        value: value.to_string().into(),
        lease: 0,
    }
}

fn assert_stdout(output: &Output, expected: &str) {
    assert_eq!(output.stdout_text(), expected);
    assert_eq!(output.stderr_text(), "");
    assert_eq!(output.exit_code, 0);
}

fn assert_error(output: &Output, expected_stderr: &str, exit_code: i32) {
    assert_eq!(output.stdout_text(), "");
    assert_eq!(output.stderr_text(), expected_stderr);
    assert_eq!(output.exit_code, exit_code);
}

fn foo_range(keys_only: bool) -> RangeResponse {
    let mut kvs = vec![kv("foo", 2, 5, 3, "bar3"), kv("foo2", 3, 3, 1, "bar2")];
    if keys_only {
        for kv in &mut kvs {
            kv.value = Default::default();
        }
    }
    RangeResponse {
        header: header(7),
        count: 2,
        kvs,
        more: false,
    }
}

#[test]
fn put() {
    let response = PutResponse {
        header: header(1),
        prev_kv: None,
    };
    assert_stdout(&print_put(simple(), &response), fixture!("put_simple.out"));
    let response = PutResponse {
        header: header(3),
        prev_kv: None,
    };
    assert_stdout(&print_put(json(), &response), fixture!("put_json.out"));
    let response = PutResponse {
        header: header(4),
        prev_kv: Some(kv("foo", 2, 2, 1, "bar")),
    };
    assert_stdout(&print_put(simple(), &response), fixture!("put_prev_kv.out"));
    let response = PutResponse {
        header: header(5),
        prev_kv: Some(kv("foo", 2, 4, 2, "bar1")),
    };
    assert_stdout(
        &print_put(json(), &response),
        fixture!("put_prev_kv_json.out"),
    );
    assert_error(&print_put(table(), &response), fixture!("put_table.err"), 4);
}

#[test]
fn get() {
    let one = RangeResponse {
        header: header(7),
        kvs: vec![kv("foo", 2, 5, 3, "bar3")],
        more: false,
        count: 1,
    };
    assert_stdout(
        &print_get(simple(), &one, false),
        fixture!("get_simple.out"),
    );
    assert_stdout(&print_get(json(), &one, false), fixture!("get_json.out"));
    assert_error(
        &print_get(table(), &one, false),
        fixture!("get_table.err"),
        4,
    );
    assert_stdout(
        &print_get(simple(), &foo_range(false), false),
        fixture!("get_prefix.out"),
    );
    assert_stdout(
        &print_get(json(), &foo_range(false), false),
        fixture!("get_prefix_json.out"),
    );
    assert_stdout(
        &print_get(simple(), &foo_range(false), true),
        fixture!("get_print_value_only.out"),
    );
    assert_stdout(
        &print_get(simple(), &foo_range(true), false),
        fixture!("get_keys_only.out"),
    );
    assert_stdout(
        &print_get(json(), &foo_range(true), false),
        fixture!("get_keys_only_json.out"),
    );
    let hex = PrintOptions {
        format: OutputFormat::Simple,
        hex: true,
    };
    assert_stdout(
        &print_get(hex, &foo_range(false), false),
        fixture!("get_hex.out"),
    );
    let limited = RangeResponse {
        header: header(7),
        kvs: vec![kv("foo", 2, 5, 3, "bar3")],
        more: true,
        count: 2,
    };
    assert_stdout(
        &print_get(json(), &limited, false),
        fixture!("get_limit_json.out"),
    );
    let missing = RangeResponse {
        header: header(7),
        ..RangeResponse::default()
    };
    assert_stdout(
        &print_get(json(), &missing, false),
        fixture!("get_missing_json.out"),
    );
    assert_stdout(&print_get(simple(), &missing, false), "");
    let stdin_value = RangeResponse {
        header: header(7),
        kvs: vec![kv("sk", 7, 7, 1, "line\n")],
        more: false,
        count: 1,
    };
    assert_stdout(
        &print_get(json(), &stdin_value, false),
        fixture!("get_value_from_stdin_json.out"),
    );
}

#[test]
fn binary_values_print_raw_bytes() {
    let response = RangeResponse {
        kvs: vec![KeyValue {
            key: vec![0xff, b'k'].into(),
            value: vec![0, 0xfe].into(),
            ..KeyValue::default()
        }],
        ..RangeResponse::default()
    };
    assert_eq!(
        print_get(simple(), &response, false).stdout,
        vec![0xff, b'k', b'\n', 0, 0xfe, b'\n']
    );
}

#[test]
fn delete() {
    let none = DeleteRangeResponse {
        header: header(8),
        deleted: 0,
        prev_kvs: vec![],
    };
    assert_stdout(&print_delete(simple(), &none), fixture!("del_missing.out"));
    let one = DeleteRangeResponse {
        header: header(9),
        deleted: 1,
        prev_kvs: vec![],
    };
    assert_stdout(&print_delete(simple(), &one), fixture!("del_one.out"));
    let with_prev = DeleteRangeResponse {
        header: header(9),
        deleted: 1,
        prev_kvs: vec![kv("foo2", 3, 3, 1, "bar2")],
    };
    assert_stdout(
        &print_delete(simple(), &with_prev),
        fixture!("del_prev_kv.out"),
    );
    let with_prev = DeleteRangeResponse {
        header: header(10),
        deleted: 1,
        prev_kvs: vec![kv("sk", 7, 7, 1, "line\n")],
    };
    assert_stdout(
        &print_delete(json(), &with_prev),
        fixture!("del_prev_kv_json.out"),
    );
    let none = DeleteRangeResponse {
        header: header(10),
        ..DeleteRangeResponse::default()
    };
    assert_stdout(&print_delete(json(), &none), fixture!("del_json.out"));
    assert_error(&print_delete(table(), &none), fixture!("del_table.err"), 4);
}

fn sub_header(revision: i64) -> ResponseHeader {
    ResponseHeader {
        revision,
        ..ResponseHeader::default()
    }
}

#[test]
fn txn() {
    let success = TxnResponse {
        header: header(14),
        succeeded: true,
        responses: vec![
            ResponseOp::Put(PutResponse {
                header: sub_header(14),
                prev_kv: None,
            }),
            ResponseOp::Range(RangeResponse {
                header: sub_header(14),
                kvs: vec![kv("t2", 12, 12, 1, "v2")],
                more: false,
                count: 1,
            }),
        ],
    };
    assert_stdout(&print_txn(simple(), &success), fixture!("txn_success.out"));
    assert_stdout(
        &print_txn(json(), &success),
        fixture!("txn_success_json.out"),
    );
    assert_error(&print_txn(table(), &success), fixture!("txn_table.err"), 4);
    let failure = TxnResponse {
        header: header(16),
        succeeded: false,
        responses: vec![
            ResponseOp::Range(RangeResponse {
                header: sub_header(15),
                kvs: vec![kv("t1", 11, 14, 4, "overwrote-t1")],
                more: false,
                count: 1,
            }),
            ResponseOp::DeleteRange(DeleteRangeResponse {
                header: sub_header(15),
                deleted: 1,
                prev_kvs: vec![kv("t2", 12, 12, 1, "v2")],
            }),
            ResponseOp::Put(PutResponse {
                header: sub_header(16),
                prev_kv: Some(kv("t1", 11, 14, 4, "overwrote-t1")),
            }),
            ResponseOp::DeleteRange(DeleteRangeResponse {
                header: sub_header(16),
                ..DeleteRangeResponse::default()
            }),
        ],
    };
    assert_stdout(&print_txn(simple(), &failure), fixture!("txn_failure.out"));
    let t1_y = kv("t1", 11, 16, 5, "y");
    let failure_again = TxnResponse {
        header: header(17),
        succeeded: false,
        responses: vec![
            ResponseOp::Range(RangeResponse {
                header: sub_header(16),
                kvs: vec![t1_y.clone()],
                more: false,
                count: 1,
            }),
            ResponseOp::DeleteRange(DeleteRangeResponse {
                header: sub_header(16),
                ..DeleteRangeResponse::default()
            }),
            ResponseOp::Put(PutResponse {
                header: sub_header(17),
                prev_kv: Some(t1_y),
            }),
            ResponseOp::DeleteRange(DeleteRangeResponse {
                header: sub_header(17),
                ..DeleteRangeResponse::default()
            }),
        ],
    };
    assert_stdout(
        &print_txn(json(), &failure_again),
        fixture!("txn_failure_json.out"),
    );
}

#[test]
fn compaction_prints_the_same_in_every_format() {
    assert_stdout(&print_compaction(3), fixture!("compaction_simple.out"));
    assert_stdout(&print_compaction(4), fixture!("compaction_json.out"));
}

#[test]
fn errors_print_etcdctls_error_line_and_exit_code() {
    let cases: [(ApiError, &str); 6] = [
        (ApiError::EmptyKey, fixture!("put_empty_key.err")),
        (ApiError::LeaseNotFound, fixture!("put_lease_not_found.err")),
        (
            ApiError::FutureRevision,
            fixture!("get_future_revision.err"),
        ),
        (
            ApiError::Compacted {
                compact_revision: 4,
            },
            fixture!("compaction_compacted.err"),
        ),
        (ApiError::NoSpace, fixture!("put_no_space.err")),
        (ApiError::DuplicateKey, fixture!("txn_duplicate.err")),
    ];
    for (error, expected) in cases {
        assert_error(&print_error(&error.into()), expected, 1);
    }
    let more: [(ApiError, &str); 5] = [
        (
            ApiError::TooManyLearners,
            fixture!("member_add_second_learner.err"),
        ),
        (
            ApiError::LearnerNotReady,
            fixture!("member_promote_not_ready.err"),
        ),
        (
            ApiError::MemberNotLearner,
            fixture!("member_promote_voter.err"),
        ),
        (
            ApiError::MemberNotFound,
            fixture!("member_remove_not_found.err"),
        ),
        (ApiError::FutureRevision, fixture!("compaction_future.err")),
    ];
    for (error, expected) in more {
        assert_error(&print_error(&error.into()), expected, 1);
    }
    assert_error(
        &print_error(&OutputFormat::parse("yaml").unwrap_err()),
        fixture!("get_unsupported_format.err"),
        4,
    );
}

fn e1_member() -> Member {
    Member {
        id: E1,
        name: "e1".into(),
        peer_urls: vec!["http://127.0.0.1:23801".into()],
        client_urls: vec!["http://127.0.0.1:23791".into()],
        is_learner: false,
    }
}

fn e2_member(started: bool, learner: bool) -> Member {
    Member {
        id: E2,
        name: if started { "e2".into() } else { String::new() },
        peer_urls: vec!["http://127.0.0.1:23802".into()],
        client_urls: if started {
            vec!["http://127.0.0.1:23792".into()]
        } else {
            vec![]
        },
        is_learner: learner,
    }
}

fn members(list: Vec<Member>) -> MemberResponse {
    MemberResponse {
        header: ResponseHeader {
            revision: 0,
            ..header(0)
        },
        member: None,
        members: list,
    }
}

#[test]
fn member_list() {
    let one = members(vec![e1_member()]);
    assert_stdout(
        &print_member_list(simple(), &one),
        fixture!("member_list.out"),
    );
    assert_stdout(
        &print_member_list(json(), &one),
        fixture!("member_list_json.out"),
    );
    assert_stdout(
        &print_member_list(table(), &one),
        fixture!("member_list_table.out"),
    );
    let with_learner = members(vec![e1_member(), e2_member(false, true)]);
    assert_stdout(
        &print_member_list(simple(), &with_learner),
        fixture!("member_list_unstarted.out"),
    );
    assert_stdout(
        &print_member_list(table(), &with_learner),
        fixture!("member_list_unstarted_table.out"),
    );
    let two = members(vec![e1_member(), e2_member(true, false)]);
    assert_stdout(
        &print_member_list(simple(), &two),
        fixture!("member_list_two.out"),
    );
    assert_stdout(
        &print_member_list(table(), &two),
        fixture!("member_list_two_table.out"),
    );
    let e4 = Member {
        id: 0x41c5_e6b7_d3a3_cc5d,
        peer_urls: vec!["http://127.0.0.1:23815".into()],
        ..Member::default()
    };
    let three = members(vec![e4, e1_member(), e2_member(true, false)]);
    assert_stdout(
        &print_member_list(simple(), &three),
        fixture!("member_list_unstarted_voter.out"),
    );
    let two_urls = members(vec![
        Member {
            id: 0x2a47_9a84_42cf_6775,
            name: "learner2".into(),
            peer_urls: vec!["http://127.0.0.1:23812".into()],
            client_urls: vec!["http://127.0.0.1:23792".into()],
            is_learner: false,
        },
        Member {
            id: 0x944b_edda_944d_cb1f,
            peer_urls: vec![
                "http://127.0.0.1:23813".into(),
                "http://127.0.0.1:23814".into(),
            ],
            ..Member::default()
        },
        e1_member(),
    ]);
    assert_stdout(
        &print_member_list(simple(), &two_urls),
        fixture!("member_list_two_urls.out"),
    );
}

/// etcdctl prints `ETCD_*` variables; keelctl prints `KEEL_*` ones.
fn keel_env(etcdctl_text: &str) -> String {
    etcdctl_text.replace("\nETCD_", "\nKEEL_")
}

#[test]
fn member_add() {
    let added = MemberResponse {
        header: header(0),
        member: Some(e2_member(false, true)),
        members: vec![e1_member(), e2_member(false, true)],
    };
    assert_stdout(
        &print_member_add(simple(), "e2", &added),
        &keel_env(fixture!("member_add_learner.out")),
    );
    let voter = Member {
        id: 4_739_447_860_081_445_981,
        peer_urls: vec!["http://127.0.0.1:23815".into()],
        ..Member::default()
    };
    let added = MemberResponse {
        header: ResponseHeader {
            member_id: E2,
            ..header(0)
        },
        member: Some(voter.clone()),
        members: vec![voter, e1_member(), e2_member(true, false)],
    };
    assert_stdout(
        &print_member_add(json(), "e4", &added),
        fixture!("member_add_voter_json.out"),
    );
    let two_urls = Member {
        id: 0x944b_edda_944d_cb1f,
        peer_urls: vec![
            "http://127.0.0.1:23813".into(),
            "http://127.0.0.1:23814".into(),
        ],
        ..Member::default()
    };
    let learner2 = Member {
        id: 0x2a47_9a84_42cf_6775,
        name: "learner2".into(),
        peer_urls: vec!["http://127.0.0.1:23812".into()],
        client_urls: vec!["http://127.0.0.1:23792".into()],
        is_learner: false,
    };
    let added = MemberResponse {
        header: header(0),
        member: Some(two_urls.clone()),
        members: vec![learner2, two_urls, e1_member()],
    };
    assert_stdout(
        &print_member_add(simple(), "v3", &added),
        &keel_env(fixture!("member_add_voter.out")),
    );
    assert_eq!(print_member_add(table(), "v3", &added).exit_code, 4);
}

#[test]
fn member_update_remove_promote() {
    let after = members(vec![e1_member(), e2_member(false, false)]);
    assert_stdout(
        &print_member_update(simple(), E2, &after),
        fixture!("member_update.out"),
    );
    assert_stdout(
        &print_member_update(json(), E2, &after),
        fixture!("member_update_json.out"),
    );
    assert_eq!(print_member_update(table(), E2, &after).exit_code, 4);
    let cluster = members(vec![]);
    assert_stdout(
        &print_member_remove(simple(), 0x0291_40d9_ba46_38d6, &cluster),
        fixture!("member_remove.out"),
    );
    assert_stdout(
        &print_member_promote(simple(), 0x2a47_9a84_42cf_6775, &cluster),
        fixture!("member_promote.out"),
    );
}

fn status(member_id: u64, raft_index: u64, errors: Vec<String>) -> StatusResponse {
    StatusResponse {
        header: ResponseHeader {
            member_id,
            ..header(16)
        },
        version: "3.4.23".into(),
        db_size: 20_480,
        db_size_in_use: 16_384,
        leader: E1,
        raft_index,
        raft_term: 2,
        raft_applied_index: raft_index,
        errors,
        is_learner: false,
    }
}

fn answered(endpoint: &str, response: StatusResponse) -> EndpointStatus {
    EndpointStatus {
        endpoint: endpoint.into(),
        result: Ok(response),
    }
}

#[test]
fn endpoint_status() {
    let mut first = status(E1, 32, vec![]);
    first.header.revision = 18;
    let one = [answered("127.0.0.1:23791", first)];
    assert_stdout(
        &print_endpoint_status(simple(), &one),
        fixture!("endpoint_status.out"),
    );
    assert_stdout(
        &print_endpoint_status(json(), &one),
        fixture!("endpoint_status_json.out"),
    );
    assert_stdout(
        &print_endpoint_status(table(), &one),
        fixture!("endpoint_status_table.out"),
    );
    let mut second = status(E2, 88, vec![]);
    second.header.revision = 18;
    let mut first = status(E1, 88, vec![]);
    first.header.revision = 18;
    let two = [
        answered("127.0.0.1:23791", first.clone()),
        answered("127.0.0.1:23792", second.clone()),
    ];
    assert_stdout(
        &print_endpoint_status(simple(), &two),
        fixture!("endpoint_status_two.out"),
    );
    assert_stdout(
        &print_endpoint_status(json(), &two),
        fixture!("endpoint_status_two_json.out"),
    );
    assert_stdout(
        &print_endpoint_status(table(), &two),
        fixture!("endpoint_status_two_table.out"),
    );
    let cluster = [
        answered("http://127.0.0.1:23791", first),
        answered("http://127.0.0.1:23792", second),
    ];
    assert_stdout(
        &print_endpoint_status(table(), &cluster),
        fixture!("endpoint_status_cluster_table.out"),
    );
}

#[test]
fn endpoint_status_with_an_alarm_wraps_the_errors_cell() {
    let alarm = "memberID:3990370604368066554 alarm:NOSPACE ".to_string();
    let response = StatusResponse {
        header: ResponseHeader {
            cluster_id: 9_936_239_848_842_411_879,
            member_id: 3_990_370_604_368_066_554,
            revision: 1,
            raft_term: 2,
        },
        version: "3.4.23".into(),
        db_size: 20_480,
        db_size_in_use: 16_384,
        leader: 3_990_370_604_368_066_554,
        raft_index: 7,
        raft_term: 2,
        raft_applied_index: 7,
        errors: vec![alarm],
        is_learner: false,
    };
    let list = [answered("127.0.0.1:23793", response)];
    assert_stdout(
        &print_endpoint_status(simple(), &list),
        fixture!("endpoint_status_alarm.out"),
    );
    assert_stdout(
        &print_endpoint_status(json(), &list),
        fixture!("endpoint_status_alarm_json.out"),
    );
    assert_stdout(
        &print_endpoint_status(table(), &list),
        fixture!("endpoint_status_alarm_table.out"),
    );
}

#[test]
fn endpoint_status_of_an_unreachable_endpoint() {
    let list = [
        answered("127.0.0.1:23791", status(E1, 62, vec![])),
        EndpointStatus {
            endpoint: "127.0.0.1:23799".into(),
            result: Err("context deadline exceeded".into()),
        },
    ];
    let output = print_endpoint_status(simple(), &list);
    assert_eq!(
        output.stdout_text(),
        "127.0.0.1:23791, bdae9bbc11dd390d, 3.4.23, 20 kB, true, false, 2, 62, 62, \n"
    );
    assert_eq!(
        output.stderr_text(),
        "Failed to get the status of endpoint 127.0.0.1:23799 (context deadline exceeded)\n"
    );
    assert_eq!(output.exit_code, 1);
}

fn healthy(endpoint: &str, nanos: u64) -> EndpointHealth {
    EndpointHealth {
        endpoint: endpoint.into(),
        took: Duration::from_nanos(nanos),
        error: None,
    }
}

fn unreachable(nanos: u64) -> EndpointHealth {
    EndpointHealth {
        endpoint: "127.0.0.1:23799".into(),
        took: Duration::from_nanos(nanos),
        error: Some("context deadline exceeded".into()),
    }
}

#[test]
fn endpoint_health() {
    let output = print_endpoint_health(simple(), &[healthy("127.0.0.1:23791", 1_311_318)]);
    assert_error(&output, fixture!("endpoint_health.err"), 0);
    assert_stdout(
        &print_endpoint_health(json(), &[healthy("127.0.0.1:23791", 1_298_128)]),
        fixture!("endpoint_health_json.out"),
    );
    assert_stdout(
        &print_endpoint_health(table(), &[healthy("127.0.0.1:23791", 1_359_760)]),
        fixture!("endpoint_health_table.out"),
    );
    let output = print_endpoint_health(
        simple(),
        &[
            healthy("127.0.0.1:23791", 2_480_735),
            unreachable(1_000_000_000),
        ],
    );
    assert_error(&output, fixture!("endpoint_health_unhealthy.err"), 1);
    let output = print_endpoint_health(
        table(),
        &[
            healthy("127.0.0.1:23791", 3_407_852),
            unreachable(1_001_169_184),
        ],
    );
    assert_eq!(
        output.stdout_text(),
        fixture!("endpoint_health_unhealthy_table.out")
    );
    assert_eq!(
        output.stderr_text(),
        fixture!("endpoint_health_unhealthy_table.err")
    );
    assert_eq!(output.exit_code, 1);
    let output = print_endpoint_health(
        json(),
        &[
            healthy("127.0.0.1:23791", 4_200_389),
            unreachable(1_001_465_229),
        ],
    );
    assert_eq!(
        output.stdout_text(),
        fixture!("endpoint_health_unhealthy_json.out")
    );
    assert_eq!(
        output.stderr_text(),
        fixture!("endpoint_health_unhealthy_json.err")
    );
    assert_eq!(output.exit_code, 1);
}

#[test]
fn alarms() {
    let none = AlarmResponse::default();
    assert_stdout(&print_alarm(simple(), &none), "");
    assert_stdout(
        &print_alarm(json(), &none),
        fixture!("alarm_list_none_json.out"),
    );
    assert_stdout(
        &print_alarm(json(), &none),
        fixture!("alarm_disarm_none_json.out"),
    );
    assert_error(
        &print_alarm(table(), &none),
        fixture!("alarm_list_table.err"),
        4,
    );
    let raised = AlarmResponse {
        header: header(1),
        alarms: vec![AlarmMember {
            member_id: 3_990_370_604_368_066_554,
            alarm: AlarmType::NoSpace,
        }],
    };
    assert_stdout(&print_alarm(simple(), &raised), fixture!("alarm_list.out"));
    assert_stdout(
        &print_alarm(simple(), &raised),
        fixture!("alarm_disarm.out"),
    );
    assert_stdout(
        &print_alarm(json(), &raised),
        fixture!("alarm_list_json.out"),
    );
}

#[test]
fn move_leader_and_version() {
    assert_stdout(
        &print_move_leader(simple(), E1, 0x2a47_9a84_42cf_6775),
        fixture!("move_leader.out"),
    );
    assert_stdout(
        &print_move_leader(json(), E1, E2),
        fixture!("move_leader_json.out"),
    );
    assert_stdout(
        &print_version("0.1.0", "3.4.23", "3.4"),
        &fixture!("version.out")
            .replace("etcdctl version: ", "keelctl version: 0.1.0 (etcdctl ")
            .replacen('\n', ")\n", 1),
    );
}

#[test]
fn fields_are_refused_clearly() {
    let fields = PrintOptions {
        format: OutputFormat::Fields,
        hex: false,
    };
    let output = print_put(fields, &PutResponse::default());
    assert_eq!(output.exit_code, 4);
    assert!(output.stderr_text().contains("not supported by keelctl"));
}

fn protobuf() -> PrintOptions {
    PrintOptions {
        format: OutputFormat::Protobuf,
        hex: false,
    }
}

/// A byte string from its hex digits.
fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

/// `-w protobuf` against etcdctl 3.4.23 (`etcdctl -w protobuf ... | xxd
/// -p` on a fresh etcd after `put foo bar`, `put k2 v2`): the raw message,
/// no newline.
#[test]
fn protobuf_is_the_raw_response_message() {
    let header = |revision| ResponseHeader {
        cluster_id: 14_841_639_068_965_178_418,
        member_id: 10_276_657_743_932_975_437,
        revision,
        raft_term: 2,
    };
    let get = RangeResponse {
        header: header(4),
        kvs: vec![KeyValue {
            key: "foo".into(),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            value: "bar".into(),
            lease: 0,
        }],
        more: false,
        count: 1,
    };
    let output = print_get(protobuf(), &get, false);
    assert_eq!(
        output.stdout,
        unhex(
            "0a1a08b298eaf1948386fccd0110cdd2918bd2b881cf8e011804200212100a03666f6f10021802\
             20012a036261722001"
        )
    );
    assert!(output.stderr.is_empty() && output.exit_code == 0);
    let put = PutResponse {
        header: header(5),
        prev_kv: None,
    };
    assert_eq!(
        print_put(protobuf(), &put).stdout,
        unhex("0a1a08b298eaf1948386fccd0110cdd2918bd2b881cf8e0118052002")
    );
    let members = MemberResponse {
        header: header(5),
        member: None,
        members: vec![Member {
            id: 10_276_657_743_932_975_437,
            name: "default".into(),
            peer_urls: vec!["http://localhost:2380".into()],
            client_urls: vec!["http://127.0.0.1:23790".into()],
            is_learner: false,
        }],
    };
    assert_eq!(
        print_member_list(protobuf(), &members).stdout,
        unhex(
            "0a1808b298eaf1948386fccd0110cdd2918bd2b881cf8e012002124308cdd2918bd2b881cf8e01\
             120764656661756c741a15687474703a2f2f6c6f63616c686f73743a323338302216687474703a\
             2f2f3132372e302e302e313a3233373930"
        )
    );
    // Commands etcdctl prints no protobuf for give its error.
    let refused = print_endpoint_status(protobuf(), &[]);
    assert_eq!(
        (refused.stderr_text().as_str(), refused.exit_code),
        ("Error: protobuf not supported as output format\n", 4)
    );
}

/// The lease session's ids (`capture-lease.sh`).
const LEASE_CLUSTER_ID: u64 = 8_373_857_289_935_975_120;
const LEASE_MEMBER_ID: u64 = 15_620_605_431_212_779_891;
const LEASE_A: i64 = 0x2973_a232_6a3e_6f09;
const LEASE_B: i64 = 0x2973_a232_6a3e_6f0b;

fn lease_header(revision: i64) -> ResponseHeader {
    ResponseHeader {
        cluster_id: LEASE_CLUSTER_ID,
        member_id: LEASE_MEMBER_ID,
        revision,
        raft_term: 2,
    }
}

#[test]
fn lease_grant_and_revoke() {
    let grant = |id, ttl_seconds| LeaseGrantResponse {
        header: lease_header(1),
        id,
        ttl_seconds,
    };
    assert_stdout(
        &print_lease_grant(simple(), &grant(LEASE_A, 100)),
        fixture!("lease_grant.out"),
    );
    assert_stdout(
        &print_lease_grant(json(), &grant(LEASE_B, 200)),
        fixture!("lease_grant_json.out"),
    );
    assert_stdout(
        &print_lease_grant(simple(), &grant(0x2973_a232_6a3e_6f13, 2)),
        fixture!("lease_grant_min.out"),
    );
    let revoke = LeaseRevokeResponse {
        header: lease_header(3),
    };
    assert_stdout(
        &print_lease_revoke(simple(), LEASE_A, &revoke),
        fixture!("lease_revoke.out"),
    );
    assert_stdout(
        &print_lease_revoke(json(), LEASE_B, &revoke),
        fixture!("lease_revoke_json.out"),
    );
    assert_error(
        &print_lease_grant(table(), &grant(LEASE_A, 100)),
        "Error: table not supported as output format\n",
        4,
    );
}

#[test]
fn lease_time_to_live() {
    let ttl = |id, ttl_seconds, granted, keys: &[&str]| LeaseTimeToLiveResponse {
        header: lease_header(2),
        id,
        ttl_seconds,
        granted_ttl_seconds: granted,
        keys: keys.iter().map(|k| k.to_string().into()).collect(),
    };
    let a = ttl(LEASE_A, 99, 100, &[]);
    assert_stdout(
        &print_lease_time_to_live(simple(), &a, false),
        fixture!("lease_timetolive.out"),
    );
    assert_stdout(
        &print_lease_time_to_live(json(), &a, false),
        fixture!("lease_timetolive_json.out"),
    );
    let a_keys = ttl(LEASE_A, 99, 100, &["k1"]);
    assert_stdout(
        &print_lease_time_to_live(simple(), &a_keys, true),
        fixture!("lease_timetolive_keys.out"),
    );
    assert_stdout(
        &print_lease_time_to_live(json(), &a_keys, true),
        fixture!("lease_timetolive_keys_json.out"),
    );
    let b = ttl(LEASE_B, 199, 200, &[]);
    assert_stdout(
        &print_lease_time_to_live(simple(), &b, true),
        fixture!("lease_timetolive_no_keys.out"),
    );
    assert_stdout(
        &print_lease_time_to_live(json(), &b, true),
        fixture!("lease_timetolive_no_keys_json.out"),
    );
    let mut missing = ttl(0x1234, -1, 0, &[]);
    missing.header.revision = 1;
    assert_stdout(
        &print_lease_time_to_live(simple(), &missing, false),
        fixture!("lease_timetolive_not_found.out"),
    );
    assert_stdout(
        &print_lease_time_to_live(json(), &missing, true),
        fixture!("lease_timetolive_not_found_json.out"),
    );
    // Several keys print space-separated, as Go's `%v` of a []string.
    let two = ttl(LEASE_A, 5, 10, &["a", "b c"]);
    assert_stdout(
        &print_lease_time_to_live(simple(), &two, true),
        "lease 2973a2326a3e6f09 granted with TTL(10s), remaining(5s), attached keys([a b c])\n",
    );
    assert_error(
        &print_lease_time_to_live(table(), &a, false),
        fixture!("lease_timetolive_table.err"),
        4,
    );
}

#[test]
fn lease_list_and_keep_alive() {
    let list = LeaseLeasesResponse {
        header: lease_header(2),
        leases: vec![LEASE_A, LEASE_B],
    };
    assert_stdout(
        &print_lease_list(simple(), &list),
        fixture!("lease_list.out"),
    );
    assert_stdout(
        &print_lease_list(json(), &list),
        fixture!("lease_list_json.out"),
    );
    assert_error(
        &print_lease_list(table(), &list),
        fixture!("lease_list_table.err"),
        4,
    );
    let none = LeaseLeasesResponse {
        header: lease_header(1),
        leases: vec![],
    };
    assert_stdout(
        &print_lease_list(simple(), &none),
        fixture!("lease_list_none.out"),
    );
    assert_stdout(
        &print_lease_list(json(), &none),
        fixture!("lease_list_none_json.out"),
    );
    let renewed = LeaseKeepAliveResponse {
        header: lease_header(2),
        id: LEASE_A,
        ttl_seconds: 100,
    };
    assert_stdout(
        &print_lease_keep_alive(simple(), &renewed),
        fixture!("lease_keep_alive_once.out"),
    );
    assert_stdout(
        &print_lease_keep_alive(json(), &renewed),
        fixture!("lease_keep_alive_once_json.out"),
    );
    assert_stdout(
        &print_lease_keep_alive_ended(simple(), 0x1234),
        fixture!("lease_keep_alive_not_found.out"),
    );
    assert_stdout(&print_lease_keep_alive_ended(json(), 0x1234), "");
}

#[test]
fn lease_ids_print_as_gos_016x() {
    assert_eq!(lease_id_hex(0x1234), "0000000000001234");
    assert_eq!(lease_id_hex(LEASE_A), "2973a2326a3e6f09");
    assert_eq!(lease_id_hex(-1), "-000000000000001");
    assert_eq!(lease_id_hex(i64::MIN), "-8000000000000000");
}

/// `endpoint hashkv` against etcdctl 3.4.23 (a fresh etcd after `put foo
/// bar`, `put k2 v2`; `--endpoints=127.0.0.1:23790,127.0.0.1:23799` for the
/// failure).
#[test]
fn endpoint_hashkv() {
    let answered = EndpointHashKv {
        endpoint: "127.0.0.1:23790".into(),
        result: Ok(HashKvResponse {
            header: ResponseHeader {
                cluster_id: 14_841_639_068_965_178_418,
                member_id: 10_276_657_743_932_975_437,
                revision: 3,
                raft_term: 2,
            },
            hash: 3_542_629_224,
            compact_revision: -1,
        }),
    };
    assert_stdout(
        &print_endpoint_hashkv(simple(), std::slice::from_ref(&answered)),
        "127.0.0.1:23790, 3542629224\n",
    );
    assert_stdout(
        &print_endpoint_hashkv(json(), std::slice::from_ref(&answered)),
        "[{\"Endpoint\":\"127.0.0.1:23790\",\"HashKV\":{\"header\":{\"cluster_id\":\
         14841639068965178418,\"member_id\":10276657743932975437,\"revision\":3,\
         \"raft_term\":2},\"hash\":3542629224,\"compact_revision\":-1}}]\n",
    );
    assert_stdout(
        &print_endpoint_hashkv(table(), std::slice::from_ref(&answered)),
        "+-----------------+------------+\n\
         |    ENDPOINT     |    HASH    |\n\
         +-----------------+------------+\n\
         | 127.0.0.1:23790 | 3542629224 |\n\
         +-----------------+------------+\n",
    );
    let failed = EndpointHashKv {
        endpoint: "127.0.0.1:23799".into(),
        result: Err("context deadline exceeded".into()),
    };
    let output = print_endpoint_hashkv(simple(), &[answered, failed.clone()]);
    assert_eq!(output.stdout_text(), "127.0.0.1:23790, 3542629224\n");
    assert_eq!(
        output.stderr_text(),
        "Failed to get the hash of endpoint 127.0.0.1:23799 (context deadline exceeded)\n\
         Error: context deadline exceeded\n"
    );
    assert_eq!(output.exit_code, 1);
    // Nothing answered: an empty list, an empty table.
    assert_eq!(
        print_endpoint_hashkv(json(), std::slice::from_ref(&failed)).stdout_text(),
        "[]\n"
    );
    assert_eq!(
        print_endpoint_hashkv(table(), &[failed]).stdout_text(),
        "+----------+------+\n| ENDPOINT | HASH |\n+----------+------+\n+----------+------+\n"
    );
}

#[test]
fn defrag_prints_etcdctls_lines_and_fails_if_any_member_failed() {
    let done = print_defrag(&[("127.0.0.1:2379".into(), Ok(()))]);
    assert_eq!(
        done.stdout_text(),
        "Finished defragmenting etcd member[127.0.0.1:2379]\n"
    );
    assert_eq!(done.exit_code, 0);
    let mixed = print_defrag(&[
        (
            "http://a:2379".into(),
            Err("context deadline exceeded".into()),
        ),
        ("http://b:2379".into(), Ok(())),
    ]);
    assert_eq!(
        mixed.stdout_text(),
        "Finished defragmenting etcd member[http://b:2379]\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&mixed.stderr),
        "Failed to defragment etcd member[http://a:2379] (context deadline exceeded)\n"
    );
    assert_eq!(mixed.exit_code, 1);
}
