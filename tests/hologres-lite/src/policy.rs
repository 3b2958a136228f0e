//! The Hologres rules: for one statement, given the session's transaction and settings and
//! the imitated version, what to send the backend instead and how to treat the reply.

use crate::kind::Kind;
use crate::kit::{PG_COMPAT, PG_COMPAT_NUM};
use crate::refusal::Refusal;
use crate::reply::Reply;
use crate::settings::{self, Settings};
use crate::sql::{FixedCopy, Statement};
use crate::txn::Txn;
use crate::version::Version;

/// What to do with a statement.
#[derive(Debug, Clone)]
pub struct Decision {
    pub send: Send,
    pub reply: Reply,
    /// A real `BEGIN` must reach the backend first (a DDL transaction opened virtually).
    pub begin_first: bool,
    /// The transaction state once it completes.
    pub next: Txn,
}

/// What reaches the backend.
#[derive(Debug, Clone)]
pub enum Send {
    /// The statement as written.
    Same,
    /// Another statement with the reply shape Hologres gives.
    Sql(String),
    /// An error in Hologres's words instead.
    Refuse(Refusal),
    /// A Fixed Copy, rewritten once its staging table exists.
    FixedCopy(FixedCopy),
}

/// The statement that stands for a virtual `BEGIN`: no transaction, a `SET` reply whose
/// tag becomes `BEGIN`.
const VIRTUAL_BEGIN: &str = "SET hologres_lite.transaction = 'begin'";
/// The statement that stands for a virtual `COMMIT` or `ROLLBACK`.
const VIRTUAL_END: &str = "SET hologres_lite.transaction = 'end'";

/// A refusal: the statement fails, the session stays as it was.
pub fn refused(r: Refusal, txn: Txn) -> Decision {
    Decision {
        send: Send::Refuse(r),
        reply: Reply {
            refused: true,
            ..Reply::default()
        },
        begin_first: false,
        next: txn,
    }
}

pub fn decide(s: &Statement, txn: Txn, settings: &Settings, version: Version) -> Decision {
    let dml_real =
        version >= Version::DML_TRANSACTIONS && settings.flag(settings::ENABLE_TRANSACTION, false);
    let verb = s.word(0).unwrap_or_default();
    let mut d = Decision {
        send: Send::Same,
        reply: Reply::default(),
        begin_first: false,
        next: txn,
    };
    let refuse = |r: Refusal| refused(r, txn);
    match s.kind() {
        Kind::Savepoint => return refuse(Refusal::savepoint()),
        Kind::Begin => match txn {
            Txn::Idle if dml_real => d.next = Txn::Open { real: true },
            Txn::Idle => {
                d.send = Send::Sql(VIRTUAL_BEGIN.into());
                d.reply.tag = Some("BEGIN".into());
                d.next = Txn::Open { real: false };
            }
            t if t.is_virtual() => {
                d.send = Send::Sql(VIRTUAL_BEGIN.into());
                d.reply.tag = Some("BEGIN".into());
            }
            _ => {}
        },
        Kind::Commit | Kind::Rollback => {
            // The backend has no transaction; a real COMMIT or ROLLBACK would end the
            // implicit block of a multi-statement query, and warn.
            if txn.is_virtual() {
                d.send = Send::Sql(VIRTUAL_END.into());
                let tag = if s.kind() == Kind::Commit {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                d.reply.tag = Some(tag.into());
            }
            d.next = Txn::Idle;
        }
        Kind::Set | Kind::Show | Kind::Reset => {
            if s.kind() == Kind::Reset && s.is_word(1, "ALL") {
                d.reply.reset_all = true;
            } else if let Some(name) = s.setting().map(|(n, _)| n).filter(|n| {
                s.kind() == Kind::Show && (n == "server_version" || n == "server_version_num")
            }) {
                let value = if name == "server_version" {
                    PG_COMPAT
                } else {
                    PG_COMPAT_NUM
                };
                d.send = Send::Sql(format!("SELECT '{value}'::text AS {name}"));
                d.reply.tag = Some("SHOW".into());
            } else if let Some((name, value)) = s.setting().filter(|(n, _)| n.starts_with("hg_")) {
                match (s.kind(), value) {
                    (Kind::Set, Some(v)) => {
                        let local = if s.is_word(1, "LOCAL") { "LOCAL " } else { "" };
                        d.send =
                            Send::Sql(format!("SET {local}hologres_lite.{name} = {}", s.rest(v)));
                        let value = s.value_at(v);
                        let value = (!value.eq_ignore_ascii_case("default")).then_some(value);
                        d.reply.setting = Some((name, value));
                    }
                    (Kind::Show, _) => {
                        d.send = Send::Sql(format!(
                            "SELECT coalesce(nullif(current_setting('hologres_lite.{name}', true), ''), '{}') AS \"{name}\"",
                            Settings::default_of(&name)
                        ));
                        d.reply.tag = Some("SHOW".into());
                    }
                    _ => {
                        d.send = Send::Sql(format!("RESET hologres_lite.{name}"));
                        d.reply.setting = Some((name, None));
                    }
                }
            }
        }
        Kind::Ddl | Kind::Call => match txn {
            Txn::Open { real } => {
                d.begin_first = !real;
                d.next = Txn::Ddl;
            }
            Txn::Dml { .. } => return refuse(Refusal::ddl_in_dml_transaction(&verb)),
            _ => {}
        },
        kind if kind.is_dml() => {
            if matches!(kind, Kind::Insert | Kind::Update | Kind::Delete)
                && s.find_top_level(1, "RETURNING").is_some()
            {
                return refuse(Refusal::returning(&verb));
            }
            match txn {
                Txn::Ddl => return refuse(Refusal::dml_in_ddl_transaction(&verb)),
                Txn::Open { real } => d.next = Txn::Dml { real },
                _ => {}
            }
            if kind == Kind::CopyIn
                && let Some(copy) = FixedCopy::parse(s)
            {
                if copy.hologres_options && version < Version::FIXED_COPY {
                    let option = if s.text().to_ascii_lowercase().contains("stream_mode") {
                        "stream_mode"
                    } else {
                        "on_conflict"
                    };
                    return refuse(Refusal::copy_option(option));
                }
                if copy.format == "binary" && !copy.stream_mode {
                    return refuse(Refusal::binary_without_stream_mode());
                }
                if copy.hologres_options {
                    d.send = Send::FixedCopy(copy);
                }
            }
        }
        _ => {}
    }
    if d.reply.txn.is_none() {
        d.reply.txn = Some(d.next);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sqls: &[&str], version: &str, on: bool) -> Vec<Decision> {
        let mut settings = Settings::default();
        settings.set(
            settings::ENABLE_TRANSACTION,
            Some(if on { "on" } else { "off" }.into()),
        );
        let v = Version::parse(version).unwrap();
        let mut txn = Txn::Idle;
        sqls.iter()
            .map(|sql| {
                let d = decide(&Statement::new(sql), txn, &settings, v);
                txn = d.next;
                d
            })
            .collect()
    }

    #[test]
    fn ddl_transaction_opened_virtually_becomes_real() {
        let d = run(
            &[
                "BEGIN",
                "CREATE TABLE t (a int)",
                "INSERT INTO t VALUES (1)",
            ],
            "1.3.30",
            false,
        );
        assert!(matches!(d[0].send, Send::Sql(_)));
        assert!(d[1].begin_first);
        assert_eq!(d[1].next, Txn::Ddl);
        assert!(
            matches!(&d[2].send, Send::Refuse(r) if r.message == "INSERT in ddl transaction is not supported now")
        );
    }

    #[test]
    fn dml_transactions_are_real_from_2_0_with_the_setting() {
        let d = run(
            &["BEGIN", "INSERT INTO t VALUES (1)", "DROP TABLE t"],
            "2.1.5",
            true,
        );
        assert!(matches!(d[0].send, Send::Same));
        assert_eq!(d[1].next, Txn::Dml { real: true });
        assert!(matches!(d[2].send, Send::Refuse(_)));
        let d = run(&["BEGIN", "INSERT INTO t VALUES (1)"], "1.3.30", true);
        assert_eq!(d[1].next, Txn::Dml { real: false });
    }

    #[test]
    fn fixed_copy_needs_1_3_25() {
        let sql = "COPY t FROM STDIN WITH (STREAM_MODE TRUE, FORMAT BINARY)";
        assert!(
            matches!(&run(&[sql], "1.3.24", false)[0].send, Send::Refuse(r) if r.code == "42601")
        );
        assert!(matches!(
            run(&[sql], "1.3.25", false)[0].send,
            Send::FixedCopy(_)
        ));
    }
}
