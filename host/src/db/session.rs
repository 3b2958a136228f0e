//! A database session that reconnects, and the one loop that tries a call on it again:
//! the sink's writers, the position store and the lookups all retry through
//! [`on_session!`], each with its own error type classified by [`Retriable`].

use std::fmt;

#[cfg(test)]
use crate::retry::Backoff;

/// An error of a database call, classified once for the retry loop.
pub trait Retriable: fmt::Display {
    /// Whether another try on a new session may succeed.
    fn is_retriable(&self) -> bool;
    /// Why, for the retries metric (see [`super::reason`]).
    fn reason(&self) -> String;
}

impl Retriable for tokio_postgres::Error {
    fn is_retriable(&self) -> bool {
        super::is_retriable(self)
    }

    fn reason(&self) -> String {
        super::reason(self)
    }
}

/// A connected session `S` (a client, or a writer with its prepared statements), or none
/// after a failure until the next call connects again.
#[derive(Debug)]
pub struct Session<S> {
    slot: Option<S>,
}

impl<S> Default for Session<S> {
    fn default() -> Self {
        Session { slot: None }
    }
}

impl<S> Session<S> {
    /// A session already connected (`Some`), or to connect on first use.
    pub fn new(connected: Option<S>) -> Self {
        Session { slot: connected }
    }

    /// Puts a session back (`None`: it broke).
    pub fn put(&mut self, session: Option<S>) {
        self.slot = session;
    }

    /// The connected session, if any.
    pub fn get_mut(&mut self) -> Option<&mut S> {
        self.slot.as_mut()
    }
}

/// Runs a call on a [`Session`], retried on a new session after a transient failure: the
/// one reconnect-and-retry loop of every database session (the sink's writers, the
/// position store, the lookups).
///
/// `on_session!(session, backoff, what, connect, |s, failed| call)`: `session` is a
/// `&mut Session<S>`, `backoff` a [`crate::retry::Backoff`]; `connect` a future of `Result<S, _>` that opens one where it has none;
/// `call` a future of `Result<T, E>` (`E:` [`Retriable`], and `From` the connect error)
/// using `s: &mut S` and `failed`, the tries failed before this one. After a failure the
/// session is dropped, and while the error is retriable and `backoff` allows, the call is
/// tried again. `what` names the call in the log and the retries metric. A macro, not a
/// function taking closures: the call borrows what it likes, and its future stays `Send`.
macro_rules! on_session {
    ($session:expr, $backoff:expr, $what:expr, $connect:expr, |$s:ident, $failed:ident| $call:expr) => {{
        let session: &mut $crate::db::Session<_> = $session;
        let backoff: $crate::retry::Backoff = $backoff;
        let mut attempts = backoff.attempts($what);
        loop {
            let $failed = attempts.failed();
            let connected = match session.get_mut() {
                Some(_) => Ok(()),
                None => ($connect).await.map(|s| session.put(Some(s))),
            };
            let result = match connected {
                Ok(()) => {
                    let $s = session.get_mut().expect("connected above");
                    ($call).await
                }
                Err(e) => Err(::std::convert::From::from(e)),
            };
            match result {
                Ok(v) => break Ok(v),
                Err(e) => {
                    session.put(None);
                    let again = $crate::db::Retriable::is_retriable(&e);
                    let reason = $crate::db::Retriable::reason(&e);
                    if let Err(e) = attempts.next(e, again, &reason).await {
                        break Err(e);
                    }
                }
            }
        }
    }};
}

pub(crate) use on_session;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[derive(Debug)]
    struct Flaky(&'static str);

    impl fmt::Display for Flaky {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Retriable for Flaky {
        fn is_retriable(&self) -> bool {
            self.0 != "denied"
        }
        fn reason(&self) -> String {
            self.0.to_owned()
        }
    }

    const BACKOFF: Backoff = Backoff {
        tries: 4,
        first: Duration::from_millis(10),
        max: Duration::from_millis(40),
    };

    async fn answer(s: &mut u32, failed: u32, seen: &mut Vec<(u32, u32)>) -> Result<u32, Flaky> {
        seen.push((*s, failed));
        if failed < 2 {
            Err(Flaky("busy"))
        } else {
            Ok(*s * 10)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_call_reconnects_and_tries_again() {
        let mut session: Session<u32> = Session::default();
        let mut connects = 0;
        let mut seen = Vec::new();
        let result: Result<u32, Flaky> = on_session!(
            &mut session,
            BACKOFF,
            "test call",
            async {
                connects += 1;
                Ok::<_, Flaky>(connects)
            },
            |s, failed| answer(s, failed, &mut seen)
        );
        // Each try ran on a session of its own, told how many failed before it.
        assert_eq!(result.unwrap(), 30);
        assert_eq!(seen, [(1, 0), (2, 1), (3, 2)]);
        // The session that answered is kept for the next call.
        let again: Result<u32, Flaky> = on_session!(
            &mut session,
            BACKOFF,
            "test call",
            async { Err::<u32, _>(Flaky("no")) },
            |s, _failed| async { Ok(*s) }
        );
        assert_eq!(again.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_or_the_last_try_gives_up() {
        let mut session: Session<()> = Session::default();
        let mut tries = 0;
        let denied: Result<(), Flaky> = on_session!(
            &mut session,
            BACKOFF,
            "test call",
            async { Ok::<_, Flaky>(()) },
            |_s, _failed| async {
                tries += 1;
                Err(Flaky("denied"))
            }
        );
        assert_eq!((denied.unwrap_err().0, tries), ("denied", 1));
        assert!(session.get_mut().is_none(), "a failed session is dropped");
        // A connection that keeps failing uses up the tries.
        let mut connects = 0;
        let down: Result<(), Flaky> = on_session!(
            &mut session,
            BACKOFF,
            "test call",
            async {
                connects += 1;
                Err::<(), _>(Flaky("refused"))
            },
            |_s, _failed| async { Ok(()) }
        );
        assert_eq!((down.unwrap_err().0, connects), ("refused", 4));
    }
}
