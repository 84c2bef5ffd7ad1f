//! Go's `encoding/json` and `encoding/base64` reading rules, with their
//! error words, as etcd's gateway applies them to a request body (through
//! golang/protobuf's jsonpb): the syntax check of `json.Decoder` and
//! `json.Unmarshal`, string unquoting, numbers as Go's `strconv` parses
//! them, and `base64.StdEncoding`. Written from the behaviour of Go 1.19,
//! which Debian's etcd 3.4.23 is built with; nothing here allocates from
//! an unchecked length or recurses on the input's nesting.

use std::fmt::Write as _;

/// Go's limit on JSON nesting (`exceeded max depth`).
const MAX_NESTING_DEPTH: usize = 10_000;

/// A JSON syntax or type error, worded as Go words it.
pub type GoError = String;

/// What a JSON value is, by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl Kind {
    /// The kind of the valid JSON value `raw` (no leading whitespace).
    pub fn of(raw: &[u8]) -> Kind {
        match raw.first() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            _ => Kind::Number,
        }
    }

    /// Go's word for it in `cannot unmarshal WORD into ...`.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "bool",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

/// `json: cannot unmarshal WHAT into Go value of type GO_TYPE`.
pub fn type_error(what: &str, go_type: &str) -> GoError {
    format!("json: cannot unmarshal {what} into Go value of type {go_type}")
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `quoteChar`: a byte as the scanner names it in its errors.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let mut out = String::from("'");
            // Go converts the byte to a rune (Latin-1), then quotes it.
            quote_rune(&mut out, char::from(c));
            out.push('\'');
            out
        }
    }
}

/// Appends `c` as `strconv.Quote` writes it inside the quotes.
fn quote_rune(out: &mut String, c: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        '"' => out.push_str("\\\""),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if !is_printable(c) => {
            if (c as u32) < 0x10000 {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        c => out.push(c),
    }
}

/// Go's `strconv.IsPrint` for the characters a request can bring: all
/// but controls, spaces other than U+0020 and format characters.
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e000}'..='\u{f8ff}'
        ))
}

/// `%q` of raw bytes, as Go's `fmt` writes a `[]byte`.
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            quote_rune(&mut out, c);
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

/// Where the scanner is inside a container.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    ObjectKey,
    ObjectValue,
    Array,
}

/// The scanner's state between bytes (Go's `scanner.step`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    InString,
    InStringEscape,
    InStringEscapeU(u8),
    Negative,
    Zero,
    Digits,
    Dot,
    DotDigits,
    Exponent,
    ExponentSign,
    ExponentDigits,
    /// Inside `true`, `false` or `null`: the rest still expected.
    Literal(&'static [u8], &'static str),
    EndValue,
}

/// What one byte did.
enum Event {
    /// The byte belongs to the value.
    Continue,
    /// The top-level value ended before this byte.
    End,
}

/// Go's JSON scanner: one byte at a time, an explicit stack (no
/// recursion), Go's error words.
struct Scanner {
    state: State,
    stack: Vec<Container>,
}

impl Scanner {
    fn new() -> Scanner {
        Scanner {
            state: State::BeginValue,
            stack: Vec::new(),
        }
    }

    fn error(c: u8, context: &str) -> GoError {
        format!("invalid character {} {context}", quote_char(c))
    }

    fn push(&mut self, container: Container) -> Result<(), GoError> {
        if self.stack.len() >= MAX_NESTING_DEPTH {
            return Err("exceeded max depth".into());
        }
        self.stack.push(container);
        Ok(())
    }

    fn begin_value(&mut self, c: u8) -> Result<Event, GoError> {
        self.state = match c {
            c if is_space(c) => return Ok(Event::Continue),
            b'{' => {
                self.push(Container::ObjectKey)?;
                State::BeginStringOrEmpty
            }
            b'[' => {
                self.push(Container::Array)?;
                State::BeginValueOrEmpty
            }
            b'"' => State::InString,
            b'-' => State::Negative,
            b'0' => State::Zero,
            b'1'..=b'9' => State::Digits,
            b't' => State::Literal(b"rue", "true"),
            b'f' => State::Literal(b"alse", "false"),
            b'n' => State::Literal(b"ull", "null"),
            _ => return Err(Self::error(c, "looking for beginning of value")),
        };
        Ok(Event::Continue)
    }

    fn end_value(&mut self, c: u8) -> Result<Event, GoError> {
        let Some(top) = self.stack.last().copied() else {
            return Ok(Event::End);
        };
        if is_space(c) {
            self.state = State::EndValue;
            return Ok(Event::Continue);
        }
        match (top, c) {
            (Container::ObjectKey, b':') => {
                *self.stack.last_mut().ok_or("scanner stack")? = Container::ObjectValue;
                self.state = State::BeginValue;
            }
            (Container::ObjectKey, _) => return Err(Self::error(c, "after object key")),
            (Container::ObjectValue, b',') => {
                *self.stack.last_mut().ok_or("scanner stack")? = Container::ObjectKey;
                self.state = State::BeginString;
            }
            (Container::ObjectValue, b'}') => self.close(),
            (Container::ObjectValue, _) => {
                return Err(Self::error(c, "after object key:value pair"));
            }
            (Container::Array, b',') => self.state = State::BeginValue,
            (Container::Array, b']') => self.close(),
            (Container::Array, _) => return Err(Self::error(c, "after array element")),
        }
        Ok(Event::Continue)
    }

    /// A container closed: the value it was is complete.
    fn close(&mut self) {
        self.stack.pop();
        self.state = State::EndValue;
    }

    fn step(&mut self, c: u8) -> Result<Event, GoError> {
        match self.state {
            State::BeginValue => self.begin_value(c),
            State::BeginValueOrEmpty => {
                if is_space(c) {
                    Ok(Event::Continue)
                } else if c == b']' {
                    self.close();
                    Ok(Event::Continue)
                } else {
                    self.begin_value(c)
                }
            }
            State::BeginStringOrEmpty => {
                if is_space(c) {
                    Ok(Event::Continue)
                } else if c == b'}' {
                    self.close();
                    Ok(Event::Continue)
                } else {
                    self.begin_string(c)
                }
            }
            State::BeginString => self.begin_string(c),
            State::InString => {
                match c {
                    b'"' => self.state = State::EndValue,
                    b'\\' => self.state = State::InStringEscape,
                    c if c < 0x20 => return Err(Self::error(c, "in string literal")),
                    _ => {}
                }
                Ok(Event::Continue)
            }
            State::InStringEscape => {
                self.state = match c {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => State::InString,
                    b'u' => State::InStringEscapeU(0),
                    _ => return Err(Self::error(c, "in string escape code")),
                };
                Ok(Event::Continue)
            }
            State::InStringEscapeU(seen) => {
                if !c.is_ascii_hexdigit() {
                    return Err(Self::error(c, "in \\u hexadecimal character escape"));
                }
                self.state = if seen == 3 {
                    State::InString
                } else {
                    State::InStringEscapeU(seen + 1)
                };
                Ok(Event::Continue)
            }
            State::Negative => {
                self.state = match c {
                    b'0' => State::Zero,
                    b'1'..=b'9' => State::Digits,
                    _ => return Err(Self::error(c, "in numeric literal")),
                };
                Ok(Event::Continue)
            }
            State::Digits if c.is_ascii_digit() => Ok(Event::Continue),
            State::Zero | State::Digits => match c {
                b'.' => {
                    self.state = State::Dot;
                    Ok(Event::Continue)
                }
                b'e' | b'E' => {
                    self.state = State::Exponent;
                    Ok(Event::Continue)
                }
                _ => self.end_value(c),
            },
            State::Dot => {
                if !c.is_ascii_digit() {
                    return Err(Self::error(c, "after decimal point in numeric literal"));
                }
                self.state = State::DotDigits;
                Ok(Event::Continue)
            }
            State::DotDigits => match c {
                c if c.is_ascii_digit() => Ok(Event::Continue),
                b'e' | b'E' => {
                    self.state = State::Exponent;
                    Ok(Event::Continue)
                }
                _ => self.end_value(c),
            },
            State::Exponent if c == b'+' || c == b'-' => {
                self.state = State::ExponentSign;
                Ok(Event::Continue)
            }
            State::Exponent | State::ExponentSign => {
                if !c.is_ascii_digit() {
                    return Err(Self::error(c, "in exponent of numeric literal"));
                }
                self.state = State::ExponentDigits;
                Ok(Event::Continue)
            }
            State::ExponentDigits => {
                if c.is_ascii_digit() {
                    Ok(Event::Continue)
                } else {
                    self.end_value(c)
                }
            }
            State::Literal(rest, word) => {
                let Some((&expected, tail)) = rest.split_first() else {
                    return self.end_value(c);
                };
                if c != expected {
                    return Err(Self::error(
                        c,
                        &format!("in literal {word} (expecting {})", quote_char(expected)),
                    ));
                }
                self.state = if tail.is_empty() {
                    State::EndValue
                } else {
                    State::Literal(tail, word)
                };
                Ok(Event::Continue)
            }
            State::EndValue => self.end_value(c),
        }
    }

    fn begin_string(&mut self, c: u8) -> Result<Event, GoError> {
        if is_space(c) {
            return Ok(Event::Continue);
        }
        if c != b'"' {
            return Err(Self::error(c, "looking for beginning of object key string"));
        }
        self.state = State::InString;
        Ok(Event::Continue)
    }
}

/// The first JSON value of `input`, as Go's `json.Decoder.Decode` reads it:
/// leading whitespace skipped, the bytes after the value not looked at.
/// `Ok(None)`: there is no value, only whitespace (Go's `io.EOF`). Returns
/// the value and the offset just after it.
pub fn first_value(input: &[u8]) -> Result<Option<(&[u8], usize)>, GoError> {
    let start = match input.iter().position(|&c| !is_space(c)) {
        Some(start) => start,
        None => return Ok(None),
    };
    let mut scanner = Scanner::new();
    for (offset, &c) in input.iter().enumerate().skip(start) {
        if let Event::End = scanner.step(c)? {
            return Ok(Some((&input[start..offset], offset)));
        }
        if scanner.stack.is_empty() && scanner.state == State::EndValue && matches!(c, b'}' | b']')
        {
            // A container's end ends the value at once.
            return Ok(Some((&input[start..=offset], offset + 1)));
        }
    }
    // The input ended: Go steps one more space to see whether the value
    // is complete.
    match scanner.step(b' ') {
        Ok(Event::End) => Ok(Some((&input[start..], input.len()))),
        _ => Err("unexpected EOF".into()),
    }
}

/// Go's `checkValid`: `input` must be exactly one JSON value (whitespace
/// around it allowed); returns the value without the whitespace.
pub fn check_valid(input: &[u8]) -> Result<&[u8], GoError> {
    let mut scanner = Scanner::new();
    let mut start = 0;
    for (offset, &c) in input.iter().enumerate() {
        if scanner.state == State::BeginValue && scanner.stack.is_empty() && is_space(c) {
            start = offset + 1;
        }
        if let Event::End = scanner.step(c)? {
            if let Some(&after) = input[offset..].iter().find(|&&c| !is_space(c)) {
                return Err(Scanner::error(after, "after top-level value"));
            }
            return Ok(input[start..offset].trim_ascii_end());
        }
    }
    // Go's `scanner.eof`: one more space, then the value must be complete.
    match scanner.step(b' ')? {
        Event::End => Ok(input[start..].trim_ascii_end()),
        Event::Continue => Err("unexpected end of JSON input".into()),
    }
}

/// The members of a valid JSON object: (unquoted key, raw value), in order.
pub fn object_members(raw: &[u8]) -> Vec<(String, &[u8])> {
    let mut members = Vec::new();
    let mut at = 1;
    loop {
        at = skip_space(raw, at);
        if raw.get(at) != Some(&b'"') {
            return members;
        }
        let key_end = value_end(raw, at);
        let key = unquote(&raw[at..key_end]);
        at = skip_space(raw, key_end) + 1; // the colon
        at = skip_space(raw, at);
        let end = value_end(raw, at);
        members.push((key, &raw[at..end]));
        at = skip_space(raw, end) + 1; // the comma or the brace
    }
}

/// The items of a valid JSON array.
pub fn array_items(raw: &[u8]) -> Vec<&[u8]> {
    let mut items = Vec::new();
    let mut at = skip_space(raw, 1);
    if raw.get(at) == Some(&b']') {
        return items;
    }
    while at < raw.len() {
        at = skip_space(raw, at);
        let end = value_end(raw, at);
        items.push(&raw[at..end]);
        at = skip_space(raw, end) + 1;
    }
    items
}

fn skip_space(raw: &[u8], mut at: usize) -> usize {
    while raw.get(at).is_some_and(|&c| is_space(c)) {
        at += 1;
    }
    at
}

/// The end of the valid JSON value starting at `raw[start]`.
fn value_end(raw: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    while at < raw.len() {
        match raw[at] {
            b'"' => {
                at += 1;
                while at < raw.len() && raw[at] != b'"' {
                    at += if raw[at] == b'\\' { 2 } else { 1 };
                }
                if depth == 0 {
                    return (at + 1).min(raw.len());
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return at,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            b',' | b':' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => return at,
            _ => {}
        }
        at += 1;
    }
    raw.len()
}

/// A valid JSON string literal's text, as Go unquotes it: escapes
/// resolved, a lone or broken surrogate and invalid UTF-8 as U+FFFD.
pub fn unquote(raw: &[u8]) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    let mut out = String::with_capacity(inner.len());
    let mut bytes = Vec::with_capacity(inner.len());
    let mut at = 0;
    while at < inner.len() {
        if inner[at] != b'\\' {
            bytes.push(inner[at]);
            at += 1;
            continue;
        }
        flush_bytes(&mut out, &mut bytes);
        let escape = inner.get(at + 1).copied().unwrap_or(b'\\');
        at += 2;
        let c = match escape {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = hex4(inner, at);
                at += 4;
                match first {
                    Some(high @ 0xd800..=0xdbff) => {
                        let low = (inner.get(at..at + 2) == Some(b"\\u"))
                            .then(|| hex4(inner, at + 2))
                            .flatten();
                        match low {
                            Some(low @ 0xdc00..=0xdfff) => {
                                at += 6;
                                let code = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            }
                            _ => '\u{fffd}',
                        }
                    }
                    Some(code) => char::from_u32(code).unwrap_or('\u{fffd}'),
                    None => '\u{fffd}',
                }
            }
            other => char::from(other),
        };
        out.push(c);
    }
    flush_bytes(&mut out, &mut bytes);
    out
}

fn flush_bytes(out: &mut String, bytes: &mut Vec<u8>) {
    out.push_str(&String::from_utf8_lossy(bytes));
    bytes.clear();
}

fn hex4(text: &[u8], at: usize) -> Option<u32> {
    let digits = text.get(at..at + 4)?;
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// `json.Unmarshal(input, &integer)` for Go's integer type `go_type`
/// whose range is `min..=max`: a JSON number or `null` (no change: 0).
pub fn unmarshal_integer(
    input: &[u8],
    go_type: &str,
    signed: bool,
    min: i128,
    max: i128,
) -> Result<i128, GoError> {
    let value = check_valid(input)?;
    match Kind::of(value) {
        Kind::Null => Ok(0),
        Kind::Number => {
            let text = std::str::from_utf8(value).unwrap_or_default();
            let parsed = parse_decimal(text, signed).filter(|n| (min..=max).contains(n));
            parsed.ok_or_else(|| type_error(&format!("number {text}"), go_type))
        }
        other => Err(type_error(other.word(), go_type)),
    }
}

/// `strconv.ParseInt(text, 10, 64)` / `ParseUint`: digits with an
/// optional `-` (signed only); anything else fails.
fn parse_decimal(text: &str, signed: bool) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        Some(_) => return None,
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let magnitude: i128 = digits.parse().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// `base64.StdEncoding.Decode`: padded standard alphabet, `\r` and `\n`
/// skipped anywhere; a bad byte is named by its offset in `text`.
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, GoError> {
    let corrupt = |offset: usize| format!("illegal base64 data at input byte {offset}");
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut at = 0;
    while at < text.len() {
        let mut quantum = [0u8; 4];
        let mut length = 4;
        let mut j = 0;
        while j < 4 {
            if at == text.len() {
                if j == 0 {
                    return Ok(out);
                }
                // A partial quantum without padding.
                return Err(corrupt(at - j));
            }
            let c = text[at];
            at += 1;
            if let Some(value) = base64_value(c) {
                quantum[j] = value;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(corrupt(at - 1));
            }
            if j == 2 {
                // "==" is expected: the first "=" is consumed.
                at = skip_newlines(text, at);
                if at == text.len() {
                    return Err(corrupt(text.len()));
                }
                if text[at] != b'=' {
                    return Err(corrupt(at - 1));
                }
                at += 1;
            }
            at = skip_newlines(text, at);
            length = j;
            let trailing = at < text.len();
            push_quantum(&mut out, quantum, length);
            if trailing {
                return Err(corrupt(at));
            }
            return Ok(out);
        }
        push_quantum(&mut out, quantum, length);
    }
    Ok(out)
}

fn skip_newlines(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(|&c| c == b'\n' || c == b'\r') {
        at += 1;
    }
    at
}

fn push_quantum(out: &mut Vec<u8>, quantum: [u8; 4], length: usize) {
    let value = (u32::from(quantum[0]) << 18)
        | (u32::from(quantum[1]) << 12)
        | (u32::from(quantum[2]) << 6)
        | u32::from(quantum[3]);
    let bytes = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
    out.extend_from_slice(&bytes[..length - 1]);
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmarshal_error(input: &str) -> String {
        check_valid(input.as_bytes()).err().unwrap_or_default()
    }

    #[test]
    fn syntax_errors_are_gos_words() {
        // Each pair was checked against Go 1.19's json.Unmarshal.
        let cases = [
            ("", "unexpected end of JSON input"),
            (" ", "unexpected end of JSON input"),
            ("-", "invalid character ' ' in numeric literal"),
            (
                "1.",
                "invalid character ' ' after decimal point in numeric literal",
            ),
            (
                "tru",
                "invalid character ' ' in literal true (expecting 'e')",
            ),
            ("\"ab", "unexpected end of JSON input"),
            ("[1", "unexpected end of JSON input"),
            ("1 2", "invalid character '2' after top-level value"),
            ("01", "invalid character '1' after top-level value"),
            ("--1", "invalid character '-' in numeric literal"),
            (
                "1.x",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            (
                "1ex",
                "invalid character 'x' in exponent of numeric literal",
            ),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            ("\"\\x\"", "invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            (
                "[1,]",
                "invalid character ']' looking for beginning of value",
            ),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{\"a\":1 \"b\"}",
                "invalid character '\"' after object key:value pair",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            (
                "\u{1}",
                "invalid character '\\x01' looking for beginning of value",
            ),
            ("é", "invalid character 'Ã' looking for beginning of value"),
            (
                "'",
                "invalid character '\\'' looking for beginning of value",
            ),
            (
                "\\",
                "invalid character '\\\\' looking for beginning of value",
            ),
            ("\"\u{1}\"", "invalid character '\\x01' in string literal"),
            (
                "{1:2}",
                "invalid character '1' looking for beginning of object key string",
            ),
            ("1\u{0}", "invalid character '\\x00' after top-level value"),
        ];
        for (input, message) in cases {
            assert_eq!(unmarshal_error(input), message, "{input:?}");
        }
        assert_eq!(
            check_valid(b"\xff").err().as_deref(),
            Some("invalid character 'ÿ' looking for beginning of value")
        );
        assert_eq!(check_valid(b" 1 ").ok(), Some(&b"1"[..]));
    }

    #[test]
    fn the_decoder_reads_only_the_first_value() {
        assert_eq!(first_value(b"").ok(), Some(None));
        assert_eq!(first_value(b" \n ").ok(), Some(None));
        assert_eq!(
            first_value(b" {\"a\":1} garbage").ok().flatten(),
            Some((&b"{\"a\":1}"[..], 8))
        );
        assert_eq!(first_value(b"1x").ok().flatten(), Some((&b"1"[..], 1)));
        assert_eq!(first_value(b"true").ok().flatten(), Some((&b"true"[..], 4)));
        for incomplete in ["{\"a\":", "[", "tru", "\"ab", "-"] {
            assert_eq!(
                first_value(incomplete.as_bytes()).err().as_deref(),
                Some("unexpected EOF"),
                "{incomplete}"
            );
        }
        assert_eq!(
            first_value(b"nulx").err().as_deref(),
            Some("invalid character 'x' in literal null (expecting 'l')")
        );
        let deep = "[".repeat(MAX_NESTING_DEPTH + 1);
        assert_eq!(
            first_value(deep.as_bytes()).err().as_deref(),
            Some("exceeded max depth")
        );
    }

    #[test]
    fn objects_and_arrays_split_into_raw_members() {
        let members = object_members(br#"{ "a\u0062" : [1, {"x":"}"}] , "c":"d" }"#);
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].0, "ab");
        assert_eq!(members[0].1, br#"[1, {"x":"}"}]"#);
        assert_eq!(members[1], ("c".to_string(), &br#""d""#[..]));
        assert!(object_members(b"{ }").is_empty());
        assert_eq!(
            array_items(br#"[ 1 ,"a\"]", [] ]"#),
            vec![&b"1"[..], &br#""a\"]""#[..], &b"[]"[..]]
        );
        assert!(array_items(b"[ ]").is_empty());
    }

    #[test]
    fn strings_unquote_as_go_does() {
        assert_eq!(unquote(br#""a\n\u00e9\ud83d\ude00""#), "a\né😀");
        assert_eq!(unquote(br#""\ud800x""#), "\u{fffd}x");
        assert_eq!(unquote(b"\"\xff\""), "\u{fffd}");
    }

    #[test]
    fn integers_follow_strconv() {
        let int64 = |s: &str| {
            unmarshal_integer(
                s.as_bytes(),
                "int64",
                true,
                i64::MIN.into(),
                i64::MAX.into(),
            )
        };
        assert_eq!(int64(" 1 "), Ok(1));
        assert_eq!(int64("-0"), Ok(0));
        assert_eq!(int64("null"), Ok(0));
        assert_eq!(int64("9223372036854775807"), Ok(i64::MAX.into()));
        assert_eq!(
            int64("9223372036854775808").err().as_deref(),
            Some("json: cannot unmarshal number 9223372036854775808 into Go value of type int64")
        );
        assert_eq!(
            int64("1e0").err().as_deref(),
            Some("json: cannot unmarshal number 1e0 into Go value of type int64")
        );
        assert_eq!(
            int64("true").err().as_deref(),
            Some("json: cannot unmarshal bool into Go value of type int64")
        );
        assert_eq!(
            int64("").err().as_deref(),
            Some("unexpected end of JSON input")
        );
        assert_eq!(
            int64("0x10").err().as_deref(),
            Some("invalid character 'x' after top-level value")
        );
        let uint64 = unmarshal_integer(b"-0", "uint64", false, 0, u64::MAX.into());
        assert_eq!(
            uint64.err().as_deref(),
            Some("json: cannot unmarshal number -0 into Go value of type uint64")
        );
    }

    #[test]
    fn base64_is_gos_std_encoding() {
        // Each pair was checked against Go 1.19's base64.StdEncoding.
        let cases: [(&str, Result<&[u8], usize>); 13] = [
            ("Zm9v", Ok(b"foo")),
            ("Zm9", Err(0)),
            ("Zm=v", Err(2)),
            ("Z===", Err(1)),
            ("Zg==\n", Ok(b"f")),
            ("Zg==x", Err(4)),
            ("Zg=\n=", Ok(b"f")),
            ("Zm9v\r\nYmFy", Ok(b"foobar")),
            ("Zg", Err(0)),
            ("Zm9vY", Err(4)),
            ("Zh==", Ok(b"f")),
            ("Zm8=", Ok(b"fo")),
            ("-_8=", Err(0)),
        ];
        for (input, expected) in cases {
            let expected = expected
                .map(<[u8]>::to_vec)
                .map_err(|n| format!("illegal base64 data at input byte {n}"));
            assert_eq!(decode_base64(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(decode_base64(b""), Ok(Vec::new()));
    }

    #[test]
    fn quoting_is_fmts_percent_q() {
        assert_eq!(quote_bytes(b"a\"\\\x01\xc3\xa9\xff"), r#""a\"\\\x01é\xff""#);
    }
}
