//! Which column of a row holds what: the content keys first, then the metadata a source
//! asks for (`__topic__`, `__source__`, `__timestamp__`, `__time_ns__`, `__shard__`) and each
//! tag as `__tag__:<key>`.

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
}

impl Layout {
    pub fn new(
        content: Vec<String>,
        tags: BTreeSet<String>,
        time_ns: bool,
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
            schema: columns.into(),
        }
    }
}
