//! ListLogStores (`GET /logstores`) and GetLogStore (`GET /logstores/NAME`).

use super::{Reply, Shared};
use crate::error::SlsError;

impl Shared {
    pub(super) fn list_logstores(&self, project: &str) -> Result<Reply, SlsError> {
        let state = self.lock();
        let names: Vec<&str> = state
            .store
            .logstores()
            .filter(|l| l.project == project)
            .map(|l| l.name.as_str())
            .collect();
        Ok(Reply::json(serde_json::json!({
            "count": names.len(), "total": names.len(), "logstores": names,
        })))
    }

    pub(super) fn get_logstore(&self, project: &str, logstore: &str) -> Result<Reply, SlsError> {
        let state = self.lock();
        let ls = state.store.logstore(project, logstore)?;
        let writable = ls
            .shards
            .iter()
            .filter(|s| s.meta.status == crate::store::ShardStatus::Readwrite)
            .count();
        Ok(Reply::json(serde_json::json!({
            "logstoreName": ls.name,
            "ttl": 30,
            "shardCount": writable,
            "enable_tracking": true,
            "autoSplit": false,
            "maxSplitShard": 0,
            "appendMeta": true,
            "telemetryType": "",
            "mode": "standard",
        })))
    }
}
