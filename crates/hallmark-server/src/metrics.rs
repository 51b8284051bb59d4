//! Prometheus metrics, served in the text exposition format on a listener of
//! their own (`hallmark serve --metrics-listen`), never on the public one.
//!
//! Labels are bounded: routes are the router's patterns (`/v1/codes/{code}`,
//! never the code), unknown paths are `other`, verdicts and alerts are the
//! documented words.
//!
//! Besides the service's own (`hallmark_*`, with `hallmark_build_info{version}`
//! always 1), the standard process metrics are read from `/proc/self` on each
//! scrape (Linux only; absent elsewhere): `process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds` and `process_start_time_seconds`.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WordLabels {
    word: String,
}

type HistogramMaker = fn() -> Histogram;

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, HistogramMaker>,
    verdicts: Family<WordLabels, Counter>,
    alerts: Family<WordLabels, Counter>,
    status_changes: Family<WordLabels, Counter>,
    snapshot_builds: Counter,
    reports: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut root = Registry::default();
        // The standard process metrics carry no prefix; the service's do.
        root.register_collector(Box::new(ProcessCollector));
        let registry = root.sub_registry_with_prefix("hallmark");
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register(
            "build_info",
            "The running hallmark's version (always 1)",
            build_info,
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram, HistogramMaker>::new_with_constructor(
            latency_histogram as HistogramMaker,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            durations.clone(),
        );
        let verdicts = Family::<WordLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Codes judged by lookups, scans and code pages, by verdict",
            verdicts.clone(),
        );
        let alerts = Family::<WordLabels, Counter>::default();
        registry.register("scan_alerts", "Alerts raised by scans", alerts.clone());
        let status_changes = Family::<WordLabels, Counter>::default();
        registry.register(
            "status_changes",
            "Acknowledged status changes, by action",
            status_changes.clone(),
        );
        let snapshot_builds = Counter::default();
        registry.register(
            "snapshot_builds",
            "Revocation snapshots built and signed (once per change or refresh)",
            snapshot_builds.clone(),
        );
        let reports = Counter::default();
        registry.register(
            "reports",
            "Reports of suspected fakes stored",
            reports.clone(),
        );
        Metrics {
            reports,
            snapshot_builds,
            registry: root,
            requests,
            durations,
            verdicts,
            alerts,
            status_changes,
        }
    }
}

impl Metrics {
    /// Counts a judged code.
    pub fn verdict(&self, word: &str) {
        self.verdicts.get_or_create(&word_label(word)).inc();
    }

    /// Counts a scan alert.
    pub fn alert(&self, word: &str) {
        self.alerts.get_or_create(&word_label(word)).inc();
    }

    /// Counts an acknowledged status change.
    pub fn status_change(&self, action: &str) {
        self.status_changes.get_or_create(&word_label(action)).inc();
    }

    /// Counts a snapshot built and signed.
    pub fn snapshot_built(&self) {
        self.snapshot_builds.inc();
    }

    /// Counts a stored report of a suspected fake.
    pub fn report(&self) {
        self.reports.inc();
    }

    /// Snapshots built and signed so far.
    pub fn snapshot_builds(&self) -> u64 {
        self.snapshot_builds.get()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Counts and times one request by its route pattern.
    pub(crate) fn request(&self, method: String, route: String, status: u16, seconds: f64) {
        self.durations
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }
}

/// The process metrics, read from `/proc/self` on each scrape (Linux).
#[derive(Debug)]
struct ProcessCollector;

/// What `/proc/self/stat` says of CPU time and start time, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    /// utime + stime.
    cpu_ticks: u64,
    /// Since boot.
    start_ticks: u64,
}

/// Clock ticks per second in `/proc`: `USER_HZ`, 100 on every Linux
/// architecture (Prometheus' own procfs reader assumes the same).
const USER_HZ: f64 = 100.0;

impl ProcStat {
    /// Parses `/proc/self/stat`: the fields after the command name, which is
    /// in parentheses and may itself contain spaces and parentheses.
    fn parse(stat: &str) -> Option<ProcStat> {
        let (_, rest) = stat.rsplit_once(')')?;
        // rest starts with field 3 (state): utime is field 14, stime 15,
        // starttime 22.
        let mut fields = rest.split_ascii_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        let start_ticks = fields.nth(6)?.parse().ok()?;
        Some(ProcStat {
            cpu_ticks: utime.saturating_add(stime),
            start_ticks,
        })
    }
}

/// The value of a `Name:   N kB` line of `/proc/self/status`, in bytes.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        let kib: u64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// The soft limit on open files, from `/proc/self/limits`.
fn max_fds(limits: &str) -> Option<u64> {
    limits.lines().find_map(|line| {
        line.strip_prefix("Max open files")?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// Boot time, seconds since 1970, from `/proc/stat`.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

fn gauge<N: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    let e = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(e)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if !cfg!(target_os = "linux") {
            return Ok(());
        }
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let stat = read("/proc/self/stat").as_deref().and_then(ProcStat::parse);
        if let Some(stat) = stat {
            #[allow(clippy::cast_precision_loss)]
            let cpu = ConstCounter::new(stat.cpu_ticks as f64 / USER_HZ);
            let e = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                cpu.metric_type(),
            )?;
            cpu.encode(e)?;
            if let Some(boot) = read("/proc/stat").as_deref().and_then(boot_time) {
                #[allow(clippy::cast_precision_loss)]
                let start = boot as f64 + stat.start_ticks as f64 / USER_HZ;
                gauge(
                    &mut encoder,
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds",
                    start,
                )?;
            }
        }
        if let Some(status) = read("/proc/self/status") {
            if let Some(rss) = status_kib(&status, "VmRSS") {
                gauge(
                    &mut encoder,
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes",
                    rss,
                )?;
            }
            if let Some(size) = status_kib(&status, "VmSize") {
                gauge(
                    &mut encoder,
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes",
                    size,
                )?;
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle itself is one of them.
            let open = fds.count().saturating_sub(1);
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors",
                open,
            )?;
        }
        if let Some(max) = read("/proc/self/limits").as_deref().and_then(max_fds) {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors",
                max,
            )?;
        }
        Ok(())
    }
}

fn word_label(word: &str) -> WordLabels {
    WordLabels {
        word: word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_bounded_labels() {
        let m = Metrics::default();
        m.verdict("genuine");
        m.verdict("genuine");
        m.alert("clone-suspected");
        m.status_change("revoke");
        let text = m.render();
        assert!(
            text.contains("hallmark_verdicts_total{word=\"genuine\"} 2"),
            "{text}"
        );
        assert!(text.contains("hallmark_scan_alerts_total{word=\"clone-suspected\"} 1"));
        assert!(text.contains("hallmark_status_changes_total{word=\"revoke\"} 1"));
        assert!(text.ends_with("# EOF\n"));
        assert!(
            text.contains(&format!(
                "hallmark_build_info{{version=\"{}\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_metrics_are_read_from_proc() {
        let text = Metrics::default().render();
        let value = |name: &str| -> f64 {
            let prefix = format!("{name} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {text}"))
        };
        assert!(value("process_cpu_seconds_total") >= 0.0);
        assert!(value("process_resident_memory_bytes") > 1024.0 * 1024.0);
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        // stdin, stdout, stderr at least.
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        let start = value("process_start_time_seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        // This test process started within the last day, and not in the future.
        assert!(
            start <= now + 1.0 && start > now - 86_400.0,
            "{start} vs {now}"
        );
        assert!(
            text.contains("# TYPE process_cpu_seconds counter"),
            "{text}"
        );
        assert!(!text.contains("hallmark_process_"), "{text}");
    }

    #[test]
    fn proc_stat_fields_are_found_after_the_command_name() {
        // A command name with spaces and a parenthesis.
        let stat = "2148 (a) b) R 2145 2145 29574 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 1304459 3133440 413 18";
        let s = ProcStat::parse(stat);
        assert_eq!(
            s.map(|s| (s.cpu_ticks, s.start_ticks)),
            Some((300, 1_304_459))
        );
        assert_eq!(ProcStat::parse("1 (x) R 2"), None);
        assert_eq!(ProcStat::parse(""), None);
    }
}
