//! How a node reaches its peers. The node only sees this trait; the TCP
//! implementation lives in the server, the in-memory one in [`crate::testing`].

use bytes::Bytes;
use raft::eraftpb::Message;

/// Sends raft messages to peers. Delivery is best effort: messages may be
/// lost, delayed or reordered, which raft tolerates. Implementations must not
/// block the caller.
pub trait Transport: Send + Sync + 'static {
    /// Queues `messages` for their `to` members.
    fn send(&self, messages: Vec<Message>);
    /// Queues a snapshot message together with the store image it refers to.
    /// The transport reports the outcome back to the node
    /// (`NodeHandle::report_snapshot`), or raft never sends another.
    fn send_snapshot(&self, message: Message, image: Bytes);
}
