//! Authentication and role-based access, as etcd 3.4 has it: users with
//! passwords and roles, roles with permissions on keys, ranges and prefixes,
//! the `root` user and role, and the auth-enabled flag.
//!
//! Every change goes through raft and bumps the auth revision (enabling
//! excepted, as in etcd); a caller's identity carries the auth revision it
//! was established at, and a request made with an older one is refused.

use super::ResponseHeader;
use bytes::Bytes;

/// The user that may do everything once auth is enabled, and must exist
/// (with the [`ROOT_ROLE`]) before it can be.
pub const ROOT_USER: &str = "root";

/// The role that grants everything; it need not exist to be granted.
pub const ROOT_ROLE: &str = "root";

/// What a permission allows on its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PermissionType {
    /// Range requests and watches.
    Read,
    /// Puts and deletes.
    Write,
    /// Both.
    ReadWrite,
}

impl PermissionType {
    /// Whether this permission allows reading.
    pub fn reads(self) -> bool {
        matches!(self, PermissionType::Read | PermissionType::ReadWrite)
    }

    /// Whether this permission allows writing.
    pub fn writes(self) -> bool {
        matches!(self, PermissionType::Write | PermissionType::ReadWrite)
    }
}

/// Access to one key (`range_end` empty), the range `[key, range_end)`, or
/// every key from `key` on (`range_end` is `\0`), etcd's encoding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// What is allowed.
    pub perm_type: PermissionType,
    /// The key, or the range's start.
    pub key: Bytes,
    /// Empty for one key; `\0` for "every key from `key` on"; else the
    /// range's exclusive end.
    pub range_end: Bytes,
}

/// How a new user proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A password as the client sent it; hashed by the member that takes
    /// the request, before it is proposed (never stored or replicated).
    Password(String),
    /// A bcrypt hash: what is proposed, replicated and stored.
    Hash(String),
    /// etcd's `--no-password` user: authenticates only by a TLS client
    /// certificate whose CommonName is its name.
    NoPassword,
}

/// A request to the auth store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRequest {
    /// Turns authentication on (needs `root` with the `root` role).
    Enable,
    /// Turns authentication off.
    Disable,
    /// Checks a user's password; on success a token for the user.
    Authenticate {
        /// The user.
        name: String,
        /// The password, as the client sent it.
        password: String,
    },
    /// Inside a member only, once a password has been checked: makes
    /// `token` stand for `name` on every member (through raft, so any
    /// member honours it). Refused from clients.
    IssueToken {
        /// The user.
        name: String,
        /// The token, drawn at random by the member that checked.
        token: String,
    },
    /// Adds a user.
    UserAdd {
        /// The user's name (not empty).
        name: String,
        /// Its password or hash, or none.
        credential: Credential,
    },
    /// A user's roles.
    UserGet {
        /// The user.
        name: String,
    },
    /// Every user's name.
    UserList,
    /// Deletes a user.
    UserDelete {
        /// The user.
        name: String,
    },
    /// Changes a user's password.
    UserChangePassword {
        /// The user.
        name: String,
        /// The new password or its hash.
        credential: Credential,
    },
    /// Grants a role to a user.
    UserGrantRole {
        /// The user.
        user: String,
        /// The role.
        role: String,
    },
    /// Revokes a role from a user.
    UserRevokeRole {
        /// The user.
        name: String,
        /// The role.
        role: String,
    },
    /// Adds a role.
    RoleAdd {
        /// The role's name (not empty).
        name: String,
    },
    /// A role's permissions.
    RoleGet {
        /// The role.
        role: String,
    },
    /// Every role's name.
    RoleList,
    /// Deletes a role (and revokes it from every user).
    RoleDelete {
        /// The role.
        role: String,
    },
    /// Grants a permission to a role (replacing the type of an existing
    /// permission on the same key and range end).
    RoleGrantPermission {
        /// The role.
        name: String,
        /// The permission.
        perm: Permission,
    },
    /// Revokes the permission on exactly `key` and `range_end` from a role.
    RoleRevokePermission {
        /// The role.
        role: String,
        /// The permission's key.
        key: Bytes,
        /// The permission's range end.
        range_end: Bytes,
    },
}

impl AuthRequest {
    /// Whether the request only reads the auth store.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            AuthRequest::Authenticate { .. }
                | AuthRequest::UserGet { .. }
                | AuthRequest::UserList
                | AuthRequest::RoleGet { .. }
                | AuthRequest::RoleList
        )
    }
}

/// What an auth request answers, besides its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAnswer {
    /// A change was made (or was already in place).
    Done,
    /// [`AuthRequest::Authenticate`]: the password matched.
    Authenticated {
        /// The token that stands for the user from now on.
        token: String,
        /// The auth revision the identity is valid at.
        revision: u64,
    },
    /// [`AuthRequest::UserGet`]: the user's roles, sorted.
    Roles(Vec<String>),
    /// [`AuthRequest::UserList`]: every user's name, sorted.
    Users(Vec<String>),
    /// [`AuthRequest::RoleGet`]: the role's permissions, sorted by key.
    Permissions(Vec<Permission>),
    /// [`AuthRequest::RoleList`]: every role's name, sorted.
    RoleNames(Vec<String>),
    /// Inside a member only: the stored hash an
    /// [`AuthRequest::Authenticate`]'s password is checked against, off the
    /// member's own task, before the caller gets `Authenticated` or
    /// `AuthFailed`. Never sent to a client.
    PasswordHash {
        /// The user's bcrypt hash.
        hash: String,
        /// The auth revision the hash was read at.
        revision: u64,
    },
}

/// How a caller identifies itself to a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing: anonymous (refused everything checked once auth is on).
    #[default]
    None,
    /// A token from [`AuthRequest::Authenticate`].
    Token(String),
    /// The CommonName of a verified TLS client certificate (etcd's
    /// `--client-cert-auth`): the user of that name.
    CommonName(String),
    /// The member itself (its corruption checks), or a peer acting for a
    /// client it has checked already (a promote forwarded to the leader):
    /// not checked again. Never made from anything a client sends.
    Member,
}

/// The answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// What the request answers.
    pub answer: AuthAnswer,
}
