//! `-w protobuf`: the response's protobuf encoding (etcd's `etcdserverpb`
//! message for the command), written to stdout as raw bytes with no
//! newline, as etcdctl writes it.

use super::Output;
use crate::etcd::convert;
use crate::etcd::proto::etcdserverpb as pb;
use keel_engine::api::{
    DeleteRangeResponse, MemberResponse, PutResponse, RangeResponse, TxnResponse,
};
use prost::Message;

/// `get`: `etcdserverpb.RangeResponse`.
pub fn get(response: &RangeResponse) -> Output {
    Output::stdout(convert::range_response(response).encode_to_vec())
}

/// `put`: `etcdserverpb.PutResponse`.
pub fn put(response: &PutResponse) -> Output {
    Output::stdout(convert::put_response(response).encode_to_vec())
}

/// `del`: `etcdserverpb.DeleteRangeResponse`.
pub fn delete(response: &DeleteRangeResponse) -> Output {
    Output::stdout(convert::delete_response(response).encode_to_vec())
}

/// `txn`: `etcdserverpb.TxnResponse`.
pub fn txn(response: &TxnResponse) -> Output {
    Output::stdout(convert::txn_response(response).encode_to_vec())
}

/// `member list`: `etcdserverpb.MemberListResponse` (a membership header:
/// no revision).
pub fn member_list(response: &MemberResponse) -> Output {
    let message = pb::MemberListResponse {
        header: convert::member_header(&response.header),
        members: convert::members(&response.members),
    };
    Output::stdout(message.encode_to_vec())
}
