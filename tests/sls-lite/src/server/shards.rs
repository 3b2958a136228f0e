//! ListShards (`GET /logstores/NAME/shards`) and SplitShard
//! (`POST /logstores/NAME/shards/ID?action=split`).

use super::{Ctx, Reply, Shared, now_secs, save};
use crate::error::SlsError;
use crate::faults::Op;

impl Shared {
    pub(super) async fn list_shards(
        &self,
        project: &str,
        logstore: &str,
    ) -> Result<Reply, SlsError> {
        let state = self
            .logstore_request(Op::ListShards, project, logstore)
            .await?;
        let ls = state.store.logstore(project, logstore)?;
        let shards: Vec<_> = ls.shards.iter().map(|s| s.meta.to_json()).collect();
        Ok(Reply::json(serde_json::Value::Array(shards)))
    }

    pub(super) fn split(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let mut state = self.lock();
        let shards = state
            .store
            .split(project, logstore, shard, ctx.param("key"), now_secs())?;
        save(&state.store)?;
        Ok(Reply::json(serde_json::Value::Array(
            shards.iter().map(|s| s.to_json()).collect(),
        )))
    }
}
