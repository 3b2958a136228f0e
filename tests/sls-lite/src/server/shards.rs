//! ListShards (`GET /logstores/NAME/shards`), SplitShard
//! (`POST /logstores/NAME/shards/ID?action=split[&key=]`) and MergeShards
//! (`POST /logstores/NAME/shards/ID?action=merge`).

use super::{Ctx, Reply, Shared, now_secs, save};
use crate::error::SlsError;
use crate::faults::Op;
use crate::store::ShardMeta;

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
        // The Python SDK always sends `key`; empty means the middle of the range (the SDK's
        // split_shard docs: "an empty string splits the shard evenly").
        let key = ctx.param("key").filter(|k| !k.is_empty());
        let mut state = self.lock();
        let shards = state
            .store
            .split(project, logstore, shard, key, now_secs())?;
        save(&state.store)?;
        Ok(shard_list(&shards))
    }

    pub(super) fn merge(
        &self,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let mut state = self.lock();
        let shards = state.store.merge(project, logstore, shard, now_secs())?;
        save(&state.store)?;
        Ok(shard_list(&shards))
    }
}

/// Shards as ListShards, SplitShard and MergeShards answer them.
fn shard_list(shards: &[ShardMeta]) -> Reply {
    Reply::json(serde_json::Value::Array(
        shards.iter().map(ShardMeta::to_json).collect(),
    ))
}
