//! The consumer group calls: create, list and update a group, heartbeats, checkpoints.

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use crate::client::{Checkpoint, ConsumerGroup, SlsClient};
use crate::error::SlsError;
use crate::request::{Call, group_path, segment};

impl SlsClient {
    /// CreateConsumerGroup; `ConsumerGroupAlreadyExist` when it exists (see
    /// [`SlsClient::ensure_consumer_group`]).
    pub async fn create_consumer_group(
        &self,
        logstore: &str,
        group: &str,
        timeout_secs: u32,
        in_order: bool,
    ) -> Result<(), SlsError> {
        let body = serde_json::json!({
            "consumerGroup": group,
            "timeout": timeout_secs,
            "order": in_order,
        });
        let call = Call::json(
            "CreateConsumerGroup",
            Method::POST,
            format!("/logstores/{}/consumergroups", segment(logstore)),
            Some(body),
            self.target(logstore, None, Some(group)),
        );
        self.call(&call).await.map(drop)
    }

    /// ListConsumerGroup: the logstore's consumer groups with their settings.
    pub async fn consumer_groups(&self, logstore: &str) -> Result<Vec<ConsumerGroup>, SlsError> {
        let call = Call::json(
            "ListConsumerGroup",
            Method::GET,
            format!("/logstores/{}/consumergroups", segment(logstore)),
            None,
            self.target(logstore, None, None),
        );
        self.call_json(&call).await
    }

    /// UpdateConsumerGroup: sets the group's heartbeat timeout and order.
    pub async fn update_consumer_group(
        &self,
        logstore: &str,
        group: &str,
        timeout_secs: u32,
        in_order: bool,
    ) -> Result<(), SlsError> {
        let body = serde_json::json!({ "timeout": timeout_secs, "order": in_order });
        let call = Call::json(
            "UpdateConsumerGroup",
            Method::PUT,
            group_path(logstore, group),
            Some(body),
            self.target(logstore, None, Some(group)),
        );
        self.call(&call).await.map(drop)
    }

    /// The group as asked for, as the Java consumer's `createConsumerGroupIfNotExist`
    /// does it: listed first; created when missing; updated when it exists with another
    /// timeout or order (or when a create finds it made meanwhile). Returns the group as it
    /// was found, if it existed.
    pub async fn ensure_consumer_group(
        &self,
        logstore: &str,
        group: &str,
        timeout_secs: u32,
        in_order: bool,
    ) -> Result<Option<ConsumerGroup>, SlsError> {
        let found = (self.consumer_groups(logstore).await?)
            .into_iter()
            .find(|g| g.name == group);
        match &found {
            Some(g) if g.timeout == timeout_secs && g.order == in_order => {}
            Some(_) => {
                self.update_consumer_group(logstore, group, timeout_secs, in_order)
                    .await?
            }
            None => match self
                .create_consumer_group(logstore, group, timeout_secs, in_order)
                .await
            {
                Err(e) if e.is_code("ConsumerGroupAlreadyExist") => {
                    self.update_consumer_group(logstore, group, timeout_secs, in_order)
                        .await?
                }
                other => other?,
            },
        }
        Ok(found)
    }

    /// ConsumerGroupHeartBeat of `consumer`, which holds `held`; returns the shards the
    /// service assigns to it now.
    pub async fn heartbeat(
        &self,
        logstore: &str,
        group: &str,
        consumer: &str,
        held: &[u32],
    ) -> Result<Vec<u32>, SlsError> {
        let body = serde_json::to_vec(held).expect("a list of integers serializes");
        let call = Call {
            op: "ConsumerGroupHeartBeat",
            method: Method::POST,
            path: group_path(logstore, group),
            query: vec![("type", "heartbeat"), ("consumer", consumer)],
            body: Some(Bytes::from(body)),
            protobuf: false,
            target: self.target(logstore, None, Some(group)),
        };
        self.call_json(&call).await
    }

    /// ConsumerGroupUpdateCheckPoint of `shard` by `consumer`, with `forceSuccess=false` as
    /// the consumer libraries send it: the service refuses (`ConsumerNotMatch`) when the shard
    /// is no longer assigned to `consumer`, so a consumer that lost a shard cannot move the
    /// new owner's position.
    pub async fn update_checkpoint(
        &self,
        logstore: &str,
        group: &str,
        consumer: &str,
        shard: u32,
        checkpoint: &str,
    ) -> Result<(), SlsError> {
        let body = serde_json::json!({ "shard": shard, "checkpoint": checkpoint });
        let call = Call {
            op: "ConsumerGroupUpdateCheckPoint",
            method: Method::POST,
            path: group_path(logstore, group),
            query: vec![
                ("type", "checkpoint"),
                ("consumer", consumer),
                ("forceSuccess", "false"),
            ],
            body: Some(Bytes::from(body.to_string())),
            protobuf: false,
            target: self.target(logstore, Some(shard), Some(group)),
        };
        self.call(&call).await.map(drop)
    }

    /// GetCheckPoint: the saved positions of every shard of the group.
    pub async fn checkpoints(
        &self,
        logstore: &str,
        group: &str,
    ) -> Result<Vec<Checkpoint>, SlsError> {
        #[derive(Deserialize)]
        struct Item {
            shard: u32,
            #[serde(default)]
            checkpoint: String,
            #[serde(rename = "updateTime", default)]
            update_time: i64,
            #[serde(default)]
            consumer: String,
        }
        let call = Call {
            op: "GetCheckPoint",
            method: Method::GET,
            path: group_path(logstore, group),
            query: Vec::new(),
            body: None,
            protobuf: false,
            target: self.target(logstore, None, Some(group)),
        };
        let items: Vec<Item> = self.call_json(&call).await?;
        Ok(items
            .into_iter()
            .map(|i| Checkpoint {
                shard: i.shard,
                checkpoint: i.checkpoint,
                update_time: i.update_time,
                consumer: i.consumer,
            })
            .collect())
    }
}
