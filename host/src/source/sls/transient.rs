//! Transient Log Service failures (5xx, 429, `ServerBusy`, read quotas, timeouts, resets):
//! a stream retries them without end, pausing with capped backoff and jitter, logs each
//! kind at most once a minute with how often it happened, and counts them all.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sls_client::SlsError;
use tracing::warn;

use crate::retry::Backoff;

/// How often one kind of failure is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// The pauses between tries of a failing call: 200 ms doubling up to 5 s.
const PAUSES: Backoff = Backoff {
    tries: u32::MAX,
    first: Duration::from_millis(200),
    max: Duration::from_secs(5),
};

/// The failures of one stream (a shard, or the consumer group's heartbeats).
#[derive(Debug)]
pub struct Transient {
    subject: Arc<str>,
    /// Every transient failure of the source, for its summary.
    total: Arc<AtomicU64>,
    /// Per kind: when it was last logged, and how often it happened since.
    kinds: HashMap<String, (Option<Instant>, u64)>,
    /// Failures since the last success.
    in_a_row: u32,
}

impl Transient {
    pub fn new(subject: Arc<str>, total: Arc<AtomicU64>) -> Transient {
        Transient {
            subject,
            total,
            kinds: HashMap::new(),
            in_a_row: 0,
        }
    }

    /// Notes a transient failure and returns the pause before the next try.
    pub fn failed(&mut self, what: &str, error: &SlsError) -> Duration {
        self.failed_as(what, error.code().unwrap_or("transport"), error)
    }

    /// [`Transient::failed`] for a failure of kind `kind` (an error code, `timeout`, …).
    pub fn failed_as(&mut self, what: &str, kind: &str, error: &dyn std::fmt::Display) -> Duration {
        self.total.fetch_add(1, Ordering::Relaxed);
        let kind = kind.to_owned();
        let (logged, since) = self.kinds.entry(kind.clone()).or_insert((None, 0));
        *since += 1;
        if logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            warn!(subject = %self.subject, kind = %kind, times = *since, error = %error,
                  "{what} failed, retrying until it succeeds");
            *logged = Some(Instant::now());
            *since = 0;
        }
        let pause = PAUSES.pause(self.in_a_row);
        self.in_a_row = self.in_a_row.saturating_add(1);
        pause
    }

    /// Notes a success: the next failure pauses briefly again.
    pub fn succeeded(&mut self) {
        self.in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy() -> SlsError {
        SlsError::Service {
            op: "PullLogs",
            target: Box::default(),
            status: 503,
            code: "ServerBusy".into(),
            message: "busy".into(),
            request_id: String::new(),
        }
    }

    #[test]
    fn pauses_grow_until_a_success_and_every_failure_counts() {
        let total = Arc::new(AtomicU64::new(0));
        let mut t = Transient::new("sls://p/l/0".into(), total.clone());
        let first = t.failed("PullLogs", &busy());
        assert!(first <= Duration::from_millis(200));
        for _ in 0..10 {
            t.failed("PullLogs", &busy());
        }
        let late = t.failed("PullLogs", &busy());
        assert!(late >= Duration::from_millis(2500) && late <= Duration::from_secs(5));
        t.succeeded();
        assert!(t.failed("PullLogs", &busy()) <= Duration::from_millis(200));
        assert_eq!(total.load(Ordering::Relaxed), 13);
        // Logged once: the rest wait for the minute to pass.
        assert_eq!(t.kinds["ServerBusy"].1, 12);
    }
}
