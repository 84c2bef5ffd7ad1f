//! Auth requests and answers on the wire (the bodies inside
//! `Request::Auth` and `Response::Auth`).

use super::codec::{Decode, Encode, Reader, put_bytes, put_count, put_strings};
use super::error::WireError;
use crate::api::*;
use crate::auth::records::{decode_permission, encode_permission};
use bytes::{BufMut, BytesMut};

fn bad_tag(what: &'static str, tag: u8) -> WireError {
    WireError::malformed(what, format!("unknown tag {tag}"))
}

fn put_str(buf: &mut BytesMut, s: &str) {
    put_bytes(buf, s.as_bytes());
}

impl Encode for Credential {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Credential::Password(p) => {
                buf.put_u8(0);
                put_str(buf, p);
            }
            Credential::Hash(h) => {
                buf.put_u8(1);
                put_str(buf, h);
            }
            Credential::NoPassword => buf.put_u8(2),
        }
    }
}

impl Decode for Credential {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("credential")? {
            0 => Credential::Password(r.string("password")?),
            1 => Credential::Hash(r.string("password hash")?),
            2 => Credential::NoPassword,
            tag => return Err(bad_tag("credential", tag)),
        })
    }
}

impl Encode for AuthRequest {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            AuthRequest::Enable => buf.put_u8(0),
            AuthRequest::Disable => buf.put_u8(1),
            AuthRequest::Authenticate { name, password } => {
                buf.put_u8(2);
                put_str(buf, name);
                put_str(buf, password);
            }
            AuthRequest::UserAdd { name, credential } => {
                buf.put_u8(3);
                put_str(buf, name);
                credential.encode(buf);
            }
            AuthRequest::UserGet { name } => {
                buf.put_u8(4);
                put_str(buf, name);
            }
            AuthRequest::UserList => buf.put_u8(5),
            AuthRequest::UserDelete { name } => {
                buf.put_u8(6);
                put_str(buf, name);
            }
            AuthRequest::UserChangePassword { name, credential } => {
                buf.put_u8(7);
                put_str(buf, name);
                credential.encode(buf);
            }
            AuthRequest::UserGrantRole { user, role } => {
                buf.put_u8(8);
                put_str(buf, user);
                put_str(buf, role);
            }
            AuthRequest::UserRevokeRole { name, role } => {
                buf.put_u8(9);
                put_str(buf, name);
                put_str(buf, role);
            }
            AuthRequest::RoleAdd { name } => {
                buf.put_u8(10);
                put_str(buf, name);
            }
            AuthRequest::RoleGet { role } => {
                buf.put_u8(11);
                put_str(buf, role);
            }
            AuthRequest::RoleList => buf.put_u8(12),
            AuthRequest::RoleDelete { role } => {
                buf.put_u8(13);
                put_str(buf, role);
            }
            AuthRequest::RoleGrantPermission { name, perm } => {
                buf.put_u8(14);
                put_str(buf, name);
                encode_permission(buf, perm);
            }
            AuthRequest::IssueToken { name, token } => {
                buf.put_u8(16);
                put_str(buf, name);
                put_str(buf, token);
            }
            AuthRequest::RoleRevokePermission {
                role,
                key,
                range_end,
            } => {
                buf.put_u8(15);
                put_str(buf, role);
                put_bytes(buf, key);
                put_bytes(buf, range_end);
            }
        }
    }
}

impl Decode for AuthRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("auth request")? {
            0 => AuthRequest::Enable,
            1 => AuthRequest::Disable,
            2 => AuthRequest::Authenticate {
                name: r.string("user name")?,
                password: r.string("password")?,
            },
            3 => AuthRequest::UserAdd {
                name: r.string("user name")?,
                credential: Credential::decode(r)?,
            },
            4 => AuthRequest::UserGet {
                name: r.string("user name")?,
            },
            5 => AuthRequest::UserList,
            6 => AuthRequest::UserDelete {
                name: r.string("user name")?,
            },
            7 => AuthRequest::UserChangePassword {
                name: r.string("user name")?,
                credential: Credential::decode(r)?,
            },
            8 => AuthRequest::UserGrantRole {
                user: r.string("user name")?,
                role: r.string("role name")?,
            },
            9 => AuthRequest::UserRevokeRole {
                name: r.string("user name")?,
                role: r.string("role name")?,
            },
            10 => AuthRequest::RoleAdd {
                name: r.string("role name")?,
            },
            11 => AuthRequest::RoleGet {
                role: r.string("role name")?,
            },
            12 => AuthRequest::RoleList,
            13 => AuthRequest::RoleDelete {
                role: r.string("role name")?,
            },
            14 => AuthRequest::RoleGrantPermission {
                name: r.string("role name")?,
                perm: decode_permission(r)?,
            },
            15 => AuthRequest::RoleRevokePermission {
                role: r.string("role name")?,
                key: r.bytes("permission key")?,
                range_end: r.bytes("permission range end")?,
            },
            16 => AuthRequest::IssueToken {
                name: r.string("user name")?,
                token: r.string("token")?,
            },
            tag => return Err(bad_tag("auth request", tag)),
        })
    }
}

impl Encode for AuthResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        match &self.answer {
            AuthAnswer::Done => buf.put_u8(0),
            AuthAnswer::Authenticated { token, revision } => {
                buf.put_u8(1);
                put_str(buf, token);
                buf.put_u64(*revision);
            }
            AuthAnswer::Roles(names) => {
                buf.put_u8(2);
                put_strings(buf, names);
            }
            AuthAnswer::Users(names) => {
                buf.put_u8(3);
                put_strings(buf, names);
            }
            AuthAnswer::Permissions(perms) => {
                buf.put_u8(4);
                put_count(buf, perms.len());
                for perm in perms {
                    encode_permission(buf, perm);
                }
            }
            AuthAnswer::RoleNames(names) => {
                buf.put_u8(5);
                put_strings(buf, names);
            }
            // Never sent: a member turns it into a verdict first. Should
            // one escape, the hash stays home.
            AuthAnswer::PasswordHash { .. } => buf.put_u8(0),
        }
    }
}

impl Decode for AuthResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let header = ResponseHeader::decode(r)?;
        let answer = match r.u8("auth answer")? {
            0 => AuthAnswer::Done,
            1 => AuthAnswer::Authenticated {
                token: r.string("token")?,
                revision: r.u64("auth revision")?,
            },
            2 => AuthAnswer::Roles(r.strings("roles")?),
            3 => AuthAnswer::Users(r.strings("users")?),
            4 => AuthAnswer::Permissions(r.list("permissions", 9, decode_permission)?),
            5 => AuthAnswer::RoleNames(r.strings("roles")?),
            tag => return Err(bad_tag("auth answer", tag)),
        };
        Ok(AuthResponse { header, answer })
    }
}
