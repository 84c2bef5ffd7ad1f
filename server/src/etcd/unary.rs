//! etcd's unary methods: each turns etcd's request into the engine's,
//! asks the member's node, and turns the answer back. One table lists
//! them with their gRPC path and gateway path, so both protocols serve
//! exactly the same methods the same way.

use super::convert;
use super::errors::{self, status_of};
use super::proto::etcdserverpb as pb;
use super::proto::json;
use crate::grpc::{Status, codec};
use crate::peer::LeaderLink;
use bytes::Bytes;
use keel_engine::api::{self, Request, Response};
use keel_engine::node::NodeHandle;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What the methods need: the member's node, and the way to its leader
/// for the requests only the leader can judge.
#[derive(Debug, Clone)]
pub struct Context {
    /// The member's node.
    pub node: NodeHandle,
    /// The leader's peer port (`None`: such requests answer `NotLeader`
    /// on a follower, as in tests without peers).
    pub leader: Option<LeaderLink>,
    /// JSON gateway calls served at once on this listener (`None`: no
    /// bound). etcd's gateway reaches its gRPC server over one internal
    /// connection, so `--max-concurrent-streams` bounds its calls, and a
    /// call past the bound waits for one to end.
    pub gateway_calls: Option<Arc<Semaphore>>,
    /// The member's metrics (`None`: not counted, `/metrics` answers 404).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// A `--listen-metrics-urls` listener: only `/metrics` and `/health`
    /// are served, over HTTP/1.1 or (under TLS) HTTP/2.
    pub metrics_only: bool,
    /// Who the current call is from (set per call; `None` on the
    /// listener's own context).
    pub credentials: api::Credentials,
    /// The CommonName of the connection's verified client certificate,
    /// if any: the user of calls without a token (etcd's
    /// `--client-cert-auth`). Never set for gateway requests.
    pub client_common_name: Option<String>,
}

impl Context {
    /// The context of one call made with `credentials`.
    pub fn for_caller(&self, credentials: api::Credentials) -> Context {
        Context {
            credentials,
            ..self.clone()
        }
    }

    /// Who a call with `token` is from: the token's user, else the
    /// connection's certificate's CommonName, else nobody (etcd's order).
    pub fn caller(&self, token: Option<&str>) -> api::Credentials {
        match (token, &self.client_common_name) {
            (Some(token), _) => api::Credentials::Token(token.to_string()),
            (None, Some(name)) => api::Credentials::CommonName(name.clone()),
            (None, None) => api::Credentials::None,
        }
    }

    /// Runs a request on the node as the call's caller; an engine error
    /// becomes etcd's status.
    pub async fn request(&self, request: Request) -> Result<Response, Status> {
        self.node
            .request_as(request, self.credentials.clone())
            .await
            .map_err(|e| status_of(&e))
    }

    /// A response header for answers the engine does not make (the
    /// member's current identity, revision and term).
    pub async fn header(&self) -> Result<Option<pb::ResponseHeader>, Status> {
        let status = self
            .node
            .request(Request::Status)
            .await
            .map_err(|e| status_of(&e))?;
        match status {
            Response::Status(status) => Ok(convert::header(&status.header)),
            other => Err(unexpected(&other)),
        }
    }
}

/// Asks for maintenance (Defragment, Hash, HashKV): a refused caller gets
/// etcd's maintenance words (see [`errors::maintenance_status_of`]).
async fn ask_maintenance(ctx: &Context, request: Request) -> Result<Response, Status> {
    ctx.node
        .request_as(request, ctx.credentials.clone())
        .await
        .map_err(|e| errors::maintenance_status_of(&e))
}

/// The node answered with the wrong kind of response: a bug, said as such.
fn unexpected(response: &Response) -> Status {
    Status::internal(format!("keel: unexpected answer {response:?}"))
}

/// Declares the unary methods: name, gRPC path, gateway paths (after
/// `/v3/`), request and response types, and the handler.
macro_rules! unary_methods {
    ($(
        $method:ident: $grpc:literal, [$($gateway:literal),*],
        $request:ty => $response:ty, $handler:ident;
    )*) => {
        /// etcd's unary methods.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Unary {
            $(
                #[doc = concat!("`", $grpc, "`")]
                $method,
            )*
        }

        impl Unary {
            /// The method a gRPC path names.
            pub fn from_grpc_path(path: &str) -> Option<Unary> {
                match path {
                    $($grpc => Some(Unary::$method),)*
                    _ => None,
                }
            }

            /// The method a gateway path names (the part after `/v3/`).
            pub fn from_gateway_path(path: &str) -> Option<Unary> {
                const ROUTES: &[(&str, Unary)] = &[$($(($gateway, Unary::$method),)*)*];
                ROUTES.iter().find(|(route, _)| *route == path).map(|(_, method)| *method)
            }

            /// The method's gRPC path.
            pub fn grpc_path(self) -> &'static str {
                match self {
                    $(Unary::$method => $grpc,)*
                }
            }

            /// Calls `visitor` with the method's request type.
            pub fn visit_request<V: RequestVisitor>(self, visitor: V) -> V::Output {
                match self {
                    $(Unary::$method => visitor.visit::<$request>(),)*
                }
            }

            /// Every method.
            pub const ALL: &'static [Unary] = &[$(Unary::$method),*];

            /// Serves a gRPC request message; answers a framed response.
            pub async fn call_grpc(self, ctx: &Context, body: &[u8]) -> Result<Bytes, Status> {
                match self {
                    $(Unary::$method => {
                        let request: $request = codec::decode(body)?;
                        let response: $response = $handler(ctx, request).await?;
                        Ok(codec::encode(&response))
                    })*
                }
            }

            /// Serves a gateway JSON body; answers the JSON response. The
            /// `token` (an `Authorization` header) is the caller's, on the
            /// methods that read one (see [`Unary::caller`]).
            pub async fn call_json(
                self,
                ctx: &Context,
                body: &[u8],
                token: Option<&str>,
            ) -> Result<String, GatewayError> {
                match self {
                    $(Unary::$method => {
                        let request: $request =
                            json::from_json(body).map_err(GatewayError::Decode)?;
                        let ctx = ctx.for_caller(self.caller(ctx, token));
                        let response: $response =
                            $handler(&ctx, request).await.map_err(GatewayError::Call)?;
                        Ok(json::to_json(&response))
                    })*
                }
            }
        }
    };
}

/// Something to do with a method's request type (fuzzing and tests use it
/// to reach every request decoder).
pub trait RequestVisitor {
    /// What the visit gives.
    type Output;
    /// Called with the request type `M`.
    fn visit<M>(self) -> Self::Output
    where
        M: json::ProtoJson + prost::Message + Default + PartialEq + std::fmt::Debug;
}

/// Why a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// The body is not the method's request (the gateway's own error: no
    /// call was made).
    Decode(json::JsonError),
    /// The call answered with an error.
    Call(Status),
    /// The caller's deadline (`Grpc-Timeout`) passed first.
    Deadline,
}

impl Unary {
    /// Whether etcd's server reads the caller's auth token for this method
    /// (its raft requests, membership changes, `Range`, `Hash`, `HashKV`,
    /// `Defragment`); a token etcd does not know fails the call.
    pub fn checks_token(self) -> bool {
        !matches!(
            self,
            Unary::LeaseTimeToLive
                | Unary::LeaseLeases
                | Unary::MemberList
                | Unary::Status
                | Unary::MoveLeader
        )
    }

    /// Who a call of this method made with `token` on `ctx`'s connection
    /// is from (see [`Context::caller`]); anonymous for the methods etcd
    /// does not identify the caller of (it ignores a token, even a bad
    /// one, where it does not look).
    pub fn caller(self, ctx: &Context, token: Option<&str>) -> api::Credentials {
        if self.checks_token() {
            ctx.caller(token)
        } else {
            api::Credentials::None
        }
    }
}

unary_methods! {
    Range: "/etcdserverpb.KV/Range", ["kv/range"],
        pb::RangeRequest => pb::RangeResponse, range;
    Put: "/etcdserverpb.KV/Put", ["kv/put"],
        pb::PutRequest => pb::PutResponse, put;
    DeleteRange: "/etcdserverpb.KV/DeleteRange", ["kv/deleterange"],
        pb::DeleteRangeRequest => pb::DeleteRangeResponse, delete_range;
    Txn: "/etcdserverpb.KV/Txn", ["kv/txn"],
        pb::TxnRequest => pb::TxnResponse, txn;
    Compact: "/etcdserverpb.KV/Compact", ["kv/compaction"],
        pb::CompactionRequest => pb::CompactionResponse, compact;
    LeaseGrant: "/etcdserverpb.Lease/LeaseGrant", ["lease/grant"],
        pb::LeaseGrantRequest => pb::LeaseGrantResponse, lease_grant;
    LeaseRevoke: "/etcdserverpb.Lease/LeaseRevoke", ["lease/revoke", "kv/lease/revoke"],
        pb::LeaseRevokeRequest => pb::LeaseRevokeResponse, lease_revoke;
    LeaseTimeToLive: "/etcdserverpb.Lease/LeaseTimeToLive", ["lease/timetolive", "kv/lease/timetolive"],
        pb::LeaseTimeToLiveRequest => pb::LeaseTimeToLiveResponse, lease_time_to_live;
    LeaseLeases: "/etcdserverpb.Lease/LeaseLeases", ["lease/leases", "kv/lease/leases"],
        pb::LeaseLeasesRequest => pb::LeaseLeasesResponse, lease_leases;
    MemberAdd: "/etcdserverpb.Cluster/MemberAdd", ["cluster/member/add"],
        pb::MemberAddRequest => pb::MemberAddResponse, member_add;
    MemberRemove: "/etcdserverpb.Cluster/MemberRemove", ["cluster/member/remove"],
        pb::MemberRemoveRequest => pb::MemberRemoveResponse, member_remove;
    MemberUpdate: "/etcdserverpb.Cluster/MemberUpdate", ["cluster/member/update"],
        pb::MemberUpdateRequest => pb::MemberUpdateResponse, member_update;
    MemberList: "/etcdserverpb.Cluster/MemberList", ["cluster/member/list"],
        pb::MemberListRequest => pb::MemberListResponse, member_list;
    MemberPromote: "/etcdserverpb.Cluster/MemberPromote", ["cluster/member/promote"],
        pb::MemberPromoteRequest => pb::MemberPromoteResponse, member_promote;
    Alarm: "/etcdserverpb.Maintenance/Alarm", ["maintenance/alarm"],
        pb::AlarmRequest => pb::AlarmResponse, alarm;
    Status: "/etcdserverpb.Maintenance/Status", ["maintenance/status"],
        pb::StatusRequest => pb::StatusResponse, status;
    Defragment: "/etcdserverpb.Maintenance/Defragment", ["maintenance/defragment"],
        pb::DefragmentRequest => pb::DefragmentResponse, defragment;
    // etcd 3.4 maps both Hash and HashKV to /v3/maintenance/hash; its
    // gateway tries routes in the order they were registered, so Hash
    // answers and HashKV cannot be reached over the gateway.
    Hash: "/etcdserverpb.Maintenance/Hash", ["maintenance/hash"],
        pb::HashRequest => pb::HashResponse, hash;
    HashKv: "/etcdserverpb.Maintenance/HashKV", [],
        pb::HashKvRequest => pb::HashKvResponse, hash_kv;
    MoveLeader: "/etcdserverpb.Maintenance/MoveLeader", ["maintenance/transfer-leadership"],
        pb::MoveLeaderRequest => pb::MoveLeaderResponse, move_leader;
    AuthEnable: "/etcdserverpb.Auth/AuthEnable", ["auth/enable"],
        pb::AuthEnableRequest => pb::AuthEnableResponse, auth_enable;
    AuthDisable: "/etcdserverpb.Auth/AuthDisable", ["auth/disable"],
        pb::AuthDisableRequest => pb::AuthDisableResponse, auth_disable;
    Authenticate: "/etcdserverpb.Auth/Authenticate", ["auth/authenticate"],
        pb::AuthenticateRequest => pb::AuthenticateResponse, authenticate;
    UserAdd: "/etcdserverpb.Auth/UserAdd", ["auth/user/add"],
        pb::AuthUserAddRequest => pb::AuthUserAddResponse, user_add;
    UserGet: "/etcdserverpb.Auth/UserGet", ["auth/user/get"],
        pb::AuthUserGetRequest => pb::AuthUserGetResponse, user_get;
    UserList: "/etcdserverpb.Auth/UserList", ["auth/user/list"],
        pb::AuthUserListRequest => pb::AuthUserListResponse, user_list;
    UserDelete: "/etcdserverpb.Auth/UserDelete", ["auth/user/delete"],
        pb::AuthUserDeleteRequest => pb::AuthUserDeleteResponse, user_delete;
    UserChangePassword: "/etcdserverpb.Auth/UserChangePassword", ["auth/user/changepw"],
        pb::AuthUserChangePasswordRequest => pb::AuthUserChangePasswordResponse, user_change_password;
    UserGrantRole: "/etcdserverpb.Auth/UserGrantRole", ["auth/user/grant"],
        pb::AuthUserGrantRoleRequest => pb::AuthUserGrantRoleResponse, user_grant_role;
    UserRevokeRole: "/etcdserverpb.Auth/UserRevokeRole", ["auth/user/revoke"],
        pb::AuthUserRevokeRoleRequest => pb::AuthUserRevokeRoleResponse, user_revoke_role;
    RoleAdd: "/etcdserverpb.Auth/RoleAdd", ["auth/role/add"],
        pb::AuthRoleAddRequest => pb::AuthRoleAddResponse, role_add;
    RoleGet: "/etcdserverpb.Auth/RoleGet", ["auth/role/get"],
        pb::AuthRoleGetRequest => pb::AuthRoleGetResponse, role_get;
    RoleList: "/etcdserverpb.Auth/RoleList", ["auth/role/list"],
        pb::AuthRoleListRequest => pb::AuthRoleListResponse, role_list;
    RoleDelete: "/etcdserverpb.Auth/RoleDelete", ["auth/role/delete"],
        pb::AuthRoleDeleteRequest => pb::AuthRoleDeleteResponse, role_delete;
    RoleGrantPermission: "/etcdserverpb.Auth/RoleGrantPermission", ["auth/role/grant"],
        pb::AuthRoleGrantPermissionRequest => pb::AuthRoleGrantPermissionResponse, role_grant_permission;
    RoleRevokePermission: "/etcdserverpb.Auth/RoleRevokePermission", ["auth/role/revoke"],
        pb::AuthRoleRevokePermissionRequest => pb::AuthRoleRevokePermissionResponse, role_revoke_permission;
}

/// Runs `request` and takes the answer apart with `pick`.
macro_rules! ask {
    ($ctx:expr, $request:expr, $variant:ident) => {
        match $ctx.request($request).await? {
            Response::$variant(answer) => answer,
            other => return Err(unexpected(&other)),
        }
    };
}

async fn range(ctx: &Context, r: pb::RangeRequest) -> Result<pb::RangeResponse, Status> {
    let answer = ask!(ctx, Request::Range(convert::range_request(&r)?), Range);
    Ok(convert::range_response(&answer))
}

async fn put(ctx: &Context, p: pb::PutRequest) -> Result<pb::PutResponse, Status> {
    let answer = ask!(ctx, Request::Put(convert::put_request(&p)), Put);
    Ok(convert::put_response(&answer))
}

async fn delete_range(
    ctx: &Context,
    d: pb::DeleteRangeRequest,
) -> Result<pb::DeleteRangeResponse, Status> {
    let answer = ask!(
        ctx,
        Request::DeleteRange(convert::delete_request(&d)),
        DeleteRange
    );
    Ok(convert::delete_response(&answer))
}

async fn txn(ctx: &Context, t: pb::TxnRequest) -> Result<pb::TxnResponse, Status> {
    let answer = ask!(ctx, Request::Txn(convert::txn_request(&t)?), Txn);
    Ok(convert::txn_response(&answer))
}

async fn compact(
    ctx: &Context,
    c: pb::CompactionRequest,
) -> Result<pb::CompactionResponse, Status> {
    let request = api::CompactionRequest {
        revision: c.revision,
        physical: c.physical,
    };
    let answer = ask!(ctx, Request::Compact(request), Compact);
    Ok(pb::CompactionResponse {
        header: convert::header(&answer.header),
    })
}

async fn lease_grant(
    ctx: &Context,
    g: pb::LeaseGrantRequest,
) -> Result<pb::LeaseGrantResponse, Status> {
    let request = api::LeaseGrantRequest {
        ttl_seconds: g.ttl,
        id: g.id,
    };
    let answer = ask!(ctx, Request::LeaseGrant(request), LeaseGrant);
    Ok(pb::LeaseGrantResponse {
        header: convert::header(&answer.header),
        id: answer.id,
        ttl: answer.ttl_seconds,
        error: String::new(),
    })
}

async fn lease_revoke(
    ctx: &Context,
    r: pb::LeaseRevokeRequest,
) -> Result<pb::LeaseRevokeResponse, Status> {
    let request = api::LeaseRevokeRequest { id: r.id };
    let answer = ask!(ctx, Request::LeaseRevoke(request), LeaseRevoke);
    Ok(pb::LeaseRevokeResponse {
        header: convert::header(&answer.header),
    })
}

/// etcd answers a lease that does not exist with TTL -1, not an error.
async fn lease_time_to_live(
    ctx: &Context,
    t: pb::LeaseTimeToLiveRequest,
) -> Result<pb::LeaseTimeToLiveResponse, Status> {
    let request = api::LeaseTimeToLiveRequest {
        id: t.id,
        keys: t.keys,
    };
    match ctx.node.request(Request::LeaseTimeToLive(request)).await {
        Ok(Response::LeaseTimeToLive(answer)) => Ok(pb::LeaseTimeToLiveResponse {
            header: convert::header(&answer.header),
            id: answer.id,
            ttl: answer.ttl_seconds,
            granted_ttl: answer.granted_ttl_seconds,
            keys: answer.keys,
        }),
        Ok(other) => Err(unexpected(&other)),
        Err(api::ApiError::LeaseNotFound) => Ok(pb::LeaseTimeToLiveResponse {
            header: ctx.header().await?,
            id: t.id,
            ttl: -1,
            ..Default::default()
        }),
        Err(err) => Err(status_of(&err)),
    }
}

async fn lease_leases(
    ctx: &Context,
    _: pb::LeaseLeasesRequest,
) -> Result<pb::LeaseLeasesResponse, Status> {
    let answer = ask!(ctx, Request::LeaseLeases, LeaseLeases);
    Ok(pb::LeaseLeasesResponse {
        header: convert::header(&answer.header),
        leases: answer
            .leases
            .iter()
            .map(|&id| pb::LeaseStatus { id })
            .collect(),
    })
}

async fn member_add(
    ctx: &Context,
    a: pb::MemberAddRequest,
) -> Result<pb::MemberAddResponse, Status> {
    let request = api::MemberAddRequest {
        peer_urls: a.peer_urls,
        is_learner: a.is_learner,
        force: false,
    };
    let answer = ask!(ctx, Request::MemberAdd(request), Member);
    Ok(pb::MemberAddResponse {
        header: convert::member_header(&answer.header),
        member: answer.member.as_ref().map(convert::member),
        members: convert::members(&answer.members),
    })
}

async fn member_remove(
    ctx: &Context,
    r: pb::MemberRemoveRequest,
) -> Result<pb::MemberRemoveResponse, Status> {
    let request = api::MemberRemoveRequest { id: r.id };
    let answer = ask!(ctx, Request::MemberRemove(request), Member);
    Ok(pb::MemberRemoveResponse {
        header: convert::member_header(&answer.header),
        members: convert::members(&answer.members),
    })
}

async fn member_update(
    ctx: &Context,
    u: pb::MemberUpdateRequest,
) -> Result<pb::MemberUpdateResponse, Status> {
    let request = api::MemberUpdateRequest {
        id: u.id,
        peer_urls: u.peer_urls,
    };
    let answer = ask!(ctx, Request::MemberUpdate(request), Member);
    Ok(pb::MemberUpdateResponse {
        header: convert::member_header(&answer.header),
        members: convert::members(&answer.members),
    })
}

/// etcd 3.4 lists members from the member's own view (no ReadIndex).
/// Like every membership answer, its header has no revision.
async fn member_list(
    ctx: &Context,
    _: pb::MemberListRequest,
) -> Result<pb::MemberListResponse, Status> {
    let request = api::MemberListRequest {
        linearizable: false,
    };
    let answer = ask!(ctx, Request::MemberList(request), Member);
    Ok(pb::MemberListResponse {
        header: convert::member_header(&answer.header),
        members: convert::members(&answer.members),
    })
}

async fn member_promote(
    ctx: &Context,
    p: pb::MemberPromoteRequest,
) -> Result<pb::MemberPromoteResponse, Status> {
    let request = api::MemberPromoteRequest { id: p.id };
    // Only the leader knows whether the learner is in sync: a follower
    // hands the request to it, as etcd does.
    let answer = match ctx.node.request(Request::MemberPromote(request)).await {
        Ok(Response::Member(answer)) => answer,
        Ok(other) => return Err(unexpected(&other)),
        Err(err) => match (&err, &ctx.leader) {
            (
                api::ApiError::NotLeader {
                    leader_hint: Some(leader),
                },
                Some(link),
            ) => link
                .promote(&ctx.node, *leader, p.id)
                .await
                .map_err(|e| status_of(&e))?,
            _ => return Err(status_of(&err)),
        },
    };
    Ok(pb::MemberPromoteResponse {
        header: convert::member_header(&answer.header),
        members: convert::members(&answer.members),
    })
}

async fn alarm(ctx: &Context, a: pb::AlarmRequest) -> Result<pb::AlarmResponse, Status> {
    let answer = ask!(ctx, Request::Alarm(convert::alarm_request(&a)?), Alarm);
    Ok(convert::alarm_response(&answer))
}

async fn status(ctx: &Context, _: pb::StatusRequest) -> Result<pb::StatusResponse, Status> {
    let answer = ask!(ctx, Request::Status, Status);
    Ok(convert::status_response(&answer))
}

/// Rewrites this member's state file compactly; etcd answers without a
/// header.
async fn defragment(
    ctx: &Context,
    _: pb::DefragmentRequest,
) -> Result<pb::DefragmentResponse, Status> {
    match ask_maintenance(ctx, Request::Defragment).await? {
        Response::Defragment(_) => Ok(pb::DefragmentResponse { header: None }),
        other => Err(unexpected(&other)),
    }
}

/// etcd hashes its whole backend file; Keel's nearest equivalent is the
/// hash of the key-value history at the current revision, which equal
/// members agree on.
async fn hash(ctx: &Context, _: pb::HashRequest) -> Result<pb::HashResponse, Status> {
    let request = Request::HashKv(api::HashKvRequest { revision: 0 });
    let Response::HashKv(answer) = ask_maintenance(ctx, request).await? else {
        return Err(Status::internal("keel: unexpected answer to a hash"));
    };
    Ok(pb::HashResponse {
        header: convert::header(&answer.header),
        hash: answer.hash,
    })
}

async fn hash_kv(ctx: &Context, h: pb::HashKvRequest) -> Result<pb::HashKvResponse, Status> {
    let request = api::HashKvRequest {
        revision: h.revision,
    };
    let Response::HashKv(answer) = ask_maintenance(ctx, Request::HashKv(request)).await? else {
        return Err(Status::internal("keel: unexpected answer to a hash"));
    };
    Ok(pb::HashKvResponse {
        header: convert::header(&answer.header),
        hash: answer.hash,
        compact_revision: answer.compact_revision,
    })
}

async fn move_leader(
    ctx: &Context,
    m: pb::MoveLeaderRequest,
) -> Result<pb::MoveLeaderResponse, Status> {
    let request = api::MoveLeaderRequest {
        target_id: m.target_id,
    };
    ask!(ctx, Request::MoveLeader(request), MoveLeader);
    // etcd's maintenance server answers without a header.
    Ok(pb::MoveLeaderResponse { header: None })
}

// Auth: users, roles and permissions live in the engine's auth store,
// changed through raft. Passwords go to the member as the client sent them;
// the node hashes them before proposing.

/// Asks the auth store; answers the header and what the request answers.
async fn ask_auth(
    ctx: &Context,
    request: api::AuthRequest,
) -> Result<(Option<pb::ResponseHeader>, api::AuthAnswer), Status> {
    let answer = ask!(ctx, Request::Auth(request), Auth);
    Ok((convert::header(&answer.header), answer.answer))
}

/// Asks for a change; answers the header.
async fn auth_change(
    ctx: &Context,
    request: api::AuthRequest,
) -> Result<Option<pb::ResponseHeader>, Status> {
    Ok(ask_auth(ctx, request).await?.0)
}

/// An answer of the wrong kind (a bug): reported, not panicked on.
fn unexpected_auth(answer: &api::AuthAnswer) -> Status {
    Status::internal(format!("keel: unexpected auth answer {answer:?}"))
}

async fn auth_enable(
    ctx: &Context,
    _: pb::AuthEnableRequest,
) -> Result<pb::AuthEnableResponse, Status> {
    Ok(pb::AuthEnableResponse {
        header: auth_change(ctx, api::AuthRequest::Enable).await?,
    })
}

async fn auth_disable(
    ctx: &Context,
    _: pb::AuthDisableRequest,
) -> Result<pb::AuthDisableResponse, Status> {
    Ok(pb::AuthDisableResponse {
        header: auth_change(ctx, api::AuthRequest::Disable).await?,
    })
}

async fn authenticate(
    ctx: &Context,
    a: pb::AuthenticateRequest,
) -> Result<pb::AuthenticateResponse, Status> {
    let request = api::AuthRequest::Authenticate {
        name: a.name,
        password: a.password,
    };
    match ask_auth(ctx, request).await? {
        (header, api::AuthAnswer::Authenticated { token, .. }) => {
            Ok(pb::AuthenticateResponse { header, token })
        }
        (_, other) => Err(unexpected_auth(&other)),
    }
}

async fn user_add(
    ctx: &Context,
    u: pb::AuthUserAddRequest,
) -> Result<pb::AuthUserAddResponse, Status> {
    let no_password = u.options.as_ref().is_some_and(|o| o.no_password);
    let credential = if no_password {
        api::Credential::NoPassword
    } else {
        api::Credential::Password(u.password)
    };
    let request = api::AuthRequest::UserAdd {
        name: u.name,
        credential,
    };
    Ok(pb::AuthUserAddResponse {
        header: auth_change(ctx, request).await?,
    })
}

async fn user_get(
    ctx: &Context,
    u: pb::AuthUserGetRequest,
) -> Result<pb::AuthUserGetResponse, Status> {
    match ask_auth(ctx, api::AuthRequest::UserGet { name: u.name }).await? {
        (header, api::AuthAnswer::Roles(roles)) => Ok(pb::AuthUserGetResponse { header, roles }),
        (_, other) => Err(unexpected_auth(&other)),
    }
}

async fn user_list(
    ctx: &Context,
    _: pb::AuthUserListRequest,
) -> Result<pb::AuthUserListResponse, Status> {
    match ask_auth(ctx, api::AuthRequest::UserList).await? {
        (header, api::AuthAnswer::Users(users)) => Ok(pb::AuthUserListResponse { header, users }),
        (_, other) => Err(unexpected_auth(&other)),
    }
}

async fn user_delete(
    ctx: &Context,
    u: pb::AuthUserDeleteRequest,
) -> Result<pb::AuthUserDeleteResponse, Status> {
    Ok(pb::AuthUserDeleteResponse {
        header: auth_change(ctx, api::AuthRequest::UserDelete { name: u.name }).await?,
    })
}

async fn user_change_password(
    ctx: &Context,
    u: pb::AuthUserChangePasswordRequest,
) -> Result<pb::AuthUserChangePasswordResponse, Status> {
    let request = api::AuthRequest::UserChangePassword {
        name: u.name,
        credential: api::Credential::Password(u.password),
    };
    Ok(pb::AuthUserChangePasswordResponse {
        header: auth_change(ctx, request).await?,
    })
}

async fn user_grant_role(
    ctx: &Context,
    u: pb::AuthUserGrantRoleRequest,
) -> Result<pb::AuthUserGrantRoleResponse, Status> {
    let request = api::AuthRequest::UserGrantRole {
        user: u.user,
        role: u.role,
    };
    Ok(pb::AuthUserGrantRoleResponse {
        header: auth_change(ctx, request).await?,
    })
}

async fn user_revoke_role(
    ctx: &Context,
    u: pb::AuthUserRevokeRoleRequest,
) -> Result<pb::AuthUserRevokeRoleResponse, Status> {
    let request = api::AuthRequest::UserRevokeRole {
        name: u.name,
        role: u.role,
    };
    Ok(pb::AuthUserRevokeRoleResponse {
        header: auth_change(ctx, request).await?,
    })
}

async fn role_add(
    ctx: &Context,
    r: pb::AuthRoleAddRequest,
) -> Result<pb::AuthRoleAddResponse, Status> {
    Ok(pb::AuthRoleAddResponse {
        header: auth_change(ctx, api::AuthRequest::RoleAdd { name: r.name }).await?,
    })
}

async fn role_get(
    ctx: &Context,
    r: pb::AuthRoleGetRequest,
) -> Result<pb::AuthRoleGetResponse, Status> {
    match ask_auth(ctx, api::AuthRequest::RoleGet { role: r.role }).await? {
        (header, api::AuthAnswer::Permissions(perms)) => Ok(pb::AuthRoleGetResponse {
            header,
            perm: perms.iter().map(convert::permission).collect(),
        }),
        (_, other) => Err(unexpected_auth(&other)),
    }
}

async fn role_list(
    ctx: &Context,
    _: pb::AuthRoleListRequest,
) -> Result<pb::AuthRoleListResponse, Status> {
    match ask_auth(ctx, api::AuthRequest::RoleList).await? {
        (header, api::AuthAnswer::RoleNames(roles)) => {
            Ok(pb::AuthRoleListResponse { header, roles })
        }
        (_, other) => Err(unexpected_auth(&other)),
    }
}

async fn role_delete(
    ctx: &Context,
    r: pb::AuthRoleDeleteRequest,
) -> Result<pb::AuthRoleDeleteResponse, Status> {
    Ok(pb::AuthRoleDeleteResponse {
        header: auth_change(ctx, api::AuthRequest::RoleDelete { role: r.role }).await?,
    })
}

async fn role_grant_permission(
    ctx: &Context,
    r: pb::AuthRoleGrantPermissionRequest,
) -> Result<pb::AuthRoleGrantPermissionResponse, Status> {
    // etcd dereferences the permission without a check; a request without
    // one is malformed.
    let perm = r.perm.as_ref().ok_or_else(|| {
        status_of(&api::ApiError::BadRequest(
            "permission is not provided".into(),
        ))
    })?;
    let request = api::AuthRequest::RoleGrantPermission {
        name: r.name,
        perm: convert::permission_request(perm)?,
    };
    Ok(pb::AuthRoleGrantPermissionResponse {
        header: auth_change(ctx, request).await?,
    })
}

async fn role_revoke_permission(
    ctx: &Context,
    r: pb::AuthRoleRevokePermissionRequest,
) -> Result<pb::AuthRoleRevokePermissionResponse, Status> {
    let request = api::AuthRequest::RoleRevokePermission {
        role: r.role,
        key: r.key,
        range_end: r.range_end,
    };
    Ok(pb::AuthRoleRevokePermissionResponse {
        header: auth_change(ctx, request).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_methods_both_ways() {
        assert_eq!(
            Unary::from_grpc_path("/etcdserverpb.KV/Range"),
            Some(Unary::Range)
        );
        assert_eq!(
            Unary::from_gateway_path("kv/lease/revoke"),
            Some(Unary::LeaseRevoke)
        );
        assert_eq!(
            Unary::from_gateway_path("lease/revoke"),
            Some(Unary::LeaseRevoke)
        );
        assert_eq!(
            Unary::from_gateway_path("maintenance/hash"),
            Some(Unary::Hash)
        );
        assert!(Unary::Range.checks_token() && Unary::MemberAdd.checks_token());
        assert!(!Unary::MemberList.checks_token() && !Unary::Status.checks_token());
        assert_eq!(Unary::from_grpc_path("/etcdserverpb.KV/Nope"), None);
        assert_eq!(Unary::Range.grpc_path(), "/etcdserverpb.KV/Range");
    }
}
