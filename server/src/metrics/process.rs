//! The process's own metrics (`process_*`, as Prometheus clients report
//! them), read from `/proc/self` at scrape time. Elsewhere than Linux there
//! are none: nothing is reported that is not measured.

use super::engine::{family, plain};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

/// Families reported: name, help, type.
const FAMILIES: &[(&str, &str, MetricType)] = &[
    (
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        MetricType::COUNTER,
    ),
    (
        "process_open_fds",
        "Number of open file descriptors.",
        MetricType::GAUGE,
    ),
    (
        "process_max_fds",
        "Maximum number of open file descriptors.",
        MetricType::GAUGE,
    ),
    (
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        MetricType::GAUGE,
    ),
    (
        "process_virtual_memory_max_bytes",
        "Maximum amount of virtual memory available in bytes.",
        MetricType::GAUGE,
    ),
    (
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        MetricType::GAUGE,
    ),
    (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        MetricType::GAUGE,
    ),
];

/// Linux's clock ticks per second in `/proc` (`USER_HZ`, fixed at 100 on
/// every architecture Linux exposes to user space).
const TICKS_PER_SECOND: f64 = 100.0;

/// Reads `/proc/self` when the registry is gathered.
pub(super) struct ProcessCollector {
    descs: Vec<Desc>,
}

impl ProcessCollector {
    pub(super) fn new() -> ProcessCollector {
        let descs = FAMILIES
            .iter()
            .filter_map(|(name, help, _)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    Vec::new(),
                    Default::default(),
                )
                .ok()
            })
            .collect();
        ProcessCollector { descs }
    }
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let sample = ProcessSample::read();
        FAMILIES
            .iter()
            .filter_map(|(name, help, kind)| {
                let value = sample.value(name)?;
                Some(family(name, help, *kind, vec![plain(*kind, value)]))
            })
            .collect()
    }
}

/// What `/proc/self` said; each field `None` when it could not be read.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct ProcessSample {
    pub(super) cpu_seconds: Option<f64>,
    pub(super) open_fds: Option<f64>,
    pub(super) max_fds: Option<f64>,
    pub(super) virtual_memory_bytes: Option<f64>,
    pub(super) virtual_memory_max_bytes: Option<f64>,
    pub(super) resident_memory_bytes: Option<f64>,
    pub(super) start_time_seconds: Option<f64>,
}

impl ProcessSample {
    fn value(&self, name: &str) -> Option<f64> {
        match name {
            "process_cpu_seconds_total" => self.cpu_seconds,
            "process_open_fds" => self.open_fds,
            "process_max_fds" => self.max_fds,
            "process_virtual_memory_bytes" => self.virtual_memory_bytes,
            "process_virtual_memory_max_bytes" => self.virtual_memory_max_bytes,
            "process_resident_memory_bytes" => self.resident_memory_bytes,
            "process_start_time_seconds" => self.start_time_seconds,
            _ => None,
        }
    }

    #[cfg(target_os = "linux")]
    fn read() -> ProcessSample {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let mut sample = read("/proc/self/stat")
            .map(|stat| {
                let boot_time = read("/proc/stat").and_then(|s| boot_time_seconds(&s));
                from_stat(&stat, page_size_bytes(), boot_time)
            })
            .unwrap_or_default();
        sample.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|entries| entries.count() as f64);
        if let Some(limits) = read("/proc/self/limits") {
            sample.max_fds = soft_limit(&limits, "Max open files");
            sample.virtual_memory_max_bytes = soft_limit(&limits, "Max address space");
        }
        sample
    }

    #[cfg(not(target_os = "linux"))]
    fn read() -> ProcessSample {
        ProcessSample::default()
    }
}

#[cfg(target_os = "linux")]
fn page_size_bytes() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as f64 } else { 4096.0 }
}

/// The fields of `/proc/self/stat` that matter here (see proc(5)): after
/// the command name in parentheses, which may itself hold spaces.
pub(super) fn from_stat(stat: &str, page_bytes: f64, boot_time: Option<f64>) -> ProcessSample {
    let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return ProcessSample::default();
    };
    // Field 3 (state) is the first after the name.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |number: usize| -> Option<f64> { fields.get(number.checked_sub(3)?)?.parse().ok() };
    let ticks = |number| field(number).map(|t| t / TICKS_PER_SECOND);
    ProcessSample {
        cpu_seconds: ticks(14).zip(ticks(15)).map(|(user, system)| user + system),
        virtual_memory_bytes: field(23),
        resident_memory_bytes: field(24).map(|pages| pages * page_bytes),
        start_time_seconds: ticks(22)
            .zip(boot_time)
            .map(|(since_boot, boot)| boot + since_boot),
        ..ProcessSample::default()
    }
}

/// `btime` of `/proc/stat`: when the system booted, in seconds since the
/// epoch.
pub(super) fn boot_time_seconds(stat: &str) -> Option<f64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse().ok())
}

/// A limit's soft value from `/proc/self/limits`; `unlimited` is reported
/// as the largest value, as Prometheus's Go client does.
pub(super) fn soft_limit(limits: &str, name: &str) -> Option<f64> {
    let rest = limits.lines().find_map(|line| line.strip_prefix(name))?;
    match rest.split_whitespace().next()? {
        "unlimited" => Some(u64::MAX as f64),
        value => value.parse().ok(),
    }
}
