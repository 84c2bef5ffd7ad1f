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
            Ok(AuthAnswer::Authenticated { revision }) => revision,
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

    // A hash from a client is refused: only members hash.
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

    // A new password replaces the old one everywhere.
    auth(
        &cluster,
        leader,
        AuthRequest::UserChangePassword {
            name: "root".into(),
            credential: Credential::Password("new".into()),
        },
    )
    .await
    .expect("change password");
    for id in cluster.ids() {
        assert_eq!(
            auth(&cluster, id, authenticate("root", "pw")).await,
            Err(ApiError::AuthFailed)
        );
        assert_eq!(
            auth(&cluster, id, authenticate("root", "new")).await,
            Ok(AuthAnswer::Authenticated { revision: 3 })
        );
    }
    cluster.assert_converged().await;
}
