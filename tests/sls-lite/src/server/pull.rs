//! PullLogs (`GET /logstores/NAME/shards/ID?type=log&cursor=…`), compressed as the client
//! accepts.

use bytes::Bytes;

use super::{Ctx, Reply, Shared};
use crate::error::SlsError;
use crate::faults::Op;
use crate::proto;

impl Shared {
    pub(super) async fn pull_logs(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let count = match ctx.param("count") {
            None => 1000,
            Some(c) => c
                .parse::<u64>()
                .ok()
                .filter(|c| (1..=1000).contains(c))
                .ok_or_else(|| {
                    SlsError::parameter(format!("count `{c}` must be a number from 1 to 1000"))
                })?,
        };
        let start = ctx
            .param("cursor")
            .ok_or_else(|| SlsError::parameter("PullLogs needs `cursor`"))?;
        {
            let state = self.lock();
            let s = state.store.logstore(project, logstore)?.shard(shard)?;
            s.offset_of(logstore, start)?;
        }
        let outcome = self.lock().faults.apply(Op::Pull, logstore, Some(shard));
        let empty_cursor = outcome.empty_cursor;
        self.gate(outcome).await?;
        if empty_cursor {
            return Ok(Reply {
                content_type: Some("application/x-protobuf"),
                headers: vec![
                    ("x-log-cursor", String::new()),
                    ("x-log-count", "0".to_owned()),
                    ("x-log-bodyrawsize", "0".to_owned()),
                ],
                body: Bytes::new(),
            });
        }
        let (groups, next, last, caught_up) = {
            let state = self.lock();
            let s = state.store.logstore(project, logstore)?.shard(shard)?;
            // Expired offsets read from the begin cursor, silently (PullData reference).
            let from = s.offset_of(logstore, start)?;
            let limit = match ctx.param("end_cursor").or_else(|| ctx.param("endCursor")) {
                Some(end) => s.offset_of(logstore, end)?,
                None => s.end(),
            };
            let upto = (from + count).min(limit).max(from);
            let groups: Vec<Bytes> = s
                .groups_between(from, upto)
                .iter()
                .map(|g| g.bytes.clone())
                .collect();
            // Caught up: the service says so on read-write shards too (see README).
            let caught_up = upto == s.end();
            let last = (upto > from).then(|| s.cursor(upto - 1));
            (groups, s.cursor(upto), last, caught_up)
        };
        let mut raw = Vec::new();
        proto::encode_group_list(groups.iter().map(|b| b.as_ref()), &mut raw);
        let mut headers = vec![
            ("x-log-cursor", next),
            ("x-log-count", groups.len().to_string()),
            ("x-log-bodyrawsize", raw.len().to_string()),
        ];
        if let Some(last) = last {
            headers.push(("x-log-read-last-cursor", last));
        }
        if caught_up {
            headers.push(("x-log-end-of-cursor", "1".to_owned()));
        }
        let body = compress(ctx, raw, &mut headers)?;
        Ok(Reply {
            content_type: Some("application/x-protobuf"),
            headers,
            body: Bytes::from(body),
        })
    }
}

/// `raw` compressed as the client accepts (lz4, else zstd, else none), naming it in `headers`.
fn compress(
    ctx: &Ctx,
    raw: Vec<u8>,
    headers: &mut Vec<(&'static str, String)>,
) -> Result<Vec<u8>, SlsError> {
    let accept = ctx
        .header("accept-encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(if raw.is_empty() {
        // An empty answer is 0 bytes with raw size 0, its compression named all the same.
        if accept.contains("lz4") {
            headers.push(("x-log-compresstype", "lz4".to_owned()));
        }
        Vec::new()
    } else if accept.contains("lz4") {
        headers.push(("x-log-compresstype", "lz4".to_owned()));
        lz4_flex::block::compress(&raw)
    } else if accept.contains("zstd") {
        headers.push(("x-log-compresstype", "zstd".to_owned()));
        zstd::bulk::compress(&raw, 1).map_err(|e| {
            SlsError::new(
                500,
                "InternalServerError",
                format!("zstd compression failed: {e}"),
            )
        })?
    } else {
        raw
    })
}
