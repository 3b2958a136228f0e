//! Settings of the PostgreSQL sink: the DSN and the destination table, validated into the
//! connection settings, the password-free name of the server, and the table name.

use std::fmt;

use super::options::WriteOptions;
use crate::db::{ConnectConfig, DbError, TableName, parse_dsn};

/// Where the sink writes.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresSinkConfig {
    /// The database: a libpq URL (`postgres://user@host:5432/db`) or a `key=value` string.
    /// Without a password in it, `PGPASSWORD` from the environment is used.
    pub dsn: String,
    /// The destination table, `schema.table` or `table` (in `public`). Unquoted names fold
    /// to lower case as in SQL; quote them (`"Sales"."Orders"`) to keep their case.
    pub table: String,
    /// How rows are written: mode, writers, dialect, what may be created.
    pub write: WriteOptions,
}

/// The DSN holds the password: print everything else.
impl fmt::Debug for PostgresSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = parse_dsn(&self.dsn, None)
            .map(|(_, target)| target)
            .unwrap_or_else(|_| "<invalid dsn>".into());
        f.debug_struct("PostgresSinkConfig")
            .field("dsn", &target)
            .field("table", &self.table)
            .finish()
    }
}

impl PostgresSinkConfig {
    /// Parses the DSN (adding `PGPASSWORD` and a connect timeout when it has none) and the
    /// table name; returns them with the target description used in logs and errors.
    pub(crate) fn build(&self) -> Result<(ConnectConfig, String, TableName), DbError> {
        self.build_with(std::env::var_os("PGPASSWORD"))
    }

    /// [`Self::build`] with `PGPASSWORD` passed in, so tests need not touch the environment.
    fn build_with(
        &self,
        env_password: Option<std::ffi::OsString>,
    ) -> Result<(ConnectConfig, String, TableName), DbError> {
        let (pg, target) = parse_dsn(&self.dsn, env_password)?;
        let table = TableName::parse(&self.table)?;
        Ok((pg, target, table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DEFAULT_CONNECT_TIMEOUT;

    #[test]
    fn target_description_has_no_password() {
        let cfg = PostgresSinkConfig {
            dsn: "postgres://loader:s3cret@db.example:6432/warehouse".into(),
            table: "t".into(),
            write: Default::default(),
        };
        let (pg, target, _) = cfg.build().unwrap();
        assert_eq!(target, "db.example:6432/warehouse as loader");
        assert_eq!(pg.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
        assert!(!format!("{cfg:?}").contains("s3cret"));

        let kv = PostgresSinkConfig {
            dsn: "host=h user=u password=s3cret".into(),
            table: "t".into(),
            write: Default::default(),
        };
        let (_, target, _) = kv.build().unwrap();
        assert_eq!(target, "h:5432/u as u");
    }

    #[test]
    fn password_from_the_environment_only_when_the_dsn_has_none() {
        let cfg = |dsn: &str| PostgresSinkConfig {
            dsn: dsn.into(),
            table: "t".into(),
            write: Default::default(),
        };
        let env = Some("from-env".into());
        let (pg, ..) = cfg("postgres://u@h/db").build_with(env.clone()).unwrap();
        assert_eq!(pg.get_password(), Some(&b"from-env"[..]));
        let (pg, ..) = cfg("postgres://u:given@h/db").build_with(env).unwrap();
        assert_eq!(pg.get_password(), Some(&b"given"[..]));
        let (pg, ..) = cfg("postgres://u@h/db").build_with(None).unwrap();
        assert_eq!(pg.get_password(), None);
    }

    #[test]
    fn invalid_dsn_does_not_echo_it() {
        let cfg = PostgresSinkConfig {
            dsn: "postgres://u:s3cret@h:notaport/db".into(),
            table: "t".into(),
            write: Default::default(),
        };
        let err = cfg.build().unwrap_err();
        assert!(!format!("{err:?} {err}").contains("s3cret"));
    }
}
