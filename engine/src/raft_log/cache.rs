//! The most recent entries, in memory, bounded in bytes: followers that are
//! nearly caught up are served without reading the WAL.

use raft::eraftpb::Entry;
use std::collections::VecDeque;

/// A contiguous run of the newest entries.
#[derive(Debug)]
pub struct EntryCache {
    entries: VecDeque<Entry>,
    bytes: usize,
    max_bytes: usize,
}

fn size(entry: &Entry) -> usize {
    entry.data.len() + entry.context.len() + 32
}

impl EntryCache {
    /// An empty cache holding at most `max_bytes` of entries.
    pub fn new(max_bytes: usize) -> Self {
        EntryCache {
            entries: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    fn first(&self) -> Option<u64> {
        self.entries.front().map(|e| e.index)
    }

    /// Adds entries that were just appended to the log (replacing cached
    /// entries from the first one's index on).
    pub fn append(&mut self, new: &[Entry]) {
        let Some(start) = new.first().map(|e| e.index) else {
            return;
        };
        match self.first() {
            Some(first) if start >= first && start <= first + self.entries.len() as u64 => {
                while self.entries.back().is_some_and(|e| e.index >= start) {
                    if let Some(e) = self.entries.pop_back() {
                        self.bytes -= size(&e);
                    }
                }
            }
            _ => self.clear(),
        }
        for entry in new {
            self.bytes += size(entry);
            self.entries.push_back(entry.clone());
        }
        while self.bytes > self.max_bytes && self.entries.len() > 1 {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= size(&e);
            }
        }
    }

    /// Entries `low..high` if all are cached, limited to `max_size` bytes of
    /// data (at least one entry).
    pub fn get(&self, low: u64, high: u64, max_size: Option<u64>) -> Option<Vec<Entry>> {
        let first = self.first()?;
        let last = first + self.entries.len() as u64;
        if low < first || high > last || low >= high {
            return None;
        }
        let mut out = Vec::new();
        let mut total = 0u64;
        for entry in self
            .entries
            .range((low - first) as usize..(high - first) as usize)
        {
            total += (entry.data.len() + entry.context.len()) as u64;
            if !out.is_empty() && max_size.is_some_and(|m| total > m) {
                break;
            }
            out.push(entry.clone());
        }
        Some(out)
    }

    /// The term of a cached entry.
    pub fn term(&self, index: u64) -> Option<u64> {
        let first = self.first()?;
        let i = index.checked_sub(first)?;
        self.entries.get(usize::try_from(i).ok()?).map(|e| e.term)
    }

    /// Drops entries before `keep_from`.
    pub fn compact(&mut self, keep_from: u64) {
        while self.first().is_some_and(|f| f < keep_from) {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= size(&e);
            }
        }
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}
