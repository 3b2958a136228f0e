//! Fault injection for tests: error answers (5xx, quota errors) and added latency, per
//! operation, logstore, shard and consumer, optionally for a limited number of requests or
//! a limited time (`"for": "30s"`, counted from when the rule is added).
//!
//! Rules come from `--fault JSON` or `POST /_admin/faults` (a rule or a list of rules);
//! `DELETE /_admin/faults` clears them and `GET /_admin/faults` lists what is left.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::SlsError;

/// The operation a request performs, as fault rules name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Every operation below.
    #[default]
    Any,
    Put,
    Track,
    Pull,
    Cursor,
    ListShards,
    Heartbeat,
    Checkpoint,
    /// Consumer-group create, list, update, delete and get checkpoint.
    ConsumerGroup,
}

/// One rule. A request matches when op, logstore and shard (those given) match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Operation the rule applies to (`any` when absent).
    #[serde(default)]
    pub op: Op,
    /// Logstore the rule applies to (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logstore: Option<String>,
    /// Shard the rule applies to (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u32>,
    /// Error code to answer with, e.g. `WriteQuotaExceed`, `InternalServerError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// HTTP status of that error; the service's usual one for the code when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Milliseconds to wait before answering.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latency_ms: u64,
    /// Number of matching requests the rule still applies to; forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// How long the rule applies, from when it is added: `30s`, `500ms`, `2m`, or seconds.
    #[serde(
        rename = "for",
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration_text"
    )]
    pub lasts: Option<Duration>,
    /// A pull answered with no logs and an empty `x-log-cursor` (the official consumer
    /// library keeps the request's cursor then: aliyun-log-python-sdk `consumer/tasks.py`
    /// `consumer_fetch_task`; when the service sends one is not documented).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_cursor: bool,
    /// Consumer (of a consumer group) the rule applies to: its heartbeats and checkpoints
    /// (all requests when absent). A failing heartbeat is one the group never received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// When the rule stops applying; set from `lasts` when it is added.
    #[serde(skip)]
    pub expires: Option<Instant>,
}

/// `for` as text: `30s`, `250ms`, `2m`, or a number of seconds.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Seconds(f64),
            Text(String),
        }
        let seconds = match Text::deserialize(d)? {
            Text::Seconds(n) => n,
            Text::Text(t) => parse(&t).map_err(serde::de::Error::custom)?,
        };
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(serde::de::Error::custom(
                "`for` must be a positive duration",
            ));
        }
        Ok(Some(Duration::from_secs_f64(seconds)))
    }

    fn parse(t: &str) -> Result<f64, String> {
        let t = t.trim();
        let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let n: f64 = (n.trim().parse()).map_err(|_| format!("`{t}` is not a duration"))?;
        match unit {
            "ms" => Ok(n / 1000.0),
            "" | "s" => Ok(n),
            "m" => Ok(n * 60.0),
            _ => Err(format!("`{t}`: unknown unit (use ms, s or m)")),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A rule that can never do anything.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("fault rule has neither `error`, `latency_ms` nor `empty_cursor`: give one of them")]
pub struct EmptyRule;

impl FaultRule {
    /// An error answer for `op`.
    pub fn error(op: Op, code: &str) -> Self {
        FaultRule {
            op,
            logstore: None,
            shard: None,
            error: Some(code.to_owned()),
            status: None,
            latency_ms: 0,
            times: None,
            lasts: None,
            empty_cursor: false,
            consumer: None,
            expires: None,
        }
    }

    /// Pulls answered with no logs and an empty `x-log-cursor`.
    pub fn empty_cursor() -> Self {
        FaultRule {
            error: None,
            empty_cursor: true,
            ..FaultRule::error(Op::Pull, "")
        }
    }

    /// Added latency for `op`.
    pub fn latency(op: Op, latency: Duration) -> Self {
        FaultRule {
            latency_ms: latency.as_millis() as u64,
            error: None,
            ..FaultRule::error(op, "")
        }
    }

    pub fn on_shard(mut self, logstore: &str, shard: u32) -> Self {
        self.logstore = Some(logstore.to_owned());
        self.shard = Some(shard);
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// The rule applies for `lasts` from when it is added.
    pub fn lasting(mut self, lasts: Duration) -> Self {
        self.lasts = Some(lasts);
        self
    }

    /// The rule applies to one consumer's requests.
    pub fn for_consumer(mut self, consumer: &str) -> Self {
        self.consumer = Some(consumer.to_owned());
        self
    }

    pub fn validate(&self) -> Result<(), EmptyRule> {
        if self.error.as_deref().is_none_or(str::is_empty)
            && self.latency_ms == 0
            && !self.empty_cursor
        {
            return Err(EmptyRule);
        }
        Ok(())
    }

    fn matches(&self, req: &Request<'_>) -> bool {
        (self.op == Op::Any || self.op == req.op)
            && self.logstore.as_deref().is_none_or(|l| l == req.logstore)
            && self.shard.is_none_or(|s| Some(s) == req.shard)
            && (self.consumer.as_deref()).is_none_or(|c| Some(c) == req.consumer)
            && self.expires.is_none_or(|t| Instant::now() < t)
    }
}

/// What a request is, as rules match it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub op: Op,
    pub logstore: &'a str,
    pub shard: Option<u32>,
    /// The consumer making a consumer-group request.
    pub consumer: Option<&'a str>,
}

/// What the active rules do to one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub latency: Duration,
    pub error: Option<SlsError>,
    /// Answer a pull with no logs and an empty `x-log-cursor`.
    pub empty_cursor: bool,
}

/// The active rules, and the requests seen by operation (every request passes here).
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
    requests: std::collections::BTreeMap<Op, u64>,
}

impl Faults {
    pub fn add(&mut self, mut rule: FaultRule) -> Result<(), EmptyRule> {
        rule.validate()?;
        rule.expires = rule.lasts.map(|d| Instant::now() + d);
        self.rules.push(rule);
        Ok(())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Requests seen so far, by operation (for request-volume figures).
    pub fn requests(&self) -> &std::collections::BTreeMap<Op, u64> {
        &self.requests
    }

    /// Applies the matching rules to one request: latencies add up, the first error wins, and
    /// every matching rule uses up one of its `times`.
    pub fn apply(&mut self, op: Op, logstore: &str, shard: Option<u32>) -> Outcome {
        self.apply_to(Request {
            op,
            logstore,
            shard,
            consumer: None,
        })
    }

    /// [`Faults::apply`] for a request of a known kind; rules past their time are dropped.
    pub fn apply_to(&mut self, req: Request<'_>) -> Outcome {
        *self.requests.entry(req.op).or_default() += 1;
        let now = Instant::now();
        self.rules.retain(|r| r.expires.is_none_or(|t| now < t));
        let mut outcome = Outcome::default();
        for rule in &mut self.rules {
            if !rule.matches(&req) {
                continue;
            }
            outcome.latency += Duration::from_millis(rule.latency_ms);
            outcome.empty_cursor |= rule.empty_cursor;
            if let Some(code) = rule.error.as_deref().filter(|c| !c.is_empty())
                && outcome.error.is_none()
            {
                let status = rule
                    .status
                    .unwrap_or_else(|| SlsError::default_status(code));
                let where_ = match rule.shard {
                    Some(s) => format!(" on shard {s}"),
                    None => String::new(),
                };
                outcome.error = Some(SlsError::new(
                    status,
                    code.to_owned(),
                    format!("fault injected by sls-lite{where_}"),
                ));
            }
            if let Some(times) = &mut rule.times {
                *times = times.saturating_sub(1);
            }
        }
        self.rules.retain(|r| r.times != Some(0));
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_rule_applies_to_its_shard_a_limited_number_of_times() {
        let mut faults = Faults::default();
        faults
            .add(
                FaultRule::error(Op::Put, "WriteQuotaExceed")
                    .on_shard("orders", 1)
                    .times(2),
            )
            .unwrap();
        assert_eq!(faults.apply(Op::Put, "orders", Some(0)), Outcome::default());
        assert_eq!(
            faults.apply(Op::Pull, "orders", Some(1)),
            Outcome::default()
        );
        for _ in 0..2 {
            let e = faults.apply(Op::Put, "orders", Some(1)).error.unwrap();
            assert_eq!((e.status, e.code.as_ref()), (403, "WriteQuotaExceed"));
        }
        assert_eq!(faults.apply(Op::Put, "orders", Some(1)), Outcome::default());
        assert!(faults.rules().is_empty());
    }

    #[test]
    fn latencies_add_up_and_first_error_wins() {
        let mut faults = Faults::default();
        faults
            .add(FaultRule::latency(Op::Any, Duration::from_millis(30)))
            .unwrap();
        faults
            .add(FaultRule::latency(Op::Pull, Duration::from_millis(20)))
            .unwrap();
        faults
            .add(FaultRule::error(Op::Pull, "InternalServerError"))
            .unwrap();
        faults.add(FaultRule::error(Op::Any, "ServerBusy")).unwrap();
        let out = faults.apply(Op::Pull, "x", None);
        assert_eq!(out.latency, Duration::from_millis(50));
        assert_eq!(out.error.unwrap().status, 500);
        let out = faults.apply(Op::Put, "x", None);
        assert_eq!(out.latency, Duration::from_millis(30));
        assert_eq!(out.error.unwrap().code, "ServerBusy");
    }

    #[test]
    fn rules_last_for_a_time_and_match_a_consumer() {
        let mut faults = Faults::default();
        let rule: FaultRule = serde_json::from_str(
            r#"{"op":"heartbeat","error":"InternalServerError","consumer":"a","for":"80ms"}"#,
        )
        .unwrap();
        assert_eq!(rule.lasts, Some(Duration::from_millis(80)));
        faults.add(rule).unwrap();
        let beat = |consumer| Request {
            op: Op::Heartbeat,
            logstore: "orders",
            shard: None,
            consumer: Some(consumer),
        };
        assert!(faults.apply_to(beat("a")).error.is_some());
        assert!(faults.apply_to(beat("b")).error.is_none());
        std::thread::sleep(Duration::from_millis(100));
        assert!(faults.apply_to(beat("a")).error.is_none());
        assert!(faults.rules().is_empty());
        let seconds: FaultRule =
            serde_json::from_str(r#"{"op":"pull","error":"ServerBusy","for":2}"#).unwrap();
        assert_eq!(seconds.lasts, Some(Duration::from_secs(2)));
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"op":"pull","error":"x","for":"5h"}"#).is_err()
        );
    }

    #[test]
    fn parses_json_and_refuses_empty_rules() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"op":"pull","error":"ReadQuotaExceed","shard":2}"#).unwrap();
        assert_eq!(rule.op, Op::Pull);
        assert_eq!(rule.shard, Some(2));
        let empty: FaultRule = serde_json::from_str(r#"{"op":"put"}"#).unwrap();
        assert_eq!(Faults::default().add(empty), Err(EmptyRule));
        assert!(serde_json::from_str::<FaultRule>(r#"{"op":"put","eror":"x"}"#).is_err());
    }
}
