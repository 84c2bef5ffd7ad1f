//! Linearizable reads: batched into ReadIndex rounds, served once applied.
//!
//! At most one round is in flight; reads that arrive meanwhile wait for the
//! next round, so any number of concurrent reads share one round, as etcd's
//! read loop does. raft-rs drops a round silently when there is no leader or
//! the leader has not committed in its term yet, so an unconfirmed round is
//! re-sent (with a fresh context) after `retry_after`; the reads keep their own
//! deadlines.

use std::collections::VecDeque;
use tokio::time::{Duration, Instant};

/// A read waiting for its ReadIndex round, then for the applied index.
#[derive(Debug)]
struct Waiting<R> {
    read: R,
    deadline: Instant,
}

/// The state of linearizable reads of one node.
#[derive(Debug)]
pub struct ReadQueue<R> {
    next_context: u64,
    /// Reads not yet part of a round.
    queued: Vec<Waiting<R>>,
    /// The round in flight: its context, when it was sent, its reads.
    in_flight: Option<(u64, Instant, Vec<Waiting<R>>)>,
    /// Confirmed reads with the index they wait for, in confirmation order
    /// (so in non-decreasing index order).
    confirmed: VecDeque<(u64, Waiting<R>)>,
    retry_after: Duration,
}

impl<R> ReadQueue<R> {
    /// An empty queue that re-sends an unconfirmed round after `retry_after`.
    pub fn new(retry_after: Duration) -> Self {
        ReadQueue {
            next_context: 1,
            queued: Vec::new(),
            in_flight: None,
            confirmed: VecDeque::new(),
            retry_after,
        }
    }

    /// Reads waiting in any stage.
    pub fn len(&self) -> usize {
        self.queued.len()
            + self.in_flight.as_ref().map_or(0, |(_, _, r)| r.len())
            + self.confirmed.len()
    }

    /// Whether no read is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a read that must be served by `deadline`.
    pub fn push(&mut self, read: R, deadline: Instant) {
        self.queued.push(Waiting { read, deadline });
    }

    /// The context of a round to send now, if one is due: reads are queued
    /// and no round is in flight, or the round in flight is overdue (its
    /// reads are folded into the new round).
    pub fn round_to_send(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some((_, sent, _)) = &self.in_flight {
            if now.duration_since(*sent) < self.retry_after {
                return None;
            }
            if let Some((_, _, reads)) = self.in_flight.take() {
                self.queued.extend(reads);
            }
        }
        if self.queued.is_empty() {
            return None;
        }
        let context = self.next_context;
        self.next_context += 1;
        self.in_flight = Some((context, now, std::mem::take(&mut self.queued)));
        Some(context.to_be_bytes().to_vec())
    }

    /// Gives up on the round in flight (leadership changed): its reads join
    /// the next round, which may be sent at once.
    pub fn abandon_round(&mut self) {
        if let Some((_, _, reads)) = self.in_flight.take() {
            self.queued.extend(reads);
        }
    }

    /// raft confirmed the round with `context` at commit index `index`.
    /// Unknown contexts (an old round superseded by a retry) are ignored.
    pub fn confirm(&mut self, context: &[u8], index: u64) {
        let matches = matches!(&self.in_flight, Some((c, _, _)) if c.to_be_bytes() == context);
        if !matches {
            return;
        }
        if let Some((_, _, reads)) = self.in_flight.take() {
            self.confirmed.extend(reads.into_iter().map(|w| (index, w)));
        }
    }

    /// Reads that may be served now that `applied` is applied.
    pub fn servable(&mut self, applied: u64) -> Vec<R> {
        let mut out = Vec::new();
        while self
            .confirmed
            .front()
            .is_some_and(|(index, _)| *index <= applied)
        {
            if let Some((_, w)) = self.confirmed.pop_front() {
                out.push(w.read);
            }
        }
        out
    }

    /// Reads whose deadline has passed, removed from every stage.
    pub fn expired(&mut self, now: Instant) -> Vec<R> {
        let mut out = Vec::new();
        let mut keep = |w: Waiting<R>, kept: &mut Vec<Waiting<R>>| {
            if w.deadline <= now {
                out.push(w.read);
            } else {
                kept.push(w);
            }
        };
        let mut queued = Vec::new();
        for w in std::mem::take(&mut self.queued) {
            keep(w, &mut queued);
        }
        self.queued = queued;
        if let Some((c, sent, reads)) = self.in_flight.take() {
            let mut kept = Vec::new();
            for w in reads {
                keep(w, &mut kept);
            }
            self.in_flight = Some((c, sent, kept));
        }
        let mut confirmed = VecDeque::new();
        for (index, w) in std::mem::take(&mut self.confirmed) {
            if w.deadline <= now {
                out.push(w.read);
            } else {
                confirmed.push_back((index, w));
            }
        }
        self.confirmed = confirmed;
        out
    }

    /// Every waiting read, removed (the node is stopping).
    pub fn drain(&mut self) -> Vec<R> {
        let mut out: Vec<R> = self.queued.drain(..).map(|w| w.read).collect();
        if let Some((_, _, reads)) = self.in_flight.take() {
            out.extend(reads.into_iter().map(|w| w.read));
        }
        out.extend(self.confirmed.drain(..).map(|(_, w)| w.read));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_reads_share_one_round() {
        let mut q = ReadQueue::new(Duration::from_millis(500));
        let now = Instant::now();
        let deadline = now + Duration::from_secs(5);
        q.push("a", deadline);
        q.push("b", deadline);
        let ctx = q.round_to_send(now).unwrap();
        q.push("c", deadline);
        assert_eq!(q.round_to_send(now), None, "one round at a time");
        q.confirm(&ctx, 10);
        assert_eq!(q.servable(9), Vec::<&str>::new());
        assert_eq!(q.servable(10), vec!["a", "b"]);
        let next = q.round_to_send(now).unwrap();
        assert_ne!(next, ctx, "every round has its own context");
        q.confirm(&ctx, 99);
        assert_eq!(
            q.servable(100),
            Vec::<&str>::new(),
            "a stale confirm is ignored"
        );
        q.confirm(&next, 12);
        assert_eq!(q.servable(12), vec!["c"]);
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_round_is_resent_and_deadlines_expire_reads() {
        let mut q = ReadQueue::new(Duration::from_millis(500));
        let start = Instant::now();
        q.push(1, start + Duration::from_millis(700));
        q.push(2, start + Duration::from_secs(5));
        let first = q.round_to_send(start).unwrap();
        assert_eq!(q.round_to_send(start + Duration::from_millis(499)), None);
        let retry = q.round_to_send(start + Duration::from_millis(500)).unwrap();
        assert_ne!(first, retry);
        assert_eq!(q.expired(start + Duration::from_millis(700)), vec![1]);
        q.confirm(&first, 3);
        assert_eq!(q.len(), 1, "the superseded round's confirm does nothing");
        q.confirm(&retry, 3);
        assert_eq!(q.servable(3), vec![2]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_round_is_replaced_at_once() {
        let mut q = ReadQueue::new(Duration::from_secs(60));
        let now = Instant::now();
        q.push("r", now + Duration::from_secs(5));
        let first = q.round_to_send(now).unwrap();
        q.abandon_round();
        let second = q.round_to_send(now).unwrap();
        assert_ne!(first, second);
        q.confirm(&first, 1);
        assert_eq!(q.servable(1), Vec::<&str>::new());
        q.confirm(&second, 1);
        assert_eq!(q.servable(1), vec!["r"]);
    }
}
