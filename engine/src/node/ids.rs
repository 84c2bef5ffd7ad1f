//! Member and cluster ids: stable functions of URLs and the cluster token,
//! the same functions etcd uses, so a cluster started with etcd's flags
//! gets the ids etcd would give it (tools and tests compare them).

use sha1::{Digest, Sha1};

/// The first 8 bytes of the SHA-1 of `bytes`, big-endian; never 0 (raft
/// reserves 0 for "none").
fn sha1_id(bytes: &[u8]) -> u64 {
    let digest = Sha1::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    match u64::from_be_bytes(first) {
        0 => 1,
        id => id,
    }
}

/// The id of a member with these peer URLs in a cluster with this token:
/// etcd's (the hash of the sorted URLs, concatenated, then the token).
/// `salt` distinguishes members added later with URLs a removed member used:
/// 0 for initial members (etcd's ids exactly), otherwise the raft index of
/// the add, appended in decimal where etcd appends the time of the add.
pub fn member_id(peer_urls: &[String], cluster_token: &str, salt: u64) -> u64 {
    let mut urls: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    urls.sort_unstable();
    let mut bytes: Vec<u8> = urls.concat().into_bytes();
    bytes.extend_from_slice(cluster_token.as_bytes());
    if salt != 0 {
        bytes.extend_from_slice(salt.to_string().as_bytes());
    }
    sha1_id(&bytes)
}

/// The id of a cluster whose initial members have these ids: etcd's (the
/// hash of the sorted ids, 8 big-endian bytes each).
pub fn cluster_id(member_ids: &[u64]) -> u64 {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_be_bytes()).collect();
    sha1_id(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

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
    }

    /// Ids etcd 3.4.23 gave clusters started with these flags (read from
    /// its `member list` and `endpoint status`): ids are persisted and
    /// compared, and they must stay etcd's.
    #[test]
    fn ids_are_the_ones_etcd_gives() {
        // etcd --name default (its defaults): member 8e9e05c52164694d,
        // cluster cdf818194e3a8c32.
        let default = member_id(&urls(&["http://localhost:2380"]), "etcd-cluster", 0);
        assert_eq!(default, 0x8e9e_05c5_2164_694d);
        assert_eq!(cluster_id(&[default]), 0xcdf8_1819_4e3a_8c32);
        // etcd's e2e suite (one member, peer auto TLS, token "new"): the
        // cluster id whose protobuf varint TestCtlV3GetFormat expects
        // (93 e7 f6 93 d4 c5 86 e1 34).
        let e2e = member_id(&urls(&["https://localhost:20001"]), "new", 0);
        let mut varint = Vec::new();
        let mut rest = cluster_id(&[e2e]);
        while rest >= 0x80 {
            varint.push((rest as u8) | 0x80);
            rest >>= 7;
        }
        varint.push(rest as u8);
        assert_eq!(
            varint,
            [0x93, 0xe7, 0xf6, 0x93, 0xd4, 0xc5, 0x86, 0xe1, 0x34]
        );
    }

    #[test]
    fn cluster_id_ignores_member_order() {
        assert_eq!(cluster_id(&[3, 1, 2]), cluster_id(&[1, 2, 3]));
        assert_ne!(cluster_id(&[1, 2, 3]), cluster_id(&[1, 2]));
    }
}
