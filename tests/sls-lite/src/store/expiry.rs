//! Expiry: a logstore's TTL, swept lazily by receive time, and `POST /_admin/expire`.
//!
//! Offsets stay absolute: a shard counts the log groups removed from its front (`first`), so
//! cursors taken before an expiry still name the same groups. A read-only shard left without
//! data is removed from its logstore, as the service does once a retired shard's data is gone.

use std::collections::BTreeMap;

use super::{Logstore, Shard, ShardStatus, Store, disk};
use crate::error::SlsError;

/// Which log groups an expiry removes from the front of each shard: at most `count`, and only
/// those received before `before` (unix seconds); either limit may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expiry {
    pub count: Option<u64>,
    pub before: Option<u32>,
}

/// What an expiry did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// Log groups removed, per shard looked at.
    pub per_shard: BTreeMap<u32, u64>,
    /// Read-only shards removed because none of their data is left.
    pub removed_shards: Vec<u32>,
}

impl Expired {
    /// Whether anything changed (and the state needs saving).
    pub fn changed(&self) -> bool {
        !self.removed_shards.is_empty() || self.per_shard.values().any(|n| *n > 0)
    }
}

impl Shard {
    /// Removes the log groups `rule` selects from the front; how many.
    fn expire(&mut self, rule: Expiry) -> u64 {
        let mut n = self.groups.len();
        if let Some(count) = rule.count {
            n = n.min(usize::try_from(count).unwrap_or(usize::MAX));
        }
        if let Some(before) = rule.before {
            n = n.min(self.groups.partition_point(|g| g.receive_time < before));
        }
        self.groups.drain(..n);
        self.first += n as u64;
        n as u64
    }

    /// A read-only shard none of whose data is left: it had some, or it was created before
    /// `cutoff` (so whatever it had would have expired).
    fn drained(&self, cutoff: Option<u32>) -> bool {
        self.meta.status == ShardStatus::Readonly
            && self.groups.is_empty()
            && (self.first > 0 || cutoff.is_some_and(|c| self.meta.create_time < c))
    }
}

impl Logstore {
    /// Applies `rule` to shard `only` (every shard when `None`), then removes the read-only
    /// shards among them left without data, and their checkpoints.
    pub fn expire(&mut self, only: Option<u32>, rule: Expiry) -> Result<Expired, SlsError> {
        if let Some(id) = only {
            self.shard(id)?;
        }
        let mut out = Expired::default();
        for shard in &mut self.shards {
            if only.is_none_or(|id| id == shard.meta.id) {
                out.per_shard.insert(shard.meta.id, shard.expire(rule));
            }
        }
        out.removed_shards = self
            .shards
            .iter()
            .filter(|s| out.per_shard.contains_key(&s.meta.id) && s.drained(rule.before))
            .map(|s| s.meta.id)
            .collect();
        self.shards
            .retain(|s| !out.removed_shards.contains(&s.meta.id));
        for group in self.consumer_groups.values_mut() {
            group
                .checkpoints
                .retain(|id, _| !out.removed_shards.contains(id));
        }
        Ok(out)
    }
}

impl Store {
    /// Applies `rule` to a logstore (or one of its shards); see [`Logstore::expire`]. The files
    /// of removed shards go too.
    pub fn expire(
        &mut self,
        project: &str,
        logstore: &str,
        only: Option<u32>,
        rule: Expiry,
    ) -> Result<Expired, SlsError> {
        let out = self.logstore_mut(project, logstore)?.expire(only, rule)?;
        if let Some(dir) = &self.data_dir {
            for id in &out.removed_shards {
                disk::remove_shard(dir, project, logstore, *id);
            }
        }
        if out.changed() {
            tracing::debug!(%project, %logstore, removed = ?out.per_shard, shards = ?out.removed_shards, "log groups expired");
        }
        Ok(out)
    }

    /// Removes what a logstore's TTL no longer keeps at `now`: log groups received more than
    /// the TTL ago. Whether anything changed (false for a logstore that does not exist or
    /// keeps everything).
    pub fn sweep(&mut self, project: &str, logstore: &str, now: u32) -> bool {
        let Ok(ls) = self.logstore(project, logstore) else {
            return false;
        };
        let Some(ttl) = ls.settings.ttl_secs else {
            return false;
        };
        let cutoff = u32::try_from(u64::from(now).saturating_sub(ttl)).unwrap_or(0);
        let rule = Expiry {
            count: None,
            before: Some(cutoff),
        };
        self.expire(project, logstore, None, rule)
            .is_ok_and(|out| out.changed())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{group, spec};
    use super::*;
    use crate::config::LogstoreSpec;
    use crate::consumer::Checkpoint;
    use crate::cursor;

    #[test]
    fn expiry_keeps_offsets_and_clamps_old_cursors_to_the_begin() {
        let mut store = Store::open(None, &[spec(1)], 100).unwrap();
        for t in [100, 101, 102] {
            store.append("demo", "orders", 0, group(t)).unwrap();
        }
        let rule = Expiry {
            count: Some(2),
            before: None,
        };
        let out = store.expire("demo", "orders", None, rule).unwrap();
        assert_eq!(out.per_shard, [(0, 2)].into());
        let shard = store.logstore("demo", "orders").unwrap().shard(0).unwrap();
        assert_eq!((shard.begin(), shard.end()), (2, 3));
        assert_eq!(shard.offset_of("orders", &cursor::encode(0, 0)), Ok(2));
        assert_eq!(shard.offset_of("orders", &cursor::encode(0, 3)), Ok(3));
        assert_eq!(
            shard.time_at(0),
            102,
            "an expired offset reads as the begin"
        );
        assert_eq!(shard.offset_at(0), 2);
        assert_eq!(shard.groups_between(2, 3).len(), 1);
    }

    #[test]
    fn drained_readonly_shards_are_removed_with_their_checkpoints() {
        let mut store = Store::open(None, &[spec(1)], 100).unwrap();
        store.append("demo", "orders", 0, group(100)).unwrap();
        store.split("demo", "orders", 0, None, 150).unwrap();
        store.append("demo", "orders", 1, group(160)).unwrap();
        let ls = store.logstore_mut("demo", "orders").unwrap();
        let mut cg = crate::consumer::ConsumerGroup::new("cg", 60, true);
        cg.checkpoints.insert(
            0,
            Checkpoint {
                checkpoint: cursor::encode(0, 0),
                update_time: 0,
                consumer: "a".into(),
            },
        );
        ls.consumer_groups.insert("cg".into(), cg);
        let before = Expiry {
            count: None,
            before: Some(161),
        };
        let out = store.expire("demo", "orders", None, before).unwrap();
        assert_eq!(out.per_shard, [(0, 1), (1, 1), (2, 0)].into());
        assert_eq!(out.removed_shards, [0]);
        let ls = store.logstore("demo", "orders").unwrap();
        assert_eq!(ls.shard(0).unwrap_err().code, "ShardNotExist");
        assert!(ls.consumer_groups["cg"].checkpoints.is_empty());
        // The children of a removed parent are no longer held back.
        assert_eq!(ls.assignable(&ls.consumer_groups["cg"]), [1, 2].into());
    }

    #[test]
    fn ttl_sweeps_by_receive_time_and_removes_empty_old_readonly_shards() {
        let spec = LogstoreSpec::new("demo", "orders", 1).with_ttl_secs(10);
        let mut store = Store::open(None, &[spec], 100).unwrap();
        store.split("demo", "orders", 0, None, 100).unwrap();
        store.append("demo", "orders", 1, group(105)).unwrap();
        store.append("demo", "orders", 1, group(120)).unwrap();
        assert!(
            !store.sweep("demo", "orders", 110),
            "nothing is older than 10 s"
        );
        assert!(store.sweep("demo", "orders", 116));
        let ls = store.logstore("demo", "orders").unwrap();
        assert_eq!(
            ls.shard(0).unwrap_err().code,
            "ShardNotExist",
            "no data, created too long ago"
        );
        assert_eq!(ls.shard(1).unwrap().begin(), 1);
        assert!(!store.sweep("demo", "nope", 116));
    }
}
