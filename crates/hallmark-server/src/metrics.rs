//! Prometheus metrics, served in the text exposition format on a listener of
//! their own (`hallmark serve --metrics-listen`), never on the public one.
//!
//! Labels are bounded: routes are the router's patterns (`/v1/codes/{code}`,
//! never the code), unknown paths are `other`, verdicts and alerts are the
//! documented words.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
        let mut registry = Registry::with_prefix("hallmark");
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
            registry,
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
    }
}
