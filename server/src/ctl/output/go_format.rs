//! Go's formatting of durations, byte sizes, quoted strings and hex bytes,
//! reproduced exactly where etcdctl's output depends on them.

use std::fmt::Write as _;
use std::time::Duration;

/// Go's `time.Duration.String()`: `0s`, `850ns`, `1.5µs`, `1.693941ms`,
/// `1.001288246s`, `1m0.5s`, `2h3m4s`.
pub fn go_duration(duration: Duration) -> String {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 6));
    }
    let seconds_part = fraction(nanos % 60_000_000_000, 9);
    let minutes_total = nanos / 60_000_000_000;
    if minutes_total == 0 {
        return format!("{seconds_part}s");
    }
    let hours = minutes_total / 60;
    let minutes = minutes_total % 60;
    if hours == 0 {
        format!("{minutes}m{seconds_part}s")
    } else {
        format!("{hours}h{minutes}m{seconds_part}s")
    }
}

/// `value / 10^digits` with the fraction's trailing zeros (and a bare point)
/// dropped, as Go's `fmtFrac` + `fmtInt` print it.
fn fraction(value: u64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let frac_text = format!("{frac:0width$}", width = digits as usize);
    format!("{whole}.{}", frac_text.trim_end_matches('0'))
}

/// go-humanize's `Bytes`: SI units (1000-based), `"%d B"` under 10 bytes,
/// one decimal under 10 units, none from 10 up: `20 kB`, `1.5 MB`, `9 B`.
pub fn humanize_bytes(bytes: u64) -> String {
    const SUFFIXES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 10 {
        return format!("{bytes} B");
    }
    let mut exponent = 0usize;
    let mut unit: u64 = 1;
    while exponent + 1 < SUFFIXES.len() && bytes / unit >= 1000 {
        unit *= 1000;
        exponent += 1;
    }
    let value = ((bytes as f64) / (unit as f64) * 10.0 + 0.5).floor() / 10.0;
    if value < 10.0 {
        format!("{value:.1} {}", SUFFIXES[exponent])
    } else {
        format!("{value:.0} {}", SUFFIXES[exponent])
    }
}

/// Go's `%q` of a string: double-quoted, with `"` and `\` escaped and
/// control characters written as Go escapes.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of bytes that may not be UTF-8: invalid bytes become `\xNN`.
pub fn go_quote_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => go_quote(text),
        Err(_) => {
            let mut out = String::from("\"");
            for chunk in bytes.utf8_chunks() {
                let quoted = go_quote(chunk.valid());
                out.push_str(&quoted[1..quoted.len() - 1]);
                for byte in chunk.invalid() {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
            out.push('"');
            out
        }
    }
}

/// etcdctl's `--hex` form of bytes: `\x66\x6f\x6f`.
pub fn hex_escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4);
    for byte in bytes {
        let _ = write!(out, "\\x{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_500, "1.5µs"),
            (1_000, "1µs"),
            (1_693_941, "1.693941ms"),
            (2_000_000, "2ms"),
            (850_123_000, "850.123ms"),
            (1_001_288_246, "1.001288246s"),
            (5_000_765_130, "5.00076513s"),
            (60_000_000_000, "1m0s"),
            (60_500_000_000, "1m0.5s"),
            (7_384_000_000_000, "2h3m4s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(go_duration(Duration::from_nanos(nanos)), text, "{nanos}");
        }
    }

    #[test]
    fn byte_sizes_print_like_go_humanize() {
        let cases = [
            (0, "0 B"),
            (9, "9 B"),
            (10, "10 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (1500, "1.5 kB"),
            (16_384, "16 kB"),
            (20_480, "20 kB"),
            (24_576, "25 kB"),
            (24_500, "24 kB"),
            (999_999, "1000 kB"),
            (2_147_483_648, "2.1 GB"),
            (u64::MAX, "18 EB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(humanize_bytes(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn quoting_matches_go() {
        assert_eq!(go_quote("e2"), "\"e2\"");
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
        assert_eq!(go_quote("é"), "\"é\"");
        assert_eq!(go_quote_bytes(b"a\xffb"), "\"a\\xffb\"");
        assert_eq!(hex_escaped(b"foo"), "\\x66\\x6f\\x6f");
        assert_eq!(hex_escaped(b""), "");
    }
}
