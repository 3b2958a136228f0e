//! Injected faults: a failover that closes every connection and refuses new ones for a
//! while, transient errors on chosen statements, and replies lost after a write applied.
//! Driven from tests ([`crate::RunningServer::faults`]) or from any client with a
//! `HOLOGRES_LITE …` statement.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// The faults to inject; cheap to call from any thread.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<State>,
    /// Tells every connection to close at once.
    close_all: broadcast::Sender<()>,
}

#[derive(Debug, Default)]
struct State {
    failover_until: Option<Instant>,
    fail: Vec<Rule>,
    lose: Vec<Rule>,
}

/// The next `left` statements containing `matching` (lower case).
#[derive(Debug)]
struct Rule {
    left: u32,
    matching: String,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Mutex::default(),
            close_all: broadcast::channel(4).0,
        }
    }
}

impl Faults {
    /// Closes every client connection now; until `spell` has passed, new connections and
    /// statements fail as during a Hologres failover or upgrade.
    pub fn failover(&self, spell: Duration) {
        self.state().failover_until = Some(Instant::now() + spell);
        tracing::info!(?spell, "failover: closing every connection");
        let _ = self.close_all.send(());
    }

    /// The next `n` statements whose SQL contains `matching` (case-insensitive) fail with a
    /// transient error holo-client retries, without reaching the backend.
    pub fn fail_next(&self, n: u32, matching: &str) {
        self.state().fail.push(Rule {
            left: n,
            matching: matching.to_lowercase(),
        });
    }

    /// The next `n` statements whose SQL contains `matching` run and commit on the backend,
    /// then the client's connection closes before their reply reaches it.
    pub fn lose_reply_next(&self, n: u32, matching: &str) {
        self.state().lose.push(Rule {
            left: n,
            matching: matching.to_lowercase(),
        });
    }

    /// Ends every fault, the failover spell included.
    pub fn clear(&self) {
        *self.state() = State::default();
    }

    /// Whether a failover spell is on.
    pub fn in_failover(&self) -> bool {
        let mut s = self.state();
        match s.failover_until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                s.failover_until = None;
                false
            }
            None => false,
        }
    }

    /// Whether `sql` is to fail now; counts it against its rule.
    pub fn take_fail(&self, sql: &str) -> bool {
        take(&mut self.state().fail, sql)
    }

    /// Whether `sql`'s reply is to be lost; counts it against its rule.
    pub fn take_lose(&self, sql: &str) -> bool {
        take(&mut self.state().lose, sql)
    }

    /// A receiver told when every connection must close.
    pub fn subscribe(&self) -> broadcast::Receiver<()> {
        self.close_all.subscribe()
    }

    /// Closes every connection without a failover spell (the server is stopping).
    pub fn close_connections(&self) {
        let _ = self.close_all.send(());
    }

    /// Runs a `HOLOGRES_LITE …` statement: `FAILOVER secs`, `FAIL NEXT n MATCHING 'text'`,
    /// `LOSE REPLY NEXT n MATCHING 'text'`, `CLEAR`. Returns what to do after the reply.
    pub fn run_admin(&self, sql: &str) -> Result<AdminOutcome, String> {
        let words: Vec<&str> = sql.split_whitespace().collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
        let matching = || -> Result<String, String> {
            let at = sql
                .to_ascii_uppercase()
                .find("MATCHING")
                .ok_or_else(|| format!("`{sql}` lacks MATCHING 'text'"))?;
            let rest = sql[at + "MATCHING".len()..].trim();
            let text = rest
                .strip_prefix('\'')
                .and_then(|r| r.strip_suffix('\''))
                .ok_or_else(|| format!("`{sql}`: MATCHING takes a quoted text"))?;
            Ok(text.replace("''", "'"))
        };
        let count = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("`{s}` in `{sql}` is not a count"))
        };
        match upper.as_slice() {
            ["HOLOGRES_LITE", "CLEAR"] => {
                self.clear();
                Ok(AdminOutcome::Done)
            }
            ["HOLOGRES_LITE", "FAILOVER", secs] => {
                let secs: f64 = secs
                    .parse()
                    .map_err(|_| format!("`{secs}` in `{sql}` is not a number of seconds"))?;
                Ok(AdminOutcome::Failover(Duration::from_secs_f64(
                    secs.max(0.0),
                )))
            }
            ["HOLOGRES_LITE", "FAIL", "NEXT", n, "MATCHING", ..] => {
                self.fail_next(count(n)?, &matching()?);
                Ok(AdminOutcome::Done)
            }
            ["HOLOGRES_LITE", "LOSE", "REPLY", "NEXT", n, "MATCHING", ..] => {
                self.lose_reply_next(count(n)?, &matching()?);
                Ok(AdminOutcome::Done)
            }
            _ => Err(format!(
                "unknown statement `{sql}`: use HOLOGRES_LITE FAILOVER secs | FAIL NEXT n MATCHING 'text' \
                 | LOSE REPLY NEXT n MATCHING 'text' | CLEAR"
            )),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("faults")
    }
}

/// What a `HOLOGRES_LITE` statement leaves to do once it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    Done,
    /// Start a failover of this length (after answering, so the caller sees its reply).
    Failover(Duration),
}

fn take(rules: &mut Vec<Rule>, sql: &str) -> bool {
    let sql = sql.to_lowercase();
    let Some(i) = rules.iter().position(|r| sql.contains(&r.matching)) else {
        return false;
    };
    rules[i].left -= 1;
    if rules[i].left == 0 {
        rules.remove(i);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_statements() {
        let f = Faults::default();
        assert_eq!(
            f.run_admin("hologres_lite fail next 2 matching 'insert into'"),
            Ok(AdminOutcome::Done)
        );
        assert!(!f.take_fail("SELECT 1"));
        assert!(f.take_fail("INSERT INTO t VALUES (1)"));
        assert!(f.take_fail("insert into t values (2)"));
        assert!(!f.take_fail("insert into t values (3)"));
        assert_eq!(
            f.run_admin("HOLOGRES_LITE FAILOVER 1.5"),
            Ok(AdminOutcome::Failover(Duration::from_millis(1500)))
        );
        assert!(f.run_admin("HOLOGRES_LITE NAP").is_err());
    }
}
