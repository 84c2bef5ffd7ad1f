//! A run's readable timeline: faults, lifecycle events, elections, client
//! operations, each stamped with simulated time since the seed started.

use crate::history::Nanos;
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::time::Instant;

/// A shared, append-only list of timestamped lines.
#[derive(Clone)]
pub struct Timeline {
    epoch: Instant,
    lines: Arc<Mutex<Vec<(Nanos, String)>>>,
}

impl Timeline {
    /// A timeline whose zero is now.
    pub fn new() -> Timeline {
        Timeline {
            epoch: Instant::now(),
            lines: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Simulated nanoseconds since the start.
    pub fn now(&self) -> Nanos {
        Instant::now().duration_since(self.epoch).as_nanos() as Nanos
    }

    /// Records `line` at the current time.
    pub fn event(&self, line: impl Into<String>) {
        let at = self.now();
        self.lines.lock().push((at, line.into()));
    }

    /// Every line so far, formatted `[  12.345s] line`.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .iter()
            .map(|(at, line)| format!("[{:>9.3}s] {line}", *at as f64 / 1e9))
            .collect()
    }
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}
