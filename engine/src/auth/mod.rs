//! The auth store: users, roles, their permissions, the enabled flag and the
//! auth revision, with etcd 3.4's rules for changing them and for checking a
//! request against them.
//!
//! Invariants:
//! - Changing is deterministic: the same requests on the same store give
//!   the same store and answers on every member. Passwords arrive hashed
//!   (the member that takes a request hashes it with a salt of its own
//!   drawing before proposing), so no member hashes while applying.
//! - Every successful change but `Enable` bumps the revision by one, as in
//!   etcd; an identity (user, revision) older than the store's revision is
//!   refused, so a permission change takes effect for every later request.
//! - What [`AuthStore::apply`] changes, it also returns as tree writes; the
//!   state machine stores them with the entry that made them, and
//!   [`AuthStore::load`] rebuilds the same store from the tree.

mod password;
mod permissions;
pub(crate) mod records;
mod requests;

pub use password::{DEFAULT_BCRYPT_COST, HashError, hash_password, verify_password};
pub use permissions::{KeySet, UserPermissions};
pub use requests::check_request;

use crate::api::{ApiError, AuthAnswer, AuthRequest, Credential, Permission, ROOT_ROLE, ROOT_USER};
use crate::wire::WireError;
use bytes::Bytes;
use std::collections::BTreeMap;

/// A user as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// Its password's bcrypt hash; `None` for a user without a password.
    pub hash: Option<String>,
    /// Its roles, sorted, without duplicates.
    pub roles: Vec<String>,
}

/// A role as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The role's name.
    pub name: String,
    /// Its permissions, sorted by key (etcd's order).
    pub perms: Vec<Permission>,
}

/// Who makes a request: a user, and the auth revision at which its identity
/// was established (at authentication).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthInfo {
    /// The user's name.
    pub user: String,
    /// The auth revision the identity was established at.
    pub revision: u64,
}

/// What a request needs on its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading (range, watch, compares).
    Read,
    /// Writing (put, delete).
    Write,
}

/// A write to the auth tree: `None` deletes the key.
pub type TreeWrite = (Bytes, Option<Bytes>);

/// Users, roles, the enabled flag and the auth revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthStore {
    enabled: bool,
    revision: u64,
    users: BTreeMap<String, User>,
    roles: BTreeMap<String, Role>,
    /// Each user's permissions over all its roles (rebuilt on each change).
    merged: BTreeMap<String, UserPermissions>,
}

impl AuthStore {
    /// Rebuilds the store from the `(key, value)` pairs of its tree.
    pub fn load<'a>(
        entries: impl IntoIterator<Item = (&'a [u8], &'a Bytes)>,
    ) -> Result<AuthStore, WireError> {
        let mut store = AuthStore::default();
        for (key, value) in entries {
            match records::decode_key(key)? {
                records::AuthKey::Enabled => store.enabled = records::decode_enabled(value)?,
                records::AuthKey::Revision => store.revision = records::decode_revision(value)?,
                records::AuthKey::User(name) => {
                    let user = records::decode_user(name.clone(), value)?;
                    store.users.insert(name, user);
                }
                records::AuthKey::Role(name) => {
                    let role = records::decode_role(name.clone(), value)?;
                    store.roles.insert(name, role);
                }
            }
        }
        store.remerge();
        Ok(store)
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The auth revision: how many changes the store has seen.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// A user, if it exists.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// Whether user `name` exists and has `role`.
    pub fn has_role(&self, name: &str, role: &str) -> bool {
        self.users
            .get(name)
            .is_some_and(|u| u.roles.iter().any(|r| r == role))
    }

    /// Answers a request that only reads. `Authenticate` answers with the
    /// stored hash to check the password against (see
    /// [`AuthAnswer::PasswordHash`]), never with a verdict: checking a
    /// bcrypt hash is too slow for the member's own task.
    pub fn read(&self, request: &AuthRequest) -> Result<AuthAnswer, ApiError> {
        match request {
            AuthRequest::Authenticate { name, .. } => {
                if !self.enabled {
                    return Err(ApiError::AuthNotEnabled);
                }
                let user = self.users.get(name).ok_or(ApiError::AuthFailed)?;
                let hash = user.hash.clone().ok_or(ApiError::NoPasswordUser)?;
                Ok(AuthAnswer::PasswordHash {
                    hash,
                    revision: self.revision,
                })
            }
            AuthRequest::UserGet { name } => {
                let user = self.users.get(name).ok_or(ApiError::UserNotFound)?;
                Ok(AuthAnswer::Roles(user.roles.clone()))
            }
            AuthRequest::UserList => Ok(AuthAnswer::Users(self.users.keys().cloned().collect())),
            AuthRequest::RoleGet { role } => {
                let role = self.roles.get(role).ok_or(ApiError::RoleNotFound)?;
                Ok(AuthAnswer::Permissions(role.perms.clone()))
            }
            AuthRequest::RoleList => {
                Ok(AuthAnswer::RoleNames(self.roles.keys().cloned().collect()))
            }
            other => Err(ApiError::BadRequest(format!("{other:?} is not a read"))),
        }
    }

    /// Applies a change; on success returns the answer and the tree writes
    /// that record it. A refused change changes nothing.
    pub fn apply(
        &mut self,
        request: &AuthRequest,
    ) -> Result<(AuthAnswer, Vec<TreeWrite>), ApiError> {
        let mut writes = Vec::new();
        match request {
            AuthRequest::Enable => {
                if self.enabled {
                    return Ok((AuthAnswer::Done, writes));
                }
                let root = self
                    .users
                    .get(ROOT_USER)
                    .ok_or(ApiError::RootUserNotExist)?;
                if !has_root_role(root) {
                    return Err(ApiError::RootRoleNotExist);
                }
                self.enabled = true;
                writes.push(self.enabled_write());
                // etcd does not bump the revision on enable.
                return Ok((AuthAnswer::Done, writes));
            }
            AuthRequest::IssueToken { name, token } => {
                // Checked again here: the user may have gone, or auth been
                // turned off, since the password was checked.
                if !self.enabled {
                    return Err(ApiError::AuthNotEnabled);
                }
                let user = self.users.get(name).ok_or(ApiError::AuthFailed)?;
                if user.hash.is_none() {
                    return Err(ApiError::AuthFailed);
                }
                let answer = AuthAnswer::Authenticated {
                    token: token.clone(),
                    revision: self.revision,
                };
                return Ok((answer, writes));
            }
            AuthRequest::Disable => {
                if !self.enabled {
                    return Ok((AuthAnswer::Done, writes));
                }
                self.enabled = false;
                writes.push(self.enabled_write());
            }
            AuthRequest::UserAdd { name, credential } => {
                if name.is_empty() {
                    return Err(ApiError::UserEmpty);
                }
                let hash = stored_hash(credential)?;
                if self.users.contains_key(name) {
                    return Err(ApiError::UserAlreadyExist);
                }
                let user = User {
                    name: name.clone(),
                    hash,
                    roles: Vec::new(),
                };
                writes.push(self.put_user(user));
            }
            AuthRequest::UserDelete { name } => {
                if self.enabled && name == ROOT_USER {
                    return Err(ApiError::InvalidAuthMgmt);
                }
                if self.users.remove(name).is_none() {
                    return Err(ApiError::UserNotFound);
                }
                writes.push((records::user_key(name), None));
            }
            AuthRequest::UserChangePassword { name, credential } => {
                let hash = stored_hash(credential)?;
                let mut user = self.users.get(name).ok_or(ApiError::UserNotFound)?.clone();
                // etcd 3.4 gives a user without a password one this way.
                user.hash = hash;
                writes.push(self.put_user(user));
            }
            AuthRequest::UserGrantRole { user, role } => {
                let mut changed = self.users.get(user).ok_or(ApiError::UserNotFound)?.clone();
                if role != ROOT_ROLE && !self.roles.contains_key(role) {
                    return Err(ApiError::RoleNotFound);
                }
                match changed.roles.binary_search(role) {
                    // etcd answers success and changes nothing.
                    Ok(_) => return Ok((AuthAnswer::Done, writes)),
                    Err(at) => changed.roles.insert(at, role.clone()),
                }
                writes.push(self.put_user(changed));
            }
            AuthRequest::UserRevokeRole { name, role } => {
                if self.enabled && name == ROOT_USER && role == ROOT_ROLE {
                    return Err(ApiError::InvalidAuthMgmt);
                }
                let mut changed = self.users.get(name).ok_or(ApiError::UserNotFound)?.clone();
                let before = changed.roles.len();
                changed.roles.retain(|r| r != role);
                if changed.roles.len() == before {
                    return Err(ApiError::RoleNotGranted);
                }
                writes.push(self.put_user(changed));
            }
            AuthRequest::RoleAdd { name } => {
                if name.is_empty() {
                    return Err(ApiError::RoleEmpty);
                }
                if self.roles.contains_key(name) {
                    return Err(ApiError::RoleAlreadyExist);
                }
                writes.push(self.put_role(Role {
                    name: name.clone(),
                    perms: Vec::new(),
                }));
            }
            AuthRequest::RoleDelete { role } => {
                if self.enabled && role == ROOT_ROLE {
                    return Err(ApiError::InvalidAuthMgmt);
                }
                if self.roles.remove(role).is_none() {
                    return Err(ApiError::RoleNotFound);
                }
                writes.push((records::role_key(role), None));
                let holders: Vec<User> = self
                    .users
                    .values()
                    .filter(|u| u.roles.contains(role))
                    .cloned()
                    .collect();
                for mut user in holders {
                    user.roles.retain(|r| r != role);
                    writes.push(self.put_user(user));
                }
            }
            AuthRequest::RoleGrantPermission { name, perm } => {
                let mut role = self.roles.get(name).ok_or(ApiError::RoleNotFound)?.clone();
                // etcd looks at the first permission with this key only:
                // the same range end updates its type, else the new one
                // goes after every permission with the same key.
                let first = role.perms.partition_point(|p| p.key < perm.key);
                match role.perms.get_mut(first) {
                    Some(existing)
                        if existing.key == perm.key && existing.range_end == perm.range_end =>
                    {
                        existing.perm_type = perm.perm_type
                    }
                    _ => {
                        let at = role.perms.partition_point(|p| p.key <= perm.key);
                        role.perms.insert(at, perm.clone());
                    }
                }
                writes.push(self.put_role(role));
            }
            AuthRequest::RoleRevokePermission {
                role,
                key,
                range_end,
            } => {
                let mut changed = self.roles.get(role).ok_or(ApiError::RoleNotFound)?.clone();
                let before = changed.perms.len();
                changed
                    .perms
                    .retain(|p| !(p.key == *key && p.range_end == *range_end));
                if changed.perms.len() == before {
                    return Err(ApiError::PermissionNotGranted);
                }
                writes.push(self.put_role(changed));
            }
            read => return self.read(read).map(|answer| (answer, writes)),
        }
        self.revision += 1;
        writes.push((
            Bytes::from_static(records::REVISION_KEY),
            Some(records::encode_revision(self.revision)),
        ));
        self.remerge();
        Ok((AuthAnswer::Done, writes))
    }

    /// etcd's check for a key request: allowed when auth is off; otherwise
    /// the caller must be known (`UserEmpty`), current (`AuthOldRevision`),
    /// exist (`PermissionDenied`), and hold the root role or a permission
    /// covering every key of the range (`PermissionDenied`).
    pub fn check(
        &self,
        who: Option<&AuthInfo>,
        key: &[u8],
        range_end: &[u8],
        access: Access,
    ) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let who = who.filter(|w| w.revision != 0).ok_or(ApiError::UserEmpty)?;
        if who.revision < self.revision {
            return Err(ApiError::AuthOldRevision);
        }
        let user = self
            .users
            .get(&who.user)
            .ok_or(ApiError::PermissionDenied)?;
        if has_root_role(user) {
            return Ok(());
        }
        let perms = self
            .merged
            .get(&who.user)
            .ok_or(ApiError::PermissionDenied)?;
        let set = match access {
            Access::Read => &perms.read,
            Access::Write => &perms.write,
        };
        if set.covers(key, range_end) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied)
        }
    }

    /// etcd's check for administration (members, maintenance, auth
    /// changes, compaction): allowed when auth is off; otherwise only to a
    /// user with the root role. etcd does not check the revision here.
    pub fn check_admin(&self, who: Option<&AuthInfo>) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let who = who
            .filter(|w| !w.user.is_empty())
            .ok_or(ApiError::UserEmpty)?;
        let user = self.users.get(&who.user).ok_or(ApiError::UserNotFound)?;
        if has_root_role(user) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied)
        }
    }

    fn enabled_write(&self) -> TreeWrite {
        (
            Bytes::from_static(records::ENABLED_KEY),
            Some(Bytes::copy_from_slice(&[u8::from(self.enabled)])),
        )
    }

    fn put_user(&mut self, user: User) -> TreeWrite {
        let write = (
            records::user_key(&user.name),
            Some(records::encode_user(&user)),
        );
        self.users.insert(user.name.clone(), user);
        write
    }

    fn put_role(&mut self, role: Role) -> TreeWrite {
        let write = (
            records::role_key(&role.name),
            Some(records::encode_role(&role)),
        );
        self.roles.insert(role.name.clone(), role);
        write
    }

    fn remerge(&mut self) {
        let roles = &self.roles;
        self.merged = self
            .users
            .values()
            .map(|user| {
                let perms = user
                    .roles
                    .iter()
                    .filter_map(|name| roles.get(name))
                    .flat_map(|role| role.perms.iter());
                (user.name.clone(), UserPermissions::merge(perms))
            })
            .collect();
    }
}

fn has_root_role(user: &User) -> bool {
    user.roles.iter().any(|r| r == ROOT_ROLE)
}

/// What a credential stores: a plain password never reaches the store.
fn stored_hash(credential: &Credential) -> Result<Option<String>, ApiError> {
    match credential {
        Credential::Hash(hash) => Ok(Some(hash.clone())),
        Credential::NoPassword => Ok(None),
        Credential::Password(_) => Err(ApiError::BadRequest(
            "a password must be hashed before it is proposed".into(),
        )),
    }
}

#[cfg(test)]
mod tests;
