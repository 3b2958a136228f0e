//! A transform's settings (`--set KEY=VALUE` pairs) with helpers that parse lists and
//! pairs and explain what is wrong with them.

/// Why a setting is missing or malformed. Converts into the `String` a transform returns,
/// so `?` works inside [`Transform::new`](crate::Transform::new).
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
    #[error("setting `{key}`: {message}")]
    Invalid { key: String, message: String },
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
