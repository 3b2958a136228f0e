//! Calls to remote systems (the database, Log Service) that fail for a passing reason are
//! tried again after a pause that doubles each time, up to a cap, with jitter so that many
//! writers or shards recovering together do not hammer the service in step.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use tracing::{debug, warn};

/// Where retries are counted: set once per process, by whoever exposes the counts.
static COUNTER: OnceLock<fn(&str, &str)> = OnceLock::new();

/// Counts every retry from now on with `counter(operation, reason)`; the first counter set
/// stays. Retries before it are not counted.
pub fn count_retries(counter: fn(operation: &str, reason: &str)) {
    let _ = COUNTER.set(counter);
}

/// How often and how patiently a failed call is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included (1 = no retry).
    pub tries: u32,
    /// Pause before the second try; doubled for each further one.
    pub first: Duration,
    /// Longest pause between two tries.
    pub max: Duration,
}

impl Backoff {
    /// The longest pause after failed try `attempt` (from 0): `first × 2^attempt`, capped.
    pub fn cap(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(1 << attempt.min(20))
            .min(self.max)
    }

    /// The pause after failed try `attempt`: a random time between half the cap and the
    /// cap ("equal jitter"), so the pauses still grow but retries spread out.
    pub fn pause(&self, attempt: u32) -> Duration {
        let cap = self.cap(attempt);
        let half = cap / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Whether a try may follow failed try `attempt` (from 0).
    pub fn allows(&self, attempt: u32) -> bool {
        attempt + 1 < self.tries.max(1)
    }
}

impl Backoff {
    /// The tries of one call, `what` naming it in the log.
    pub fn attempts<'a>(&'a self, what: &'a str) -> Attempts<'a> {
        Attempts {
            backoff: self,
            what,
            failed: 0,
            quiet: false,
        }
    }

    /// [`Backoff::attempts`] that log each retry at debug level only: for callers that
    /// report failures themselves (a stream logs each kind once a minute).
    pub fn quiet_attempts<'a>(&'a self, what: &'a str) -> Attempts<'a> {
        Attempts {
            quiet: true,
            ..self.attempts(what)
        }
    }
}

/// The tries of one call. After each failure, [`Attempts::next`] says whether to try
/// again (having waited) or gives the error back: callers write the loop, so a retried
/// call may borrow whatever it needs.
#[derive(Debug)]
pub struct Attempts<'a> {
    backoff: &'a Backoff,
    what: &'a str,
    failed: u32,
    quiet: bool,
}

impl Attempts<'_> {
    /// After a failed try: when the error is `retriable` and tries remain, logs it, counts
    /// it under `reason` (see [`count_retries`]), waits and returns `Ok`; otherwise returns
    /// the error.
    pub async fn next<E: fmt::Display>(
        &mut self,
        error: E,
        retriable: bool,
        reason: &str,
    ) -> Result<(), E> {
        if !retriable || !self.backoff.allows(self.failed) {
            return Err(error);
        }
        if let Some(count) = COUNTER.get() {
            count(self.what, reason);
        }
        let pause = self.backoff.pause(self.failed);
        let (attempt, pause_ms) = (self.failed + 1, pause.as_millis() as u64);
        if self.quiet {
            debug!(attempt, pause_ms, error = %error, "{} failed, retrying", self.what);
        } else {
            warn!(attempt, tries = self.backoff.tries, pause_ms, error = %error,
                  "{} failed, retrying", self.what);
        }
        tokio::time::sleep(pause).await;
        self.failed += 1;
        Ok(())
    }

    /// Failed tries so far.
    pub fn failed(&self) -> u32 {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_with_jitter() {
        let b = Backoff {
            tries: 5,
            first: Duration::from_millis(500),
            max: Duration::from_secs(3),
        };
        assert_eq!(b.cap(0), Duration::from_millis(500));
        assert_eq!(b.cap(2), Duration::from_secs(2));
        assert_eq!(b.cap(9), Duration::from_secs(3));
        for attempt in 0..6 {
            let p = b.pause(attempt);
            assert!(p >= b.cap(attempt) / 2 && p <= b.cap(attempt), "{p:?}");
        }
        assert!(b.allows(3) && !b.allows(4));
    }

    /// Tries `results` in order the way callers do, until one is final.
    async fn run(
        b: &Backoff,
        results: &[Result<u32, &'static str>],
    ) -> (Result<u32, &'static str>, u32) {
        let mut attempts = b.attempts("test call");
        let mut tries = 0;
        loop {
            let r = results[tries as usize];
            tries += 1;
            match r {
                Ok(v) => return (Ok(v), tries),
                Err(e) => {
                    if let Err(e) = attempts.next(e, e != "denied", e).await {
                        return (Err(e), tries);
                    }
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_and_stops_on_a_final_error() {
        let b = Backoff {
            tries: 4,
            first: Duration::from_millis(10),
            max: Duration::from_millis(40),
        };
        assert_eq!(
            run(&b, &[Err("busy"), Err("busy"), Ok(3)]).await,
            (Ok(3), 3)
        );
        assert_eq!(run(&b, &[Err("denied"), Ok(1)]).await, (Err("denied"), 1));
        let busy = [Err("busy"); 6];
        assert_eq!(run(&b, &busy).await, (Err("busy"), 4));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_counted_once_a_counter_is_set() {
        static COUNTED: AtomicU32 = AtomicU32::new(0);
        count_retries(|operation, reason| {
            if operation == "counted call" && reason == "busy" {
                COUNTED.fetch_add(1, Ordering::Relaxed);
            }
        });
        let b = Backoff {
            tries: 3,
            first: Duration::from_millis(10),
            max: Duration::from_millis(10),
        };
        let mut attempts = b.attempts("counted call");
        attempts.next("busy", true, "busy").await.unwrap();
        attempts.next("busy", true, "busy").await.unwrap();
        assert!(attempts.next("busy", true, "busy").await.is_err());
        assert_eq!(COUNTED.load(Ordering::Relaxed), 2);
    }
}
