//! ListLogStores (`GET /logstores`), GetLogStore (`GET /logstores/NAME`), CreateLogStore
//! (`POST /logstores`) and DeleteLogStore (`DELETE /logstores/NAME`).

use serde::Deserialize;

use super::{Ctx, Reply, Shared, now_secs, save};
use crate::config::valid_name;
use crate::error::SlsError;
use crate::store::{ChangeError, Settings, ShardStatus};

/// The TTL GetLogStore shows for a logstore that keeps everything (the SDKs' default).
const DEFAULT_TTL_DAYS: u64 = 30;
const DAY: u64 = 86_400;

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
            .filter(|s| s.meta.status == ShardStatus::Readwrite)
            .count();
        let settings = &ls.settings;
        let ttl_days = settings
            .ttl_secs
            .map_or(DEFAULT_TTL_DAYS, |s| s.div_ceil(DAY).max(1));
        Ok(Reply::json(serde_json::json!({
            "logstoreName": ls.name,
            "ttl": ttl_days,
            "shardCount": writable,
            "enable_tracking": true,
            "autoSplit": settings.auto_split,
            "maxSplitShard": settings.max_split_shard,
            "appendMeta": true,
            "telemetryType": "",
            "mode": "standard",
        })))
    }

    /// CreateLogStore with the body the SDKs send (aliyun-log-python-sdk `create_logstore`):
    /// `logstoreName`, `ttl` (days), `shardCount`, `autoSplit`, `maxSplitShard`; other fields
    /// (`enable_tracking`, `appendMeta`, `telemetryType`, …) are taken and ignored.
    pub(super) fn create_logstore(&self, ctx: &Ctx, project: &str) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            logstore_name: String,
            ttl: u64,
            shard_count: u32,
            #[serde(default)]
            auto_split: bool,
            #[serde(default)]
            max_split_shard: u32,
        }
        let body: Body = ctx.json("CreateLogStore")?;
        let name = &body.logstore_name;
        let invalid = |what: String| {
            SlsError::new(
                400,
                "LogStoreInfoInvalid",
                format!("logstore `{name}` in project `{project}`: {what}"),
            )
        };
        if !valid_name(name, true) {
            return Err(invalid(
                "the name must have 2 to 63 of a-z, 0-9, `-` and `_`".to_owned(),
            ));
        }
        if !(1..=3650).contains(&body.ttl) {
            return Err(invalid(format!(
                "ttl {} must be from 1 to 3650 days",
                body.ttl
            )));
        }
        if !(1..=256).contains(&body.shard_count) {
            return Err(invalid(format!(
                "shardCount {} must be from 1 to 256",
                body.shard_count
            )));
        }
        // The service splits on sustained write load, which test traffic never reaches: a
        // created logstore reports `autoSplit` but does not split by itself (see README).
        let settings = Settings {
            ttl_secs: Some(body.ttl * DAY),
            auto_split: body.auto_split,
            max_split_shard: if body.auto_split {
                body.max_split_shard
            } else {
                0
            },
            split_after: None,
        };
        let mut state = self.lock();
        let created = state
            .store
            .create(project, name, body.shard_count, settings, now_secs());
        changed(created)?;
        save(&state.store)?;
        Ok(Reply::empty())
    }

    pub(super) fn delete_logstore(&self, project: &str, logstore: &str) -> Result<Reply, SlsError> {
        let mut state = self.lock();
        let deleted = state.store.delete(project, logstore);
        changed(deleted)?;
        save(&state.store)?;
        Ok(Reply::empty())
    }
}

/// A store change's refusal as the service's answer; a disk failure as a 500.
fn changed(result: Result<(), ChangeError>) -> Result<(), SlsError> {
    match result {
        Ok(()) => Ok(()),
        Err(ChangeError::Sls(e)) => Err(e),
        Err(ChangeError::Store(error)) => {
            tracing::error!(error = %error, source = ?std::error::Error::source(&error), "cannot change the data directory");
            Err(SlsError::new(
                500,
                "InternalServerError",
                "sls-lite could not write its data directory",
            ))
        }
    }
}
