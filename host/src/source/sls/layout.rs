//! Which column of a row holds what: the content keys first, then the metadata a source
//! asks for (`__topic__`, `__source__`, `__timestamp__`, `__time_ns__`, `__shard__`), each
//! tag as `__tag__:<key>`, and `__tags__` (all of them as JSON) when asked for by name.

use std::collections::{BTreeSet, HashMap};

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
