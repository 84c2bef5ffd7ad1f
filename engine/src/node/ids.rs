//! Member and cluster ids: stable functions of URLs and the cluster token.

/// FNV-1a, 64-bit: a tiny hash whose output never changes across Rust
/// versions or platforms (std's `DefaultHasher` makes no such promise), so
/// ids derived from configuration agree everywhere.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator so ["ab","c"] and ["a","bc"] differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The id of a member with these peer URLs in a cluster with this token.
/// `salt` distinguishes members added later with URLs a removed member used
/// (pass 0 for initial members, the raft index of the add for later ones).
/// Never 0 (raft reserves 0 for "none").
pub fn member_id(peer_urls: &[String], cluster_token: &str, salt: u64) -> u64 {
    let mut urls: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    urls.sort_unstable();
    let joined = urls.join(",");
    let salt = salt.to_be_bytes();
    nonzero(fnv1a64(&[
        joined.as_bytes(),
        cluster_token.as_bytes(),
        &salt,
    ]))
}

/// The id of a cluster whose initial members have these ids.
pub fn cluster_id(member_ids: &[u64], cluster_token: &str) -> u64 {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_be_bytes()).collect();
    nonzero(fnv1a64(&[&bytes, cluster_token.as_bytes()]))
}

fn nonzero(id: u64) -> u64 {
    if id == 0 { 1 } else { id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const PINNED_MEMBER_ID: u64 = 13_068_323_934_574_224_450;

    #[test]
    fn ids_depend_on_exactly_urls_token_and_salt() {
        let a = member_id(&urls(&["http://a:2380", "http://b:2380"]), "t", 0);
        assert_eq!(
            a,
            member_id(&urls(&["http://b:2380", "http://a:2380"]), "t", 0)
        );
        assert_ne!(a, member_id(&urls(&["http://a:2380"]), "t", 0));
        assert_ne!(
            a,
            member_id(&urls(&["http://a:2380", "http://b:2380"]), "u", 0)
        );
        assert_ne!(
            a,
            member_id(&urls(&["http://a:2380", "http://b:2380"]), "t", 9)
        );
        // Pinned: ids are persisted and compared across versions.
        assert_eq!(
            member_id(&urls(&["http://127.0.0.1:2380"]), "keel-cluster", 0),
            PINNED_MEMBER_ID
        );
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in [b'a', 0xff] {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        });
    }

    #[test]
    fn cluster_id_ignores_member_order() {
        assert_eq!(cluster_id(&[3, 1, 2], "t"), cluster_id(&[1, 2, 3], "t"));
        assert_ne!(cluster_id(&[1, 2, 3], "t"), cluster_id(&[1, 2], "t"));
    }
}
