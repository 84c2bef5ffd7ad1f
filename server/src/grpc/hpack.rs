//! HPACK (RFC 7541) header block decoding and literal encoding: just what
//! the client-header fix-up under h2 needs ([`super::header_fix`]). The
//! decoder keeps the connection's dynamic table as the client's encoder
//! does; the encoder writes literals without indexing and without Huffman
//! coding, so whoever decodes its output needs no table at all. Every
//! length and index is checked: malformed input is an error, never a panic
//! or an unbounded allocation.

use std::collections::VecDeque;

/// Why a header block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hpack: {0}")]
pub struct HpackError(pub &'static str);

/// One decoded header field.
pub type Field = (Vec<u8>, Vec<u8>);

/// RFC 7541 Appendix A: the static table (index 1 is the first entry).
const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// RFC 7541 Appendix B: each byte's Huffman code (right-aligned) and its
/// length in bits. The end-of-string symbol (256) is thirty 1 bits.
const HUFFMAN: [(u32, u8); 256] = [
    (0x1ff8, 13),
    (0x7fffd8, 23),
    (0xfffffe2, 28),
    (0xfffffe3, 28),
    (0xfffffe4, 28),
    (0xfffffe5, 28),
    (0xfffffe6, 28),
    (0xfffffe7, 28),
    (0xfffffe8, 28),
    (0xffffea, 24),
    (0x3ffffffc, 30),
    (0xfffffe9, 28),
    (0xfffffea, 28),
    (0x3ffffffd, 30),
    (0xfffffeb, 28),
    (0xfffffec, 28),
    (0xfffffed, 28),
    (0xfffffee, 28),
    (0xfffffef, 28),
    (0xffffff0, 28),
    (0xffffff1, 28),
    (0xffffff2, 28),
    (0x3ffffffe, 30),
    (0xffffff3, 28),
    (0xffffff4, 28),
    (0xffffff5, 28),
    (0xffffff6, 28),
    (0xffffff7, 28),
    (0xffffff8, 28),
    (0xffffff9, 28),
    (0xffffffa, 28),
    (0xffffffb, 28),
    (0x14, 6),
    (0x3f8, 10),
    (0x3f9, 10),
    (0xffa, 12),
    (0x1ff9, 13),
    (0x15, 6),
    (0xf8, 8),
    (0x7fa, 11),
    (0x3fa, 10),
    (0x3fb, 10),
    (0xf9, 8),
    (0x7fb, 11),
    (0xfa, 8),
    (0x16, 6),
    (0x17, 6),
    (0x18, 6),
    (0x0, 5),
    (0x1, 5),
    (0x2, 5),
    (0x19, 6),
    (0x1a, 6),
    (0x1b, 6),
    (0x1c, 6),
    (0x1d, 6),
    (0x1e, 6),
    (0x1f, 6),
    (0x5c, 7),
    (0xfb, 8),
    (0x7ffc, 15),
    (0x20, 6),
    (0xffb, 12),
    (0x3fc, 10),
    (0x1ffa, 13),
    (0x21, 6),
    (0x5d, 7),
    (0x5e, 7),
    (0x5f, 7),
    (0x60, 7),
    (0x61, 7),
    (0x62, 7),
    (0x63, 7),
    (0x64, 7),
    (0x65, 7),
    (0x66, 7),
    (0x67, 7),
    (0x68, 7),
    (0x69, 7),
    (0x6a, 7),
    (0x6b, 7),
    (0x6c, 7),
    (0x6d, 7),
    (0x6e, 7),
    (0x6f, 7),
    (0x70, 7),
    (0x71, 7),
    (0x72, 7),
    (0xfc, 8),
    (0x73, 7),
    (0xfd, 8),
    (0x1ffb, 13),
    (0x7fff0, 19),
    (0x1ffc, 13),
    (0x3ffc, 14),
    (0x22, 6),
    (0x7ffd, 15),
    (0x3, 5),
    (0x23, 6),
    (0x4, 5),
    (0x24, 6),
    (0x5, 5),
    (0x25, 6),
    (0x26, 6),
    (0x27, 6),
    (0x6, 5),
    (0x74, 7),
    (0x75, 7),
    (0x28, 6),
    (0x29, 6),
    (0x2a, 6),
    (0x7, 5),
    (0x2b, 6),
    (0x76, 7),
    (0x2c, 6),
    (0x8, 5),
    (0x9, 5),
    (0x2d, 6),
    (0x77, 7),
    (0x78, 7),
    (0x79, 7),
    (0x7a, 7),
    (0x7b, 7),
    (0x7ffe, 15),
    (0x7fc, 11),
    (0x3ffd, 14),
    (0x1ffd, 13),
    (0xffffffc, 28),
    (0xfffe6, 20),
    (0x3fffd2, 22),
    (0xfffe7, 20),
    (0xfffe8, 20),
    (0x3fffd3, 22),
    (0x3fffd4, 22),
    (0x3fffd5, 22),
    (0x7fffd9, 23),
    (0x3fffd6, 22),
    (0x7fffda, 23),
    (0x7fffdb, 23),
    (0x7fffdc, 23),
    (0x7fffdd, 23),
    (0x7fffde, 23),
    (0xffffeb, 24),
    (0x7fffdf, 23),
    (0xffffec, 24),
    (0xffffed, 24),
    (0x3fffd7, 22),
    (0x7fffe0, 23),
    (0xffffee, 24),
    (0x7fffe1, 23),
    (0x7fffe2, 23),
    (0x7fffe3, 23),
    (0x7fffe4, 23),
    (0x1fffdc, 21),
    (0x3fffd8, 22),
    (0x7fffe5, 23),
    (0x3fffd9, 22),
    (0x7fffe6, 23),
    (0x7fffe7, 23),
    (0xffffef, 24),
    (0x3fffda, 22),
    (0x1fffdd, 21),
    (0xfffe9, 20),
    (0x3fffdb, 22),
    (0x3fffdc, 22),
    (0x7fffe8, 23),
    (0x7fffe9, 23),
    (0x1fffde, 21),
    (0x7fffea, 23),
    (0x3fffdd, 22),
    (0x3fffde, 22),
    (0xfffff0, 24),
    (0x1fffdf, 21),
    (0x3fffdf, 22),
    (0x7fffeb, 23),
    (0x7fffec, 23),
    (0x1fffe0, 21),
    (0x1fffe1, 21),
    (0x3fffe0, 22),
    (0x1fffe2, 21),
    (0x7fffed, 23),
    (0x3fffe1, 22),
    (0x7fffee, 23),
    (0x7fffef, 23),
    (0xfffea, 20),
    (0x3fffe2, 22),
    (0x3fffe3, 22),
    (0x3fffe4, 22),
    (0x7ffff0, 23),
    (0x3fffe5, 22),
    (0x3fffe6, 22),
    (0x7ffff1, 23),
    (0x3ffffe0, 26),
    (0x3ffffe1, 26),
    (0xfffeb, 20),
    (0x7fff1, 19),
    (0x3fffe7, 22),
    (0x7ffff2, 23),
    (0x3fffe8, 22),
    (0x1ffffec, 25),
    (0x3ffffe2, 26),
    (0x3ffffe3, 26),
    (0x3ffffe4, 26),
    (0x7ffffde, 27),
    (0x7ffffdf, 27),
    (0x3ffffe5, 26),
    (0xfffff1, 24),
    (0x1ffffed, 25),
    (0x7fff2, 19),
    (0x1fffe3, 21),
    (0x3ffffe6, 26),
    (0x7ffffe0, 27),
    (0x7ffffe1, 27),
    (0x3ffffe7, 26),
    (0x7ffffe2, 27),
    (0xfffff2, 24),
    (0x1fffe4, 21),
    (0x1fffe5, 21),
    (0x3ffffe8, 26),
    (0x3ffffe9, 26),
    (0xffffffd, 28),
    (0x7ffffe3, 27),
    (0x7ffffe4, 27),
    (0x7ffffe5, 27),
    (0xfffec, 20),
    (0xfffff3, 24),
    (0xfffed, 20),
    (0x1fffe6, 21),
    (0x3fffe9, 22),
    (0x1fffe7, 21),
    (0x1fffe8, 21),
    (0x7ffff3, 23),
    (0x3fffea, 22),
    (0x3fffeb, 22),
    (0x1ffffee, 25),
    (0x1ffffef, 25),
    (0xfffff4, 24),
    (0xfffff5, 24),
    (0x3ffffea, 26),
    (0x7ffff4, 23),
    (0x3ffffeb, 26),
    (0x7ffffe6, 27),
    (0x3ffffec, 26),
    (0x3ffffed, 26),
    (0x7ffffe7, 27),
    (0x7ffffe8, 27),
    (0x7ffffe9, 27),
    (0x7ffffea, 27),
    (0x7ffffeb, 27),
    (0xffffffe, 28),
    (0x7ffffec, 27),
    (0x7ffffed, 27),
    (0x7ffffee, 27),
    (0x7ffffef, 27),
    (0x7fffff0, 27),
    (0x3ffffee, 26),
];

/// Bytes a dynamic table entry counts for (RFC 7541 section 4.1).
fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + 32
}

/// Decodes header blocks, keeping the dynamic table between them.
#[derive(Debug)]
pub struct Decoder {
    dynamic: VecDeque<Field>,
    size: usize,
    max_size: usize,
    /// The largest table size the client may ask for (what the server
    /// advertised as SETTINGS_HEADER_TABLE_SIZE).
    limit: usize,
    /// Largest decoded header list accepted, in bytes.
    max_list_bytes: usize,
    huffman: HuffmanTree,
}

impl Decoder {
    /// A decoder whose table may grow to `table_limit` bytes, refusing a
    /// header list over `max_list_bytes`.
    pub fn new(table_limit: usize, max_list_bytes: usize) -> Decoder {
        Decoder {
            dynamic: VecDeque::new(),
            size: 0,
            max_size: table_limit,
            limit: table_limit,
            max_list_bytes,
            huffman: HuffmanTree::new(),
        }
    }

    /// Decodes one complete header block.
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, HpackError> {
        let mut fields = Vec::new();
        let mut list_bytes = 0usize;
        let mut input = Input {
            bytes: block,
            at: 0,
        };
        let mut fields_seen = false;
        while let Some(first) = input.peek() {
            let field = if first & 0x80 != 0 {
                let index = input.integer(7)?;
                self.lookup(index)?
            } else if first & 0x40 != 0 {
                let field = self.literal(&mut input, 6)?;
                self.insert(field.clone());
                field
            } else if first & 0x20 != 0 {
                if fields_seen {
                    return Err(HpackError("table size update after a field"));
                }
                let size = input.integer(5)?;
                if size > self.limit {
                    return Err(HpackError("table size update over the limit"));
                }
                self.max_size = size;
                self.evict();
                continue;
            } else {
                // Without indexing (0000) or never indexed (0001).
                self.literal(&mut input, 4)?
            };
            fields_seen = true;
            list_bytes += entry_size(&field.0, &field.1);
            if list_bytes > self.max_list_bytes {
                return Err(HpackError("header list too large"));
            }
            fields.push(field);
        }
        Ok(fields)
    }

    fn lookup(&self, index: usize) -> Result<Field, HpackError> {
        match index {
            0 => Err(HpackError("index 0")),
            1..=61 => {
                let (name, value) = STATIC_TABLE[index - 1];
                Ok((name.as_bytes().to_vec(), value.as_bytes().to_vec()))
            }
            _ => self
                .dynamic
                .get(index - 62)
                .cloned()
                .ok_or(HpackError("index beyond the tables")),
        }
    }

    fn literal(&self, input: &mut Input<'_>, prefix_bits: u8) -> Result<Field, HpackError> {
        let index = input.integer(prefix_bits)?;
        let name = if index == 0 {
            input.string(&self.huffman)?
        } else {
            self.lookup(index)?.0
        };
        let value = input.string(&self.huffman)?;
        Ok((name, value))
    }

    fn insert(&mut self, field: Field) {
        let size = entry_size(&field.0, &field.1);
        if size > self.max_size {
            // An entry larger than the table empties it (section 4.4).
            self.dynamic.clear();
            self.size = 0;
            return;
        }
        self.size += size;
        self.dynamic.push_front(field);
        self.evict();
    }

    fn evict(&mut self) {
        while self.size > self.max_size {
            match self.dynamic.pop_back() {
                Some((name, value)) => self.size -= entry_size(&name, &value),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }
}

/// A cursor over a header block.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, HpackError> {
        let byte = self.peek().ok_or(HpackError("block ends inside a field"))?;
        self.at += 1;
        Ok(byte)
    }

    /// An integer with an N-bit prefix (section 5.1), at most 2^28.
    fn integer(&mut self, prefix_bits: u8) -> Result<usize, HpackError> {
        let mask = (1u16 << prefix_bits) as u8 - 1;
        let mut value = usize::from(self.next()? & mask);
        if value < usize::from(mask) {
            return Ok(value);
        }
        let mut shift = 0u32;
        loop {
            let byte = self.next()?;
            value += usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 21 {
                return Err(HpackError("integer too large"));
            }
        }
    }

    /// A string literal (section 5.2), Huffman-coded or raw.
    fn string(&mut self, huffman: &HuffmanTree) -> Result<Vec<u8>, HpackError> {
        let coded = self
            .peek()
            .ok_or(HpackError("block ends before a string"))?
            & 0x80
            != 0;
        let length = self.integer(7)?;
        let end = self
            .at
            .checked_add(length)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(HpackError("string longer than the block"))?;
        let raw = &self.bytes[self.at..end];
        self.at = end;
        if coded {
            huffman.decode(raw)
        } else {
            Ok(raw.to_vec())
        }
    }
}

/// The Huffman code as a binary tree: node `i` has children `2i+1`-style
/// indices stored explicitly; leaves hold a symbol.
#[derive(Debug)]
struct HuffmanTree {
    /// For each node: its two children (0 = none) and, for a leaf, the
    /// symbol (256 = end of string).
    nodes: Vec<([u16; 2], Option<u16>)>,
}

impl HuffmanTree {
    fn new() -> HuffmanTree {
        let mut tree = HuffmanTree {
            nodes: vec![([0, 0], None)],
        };
        for (symbol, &(code, length)) in HUFFMAN.iter().enumerate() {
            tree.add(code, length, symbol as u16);
        }
        tree.add(0x3fff_ffff, 30, 256);
        tree
    }

    fn add(&mut self, code: u32, length: u8, symbol: u16) {
        let mut node = 0usize;
        for bit in (0..length).rev() {
            let branch = ((code >> bit) & 1) as usize;
            let child = self.nodes[node].0[branch];
            node = if child == 0 {
                self.nodes.push(([0, 0], None));
                let created = self.nodes.len() - 1;
                self.nodes[node].0[branch] = created as u16;
                created
            } else {
                usize::from(child)
            };
        }
        self.nodes[node].1 = Some(symbol);
    }

    /// Decodes Huffman-coded bytes; the padding must be the start of the
    /// end-of-string code (at most 7 one bits), and that code itself may
    /// not appear (section 5.2).
    fn decode(&self, coded: &[u8]) -> Result<Vec<u8>, HpackError> {
        let mut out = Vec::with_capacity(coded.len() * 8 / 5);
        let mut node = 0usize;
        let mut depth = 0u8;
        let mut all_ones = true;
        for &byte in coded {
            for bit in (0..8).rev() {
                let branch = usize::from((byte >> bit) & 1);
                all_ones &= branch == 1;
                let child = usize::from(self.nodes[node].0[branch]);
                if child == 0 {
                    return Err(HpackError("invalid Huffman code"));
                }
                node = child;
                depth += 1;
                if let Some(symbol) = self.nodes[node].1 {
                    if symbol == 256 {
                        return Err(HpackError("end-of-string in a Huffman string"));
                    }
                    out.push(symbol as u8);
                    node = 0;
                    depth = 0;
                    all_ones = true;
                }
            }
        }
        if depth > 7 || !all_ones {
            return Err(HpackError("bad Huffman padding"));
        }
        Ok(out)
    }
}

/// Appends `fields` as literals without indexing, names and values raw
/// (section 6.2.2 with a literal name).
pub fn encode_literal(fields: &[Field], out: &mut Vec<u8>) {
    for (name, value) in fields {
        out.push(0);
        encode_string(name, out);
        encode_string(value, out);
    }
}

fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    encode_integer(bytes.len(), 7, 0, out);
    out.extend_from_slice(bytes);
}

fn encode_integer(mut value: usize, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| {
                u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0)
            })
            .collect()
    }

    fn fields(list: &[(&str, &str)]) -> Vec<Field> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    /// RFC 7541 Appendix C.4: three requests with Huffman coding, sharing
    /// the dynamic table.
    #[test]
    fn rfc_7541_huffman_request_examples() {
        let mut decoder = Decoder::new(4096, 1 << 16);
        let first = decoder.decode(&hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        assert_eq!(
            first,
            Ok(fields(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ]))
        );
        let second = decoder.decode(&hex("8286 84be 5886 a8eb 1064 9cbf"));
        assert_eq!(
            second,
            Ok(fields(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ]))
        );
        let third = decoder.decode(&hex(
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ));
        assert_eq!(
            third,
            Ok(fields(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ]))
        );
        assert_eq!(decoder.size, 164, "table size after C.4.3");
    }

    #[test]
    fn literals_encode_and_decode_back() {
        let list = fields(&[
            (":authority", "127.0.0.1:2379"),
            ("x-long", &"v".repeat(300)),
            ("", ""),
        ]);
        let mut block = Vec::new();
        encode_literal(&list, &mut block);
        assert_eq!(Decoder::new(0, 1 << 16).decode(&block), Ok(list));
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let mut decoder = Decoder::new(4096, 1 << 16);
        for bad in [
            &[0x80][..],                                     // index 0
            &[0xbf][..],                                     // index 62 with an empty dynamic table
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..],       // integer too large
            &[0x00, 0x05, b'a'][..],                         // string longer than the block
            &[0x40][..],                                     // block ends inside a field
            &[0x3f, 0xe2, 0x1f][..],                         // size update to 4097, over the limit
            &[0x82, 0x20][..],                               // size update after a field
            &[0x00, 0x81, 0x00, 0x00][..],                   // Huffman padding of zeros
            &[0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00][..], // end-of-string coded
        ] {
            assert!(decoder.decode(bad).is_err(), "{bad:?}");
        }
        let mut small = Decoder::new(4096, 40);
        let mut block = Vec::new();
        encode_literal(&fields(&[("name", "a value that is long")]), &mut block);
        assert_eq!(
            small.decode(&block),
            Err(HpackError("header list too large"))
        );
    }

    #[test]
    fn the_dynamic_table_evicts_oldest_first() {
        let mut decoder = Decoder::new(100, 1 << 16);
        // Two literal-with-indexing fields of 32 + 2 bytes each, then a
        // size update to 40: only the newer survives.
        let block = [0x40, 0x01, b'a', 0x01, b'1', 0x40, 0x01, b'b', 0x01, b'2'];
        assert!(decoder.decode(&block).is_ok());
        assert_eq!(decoder.lookup(62), Ok((b"b".to_vec(), b"2".to_vec())));
        assert_eq!(decoder.lookup(63), Ok((b"a".to_vec(), b"1".to_vec())));
        assert!(decoder.decode(&[0x3f, 0x09]).is_ok());
        assert_eq!(decoder.lookup(62), Ok((b"b".to_vec(), b"2".to_vec())));
        assert!(decoder.lookup(63).is_err());
    }
}
