//! GetCursor (`GET /logstores/NAME/shards/ID?type=cursor&from=…`) and GetCursorTime
//! (`…?type=cursor_time&cursor=…`).

use super::{Ctx, Reply, Shared};
use crate::error::SlsError;
use crate::faults::Op;

impl Shared {
    pub(super) async fn get_cursor(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let state = self
            .shard_request(Op::Cursor, project, logstore, shard)
            .await?;
        let s = state.store.logstore(project, logstore)?.shard(shard)?;
        let from = ctx.param("from").unwrap_or_default();
        let offset = match from {
            // The first log group kept: expired ones are gone (GetCursor reference).
            "begin" => s.begin(),
            "end" => s.end(),
            t => match t.parse::<i64>() {
                Ok(t) => s.offset_at(t.clamp(0, i64::from(u32::MAX)) as u32),
                Err(_) => {
                    return Err(SlsError::parameter(format!(
                        "cursor position `{t}` is not begin, end or unix seconds"
                    )));
                }
            },
        };
        Ok(Reply::json(serde_json::json!({
            "cursor": s.cursor(offset)
        })))
    }

    pub(super) async fn get_cursor_time(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let state = self
            .shard_request(Op::Cursor, project, logstore, shard)
            .await?;
        let s = state.store.logstore(project, logstore)?.shard(shard)?;
        let text = ctx
            .param("cursor")
            .ok_or_else(|| SlsError::parameter("GetCursorTime needs `cursor`"))?;
        let offset = s.offset_of(logstore, text)?;
        Ok(Reply::json(
            serde_json::json!({ "cursor_time": s.time_at(offset) }),
        ))
    }
}
