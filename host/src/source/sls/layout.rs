//! Which column of a row holds what: the content keys first, then the metadata a source
//! asks for (`__topic__`, `__source__`, `__timestamp__`, `__time_ns__`, `__shard__`), each
//! tag as `__tag__:<key>`, and `__tags__` (all of them as JSON) when asked for by name.

use std::collections::{BTreeSet, HashMap};

use sls_client::{CursorFrom, Shard, SlsClient};

use super::config::SlsSourceConfig;
use super::error::SlsSourceError;
use crate::record::{Column, Schema};

/// Which column holds what.
#[derive(Debug)]
pub struct Layout {
    pub(super) schema: Schema,
    /// Content key → column.
    pub(super) content: HashMap<String, usize>,
    /// Tag key → column (`__tag__:<key>`).
    pub(super) tags: HashMap<String, usize>,
    pub(super) topic: Option<usize>,
    pub(super) source: Option<usize>,
    pub(super) timestamp: Option<usize>,
    pub(super) time_ns: Option<usize>,
    pub(super) shard: Option<usize>,
    /// `__tags__`: every tag of the log's group as one JSON object (only when `meta=` names
    /// it), so that tags first seen after the stream opened are kept too.
    pub(super) all_tags: Option<usize>,
}

impl Layout {
    /// `all_tags`: add the `__tags__` column.
    pub fn new(
        content: Vec<String>,
        tags: BTreeSet<String>,
        time_ns: bool,
        all_tags: bool,
        wanted: impl Fn(&str) -> bool,
    ) -> Layout {
        let mut columns: Vec<Column> = content.iter().map(Column::text).collect();
        let mut push = |name: String| {
            wanted(&name).then(|| {
                columns.push(Column::text(name));
                columns.len() - 1
            })
        };
        let topic = push("__topic__".into());
        let source = push("__source__".into());
        let timestamp = push("__timestamp__".into());
        let time_ns = if time_ns {
            push("__time_ns__".into())
        } else {
            None
        };
        let shard = push("__shard__".into());
        let tags = tags
            .into_iter()
            .filter_map(|t| {
                let i = push(format!("__tag__:{t}"))?;
                Some((t, i))
            })
            .collect();
        let all_tags = if all_tags {
            columns.push(Column::text("__tags__"));
            Some(columns.len() - 1)
        } else {
            None
        };
        Layout {
            content: content
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c, i))
                .collect(),
            tags,
            topic,
            source,
            timestamp,
            time_ns,
            shard,
            all_tags,
            schema: columns.into(),
        }
    }
}

impl Layout {
    /// The columns: the content keys given, or learned from the first logs of each shard; the
    /// metadata named in `meta=` (every tag named there gets its column), or, without `meta=`,
    /// every tag those first logs carry. Tags that come later are dead-lettered (see
    /// `ShardReader::unplaced_tags`) unless declared (`tags=`) or kept in `__tags__`.
    pub(super) async fn learn(
        client: &SlsClient,
        config: &SlsSourceConfig,
        shards: &[Shard],
    ) -> Result<Layout, SlsSourceError> {
        let named = |c: &str| {
            config
                .meta
                .as_ref()
                .is_some_and(|m| m.iter().any(|n| n == c))
        };
        let mut keys: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut tags: BTreeSet<String> = (config.meta.iter().flatten())
            .filter_map(|m| m.strip_prefix("__tag__:"))
            .chain(config.tags.iter().map(String::as_str))
            .map(str::to_owned)
            .collect();
        let mut time_ns = named("__time_ns__");
        if config.meta.is_none() {
            tags.insert("__receive_time__".to_owned());
        }
        // Nothing to learn when both the columns and the metadata are given.
        let learn = config.columns.is_none() || config.meta.is_none();
        for shard in shards.iter().filter(|_| learn) {
            let first = async {
                let cursor = (client)
                    .get_cursor(&config.logstore, shard.id, CursorFrom::Begin)
                    .await?;
                client
                    .pull_logs(&config.logstore, shard.id, &cursor, 10, None)
                    .await
            };
            let pull = match first.await {
                Ok(pull) => pull,
                // Removed since the listing (its data expired): nothing to learn from.
                Err(e) if e.is_code("ShardNotExist") => continue,
                Err(e) => return Err(e.into()),
            };
            for group in &pull.groups {
                tags.extend(group.tags.iter().map(|(k, _)| k.clone()));
                for log in &group.logs {
                    time_ns |= log.time_ns.is_some();
                    for (k, _) in &log.contents {
                        if seen.insert(k.clone()) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
        }
        let content = match &config.columns {
            Some(c) => c.clone(),
            None if keys.is_empty() => {
                return Err(SlsSourceError::NoColumns {
                    project: config.project.clone(),
                    logstore: config.logstore.clone(),
                });
            }
            None => keys,
        };
        Ok(Layout::new(
            content,
            tags,
            time_ns,
            named("__tags__"),
            |c| config.wants_meta(c),
        ))
    }
}
