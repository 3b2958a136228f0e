//! The `hg_*` settings a session made, kept by the backend as `hologres_lite.hg_*` and
//! tracked here for the two the proxy acts on.

use std::collections::HashMap;

/// Session settings by name (lower case), as last set.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: HashMap<String, String>,
}

/// Mixed DML transactions, from 2.0 ("SQL transaction capabilities").
pub const ENABLE_TRANSACTION: &str = "hg_experimental_enable_transaction";
/// holo-client sets it off (`ConnectionHolder.buildConnection`).
pub const AFFECTED_ROWS: &str = "hg_experimental_enable_fixed_dispatcher_affected_rows";

impl Settings {
    pub fn set(&mut self, name: &str, value: Option<String>) {
        match value {
            Some(v) => self.values.insert(name.to_owned(), v),
            None => self.values.remove(name),
        };
    }

    pub fn clear(&mut self) {
        self.values.clear();
    }

    /// A boolean setting, or `default` when unset or unreadable.
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.values.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if ["on", "true", "1", "yes", "t"].contains(&v.as_str()) => true,
            Some(v) if ["off", "false", "0", "no", "f"].contains(&v.as_str()) => false,
            _ => default,
        }
    }

    /// What `SHOW name` answers when the session never set it (holo-client's
    /// `testDisableAffectRows` reads the affected-rows one as on by default).
    pub fn default_of(name: &str) -> &'static str {
        match name {
            ENABLE_TRANSACTION => "off",
            _ => "on",
        }
    }
}
