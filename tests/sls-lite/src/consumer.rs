//! Consumer groups: members kept alive by heartbeats, balanced shard assignment, checkpoints.
//!
//! Every heartbeat drops members silent for longer than the group timeout, then rebalances so
//! that per-member shard counts differ by at most one, moving as few shards as it can. A shard
//! that moves is withheld from its new owner until the old owner stops listing it in its
//! heartbeats (after its final checkpoint) or times out, so two members never read it at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A shard's saved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub checkpoint: String,
    /// Microseconds since the epoch.
    pub update_time: u64,
    pub consumer: String,
}

#[derive(Debug, Clone)]
struct Member {
    last_seen: Instant,
    /// Shards the member said it holds in its last heartbeat.
    held: BTreeSet<u32>,
}

/// One consumer group of a logstore.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    pub name: String,
    /// Seconds without a heartbeat after which a member is dropped.
    pub timeout: u32,
    /// Consume a split shard's children only after the parent is finished.
    pub in_order: bool,
    pub checkpoints: BTreeMap<u32, Checkpoint>,
    members: BTreeMap<String, Member>,
    owners: BTreeMap<u32, String>,
}

impl ConsumerGroup {
    pub fn new(name: &str, timeout: u32, in_order: bool) -> Self {
        ConsumerGroup {
            name: name.to_owned(),
            timeout,
            in_order,
            checkpoints: BTreeMap::new(),
            members: BTreeMap::new(),
            owners: BTreeMap::new(),
        }
    }

    /// Whether a heartbeat of `consumer` holding `held` is taken: a consumer the group does
    /// not know (never joined, or dropped after its timeout) that says it holds shards is
    /// refused; only an empty heartbeat joins (HeartBeat docs: `400 NotExistConsumerWithBody`).
    pub fn accepts(&mut self, consumer: &str, held: &[u32], now: Instant) -> bool {
        self.expire(now);
        held.is_empty() || self.members.contains_key(consumer)
    }

    /// Records a heartbeat of `consumer` holding `held`, rebalances the `assignable` shards, and
    /// returns the shards `consumer` should hold now.
    pub fn heartbeat(
        &mut self,
        consumer: &str,
        held: &[u32],
        assignable: &BTreeSet<u32>,
        now: Instant,
    ) -> Vec<u32> {
        self.members.insert(
            consumer.to_owned(),
            Member {
                last_seen: now,
                held: held.iter().copied().collect(),
            },
        );
        self.expire(now);
        self.rebalance(assignable);
        let given: Vec<u32> = self
            .owners
            .iter()
            .filter(|(shard, owner)| {
                owner.as_str() == consumer
                    && !self
                        .members
                        .iter()
                        .any(|(name, m)| name != consumer && m.held.contains(shard))
            })
            .map(|(shard, _)| *shard)
            .collect();
        // A member starts reading what it is given before its next heartbeat says so: until
        // then it counts as holding it, or a newcomer could be given the same shard at once.
        if let Some(m) = self.members.get_mut(consumer) {
            m.held.extend(given.iter().copied());
        }
        given
    }

    /// The member a shard is assigned to, if any.
    pub fn owner(&self, shard: u32) -> Option<&str> {
        self.owners.get(&shard).map(String::as_str)
    }

    /// Every assigned shard with its member.
    pub fn owners(&self) -> impl Iterator<Item = (u32, &str)> {
        self.owners.iter().map(|(s, m)| (*s, m.as_str()))
    }

    /// Each live member with the shards it listed in its last heartbeat.
    pub fn held(&self) -> impl Iterator<Item = (&str, Vec<u32>)> {
        self.members
            .iter()
            .map(|(name, m)| (name.as_str(), m.held.iter().copied().collect()))
    }

    /// Live member names.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.keys().map(String::as_str)
    }

    fn expire(&mut self, now: Instant) {
        let timeout = Duration::from_secs(u64::from(self.timeout));
        self.members
            .retain(|_, m| now.saturating_duration_since(m.last_seen) <= timeout);
    }

    fn rebalance(&mut self, assignable: &BTreeSet<u32>) {
        let members = &self.members;
        self.owners
            .retain(|shard, owner| assignable.contains(shard) && members.contains_key(owner));
        if members.is_empty() {
            return;
        }
        let mut owned: BTreeMap<&str, Vec<u32>> =
            members.keys().map(|m| (m.as_str(), Vec::new())).collect();
        for (shard, owner) in &self.owners {
            owned
                .get_mut(owner.as_str())
                .expect("owner is a member")
                .push(*shard);
        }
        // Members already holding more get the larger quotas, so fewer shards move.
        let mut order: Vec<&str> = owned.keys().copied().collect();
        order.sort_by(|a, b| owned[b].len().cmp(&owned[a].len()).then(a.cmp(b)));
        let base = assignable.len() / order.len();
        let extra = assignable.len() % order.len();
        let quota: BTreeMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, m)| (*m, base + usize::from(i < extra)))
            .collect();

        let mut free: Vec<u32> = assignable
            .iter()
            .filter(|s| !self.owners.contains_key(s))
            .copied()
            .collect();
        for (member, shards) in &mut owned {
            while shards.len() > quota[member] {
                free.push(shards.pop().expect("over quota means non-empty"));
            }
        }
        free.sort_unstable();
        let mut free = free.into_iter();
        for member in &order {
            let shards = owned.get_mut(member).expect("member listed");
            while shards.len() < quota[member] {
                match free.next() {
                    Some(s) => shards.push(s),
                    None => break,
                }
            }
        }
        self.owners = owned
            .into_iter()
            .flat_map(|(m, shards)| shards.into_iter().map(move |s| (s, m.to_owned())))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(n: u32) -> BTreeSet<u32> {
        (0..n).collect()
    }

    /// Heartbeats until every member holds what it was given and nothing changes.
    fn settle(
        group: &mut ConsumerGroup,
        names: &[&str],
        assignable: &BTreeSet<u32>,
        now: Instant,
        held: &mut BTreeMap<String, Vec<u32>>,
    ) {
        for _ in 0..4 {
            for name in names {
                let mine = held.get(*name).cloned().unwrap_or_default();
                let got = group.heartbeat(name, &mine, assignable, now);
                held.insert(name.to_string(), got);
            }
        }
    }

    #[test]
    fn three_consumers_share_four_shards_within_one() {
        let now = Instant::now();
        let mut g = ConsumerGroup::new("cg", 60, false);
        let mut held = BTreeMap::new();
        settle(&mut g, &["a", "b", "c"], &shards(4), now, &mut held);
        let mut counts: Vec<usize> = held.values().map(Vec::len).collect();
        counts.sort_unstable();
        assert_eq!(counts, vec![1, 1, 2]);
        let all: BTreeSet<u32> = held.values().flatten().copied().collect();
        assert_eq!(all, shards(4));
    }

    #[test]
    fn moving_shard_waits_until_the_old_owner_lets_go() {
        let t0 = Instant::now();
        let mut g = ConsumerGroup::new("cg", 60, false);
        let all = shards(2);
        assert_eq!(g.heartbeat("a", &[], &all, t0), vec![0, 1]);
        assert_eq!(g.heartbeat("a", &[0, 1], &all, t0), vec![0, 1]);
        // b joins: one shard moves from a to b, but a still lists both.
        assert_eq!(g.heartbeat("b", &[], &all, t0), Vec::<u32>::new());
        let a_now = g.heartbeat("a", &[0, 1], &all, t0);
        assert_eq!(a_now.len(), 1);
        let moved = if a_now == vec![0] { 1 } else { 0 };
        assert_eq!(g.owner(moved), Some("b"));
        assert_eq!(g.heartbeat("b", &[], &all, t0), Vec::<u32>::new());
        // a stops listing the moved shard after its final checkpoint: b gets it.
        g.heartbeat("a", &a_now, &all, t0);
        assert_eq!(g.heartbeat("b", &[], &all, t0), vec![moved]);
    }

    #[test]
    fn shards_just_given_are_not_given_again() {
        let t0 = Instant::now();
        let mut g = ConsumerGroup::new("cg", 60, false);
        let all = shards(2);
        // a is given both before it could say it holds them; b joins at once.
        assert_eq!(g.heartbeat("a", &[], &all, t0), vec![0, 1]);
        assert_eq!(g.heartbeat("b", &[], &all, t0), Vec::<u32>::new());
        let a_now = g.heartbeat("a", &[0, 1], &all, t0);
        assert_eq!(a_now.len(), 1);
        g.heartbeat("a", &a_now, &all, t0);
        assert_eq!(g.heartbeat("b", &[], &all, t0).len(), 1);
    }

    #[test]
    fn silent_member_times_out_and_its_shards_move() {
        let t0 = Instant::now();
        let mut g = ConsumerGroup::new("cg", 1, false);
        let all = shards(4);
        let mut held = BTreeMap::new();
        settle(&mut g, &["a", "b", "c"], &all, t0, &mut held);
        let later = t0 + Duration::from_millis(1500);
        held.remove("c");
        settle(&mut g, &["a", "b"], &all, later, &mut held);
        assert_eq!(g.members().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(held["a"].len(), 2);
        assert_eq!(held["b"].len(), 2);
        let owned: BTreeSet<u32> = held["a"].iter().chain(&held["b"]).copied().collect();
        assert_eq!(owned, all);
    }

    #[test]
    fn shards_that_stop_being_assignable_are_released() {
        let t0 = Instant::now();
        let mut g = ConsumerGroup::new("cg", 60, false);
        assert_eq!(g.heartbeat("a", &[], &shards(3), t0), vec![0, 1, 2]);
        let fewer: BTreeSet<u32> = [1, 2].into();
        assert_eq!(g.heartbeat("a", &[0, 1, 2], &fewer, t0), vec![1, 2]);
        assert_eq!(g.owner(0), None);
    }
}
