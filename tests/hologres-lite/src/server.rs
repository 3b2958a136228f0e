//! The server: a thread with its own tokio runtime that installs the kit, listens, and
//! serves each client on its own task, so it outlives the runtime of a test that started it.

use crate::config::Config;
use crate::connection;
use crate::error::StartError;
use crate::faults::Faults;
use crate::kit;
use crate::logged::{Executed, Logged};
use crate::shared::Shared;
use crate::staging::Staging;
use crate::statement_log::StatementLog;
use crate::version::Version;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Starts servers.
pub struct Server;

/// A started server; dropping it stops listening and closes every connection.
pub struct RunningServer {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server and returns once it listens and its kit is installed. Blocking, and
    /// independent of any runtime of the caller's.
    pub fn start(config: Config) -> Result<RunningServer, StartError> {
        let version = Version::parse(&config.version)
            .ok_or_else(|| StartError::Version(config.version.clone()))?;
        let pg =
            tokio_postgres::Config::from_str(&config.backend).map_err(|e| StartError::Backend {
                url: redact(&config.backend),
                reason: e.to_string(),
            })?;
        let host = match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => {
                return Err(StartError::Backend {
                    url: redact(&config.backend),
                    reason: "it needs a TCP host".into(),
                });
            }
        };
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hologres-lite")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(u16, Arc<Shared>), StartError>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hologres-lite".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::bind(&config.listen).await {
                        Ok(l) => l,
                        Err(source) => {
                            let _ = ready_tx.send(Err(StartError::Listen {
                                addr: config.listen.clone(),
                                source,
                            }));
                            return;
                        }
                    };
                    let local = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                    let db_url = with_database(&config.backend, &config.database);
                    if let Err(e) = kit::install(&config, &config.backend, &db_url).await {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                    let staging_url =
                        with_option(&db_url, &format!("-c hologres_lite.version={version}"));
                    let shared = Arc::new(Shared {
                        staging: Staging::new(
                            staging_url,
                            format!("{}_{local}", std::process::id()),
                        ),
                        config,
                        version,
                        backend_host: host,
                        backend_port: port,
                        faults: Faults::default(),
                        log: StatementLog::default(),
                    });
                    let _ = ready_tx.send(Ok((local, shared.clone())));
                    tokio::select! {
                        _ = accept(listener, shared.clone()) => {}
                        _ = stop_rx => {}
                    }
                    shared.faults.close_connections();
                });
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            })
            .map_err(StartError::Runtime)?;
        match ready_rx.recv() {
            Ok(Ok((port, shared))) => Ok(RunningServer {
                port,
                shared,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(StartError::Runtime(std::io::Error::other(
                    "the server thread ended while starting",
                )))
            }
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                tracing::debug!(%peer, "client connected");
                tokio::spawn(connection::serve(shared.clone(), socket));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

impl RunningServer {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn dsn(&self) -> String {
        self.dsn_as("postgres")
    }

    pub fn dsn_as(&self, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/postgres", self.port)
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Every statement clients sent, in order.
    pub fn statements(&self) -> Vec<Logged> {
        self.shared.log.snapshot()
    }

    /// Every `Bind` of a prepared statement, in order, with its number of parameters.
    pub fn executions(&self) -> Vec<Executed> {
        self.shared.log.executions()
    }

    pub fn clear_statements(&self) {
        self.shared.log.clear();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `url` (a libpq URL) naming database `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    format!("{}/{db}{query}", &base[..host_end])
}

/// `url` with `options` set (spaces percent-encoded).
fn with_option(url: &str, options: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}options={}",
        options.replace(' ', "%20").replace('=', "%3D")
    )
}

/// `url` without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres?x=1", "d"),
            "postgres://u@h:1/d?x=1"
        );
        assert_eq!(with_database("postgres://u@h:1", "d"), "postgres://u@h:1/d");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
