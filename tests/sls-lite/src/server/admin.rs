//! sls-lite's own calls under `/_admin`: `GET stats`, `POST expire` (expiry on demand, for
//! tests that cannot wait for a TTL), and `GET`, `POST`, `DELETE faults`.

use std::collections::BTreeMap;

use hyper::Method;
use serde::Deserialize;

use super::{Ctx, Reply, Shared, not_found, save};
use crate::error::SlsError;
use crate::faults::FaultRule;
use crate::store::{Expiry, Store};

impl Shared {
    pub(super) fn admin(&self, ctx: &Ctx, segs: &[&str]) -> Result<Reply, SlsError> {
        match (segs, &ctx.method) {
            (["stats"], &Method::GET) => {
                let state = self.lock();
                let logstores: Vec<_> = state
                    .store
                    .logstores()
                    .map(|ls| {
                        let shards: Vec<_> = ls
                            .shards
                            .iter()
                            .map(|s| {
                                serde_json::json!({
                                    "shard": s.meta.id,
                                    "status": s.meta.status.as_str(),
                                    "parents": s.meta.parents,
                                    "first": s.first,
                                    "log_groups": s.groups.len(),
                                    "bytes": s.groups.iter().map(|g| g.bytes.len() as u64).sum::<u64>(),
                                    "logs": s.groups.iter().map(|g| u64::from(g.logs)).sum::<u64>(),
                                })
                            })
                            .collect();
                        serde_json::json!({
                            "project": ls.project,
                            "logstore": ls.name,
                            "generation": ls.generation,
                            "ttl_secs": ls.settings.ttl_secs,
                            "log_groups": ls.shards.iter().map(|s| s.groups.len()).sum::<usize>(),
                            "logs": ls.shards.iter().flat_map(|s| &s.groups).map(|g| u64::from(g.logs)).sum::<u64>(),
                            "shards": shards,
                            "consumer_groups": ls.consumer_groups.values().map(|g| serde_json::json!({
                                "name": g.name,
                                "members": g.members().collect::<Vec<_>>(),
                                "held": g.held().collect::<BTreeMap<_, _>>(),
                                "owners": g.owners().map(|(s, m)| (s.to_string(), m)).collect::<BTreeMap<_, _>>(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                Ok(Reply::json(serde_json::json!({
                    "logstores": logstores,
                    "requests": state.faults.requests(),
                })))
            }
            (["faults"], &Method::GET) => {
                let state = self.lock();
                Ok(Reply::json(
                    serde_json::json!({ "faults": state.faults.rules() }),
                ))
            }
            (["faults"], &Method::POST) => {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Rules {
                    One(FaultRule),
                    Many(Vec<FaultRule>),
                    Wrapped { faults: Vec<FaultRule> },
                }
                let rules = match ctx.json::<Rules>("fault")? {
                    Rules::One(r) => vec![r],
                    Rules::Many(rs) | Rules::Wrapped { faults: rs } => rs,
                };
                for rule in &rules {
                    rule.validate()
                        .map_err(|e| SlsError::parameter(e.to_string()))?;
                }
                let mut state = self.lock();
                for rule in rules {
                    state
                        .faults
                        .add(rule)
                        .map_err(|e| SlsError::parameter(e.to_string()))?;
                }
                Ok(Reply::json(
                    serde_json::json!({ "faults": state.faults.rules() }),
                ))
            }
            (["expire"], &Method::POST) => self.expire(ctx),
            (["faults"], &Method::DELETE) => {
                self.lock().faults.clear();
                Ok(Reply::empty())
            }
            _ => Err(not_found(ctx)),
        }
    }

    /// `POST /_admin/expire` `{"project"?, "logstore", "shard"?, "log_groups"?, "before"?}`:
    /// removes the `log_groups` oldest log groups of each shard (or only of `shard`), or those
    /// received before `before` (unix seconds), as a TTL would; answers `{"expired":
    /// {"<shard>": removed, …}, "removed_shards": [ids]}`.
    fn expire(&self, ctx: &Ctx) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            project: Option<String>,
            logstore: String,
            shard: Option<u32>,
            log_groups: Option<u64>,
            before: Option<u32>,
        }
        let body: Body = ctx.json("expire")?;
        if body.log_groups.is_none() && body.before.is_none() {
            return Err(SlsError::parameter(
                "expire needs `log_groups` (how many of the oldest to remove per shard), \
                 `before` (unix seconds), or both",
            ));
        }
        let mut state = self.lock();
        let project = match body.project {
            Some(p) => p,
            None => only_project_of(&state.store, &body.logstore)?,
        };
        let rule = Expiry {
            count: body.log_groups,
            before: body.before,
        };
        let out = state
            .store
            .expire(&project, &body.logstore, body.shard, rule)?;
        if out.changed() {
            save(&state.store)?;
        }
        let expired: BTreeMap<String, u64> = out
            .per_shard
            .iter()
            .map(|(id, n)| (id.to_string(), *n))
            .collect();
        Ok(Reply::json(serde_json::json!({
            "expired": expired,
            "removed_shards": out.removed_shards,
        })))
    }
}

/// The project holding `logstore`, when exactly one does.
fn only_project_of(store: &Store, logstore: &str) -> Result<String, SlsError> {
    let projects: Vec<&str> = store
        .logstores()
        .filter(|l| l.name == logstore)
        .map(|l| l.project.as_str())
        .collect();
    match projects.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(SlsError::new(
            404,
            "LogStoreNotExist",
            format!("logstore `{logstore}` does not exist in any project"),
        )),
        many => Err(SlsError::parameter(format!(
            "logstore `{logstore}` is in several projects ({}): give `project`",
            many.join(", ")
        ))),
    }
}
