//! WebTracking: `GET /logstores/NAME/track?…`, `GET …/track.gif?…` and `POST …/track` with a
//! JSON batch, all anonymous.

use bytes::Bytes;
use hyper::Method;
use prost::Message;
use serde::Deserialize;

use super::put::{Target, decode_body};
use super::{Ctx, Reply, Shared, not_found, now_secs};
use crate::error::SlsError;
use crate::faults::Op;
use crate::proto::{Log, LogContent, LogGroup, LogTag};
use crate::store::StoredGroup;

/// A transparent 1x1 GIF, the body of `track.gif`.
const PIXEL_GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

impl Shared {
    pub(super) async fn track(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        gif: bool,
    ) -> Result<Reply, SlsError> {
        self.lock().store.logstore(project, logstore)?;
        let now = now_secs();
        let mut group = if ctx.method == Method::GET {
            track_query(ctx, now)?
        } else if ctx.method == Method::POST && !gif {
            track_json(&decode_body(ctx)?, now)?
        } else {
            return Err(not_found(ctx));
        };
        if group.source.is_none() {
            group.source = Some(ctx.peer.ip().to_string().into());
        }
        group
            .log_tags
            .push(tag("__receive_time__", now.to_string()));
        group
            .log_tags
            .push(tag("__client_ip__", ctx.peer.ip().to_string()));
        if let Some(agent) = ctx.header("user-agent") {
            group.log_tags.push(tag("__user_agent__", agent.to_owned()));
        }
        let stored = StoredGroup {
            receive_time: now,
            logs: group.logs.len() as u32,
            bytes: Bytes::from(group.encode_to_vec()),
        };
        self.store_group(project, logstore, Target::Balanced, Op::Track, stored)
            .await?;
        if gif {
            Ok(Reply {
                content_type: Some("image/gif"),
                headers: Vec::new(),
                body: Bytes::from_static(PIXEL_GIF),
            })
        } else {
            Ok(Reply::empty())
        }
    }
}

fn tag(key: &str, value: String) -> LogTag {
    LogTag {
        key: key.into(),
        value: value.into(),
    }
}

/// `GET …/track?APIVersion=0.6.0&__topic__=t&k=v…`: one log of the non-reserved parameters.
fn track_query(ctx: &Ctx, now: u32) -> Result<LogGroup, SlsError> {
    let mut group = LogGroup::default();
    let mut contents = Vec::new();
    for (k, v) in &ctx.query {
        match k.as_str() {
            "APIVersion" => {}
            "__topic__" => group.topic = Some(v.clone().into()),
            "__source__" => group.source = Some(v.clone().into()),
            _ => match k.strip_prefix("__tag__:") {
                Some(t) => group.log_tags.push(tag(t, v.clone())),
                None => contents.push(LogContent {
                    key: k.clone().into(),
                    value: v.clone().into(),
                }),
            },
        }
    }
    if contents.is_empty() {
        return Err(SlsError::parameter(
            "webtracking request has no log fields: add key=value query parameters",
        ));
    }
    group.logs.push(Log {
        time: now,
        contents,
        time_ns: None,
    });
    Ok(group)
}

/// `POST …/track` JSON: `{"__topic__","__source__","__logs__":[{…}],"__tags__":{…}}`.
fn track_json(body: &[u8], now: u32) -> Result<LogGroup, SlsError> {
    #[derive(Deserialize)]
    struct Batch {
        #[serde(rename = "__topic__")]
        topic: Option<String>,
        #[serde(rename = "__source__")]
        source: Option<String>,
        #[serde(rename = "__logs__")]
        logs: Vec<serde_json::Map<String, serde_json::Value>>,
        #[serde(rename = "__tags__", default)]
        tags: serde_json::Map<String, serde_json::Value>,
    }
    let batch: Batch = serde_json::from_slice(body)
        .map_err(|e| SlsError::body(format!("webtracking body is not the expected JSON: {e}")))?;
    if batch.logs.is_empty() {
        return Err(SlsError::body("webtracking body has an empty `__logs__`"));
    }
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let logs = batch
        .logs
        .into_iter()
        .map(|fields| {
            let mut time = now;
            let mut contents = Vec::new();
            for (k, v) in fields {
                let v = text(v);
                if k == "__time__" {
                    time = v.parse().unwrap_or(now);
                } else {
                    contents.push(LogContent {
                        key: k.into(),
                        value: v.into(),
                    });
                }
            }
            Log {
                time,
                contents,
                time_ns: None,
            }
        })
        .collect();
    Ok(LogGroup {
        logs,
        topic: batch.topic.map(String::into_bytes),
        source: batch.source.map(String::into_bytes),
        log_tags: batch
            .tags
            .into_iter()
            .map(|(k, v)| tag(&k, text(v)))
            .collect(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{LogGroupText, LogText};

    #[test]
    fn webtracking_json_batch() {
        let body = r#"{"__topic__":"t","__source__":"s","__logs__":[{"id":"1","n":2,"__time__":"1700000000"},{"name":"こころ"}],"__tags__":{"env":"test"}}"#;
        let g = track_json(body.as_bytes(), 42).unwrap();
        assert_eq!(g.topic_str(), Some("t"));
        assert_eq!(g.source_str(), Some("s"));
        assert_eq!(g.logs.len(), 2);
        assert_eq!(g.logs[0].time, 1_700_000_000);
        assert_eq!(g.logs[0].get("n"), Some("2"));
        assert_eq!(g.logs[1].time, 42);
        assert_eq!(g.logs[1].get("name"), Some("こころ"));
        assert_eq!(g.tag("env"), Some("test"));
        assert!(track_json(br#"{"__logs__":[]}"#, 1).is_err());
    }
}
