//! The `holo_host.progress` table: each job's source position, committed with the rows it
//! covers (see `commit`), so a load resumed after a crash writes every row exactly once;
//! and [`PostgresPositions`], the [`PositionStore`] that reads it back on a session of its
//! own (shards are taken while the sink writes). A saved position names the table it was
//! written into by OID (see [`envelope`]): a recreated table starts over.

use std::collections::HashMap;

use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tracing::info;

use crate::db::session::on_session;
use crate::db::{self, ConnectConfig, Retriable, Session, TableName};
use crate::position::{BoxError, JobKey, PositionError, PositionStore, StoreFuture};
use crate::record::Position;
use crate::retry::Backoff;

/// The schema of the positions table unless `--positions-schema` names another.
pub const DEFAULT_SCHEMA: &str = "holo_host";

/// The table that holds each job's position: `SCHEMA.progress`, and the statements on it.
/// Every statement keeps to what Hologres documents: no `RETURNING` (not in its UPDATE or
/// INSERT grammar), no update of the primary key, no `CREATE SCHEMA` when the schema
/// exists (under its SPM and SLPM permission models only the admin may create one), and
/// no affected-row count is relied on (see `commit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressTable {
    schema: String,
    /// `"schema".progress`, quoted.
    name: String,
}

impl ProgressTable {
    pub fn in_schema(schema: &str) -> ProgressTable {
        ProgressTable {
            schema: schema.to_owned(),
            name: format!("{}.progress", crate::db::quote_ident(schema)),
        }
    }

    /// `SCHEMA.progress`, for messages.
    pub fn display(&self) -> String {
        format!("{}.progress", self.schema)
    }

    fn sql(&self, template: &str) -> String {
        template.replace("{progress}", &self.name)
    }

    /// `$1` job, `$2` position as JSON text, `$3` rows of this commit (added to the total).
    pub fn upsert(&self) -> String {
        self.sql(UPSERT)
    }

    /// The first position of a job: changes nothing if another writer saved one.
    pub fn insert_new(&self) -> String {
        self.sql(INSERT_NEW)
    }

    /// Moves the position from the one this writer read (`$4`, JSON text): a writer fenced
    /// off by another (which took its shard over, or loads the same input) changes nothing.
    pub fn update_from(&self) -> String {
        self.sql(UPDATE_FROM)
    }

    /// `$1` job: the saved position as JSON text.
    pub fn select(&self) -> String {
        self.sql(SELECT)
    }
}

/// Creates the table; tests and parallel loads may race to do it.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS {progress} (\
        job text PRIMARY KEY, \
        position jsonb NOT NULL, \
        rows_written bigint NOT NULL, \
        updated_at timestamptz NOT NULL DEFAULT now())";

const UPSERT: &str = "INSERT INTO {progress} (job, position, rows_written, updated_at) \
    VALUES ($1, $2::text::jsonb, $3, now()) \
    ON CONFLICT (job) DO UPDATE SET position = excluded.position, \
        rows_written = {progress}.rows_written + excluded.rows_written, \
        updated_at = excluded.updated_at";

const INSERT_NEW: &str = "INSERT INTO {progress} (job, position, rows_written, updated_at) \
    VALUES ($1, $2::text::jsonb, $3, now()) ON CONFLICT (job) DO NOTHING";

const UPDATE_FROM: &str = "UPDATE {progress} \
    SET position = $2::text::jsonb, rows_written = rows_written + $3, updated_at = now() \
    WHERE job = $1 AND position = $4::text::jsonb";

const SELECT: &str = "SELECT position::text FROM {progress} WHERE job = $1";

/// The positions of the jobs in `$1` (a text array).
const SELECT_MANY: &str = "SELECT job, position::text FROM {progress} WHERE job = ANY($1::text[])";

/// A position saved under the key of an older release, copied to the current key `$1`
/// (old key `$2`) unless that has one; then the old row goes (no `UPDATE … SET job`:
/// Hologres does not document updating a primary key).
const ADOPT_LEGACY: &str = "INSERT INTO {progress} (job, position, rows_written, updated_at) \
    SELECT $1, position, rows_written, now() FROM {progress} WHERE job = $2 \
    ON CONFLICT (job) DO NOTHING";

const DELETE_ONE: &str = "DELETE FROM {progress} WHERE job = $1";

/// The table's OID now (NULL when it does not exist); `$1` is the quoted name.
const TABLE_OID: &str = "SELECT pg_catalog.to_regclass($1)::oid";

/// A source position as saved: with the OID of the table it was written into, so a
/// position outlives neither a `DROP TABLE` nor a table recreated under the same name; and
/// with the `writer` that saved it (a token drawn per sink), so that a save is known for
/// this writer's by reading it back, even when another writer reached the same position
/// (an affected-row count would tell, but Hologres's is not reliable).
pub fn envelope(table_oid: u32, source: &Position, writer: &str) -> Position {
    serde_json::json!({ "table_oid": table_oid, "source": source, "writer": writer })
}

/// A token that tells this sink's saves from any other's.
pub fn writer_token() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// The source position inside a saved one, if it still applies to the table whose OID is
/// `table_oid` (`None`: the table is missing). Positions saved before envelopes apply as
/// they are.
fn unwrap_envelope(saved: Position, table_oid: Option<u32>) -> Result<Position, Option<u32>> {
    match saved {
        Position::Object(mut map)
            if (map.len() == 2 || (map.len() == 3 && map.contains_key("writer")))
                && map.contains_key("source")
                && map.contains_key("table_oid") =>
        {
            let was = map.get("table_oid").and_then(|v| v.as_u64());
            match was {
                Some(oid) if Some(oid) == table_oid.map(u64::from) => {
                    Ok(map.remove("source").expect("checked above"))
                }
                _ => Err(was.and_then(|o| u32::try_from(o).ok())),
            }
        }
        other => Ok(other),
    }
}

/// The position each job had when this process last read or saved it (JSON text; `None`:
/// none saved), shared by the store that reads positions and the sink that saves them, so
/// that a save is compare-and-set against it.
pub type SavedPositions =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Option<String>>>>;

const DELETE: &str = "DELETE FROM {progress} WHERE job = $1 OR job = $2";

/// Creates the positions table unless it exists, and its schema unless that exists (each
/// checked first, so a user without the CREATE privilege can use a table or a schema made
/// for them).
pub async fn ensure_table(
    client: &Client,
    progress: &ProgressTable,
) -> Result<(), tokio_postgres::Error> {
    let mut attempt = 0;
    loop {
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1), \
                        pg_catalog.to_regclass($2) IS NOT NULL",
                &[&progress.schema, &progress.name],
            )
            .await?;
        let (schema, table): (bool, bool) = (row.get(0), row.get(1));
        if table {
            return Ok(());
        }
        let create = if schema {
            progress.sql(CREATE_TABLE)
        } else {
            format!(
                "CREATE SCHEMA IF NOT EXISTS {}; {}",
                crate::db::quote_ident(&progress.schema),
                progress.sql(CREATE_TABLE)
            )
        };
        match client.batch_execute(&create).await {
            Ok(()) => return Ok(()),
            // Another session created it between our check and our CREATE.
            Err(e) if attempt < 2 && is_creation_race(&e) => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

fn is_creation_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::DUPLICATE_SCHEMA
            || *c == SqlState::DUPLICATE_TABLE
    })
}

/// The key releases before 0.2 saved positions under: display text of the destination.
fn legacy_key(key: &JobKey, table: &TableName) -> String {
    format!("{} -> table `{table}`", key.stream())
}

/// Reads and clears the positions of jobs writing into one table.
pub struct PostgresPositions {
    pg: ConnectConfig,
    server: String,
    table: TableName,
    progress: ProgressTable,
    backoff: Backoff,
    /// Opened on first use, and again after a failure.
    client: Mutex<Session<Client>>,
    known: SavedPositions,
}

/// A failed call of the store: the session, or the statement.
#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error(transparent)]
    Connect(#[from] db::DbError),
    #[error(transparent)]
    Query(#[from] tokio_postgres::Error),
}

impl Retriable for StoreError {
    fn reason(&self) -> String {
        match self {
            StoreError::Connect(_) => "connect".to_owned(),
            StoreError::Query(e) => db::reason(e),
        }
    }

    fn is_retriable(&self) -> bool {
        match self {
            StoreError::Connect(e) => e.is_retriable(),
            StoreError::Query(e) => db::is_retriable(e),
        }
    }
}

impl PostgresPositions {
    pub fn new(
        pg: ConnectConfig,
        server: String,
        table: TableName,
        progress: ProgressTable,
        backoff: Backoff,
        known: SavedPositions,
    ) -> Self {
        PostgresPositions {
            pg,
            server,
            table,
            progress,
            backoff,
            client: Mutex::new(Session::default()),
            known,
        }
    }

    fn remember(&self, key: &JobKey, position: Option<String>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(key.as_str().to_owned(), position);
    }

    async fn clear_keys(&self, key: &JobKey) -> Result<(), StoreError> {
        let legacy = legacy_key(key, &self.table);
        let mut session = self.client.lock().await;
        let what = "clearing a saved position";
        let delete = self.progress.sql(DELETE);
        (on_session!(
            &mut session,
            self.backoff,
            what,
            db::connect(&self.pg, &self.server),
            |c, _failed| async {
                Ok::<_, StoreError>(c.execute(&delete, &[&key.as_str(), &legacy]).await?)
            }
        ))
        .map(drop)
    }
}

impl PostgresPositions {
    /// A position as read (`text`), remembered for compare-and-set and checked against the
    /// table it was saved for (`oid`: the table's now).
    fn finish(
        &self,
        key: &JobKey,
        text: Option<String>,
        oid: Option<u32>,
    ) -> Result<Option<Position>, PositionError> {
        // Remembered as saved, so the next save is compare-and-set against it even when it
        // no longer applies.
        self.remember(key, text.clone());
        let Some(text) = text else { return Ok(None) };
        let saved = serde_json::from_str(&text).map_err(|source| PositionError::Bad {
            job: key.to_string(),
            store: self.progress.display(),
            source,
        })?;
        match unwrap_envelope(saved, oid) {
            Ok(position) => Ok(Some(position)),
            Err(was) => {
                let was = was.map_or("unknown".into(), |o| o.to_string());
                let now = oid.map_or("missing".into(), |o| o.to_string());
                info!(job = %key, table = %self.table, was_oid = %was, now_oid = %now,
                      "the table was dropped or recreated since this position was saved: starting over");
                Ok(None)
            }
        }
    }

    /// The saved positions of `keys` by job (legacy keys adopted), and the table's OID:
    /// two statements whatever the number of keys.
    async fn load_texts(
        &self,
        keys: &[JobKey],
    ) -> Result<(HashMap<String, String>, Option<u32>), StoreError> {
        let jobs: Vec<&str> = keys.iter().map(JobKey::as_str).collect();
        let legacy: Vec<String> = keys.iter().map(|k| legacy_key(k, &self.table)).collect();
        let mut session = self.client.lock().await;
        let what = "reading saved positions";
        let select_many = self.progress.sql(SELECT_MANY);
        let adopt = self.progress.sql(ADOPT_LEGACY);
        let delete_one = self.progress.sql(DELETE_ONE);
        on_session!(
            &mut session,
            self.backoff,
            what,
            db::connect(&self.pg, &self.server),
            |c, _failed| async {
                let oid: Option<u32> = c
                    .query_one(TABLE_OID, &[&self.table.quoted()])
                    .await?
                    .get(0);
                let mut found: HashMap<String, String> = (c.query(&select_many, &[&jobs]).await?)
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                let missing: Vec<usize> = (0..keys.len())
                    .filter(|&i| !found.contains_key(jobs[i]))
                    .collect();
                if !missing.is_empty() {
                    let old: Vec<&str> = missing.iter().map(|&i| legacy[i].as_str()).collect();
                    let olds: HashMap<String, String> = (c.query(&select_many, &[&old]).await?)
                        .iter()
                        .map(|r| (r.get(0), r.get(1)))
                        .collect();
                    for &i in &missing {
                        let Some(position) = olds.get(&legacy[i]) else {
                            continue;
                        };
                        c.execute(&adopt, &[&jobs[i], &legacy[i]]).await?;
                        c.execute(&delete_one, &[&legacy[i]]).await?;
                        info!(job = %jobs[i], "the saved position now goes by its new key");
                        found.insert(jobs[i].to_owned(), position.clone());
                    }
                }
                Ok::<_, StoreError>((found, oid))
            }
        )
    }
}

impl PositionStore for PostgresPositions {
    fn load<'a>(&'a self, key: &'a JobKey) -> StoreFuture<'a, Option<Position>> {
        Box::pin(async move {
            let keys = std::slice::from_ref(key);
            let (mut found, oid) =
                self.load_texts(keys)
                    .await
                    .map_err(|e| PositionError::Load {
                        job: key.to_string(),
                        store: self.progress.display(),
                        source: BoxError::from(e),
                    })?;
            self.finish(key, found.remove(key.as_str()), oid)
        })
    }

    fn load_many<'a>(&'a self, keys: &'a [JobKey]) -> StoreFuture<'a, Vec<Option<Position>>> {
        Box::pin(async move {
            let (mut found, oid) =
                self.load_texts(keys)
                    .await
                    .map_err(|e| PositionError::Load {
                        job: format!(
                            "{} jobs, the first `{}`",
                            keys.len(),
                            keys.first().map_or("", JobKey::as_str)
                        ),
                        store: self.progress.display(),
                        source: BoxError::from(e),
                    })?;
            keys.iter()
                .map(|k| self.finish(k, found.remove(k.as_str()), oid))
                .collect()
        })
    }

    fn clear<'a>(&'a self, key: &'a JobKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.remember(key, None);
            self.clear_keys(key)
                .await
                .map_err(|e| PositionError::Clear {
                    job: key.to_string(),
                    store: self.progress.display(),
                    source: BoxError::from(e),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_position_applies_to_the_table_it_was_saved_for() {
        let source = json!({"file": "/d/a.csv", "offset": 10, "line": 2});
        let saved = envelope(16384, &source, "w1");
        assert_eq!(
            saved,
            json!({"table_oid": 16384, "source": source, "writer": "w1"})
        );
        // Saved before writer tokens: the same.
        let older = json!({"table_oid": 16384, "source": source});
        assert_eq!(unwrap_envelope(older, Some(16384)), Ok(source.clone()));
        assert_eq!(
            unwrap_envelope(saved.clone(), Some(16384)),
            Ok(source.clone())
        );
        // Recreated (another OID) or dropped (none): the position does not apply.
        assert_eq!(
            unwrap_envelope(saved.clone(), Some(16999)),
            Err(Some(16384))
        );
        assert_eq!(unwrap_envelope(saved, None), Err(Some(16384)));
        // Saved before envelopes: applies as it is.
        assert_eq!(unwrap_envelope(source.clone(), Some(1)), Ok(source));
        let shard = json!({"cursor": "MTY4", "source": "x"});
        assert_eq!(unwrap_envelope(shard.clone(), None), Ok(shard));
    }
}
