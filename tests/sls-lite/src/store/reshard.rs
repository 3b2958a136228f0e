//! Changing a logstore's shards: SplitShard, MergeShards and the automatic split under load.
//!
//! A split or a merge leaves its parents read-only (readable to their end) and adds writable
//! children with ids above every existing one, which together cover the parents' key range.

use super::{Logstore, Shard, ShardMeta, ShardStatus, Store, format_key, parse_hex_key};
use crate::error::SlsError;

impl Logstore {
    /// The id a new shard gets: one more than every id the logstore has. Read-only shards
    /// (the only ones ever removed) always have a child with a larger id, so an id is never
    /// given twice.
    fn next_id(&self) -> u32 {
        self.shards
            .iter()
            .map(|s| s.meta.id)
            .max()
            .map_or(0, |m| m + 1)
    }

    /// A read-write shard's description, or why it cannot be split or merged (the API
    /// reference's `400 ParameterInvalid` "invalid shard id").
    fn writable_meta(&self, shard: u32, action: &str) -> Result<ShardMeta, SlsError> {
        let meta = self.shard(shard)?.meta.clone();
        if meta.status != ShardStatus::Readwrite {
            return Err(SlsError::parameter(format!(
                "invalid shard id: shard {shard} of logstore `{}` in project `{}` is read-only \
                 and cannot be {action}; only read-write shards can",
                self.name, self.project
            )));
        }
        Ok(meta)
    }

    fn add_child(&mut self, meta: &ShardMeta) {
        self.shards.push(Shard::new(meta.clone(), self.generation));
    }
}

impl Store {
    /// Splits a writable shard at `key` (hex; the middle of its range when absent) into two
    /// writable children and makes it read-only. Returns the parent and the children.
    pub fn split(
        &mut self,
        project: &str,
        logstore: &str,
        shard: u32,
        key: Option<&str>,
        now: u32,
    ) -> Result<Vec<ShardMeta>, SlsError> {
        let ls = self.logstore_mut(project, logstore)?;
        let parent = ls.writable_meta(shard, "split")?;
        let (begin, end) = parent.range();
        let at = match key {
            Some(k) => parse_hex_key(k).ok_or_else(|| {
                SlsError::parameter(format!(
                    "invalid mid hash: split key `{k}` of shard {shard} of logstore \
                     `{logstore}` is not 32 hex digits"
                ))
            })?,
            // `ff…ff` as an end stands for 2^128, the end of the key space.
            None if end == u128::MAX => {
                let d = end - begin;
                begin + d.div_ceil(2)
            }
            None => begin + (end - begin) / 2,
        };
        if at <= begin || at >= end {
            return Err(SlsError::parameter(format!(
                "invalid mid hash: split key `{}` is outside shard {shard}'s range {}..{} in \
                 logstore `{logstore}`",
                format_key(at),
                parent.begin_key,
                parent.end_key
            )));
        }
        let next = ls.next_id();
        let child = |id: u32, begin: u128, end: u128| ShardMeta {
            id,
            status: ShardStatus::Readwrite,
            begin_key: format_key(begin),
            end_key: format_key(end),
            create_time: now,
            parents: vec![shard],
        };
        let children = [child(next, begin, at), child(next + 1, at, end)];
        ls.shard_mut(shard)?.meta.status = ShardStatus::Readonly;
        for meta in &children {
            ls.add_child(meta);
        }
        let mut out = vec![ls.shard(shard)?.meta.clone()];
        out.extend(children);
        Ok(out)
    }

    /// Merges writable shard `shard` with the writable shard whose range starts where its
    /// ends. Both become read-only; one new writable shard covers both ranges. Returns the
    /// new shard, then the two parents (MergeShards' answer).
    pub fn merge(
        &mut self,
        project: &str,
        logstore: &str,
        shard: u32,
        now: u32,
    ) -> Result<Vec<ShardMeta>, SlsError> {
        let ls = self.logstore_mut(project, logstore)?;
        let left = ls.writable_meta(shard, "merged")?;
        if left.range().1 == u128::MAX {
            return Err(SlsError::parameter(format!(
                "can not merge the last shard: shard {shard} of logstore `{logstore}` ends the \
                 key space, so it has no right neighbour; merge the shard before it"
            )));
        }
        let right = ls
            .writable()
            .find(|s| s.meta.begin_key == left.end_key)
            .map(|s| s.meta.clone())
            .ok_or_else(|| {
                SlsError::parameter(format!(
                    "invalid shard id: no read-write shard of logstore `{logstore}` starts \
                     where shard {shard} ends ({})",
                    left.end_key
                ))
            })?;
        let merged = ShardMeta {
            id: ls.next_id(),
            status: ShardStatus::Readwrite,
            begin_key: left.begin_key.clone(),
            end_key: right.end_key.clone(),
            create_time: now,
            parents: vec![left.id, right.id],
        };
        let mut out = vec![merged.clone()];
        for id in [left.id, right.id] {
            let parent = ls.shard_mut(id)?;
            parent.meta.status = ShardStatus::Readonly;
            out.push(parent.meta.clone());
        }
        ls.add_child(&merged);
        Ok(out)
    }

    /// Splits `shard` at the middle of its range when its logstore splits automatically, the
    /// shard has received its share of log groups and fewer than `max_split_shard` shards are
    /// writable. Whether it did.
    pub fn auto_split(
        &mut self,
        project: &str,
        logstore: &str,
        shard: u32,
        now: u32,
    ) -> Result<bool, SlsError> {
        let ls = self.logstore(project, logstore)?;
        let Some(after) = ls.settings.split_after else {
            return Ok(false);
        };
        let s = ls.shard(shard)?;
        // Offsets are absolute, so the end counts every group since creation, expired or not.
        if s.meta.status != ShardStatus::Readwrite
            || s.end() < after
            || ls.writable().count() >= ls.settings.max_split_shard as usize
        {
            return Ok(false);
        }
        match self.split(project, logstore, shard, None, now) {
            Ok(_) => Ok(true),
            // A range of one key cannot be split: the shard stays as it is.
            Err(e) if e.code == "ParameterInvalid" => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::tests::{group, spec};
    use super::*;
    use crate::config::LogstoreSpec;
    use crate::consumer::{Checkpoint, ConsumerGroup};

    #[test]
    fn split_makes_a_readonly_parent_and_two_children() {
        let mut store = Store::open(None, &[spec(2)], 100).unwrap();
        let out = store.split("demo", "orders", 0, None, 200).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].status, ShardStatus::Readonly);
        assert_eq!((out[1].id, out[2].id), (2, 3));
        assert_eq!(out[1].begin_key, out[0].begin_key);
        assert_eq!(out[1].end_key, out[2].begin_key);
        assert_eq!(out[2].end_key, out[0].end_key);
        assert_eq!(out[1].parents, [0]);
        let err = store.split("demo", "orders", 0, None, 200).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (400, "ParameterInvalid"));
        assert!(err.message.contains("read-only"), "{}", err.message);
        let ls = store.logstore_mut("demo", "orders").unwrap();
        let picked: BTreeSet<u32> = (0..6).map(|_| ls.pick_lb()).collect();
        assert_eq!(picked, [1, 2, 3].into());
    }

    #[test]
    fn merge_joins_a_shard_with_its_right_neighbour() {
        let mut store = Store::open(None, &[spec(4)], 100).unwrap();
        let out = store.merge("demo", "orders", 1, 300).unwrap();
        let ids: Vec<(u32, ShardStatus)> = out.iter().map(|m| (m.id, m.status)).collect();
        assert_eq!(
            ids,
            [
                (4, ShardStatus::Readwrite),
                (1, ShardStatus::Readonly),
                (2, ShardStatus::Readonly)
            ]
        );
        assert_eq!(out[0].begin_key, out[1].begin_key);
        assert_eq!(out[0].end_key, out[2].end_key);
        assert_eq!(out[1].end_key, out[2].begin_key);
        assert_eq!(
            (out[0].parents.as_slice(), out[0].create_time),
            (&[1, 2][..], 300)
        );
        for (shard, why) in [(3, "last shard"), (1, "read-only"), (2, "read-only")] {
            let err = store.merge("demo", "orders", shard, 300).unwrap_err();
            assert_eq!((err.status, err.code.as_ref()), (400, "ParameterInvalid"));
            assert!(err.message.contains(why), "{}", err.message);
        }
        assert_eq!(
            store.merge("demo", "orders", 9, 300).unwrap_err().code,
            "ShardNotExist"
        );
        // 0 and the merged 4 are neighbours now.
        let again = store.merge("demo", "orders", 0, 400).unwrap();
        assert_eq!((again[0].id, again[2].id), (5, 4));
    }

    #[test]
    fn in_order_merge_child_waits_for_both_parents() {
        let mut store = Store::open(None, &[spec(2)], 100).unwrap();
        store.append("demo", "orders", 0, group(100)).unwrap();
        store.append("demo", "orders", 1, group(100)).unwrap();
        store.merge("demo", "orders", 0, 200).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        let mut g = ConsumerGroup::new("cg", 60, true);
        assert_eq!(ls.assignable(&g), [0, 1].into());
        let done = |shard| Checkpoint {
            checkpoint: crate::cursor::encode(shard, 1),
            update_time: 0,
            consumer: "a".into(),
        };
        g.checkpoints.insert(0, done(0));
        assert_eq!(ls.assignable(&g), [1].into(), "child waits for shard 1 too");
        g.checkpoints.insert(1, done(1));
        assert_eq!(ls.assignable(&g), [2].into());
    }

    #[test]
    fn in_order_waits_for_every_ancestor() {
        let mut store = Store::open(None, &[spec(1)], 100).unwrap();
        store.append("demo", "orders", 0, group(100)).unwrap();
        store.split("demo", "orders", 0, None, 200).unwrap();
        store.append("demo", "orders", 1, group(200)).unwrap();
        store.merge("demo", "orders", 1, 300).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        let mut g = ConsumerGroup::new("cg", 60, true);
        // Shard 1 forced to its end while its parent 0 is not: 3 still waits for 0.
        g.checkpoints.insert(
            1,
            Checkpoint {
                checkpoint: crate::cursor::encode(1, 1),
                update_time: 0,
                consumer: "a".into(),
            },
        );
        assert_eq!(ls.assignable(&g), [0].into());
        g.checkpoints.insert(
            0,
            Checkpoint {
                checkpoint: crate::cursor::encode(0, 1),
                update_time: 0,
                consumer: "a".into(),
            },
        );
        assert_eq!(ls.assignable(&g), [3].into());
    }

    #[test]
    fn auto_split_after_k_groups_up_to_max_writable() {
        let spec = LogstoreSpec::new("demo", "orders", 1).with_auto_split(3, 2);
        let mut store = Store::open(None, &[spec], 100).unwrap();
        let mut put = |shard| {
            store.append("demo", "orders", shard, group(100)).unwrap();
            store.auto_split("demo", "orders", shard, 100).unwrap()
        };
        assert!(!put(0));
        assert!(put(0), "the second group splits shard 0 into 1 and 2");
        assert!(!put(1));
        assert!(put(1), "1 splits into 3 and 4: three writable shards");
        assert!(!put(2));
        assert!(!put(2), "no more than three writable shards");
        let ls = store.logstore("demo", "orders").unwrap();
        let writable: Vec<u32> = ls.writable().map(|s| s.meta.id).collect();
        assert_eq!(writable, [2, 3, 4]);
    }
}
