//! etcd's `LeaseKeepAlive`: a bidirectional stream of keep-alives, each
//! answered in order with the lease's TTL (0 when the lease is gone, as
//! etcd answers, not an error). The stream ends when the client closes its
//! side, or with the status of a failure the client should retry.

use super::errors::status_of;
use super::proto::etcdserverpb as pb;
use super::unary::Context;
use crate::grpc::{Call, Code, Status};
use keel_engine::api::{ApiError, LeaseKeepAliveRequest, Request, Response};

/// Serves one keep-alive stream.
pub async fn serve(ctx: Context, call: Call) {
    let Call {
        mut reader,
        mut sink,
        ..
    } = call;
    loop {
        let request = match reader.next::<pb::LeaseKeepAliveRequest>().await {
            Ok(Some(request)) => request,
            Ok(None) => return sink.finish(&Status::new(Code::Ok, "")),
            Err(status) => return sink.finish(&status),
        };
        let response = match keep_alive(&ctx, request.id).await {
            Ok(response) => response,
            Err(status) => return sink.finish(&status),
        };
        if sink.send(&response).await.is_err() {
            return;
        }
    }
}

/// Renews lease `id` once: its TTL, or 0 when it is gone.
pub async fn keep_alive(ctx: &Context, id: i64) -> Result<pb::LeaseKeepAliveResponse, Status> {
    let request = Request::LeaseKeepAlive(LeaseKeepAliveRequest { id });
    match ctx.node.request(request).await {
        Ok(Response::LeaseKeepAlive(answer)) => Ok(pb::LeaseKeepAliveResponse {
            header: super::convert::header(&answer.header),
            id: answer.id,
            ttl: answer.ttl_seconds,
        }),
        Ok(other) => Err(Status::internal(format!(
            "keel: unexpected answer {other:?}"
        ))),
        Err(ApiError::LeaseNotFound) => Ok(pb::LeaseKeepAliveResponse {
            header: ctx.header().await?,
            id,
            ttl: 0,
        }),
        Err(err) => Err(status_of(&err)),
    }
}
