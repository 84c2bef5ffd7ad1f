//! The parts of Go's standard library whose behaviour (and error wording)
//! etcdctl users see: `strconv.ParseInt/ParseUint`, `time.ParseDuration`,
//! `%q` scanning and etcdctl's own `argify` word splitting.

use std::time::Duration;

/// `strconv.ParseInt(text, base, 64)`: a signed integer in `base` (10 or
/// 16), with Go's error text (`strconv.ParseInt: parsing "x": invalid
/// syntax` / `value out of range`).
pub fn parse_int(text: &str, base: u32) -> Result<i64, String> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = parse_digits(digits, base).map_err(|e| go_error("ParseInt", text, e))?;
    if negative {
        if magnitude > i64::MAX as u64 + 1 {
            return Err(go_error("ParseInt", text, NumError::Range));
        }
        Ok((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).map_err(|_| go_error("ParseInt", text, NumError::Range))
    }
}

/// `strconv.ParseInt(text, 0, 64)` (pflag's `Int64` flags): the base
/// from the prefix — `0x` hex, `0o` or a leading `0` octal, `0b` binary,
/// otherwise decimal — with Go's error text. (Go's `_` digit separators
/// are refused.)
pub fn parse_int_any_base(text: &str) -> Result<i64, String> {
    let (sign, unsigned) = match text.as_bytes().first() {
        Some(b'-' | b'+') => text.split_at(1),
        _ => ("", text),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (base, digits) = if lower.starts_with("0x") {
        (16, &unsigned[2..])
    } else if lower.starts_with("0o") {
        (8, &unsigned[2..])
    } else if lower.starts_with("0b") {
        (2, &unsigned[2..])
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (8, &unsigned[1..])
    } else {
        (10, unsigned)
    };
    parse_int(&format!("{sign}{digits}"), base).map_err(|_| {
        let error = match parse_digits(digits, base) {
            Err(NumError::Syntax) => NumError::Syntax,
            _ => NumError::Range,
        };
        go_error("ParseInt", text, error)
    })
}

/// `strconv.ParseUint(text, base, 64)`, with Go's error text.
pub fn parse_uint(text: &str, base: u32) -> Result<u64, String> {
    parse_digits(text, base).map_err(|e| go_error("ParseUint", text, e))
}

enum NumError {
    Syntax,
    Range,
}

fn parse_digits(digits: &str, base: u32) -> Result<u64, NumError> {
    if digits.is_empty() {
        return Err(NumError::Syntax);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in digits.chars() {
        let digit = c.to_digit(base).ok_or(NumError::Syntax)?;
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(next) => value = next,
            None => overflow = true,
        }
    }
    if overflow {
        Err(NumError::Range)
    } else {
        Ok(value)
    }
}

fn go_error(function: &str, text: &str, error: NumError) -> String {
    let reason = match error {
        NumError::Syntax => "invalid syntax",
        NumError::Range => "value out of range",
    };
    format!(
        "strconv.{function}: parsing {}: {reason}",
        super::output::go_format::go_quote(text)
    )
}

/// `time.ParseDuration`: `300ms`, `5s`, `1m30s`, `1.5h`; units ns, us, µs,
/// ms, s, m, h. Negative durations are refused (no timeout is negative).
/// Errors carry Go's wording (`time: missing unit in duration "5"`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let quoted = super::output::go_format::go_quote(text);
    let invalid = || format!("time: invalid duration {quoted}");
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() || rest.starts_with('-') {
        return Err(invalid());
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after_unit) = after.split_at(unit_len);
        let nanos_per_unit = match unit {
            "" => return Err(format!("time: missing unit in duration {quoted}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {quoted}",
                    super::output::go_format::go_quote(other)
                ));
            }
        };
        total_nanos += value * nanos_per_unit;
        rest = after_unit;
    }
    if total_nanos > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total_nanos as u64))
}

/// Scans one Go-quoted string (`%q`) at the start of `text`: `"..."` with
/// Go's escapes, or a raw `` `...` ``. Returns the bytes and the rest.
pub fn scan_quoted(text: &str) -> Option<(Vec<u8>, &str)> {
    let mut chars = text.char_indices();
    match chars.next()? {
        (_, '`') => {
            let end = text[1..].find('`')? + 1;
            Some((text.as_bytes()[1..end].to_vec(), &text[end + 1..]))
        }
        (_, '"') => {
            let mut out = Vec::new();
            let bytes = text.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => return Some((out, &text[i + 1..])),
                    b'\n' => return None,
                    b'\\' => {
                        let (decoded, used) = unescape(&text[i + 1..])?;
                        out.extend_from_slice(&decoded);
                        i += 1 + used;
                    }
                    byte => {
                        out.push(byte);
                        i += 1;
                    }
                }
            }
            None
        }
        _ => None,
    }
}

/// One escape after a backslash: the bytes it stands for and how many bytes
/// of `text` it used.
fn unescape(text: &str) -> Option<(Vec<u8>, usize)> {
    let first = *text.as_bytes().first()?;
    let simple = match first {
        b'a' => Some(7),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        _ => None,
    };
    if let Some(byte) = simple {
        return Some((vec![byte], 1));
    }
    let hex = |digits: usize| -> Option<u32> {
        let part = text.get(1..1 + digits)?;
        if part.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(part, 16).ok()
        } else {
            None
        }
    };
    match first {
        b'x' => Some((vec![u8::try_from(hex(2)?).ok()?], 3)),
        b'u' | b'U' => {
            let digits = if first == b'u' { 4 } else { 8 };
            let c = char::from_u32(hex(digits)?)?;
            Some((c.to_string().into_bytes(), 1 + digits))
        }
        b'0'..=b'7' => {
            let part = text.get(0..3)?;
            if !part.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let value = u32::from_str_radix(part, 8).ok()?;
            Some((vec![u8::try_from(value).ok()?], 3))
        }
        _ => None,
    }
}

/// etcdctl's `argify`: splits a line into words at whitespace; a word may
/// be `"double quoted"` (Go escapes) or `'single quoted'` (taken literally).
/// Words are bytes: a quoted key may hold any byte.
pub fn argify(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let (word, after) =
                scan_quoted(rest).ok_or_else(|| format!("unterminated quoted word in {line:?}"))?;
            words.push(word);
            rest = after;
        } else if let Some(after_quote) = rest.strip_prefix('\'') {
            let end = after_quote
                .find('\'')
                .ok_or_else(|| format!("unterminated quoted word in {line:?}"))?;
            words.push(after_quote.as_bytes()[..end].to_vec());
            rest = &after_quote[end + 1..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            words.push(rest.as_bytes()[..end].to_vec());
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_and_fail_with_gos_words() {
        assert_eq!(parse_int("42", 10), Ok(42));
        assert_eq!(parse_int("-7", 10), Ok(-7));
        assert_eq!(parse_int("1234abcd", 16), Ok(0x1234abcd));
        assert_eq!(parse_int("-9223372036854775808", 10), Ok(i64::MIN));
        assert_eq!(
            parse_int("abc", 10),
            Err(r#"strconv.ParseInt: parsing "abc": invalid syntax"#.into())
        );
        assert_eq!(
            parse_int("ffffffffffffffffffff", 16),
            Err(r#"strconv.ParseInt: parsing "ffffffffffffffffffff": value out of range"#.into())
        );
        assert_eq!(
            parse_int("", 10),
            Err(r#"strconv.ParseInt: parsing "": invalid syntax"#.into())
        );
        assert_eq!(parse_int_any_base("0x2"), Ok(2));
        assert_eq!(parse_int_any_base("03"), Ok(3));
        assert_eq!(parse_int_any_base("-0b11"), Ok(-3));
        assert_eq!(parse_int_any_base("0"), Ok(0));
        assert_eq!(parse_int_any_base("17"), Ok(17));
        assert_eq!(
            parse_int_any_base("09"),
            Err(r#"strconv.ParseInt: parsing "09": invalid syntax"#.into())
        );
        assert_eq!(
            parse_int_any_base("0x"),
            Err(r#"strconv.ParseInt: parsing "0x": invalid syntax"#.into())
        );
        assert_eq!(
            parse_int_any_base("0x8000000000000000"),
            Err(r#"strconv.ParseInt: parsing "0x8000000000000000": value out of range"#.into())
        );
        assert_eq!(parse_uint("bdae9bbc11dd390d", 16), Ok(0xbdae9bbc11dd390d));
        assert_eq!(
            parse_uint("0x12", 16),
            Err(r#"strconv.ParseUint: parsing "0x12": invalid syntax"#.into())
        );
        assert_eq!(
            parse_uint("-1", 16),
            Err(r#"strconv.ParseUint: parsing "-1": invalid syntax"#.into())
        );
    }

    #[test]
    fn durations_follow_go() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("5"),
            Err(r#"time: missing unit in duration "5""#.into())
        );
        assert_eq!(
            parse_duration("5x"),
            Err(r#"time: unknown unit "x" in duration "5x""#.into())
        );
        assert_eq!(
            parse_duration(""),
            Err(r#"time: invalid duration """#.into())
        );
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn quoted_strings_decode_gos_escapes() {
        assert_eq!(
            scan_quoted(r#""t1") > "0""#),
            Some((b"t1".to_vec(), r#") > "0""#))
        );
        assert_eq!(
            scan_quoted(r#""a\"b\\c\x00\n\101\u00e9""#),
            Some((b"a\"b\\c\x00\nA\xc3\xa9".to_vec(), ""))
        );
        assert_eq!(scan_quoted("`raw \\n`x"), Some((b"raw \\n".to_vec(), "x")));
        assert_eq!(scan_quoted(r#""unterminated"#), None);
        assert_eq!(scan_quoted(r#""bad \q escape""#), None);
        assert_eq!(scan_quoted("plain"), None);
    }

    #[test]
    fn argify_splits_words_and_honours_quotes() {
        let words = argify(r#"put t1 "over wrote" 'single "q"'  --prev-kv"#).unwrap();
        let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        assert_eq!(
            words,
            vec![
                &b"put"[..],
                b"t1",
                b"over wrote",
                b"single \"q\"",
                b"--prev-kv"
            ]
        );
        assert!(argify(r#"put "open"#).is_err());
        assert_eq!(argify("   ").unwrap(), Vec::<Vec<u8>>::new());
    }
}
