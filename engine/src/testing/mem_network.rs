//! An in-memory network between nodes of one process, with seeded faults:
//! dropped messages, random delays (hence reordering), one-way and two-way
//! partitions. Delays use tokio time, so tests run on paused or simulated
//! time and never sleep on the wall clock.

use crate::node::{NodeHandle, Transport};
use bytes::Bytes;
use parking_lot::Mutex;
use raft::eraftpb::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::time::Duration;

/// How the network mistreats messages that are not blocked outright.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkFaults {
    /// Probability that a message is lost.
    pub drop_probability: f64,
    /// Smallest delivery delay.
    pub min_delay: Duration,
    /// Largest delivery delay (delays in between are uniform, so messages
    /// sent close together may arrive out of order).
    pub max_delay: Duration,
}

impl Default for LinkFaults {
    fn default() -> Self {
        LinkFaults {
            drop_probability: 0.0,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        }
    }
}

#[derive(Debug)]
struct State {
    nodes: BTreeMap<u64, NodeHandle>,
    /// Directed links that deliver nothing: (from, to).
    blocked: BTreeSet<(u64, u64)>,
    faults: LinkFaults,
    rng: ChaCha8Rng,
    delivered: u64,
    /// Running hash of every routing decision, for determinism checks.
    trace: u64,
    /// When the network was made; trace times are measured from here.
    start: tokio::time::Instant,
}

/// A network connecting the nodes registered on it.
#[derive(Debug, Clone)]
pub struct MemNetwork {
    state: Arc<Mutex<State>>,
}

impl MemNetwork {
    /// A fault-free network whose random choices derive from `seed`. Must
    /// be made inside a tokio (or madsim) runtime.
    pub fn new(seed: u64) -> Self {
        MemNetwork {
            state: Arc::new(Mutex::new(State {
                nodes: BTreeMap::new(),
                blocked: BTreeSet::new(),
                faults: LinkFaults::default(),
                rng: ChaCha8Rng::seed_from_u64(seed),
                delivered: 0,
                trace: 0xcbf2_9ce4_8422_2325,
                start: tokio::time::Instant::now(),
            })),
        }
    }

    /// The transport member `id` sends through.
    pub fn transport(&self, id: u64) -> Arc<dyn Transport> {
        Arc::new(MemTransport {
            from: id,
            network: self.clone(),
        })
    }

    /// Delivers messages for `id` to `handle` (replacing an earlier node with
    /// that id, as a restart does).
    pub fn register(&self, id: u64, handle: NodeHandle) {
        self.state.lock().nodes.insert(id, handle);
    }

    /// Stops delivering to `id` (the node is down).
    pub fn unregister(&self, id: u64) {
        self.state.lock().nodes.remove(&id);
    }

    /// Sets loss and delay for every link.
    pub fn set_faults(&self, faults: LinkFaults) {
        self.state.lock().faults = faults;
    }

    /// Blocks the directed link `from` → `to`.
    pub fn block(&self, from: u64, to: u64) {
        self.state.lock().blocked.insert((from, to));
    }

    /// Cuts `id` off from every other member, both ways.
    pub fn isolate(&self, id: u64, members: &[u64]) {
        for &other in members.iter().filter(|&&m| m != id) {
            self.block(id, other);
            self.block(other, id);
        }
    }

    /// Removes every partition.
    pub fn heal(&self) {
        self.state.lock().blocked.clear();
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.state.lock().delivered
    }

    /// A hash of every message routed so far (when, who, what, its fate):
    /// two runs with the same seed must produce the same value.
    pub fn trace_hash(&self) -> u64 {
        self.state.lock().trace
    }

    /// Decides the fate of one message: `None` if lost, else its delay and
    /// the node to deliver it to.
    fn route(&self, from: u64, to: u64, message: &Message) -> Option<(Duration, NodeHandle)> {
        let mut state = self.state.lock();
        let fate = Self::fate(&mut state, from, to);
        let elapsed_nanos = state.start.elapsed().as_nanos() as u64;
        let facts = [
            elapsed_nanos,
            from,
            to,
            message.get_msg_type() as u64,
            message.term,
            message.index,
            message.commit,
            message.entries.len() as u64,
            fate.as_ref().map_or(u64::MAX, |(d, _)| d.as_nanos() as u64),
        ];
        for fact in facts {
            state.trace = (state.trace ^ fact).wrapping_mul(0x0000_0100_0000_01b3);
        }
        fate
    }

    fn fate(state: &mut State, from: u64, to: u64) -> Option<(Duration, NodeHandle)> {
        if state.blocked.contains(&(from, to)) {
            return None;
        }
        let handle = state.nodes.get(&to)?.clone();
        let faults = state.faults.clone();
        if faults.drop_probability > 0.0 && state.rng.gen_bool(faults.drop_probability.min(1.0)) {
            return None;
        }
        let delay = if faults.max_delay > faults.min_delay {
            state.rng.gen_range(faults.min_delay..=faults.max_delay)
        } else {
            faults.min_delay
        };
        state.delivered += 1;
        Some((delay, handle))
    }

    fn sender(&self, from: u64) -> Option<NodeHandle> {
        self.state.lock().nodes.get(&from).cloned()
    }
}

/// One member's view of the [`MemNetwork`].
struct MemTransport {
    from: u64,
    network: MemNetwork,
}

impl Transport for MemTransport {
    fn send(&self, messages: Vec<Message>) {
        for message in messages {
            let to = message.to;
            let Some((delay, handle)) = self.network.route(self.from, to, &message) else {
                if let Some(sender) = self.network.sender(self.from) {
                    sender.report_unreachable(to);
                }
                continue;
            };
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                handle.step(message);
            });
        }
    }

    fn send_snapshot(&self, message: Message, image: Bytes) {
        let to = message.to;
        let sender = self.network.sender(self.from);
        match self.network.route(self.from, to, &message) {
            None => {
                if let Some(sender) = sender {
                    sender.report_snapshot(to, false);
                }
            }
            Some((delay, handle)) => {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    handle.step_snapshot(message, image);
                    if let Some(sender) = sender {
                        sender.report_snapshot(to, true);
                    }
                });
            }
        }
    }
}
