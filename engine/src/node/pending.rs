//! Client requests this member proposed, waiting for their entries to apply.

use std::collections::BTreeMap;
use tokio::time::Instant;

/// Responders of proposed requests, keyed by request id, with deadlines.
#[derive(Debug)]
pub struct PendingRequests<T> {
    next_id: u64,
    waiting: BTreeMap<u64, (T, Instant)>,
}

impl<T> PendingRequests<T> {
    /// An empty registry whose ids start at `first_id`: pick it at random per
    /// start, so an entry proposed before a restart can never be mistaken for
    /// a request made after it.
    pub fn new(first_id: u64) -> Self {
        PendingRequests {
            next_id: first_id,
            waiting: BTreeMap::new(),
        }
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Registers a responder; returns the id its entry must carry.
    pub fn register(&mut self, responder: T, deadline: Instant) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.waiting.insert(id, (responder, deadline));
        id
    }

    /// Takes the responder of `id`, if it is still waiting.
    pub fn take(&mut self, id: u64) -> Option<T> {
        self.waiting.remove(&id).map(|(t, _)| t)
    }

    /// Responders whose deadline passed, removed.
    pub fn expired(&mut self, now: Instant) -> Vec<T> {
        let ids: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter().filter_map(|id| self.take(id)).collect()
    }

    /// Every responder, removed.
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.waiting)
            .into_values()
            .map(|(t, _)| t)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn requests_complete_once_or_expire() {
        let mut p = PendingRequests::new(u64::MAX);
        let now = Instant::now();
        let a = p.register("a", now + Duration::from_secs(1));
        let b = p.register("b", now + Duration::from_secs(3));
        assert_ne!(a, b, "ids stay unique across wrap-around");
        assert_eq!(p.take(a), Some("a"));
        assert_eq!(p.take(a), None);
        assert_eq!(p.expired(now + Duration::from_secs(2)), Vec::<&str>::new());
        assert_eq!(p.expired(now + Duration::from_secs(3)), vec!["b"]);
        assert!(p.is_empty());
    }
}
