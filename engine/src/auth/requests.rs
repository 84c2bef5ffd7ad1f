//! Which permission each client request needs, as etcd 3.4 checks them:
//! key requests against the caller's read and write permissions, the rest
//! against the root role, some not at all.
//!
//! One deliberate difference: etcd 3.4 does not look inside a txn nested in
//! a txn's branch; Keel checks nested operations like any other (a nested
//! put needs write permission on its key).

use super::{Access, AuthInfo, AuthStore};
use crate::api::ApiError;
use crate::api::{AuthRequest, Request, RequestOp, TxnRequest};
use bytes::Bytes;

/// Checks `request`, made by `who`, against `store`. `lease_keys` gives the
/// keys attached to a lease (a put that attaches a lease, and a lease
/// revoke, need write permission on each). Allowed when auth is off.
pub fn check_request(
    store: &AuthStore,
    who: Option<&AuthInfo>,
    request: &Request,
    lease_keys: &dyn Fn(i64) -> Vec<Bytes>,
) -> Result<(), ApiError> {
    if !store.enabled() {
        return Ok(());
    }
    let key_check = |key: &[u8], range_end: &[u8], access| store.check(who, key, range_end, access);
    match request {
        Request::Range(r) => key_check(&r.key, &r.range_end, Access::Read),
        Request::Put(p) => {
            key_check(&p.key, &[], Access::Write)?;
            if p.lease != 0 {
                for key in lease_keys(p.lease) {
                    key_check(&key, &[], Access::Write)?;
                }
            }
            if p.prev_kv {
                key_check(&p.key, &[], Access::Read)?;
            }
            Ok(())
        }
        Request::DeleteRange(d) => {
            key_check(&d.key, &d.range_end, Access::Write)?;
            if d.prev_kv {
                key_check(&d.key, &d.range_end, Access::Read)?;
            }
            Ok(())
        }
        Request::Txn(t) => check_txn(store, who, t),
        Request::LeaseRevoke(r) => {
            for key in lease_keys(r.id) {
                key_check(&key, &[], Access::Write)?;
            }
            Ok(())
        }
        Request::MemberAdd(_)
        | Request::MemberRemove(_)
        | Request::MemberUpdate(_)
        | Request::MemberPromote(_)
        | Request::HashKv(_)
        | Request::Defragment => store.check_admin(who),
        Request::Auth(a) => check_auth(store, who, a),
        // etcd 3.4 checks none of these: compaction, leases but revoke,
        // alarms, status, the member list, leader transfer.
        Request::Compact(_)
        | Request::MemberList(_)
        | Request::Status
        | Request::Alarm(_)
        | Request::MoveLeader(_)
        | Request::LeaseGrant(_)
        | Request::LeaseKeepAlive(_)
        | Request::LeaseTimeToLive(_)
        | Request::LeaseLeases => Ok(()),
    }
}

fn check_txn(store: &AuthStore, who: Option<&AuthInfo>, txn: &TxnRequest) -> Result<(), ApiError> {
    for compare in &txn.compare {
        store.check(who, &compare.key, &compare.range_end, Access::Read)?;
    }
    for op in txn.success.iter().chain(&txn.failure) {
        match op {
            RequestOp::Range(r) => store.check(who, &r.key, &r.range_end, Access::Read)?,
            RequestOp::Put(p) => store.check(who, &p.key, &[], Access::Write)?,
            RequestOp::DeleteRange(d) => {
                if d.prev_kv {
                    store.check(who, &d.key, &d.range_end, Access::Read)?;
                }
                store.check(who, &d.key, &d.range_end, Access::Write)?;
            }
            RequestOp::Txn(nested) => check_txn(store, who, nested)?,
        }
    }
    Ok(())
}

fn check_auth(
    store: &AuthStore,
    who: Option<&AuthInfo>,
    request: &AuthRequest,
) -> Result<(), ApiError> {
    match request {
        AuthRequest::Authenticate { .. } | AuthRequest::IssueToken { .. } => Ok(()),
        // Anyone may read their own roles...
        AuthRequest::UserGet { name } => match store.check_admin(who) {
            Err(_) if who.is_some_and(|w| w.user == *name) => Ok(()),
            other => other,
        },
        // ... and the permissions of a role they have.
        AuthRequest::RoleGet { role } => match store.check_admin(who) {
            Err(_) if who.is_some_and(|w| store.has_role(&w.user, role)) => Ok(()),
            other => other,
        },
        _ => store.check_admin(who),
    }
}
