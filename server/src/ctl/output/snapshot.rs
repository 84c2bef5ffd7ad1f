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

#[cfg(test)]
mod tests {
    use super::*;

    /// What etcd's status of the captured file was (`status_json.out`).
    const ETCDS: BackupStatus = BackupStatus {
        hash: 3554497645,
        revision: 2,
        total_key: 5,
        total_size: 20480,
    };

    fn printed(format: OutputFormat) -> String {
        let print = PrintOptions { format, hex: false };
        print_snapshot_status(print, &ETCDS).stdout_text()
    }

    #[test]
    fn status_prints_etcdctls_bytes_in_every_format() {
        let fixture = |name: &str| match name {
            "simple" => include_str!("../../../tests/fixtures/etcdctl/snapshot/status_simple.out"),
            "json" => include_str!("../../../tests/fixtures/etcdctl/snapshot/status_json.out"),
            "table" => include_str!("../../../tests/fixtures/etcdctl/snapshot/status_table.out"),
            _ => include_str!("../../../tests/fixtures/etcdctl/snapshot/status_fields.out"),
        };
        assert_eq!(printed(OutputFormat::Simple), fixture("simple"));
        assert_eq!(printed(OutputFormat::Json), fixture("json"));
        assert_eq!(printed(OutputFormat::Table), fixture("table"));
        assert_eq!(printed(OutputFormat::Fields), fixture("fields"));
        let protobuf = print_snapshot_status(
            PrintOptions {
                format: OutputFormat::Protobuf,
                hex: false,
            },
            &ETCDS,
        );
        assert_eq!(protobuf.exit_code, 4);
        assert_eq!(
            print_snapshot_saved("s.db").stdout_text(),
            include_str!("../../../tests/fixtures/etcdctl/snapshot/save.out")
        );
    }
}
