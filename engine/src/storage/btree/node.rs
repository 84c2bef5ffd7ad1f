//! Leaf and branch nodes: entry encoding, layout checks and key search.
//!
//! After the page header:
//!
//! ```text
//! prefix_len u8 | prefix (prefix_len bytes, at most 64)
//! | hints:    count × u32 (big-endian)
//! | offsets:  count × u16 (where each entry starts)
//! | children: count × u64 (branches only)
//! | entries back to back in key order:
//!   leaf entry:   flags u8 | key_len u32 | value_len u32 | key part | value part
//!   branch entry: flags u8 | key_len u32 | key part
//! ```
//!
//! Every key of the node (for a branch: every key but entry 0's) starts
//! with `prefix`, and entry `i`'s hint is the 4 key bytes after the prefix,
//! zero-padded. Hints never decrease, so a search narrows down on the dense
//! hint array and reads only the entries whose hint equals the probe's; a
//! branch then takes the child pointer from the array beside it. That is
//! about one cache miss per node instead of one per probe. The prefix is
//! any common prefix; the writer uses the longest, up to 64 bytes, that
//! still fits the page.
//!
//! A part is the bytes themselves or, when its flag is set (leaf: bit 0 key,
//! bit 1 value; branch: bit 0 key), the u64 first page of an overflow run of
//! `len` bytes. A key is stored inline iff it is at most
//! [`MAX_INLINE_KEY`] bytes; a leaf value inline iff key part plus value
//! fit in [`MAX_INLINE_ENTRY`] bytes. So every leaf holds at least three
//! entries and every branch at least seven, and splits always make progress.
//!
//! Branch entry `i` leads to the child holding keys in `[key_i, key_{i+1})`;
//! entry 0 has an empty key and stands for the branch's own lower bound (its
//! separator in the parent). Separators are suffix-truncated: the shortest
//! prefix of the right node's first key that is above the left node's last.
//! Branches have at least two children; leaves at least one entry.

use super::page::{
    HEADER_BYTES, Header, MAX_LEVEL, PAGE_SIZE, PageKind, new_page, seal, u16_at, u32_at, u64_at,
};
use std::cmp::Ordering;

/// Longest key stored inside a node; longer keys go to overflow pages.
pub(crate) const MAX_INLINE_KEY: usize = 512;
/// Most bytes of key part plus value part stored inside a leaf entry.
pub(crate) const MAX_INLINE_ENTRY: usize = 1024;
/// Largest key or value the format can describe (the configured limits are
/// lower); lengths above it are corruption, never an allocation size.
pub(crate) const FORMAT_MAX_PART_BYTES: usize = 16 << 20;
/// Bytes of prefix, slot array and entries a node page holds.
pub(crate) const NODE_CAPACITY: usize = PAGE_SIZE - HEADER_BYTES - 1;
/// Bytes per leaf entry outside the entry itself: hint and offset.
pub(crate) const LEAF_SLOT_BYTES: usize = 6;
/// Bytes per branch entry outside the entry itself: hint, offset, child.
pub(crate) const BRANCH_SLOT_BYTES: usize = 14;
/// Longest common key prefix a node stores.
pub(crate) const MAX_PREFIX_BYTES: usize = 64;
/// Where the prefix length byte sits.
const PREFIX_LEN_AT: usize = HEADER_BYTES;
/// Fixed bytes of a leaf entry before its parts.
pub(crate) const LEAF_ENTRY_FIXED: usize = 9;
/// Fixed bytes of a branch entry before its key part.
pub(crate) const BRANCH_ENTRY_FIXED: usize = 5;

const LEAF_KEY_OVERFLOW: u8 = 1;
const LEAF_VALUE_OVERFLOW: u8 = 2;
const BRANCH_KEY_OVERFLOW: u8 = 1;

/// A run of consecutive overflow pages holding `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) page: u64,
    pub(crate) len: u32,
}

/// A key or value as stored in a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    Inline(&'a [u8]),
    Overflow(Run),
}

impl Part<'_> {
    /// Bytes the part stands for (not the bytes it takes in the node).
    pub(crate) fn len(&self) -> usize {
        match self {
            Part::Inline(bytes) => bytes.len(),
            Part::Overflow(run) => run.len as usize,
        }
    }

    /// Bytes the part takes inside the node.
    pub(crate) fn stored_len(&self) -> usize {
        match self {
            Part::Inline(bytes) => bytes.len(),
            Part::Overflow(_) => 8,
        }
    }
}

/// Bytes a key of `len` bytes takes inside a node.
pub(crate) fn key_stored_len(len: usize) -> usize {
    if len <= MAX_INLINE_KEY { len } else { 8 }
}

/// One decoded leaf entry; `raw` is its whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafEntry<'a> {
    pub(crate) key: Part<'a>,
    pub(crate) value: Part<'a>,
    pub(crate) raw: &'a [u8],
}

/// One decoded branch entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BranchEntry<'a> {
    pub(crate) child: u64,
    pub(crate) key: Part<'a>,
}

/// A checked view of a leaf or branch page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    page: &'a [u8],
    pub(crate) is_leaf: bool,
    pub(crate) level: u8,
    pub(crate) count: usize,
    prefix_len: usize,
}

/// The 4 bytes of `key` after its first `prefix_len`, zero-padded, as a
/// number that orders like the bytes.
pub(crate) fn hint_of(key: &[u8], prefix_len: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(rest) = key.get(prefix_len..) {
        let n = rest.len().min(4);
        bytes[..n].copy_from_slice(&rest[..n]);
    }
    u32::from_be_bytes(bytes)
}

/// Length of the longest common prefix of two byte strings.
pub(crate) fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn short(what: &str) -> String {
    format!("{what} runs past the end of the page")
}

fn parse_part(
    page: &[u8],
    at: usize,
    overflow: bool,
    len: u32,
) -> Result<(Part<'_>, usize), String> {
    if overflow {
        let first = u64_at(page, at).ok_or_else(|| short("overflow reference"))?;
        return Ok((Part::Overflow(Run { page: first, len }), at + 8));
    }
    let end = at.checked_add(len as usize).ok_or_else(|| short("entry"))?;
    let bytes = page.get(at..end).ok_or_else(|| short("entry"))?;
    Ok((Part::Inline(bytes), end))
}

impl<'a> Node<'a> {
    /// Reads the header fields of a node page (checksum already checked).
    pub(crate) fn parse(page: &'a [u8]) -> Result<Node<'a>, String> {
        let kind = page.get(4).copied().and_then(PageKind::from_code);
        let is_leaf = match kind {
            Some(PageKind::Leaf) => true,
            Some(PageKind::Branch) => false,
            _ => return Err("not a leaf or branch page".into()),
        };
        let prefix_len = usize::from(page.get(PREFIX_LEN_AT).copied().unwrap_or(u8::MAX));
        if prefix_len > MAX_PREFIX_BYTES {
            return Err(format!("key prefix of {prefix_len} bytes"));
        }
        Ok(Node {
            page,
            is_leaf,
            level: page.get(5).copied().unwrap_or(0),
            count: usize::from(u16_at(page, 6).unwrap_or(0)),
            prefix_len,
        })
    }

    fn hints_at(&self) -> usize {
        PREFIX_LEN_AT + 1 + self.prefix_len
    }

    fn offsets_at(&self) -> usize {
        self.hints_at() + 4 * self.count
    }

    fn children_at(&self) -> usize {
        self.offsets_at() + 2 * self.count
    }

    /// Where the first entry must start.
    fn entries_at(&self) -> usize {
        let slot_bytes = if self.is_leaf {
            LEAF_SLOT_BYTES
        } else {
            BRANCH_SLOT_BYTES
        };
        self.hints_at() + slot_bytes * self.count
    }

    fn slot(&self, index: usize) -> Result<usize, String> {
        if index >= self.count {
            return Err(format!("entry {index} of {}", self.count));
        }
        u16_at(self.page, self.offsets_at() + 2 * index)
            .map(usize::from)
            .ok_or_else(|| short("offset array"))
    }

    /// The prefix every compared key of the node starts with.
    pub(crate) fn prefix(&self) -> &'a [u8] {
        let at = PREFIX_LEN_AT + 1;
        self.page.get(at..at + self.prefix_len).unwrap_or(&[])
    }

    /// The hint of entry `index` (see the module doc).
    pub(crate) fn hint(&self, index: usize) -> Result<u32, String> {
        if index >= self.count {
            return Err(format!("entry {index} of {}", self.count));
        }
        let at = self.hints_at() + 4 * index;
        let raw = self
            .page
            .get(at..at + 4)
            .ok_or_else(|| short("hint array"))?;
        Ok(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
    }

    /// The stored key of entry `index` (a branch's entry 0 has none).
    pub(crate) fn key(&self, index: usize) -> Result<Part<'a>, String> {
        if self.is_leaf {
            self.leaf_key(index)
        } else {
            Ok(self.branch_entry(index)?.key)
        }
    }

    /// Where a search for `probe` among entries `first..count` can land,
    /// from the prefix and hints alone: every key before the returned range
    /// is below `probe`, every key from its end on is above it.
    pub(crate) fn hint_range(&self, first: usize, probe: &[u8]) -> Result<(usize, usize), String> {
        let prefix = self.prefix();
        let head = &probe[..prefix.len().min(probe.len())];
        match head.cmp(&prefix[..head.len()]) {
            Ordering::Less => return Ok((first, first)),
            Ordering::Greater => return Ok((self.count, self.count)),
            // A probe that is a proper prefix of the prefix is below every key.
            Ordering::Equal if probe.len() < prefix.len() => return Ok((first, first)),
            Ordering::Equal => {}
        }
        let wanted = hint_of(probe, prefix.len());
        let low = first
            + partition_point(self.count - first, |i| {
                Ok::<_, String>(self.hint(first + i)? < wanted)
            })?;
        let high = low
            + partition_point(self.count - low, |i| {
                Ok::<_, String>(self.hint(low + i)? <= wanted)
            })?;
        Ok((low, high))
    }

    /// The key of leaf entry `index` (cheaper than the whole entry).
    pub(crate) fn leaf_key(&self, index: usize) -> Result<Part<'a>, String> {
        let at = self.slot(index)?;
        let flags = *self.page.get(at).ok_or_else(|| short("entry"))?;
        let key_len = u32_at(self.page, at + 1).ok_or_else(|| short("entry"))?;
        Ok(parse_part(
            self.page,
            at + LEAF_ENTRY_FIXED,
            flags & LEAF_KEY_OVERFLOW != 0,
            key_len,
        )?
        .0)
    }

    /// Leaf entry `index`.
    pub(crate) fn leaf_entry(&self, index: usize) -> Result<LeafEntry<'a>, String> {
        let at = self.slot(index)?;
        let flags = *self.page.get(at).ok_or_else(|| short("entry"))?;
        let key_len = u32_at(self.page, at + 1).ok_or_else(|| short("entry"))?;
        let value_len = u32_at(self.page, at + 5).ok_or_else(|| short("entry"))?;
        let key_overflow = flags & LEAF_KEY_OVERFLOW != 0;
        let (key, next) = parse_part(self.page, at + LEAF_ENTRY_FIXED, key_overflow, key_len)?;
        let value_overflow = flags & LEAF_VALUE_OVERFLOW != 0;
        let (value, end) = parse_part(self.page, next, value_overflow, value_len)?;
        let raw = self.page.get(at..end).ok_or_else(|| short("entry"))?;
        Ok(LeafEntry { key, value, raw })
    }

    /// Branch entry `index`.
    pub(crate) fn branch_entry(&self, index: usize) -> Result<BranchEntry<'a>, String> {
        let child = self.child(index)?;
        let at = self.slot(index)?;
        let flags = *self.page.get(at).ok_or_else(|| short("entry"))?;
        let key_len = u32_at(self.page, at + 1).ok_or_else(|| short("entry"))?;
        let overflow = flags & BRANCH_KEY_OVERFLOW != 0;
        let (key, _) = parse_part(self.page, at + BRANCH_ENTRY_FIXED, overflow, key_len)?;
        Ok(BranchEntry { child, key })
    }

    /// The child page of branch entry `index`.
    pub(crate) fn child(&self, index: usize) -> Result<u64, String> {
        if self.is_leaf || index >= self.count {
            return Err(format!("child {index} of a node with {}", self.count));
        }
        u64_at(self.page, self.children_at() + 8 * index).ok_or_else(|| short("child array"))
    }

    /// Checks the whole layout: level, count, contiguous entries inside the
    /// page, flags, the inline/overflow rule, and the order of inline keys.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.is_leaf && (self.level != 0 || self.count == 0) {
            return Err(format!(
                "leaf with level {} and {} entries",
                self.level, self.count
            ));
        }
        if !self.is_leaf && (self.level == 0 || self.level > MAX_LEVEL || self.count < 2) {
            return Err(format!(
                "branch with level {} and {} children",
                self.level, self.count
            ));
        }
        let mut expected = self.entries_at();
        if expected > PAGE_SIZE {
            return Err(format!("{} slots do not fit in a page", self.count));
        }
        let mut previous: Option<&[u8]> = None;
        let mut previous_hint = 0;
        for index in 0..self.count {
            let at = self.slot(index)?;
            if at != expected {
                return Err(format!("entry {index} at offset {at}, expected {expected}"));
            }
            let (key, end) = if self.is_leaf {
                self.validate_leaf_entry(at)?
            } else {
                self.validate_branch_entry(index, at)?
            };
            self.validate_hint(index, key, &mut previous_hint)?;
            if let (Some(prev), Part::Inline(this)) = (previous, key) {
                if prev >= this {
                    return Err(format!("keys out of order at entry {index}"));
                }
            }
            previous = match key {
                Part::Inline(bytes) if self.is_leaf || index > 0 => Some(bytes),
                _ => None,
            };
            expected = end;
        }
        Ok(())
    }

    /// Hints order like the keys; inline keys start with the prefix and
    /// match their hint.
    fn validate_hint(&self, index: usize, key: Part<'a>, previous: &mut u32) -> Result<(), String> {
        let hint = self.hint(index)?;
        if !self.is_leaf && index == 0 {
            return if hint == 0 {
                Ok(())
            } else {
                Err("hint on entry 0".into())
            };
        }
        if hint < *previous {
            return Err(format!("hints out of order at entry {index}"));
        }
        *previous = hint;
        if let Part::Inline(bytes) = key {
            if !bytes.starts_with(self.prefix()) || hint != hint_of(bytes, self.prefix_len) {
                return Err(format!("key {index} does not match the prefix and hint"));
            }
        }
        Ok(())
    }

    fn validate_leaf_entry(&self, at: usize) -> Result<(Part<'a>, usize), String> {
        let flags = *self.page.get(at).ok_or_else(|| short("entry"))?;
        if flags & !(LEAF_KEY_OVERFLOW | LEAF_VALUE_OVERFLOW) != 0 {
            return Err(format!("unknown leaf entry flags {flags:#x}"));
        }
        let key_len = u32_at(self.page, at + 1).ok_or_else(|| short("entry"))?;
        let value_len = u32_at(self.page, at + 5).ok_or_else(|| short("entry"))?;
        let (key, next) = parse_part(self.page, at + LEAF_ENTRY_FIXED, flags & 1 != 0, key_len)?;
        let (value, end) = parse_part(self.page, next, flags & 2 != 0, value_len)?;
        check_key_part(key)?;
        let value_inline = key.stored_len() + value.len() <= MAX_INLINE_ENTRY;
        check_part(value, value_inline, "value")?;
        Ok((key, end))
    }

    fn validate_branch_entry(&self, index: usize, at: usize) -> Result<(Part<'a>, usize), String> {
        let child = self.child(index)?;
        let flags = *self.page.get(at).ok_or_else(|| short("entry"))?;
        let key_len = u32_at(self.page, at + 1).ok_or_else(|| short("entry"))?;
        if flags & !BRANCH_KEY_OVERFLOW != 0 {
            return Err(format!("unknown branch entry flags {flags:#x}"));
        }
        if child < super::page::FIRST_DATA_PAGE {
            return Err(format!("child pointer to meta page {child}"));
        }
        let (key, end) = parse_part(self.page, at + BRANCH_ENTRY_FIXED, flags != 0, key_len)?;
        if (index == 0) != (key.len() == 0) {
            return Err(format!(
                "branch entry {index} has a key of {} bytes",
                key.len()
            ));
        }
        check_key_part(key)?;
        Ok((key, end))
    }
}

fn check_key_part(key: Part<'_>) -> Result<(), String> {
    check_part(key, key.len() <= MAX_INLINE_KEY, "key")
}

fn check_part(part: Part<'_>, should_be_inline: bool, what: &str) -> Result<(), String> {
    match part {
        Part::Inline(_) if should_be_inline => Ok(()),
        Part::Overflow(run) if !should_be_inline => {
            if run.len as usize > FORMAT_MAX_PART_BYTES {
                return Err(format!(
                    "{what} of {} bytes is over the format limit",
                    run.len
                ));
            }
            if run.page < super::page::FIRST_DATA_PAGE {
                return Err(format!(
                    "{what} overflow run starts at meta page {}",
                    run.page
                ));
            }
            Ok(())
        }
        _ => Err(format!(
            "{what} of {} bytes stored the wrong way",
            part.len()
        )),
    }
}

/// A key or value about to be encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PartOut<'b> {
    Inline(&'b [u8]),
    Overflow(Run),
}

impl PartOut<'_> {
    fn flag_and_len(&self) -> (bool, u32) {
        match self {
            PartOut::Inline(bytes) => (false, part_len_u32(bytes.len())),
            PartOut::Overflow(run) => (true, run.len),
        }
    }

    fn put(&self, out: &mut Vec<u8>) {
        match self {
            PartOut::Inline(bytes) => out.extend_from_slice(bytes),
            PartOut::Overflow(run) => out.extend_from_slice(&run.page.to_le_bytes()),
        }
    }

    /// Bytes the part takes inside a node.
    pub(crate) fn stored_len(&self) -> usize {
        match self {
            PartOut::Inline(bytes) => bytes.len(),
            PartOut::Overflow(_) => 8,
        }
    }
}

fn part_len_u32(len: usize) -> u32 {
    assert!(
        len <= FORMAT_MAX_PART_BYTES,
        "part of {len} bytes over the format limit"
    );
    len as u32
}

/// Encodes one leaf entry.
pub(crate) fn encode_leaf_entry(key: PartOut<'_>, value: PartOut<'_>) -> Vec<u8> {
    let (key_overflow, key_len) = key.flag_and_len();
    let (value_overflow, value_len) = value.flag_and_len();
    assert_eq!(
        key_overflow,
        key_len as usize > MAX_INLINE_KEY,
        "key stored the wrong way"
    );
    let inline_fits = key.stored_len() + value_len as usize <= MAX_INLINE_ENTRY;
    assert_eq!(value_overflow, !inline_fits, "value stored the wrong way");
    let mut out = Vec::with_capacity(LEAF_ENTRY_FIXED + key.stored_len() + value.stored_len());
    out.push(
        u8::from(key_overflow) * LEAF_KEY_OVERFLOW + u8::from(value_overflow) * LEAF_VALUE_OVERFLOW,
    );
    out.extend_from_slice(&key_len.to_le_bytes());
    out.extend_from_slice(&value_len.to_le_bytes());
    key.put(&mut out);
    value.put(&mut out);
    out
}

/// Encodes one branch entry (its key; the child goes beside the hints).
pub(crate) fn encode_branch_entry(key: PartOut<'_>, out: &mut Vec<u8>) {
    let (overflow, len) = key.flag_and_len();
    assert_eq!(
        overflow,
        len as usize > MAX_INLINE_KEY,
        "separator stored the wrong way"
    );
    out.push(u8::from(overflow) * BRANCH_KEY_OVERFLOW);
    out.extend_from_slice(&len.to_le_bytes());
    key.put(out);
}

/// Lays out a node page from already encoded entries.
pub(crate) struct NodeBuilder {
    page: Vec<u8>,
    is_leaf: bool,
    prefix_len: usize,
    count: usize,
    pushed: usize,
    next: usize,
}

impl NodeBuilder {
    /// A node page for `count` entries whose compared keys all start with
    /// `prefix` (at most [`MAX_PREFIX_BYTES`]).
    pub(crate) fn new(
        is_leaf: bool,
        level: u8,
        count: usize,
        page_no: u64,
        txn: u64,
        prefix: &[u8],
    ) -> Self {
        assert!(
            count >= if is_leaf { 1 } else { 2 },
            "node with {count} entries"
        );
        assert_eq!(is_leaf, level == 0, "leaves are level 0, branches above");
        assert!(prefix.len() <= MAX_PREFIX_BYTES, "prefix too long");
        let count_u16 = u16::try_from(count).unwrap_or(u16::MAX);
        let mut page = new_page(Header {
            kind: if is_leaf {
                PageKind::Leaf
            } else {
                PageKind::Branch
            },
            level,
            count: count_u16,
            page_no,
            txn,
        });
        page[PREFIX_LEN_AT] = prefix.len() as u8;
        page[PREFIX_LEN_AT + 1..PREFIX_LEN_AT + 1 + prefix.len()].copy_from_slice(prefix);
        NodeBuilder {
            page,
            is_leaf,
            prefix_len: prefix.len(),
            count,
            pushed: 0,
            next: PREFIX_LEN_AT
                + 1
                + prefix.len()
                + count
                    * if is_leaf {
                        LEAF_SLOT_BYTES
                    } else {
                        BRANCH_SLOT_BYTES
                    },
        }
    }

    /// Appends the next leaf entry (in key order). `key_head` is the
    /// entry's key, or at least its first `prefix + 4` bytes.
    pub(crate) fn push(&mut self, entry: &[u8], key_head: &[u8]) {
        assert!(self.is_leaf, "branch entries come with a child");
        self.put(entry, key_head);
    }

    /// Appends the next branch entry and its child (the key of entry 0 is
    /// empty and its `key_head` unused).
    pub(crate) fn push_child(&mut self, child: u64, entry: &[u8], key_head: &[u8]) {
        assert!(!self.is_leaf, "leaves have no children");
        assert!(
            child >= super::page::FIRST_DATA_PAGE,
            "child {child} is a meta page"
        );
        let at = PREFIX_LEN_AT + 1 + self.prefix_len + 6 * self.count + 8 * self.pushed;
        self.page[at..at + 8].copy_from_slice(&child.to_le_bytes());
        self.put(entry, key_head);
    }

    fn put(&mut self, entry: &[u8], key_head: &[u8]) {
        assert!(self.pushed < self.count, "more entries than announced");
        let end = self.next + entry.len();
        assert!(end <= PAGE_SIZE, "node overflows its page");
        let hints_at = PREFIX_LEN_AT + 1 + self.prefix_len;
        let hint = if !self.is_leaf && self.pushed == 0 {
            0
        } else {
            let prefix = &self.page[hints_at - self.prefix_len..hints_at];
            assert!(
                key_head.starts_with(prefix),
                "every key starts with the node's prefix"
            );
            hint_of(key_head, self.prefix_len)
        };
        let offset = u16::try_from(self.next).unwrap_or(u16::MAX);
        let hint_at = hints_at + 4 * self.pushed;
        let offset_at = hints_at + 4 * self.count + 2 * self.pushed;
        self.page[hint_at..hint_at + 4].copy_from_slice(&hint.to_be_bytes());
        self.page[offset_at..offset_at + 2].copy_from_slice(&offset.to_le_bytes());
        self.page[self.next..end].copy_from_slice(entry);
        self.next = end;
        self.pushed += 1;
    }

    /// The sealed page; checks its own layout before handing it out.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        assert_eq!(self.pushed, self.count, "fewer entries than announced");
        seal(&mut self.page);
        debug_assert_eq!(Node::parse(&self.page).and_then(|n| n.validate()), Ok(()));
        self.page
    }
}

/// Length of the shortest prefix of `right` that sorts above `left`
/// (`left < right`): a separator for a split between them.
pub(crate) fn separator_len(left: &[u8], right: &[u8]) -> usize {
    assert!(left < right, "separator between keys out of order");
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    debug_assert!(common < right.len());
    common + 1
}

/// `partition_point` with a fallible predicate: the first index in
/// `0..len` where `pred` is false, given it is true for a prefix.
pub(crate) fn partition_point<E>(
    len: usize,
    mut pred: impl FnMut(usize) -> Result<bool, E>,
) -> Result<usize, E> {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = low + (high - low) / 2;
        if pred(mid)? {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    Ok(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let prefix_len = common_prefix_len(entries[0].0, entries[entries.len() - 1].0);
        let mut builder =
            NodeBuilder::new(true, 0, entries.len(), 9, 1, &entries[0].0[..prefix_len]);
        for (k, v) in entries {
            builder.push(
                &encode_leaf_entry(PartOut::Inline(k), PartOut::Inline(v)),
                k,
            );
        }
        builder.finish()
    }

    #[test]
    fn leaf_entries_round_trip() {
        let page = leaf(&[(b"a", b"1"), (b"bb", b""), (b"c", &[7u8; 1000])]);
        let node = Node::parse(&page).unwrap();
        node.validate().unwrap();
        assert!(node.is_leaf);
        assert_eq!(node.count, 3);
        let e = node.leaf_entry(1).unwrap();
        assert_eq!(e.key, Part::Inline(b"bb"));
        assert_eq!(e.value, Part::Inline(b""));
        assert_eq!(e.raw.len(), LEAF_ENTRY_FIXED + 2);
        assert_eq!(node.leaf_key(2).unwrap(), Part::Inline(b"c"));
        assert_eq!(node.leaf_entry(2).unwrap().value.len(), 1000);
        assert!(node.leaf_entry(3).is_err());
    }

    #[test]
    fn overflow_parts_round_trip() {
        let big_key = Run { page: 40, len: 600 };
        let big_value = Run {
            page: 50,
            len: 5000,
        };
        let entry = encode_leaf_entry(PartOut::Overflow(big_key), PartOut::Overflow(big_value));
        assert_eq!(entry.len(), LEAF_ENTRY_FIXED + 16);
        let mut builder = NodeBuilder::new(true, 0, 1, 3, 1, b"");
        builder.push(&entry, &[7u8; 600]);
        let page = builder.finish();
        let node = Node::parse(&page).unwrap();
        let e = node.leaf_entry(0).unwrap();
        assert_eq!(e.key, Part::Overflow(big_key));
        assert_eq!(e.value, Part::Overflow(big_value));
    }

    #[test]
    #[should_panic(expected = "value stored the wrong way")]
    fn a_value_that_fits_inline_may_not_overflow() {
        encode_leaf_entry(
            PartOut::Inline(b"k"),
            PartOut::Overflow(Run { page: 5, len: 10 }),
        );
    }

    #[test]
    fn branches_round_trip_with_an_empty_first_key() {
        let mut builder = NodeBuilder::new(false, 1, 3, 4, 1, b"");
        for (child, key) in [(10u64, &b""[..]), (11, b"m"), (12, b"t")] {
            let mut entry = Vec::new();
            encode_branch_entry(PartOut::Inline(key), &mut entry);
            builder.push_child(child, &entry, key);
        }
        let page = builder.finish();
        let node = Node::parse(&page).unwrap();
        node.validate().unwrap();
        assert_eq!(node.level, 1);
        assert_eq!(node.child(2).unwrap(), 12);
        assert_eq!(node.branch_entry(1).unwrap().key, Part::Inline(b"m"));
    }

    #[test]
    fn validation_catches_bad_layouts() {
        let good = leaf(&[(b"a", b"1"), (b"b", b"2")]);
        let check = |page: &[u8]| Node::parse(page).and_then(|n| n.validate());
        // No prefix: hints at 25, offsets at 33, entries at 37.
        let (hints, offsets) = (HEADER_BYTES + 1, HEADER_BYTES + 1 + 8);
        let entries = HEADER_BYTES + 1 + 2 * LEAF_SLOT_BYTES;
        // An offset pointing elsewhere.
        let mut bad = good.clone();
        bad[offsets + 2] += 1;
        assert!(check(&bad).unwrap_err().contains("offset"));
        // A length running off the page.
        let mut bad = good.clone();
        bad[entries + 5..entries + 9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check(&bad).is_err());
        // A key that does not match its hint.
        let mut bad = good.clone();
        bad[entries + LEAF_ENTRY_FIXED] = b'0';
        assert!(check(&bad).unwrap_err().contains("hint"));
        // Keys out of order: the first key (and its hint) becomes "c".
        let mut swapped = good.clone();
        swapped[entries + LEAF_ENTRY_FIXED] = b'c';
        swapped[hints] = b'c';
        assert!(check(&swapped).unwrap_err().contains("order"));
        // Too many slots for a page.
        let mut bad = good.clone();
        bad[6..8].copy_from_slice(&3000u16.to_le_bytes());
        assert!(check(&bad).is_err());
        // A prefix longer than the format allows.
        let mut bad = good.clone();
        bad[HEADER_BYTES] = 65;
        assert!(check(&bad).unwrap_err().contains("prefix"));
        // Unknown flags.
        let mut bad = good.clone();
        bad[entries] = 0x80;
        assert!(check(&bad).unwrap_err().contains("flags"));
    }

    #[test]
    fn prefix_and_hints_narrow_a_search_to_equal_hints() {
        let keys: [&[u8]; 5] = [
            b"user/0001",
            b"user/0002abc1",
            b"user/0002abc2",
            b"user/0003",
            b"user/00099",
        ];
        let entries: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (*k, &b"v"[..])).collect();
        let page = leaf(&entries);
        let node = Node::parse(&page).unwrap();
        node.validate().unwrap();
        assert_eq!(node.prefix(), b"user/000");
        assert_eq!(node.hint(0).unwrap(), u32::from_be_bytes(*b"1\0\0\0"));
        assert_eq!(node.hint(1).unwrap(), u32::from_be_bytes(*b"2abc"));
        assert_eq!(node.hint(4).unwrap(), u32::from_be_bytes(*b"99\0\0"));
        let range = |probe: &[u8]| node.hint_range(0, probe).unwrap();
        assert_eq!(
            range(b"user/0002abc"),
            (1, 3),
            "both keys whose hint is 2abc"
        );
        assert_eq!(range(b"user/0002abc15"), (1, 3));
        assert_eq!(range(b"user/0002"), (1, 1));
        assert_eq!(range(b"user/0002b"), (3, 3));
        assert_eq!(range(b"user/0004"), (4, 4));
        assert_eq!(range(b"user/0000"), (0, 0));
        assert_eq!(
            range(b"user/"),
            (0, 0),
            "a prefix of the prefix is below all"
        );
        assert_eq!(range(b"a"), (0, 0));
        assert_eq!(range(b"zzz"), (5, 5));
        assert_eq!(range(b"user/001"), (5, 5));
        assert_eq!(node.hint_range(2, b"user/0001").unwrap(), (2, 2));
        // Every probe lands in a range that brackets its true position.
        for probe in [
            &b"user/0002"[..],
            b"user/00021",
            b"user/0002y",
            b"user/000",
            b"user/0009",
        ] {
            let (low, high) = range(probe);
            let position = keys.partition_point(|k| *k < probe);
            assert!(low <= position && position <= high, "{probe:?}");
        }
    }

    #[test]
    fn separators_are_the_shortest_prefix_between() {
        let sep = |a: &[u8], b: &'static [u8]| &b[..separator_len(a, b)];
        assert_eq!(sep(b"apple", b"banana"), b"b");
        assert_eq!(sep(b"abc", b"abd"), b"abd");
        assert_eq!(sep(b"ab", b"abc"), b"abc");
        assert_eq!(sep(b"", b"a"), b"a");
        assert_eq!(sep(b"key0001", b"key0002zzz"), b"key0002");
        let long_a = [vec![1u8; 700], vec![1]].concat();
        let long_b = [vec![1u8; 700], vec![2, 9, 9]].concat();
        assert_eq!(separator_len(&long_a, &long_b), 701);
    }

    #[test]
    fn partition_point_matches_std() {
        let v = [1, 3, 3, 5, 8, 13];
        for probe in 0..15 {
            let ours = partition_point::<()>(v.len(), |i| Ok(v[i] < probe)).unwrap();
            assert_eq!(ours, v.partition_point(|&x| x < probe));
        }
        assert_eq!(
            partition_point(4, |i| if i == 2 { Err("boom") } else { Ok(true) }),
            Err("boom")
        );
    }
}
