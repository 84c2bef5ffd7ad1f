//! Go's `encoding/json` text conventions, shared by keelctl's `-w json`
//! output and etcd's JSON gateway, so both write strings byte for byte as
//! Go programs do.

use std::fmt::Write as _;

/// Appends `text` as a JSON string the way Go 1.19 escapes it: `<`, `>`,
/// `&`, U+2028 and U+2029 as `\u` escapes; `\n`, `\r`, `\t` short; other
/// control characters as `\u00XX`.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
