//! Routes each gRPC call on the client port to the etcd method it names.

use super::errors;
use super::proto::health;
use super::unary::{Context, Unary};
use super::watch::WatchStreamOptions;
use crate::grpc::{Call, Code, Status, codec};

/// etcd's services Keel serves.
const SERVICES: &[&str] = &[
    "etcdserverpb.KV",
    "etcdserverpb.Watch",
    "etcdserverpb.Lease",
    "etcdserverpb.Cluster",
    "etcdserverpb.Maintenance",
    "etcdserverpb.Auth",
    "grpc.health.v1.Health",
];

/// Limits of etcd's API on the client port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdOptions {
    /// Limits of watch streams.
    pub watch_streams: WatchStreamOptions,
}

/// Serves one call: a unary method, a watch or keep-alive stream, or the
/// answer grpc-go gives for a method it does not know.
pub async fn serve_call(ctx: Context, options: &EtcdOptions, mut call: Call) {
    if let Some(record) = ctx.metrics.as_ref().and_then(|m| m.grpc_call(&call.method)) {
        call.sink.on_end(move |code| record.finish(code));
    }
    // clientv3's WithRequireLeader: refuse at once when there is no leader.
    let require_leader = call.metadata_str("hasleader") == Some("true");
    if require_leader && ctx.node.status().leader_id == 0 {
        return call.sink.finish(&errors::no_leader());
    }
    let caller = ctx.caller(call_token(&call).as_deref());
    match call.method.as_str() {
        "/etcdserverpb.Watch/Watch" => {
            let ctx = ctx.for_caller(caller);
            super::watch::serve(ctx, options.watch_streams.clone(), call, require_leader).await
        }
        "/etcdserverpb.Lease/LeaseKeepAlive" => super::keepalive::serve(ctx, call).await,
        "/etcdserverpb.Maintenance/Snapshot" => {
            super::snapshot::serve(ctx.for_caller(caller), call).await
        }
        "/grpc.health.v1.Health/Check" => serve_health(ctx, call).await,
        path => match Unary::from_grpc_path(path) {
            Some(method) => serve_unary(ctx, method, call).await,
            None => {
                let status = unknown_method(path);
                call.sink.finish(&status)
            }
        },
    }
}

/// A unary call: one request message, one response message, within the
/// client's `grpc-timeout` if it gave one.
async fn serve_unary(ctx: Context, method: Unary, call: Call) {
    let token = call_token(&call);
    let Call {
        mut reader,
        mut sink,
        timeout,
        ..
    } = call;
    let answer = async {
        let body = reader
            .next_raw()
            .await?
            .ok_or_else(|| Status::internal("grpc: no request message before end of stream"))?;
        let ctx = ctx.for_caller(method.caller(&ctx, token.as_deref()));
        method.call_grpc(&ctx, &body).await
    };
    let answer = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, answer)
            .await
            .unwrap_or_else(|_| Err(deadline_exceeded())),
        None => answer.await,
    };
    match answer {
        Ok(response) => {
            if sink.send_framed(response).await.is_ok() {
                sink.finish(&Status::new(Code::Ok, ""));
            }
        }
        Err(status) => sink.finish(&status),
    }
}

/// The auth token a call carries: etcd's `token` metadata, or the
/// `authorization` metadata its gateway forwards.
pub fn call_token(call: &Call) -> Option<String> {
    call.metadata_str("token")
        .or_else(|| call.metadata_str("authorization"))
        .map(str::to_string)
}

/// The member serves whenever it is up and knows a leader.
async fn serve_health(ctx: Context, call: Call) {
    let Call {
        mut reader,
        mut sink,
        ..
    } = call;
    let request = match reader.next::<health::HealthCheckRequest>().await {
        Ok(request) => request.unwrap_or_default(),
        Err(status) => return sink.finish(&status),
    };
    if !request.service.is_empty() {
        return sink.finish(&Status::new(Code::NotFound, "unknown service"));
    }
    let status = ctx.node.status();
    let serving = if !status.stopped && status.leader_id != 0 {
        health::ServingStatus::Serving
    } else {
        health::ServingStatus::NotServing
    };
    let response = health::HealthCheckResponse {
        status: serving as i32,
    };
    if sink.send_framed(codec::encode(&response)).await.is_ok() {
        sink.finish(&Status::new(Code::Ok, ""));
    }
}

fn deadline_exceeded() -> Status {
    Status::new(Code::DeadlineExceeded, "context deadline exceeded")
}

/// grpc-go's words for a path it cannot route.
fn unknown_method(path: &str) -> Status {
    let name = path.strip_prefix('/').unwrap_or(path);
    let Some((service, method)) = name.rsplit_once('/') else {
        return Status::unimplemented(format!("malformed method name: {path:?}"));
    };
    if SERVICES.contains(&service) {
        Status::unimplemented(format!("unknown method {method} for service {service}"))
    } else {
        Status::unimplemented(format!("unknown service {service}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_get_grpc_gos_words() {
        assert_eq!(
            unknown_method("/etcdserverpb.KV/Frobnicate").message,
            "unknown method Frobnicate for service etcdserverpb.KV"
        );
        assert_eq!(
            unknown_method("/nope.Service/Call").message,
            "unknown service nope.Service"
        );
        assert_eq!(
            unknown_method("garbage").message,
            "malformed method name: \"garbage\""
        );
        assert_eq!(unknown_method("/x/y").code, Code::Unimplemented);
    }
}
