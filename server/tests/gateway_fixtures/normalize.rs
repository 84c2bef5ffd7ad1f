//! The fixture README's normalisation (`normalize.py` is the reference):
//! run-time values by name, engine-dependent numbers blanked, member lists
//! in a stable order — applied to etcd's answers with etcd's values and to
//! Keel's with Keel's, so that what remains must be equal byte for byte.

use super::fixture::Vars;

/// Rewrites one side's answers.
pub struct Normalizer {
    phase: String,
    /// (value, `<NAME>`), in replacement order.
    values: Vec<(String, String)>,
    /// (this side's address, the fixture's): Keel's ports are its own.
    addresses: Vec<(String, String)>,
    /// Blank `"TTL"` values (the gaps compared without them).
    blank_ttl: bool,
}

impl Normalizer {
    /// A normaliser for `phase` with that side's `vars` and address
    /// rewrites.
    pub fn new(phase: &str, vars: &Vars, addresses: Vec<(String, String)>) -> Normalizer {
        let opaque =
            |name: &str| name.ends_with("_ID") || name.starts_with("AUTO_LEASE") || name == "TOKEN";
        let mut names: Vec<&String> = vars.keys().filter(|k| opaque(k)).collect();
        // Member names before roles: LEADER_ID is also one of M1_ID..M3_ID.
        names.sort_by_key(|k| {
            (
                k.starts_with("LEADER") || k.starts_with("FOLLOWER"),
                k.to_string(),
            )
        });
        let values = names
            .into_iter()
            .map(|name| (vars[name].clone(), format!("<{name}>")))
            .collect();
        Normalizer {
            phase: phase.to_string(),
            values,
            addresses,
            blank_ttl: false,
        }
    }

    /// The same, blanking `"TTL"` values too when `blank`.
    pub fn blank_ttl(self, blank: bool) -> Normalizer {
        Normalizer {
            blank_ttl: blank,
            ..self
        }
    }

    /// The normalised text.
    pub fn text(&self, text: &str) -> String {
        let mut s = text.to_string();
        for (from, to) in &self.addresses {
            s = s.replace(from.as_str(), to);
        }
        if self.phase == "B" {
            for field in ["member_id", "leader", "raft_term", "raftTerm"] {
                s = blank(&s, field, '"');
            }
        }
        for (value, name) in &self.values {
            s = replace_token(&s, value, name);
        }
        for field in [
            "dbSize",
            "dbSizeInUse",
            "raftIndex",
            "raftAppliedIndex",
            "blob",
        ] {
            s = blank(&s, field, '"');
        }
        s = blank(&s, "hash", '0');
        if self.blank_ttl {
            s = blank(&s, "TTL", '"');
        }
        sort_members(&s)
    }
}

/// Replaces `value` where it stands alone (not part of a longer number or
/// word).
fn replace_token(text: &str, value: &str, name: &str) -> String {
    if value.is_empty() {
        return text.to_string();
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(value) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + value.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(value);
        } else {
            out.push_str(name);
        }
        rest = &rest[at + value.len()..];
    }
    out.push_str(rest);
    out
}

/// `"field":VALUE` → `"field":"<N>"`: a quoted value (`kind` `"`) or a
/// bare number (`kind` `0`).
fn blank(text: &str, field: &str, kind: char) -> String {
    let marker = format!("\"{field}\":");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        let value_start = at + marker.len();
        out.push_str(&rest[..value_start]);
        let value = &rest[value_start..];
        let length = if kind == '"' {
            value
                .strip_prefix('"')
                .and_then(|rest| rest.find('"'))
                .map(|end| end + 2)
        } else {
            let digits = value.chars().take_while(char::is_ascii_digit).count();
            (digits > 0).then_some(digits)
        };
        match length {
            Some(length) => {
                out.push_str("\"<N>\"");
                rest = &value[length..];
            }
            None => rest = value,
        }
    }
    out.push_str(rest);
    out
}

/// The end (exclusive) of the JSON value starting at `text[0]`.
fn value_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Member lists are in id order, and ids are each side's own: order them
/// by name, then first peer URL.
fn sort_members(text: &str) -> String {
    const MARKER: &str = "\"members\":[";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARKER) {
        let list_start = at + MARKER.len() - 1;
        out.push_str(&rest[..list_start]);
        let Some(list_end) = value_end(&rest[list_start..]) else {
            rest = &rest[list_start..];
            break;
        };
        let inner = &rest[list_start + 1..list_start + list_end - 1];
        let mut items = Vec::new();
        let mut remaining = inner;
        while !remaining.is_empty() {
            let Some(end) = value_end(remaining) else {
                break;
            };
            items.push(&remaining[..end]);
            remaining = remaining[end..].trim_start_matches(',');
        }
        items.sort_by_key(|item| {
            let doc: serde_json::Value = serde_json::from_str(item).unwrap_or_default();
            (
                doc["name"].as_str().unwrap_or("").to_string(),
                doc["peerURLs"][0].as_str().unwrap_or("").to_string(),
            )
        });
        out.push('[');
        out.push_str(&items.join(","));
        out.push(']');
        rest = &rest[list_start + list_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_names_blanks_and_member_order() {
        let mut vars = Vars::new();
        vars.insert("E1_ID".into(), "15".into());
        vars.insert("AUTO_LEASE".into(), "7".into());
        let n = Normalizer::new("A", &vars, vec![]);
        assert_eq!(
            n.text(r#"{"ID":"15","x":"150","l":"7","e":["memberID:15 "],"dbSize":"9","hash":12}"#),
            r#"{"ID":"<E1_ID>","x":"150","l":"<AUTO_LEASE>","e":["memberID:<E1_ID> "],"dbSize":"<N>","hash":"<N>"}"#
        );
        assert_eq!(
            n.text(r#"{"members":[{"ID":"1","name":"b"},{"ID":"2","name":"a","peerURLs":["x"]}]}"#),
            r#"{"members":[{"ID":"2","name":"a","peerURLs":["x"]},{"ID":"1","name":"b"}]}"#
        );
    }
}
