use super::process::{boot_time_seconds, from_stat, soft_limit};
use super::*;

/// `# TYPE` lines of a rendering, as (name, type).
fn types(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| {
            let (name, kind) = rest.split_once(' ')?;
            Some((name.to_string(), kind.to_string()))
        })
        .collect()
}

#[test]
fn levels_parse_as_etcd_names_them() {
    assert_eq!(MetricsLevel::parse("basic"), Some(MetricsLevel::Basic));
    assert_eq!(
        MetricsLevel::parse("extensive"),
        Some(MetricsLevel::Extensive)
    );
    assert_eq!(MetricsLevel::parse("Basic"), None);
    assert_eq!(MetricsLevel::default(), MetricsLevel::Basic);
}

#[test]
fn grpc_calls_are_counted_by_method_type_and_code() {
    let grpc = grpc::GrpcMetrics::new(MetricsLevel::Extensive);
    assert!(
        grpc.start("/etcdserverpb.KV/Frobnicate").is_none(),
        "unknown methods are not counted"
    );
    assert!(grpc.start("garbage").is_none());
    let watch = grpc
        .start("/etcdserverpb.Watch/Watch")
        .expect("served method");
    watch.finish(crate::grpc::Code::Canceled);
    let put = grpc.start("/etcdserverpb.KV/Put").expect("served method");
    put.finish(crate::grpc::Code::Ok);
    let registry = Registry::new();
    registry.register(Box::new(grpc)).expect("registered");
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut text)
        .expect("encoded");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(text.contains(
        r#"grpc_server_handled_total{grpc_code="Canceled",grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 1"#
    ), "{text}");
    assert!(text.contains(
        r#"grpc_server_started_total{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 1"#
    ), "{text}");
    assert!(
        text.contains("grpc_server_handling_seconds_bucket{"),
        "extensive adds latency histograms"
    );
    assert_eq!(
        types(&text),
        vec![
            (
                "grpc_server_handled_total".to_string(),
                "counter".to_string()
            ),
            (
                "grpc_server_handling_seconds".to_string(),
                "histogram".to_string()
            ),
            (
                "grpc_server_started_total".to_string(),
                "counter".to_string()
            ),
        ]
    );
}

#[test]
fn basic_level_has_no_latency_histograms() {
    let grpc = grpc::GrpcMetrics::new(MetricsLevel::Basic);
    if let Some(call) = grpc.start("/etcdserverpb.KV/Range") {
        call.finish(crate::grpc::Code::Ok);
    }
    let registry = Registry::new();
    registry.register(Box::new(grpc)).expect("registered");
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut text)
        .expect("encoded");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(!text.contains("grpc_server_handling_seconds"), "{text}");
}

#[test]
fn proc_stat_fields_are_read_after_the_command_name() {
    // A command name with spaces and a parenthesis, as proc(5) allows.
    let stat = "4242 (keel (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                250 50 0 0 20 0 8 0 1000 123456789 2000 18446744073709551615";
    let sample = from_stat(stat, 4096.0, Some(1_700_000_000.0));
    assert_eq!(sample.cpu_seconds, Some(3.0), "(250 + 50) ticks at 100 Hz");
    assert_eq!(sample.start_time_seconds, Some(1_700_000_010.0));
    assert_eq!(sample.virtual_memory_bytes, Some(123_456_789.0));
    assert_eq!(sample.resident_memory_bytes, Some(2000.0 * 4096.0));
    assert_eq!(from_stat("garbage", 4096.0, None), Default::default());
    assert_eq!(
        boot_time_seconds("cpu 1 2\nbtime 1700000000\n"),
        Some(1_700_000_000.0)
    );
    let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                  Max open files            1024                 524288               files\n\
                  Max address space         unlimited            unlimited            bytes\n";
    assert_eq!(soft_limit(limits, "Max open files"), Some(1024.0));
    assert_eq!(
        soft_limit(limits, "Max address space"),
        Some(u64::MAX as f64)
    );
    assert_eq!(soft_limit(limits, "Max nothing"), None);
}

#[cfg(target_os = "linux")]
#[test]
fn this_process_is_measured() {
    let registry = Registry::new();
    registry
        .register(Box::new(process::ProcessCollector::new()))
        .expect("registered");
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut text)
        .expect("encoded");
    let text = String::from_utf8(text).expect("utf-8");
    for name in [
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_virtual_memory_bytes",
    ] {
        assert!(
            text.contains(&format!("\n{name} ")),
            "{name} missing in {text}"
        );
    }
    assert!(types(&text).contains(&("process_cpu_seconds_total".into(), "counter".into())));
}
