//! The auth store's rules, each as etcd 3.4's `auth/store.go` has it.

use super::*;
use crate::api::PermissionType;
use proptest::prelude::*;

fn hash(h: &str) -> Credential {
    Credential::Hash(h.to_string())
}

fn user_add(name: &str) -> AuthRequest {
    AuthRequest::UserAdd {
        name: name.into(),
        credential: hash("h"),
    }
}

fn grant(user: &str, role: &str) -> AuthRequest {
    AuthRequest::UserGrantRole {
        user: user.into(),
        role: role.into(),
    }
}

fn role_add(name: &str) -> AuthRequest {
    AuthRequest::RoleAdd { name: name.into() }
}

fn perm(t: PermissionType, key: &str, range_end: &str) -> Permission {
    Permission {
        perm_type: t,
        key: Bytes::copy_from_slice(key.as_bytes()),
        range_end: Bytes::copy_from_slice(range_end.as_bytes()),
    }
}

fn grant_perm(role: &str, p: Permission) -> AuthRequest {
    AuthRequest::RoleGrantPermission {
        name: role.into(),
        perm: p,
    }
}

/// Applies every request, each of which must succeed.
fn store_with(requests: &[AuthRequest]) -> AuthStore {
    let mut store = AuthStore::default();
    for r in requests {
        if let Err(e) = store.apply(r) {
            panic!("{r:?}: {e}");
        }
    }
    store
}

fn who(store: &AuthStore, user: &str) -> AuthInfo {
    AuthInfo {
        user: user.into(),
        revision: store.revision(),
    }
}

#[test]
fn enabling_needs_root_with_the_root_role() {
    let mut store = AuthStore::default();
    assert_eq!(
        store.apply(&AuthRequest::Enable),
        Err(ApiError::RootUserNotExist)
    );
    store.apply(&user_add("root")).expect("add root");
    assert_eq!(
        store.apply(&AuthRequest::Enable),
        Err(ApiError::RootRoleNotExist)
    );
    // The root role need not exist to be granted.
    store.apply(&grant("root", "root")).expect("grant root");
    let revision = store.revision();
    store.apply(&AuthRequest::Enable).expect("enable");
    assert!(store.enabled());
    assert_eq!(store.revision(), revision, "enable does not bump");
    // Enabling again is a no-op success.
    assert_eq!(
        store.apply(&AuthRequest::Enable).map(|(a, w)| (a, w.len())),
        Ok((AuthAnswer::Done, 0))
    );
    store.apply(&AuthRequest::Disable).expect("disable");
    assert!(!store.enabled());
    assert_eq!(store.revision(), revision + 1, "disable bumps");
}

#[test]
fn user_and_role_errors_have_etcds_precedence() {
    let mut store = store_with(&[user_add("u"), role_add("r")]);
    let cases = [
        (user_add(""), ApiError::UserEmpty),
        (user_add("u"), ApiError::UserAlreadyExist),
        (
            AuthRequest::UserDelete { name: "x".into() },
            ApiError::UserNotFound,
        ),
        (
            AuthRequest::UserChangePassword {
                name: "x".into(),
                credential: hash("h"),
            },
            ApiError::UserNotFound,
        ),
        (grant("x", "r"), ApiError::UserNotFound),
        (grant("u", "nope"), ApiError::RoleNotFound),
        (
            AuthRequest::UserRevokeRole {
                name: "u".into(),
                role: "r".into(),
            },
            ApiError::RoleNotGranted,
        ),
        (role_add(""), ApiError::RoleEmpty),
        (role_add("r"), ApiError::RoleAlreadyExist),
        (
            AuthRequest::RoleDelete { role: "x".into() },
            ApiError::RoleNotFound,
        ),
        (
            grant_perm("x", perm(PermissionType::Read, "k", "")),
            ApiError::RoleNotFound,
        ),
        (
            AuthRequest::RoleRevokePermission {
                role: "r".into(),
                key: Bytes::from_static(b"k"),
                range_end: Bytes::new(),
            },
            ApiError::PermissionNotGranted,
        ),
        (
            AuthRequest::UserGet { name: "x".into() },
            ApiError::UserNotFound,
        ),
        (
            AuthRequest::RoleGet { role: "x".into() },
            ApiError::RoleNotFound,
        ),
        (
            AuthRequest::Authenticate {
                name: "u".into(),
                password: "p".into(),
            },
            ApiError::AuthNotEnabled,
        ),
    ];
    for (request, error) in cases {
        let before = store.clone();
        assert_eq!(store.apply(&request), Err(error), "{request:?}");
        assert_eq!(store, before, "a refused {request:?} changed the store");
    }
}

#[test]
fn a_plain_password_never_reaches_the_store() {
    let mut store = AuthStore::default();
    let add = AuthRequest::UserAdd {
        name: "u".into(),
        credential: Credential::Password("p".into()),
    };
    assert!(matches!(store.apply(&add), Err(ApiError::BadRequest(_))));
    assert!(store.user("u").is_none());
}

#[test]
fn root_cannot_be_locked_out_while_auth_is_on() {
    let mut store = store_with(&[
        user_add("root"),
        grant("root", "root"),
        role_add("root"),
        AuthRequest::Enable,
    ]);
    for request in [
        AuthRequest::UserDelete {
            name: "root".into(),
        },
        AuthRequest::UserRevokeRole {
            name: "root".into(),
            role: "root".into(),
        },
        AuthRequest::RoleDelete {
            role: "root".into(),
        },
    ] {
        assert_eq!(
            store.apply(&request),
            Err(ApiError::InvalidAuthMgmt),
            "{request:?}"
        );
    }
    // With auth off, all three are allowed.
    store.apply(&AuthRequest::Disable).expect("disable");
    store
        .apply(&AuthRequest::RoleDelete {
            role: "root".into(),
        })
        .expect("delete role root");
    assert_eq!(
        store.read(&AuthRequest::UserGet {
            name: "root".into()
        }),
        Ok(AuthAnswer::Roles(vec![])),
        "deleting a role revokes it from its users"
    );
}

#[test]
fn granting_a_role_twice_changes_nothing_and_roles_stay_sorted() {
    let mut store = store_with(&[user_add("u"), role_add("b"), role_add("a")]);
    store.apply(&grant("u", "b")).expect("b");
    store.apply(&grant("u", "a")).expect("a");
    let revision = store.revision();
    assert_eq!(
        store.apply(&grant("u", "a")).map(|(a, w)| (a, w.len())),
        Ok((AuthAnswer::Done, 0))
    );
    assert_eq!(store.revision(), revision);
    assert_eq!(
        store.read(&AuthRequest::UserGet { name: "u".into() }),
        Ok(AuthAnswer::Roles(vec!["a".into(), "b".into()]))
    );
}

#[test]
fn permissions_are_sorted_by_key_and_regranting_changes_the_type() {
    let mut store = store_with(&[
        role_add("r"),
        grant_perm("r", perm(PermissionType::Read, "m", "")),
        grant_perm("r", perm(PermissionType::Read, "a", "b")),
        grant_perm("r", perm(PermissionType::Write, "m", "n")),
    ]);
    store
        .apply(&grant_perm("r", perm(PermissionType::ReadWrite, "a", "b")))
        .expect("regrant");
    assert_eq!(
        store.read(&AuthRequest::RoleGet { role: "r".into() }),
        Ok(AuthAnswer::Permissions(vec![
            perm(PermissionType::ReadWrite, "a", "b"),
            perm(PermissionType::Read, "m", ""),
            perm(PermissionType::Write, "m", "n"),
        ]))
    );
}

#[test]
fn checks_follow_the_callers_roles_and_revision() {
    let mut store = store_with(&[
        user_add("root"),
        grant("root", "root"),
        user_add("alice"),
        role_add("reader"),
        grant_perm("reader", perm(PermissionType::Read, "foo", "fop")),
        grant("alice", "reader"),
        AuthRequest::Enable,
    ]);
    let alice = who(&store, "alice");
    assert_eq!(
        store.check(Some(&alice), b"foo1", b"", Access::Read),
        Ok(())
    );
    assert_eq!(
        store.check(Some(&alice), b"foo1", b"", Access::Write),
        Err(ApiError::PermissionDenied)
    );
    assert_eq!(
        store.check(Some(&alice), b"foo", b"\0", Access::Read),
        Err(ApiError::PermissionDenied)
    );
    assert_eq!(
        store.check(None, b"foo", b"", Access::Read),
        Err(ApiError::UserEmpty)
    );
    let root = who(&store, "root");
    assert_eq!(store.check(Some(&root), b"", b"\0", Access::Write), Ok(()));
    assert_eq!(store.check_admin(Some(&root)), Ok(()));
    assert_eq!(
        store.check_admin(Some(&alice)),
        Err(ApiError::PermissionDenied)
    );
    let ghost = AuthInfo {
        user: "ghost".into(),
        revision: store.revision(),
    };
    assert_eq!(
        store.check(Some(&ghost), b"foo", b"", Access::Read),
        Err(ApiError::PermissionDenied)
    );
    assert_eq!(store.check_admin(Some(&ghost)), Err(ApiError::UserNotFound));

    // Any change makes identities established before it stale.
    store
        .apply(&grant_perm(
            "reader",
            perm(PermissionType::Write, "foo", "fop"),
        ))
        .expect("grant write");
    assert_eq!(
        store.check(Some(&alice), b"foo1", b"", Access::Read),
        Err(ApiError::AuthOldRevision)
    );
    let alice = who(&store, "alice");
    assert_eq!(
        store.check(Some(&alice), b"foo1", b"", Access::Write),
        Ok(())
    );

    // With auth off, anyone may do anything.
    store.apply(&AuthRequest::Disable).expect("disable");
    assert_eq!(store.check(None, b"x", b"", Access::Write), Ok(()));
    assert_eq!(store.check_admin(None), Ok(()));
}

#[test]
fn authenticate_reads_the_hash_at_the_current_revision() {
    let store = store_with(&[
        user_add("root"),
        grant("root", "root"),
        AuthRequest::UserAdd {
            name: "cn".into(),
            credential: Credential::NoPassword,
        },
        AuthRequest::Enable,
    ]);
    let ask = |name: &str| {
        store.read(&AuthRequest::Authenticate {
            name: name.into(),
            password: "p".into(),
        })
    };
    assert_eq!(
        ask("root"),
        Ok(AuthAnswer::PasswordHash {
            hash: "h".into(),
            revision: store.revision()
        })
    );
    assert_eq!(ask("nobody"), Err(ApiError::AuthFailed));
    assert_eq!(ask("cn"), Err(ApiError::NoPasswordUser));
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("root".to_string()),
        Just("a".to_string()),
        Just("b".to_string()),
        Just(String::new()),
    ]
}

fn arb_request() -> impl Strategy<Value = AuthRequest> {
    let key = || prop_oneof![Just(""), Just("k"), Just("l"), Just("\0")].prop_map(Bytes::from);
    let perm_type = prop_oneof![
        Just(PermissionType::Read),
        Just(PermissionType::Write),
        Just(PermissionType::ReadWrite)
    ];
    prop_oneof![
        Just(AuthRequest::Enable),
        Just(AuthRequest::Disable),
        arb_name().prop_map(|name| AuthRequest::UserAdd {
            name,
            credential: Credential::Hash("h".into())
        }),
        arb_name().prop_map(|name| AuthRequest::UserDelete { name }),
        arb_name().prop_map(|name| AuthRequest::UserChangePassword {
            name,
            credential: Credential::NoPassword
        }),
        (arb_name(), arb_name()).prop_map(|(user, role)| AuthRequest::UserGrantRole { user, role }),
        (arb_name(), arb_name())
            .prop_map(|(name, role)| AuthRequest::UserRevokeRole { name, role }),
        arb_name().prop_map(|name| AuthRequest::RoleAdd { name }),
        arb_name().prop_map(|role| AuthRequest::RoleDelete { role }),
        (arb_name(), perm_type, key(), key()).prop_map(|(name, perm_type, key, range_end)| {
            AuthRequest::RoleGrantPermission {
                name,
                perm: Permission {
                    perm_type,
                    key,
                    range_end,
                },
            }
        }),
        (arb_name(), key(), key()).prop_map(|(role, key, range_end)| {
            AuthRequest::RoleRevokePermission {
                role,
                key,
                range_end,
            }
        }),
    ]
}

proptest! {
    /// Whatever sequence of changes is applied, loading the tree the
    /// writes built gives the same store; the revision counts the changes
    /// that did something (enable excepted); root keeps the root role while
    /// auth is on.
    #[test]
    fn the_tree_rebuilds_the_same_store(requests in proptest::collection::vec(arb_request(), 0..40)) {
        let mut store = AuthStore::default();
        let mut tree: BTreeMap<Bytes, Bytes> = BTreeMap::new();
        for request in &requests {
            let before = store.revision();
            if let Ok((_, writes)) = store.apply(request) {
                let bumped = store.revision() - before;
                prop_assert!(bumped <= 1);
                prop_assert_eq!(bumped == 1, !writes.is_empty() && *request != AuthRequest::Enable);
                for (key, value) in writes {
                    match value {
                        Some(value) => tree.insert(key, value),
                        None => tree.remove(&key),
                    };
                }
            }
            if store.enabled() {
                let root = store.user(ROOT_USER);
                prop_assert!(root.is_some_and(|u| u.roles.iter().any(|r| r == ROOT_ROLE)));
            }
        }
        let loaded = AuthStore::load(tree.iter().map(|(k, v)| (k.as_ref(), v)));
        prop_assert_eq!(loaded.ok(), Some(store));
    }
}
