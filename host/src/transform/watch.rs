//! Watches the transform file and prepares each new version in the background.
//!
//! The file is polled (size, modification time, inode), which sees both in-place writes and
//! the atomic renames of editors and `cp`; a change is acted on once the file has been
//! stable for a short while. A poke (SIGHUP) checks the file at once. A new version is
//! compiled, instantiated and checked by the caller's `prepare` before it is handed over;
//! one that fails any of that is refused with a log line, and the running one stays.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::content_hash;

/// How often the file's metadata is read.
const POLL: Duration = Duration::from_millis(100);
/// How long the file must stay unchanged before it is read: a writer may not be done.
const SETTLE: Duration = Duration::from_millis(300);

/// The watcher thread; stops when dropped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    poke: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Watches `path`, whose running version has hash `running`; calls `prepare` with the
    /// bytes of each new version and sends what it makes of them to `ready`.
    pub fn spawn<T: Send + 'static>(
        path: PathBuf,
        running: String,
        prepare: impl Fn(&[u8]) -> Result<T, String> + Send + 'static,
        ready: Sender<T>,
    ) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let (poke, pokes) = mpsc::channel();
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("holo-watch".into())
                .spawn(move || watch(&path, running, &stop, &pokes, prepare, &ready))
                .expect("spawn the watcher thread")
        };
        Watcher {
            stop,
            poke,
            thread: Some(thread),
        }
    }

    /// A handle that asks for an immediate check (what SIGHUP does).
    pub fn poker(&self) -> Sender<()> {
        self.poke.clone()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.poke.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What identifies a version of the file without reading it.
fn stamp(path: &Path) -> Option<(u64, i64, i64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.mtime(), m.mtime_nsec(), m.ino()))
}

fn watch<T>(
    path: &Path,
    running: String,
    stop: &AtomicBool,
    pokes: &Receiver<()>,
    prepare: impl Fn(&[u8]) -> Result<T, String>,
    ready: &Sender<T>,
) {
    // The last version handed over or refused: the same bytes are not tried twice.
    let mut last_hash = running;
    let mut seen = stamp(path);
    let mut changed_at: Option<Instant> = None;
    loop {
        let poked = match pokes.recv_timeout(POLL) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let now = stamp(path);
        if now != seen {
            seen = now;
            changed_at = Some(Instant::now());
        }
        let settled = changed_at.is_some_and(|t| t.elapsed() >= SETTLE) && seen.is_some();
        if !poked && !settled {
            continue;
        }
        changed_at = None;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(error) => {
                warn!(path = %path.display(), %error, "cannot read the transform file: the running version stays");
                continue;
            }
        };
        let hash = content_hash(&bytes);
        if hash == last_hash {
            if poked {
                info!(path = %path.display(), %hash, "transform file unchanged");
            }
            continue;
        }
        info!(path = %path.display(), %hash, "new transform version: compiling and checking");
        let outcome = prepare(&bytes);
        last_hash = hash.clone();
        match outcome {
            Ok(version) => {
                if ready.send(version).is_err() {
                    return;
                }
                // Logged once handed over: the next batch is processed by this version.
                info!(path = %path.display(), %hash, "new transform version ready: it takes over at the next batch");
            }
            Err(reason) => warn!(
                path = %path.display(),
                %hash,
                reason = %reason,
                "new transform version refused: the running version stays"
            ),
        }
    }
}
