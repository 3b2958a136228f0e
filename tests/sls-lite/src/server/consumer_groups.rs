//! Consumer groups: ListConsumerGroup, CreateConsumerGroup, UpdateConsumerGroup,
//! DeleteConsumerGroup, GetCheckPoint, ConsumerGroupHeartBeat and UpdateCheckPoint
//! (`/logstores/NAME/consumergroups[/GROUP]`).

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::{Ctx, Reply, Shared, parse_shard, save};
use crate::consumer::{Checkpoint, ConsumerGroup};
use crate::error::SlsError;
use crate::faults::Op;
use crate::store::Store;

impl Shared {
    pub(super) async fn list_consumer_groups(
        &self,
        project: &str,
        logstore: &str,
    ) -> Result<Reply, SlsError> {
        let state = self
            .logstore_request(Op::ConsumerGroup, project, logstore)
            .await?;
        let ls = state.store.logstore(project, logstore)?;
        let groups: Vec<_> = ls
            .consumer_groups
            .values()
            .map(|g| serde_json::json!({"name": g.name, "timeout": g.timeout, "order": g.in_order}))
            .collect();
        Ok(Reply::json(serde_json::Value::Array(groups)))
    }

    pub(super) async fn create_consumer_group(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
    ) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "consumerGroup")]
            consumer_group: String,
            timeout: u32,
            #[serde(default)]
            order: bool,
        }
        self.lock().store.logstore(project, logstore)?;
        self.fault(Op::ConsumerGroup, logstore, None).await?;
        let body: Body = ctx.json("CreateConsumerGroup")?;
        check_timeout(body.timeout)?;
        if body.consumer_group.is_empty() || body.consumer_group.len() > 128 {
            return Err(SlsError::parameter(
                "consumer group name must have 1 to 128 characters",
            ));
        }
        let mut state = self.lock();
        let ls = state.store.logstore_mut(project, logstore)?;
        if ls.consumer_groups.contains_key(&body.consumer_group) {
            return Err(SlsError::new(
                400,
                "ConsumerGroupAlreadyExist",
                format!(
                    "consumer group `{}` already exists in logstore `{logstore}`",
                    body.consumer_group
                ),
            ));
        }
        ls.consumer_groups.insert(
            body.consumer_group.clone(),
            ConsumerGroup::new(&body.consumer_group, body.timeout, body.order),
        );
        save(&state.store)?;
        Ok(Reply::empty())
    }

    pub(super) async fn update_consumer_group(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            timeout: Option<u32>,
            order: Option<bool>,
        }
        self.lock().store.logstore(project, logstore)?;
        self.fault(Op::ConsumerGroup, logstore, None).await?;
        let body: Body = ctx.json("UpdateConsumerGroup")?;
        if let Some(t) = body.timeout {
            check_timeout(t)?;
        }
        let mut state = self.lock();
        let group = group_mut(&mut state.store, project, logstore, name)?;
        if let Some(t) = body.timeout {
            group.timeout = t;
        }
        if let Some(o) = body.order {
            group.in_order = o;
        }
        save(&state.store)?;
        Ok(Reply::empty())
    }

    pub(super) async fn delete_consumer_group(
        &self,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        let mut state = self
            .logstore_request(Op::ConsumerGroup, project, logstore)
            .await?;
        let ls = state.store.logstore_mut(project, logstore)?;
        if ls.consumer_groups.remove(name).is_none() {
            return Err(SlsError::consumer_group_not_exist(logstore, name));
        }
        save(&state.store)?;
        Ok(Reply::empty())
    }

    pub(super) async fn get_checkpoints(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        let state = self
            .logstore_request(Op::ConsumerGroup, project, logstore)
            .await?;
        let ls = state.store.logstore(project, logstore)?;
        let group = ls
            .consumer_groups
            .get(name)
            .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))?;
        let shards: Vec<u32> = match ctx.param("shard") {
            Some(id) => {
                let id = parse_shard(logstore, id)?;
                ls.shard(id)?;
                vec![id]
            }
            None => ls.shards.iter().map(|s| s.meta.id).collect(),
        };
        // Every shard is listed; one without a checkpoint has an empty one, which consumer
        // libraries take as "start from the configured position".
        let list: Vec<_> = shards
            .iter()
            .map(|id| match group.checkpoints.get(id) {
                Some(c) => serde_json::json!({
                    "shard": id, "checkpoint": c.checkpoint,
                    "updateTime": c.update_time, "consumer": c.consumer,
                }),
                None => serde_json::json!({
                    "shard": id, "checkpoint": "", "updateTime": 0, "consumer": "",
                }),
            })
            .collect();
        Ok(Reply::json(serde_json::Value::Array(list)))
    }

    pub(super) async fn heartbeat(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        let consumer = consumer_param(ctx)?;
        self.lock().store.logstore(project, logstore)?;
        self.consumer_fault(Op::Heartbeat, logstore, None, consumer)
            .await?;
        let held: Vec<u32> = if ctx.body.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            ctx.json("heartbeat")?
        };
        let mut state = self.lock();
        let ls = state.store.logstore_mut(project, logstore)?;
        let group = ls
            .consumer_groups
            .get(name)
            .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))?;
        let assignable: BTreeSet<u32> = ls.assignable(group);
        let group = ls.consumer_groups.get_mut(name).expect("checked above");
        let now = Instant::now();
        if !group.accepts(consumer, &held, now) {
            return Err(SlsError::new(
                400,
                "NotExistConsumerWithBody",
                format!("Non-exist consumer `{consumer}` with non-empty body of heartbeat message"),
            ));
        }
        let owned = group.heartbeat(consumer, &held, &assignable, now);
        Ok(Reply::json(serde_json::json!(owned)))
    }

    pub(super) async fn update_checkpoint(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            shard: u32,
            checkpoint: String,
        }
        let consumer = ctx.param("consumer").unwrap_or_default();
        let force = ctx
            .param("forceSuccess")
            .is_some_and(|f| f.eq_ignore_ascii_case("true"));
        let body: Body = ctx.json("UpdateCheckPoint")?;
        self.lock().store.logstore(project, logstore)?;
        self.consumer_fault(Op::Checkpoint, logstore, Some(body.shard), consumer)
            .await?;
        let mut state = self.lock();
        let ls = state.store.logstore_mut(project, logstore)?;
        ls.shard(body.shard)?
            .offset_of(logstore, &body.checkpoint)?;
        let group = ls
            .consumer_groups
            .get_mut(name)
            .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))?;
        if !force && group.owner(body.shard) != Some(consumer) {
            return Err(SlsError::new(
                400,
                "ConsumerNotMatch",
                format!(
                    "consumer `{consumer}` does not hold shard {} in consumer group `{name}`",
                    body.shard
                ),
            ));
        }
        group.checkpoints.insert(
            body.shard,
            Checkpoint {
                checkpoint: body.checkpoint,
                update_time: now_micros(),
                consumer: consumer.to_owned(),
            },
        );
        save(&state.store)?;
        Ok(Reply::empty())
    }
}

fn group_mut<'a>(
    store: &'a mut Store,
    project: &str,
    logstore: &str,
    name: &str,
) -> Result<&'a mut ConsumerGroup, SlsError> {
    store
        .logstore_mut(project, logstore)?
        .consumer_groups
        .get_mut(name)
        .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))
}

fn consumer_param(ctx: &Ctx) -> Result<&str, SlsError> {
    ctx.param("consumer")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| SlsError::parameter("heartbeat needs a non-empty `consumer`"))
}

fn check_timeout(timeout: u32) -> Result<(), SlsError> {
    if (1..=86_400).contains(&timeout) {
        Ok(())
    } else {
        Err(SlsError::parameter(format!(
            "consumer group timeout {timeout} must be from 1 to 86400 seconds"
        )))
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
