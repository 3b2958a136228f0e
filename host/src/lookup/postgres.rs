//! Lookup tables in PostgreSQL/Hologres (`NAME=postgres:TABLE?key=COLUMN`).
//!
//! At start the table's rows are counted up to `preload`: a table that small is read
//! whole, like a CSV file (and read again every `refresh` seconds when asked). A larger
//! one is fetched by key when a transform asks, and the answers (misses too) are kept in
//! an LRU cache of `cache` rows for `refresh` seconds (for the run when not given).
//!
//! Transforms call lookups from a plain thread, so each table has a thread of its own
//! that owns the connection on a single-threaded runtime: a lookup sends it the keys and
//! blocks on the answer, which works from any thread, inside a runtime or not.
//!
//! Values are the columns' text (`::text`). A key matches a row whose key column equals
//! it once cast to the column's type (by-key mode), or whose key column's text equals it
//! (whole mode; for text keys the two agree). A key that cannot be cast (`abc` for an
//! integer column) matches nothing. When a key is not unique, one of its rows answers
//! (which one is not defined), as the first does for a CSV file: give a unique key.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use lru::LruCache;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::error::LookupError;
use super::row::{LookupMode, Row};
use crate::db::session::on_session;
use crate::db::{ConnectConfig, Session, TableName, connect, parse_dsn, quote_ident};

/// Tables of at most this many rows are read whole, unless `preload=` says otherwise.
pub const DEFAULT_PRELOAD: u64 = 100_000;
/// Rows a table fetched by key keeps, unless `cache=` says otherwise.
pub const DEFAULT_CACHE: usize = 100_000;
/// Keys sent in one query.
const FETCH_BATCH: usize = 1000;

/// Where a `postgres:` table comes from and how it is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct PgLookup {
    /// `schema.table` or `table` (in `public`), as for the sink.
    pub table: String,
    /// The column looked up by; `None`: the first column.
    pub key: Option<String>,
    /// The columns to read, in this order; `None`: all of them. The key is put first when
    /// it is not among them.
    pub columns: Option<Vec<String>>,
    /// `None`: the sink's database.
    pub dsn: Option<String>,
    /// Read the table whole when it has at most this many rows.
    pub preload: u64,
    /// Rows kept in the by-key cache; 0 caches nothing.
    pub cache: usize,
    /// How long a cached answer, or a table read whole, is used before it is read again;
    /// `None`: for the whole run.
    pub refresh: Option<Duration>,
}

impl PgLookup {
    /// The defaults for `table`.
    pub fn new(table: &str) -> Self {
        PgLookup {
            table: table.to_owned(),
            key: None,
            columns: None,
            dsn: None,
            preload: DEFAULT_PRELOAD,
            cache: DEFAULT_CACHE,
            refresh: None,
        }
    }
}

/// The DSN holds the password: print everything else.
impl fmt::Debug for PgLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dsn = self.dsn.as_deref().map(|d| {
            parse_dsn(d, None)
                .map(|(_, target)| target)
                .unwrap_or_else(|_| "<invalid dsn>".into())
        });
        f.debug_struct("PgLookup")
            .field("table", &self.table)
            .field("key", &self.key)
            .field("columns", &self.columns)
            .field("dsn", &dsn)
            .field("preload", &self.preload)
            .field("cache", &self.cache)
            .field("refresh", &self.refresh)
            .finish()
    }
}

/// How a table fetched by key has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Keys fetched from the database.
    pub misses: u64,
    /// Queries sent.
    pub queries: u64,
}

/// The rows of a database table, as the lookup sees them.
pub(super) enum PgRows {
    /// Read whole and read again every `refresh`.
    Refreshing {
        rows: Arc<RwLock<Arc<HashMap<String, Row>>>>,
        /// Dropping it stops the thread.
        _worker: mpsc::UnboundedSender<Request>,
    },
    ByKey(ByKey),
}

impl PgRows {
    pub(super) fn mode(&self) -> LookupMode {
        match self {
            PgRows::Refreshing { .. } => LookupMode::Whole,
            PgRows::ByKey(_) => LookupMode::ByKey,
        }
    }

    pub(super) fn get(&self, key: &str) -> Result<Option<Row>, LookupError> {
        match self {
            PgRows::Refreshing { rows, .. } => Ok(current(rows).get(key).cloned()),
            PgRows::ByKey(b) => b.get(key),
        }
    }

    pub(super) fn prefetch<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<(), LookupError> {
        match self {
            PgRows::Refreshing { .. } => Ok(()),
            PgRows::ByKey(b) => b.prefetch(keys),
        }
    }

    pub(super) fn stats(&self) -> Option<CacheStats> {
        match self {
            PgRows::Refreshing { .. } => None,
            PgRows::ByKey(b) => Some(CacheStats {
                hits: b.hits.load(Ordering::Relaxed),
                misses: b.misses.load(Ordering::Relaxed),
                queries: b.queries.load(Ordering::Relaxed),
            }),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            PgRows::Refreshing { rows, .. } => current(rows).len(),
            PgRows::ByKey(b) => b.cache.as_ref().map_or(0, |c| lock(c).len()),
        }
    }
}

fn current(rows: &RwLock<Arc<HashMap<String, Row>>>) -> Arc<HashMap<String, Row>> {
    // A poisoned lock still holds a complete map: the writer only swaps an Arc.
    rows.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keys for the table's thread, and where to send their rows.
pub(super) struct Request {
    keys: Vec<String>,
    reply: std_mpsc::Sender<Result<Vec<(String, Row)>, LookupError>>,
}

/// A table fetched by key, with its cache.
pub(super) struct ByKey {
    name: String,
    worker: mpsc::UnboundedSender<Request>,
    /// `None`: `cache=0`.
    cache: Option<Mutex<LruCache<String, Cached>>>,
    refresh: Option<Duration>,
    hits: AtomicU64,
    misses: AtomicU64,
    queries: AtomicU64,
}

struct Cached {
    row: Option<Row>,
    at: Instant,
}

impl ByKey {
    /// The cached answer for `key` if it is fresh.
    fn cached(&self, key: &str) -> Option<Option<Row>> {
        let mut cache = lock(self.cache.as_ref()?);
        let entry = cache.get(key)?;
        if self.refresh.is_some_and(|r| entry.at.elapsed() >= r) {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.row.clone())
    }

    fn get(&self, key: &str) -> Result<Option<Row>, LookupError> {
        if let Some(row) = self.cached(key) {
            return Ok(row);
        }
        let mut found = self.fetch(vec![key.to_owned()])?;
        Ok(found.remove(key).flatten())
    }

    fn prefetch<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<(), LookupError> {
        if self.cache.is_none() {
            return Ok(());
        }
        let mut missing: Vec<String> = Vec::new();
        for key in keys {
            if self.cached(key).is_none() && !missing.iter().any(|k| k == key) {
                missing.push(key.to_owned());
            }
        }
        for chunk in missing.chunks(FETCH_BATCH) {
            self.fetch(chunk.to_vec())?;
        }
        Ok(())
    }

    /// Asks the table's thread for `keys`; caches and returns every key's answer.
    fn fetch(&self, keys: Vec<String>) -> Result<HashMap<String, Option<Row>>, LookupError> {
        let stopped = || LookupError::Stopped {
            name: self.name.clone(),
        };
        let (reply, answer) = std_mpsc::channel();
        self.misses.fetch_add(keys.len() as u64, Ordering::Relaxed);
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.worker
            .send(Request {
                keys: keys.clone(),
                reply,
            })
            .map_err(|_| stopped())?;
        let rows = answer.recv().map_err(|_| stopped())??;
        let mut found: HashMap<String, Option<Row>> = keys.into_iter().map(|k| (k, None)).collect();
        for (key, row) in rows {
            // The first row of a key wins.
            if let Some(slot @ None) = found.get_mut(&key) {
                *slot = Some(row);
            }
        }
        if let Some(cache) = &self.cache {
            let now = Instant::now();
            let mut cache = lock(cache);
            for (key, row) in &found {
                cache.put(
                    key.clone(),
                    Cached {
                        row: row.clone(),
                        at: now,
                    },
                );
            }
        }
        Ok(found)
    }
}

/// What the table's thread knows before it answers: the settings and the table's shape.
struct Worker {
    name: String,
    spec: PgLookup,
    pg: ConnectConfig,
    target: String,
    table: TableName,
}

/// What the thread reports once the table is ready.
struct Ready {
    columns: Vec<String>,
    key: usize,
    rows: ReadyRows,
}

enum ReadyRows {
    Whole(HashMap<String, Row>),
    Refreshing(Arc<RwLock<Arc<HashMap<String, Row>>>>),
    ByKey,
}

/// Opens the table from async code.
pub(super) async fn open(
    name: &str,
    spec: &PgLookup,
    default_dsn: Option<&str>,
) -> Result<Opened, LookupError> {
    let (ready, tx) = start(name, spec, default_dsn)?;
    let ready = ready
        .await
        .map_err(|_| LookupError::Stopped { name: name.into() })??;
    Ok(finish(name, spec, ready, tx))
}

/// Opens the table from a thread that may block (not from async code).
pub(super) fn open_blocking(
    name: &str,
    spec: &PgLookup,
    default_dsn: Option<&str>,
) -> Result<Opened, LookupError> {
    let (ready, tx) = start(name, spec, default_dsn)?;
    let ready = ready
        .blocking_recv()
        .map_err(|_| LookupError::Stopped { name: name.into() })??;
    Ok(finish(name, spec, ready, tx))
}

type Start = (
    oneshot::Receiver<Result<Ready, LookupError>>,
    mpsc::UnboundedSender<Request>,
);

/// Checks the settings and starts the table's thread.
fn start(name: &str, spec: &PgLookup, default_dsn: Option<&str>) -> Result<Start, LookupError> {
    let database = |source| LookupError::Database {
        name: name.into(),
        source: Box::new(source),
    };
    let dsn = spec
        .dsn
        .as_deref()
        .or(default_dsn)
        .ok_or_else(|| LookupError::NoDsn { name: name.into() })?;
    let (pg, target) = parse_dsn(dsn, std::env::var_os("PGPASSWORD")).map_err(database)?;
    let table = TableName::parse(&spec.table).map_err(database)?;
    let worker = Worker {
        name: name.into(),
        spec: spec.clone(),
        pg,
        target,
        table,
    };
    let (ready_tx, ready_rx) = oneshot::channel();
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name(format!("holo-lookup-{name}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(source) => {
                    let _ = ready_tx.send(Err(LookupError::Thread {
                        name: worker.name.clone(),
                        source,
                    }));
                    return;
                }
            };
            runtime.block_on(worker.run(ready_tx, rx));
        })
        .map_err(|source| LookupError::Thread {
            name: name.into(),
            source,
        })?;
    Ok((ready_rx, tx))
}

fn finish(
    name: &str,
    spec: &PgLookup,
    ready: Ready,
    worker: mpsc::UnboundedSender<Request>,
) -> Opened {
    let rows = match ready.rows {
        ReadyRows::Whole(rows) => OpenedRows::Whole(rows),
        ReadyRows::Refreshing(rows) => OpenedRows::Live(PgRows::Refreshing {
            rows,
            _worker: worker,
        }),
        ReadyRows::ByKey => OpenedRows::Live(PgRows::ByKey(ByKey {
            name: name.into(),
            worker,
            cache: NonZeroUsize::new(spec.cache).map(|n| Mutex::new(LruCache::new(n))),
            refresh: spec.refresh,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            queries: AtomicU64::new(0),
        })),
    };
    Opened {
        columns: ready.columns,
        key: ready.key,
        rows,
    }
}

/// A table opened: its columns, its key column and its rows.
pub(super) struct Opened {
    pub columns: Vec<String>,
    pub key: usize,
    pub rows: OpenedRows,
}

/// The rows of an opened table: read whole once, or kept live (refreshed, or by key).
pub(super) enum OpenedRows {
    Whole(HashMap<String, Row>),
    Live(PgRows),
}

/// The table's shape and the statements that read it.
struct Queries {
    columns: Vec<String>,
    key: usize,
    /// `SELECT cols FROM t`.
    all: String,
    /// Rows of many keys: `$1` is a `text[]`, the first column of each row the key asked.
    many: String,
    /// Rows of one key, for batches holding a key the column's type refuses.
    one: String,
}

/// A connection with the statements prepared on it.
struct Prepared {
    client: Client,
    many: Statement,
    one: Statement,
}

impl Worker {
    fn query_error(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> LookupError {
        let (name, table, target) = (
            self.name.clone(),
            self.table.to_string(),
            self.target.clone(),
        );
        move |source| LookupError::Query {
            name: name.clone(),
            table: table.clone(),
            target: target.clone(),
            what,
            source,
        }
    }

    async fn run(
        self,
        ready: oneshot::Sender<Result<Ready, LookupError>>,
        mut requests: mpsc::UnboundedReceiver<Request>,
    ) {
        let started = async {
            let client = self.connect().await?;
            let plan = self.queries(&client).await?;
            let count_sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) AS t",
                self.table.quoted(),
                self.spec.preload.saturating_add(1)
            );
            let count: i64 = client
                .query_one(&count_sql, &[])
                .await
                .map_err(self.query_error("count the rows"))?
                .get(0);
            Ok::<_, LookupError>((client, plan, count as u64))
        }
        .await;
        let (client, plan, count) = match started {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let shape = |rows| Ready {
            columns: plan.columns.clone(),
            key: plan.key,
            rows,
        };
        if count <= self.spec.preload {
            let rows = match self.read_all(&client, &plan).await {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            tracing::debug!(table = %self.name, source = %self.table, rows = rows.len(), "lookup table loaded whole");
            let Some(every) = self.spec.refresh else {
                let _ = ready.send(Ok(shape(ReadyRows::Whole(rows))));
                return;
            };
            let shared = Arc::new(RwLock::new(Arc::new(rows)));
            if ready
                .send(Ok(shape(ReadyRows::Refreshing(shared.clone()))))
                .is_err()
            {
                return;
            }
            self.refresh_whole(client, &plan, &shared, every, requests)
                .await;
            return;
        }
        tracing::debug!(table = %self.name, source = %self.table, over = self.spec.preload, "lookup table fetched by key");
        let mut session = match self.prepare(client, &plan).await {
            Ok(s) => Session::new(Some(s)),
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if ready.send(Ok(shape(ReadyRows::ByKey))).is_err() {
            return;
        }
        while let Some(request) = requests.recv().await {
            let answer = self.fetch(&mut session, &plan, &request.keys).await;
            let _ = request.reply.send(answer);
        }
    }

    async fn connect(&self) -> Result<Client, LookupError> {
        connect(&self.pg, &self.target)
            .await
            .map_err(|source| LookupError::Database {
                name: self.name.clone(),
                source: Box::new(source),
            })
    }

    /// Reads the table's columns from the catalog and checks the spec against them.
    async fn queries(&self, client: &Client) -> Result<Queries, LookupError> {
        let rows = client
            .query(
                "SELECT a.attname, tn.nspname, t.typname \
                 FROM pg_catalog.pg_attribute a \
                 JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                 JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','v','m','p','f') \
                   AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
                &[&self.table.schema, &self.table.table],
            )
            .await
            .map_err(self.query_error("read the columns"))?;
        if rows.is_empty() {
            return Err(LookupError::TableNotFound {
                name: self.name.clone(),
                table: self.table.to_string(),
                target: self.target.clone(),
            });
        }
        let all: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                let (name, schema, ty): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                (
                    name,
                    format!("{}.{}", quote_ident(&schema), quote_ident(&ty)),
                )
            })
            .collect();
        let no_column = |column: &str| LookupError::NoColumn {
            name: self.name.clone(),
            table: self.table.to_string(),
            column: column.into(),
            columns: all
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut columns: Vec<String> = match &self.spec.columns {
            Some(names) => {
                for n in names {
                    if !all.iter().any(|(c, _)| c == n) {
                        return Err(no_column(n));
                    }
                }
                names.clone()
            }
            None => all.iter().map(|(n, _)| n.clone()).collect(),
        };
        let key_name = self.spec.key.clone().unwrap_or_else(|| columns[0].clone());
        let Some((_, key_type)) = all.iter().find(|(n, _)| *n == key_name) else {
            return Err(no_column(&key_name));
        };
        let key = match columns.iter().position(|c| *c == key_name) {
            Some(i) => i,
            None => {
                columns.insert(0, key_name.clone());
                0
            }
        };
        let table = self.table.quoted();
        let k = quote_ident(&key_name);
        let select = columns
            .iter()
            .map(|c| format!("t.{}::text", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Queries {
            key,
            all: format!("SELECT {select} FROM {table} AS t"),
            many: format!(
                "SELECT q.k, {select} FROM unnest($1::text[]) AS q(k) \
                 JOIN {table} AS t ON t.{k} = CAST(q.k AS {key_type})"
            ),
            one: format!(
                "SELECT {select} FROM {table} AS t WHERE t.{k} = CAST($1::text AS {key_type})"
            ),
            columns,
        })
    }

    async fn read_all(
        &self,
        client: &Client,
        plan: &Queries,
    ) -> Result<HashMap<String, Row>, LookupError> {
        let rows = client
            .query(&plan.all, &[])
            .await
            .map_err(self.query_error("read the rows"))?;
        let mut map = HashMap::with_capacity(rows.len());
        let mut repeated = 0u64;
        for r in rows {
            let row: Row = (0..plan.columns.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect();
            // A NULL key equals nothing.
            let Some(key) = row[plan.key].clone() else {
                continue;
            };
            match map.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => repeated += 1,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(row);
                }
            }
        }
        if repeated > 0 {
            tracing::warn!(table = %self.name, source = %self.table, key = %plan.columns[plan.key], repeated, "key column of lookup table is not unique, one row per key is used");
        }
        Ok(map)
    }

    async fn prepare(&self, client: Client, plan: &Queries) -> Result<Prepared, LookupError> {
        let many = client
            .prepare(&plan.many)
            .await
            .map_err(self.query_error("prepare the query by key"))?;
        let one = client
            .prepare(&plan.one)
            .await
            .map_err(self.query_error("prepare the query by key"))?;
        Ok(Prepared { client, many, one })
    }

    /// The rows of `keys`, on a new session when the connection was lost.
    async fn fetch(
        &self,
        session: &mut Session<Prepared>,
        plan: &Queries,
        keys: &[String],
    ) -> Result<Vec<(String, Row)>, LookupError> {
        // The database's retry policy, kept short: a transform waits on the answer.
        let backoff = crate::db::retry::backoff(3, Duration::from_millis(100));
        let what = format!("lookup `{}` by key", self.name);
        let connect = || async { self.prepare(self.connect().await?, plan).await };
        on_session!(
            session,
            backoff,
            &what,
            connect(),
            |prepared, _failed| async {
                (self.fetch_on(prepared, plan, keys).await)
                    .map_err(self.query_error("fetch rows by key"))
            }
        )
    }

    async fn fetch_on(
        &self,
        session: &Prepared,
        plan: &Queries,
        keys: &[String],
    ) -> Result<Vec<(String, Row)>, tokio_postgres::Error> {
        let width = plan.columns.len();
        match session.client.query(&session.many, &[&keys]).await {
            Ok(rows) => Ok(rows
                .iter()
                .map(|r| {
                    let row: Row = (1..=width).map(|i| r.get::<_, Option<String>>(i)).collect();
                    (r.get::<_, String>(0), row)
                })
                .collect()),
            // One key the column's type refuses spoils the batch: ask key by key, and
            // such a key matches nothing.
            Err(e) if is_bad_key(&e) => {
                let mut out = Vec::new();
                for key in keys {
                    let params: [&(dyn ToSql + Sync); 1] = [key];
                    match session.client.query(&session.one, &params).await {
                        Ok(rows) => out.extend(rows.iter().map(|r| {
                            let row: Row =
                                (0..width).map(|i| r.get::<_, Option<String>>(i)).collect();
                            (key.clone(), row)
                        })),
                        Err(e) if is_bad_key(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the table again every `every` until the table is dropped; a failed read is
    /// logged and the rows read before stay.
    async fn refresh_whole(
        &self,
        mut client: Client,
        plan: &Queries,
        shared: &RwLock<Arc<HashMap<String, Row>>>,
        every: Duration,
        mut requests: mpsc::UnboundedReceiver<Request>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                // Nothing is sent in this mode: the channel closes when the table is dropped.
                None = requests.recv() => return,
            }
            if client.is_closed() {
                match self.connect().await {
                    Ok(c) => client = c,
                    Err(e) => {
                        tracing::warn!(table = %self.name, error = %crate::errors::chain(&e), "cannot reconnect to refresh lookup table, keeping its rows");
                        continue;
                    }
                }
            }
            match self.read_all(&client, plan).await {
                Ok(rows) => {
                    tracing::debug!(table = %self.name, rows = rows.len(), "lookup table refreshed");
                    *shared.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rows);
                }
                Err(e) => {
                    tracing::warn!(table = %self.name, error = %crate::errors::chain(&e), "cannot refresh lookup table, keeping its rows");
                }
            }
        }
    }
}

/// SQLSTATE class 22 (data exception): a key the key column's type cannot hold.
fn is_bad_key(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| c.code().starts_with("22"))
}
