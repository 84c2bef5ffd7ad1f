//! The apply path: committed entries (256-byte puts over an 8-byte key
//! space of 10k keys) decoded and applied to the state machine, as every
//! member does for every write. Checkpoints are measured separately
//! (`btree` bench); this is the in-memory path between them.
//!
//! Run: `cargo bench -p keel-engine --bench apply`.

#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use keel_engine::api::{Member, PutRequest, Request};
use keel_engine::node::proposal::{Proposal, ProposalBody};
use keel_engine::state_machine::StateMachine;
use keel_engine::storage::disk::OsDisk;
use std::sync::Arc;

const BATCH: u64 = 1000;

fn entries(start: u64) -> Vec<Bytes> {
    (start..start + BATCH)
        .map(|i| {
            let proposal = Proposal {
                origin: 1,
                request_id: i,
                who: None,
                body: ProposalBody::Client(Request::Put(PutRequest {
                    key: Bytes::from(format!("{:08}", i % 10_000)),
                    value: Bytes::from(vec![b'v'; 256]),
                    ..PutRequest::default()
                })),
            };
            proposal.encode()
        })
        .collect()
}

fn apply(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let member = Member {
        id: 1,
        name: "bench".into(),
        peer_urls: vec!["http://127.0.0.1:2380".into()],
        client_urls: vec![],
        is_learner: false,
    };
    let mut state = StateMachine::bootstrap(
        Arc::new(OsDisk::new()),
        &dir.path().join("db"),
        1,
        &[member],
    )
    .expect("bootstrap");
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(BATCH));
    let mut next = 0u64;
    group.bench_function("put_256B_x1000", |b| {
        b.iter_batched(
            || {
                next += BATCH;
                entries(next)
            },
            |batch| {
                for data in batch {
                    let index = state.applied_index() + 1;
                    let proposal = Proposal::decode(&data).expect("decode");
                    let outcome = state
                        .apply(index, &proposal.body, proposal.who.as_ref())
                        .expect("apply");
                    assert!(outcome.is_ok());
                    state.set_applied(index, 2);
                }
                // Keep the memtable bounded as the node does.
                if state.memtable_bytes() > 64 << 20 {
                    state.checkpoint().expect("checkpoint");
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
