//! How the auth store is kept in its tree (integers big-endian, strings and
//! byte strings length-prefixed by the wire codec):
//!
//! ```text
//! key "enabled"      → 0 | 1
//! key "revision"     → u64
//! key "user/" name   → 0x01 | has_hash u8 | hash | roles (strings, sorted)
//! key "role/" name   → 0x01 | count u32 | (type u8 | key | range_end)*
//! ```
//! Decoding checks every length against the bytes present.

use super::{Role, User};
use crate::api::{Permission, PermissionType};
use crate::wire::codec::{put_bytes, put_count, put_strings};
use crate::wire::{Reader, WireError};
use bytes::{BufMut, Bytes, BytesMut};

const VERSION: u8 = 1;

/// The key of the enabled flag.
pub(super) const ENABLED_KEY: &[u8] = b"enabled";
/// The key of the auth revision.
pub(super) const REVISION_KEY: &[u8] = b"revision";
const USER_PREFIX: &[u8] = b"user/";
const ROLE_PREFIX: &[u8] = b"role/";

/// A key of the auth tree, decoded.
pub(super) enum AuthKey {
    Enabled,
    Revision,
    User(String),
    Role(String),
}

fn named(prefix: &[u8], name: &str) -> Bytes {
    let mut key = BytesMut::with_capacity(prefix.len() + name.len());
    key.put_slice(prefix);
    key.put_slice(name.as_bytes());
    key.freeze()
}

/// The key a user is kept under.
pub(super) fn user_key(name: &str) -> Bytes {
    named(USER_PREFIX, name)
}

/// The key a role is kept under.
pub(super) fn role_key(name: &str) -> Bytes {
    named(ROLE_PREFIX, name)
}

/// What a key of the auth tree names.
pub(super) fn decode_key(key: &[u8]) -> Result<AuthKey, WireError> {
    let text = |rest: &[u8]| {
        String::from_utf8(rest.to_vec())
            .map_err(|_| WireError::malformed("auth key", "name is not UTF-8"))
    };
    if key == ENABLED_KEY {
        Ok(AuthKey::Enabled)
    } else if key == REVISION_KEY {
        Ok(AuthKey::Revision)
    } else if let Some(name) = key.strip_prefix(USER_PREFIX) {
        Ok(AuthKey::User(text(name)?))
    } else if let Some(name) = key.strip_prefix(ROLE_PREFIX) {
        Ok(AuthKey::Role(text(name)?))
    } else {
        Err(WireError::malformed(
            "auth key",
            format!("unknown key of {} bytes", key.len()),
        ))
    }
}

/// Encodes a user (its name is its key).
pub(super) fn encode_user(user: &User) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_u8(VERSION);
    match &user.hash {
        Some(hash) => {
            buf.put_u8(1);
            put_bytes(&mut buf, hash.as_bytes());
        }
        None => buf.put_u8(0),
    }
    put_strings(&mut buf, &user.roles);
    buf.freeze()
}

/// Decodes [`encode_user`].
pub(super) fn decode_user(name: String, value: &Bytes) -> Result<User, WireError> {
    let mut r = Reader::new(value.clone());
    version(&mut r)?;
    let hash = match r.u8("password flag")? {
        0 => None,
        1 => Some(r.string("password hash")?),
        tag => {
            return Err(WireError::malformed(
                "password flag",
                format!("unknown tag {tag}"),
            ));
        }
    };
    let roles = r.strings("user roles")?;
    r.finish()?;
    Ok(User { name, hash, roles })
}

/// Encodes a role (its name is its key).
pub(super) fn encode_role(role: &Role) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_u8(VERSION);
    put_count(&mut buf, role.perms.len());
    for perm in &role.perms {
        encode_permission(&mut buf, perm);
    }
    buf.freeze()
}

/// Decodes [`encode_role`].
pub(super) fn decode_role(name: String, value: &Bytes) -> Result<Role, WireError> {
    let mut r = Reader::new(value.clone());
    version(&mut r)?;
    let perms = r.list("role permissions", 9, decode_permission)?;
    r.finish()?;
    Ok(Role { name, perms })
}

/// A permission: type, key, range end.
pub(crate) fn encode_permission(buf: &mut BytesMut, perm: &Permission) {
    buf.put_u8(match perm.perm_type {
        PermissionType::Read => 0,
        PermissionType::Write => 1,
        PermissionType::ReadWrite => 2,
    });
    put_bytes(buf, &perm.key);
    put_bytes(buf, &perm.range_end);
}

/// Decodes [`encode_permission`].
pub(crate) fn decode_permission(r: &mut Reader) -> Result<Permission, WireError> {
    let perm_type = match r.u8("permission type")? {
        0 => PermissionType::Read,
        1 => PermissionType::Write,
        2 => PermissionType::ReadWrite,
        tag => {
            return Err(WireError::malformed(
                "permission type",
                format!("unknown type {tag}"),
            ));
        }
    };
    Ok(Permission {
        perm_type,
        key: r.bytes("permission key")?,
        range_end: r.bytes("permission range end")?,
    })
}

fn version(r: &mut Reader) -> Result<(), WireError> {
    match r.u8("auth record version")? {
        VERSION => Ok(()),
        other => Err(WireError::malformed(
            "auth record version",
            format!("unknown version {other}"),
        )),
    }
}

/// Encodes the revision.
pub(super) fn encode_revision(revision: u64) -> Bytes {
    Bytes::copy_from_slice(&revision.to_be_bytes())
}

/// Decodes [`encode_revision`].
pub(super) fn decode_revision(value: &Bytes) -> Result<u64, WireError> {
    let mut r = Reader::new(value.clone());
    let revision = r.u64("auth revision")?;
    r.finish()?;
    Ok(revision)
}

/// Decodes the enabled flag.
pub(super) fn decode_enabled(value: &[u8]) -> Result<bool, WireError> {
    match value {
        [0] => Ok(false),
        [1] => Ok(true),
        _ => Err(WireError::malformed(
            "auth enabled flag",
            format!("{} bytes", value.len()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_roles_survive_encoding() {
        let user = User {
            name: "alice".into(),
            hash: Some("$2b$04$abcdefghijklmnopqrstuu".into()),
            roles: vec!["a".into(), "root".into()],
        };
        assert_eq!(
            decode_user("alice".into(), &encode_user(&user)).ok(),
            Some(user)
        );
        let bare = User {
            name: "cn".into(),
            hash: None,
            roles: vec![],
        };
        assert_eq!(
            decode_user("cn".into(), &encode_user(&bare)).ok(),
            Some(bare)
        );
        let role = Role {
            name: "r".into(),
            perms: vec![Permission {
                perm_type: PermissionType::ReadWrite,
                key: Bytes::from_static(b"k"),
                range_end: Bytes::from_static(b"\0"),
            }],
        };
        assert_eq!(
            decode_role("r".into(), &encode_role(&role)).ok(),
            Some(role)
        );
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let user = encode_user(&User {
            name: "u".into(),
            hash: Some("h".into()),
            roles: vec!["x".into()],
        });
        for cut in 0..user.len() {
            assert!(decode_user("u".into(), &user.slice(..cut)).is_err());
        }
        assert!(decode_role("r".into(), &Bytes::from_static(&[1, 0, 0, 0, 1, 7])).is_err());
        assert!(decode_enabled(&[2]).is_err());
        assert!(decode_key(b"other").is_err());
    }
}
