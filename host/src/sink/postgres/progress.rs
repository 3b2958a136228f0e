//! The `holo_host.progress` table: each job's source position, committed in the same
//! transaction as the rows it covers, so a load resumed after a crash writes every row
//! exactly once.

use tokio_postgres::error::SqlState;

/// Creates the table if needed; tests and parallel loads may race to do it.
const CREATE: &str = "CREATE SCHEMA IF NOT EXISTS holo_host; \
    CREATE TABLE IF NOT EXISTS holo_host.progress (\
        job text PRIMARY KEY, \
        position jsonb NOT NULL, \
        rows_written bigint NOT NULL, \
        updated_at timestamptz NOT NULL DEFAULT now())";

/// `$1` job, `$2` position as JSON text, `$3` rows of this commit (added to the total).
pub const UPSERT: &str = "INSERT INTO holo_host.progress (job, position, rows_written) \
    VALUES ($1, $2::text::jsonb, $3) \
    ON CONFLICT (job) DO UPDATE SET position = excluded.position, \
        rows_written = holo_host.progress.rows_written + excluded.rows_written, \
        updated_at = now()";

/// Creates `holo_host.progress` unless it exists (checked first, so a user without the
/// CREATE privilege can use a table made for them).
pub async fn ensure_table(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let mut attempt = 0;
    loop {
        let exists: bool = client
            .query_one(
                "SELECT pg_catalog.to_regclass('holo_host.progress') IS NOT NULL",
                &[],
            )
            .await?
            .get(0);
        if exists {
            return Ok(());
        }
        match client.batch_execute(CREATE).await {
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

/// The job's position as JSON text, if it has one.
pub async fn load(
    client: &tokio_postgres::Client,
    job: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT position::text FROM holo_host.progress WHERE job = $1",
            &[&job],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Forgets the job's position.
pub async fn clear(
    client: &tokio_postgres::Client,
    job: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute("DELETE FROM holo_host.progress WHERE job = $1", &[&job])
        .await?;
    Ok(())
}
