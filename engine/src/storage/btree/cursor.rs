//! Range scans: a cursor that walks leaves forward or backward.
//!
//! The cursor keeps the path from the root to the current leaf as a stack of
//! (page, index) frames and moves to the neighbouring leaf through the
//! nearest ancestor that has one. Keys and values come out as `Bytes` that
//! share the mapping when they are stored inline.

use super::error::BTreeResult;
use super::page::MAX_LEVEL;
use super::view::Snapshot;
use bytes::Bytes;
use std::ops::Bound;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
struct Frame {
    page: u64,
    index: usize,
    count: usize,
    level: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Running,
    Done,
}

fn owned(bound: Bound<&[u8]>) -> Bound<Bytes> {
    bound.map(Bytes::copy_from_slice)
}

/// Iterator over `(key, value)` pairs of one tree of a [`super::ReadView`];
/// yields at most one error, then ends.
#[derive(Debug)]
pub struct RangeIter {
    snap: Arc<Snapshot>,
    root: u64,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    reverse: bool,
    remaining: Option<usize>,
    stack: Vec<Frame>,
    state: State,
}

impl RangeIter {
    pub(crate) fn new(
        snap: Arc<Snapshot>,
        root: u64,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        limit: Option<usize>,
    ) -> RangeIter {
        RangeIter {
            snap,
            root,
            lower: owned(lower),
            upper: owned(upper),
            reverse,
            remaining: limit,
            stack: Vec::new(),
            state: State::Start,
        }
    }

    /// Pushes a frame for `page` positioned by `edge`; returns the child to
    /// descend into, or None at a leaf.
    fn push(
        &mut self,
        page: u64,
        parent_level: Option<u8>,
        edge: Edge<'_>,
    ) -> BTreeResult<Option<u64>> {
        let snap = &*self.snap;
        let node = match parent_level {
            Some(level) => snap.child_node(page, level)?,
            None => snap.node(page)?,
        };
        if self.stack.len() > usize::from(MAX_LEVEL) {
            return Err(snap.corrupt(page, "tree deeper than the format allows"));
        }
        let index = match edge {
            Edge::Leftmost => 0,
            Edge::Rightmost => node.count - 1,
            Edge::Key(key, strict) if node.is_leaf => {
                snap.leaf_lower_bound(page, &node, key, strict)?
            }
            Edge::Key(key, _) => snap.branch_index(page, &node, key)?,
        };
        let child = if node.is_leaf {
            None
        } else {
            Some(snap.at(page, node.child(index))?)
        };
        self.stack.push(Frame {
            page,
            index,
            count: node.count,
            level: node.level,
        });
        Ok(child)
    }

    /// Descends from `page` to a leaf, positioning each frame by `edge`.
    fn descend(
        &mut self,
        mut page: u64,
        mut parent_level: Option<u8>,
        edge: Edge<'_>,
    ) -> BTreeResult<()> {
        while let Some(child) = self.push(page, parent_level, edge)? {
            parent_level = self.stack.last().map(|frame| frame.level);
            page = child;
        }
        Ok(())
    }

    fn seek(&mut self) -> BTreeResult<()> {
        self.stack.clear();
        if self.root == 0 {
            return Ok(());
        }
        let bound = if self.reverse {
            self.upper.clone()
        } else {
            self.lower.clone()
        };
        match (&bound, self.reverse) {
            (Bound::Unbounded, false) => self.descend(self.root, None, Edge::Leftmost)?,
            (Bound::Unbounded, true) => self.descend(self.root, None, Edge::Rightmost)?,
            // Forward: first key >= k (> k if excluded).
            (Bound::Included(key), false) => {
                self.descend(self.root, None, Edge::Key(key, false))?
            }
            (Bound::Excluded(key), false) => self.descend(self.root, None, Edge::Key(key, true))?,
            // Reverse: last key <= k (< k if excluded) is one before the
            // first key > k (>= k).
            (Bound::Included(key), true) => self.descend(self.root, None, Edge::Key(key, true))?,
            (Bound::Excluded(key), true) => self.descend(self.root, None, Edge::Key(key, false))?,
        }
        let Some(leaf) = self.stack.last().copied() else {
            return Ok(());
        };
        if self.reverse {
            // Rightmost already points at the last entry; a keyed seek points
            // one past the wanted entry, maybe past the start of this leaf.
            if !matches!(bound, Bound::Unbounded) {
                self.step_back()?;
            }
        } else if leaf.index == leaf.count {
            self.step_forward_leaf()?;
        }
        Ok(())
    }

    /// Moves to the first entry of the next leaf (stack empty at the end).
    fn step_forward_leaf(&mut self) -> BTreeResult<()> {
        self.stack.pop();
        while let Some(top) = self.stack.last_mut() {
            top.index += 1;
            if top.index < top.count {
                let top = *top;
                let node = self.snap.node(top.page)?;
                let child = self.snap.at(top.page, node.child(top.index))?;
                return self.descend(child, Some(top.level), Edge::Leftmost);
            }
            self.stack.pop();
        }
        Ok(())
    }

    /// Moves to the previous entry (stack empty before the first).
    fn step_back(&mut self) -> BTreeResult<()> {
        if let Some(leaf) = self.stack.last_mut() {
            if leaf.index > 0 {
                leaf.index -= 1;
                return Ok(());
            }
        }
        self.stack.pop();
        while let Some(top) = self.stack.last_mut() {
            if top.index > 0 {
                top.index -= 1;
                let top = *top;
                let node = self.snap.node(top.page)?;
                let child = self.snap.at(top.page, node.child(top.index))?;
                return self.descend(child, Some(top.level), Edge::Rightmost);
            }
            self.stack.pop();
        }
        Ok(())
    }

    fn step(&mut self) -> BTreeResult<()> {
        if self.reverse {
            return self.step_back();
        }
        if let Some(leaf) = self.stack.last_mut() {
            leaf.index += 1;
            if leaf.index < leaf.count {
                return Ok(());
            }
        }
        self.step_forward_leaf()
    }

    /// Whether `key` is past the far end of the range.
    fn beyond(&self, key: &[u8]) -> bool {
        if self.reverse {
            match &self.lower {
                Bound::Included(low) => key < &low[..],
                Bound::Excluded(low) => key <= &low[..],
                Bound::Unbounded => false,
            }
        } else {
            match &self.upper {
                Bound::Included(high) => key > &high[..],
                Bound::Excluded(high) => key >= &high[..],
                Bound::Unbounded => false,
            }
        }
    }

    fn advance(&mut self) -> BTreeResult<Option<(Bytes, Bytes)>> {
        if self.state == State::Start {
            self.state = State::Running;
            self.seek()?;
        }
        let Some(leaf) = self.stack.last().copied() else {
            return Ok(None);
        };
        let node = self.snap.node(leaf.page)?;
        let entry = self.snap.at(leaf.page, node.leaf_entry(leaf.index))?;
        let key = self.snap.part_bytes(entry.key)?;
        if self.beyond(&key) {
            return Ok(None);
        }
        let value = self.snap.part_bytes(entry.value)?;
        self.step()?;
        Ok(Some((key, value)))
    }
}

#[derive(Clone, Copy)]
enum Edge<'k> {
    Leftmost,
    Rightmost,
    Key(&'k [u8], bool),
}

impl Iterator for RangeIter {
    type Item = BTreeResult<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Done || self.remaining == Some(0) {
            self.state = State::Done;
            return None;
        }
        match self.advance() {
            Ok(Some(item)) => {
                if let Some(remaining) = &mut self.remaining {
                    *remaining -= 1;
                }
                Some(Ok(item))
            }
            Ok(None) => {
                self.state = State::Done;
                None
            }
            Err(err) => {
                self.state = State::Done;
                Some(Err(err))
            }
        }
    }
}
