//! raft-rs logs through slog; this drain forwards its records to `tracing`
//! synchronously (slog-async would spawn a thread, which the simulator
//! forbids), tagged with the member id.

use std::fmt::Write as _;

/// A slog drain that emits each record as a `tracing` event.
struct TracingDrain {
    member_id: u64,
}

impl slog::Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(
        &self,
        record: &slog::Record<'_>,
        values: &slog::OwnedKVList,
    ) -> Result<(), slog::Never> {
        let mut fields = String::new();
        let mut serializer = FieldWriter(&mut fields);
        let _ = slog::KV::serialize(&record.kv(), record, &mut serializer);
        let _ = slog::KV::serialize(values, record, &mut serializer);
        let member = self.member_id;
        let message = record.msg();
        match record.level() {
            slog::Level::Critical | slog::Level::Error => {
                tracing::error!(target: "raft", member, "{message}{fields}")
            }
            slog::Level::Warning => tracing::warn!(target: "raft", member, "{message}{fields}"),
            slog::Level::Info => tracing::info!(target: "raft", member, "{message}{fields}"),
            slog::Level::Debug => tracing::debug!(target: "raft", member, "{message}{fields}"),
            slog::Level::Trace => tracing::trace!(target: "raft", member, "{message}{fields}"),
        }
        Ok(())
    }
}

/// Appends `, key: value` for each slog key-value pair.
struct FieldWriter<'a>(&'a mut String);

impl slog::Serializer for FieldWriter<'_> {
    fn emit_arguments(&mut self, key: slog::Key, value: &std::fmt::Arguments<'_>) -> slog::Result {
        let _ = write!(self.0, ", {key}: {value}");
        Ok(())
    }
}

/// A logger for member `member_id`'s RawNode.
pub(crate) fn raft_logger(member_id: u64) -> slog::Logger {
    slog::Logger::root(TracingDrain { member_id }, slog::o!())
}
