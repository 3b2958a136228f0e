//! sls-lite's own calls under `/_admin`: `GET stats`, and `GET`, `POST`, `DELETE faults`.

use std::collections::BTreeMap;

use hyper::Method;
use serde::Deserialize;

use super::{Ctx, Reply, Shared, not_found};
use crate::error::SlsError;
use crate::faults::FaultRule;

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
                                    "log_groups": s.groups.len(),
                                    "logs": s.groups.iter().map(|g| u64::from(g.logs)).sum::<u64>(),
                                })
                            })
                            .collect();
                        serde_json::json!({
                            "project": ls.project,
                            "logstore": ls.name,
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
                Ok(Reply::json(serde_json::json!({ "logstores": logstores })))
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
            (["faults"], &Method::DELETE) => {
                self.lock().faults.clear();
                Ok(Reply::empty())
            }
            _ => Err(not_found(ctx)),
        }
    }
}
