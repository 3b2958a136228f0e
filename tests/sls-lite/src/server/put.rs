//! PutLogs (`POST /logstores/NAME`, `…/shards/lb`, `…/shards/route?key=`): the body as
//! the client meant it, and the append to a shard that WebTracking shares.

use bytes::Bytes;

use super::{Ctx, MAX_BODY, Reply, Shared, now_secs, save};
use crate::error::SlsError;
use crate::faults::Op;
use crate::proto;
use crate::store::{ChangeError, StoredGroup};

/// Where a PutLogs goes.
pub(super) enum Target<'a> {
    Balanced,
    Key(&'a str),
}

impl Shared {
    pub(super) async fn put_logs(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        target: Target<'_>,
    ) -> Result<Reply, SlsError> {
        let raw = decode_body(ctx)?;
        let group = proto::decode_group(raw.as_ref())
            .map_err(|e| SlsError::body(format!("body is not a protobuf LogGroup: {e}")))?;
        for (i, log) in group.logs.iter().enumerate() {
            if log.time == 0 {
                return Err(SlsError::new(
                    400,
                    "InvalidLogTime",
                    format!("log {i} of the group has no time: set Log.Time in unix seconds"),
                ));
            }
        }
        let now = now_secs();
        let mut bytes = raw.to_vec();
        proto::append_tag(&mut bytes, "__receive_time__", &now.to_string());
        proto::append_tag(&mut bytes, "__client_ip__", &ctx.peer.ip().to_string());
        let stored = StoredGroup {
            receive_time: now,
            logs: group.logs.len() as u32,
            bytes: Bytes::from(bytes),
        };
        self.store_group(project, logstore, target, Op::Put, stored)
            .await?;
        Ok(Reply::empty())
    }

    /// Picks the shard, applies faults, appends, and splits the shard if its logstore splits
    /// automatically and the shard has had its share.
    pub(super) async fn store_group(
        &self,
        project: &str,
        logstore: &str,
        target: Target<'_>,
        op: Op,
        group: StoredGroup,
    ) -> Result<u32, SlsError> {
        let (shard, outcome) = {
            let mut state = self.lock();
            let ls = state.store.logstore_mut(project, logstore)?;
            let shard = match target {
                Target::Balanced => ls.pick_lb(),
                Target::Key(key) => ls.pick_key(key),
            };
            (shard, state.faults.apply(op, logstore, Some(shard)))
        };
        self.gate(outcome).await?;
        let mut state = self.lock();
        // A split while the fault latency ran makes the picked shard read-only: pick again.
        let ls = state.store.logstore_mut(project, logstore)?;
        let shard = if ls.shard(shard)?.meta.status == crate::store::ShardStatus::Readwrite {
            shard
        } else {
            match target {
                Target::Balanced => ls.pick_lb(),
                Target::Key(key) => ls.pick_key(key),
            }
        };
        match state.store.append(project, logstore, shard, group) {
            Ok(_) => {
                if state
                    .store
                    .auto_split(project, logstore, shard, now_secs())?
                {
                    save(&state.store)?;
                }
                Ok(shard)
            }
            Err(ChangeError::Sls(e)) => Err(e),
            Err(ChangeError::Store(error)) => {
                tracing::error!(%project, %logstore, shard, error = %error, source = ?std::error::Error::source(&error), "cannot persist log group");
                Err(SlsError::new(
                    500,
                    "InternalServerError",
                    "sls-lite could not write its data directory",
                ))
            }
        }
    }
}

/// The body as the client meant it: decompressed per `x-log-compresstype`.
pub(super) fn decode_body(ctx: &Ctx) -> Result<Bytes, SlsError> {
    let kind = ctx
        .header("x-log-compresstype")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let raw_size = ctx
        .header("x-log-bodyrawsize")
        .map(|s| {
            s.trim().parse::<usize>().map_err(|_| {
                SlsError::parameter(format!("x-log-bodyrawsize `{s}` is not a number"))
            })
        })
        .transpose()?;
    let decoded = match kind.as_str() {
        "" | "none" => return Ok(ctx.body.clone()),
        "lz4" => {
            let size = raw_size.ok_or_else(|| {
                SlsError::body("an lz4 body needs x-log-bodyrawsize (its uncompressed size)")
            })?;
            if size > MAX_BODY {
                return Err(SlsError::body(format!(
                    "x-log-bodyrawsize {size} is larger than {MAX_BODY}"
                )));
            }
            lz4_flex::block::decompress(&ctx.body, size)
                .map_err(|e| SlsError::body(format!("lz4 body does not decompress: {e}")))?
        }
        "zstd" => zstd::bulk::decompress(&ctx.body, raw_size.unwrap_or(MAX_BODY).min(MAX_BODY))
            .map_err(|e| SlsError::body(format!("zstd body does not decompress: {e}")))?,
        other => {
            return Err(SlsError::new(
                400,
                "InvalidCompressType",
                format!("x-log-compresstype `{other}` is not lz4 or zstd"),
            ));
        }
    };
    if let Some(size) = raw_size
        && decoded.len() != size
    {
        return Err(SlsError::body(format!(
            "body decompresses to {} bytes but x-log-bodyrawsize says {size}",
            decoded.len()
        )));
    }
    Ok(Bytes::from(decoded))
}
