//! Static checks of requests and txn compares, with etcd's rules.
//!
//! The checks here need no state: they run where a request enters (before it
//! is proposed) and again when it is applied, so a request that passes is one
//! the state machine can execute.

use super::key_range::KeyRange;
use crate::api::{
    ApiError, Compare, CompareResult, CompareTarget, DeleteRangeRequest, KeyValue, PutRequest,
    RangeRequest, RequestOp, TxnRequest,
};
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// A range needs a key.
pub fn check_range(req: &RangeRequest) -> Result<(), ApiError> {
    if req.key.is_empty() {
        return Err(ApiError::EmptyKey);
    }
    Ok(())
}

/// A put needs a key, and may not give a value or lease it says to ignore.
pub fn check_put(req: &PutRequest) -> Result<(), ApiError> {
    if req.key.is_empty() {
        return Err(ApiError::EmptyKey);
    }
    if req.ignore_value && !req.value.is_empty() {
        return Err(ApiError::ValueProvided);
    }
    if req.ignore_lease && req.lease != 0 {
        return Err(ApiError::LeaseProvided);
    }
    Ok(())
}

/// A delete needs a key.
pub fn check_delete(req: &DeleteRangeRequest) -> Result<(), ApiError> {
    if req.key.is_empty() {
        return Err(ApiError::EmptyKey);
    }
    Ok(())
}

/// Checks a txn: no list (compares, success, failure) longer than
/// `max_txn_ops`, nested txns sharing what is left of that budget; every op
/// well formed; and no key written twice on any path the txn can take.
pub fn check_txn(req: &TxnRequest, max_txn_ops: usize) -> Result<(), ApiError> {
    check_txn_shape(req, max_txn_ops)?;
    writes_of(&req.success)?;
    writes_of(&req.failure)?;
    Ok(())
}

fn check_txn_shape(req: &TxnRequest, max_txn_ops: usize) -> Result<(), ApiError> {
    let ops = req
        .compare
        .len()
        .max(req.success.len())
        .max(req.failure.len());
    if ops > max_txn_ops {
        return Err(ApiError::TooManyOps);
    }
    if req.compare.iter().any(|c| c.key.is_empty()) {
        return Err(ApiError::EmptyKey);
    }
    for op in req.success.iter().chain(&req.failure) {
        match op {
            RequestOp::Range(r) => check_range(r)?,
            RequestOp::Put(r) => check_put(r)?,
            RequestOp::DeleteRange(r) => check_delete(r)?,
            RequestOp::Txn(t) => check_txn_shape(t, max_txn_ops - ops)?,
        }
    }
    Ok(())
}

/// Keys put and ranges deleted by one branch, including nested txns.
#[derive(Default)]
struct Writes {
    puts: BTreeSet<Bytes>,
    deletes: Vec<KeyRange>,
}

impl Writes {
    fn deleted(&self, key: &[u8]) -> bool {
        self.deletes.iter().any(|d| d.contains(key))
    }
}

/// The writes of one branch; a key put twice, or put inside a range the same
/// path deletes, is `DuplicateKey`. Deletes may overlap each other, and the
/// two branches of a nested txn may put the same key (only one runs).
fn writes_of(ops: &[RequestOp]) -> Result<Writes, ApiError> {
    let mut writes = Writes::default();
    for op in ops {
        if let RequestOp::DeleteRange(d) = op {
            writes.deletes.push(KeyRange::new(&d.key, &d.range_end));
        }
    }
    for op in ops {
        let RequestOp::Txn(nested) = op else {
            continue;
        };
        let then = writes_of(&nested.success)?;
        let otherwise = writes_of(&nested.failure)?;
        for key in then
            .puts
            .iter()
            .chain(otherwise.puts.difference(&then.puts))
        {
            if writes.puts.contains(key) || writes.deleted(key) {
                return Err(ApiError::DuplicateKey);
            }
        }
        writes
            .puts
            .extend(then.puts.into_iter().chain(otherwise.puts));
        writes
            .deletes
            .extend(then.deletes.into_iter().chain(otherwise.deletes));
    }
    for op in ops {
        let RequestOp::Put(p) = op else {
            continue;
        };
        if writes.deleted(&p.key) || !writes.puts.insert(p.key.clone()) {
            return Err(ApiError::DuplicateKey);
        }
    }
    Ok(writes)
}

/// Whether `compare` holds for one key's current state (`None`: absent). An
/// absent key has version, revisions and lease 0, and fails every value compare.
pub fn compare_holds(compare: &Compare, kv: Option<&KeyValue>) -> bool {
    let ordering = match (&compare.target, kv) {
        (CompareTarget::Value(_), None) => return false,
        (CompareTarget::Value(v), Some(kv)) => kv.value.as_ref().cmp(v.as_ref()),
        (CompareTarget::Version(v), kv) => kv.map_or(0, |kv| kv.version).cmp(v),
        (CompareTarget::Create(v), kv) => kv.map_or(0, |kv| kv.create_revision).cmp(v),
        (CompareTarget::Mod(v), kv) => kv.map_or(0, |kv| kv.mod_revision).cmp(v),
        (CompareTarget::Lease(v), kv) => kv.map_or(0, |kv| kv.lease).cmp(v),
    };
    match compare.result {
        CompareResult::Equal => ordering == Ordering::Equal,
        CompareResult::Greater => ordering == Ordering::Greater,
        CompareResult::Less => ordering == Ordering::Less,
        CompareResult::NotEqual => ordering != Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn put(k: &str) -> RequestOp {
        RequestOp::Put(PutRequest {
            key: b(k),
            ..PutRequest::default()
        })
    }

    fn del(k: &str, end: &str) -> RequestOp {
        RequestOp::DeleteRange(DeleteRangeRequest {
            key: b(k),
            range_end: b(end),
            prev_kv: false,
        })
    }

    fn txn(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> TxnRequest {
        TxnRequest {
            compare: vec![],
            success,
            failure,
        }
    }

    #[test]
    fn a_key_written_twice_on_one_path_is_refused() {
        let dup = Err(ApiError::DuplicateKey);
        assert_eq!(check_txn(&txn(vec![put("a"), put("a")], vec![]), 128), dup);
        assert_eq!(
            check_txn(&txn(vec![del("a", "c"), put("b")], vec![]), 128),
            dup
        );
        assert_eq!(
            check_txn(&txn(vec![], vec![put("b"), del("b", "")]), 128),
            dup
        );
        assert_eq!(
            check_txn(&txn(vec![del("a", "\0"), put("z")], vec![]), 128),
            dup
        );
        let nested = RequestOp::Txn(txn(vec![put("a")], vec![]));
        assert_eq!(check_txn(&txn(vec![put("a"), nested], vec![]), 128), dup);
        let nested_del = RequestOp::Txn(txn(vec![del("a", "b")], vec![]));
        assert_eq!(
            check_txn(&txn(vec![nested_del, put("a")], vec![]), 128),
            dup
        );
    }

    #[test]
    fn writes_on_different_paths_are_fine() {
        assert_eq!(check_txn(&txn(vec![put("a")], vec![put("a")]), 128), Ok(()));
        let both = RequestOp::Txn(txn(vec![put("a")], vec![put("a")]));
        assert_eq!(check_txn(&txn(vec![both], vec![]), 128), Ok(()));
        assert_eq!(
            check_txn(
                &txn(vec![del("a", "c"), del("b", "d"), put("e")], vec![]),
                128
            ),
            Ok(())
        );
    }

    #[test]
    fn op_budget_is_shared_with_nested_txns() {
        let ops = |n: usize| (0..n).map(|i| put(&format!("k{i}"))).collect::<Vec<_>>();
        assert_eq!(check_txn(&txn(ops(3), vec![]), 3), Ok(()));
        assert_eq!(
            check_txn(&txn(ops(4), vec![]), 3),
            Err(ApiError::TooManyOps)
        );
        let inner = RequestOp::Txn(txn(vec![put("x"), put("y")], vec![]));
        assert_eq!(
            check_txn(&txn(vec![put("a"), inner.clone()], vec![]), 3),
            Err(ApiError::TooManyOps)
        );
        assert_eq!(check_txn(&txn(vec![put("a"), inner], vec![]), 4), Ok(()));
    }

    #[test]
    fn malformed_ops_are_refused() {
        assert_eq!(
            check_txn(&txn(vec![put("")], vec![]), 8),
            Err(ApiError::EmptyKey)
        );
        let ignore = PutRequest {
            key: b("k"),
            value: b("v"),
            ignore_value: true,
            ..PutRequest::default()
        };
        assert_eq!(check_put(&ignore), Err(ApiError::ValueProvided));
        let lease = PutRequest {
            key: b("k"),
            lease: 5,
            ignore_lease: true,
            ..PutRequest::default()
        };
        assert_eq!(check_put(&lease), Err(ApiError::LeaseProvided));
    }

    #[test]
    fn compares_follow_etcd_on_absent_keys() {
        let kv = KeyValue {
            key: b("k"),
            value: b("v"),
            version: 2,
            create_revision: 3,
            mod_revision: 5,
            lease: 0,
        };
        let cmp = |result, target| Compare {
            result,
            target,
            key: b("k"),
            range_end: Bytes::new(),
        };
        use CompareResult::*;
        assert!(compare_holds(&cmp(Equal, CompareTarget::Version(0)), None));
        assert!(!compare_holds(
            &cmp(Equal, CompareTarget::Value(b(""))),
            None
        ));
        assert!(!compare_holds(
            &cmp(NotEqual, CompareTarget::Value(b("x"))),
            None
        ));
        assert!(compare_holds(
            &cmp(Greater, CompareTarget::Mod(4)),
            Some(&kv)
        ));
        assert!(!compare_holds(
            &cmp(Greater, CompareTarget::Mod(5)),
            Some(&kv)
        ));
        assert!(compare_holds(
            &cmp(Less, CompareTarget::Create(4)),
            Some(&kv)
        ));
        assert!(compare_holds(
            &cmp(NotEqual, CompareTarget::Value(b("w"))),
            Some(&kv)
        ));
        assert!(compare_holds(
            &cmp(Equal, CompareTarget::Lease(0)),
            Some(&kv)
        ));
    }
}
