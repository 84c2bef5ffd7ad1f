//! `snapshot save`, `snapshot status` and `snapshot restore` as etcdctl
//! prints them.

use super::go_format::humanize_bytes;
use super::table::render_table;
use super::{Output, OutputFormat, PrintOptions, format_not_supported};
use keel_engine::backup::BackupStatus;

/// `snapshot save`'s line.
pub fn print_snapshot_saved(path: &str) -> Output {
    Output::stdout(format!("Snapshot saved at {path}\n"))
}

/// `snapshot status` in each of etcdctl's formats: the hash in hex, the
/// revision, the key count and the size as go-humanize prints it.
pub fn print_snapshot_status(print: PrintOptions, status: &BackupStatus) -> Output {
    let row = vec![
        format!("{:x}", status.hash),
        status.revision.to_string(),
        status.total_key.to_string(),
        humanize_bytes(status.total_size),
    ];
    match print.format {
        OutputFormat::Simple => Output::stdout(format!("{}\n", row.join(", "))),
        OutputFormat::Json => Output::stdout(format!(
            "{{\"hash\":{},\"revision\":{},\"totalKey\":{},\"totalSize\":{}}}\n",
            status.hash, status.revision, status.total_key, status.total_size
        )),
        OutputFormat::Table => Output::stdout(render_table(
            &["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"],
            &[row],
        )),
        OutputFormat::Fields => Output::stdout(format!(
            "\"Hash\" : {}\n\"Revision\" : {}\n\"Keys\" : {}\n\"Size\" : {}\n",
            status.hash, status.revision, status.total_key, status.total_size
        )),
        OutputFormat::Protobuf => format_not_supported(print.format),
    }
}
