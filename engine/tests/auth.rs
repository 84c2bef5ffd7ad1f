//! Users, roles and authentication through a three-member cluster in one
//! process: passwords are hashed by the member that takes them, every member
//! applies the same store, and authentication checks the password against
//! what the cluster agreed on.

mod support;

use keel_engine::api::*;
use support::*;

async fn auth(cluster: &Cluster, via: u64, request: AuthRequest) -> Result<AuthAnswer, ApiError> {
    match cluster.request(via, Request::Auth(request)).await? {
        Response::Auth(a) => Ok(a.answer),
        other => panic!("unexpected {other:?}"),
    }
}

fn add(name: &str, password: &str) -> AuthRequest {
    AuthRequest::UserAdd {
        name: name.into(),
        credential: Credential::Password(password.into()),
    }
}

fn authenticate(name: &str, password: &str) -> AuthRequest {
    AuthRequest::Authenticate {
        name: name.into(),
        password: password.into(),
    }
}

#[tokio::test(start_paused = true)]
async fn users_added_through_one_member_authenticate_through_any() {
    let mut cluster = Cluster::unstarted(3, 41, 100_000, 5_000, 2 << 30);
    for id in cluster.ids() {
        cluster.start_with(id, false, |config| config.bcrypt_cost = 4);
    }
    let leader = cluster.leader().await;
    let follower = cluster.other_than(leader);

    assert_eq!(
        auth(&cluster, follower, authenticate("root", "pw")).await,
        Err(ApiError::AuthNotEnabled)
    );
    auth(&cluster, follower, add("root", "pw"))
        .await
        .expect("add root");
    auth(
        &cluster,
        leader,
        AuthRequest::UserGrantRole {
            user: "root".into(),
            role: ROOT_ROLE.into(),
        },
    )
    .await
    .expect("grant root");
    auth(&cluster, leader, AuthRequest::Enable)
        .await
        .expect("enable");

    for id in cluster.ids() {
        let revision = match auth(&cluster, id, authenticate("root", "pw")).await {
            Ok(AuthAnswer::Authenticated { revision, .. }) => revision,
            other => panic!("member {id:x}: {other:?}"),
        };
        assert_eq!(revision, 2, "two changes so far (enable does not count)");
        assert_eq!(
            auth(&cluster, id, authenticate("root", "wrong")).await,
            Err(ApiError::AuthFailed)
        );
        assert_eq!(
            auth(&cluster, id, authenticate("nobody", "pw")).await,
            Err(ApiError::AuthFailed)
        );
    }

    // Maintenance is root's once auth is on, except for the member's own
    // checks (its corruption check, a peer's hash request).
    let hash = Request::HashKv(HashKvRequest { revision: 0 });
    assert_eq!(
        cluster.handle(leader).request(hash.clone()).await,
        Err(ApiError::UserEmpty)
    );
    assert!(matches!(
        cluster
            .handle(leader)
            .request_as(hash, Credentials::Member)
            .await,
        Ok(Response::HashKv(_))
    ));

    // A hash from a client is refused: only members hash.
    let forged = AuthRequest::IssueToken {
        name: "root".into(),
        token: "mine".into(),
    };
    assert!(matches!(
        auth(&cluster, leader, forged).await,
        Err(ApiError::BadRequest(_))
    ));
    let smuggled = AuthRequest::UserAdd {
        name: "eve".into(),
        credential: Credential::Hash("$2a$04$whatever".into()),
    };
    assert!(matches!(
        auth(&cluster, leader, smuggled).await,
        Err(ApiError::BadRequest(_))
    ));
    assert_eq!(
        auth(&cluster, leader, add("", "pw")).await,
        Err(ApiError::UserEmpty)
    );

    // Once auth is on, only root administers.
    let change = AuthRequest::UserChangePassword {
        name: "root".into(),
        credential: Credential::Password("new".into()),
    };
    assert_eq!(
        auth(&cluster, leader, change.clone()).await,
        Err(ApiError::UserEmpty)
    );
    // A new password replaces the old one everywhere.
    let root = match auth(&cluster, leader, authenticate("root", "pw")).await {
        Ok(AuthAnswer::Authenticated { token, .. }) => Credentials::Token(token),
        other => panic!("{other:?}"),
    };
    cluster
        .handle(leader)
        .request_as(Request::Auth(change), root)
        .await
        .expect("change password");
    for id in cluster.ids() {
        assert_eq!(
            auth(&cluster, id, authenticate("root", "pw")).await,
            Err(ApiError::AuthFailed)
        );
        assert!(matches!(
            auth(&cluster, id, authenticate("root", "new")).await,
            Ok(AuthAnswer::Authenticated { revision: 3, .. })
        ));
    }
    cluster.settle().await;
}

/// A token from any member, as the caller's credentials.
async fn login(cluster: &Cluster, via: u64, name: &str, password: &str) -> Credentials {
    match auth(cluster, via, authenticate(name, password)).await {
        Ok(AuthAnswer::Authenticated { token, .. }) => Credentials::Token(token),
        other => panic!("login {name} via {via:x}: {other:?}"),
    }
}

async fn put_as(
    cluster: &Cluster,
    via: u64,
    who: &Credentials,
    key: &str,
) -> Result<Response, ApiError> {
    let put = Request::Put(PutRequest {
        key: b(key),
        value: b("v"),
        ..PutRequest::default()
    });
    cluster.handle(via).request_as(put, who.clone()).await
}

async fn get_as(
    cluster: &Cluster,
    via: u64,
    who: &Credentials,
    key: &str,
    range_end: &str,
) -> Result<Response, ApiError> {
    let get = Request::Range(RangeRequest {
        key: b(key),
        range_end: b(range_end),
        ..RangeRequest::default()
    });
    cluster.handle(via).request_as(get, who.clone()).await
}

async fn admin(cluster: &Cluster, via: u64, who: &Credentials, request: AuthRequest) {
    let result = cluster
        .handle(via)
        .request_as(Request::Auth(request.clone()), who.clone())
        .await;
    assert!(result.is_ok(), "{request:?}: {result:?}");
}

#[tokio::test(start_paused = true)]
async fn permissions_are_enforced_on_every_member_and_follow_changes() {
    let mut cluster = Cluster::unstarted(3, 43, 100_000, 5_000, 2 << 30);
    for id in cluster.ids() {
        cluster.start_with(id, false, |config| config.bcrypt_cost = 4);
    }
    let leader = cluster.leader().await;
    let follower = cluster.other_than(leader);
    for request in [
        add("root", "r"),
        AuthRequest::UserGrantRole {
            user: "root".into(),
            role: ROOT_ROLE.into(),
        },
        add("alice", "a"),
        AuthRequest::RoleAdd {
            name: "foo-rw".into(),
        },
        AuthRequest::RoleGrantPermission {
            name: "foo-rw".into(),
            perm: Permission {
                perm_type: PermissionType::ReadWrite,
                key: b("foo"),
                range_end: b("fop"),
            },
        },
        AuthRequest::UserGrantRole {
            user: "alice".into(),
            role: "foo-rw".into(),
        },
        AuthRequest::Enable,
    ] {
        auth(&cluster, leader, request).await.expect("set up");
    }
    let nobody = Credentials::None;
    let alice = login(&cluster, follower, "alice", "a").await;
    let root = login(&cluster, leader, "root", "r").await;
    // Tokens are issued through raft: once every member has applied the
    // issue, a token issued through one member is honoured by every member.
    cluster.settle().await;
    for id in cluster.ids() {
        put_as(&cluster, id, &alice, "foo1")
            .await
            .expect("alice may write foo*");
        get_as(&cluster, id, &alice, "foo", "fop")
            .await
            .expect("and read it");
    }
    assert_eq!(
        put_as(&cluster, leader, &alice, "bar").await,
        Err(ApiError::PermissionDenied)
    );
    assert_eq!(
        get_as(&cluster, follower, &alice, "foo", "\0").await,
        Err(ApiError::PermissionDenied),
        "a range reaching past the prefix"
    );
    assert_eq!(
        put_as(&cluster, leader, &nobody, "foo1").await,
        Err(ApiError::UserEmpty)
    );
    assert_eq!(
        put_as(
            &cluster,
            leader,
            &Credentials::Token("made-up".into()),
            "foo1"
        )
        .await,
        Err(ApiError::Unauthenticated)
    );
    put_as(&cluster, follower, &root, "bar")
        .await
        .expect("root writes anything");
    // Only root administers.
    assert_eq!(
        cluster
            .handle(leader)
            .request_as(Request::Auth(AuthRequest::UserList), alice.clone())
            .await,
        Err(ApiError::PermissionDenied)
    );
    // ... but anyone reads their own roles.
    assert!(
        cluster
            .handle(leader)
            .request_as(
                Request::Auth(AuthRequest::UserGet {
                    name: "alice".into()
                }),
                alice.clone()
            )
            .await
            .is_ok()
    );

    // A change of permissions makes identities established before it
    // stale; a fresh login gets the new permissions.
    admin(
        &cluster,
        leader,
        &root,
        AuthRequest::RoleRevokePermission {
            role: "foo-rw".into(),
            key: b("foo"),
            range_end: b("fop"),
        },
    )
    .await;
    assert_eq!(
        put_as(&cluster, follower, &alice, "foo1").await,
        Err(ApiError::AuthOldRevision)
    );
    let alice = login(&cluster, follower, "alice", "a").await;
    assert_eq!(
        put_as(&cluster, follower, &alice, "foo1").await,
        Err(ApiError::PermissionDenied)
    );

    // Turning auth off drops every token and lets everyone in.
    let root = login(&cluster, follower, "root", "r").await;
    admin(&cluster, follower, &root, AuthRequest::Disable).await;
    assert_eq!(
        put_as(&cluster, leader, &root, "x").await,
        Err(ApiError::Unauthenticated)
    );
    put_as(&cluster, leader, &nobody, "x")
        .await
        .expect("auth is off");
    cluster.assert_converged().await;
}
