//! A transform's settings (`--set KEY=VALUE` pairs) with helpers that parse lists and
//! pairs, resolve the column names they hold, and explain what is wrong with them.

use crate::Column;
use crate::types::column_names;

/// Why a setting is missing or malformed. Converts into an [`Error`](crate::Error) (and a
/// `String`), so `?` works inside [`Transform::new`](crate::Transform::new).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing setting `{key}`: pass `--set {key}=...`")]
    Missing { key: String },
    #[error("setting `{key}` is empty")]
    Empty { key: String },
    #[error("setting `{key}` has an empty item in `{value}`")]
    EmptyItem { key: String, value: String },
    #[error("item `{item}` of setting `{key}` is not of the form `{form}`")]
    NotAPair {
        key: String,
        item: String,
        form: &'static str,
    },
    #[error("unknown setting `{key}` (settings this transform knows: {known})")]
    Unknown { key: String, known: String },
    /// A column name that is not among the columns it was resolved against; `what` says
    /// which columns these are (`input column`), `columns` lists their names.
    #[error("setting `{key}`: no {what} `{name}` (columns: {columns})")]
    NoColumn {
        key: String,
        what: String,
        name: String,
        columns: String,
    },
    #[error("setting `{key}`: column `{name}` appears twice")]
    Duplicate { key: String, name: String },
    #[error("setting `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    /// Setting `key` is wrong for the reason `message`.
    pub fn invalid(key: &str, message: impl std::fmt::Display) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_string(),
        }
    }
}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> Self {
        e.to_string()
    }
}

/// An item of [`Config::optional_pairs`]: `a` is `("a", None)`, `a:b` is `("a", Some("b"))`.
pub type OptionalPair<'a> = (&'a str, Option<&'a str>);

/// The settings of a transform, in command-line order.
///
/// When a key appears more than once the last value wins, as with most command lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    settings: Vec<(String, String)>,
}

impl Config {
    pub fn new(settings: Vec<(String, String)>) -> Self {
        Config { settings }
    }

    /// Every pair, in command-line order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`; an error naming the key if it is not set.
    pub fn require(&self, key: &str) -> Result<&str, ConfigError> {
        self.get(key).ok_or_else(|| ConfigError::Missing {
            key: key.to_owned(),
        })
    }

    /// A comma list such as `a,b,c`, items trimmed; `None` if `key` is not set. An empty
    /// value or an empty item is an error.
    pub fn list(&self, key: &str) -> Result<Option<Vec<&str>>, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        if value.trim().is_empty() {
            return Err(ConfigError::Empty {
                key: key.to_owned(),
            });
        }
        value
            .split(',')
            .map(|item| {
                let item = item.trim();
                if item.is_empty() {
                    Err(ConfigError::EmptyItem {
                        key: key.to_owned(),
                        value: value.to_owned(),
                    })
                } else {
                    Ok(item)
                }
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// A comma list of `a:b` pairs such as `old:new,old2:new2`; `None` if `key` is not set.
    /// Each item splits at its last `:`, with text on both sides, so a name that holds colons
    /// (Log Service's `__tag__:region`) can be renamed: `__tag__:region:sls_region`.
    pub fn pairs(&self, key: &str) -> Result<Option<Vec<(&str, &str)>>, ConfigError> {
        let Some(items) = self.list(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|item| match split_pair(item) {
                Some((a, Some(b))) => Ok((a, b)),
                _ => Err(ConfigError::NotAPair {
                    key: key.to_owned(),
                    item: item.to_owned(),
                    form: "name:value",
                }),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// A comma list whose items are `a` or `a:b`, such as `name:book_name,price`;
    /// `None` if `key` is not set.
    pub fn optional_pairs(&self, key: &str) -> Result<Option<Vec<OptionalPair<'_>>>, ConfigError> {
        let Some(items) = self.list(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|item| {
                split_pair(item).ok_or_else(|| ConfigError::NotAPair {
                    key: key.to_owned(),
                    item: item.to_owned(),
                    form: "name or name:value",
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// A comma list of column names such as `id,__tag__:region`, each taken whole; `None`
    /// if `key` is not set. Resolve it with [`ColumnSpec::resolve`].
    pub fn names(&self, key: &str) -> Result<Option<ColumnSpec>, ConfigError> {
        Ok(self
            .list(key)?
            .map(|items| ColumnSpec::new(key, items.into_iter().map(|a| (a, None)))))
    }

    /// A comma list of `col[:name]` items such as `name:book_name,price`: columns to take,
    /// optionally renamed (split as [`Config::optional_pairs`]); `None` if `key` is not set.
    pub fn columns(&self, key: &str) -> Result<Option<ColumnSpec>, ConfigError> {
        Ok(self
            .optional_pairs(key)?
            .map(|items| ColumnSpec::new(key, items)))
    }

    /// A comma list of `old:new` renames such as `__topic__:sls_topic` (split as
    /// [`Config::pairs`]); `None` if `key` is not set.
    pub fn renames(&self, key: &str) -> Result<Option<ColumnSpec>, ConfigError> {
        Ok(self
            .pairs(key)?
            .map(|items| ColumnSpec::new(key, items.into_iter().map(|(a, b)| (a, Some(b))))))
    }

    /// The first key not in `known`, as an error listing the known ones.
    pub fn check_keys(&self, known: &[&str]) -> Result<(), ConfigError> {
        match self.iter().find(|(k, _)| !known.contains(k)) {
            None => Ok(()),
            Some((key, _)) => Err(ConfigError::Unknown {
                key: key.to_owned(),
                known: known.join(", "),
            }),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Config {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Config::new(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// The columns a setting names, each with an optional new name, as parsed by
/// [`Config::names`], [`Config::columns`] and [`Config::renames`]. Parse in
/// [`Transform::new`](crate::Transform::new), so malformed settings fail early; resolve in
/// `output_schema`, once the columns are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    key: String,
    items: Vec<(String, Option<String>)>,
}

/// A column named by a setting, resolved: its index in the columns it was resolved
/// against, and its output name (the new name if the setting gave one, else its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    pub index: usize,
    pub name: String,
}

impl ColumnSpec {
    fn new<'a>(key: &str, items: impl IntoIterator<Item = OptionalPair<'a>>) -> Self {
        ColumnSpec {
            key: key.to_owned(),
            items: items
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.map(str::to_owned)))
                .collect(),
        }
    }

    /// The setting's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The column names, in setting order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(a, _)| a.as_str())
    }

    /// An error if a column is named twice: ``setting `select`: column `a` appears twice``.
    pub fn check_unique(&self) -> Result<(), ConfigError> {
        check_unique(&self.key, self.columns())
    }

    /// Every item resolved against `columns`, in setting order; a name that is not among
    /// them is an error listing them. `what` names these columns in it: `input column`
    /// gives ``setting `rename`: no input column `x` (columns: a, b)``.
    pub fn resolve(&self, columns: &[Column], what: &str) -> Result<Vec<Picked>, ConfigError> {
        self.items
            .iter()
            .map(|(name, new)| {
                let index = resolve_column(&self.key, columns, what, name)?;
                let name = new.as_ref().unwrap_or(name).clone();
                Ok(Picked { index, name })
            })
            .collect()
    }
}

/// The index of column `name`, given by setting `key`, in `columns`; else an error that
/// names the setting and lists the columns (see [`ColumnSpec::resolve`] for `what`).
pub fn resolve_column(
    key: &str,
    columns: &[Column],
    what: &str,
    name: &str,
) -> Result<usize, ConfigError> {
    columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| ConfigError::NoColumn {
            key: key.to_owned(),
            what: what.to_owned(),
            name: name.to_owned(),
            columns: column_names(columns),
        })
}

/// An error naming the first name that appears twice in setting `key`.
pub fn check_unique<'a>(
    key: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if seen.contains(&name) {
            return Err(ConfigError::Duplicate {
                key: key.to_owned(),
                name: name.to_owned(),
            });
        }
        seen.push(name);
    }
    Ok(())
}

/// Splits `a` or `a:b` (both sides trimmed, neither empty); `None` if malformed.
fn split_pair(item: &str) -> Option<OptionalPair<'_>> {
    match item.rsplit_once(':') {
        None => Some((item, None)),
        Some((a, b)) => {
            let (a, b) = (a.trim(), b.trim());
            (!a.is_empty() && !b.is_empty()).then_some((a, Some(b)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().copied().collect()
    }

    #[test]
    fn get_and_require() {
        let c = config(&[("a", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(c.get("a"), Some("3"));
        assert_eq!(c.get("z"), None);
        assert_eq!(c.require("b"), Ok("2"));
        assert_eq!(
            c.require("lookup").unwrap_err().to_string(),
            "missing setting `lookup`: pass `--set lookup=...`"
        );
    }

    #[test]
    fn lists_are_trimmed_and_checked() {
        let c = config(&[("select", " a, b ,c"), ("bad", "a,,b"), ("blank", " ")]);
        assert_eq!(c.list("select").unwrap(), Some(vec!["a", "b", "c"]));
        assert_eq!(c.list("none").unwrap(), None);
        assert_eq!(
            c.list("bad").unwrap_err().to_string(),
            "setting `bad` has an empty item in `a,,b`"
        );
        assert_eq!(
            c.list("blank").unwrap_err().to_string(),
            "setting `blank` is empty"
        );
    }

    #[test]
    fn pairs_need_both_sides() {
        let c = config(&[
            ("rename", "__topic__:sls_topic, x : y"),
            ("half", "a:b,c"),
            ("two", "a:b:c"),
            ("tag", "__tag__:region:sls_region"),
            ("trailing", "a:b:"),
            ("cols", "name:book_name,price"),
        ]);
        assert_eq!(
            c.pairs("rename").unwrap(),
            Some(vec![("__topic__", "sls_topic"), ("x", "y")])
        );
        assert_eq!(
            c.pairs("half").unwrap_err().to_string(),
            "item `c` of setting `half` is not of the form `name:value`"
        );
        // The last colon splits: names may hold colons, new names may not.
        assert_eq!(c.pairs("two").unwrap(), Some(vec![("a:b", "c")]));
        assert_eq!(
            c.pairs("tag").unwrap(),
            Some(vec![("__tag__:region", "sls_region")])
        );
        assert!(c.pairs("trailing").is_err());
        assert!(c.optional_pairs("trailing").is_err());
        assert_eq!(
            c.optional_pairs("cols").unwrap(),
            Some(vec![("name", Some("book_name")), ("price", None)])
        );
        assert!(config(&[("x", ":b")]).pairs("x").is_err());
    }

    #[test]
    fn column_specs_resolve_to_indexes_and_output_names() {
        let c = config(&[
            ("cols", "name:book_name,price"),
            ("rename", "__tag__:region:sls_region"),
            ("select", "__tag__:region,id"),
            ("twice", "a,b,a"),
        ]);
        let columns = [
            Column::text("id"),
            Column::text("name"),
            Column::text("price"),
            Column::text("__tag__:region"),
        ];
        let picked = |index, name: &str| Picked {
            index,
            name: name.to_owned(),
        };
        let cols = c.columns("cols").unwrap().unwrap();
        assert_eq!(cols.key(), "cols");
        assert_eq!(cols.columns().collect::<Vec<_>>(), ["name", "price"]);
        assert_eq!(
            cols.resolve(&columns, "lookup column").unwrap(),
            [picked(1, "book_name"), picked(2, "price")]
        );
        assert_eq!(
            c.renames("rename")
                .unwrap()
                .unwrap()
                .resolve(&columns, "input column"),
            Ok(vec![picked(3, "sls_region")])
        );
        let select = c.names("select").unwrap().unwrap();
        assert_eq!(
            select.resolve(&columns, "column"),
            Ok(vec![picked(3, "__tag__:region"), picked(0, "id")])
        );
        assert_eq!(
            select
                .resolve(&columns[..2], "input column")
                .unwrap_err()
                .to_string(),
            "setting `select`: no input column `__tag__:region` (columns: id, name)"
        );
        assert!(select.check_unique().is_ok());
        assert_eq!(
            c.names("twice")
                .unwrap()
                .unwrap()
                .check_unique()
                .unwrap_err()
                .to_string(),
            "setting `twice`: column `a` appears twice"
        );
        assert_eq!(c.names("none"), Ok(None));
        assert!(c.renames("cols").is_err(), "`price` is not a rename");
        assert_eq!(
            resolve_column("key", &columns, "input column", "price"),
            Ok(2)
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let c = config(&[("rename", "a:b"), ("selct", "a")]);
        let err = c.check_keys(&["rename", "select", "cast"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown setting `selct` (settings this transform knows: rename, select, cast)"
        );
        assert!(c.check_keys(&["rename", "selct"]).is_ok());
        let s: String = err.into();
        assert!(s.contains("selct"));
    }
}
