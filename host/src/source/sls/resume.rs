//! Where a shard starts reading: the position committed with the rows, the group's
//! checkpoint when `start=checkpoint` asks for it, or `start=`; and the job's first start,
//! which a shard created later (a split's or a merge's child) starts before, so that it
//! loses nothing whatever `start=` says.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use sls_client::{CursorFrom, Shard, SlsClient};
use tracing::{info, warn};

use super::config::{SlsSourceConfig, StartFrom};
use super::error::SlsSourceError;
use super::shard::ShardPosition;
use crate::position::Positions;

/// Where one shard starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StartAt {
    pub(super) cursor: String,
    pub(super) skip: u64,
    /// Said in the log: which start was taken.
    pub(super) from: String,
    /// The cursor was saved earlier (a position or a checkpoint), so the logstore's TTL may
    /// have removed what it points at since.
    pub(super) saved: bool,
    /// The job's first start (`start=end`): the position is committed at once, before any
    /// record, so that a restart before the first record still starts from here.
    pub(super) first: bool,
}

/// The starts of a stream's shards.
pub(super) struct Resume {
    client: SlsClient,
    config: Arc<SlsSourceConfig>,
    positions: Positions,
    /// When the job first read this logstore (unix seconds): carried in every position, so
    /// that a later run knows it too.
    pub(super) since: i64,
    /// With `start=end`, on the job's first start: each shard's end as the stream opened, so
    /// that a shard taken later (after a split's parent is finished, or when the group hands
    /// it over) loses nothing written meanwhile.
    ends_at_open: BTreeMap<u32, String>,
}

impl Resume {
    /// Reads the positions of `shards` to learn when the job first started (now, when none
    /// was committed: this is the first start).
    pub(super) async fn open(
        client: &SlsClient,
        config: Arc<SlsSourceConfig>,
        positions: Positions,
        shards: &[Shard],
    ) -> Result<Resume, SlsSourceError> {
        let now = unix_now();
        let saved = if config.ignore_checkpoints {
            Vec::new()
        } else {
            let streams: Vec<String> = shards.iter().map(|s| stream_name(&config, s.id)).collect();
            positions.load_many(&streams).await?
        };
        let found: Vec<ShardPosition> = saved
            .iter()
            .flatten()
            .filter_map(ShardPosition::read)
            .collect();
        // Positions written before they carried the first start: take now, as before.
        let since = found.iter().filter_map(|p| p.since).min().unwrap_or(now);
        let mut ends_at_open = BTreeMap::new();
        if found.is_empty() && config.start == StartFrom::End {
            for shard in shards {
                let end = client
                    .get_cursor(&config.logstore, shard.id, CursorFrom::End)
                    .await?;
                ends_at_open.insert(shard.id, end);
            }
        }
        if !found.is_empty() {
            info!(source = %config.describe(), since, "the job first started at this unix time: \
                  shards created later start at their beginning");
        }
        Ok(Resume {
            client: client.clone(),
            config,
            positions,
            since,
            ends_at_open,
        })
    }

    /// Where `shard` starts: its committed position, or (none committed) what `start=` says.
    pub(super) async fn start_at(&self, shard: u32) -> Result<StartAt, SlsSourceError> {
        let cfg = &self.config;
        let stream = stream_name(cfg, shard);
        if let Some(p) = self.positions.load(&stream).await? {
            let read = ShardPosition::read(&p).ok_or_else(|| SlsSourceError::BadPosition {
                stream: stream.clone(),
                position: p.to_string(),
            })?;
            return Ok(StartAt {
                cursor: read.cursor,
                skip: read.skip,
                from: "the committed position".into(),
                saved: true,
                first: false,
            });
        }
        let (from, why) = match cfg.start {
            StartFrom::Checkpoint => return self.checkpoint_start(shard).await,
            StartFrom::Begin => (CursorFrom::Begin, "start=begin".to_owned()),
            StartFrom::Time(t) => (CursorFrom::Time(t), format!("start={t}")),
            StartFrom::End => match self.ends_at_open.get(&shard) {
                Some(end) => {
                    let at = fresh(end.clone(), "start=end, as the stream opened");
                    return Ok(StartAt { first: true, ..at });
                }
                // Created (or first seen) after the job first started: what reached it
                // since then is new, so it is read, and a child shard from its beginning.
                None => (
                    CursorFrom::Time(self.since),
                    format!(
                        "start=end: what arrived since the job first started ({})",
                        self.since
                    ),
                ),
            },
        };
        let cursor = self.client.get_cursor(&cfg.logstore, shard, from).await?;
        Ok(fresh(cursor, &why))
    }

    /// `start=checkpoint`: the group's checkpoint of `shard`, or its beginning.
    async fn checkpoint_start(&self, shard: u32) -> Result<StartAt, SlsSourceError> {
        let cfg = &self.config;
        let checkpoint = match &cfg.consumer_group {
            Some(group) if !cfg.ignore_checkpoints => self
                .client
                .checkpoints(&cfg.logstore, group)
                .await?
                .into_iter()
                .find(|c| c.shard == shard && !c.checkpoint.is_empty())
                .map(|c| c.checkpoint),
            _ => None,
        };
        match checkpoint {
            Some(cursor) => Ok(StartAt {
                cursor,
                skip: 0,
                from: "start=checkpoint: the group's checkpoint".into(),
                saved: true,
                first: false,
            }),
            None => {
                let cursor = (self.client)
                    .get_cursor(&cfg.logstore, shard, CursorFrom::Begin)
                    .await?;
                Ok(fresh(
                    cursor,
                    "start=checkpoint: the group has none, so the beginning",
                ))
            }
        }
    }
}

fn fresh(cursor: String, from: &str) -> StartAt {
    StartAt {
        cursor,
        skip: 0,
        from: from.to_owned(),
        saved: false,
        first: false,
    }
}

/// How many log groups lie between `cursor` and the shard's `begin` cursor when `cursor`
/// is before it (the TTL removed them): cursors are base64 of a decimal number, one per
/// log group of a shard (the official Python SDK computes the previous cursor by
/// subtracting one). `None` when the cursor is not before the begin, or not a number.
pub(super) fn expired_groups(cursor: &str, begin: &str) -> Option<u64> {
    let (c, b) = (cursor_number(cursor)?, cursor_number(begin)?);
    (c < b).then(|| u64::try_from(b - c).unwrap_or(u64::MAX))
}

fn cursor_number(cursor: &str) -> Option<u128> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cursor.trim())
        .ok()?;
    std::str::from_utf8(&raw).ok()?.parse().ok()
}

/// Logs that the TTL removed part of a shard before it was read: from `cursor` to the
/// shard's oldest data.
pub(super) fn report_expired(stream: &str, cursor: &str, groups: u64, skip: u64) {
    warn!(
        stream,
        cursor,
        log_groups = groups,
        "the logstore's TTL removed {groups} log groups of this shard before they were read \
         (the saved cursor was older than the shard's oldest data): reading on from its \
         oldest data{}",
        if skip > 0 {
            " (the saved count of logs already taken no longer applies)"
        } else {
            ""
        }
    );
    crate::metrics::global().shard_expired(stream, groups);
}

/// `sls://project/logstore/shard`: the stream a shard's positions are saved under.
pub(super) fn stream_name(cfg: &SlsSourceConfig, shard: u32) -> String {
    format!("{}/{shard}", cfg.describe())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(n: u128) -> String {
        base64::engine::general_purpose::STANDARD.encode(n.to_string())
    }

    #[test]
    fn expired_groups_count_by_cursor_arithmetic() {
        assert_eq!(
            expired_groups(&cursor(1_000_005), &cursor(1_000_012)),
            Some(7)
        );
        assert_eq!(expired_groups(&cursor(1_000_012), &cursor(1_000_012)), None);
        assert_eq!(expired_groups(&cursor(1_000_013), &cursor(1_000_012)), None);
        assert_eq!(expired_groups("not a cursor", &cursor(5)), None);
    }
}
