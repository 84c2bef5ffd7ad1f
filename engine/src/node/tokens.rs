//! This member's simple tokens (etcd's `--auth-token simple`): each token
//! issued through raft stands for a user at an auth revision, and lapses
//! after `--auth-token-ttl` without use (each use restarts the countdown),
//! on this member's clock.
//!
//! Tokens are not part of the replicated state: a restarted member, or one
//! that installed a snapshot, knows only those issued since; a client whose
//! token is refused authenticates again, as etcd's clients do.

use crate::api::{ApiError, Credentials};
use crate::auth::{AuthInfo, AuthStore};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Tokens this member honours.
#[derive(Debug)]
pub(crate) struct Tokens {
    ttl: Duration,
    by_token: BTreeMap<String, (AuthInfo, Instant)>,
}

impl Tokens {
    pub(crate) fn new(ttl: Duration) -> Tokens {
        Tokens {
            ttl,
            by_token: BTreeMap::new(),
        }
    }

    /// Who `credentials` stand for: nobody (`None`), or a user. A token
    /// this member does not know, or any token while auth is off, is
    /// etcd's "invalid auth token".
    pub(crate) fn resolve(
        &mut self,
        credentials: &Credentials,
        auth: &AuthStore,
        now: Instant,
    ) -> Result<Option<AuthInfo>, ApiError> {
        match credentials {
            Credentials::None | Credentials::Member => Ok(None),
            Credentials::CommonName(name) => Ok(Some(AuthInfo {
                user: name.clone(),
                revision: auth.revision(),
            })),
            Credentials::Token(token) => {
                if !auth.enabled() {
                    return Err(ApiError::Unauthenticated);
                }
                let ttl = self.ttl;
                match self.by_token.get_mut(token) {
                    Some((who, deadline)) if *deadline > now => {
                        *deadline = now + ttl;
                        Ok(Some(who.clone()))
                    }
                    Some(_) => {
                        self.by_token.remove(token);
                        Err(ApiError::Unauthenticated)
                    }
                    None => Err(ApiError::Unauthenticated),
                }
            }
        }
    }

    /// Honours `token` for `who` from `now` on; drops lapsed tokens.
    pub(crate) fn issue(&mut self, token: String, who: AuthInfo, now: Instant) {
        self.by_token.retain(|_, (_, deadline)| *deadline > now);
        self.by_token.insert(token, (who, now + self.ttl));
    }

    /// Forgets every token of `user` (deleted, or its password changed).
    pub(crate) fn forget_user(&mut self, user: &str) {
        self.by_token.retain(|_, (who, _)| who.user != user);
    }

    /// Forgets every token (auth was turned off).
    pub(crate) fn clear(&mut self) {
        self.by_token.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AuthRequest, Credential, ROOT_ROLE};

    fn enabled_store() -> AuthStore {
        let mut store = AuthStore::default();
        for request in [
            AuthRequest::UserAdd {
                name: "root".into(),
                credential: Credential::Hash("h".into()),
            },
            AuthRequest::UserGrantRole {
                user: "root".into(),
                role: ROOT_ROLE.into(),
            },
            AuthRequest::Enable,
        ] {
            store.apply(&request).expect("set up");
        }
        store
    }

    fn token(t: &str) -> Credentials {
        Credentials::Token(t.into())
    }

    #[test]
    fn a_token_lapses_after_its_ttl_without_use_and_each_use_extends_it() {
        let store = enabled_store();
        let mut tokens = Tokens::new(Duration::from_secs(10));
        let start = Instant::now();
        let root = AuthInfo {
            user: "root".into(),
            revision: 2,
        };
        tokens.issue("t1".into(), root.clone(), start);
        let at = |s| start + Duration::from_secs(s);
        assert_eq!(
            tokens.resolve(&token("t1"), &store, at(9)),
            Ok(Some(root.clone()))
        );
        assert_eq!(tokens.resolve(&token("t1"), &store, at(18)), Ok(Some(root)));
        assert_eq!(
            tokens.resolve(&token("t1"), &store, at(29)),
            Err(ApiError::Unauthenticated)
        );
        assert_eq!(
            tokens.resolve(&token("other"), &store, at(1)),
            Err(ApiError::Unauthenticated)
        );
        assert_eq!(tokens.resolve(&Credentials::None, &store, at(1)), Ok(None));
    }

    #[test]
    fn tokens_are_refused_while_auth_is_off_and_forgotten_per_user() {
        let store = enabled_store();
        let mut tokens = Tokens::new(Duration::from_secs(10));
        let now = Instant::now();
        let who = |user: &str| AuthInfo {
            user: user.into(),
            revision: 2,
        };
        tokens.issue("a".into(), who("alice"), now);
        tokens.issue("b".into(), who("bob"), now);
        tokens.forget_user("alice");
        assert!(tokens.resolve(&token("a"), &store, now).is_err());
        assert!(tokens.resolve(&token("b"), &store, now).is_ok());
        assert!(
            tokens
                .resolve(&token("b"), &AuthStore::default(), now)
                .is_err(),
            "auth off: no token is valid"
        );
        tokens.clear();
        assert!(tokens.resolve(&token("b"), &store, now).is_err());
    }
}
