//! One writer connection and what it sends: deletes by key, writes with array parameters
//! or multi-row `VALUES`, binary COPY and Fixed Copy. A statement the server refuses for
//! its data ([`is_data_refusal`]) is split in halves until the rows at fault are alone;
//! those are rejected with the server's message and the others written. A plain insert
//! that meets a duplicate key first asks which of its keys the table holds already.

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, Statement};
use tracing::debug;

use super::sql::{self, Conflict};
use super::staging::Staged;
use super::types::PgType;
use crate::sink::Rejected;

/// Signature, flags and header extension length of a binary COPY stream.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// A field count of -1 ends the stream.
const COPY_TRAILER: &[u8] = &[0xff, 0xff];
/// Staged rows go to the server in COPY messages of this size.
const COPY_CHUNK: usize = 1 << 20;

/// What a step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Deletes by key ([`Staged::deletes`] indexes).
    Delete,
    /// A keyed or plain `INSERT` ([`Staged::rows`] indexes).
    Insert,
    /// Binary COPY, or Hologres Fixed Copy ([`Staged::rows`] indexes).
    Copy,
}

/// The SQL of a step.
#[derive(Debug, Clone)]
pub enum StepSql {
    /// One statement for all the step's rows: column arrays as parameters, or COPY.
    One(String),
    /// Statements of scalar parameters, a power of two rows each (see
    /// [`sql::max_rows_per_statement`]): multi-row `VALUES` for inserts, key matches joined
    /// by `OR` for deletes; their text is built for each row count.
    PerRows {
        columns: Vec<(String, PgType)>,
        conflict: Conflict,
    },
}

/// One statement's worth of work for one table.
#[derive(Debug, Clone)]
pub struct Step {
    pub kind: StepKind,
    /// The SQL, for the table this step writes.
    pub sql: StepSql,
    /// The quoted table, for errors.
    pub table: String,
    /// Indexes of the rows or deletes, in staging order.
    pub items: Vec<u32>,
    /// For a plain insert into a keyed table, the query that finds the rows whose keys
    /// the table holds already ([`super::sql::existing_keys_sql`]).
    pub existing: Option<String>,
    /// Look the keys up with `existing` before sending, and refuse those present: a plain
    /// insert on Hologres, whose statement skips them silently (`ON CONFLICT DO NOTHING`).
    pub probe_first: bool,
    /// Rows one INSERT or DELETE statement carries at most (a power of two, or
    /// `usize::MAX`); COPY streams them all.
    pub rows_per_statement: usize,
    /// The table is a child partition: if it is gone (dropped by retention, 42P01), its
    /// rows are refused, as holo-client counts them dirty data, and the load goes on.
    pub child: bool,
}

impl Step {
    /// The input record of one of this step's items.
    fn input_of(&self, staged: &Staged, item: u32) -> u32 {
        match self.kind {
            StepKind::Delete => staged.deletes[item as usize].input,
            _ => staged.rows[item as usize].input,
        }
    }

    /// `items` refused because this step's child partition is gone (`e`: 42P01).
    fn child_gone(
        &self,
        staged: &Staged,
        items: &[u32],
        e: &tokio_postgres::Error,
    ) -> Vec<Rejected> {
        let reason = format!(
            "child partition {} no longer exists (dropped, perhaps by its time to live): {}",
            self.table,
            server_reason(e)
        );
        (items.iter())
            .map(|&i| Rejected {
                input: self.input_of(staged, i),
                reason: reason.clone(),
            })
            .collect()
    }

    /// The rows `n` items of this step write (deletes write none).
    fn written(&self, n: usize) -> u64 {
        match self.kind {
            StepKind::Delete => 0,
            _ => n as u64,
        }
    }
}

/// Column types of the parameters: written columns for inserts, key columns for deletes.
#[derive(Debug, Clone, Default)]
pub struct ParamTypes {
    pub columns: Vec<PgType>,
    pub key: Vec<PgType>,
    /// The last this many of `columns` are not in the staged rows: written as NULL
    /// (insert-or-replace clears the columns the output leaves out, as holo-client does).
    pub null_fill: usize,
}

/// What a step did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Rows inserted or upserted (deletes are not counted).
    pub written: u64,
    pub rejected: Vec<Rejected>,
}

impl Outcome {
    pub fn add(&mut self, other: Outcome) {
        self.written += other.written;
        self.rejected.extend(other.rejected);
    }
}

/// What a step does when the server refuses its data (SQLSTATE 22, 23, 21000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDataError {
    /// Fail: the caller decides (a transaction is rolled back and run again bisecting).
    Fail,
    /// Split the statement until the bad rows are alone; they are rejected.
    Bisect,
    /// [`OnDataError::Bisect`] inside a transaction: each try fenced by a savepoint, so a
    /// failure does not abort the transaction.
    BisectInTransaction,
}

/// A one-dimensional array in the binary format, elements already encoded.
#[derive(Debug)]
struct RawArray(BytesMut);

impl RawArray {
    const HEADER: usize = 20;

    fn new(elem: PgType, capacity: usize) -> RawArray {
        let mut b = BytesMut::with_capacity(Self::HEADER + capacity);
        b.put_i32(1); // dimensions
        b.put_i32(0); // has nulls, set by `finish`
        b.put_u32(elem.oid());
        b.put_i32(0); // length, set by `finish`
        b.put_i32(1); // lower bound
        RawArray(b)
    }

    fn push_field(&mut self, field: &[u8]) {
        self.0.extend_from_slice(field);
    }

    fn finish(&mut self, len: usize, has_null: bool) {
        self.0[4..8].copy_from_slice(&i32::from(has_null).to_be_bytes());
        self.0[12..16].copy_from_slice(&(len as i32).to_be_bytes());
    }
}

/// Splits concatenated fields (`i32` length, then bytes; -1 for null) into `arrays`,
/// one field per array in turn.
fn spread_fields(mut fields: &[u8], arrays: &mut [RawArray], nulls: &mut [bool]) {
    for (a, null) in arrays.iter_mut().zip(nulls.iter_mut()) {
        let len = i32::from_be_bytes(fields[..4].try_into().expect("4 bytes"));
        let end = 4 + len.max(0) as usize;
        *null |= len < 0;
        a.push_field(&fields[..end]);
        fields = &fields[end..];
    }
}

/// Whether the server refused the statement for the data it carried: the rows at fault
/// can be found by splitting it.
pub fn is_data_error(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| is_data_refusal(db.code().code(), db.message()))
}

/// Data errors as holo-client classifies them (`HoloClientException.fromSqlException`:
/// CONSTRAINT_VIOLATION, DATA_VALUE_ERROR, DATA_TYPE_ERROR): classes 22 and 23, 21000,
/// 42804, 42846 and 42602, a partition constraint whatever the code; and the violations
/// Hologres reports as `XX000`, by message (its error-analysis guide buckets not-null,
/// partition and duplicate-key violations that way).
pub fn is_data_refusal(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code.starts_with("22")
        || code.starts_with("23")
        || ["21000", "42804", "42846", "42602"].contains(&code)
        || message.contains("violates partition constraint")
        || (code == "XX000"
            && (message.contains("violates not-null constraint")
                || message.contains("duplicate key value violates")
                || message.contains("no partition of relation")))
}

/// The server's reason, for the dead-letter output.
fn server_reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("rejected by the server: {}", db.message());
            if let Some(d) = db.detail() {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            s
        }
        None => format!("rejected by the server: {e}"),
    }
}

/// A connection and its prepared statements.
pub struct Writer {
    pub client: Client,
    statements: HashMap<String, Statement>,
}

impl Writer {
    pub fn new(client: Client) -> Writer {
        Writer {
            client,
            statements: HashMap::new(),
        }
    }

    /// The prepared statement for `sql`, prepared on first use.
    pub async fn statement(&mut self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Sends `items` of a step (one statement, or one per chunk of rows); returns the rows
    /// written.
    async fn send(
        &mut self,
        staged: &Staged,
        shapes: &ParamTypes,
        step: &Step,
        items: &[u32],
    ) -> Result<u64, tokio_postgres::Error> {
        let sql = match &step.sql {
            StepSql::One(sql) => sql,
            StepSql::PerRows { columns, conflict } => {
                return self
                    .send_per_rows(staged, shapes, step, items, columns, conflict)
                    .await;
            }
        };
        let statement = self.statement(sql).await?;
        match step.kind {
            StepKind::Delete | StepKind::Insert => {
                for chunk in items.chunks(step.rows_per_statement) {
                    let arrays = match step.kind {
                        StepKind::Delete => key_arrays(staged, &shapes.key, chunk),
                        _ => row_arrays(staged, shapes, chunk),
                    };
                    let params: Vec<RawField<'_>> =
                        arrays.iter().map(|a| RawField(Some(&a.0))).collect();
                    self.execute(&statement, &params).await?;
                }
                Ok(step.written(items.len()))
            }
            StepKind::Copy => {
                let sink = self.client.copy_in::<_, Bytes>(&statement).await?;
                futures_util::pin_mut!(sink);
                sink.feed(Bytes::from_static(COPY_HEADER)).await?;
                for chunk in copy_chunks(staged, items, shapes.null_fill) {
                    sink.feed(chunk).await?;
                }
                sink.send(Bytes::from_static(COPY_TRAILER)).await?;
                // The rows sent, counted here: the server's count is not reliable on
                // Hologres once holo-client's `…_affected_rows = off` is set.
                sink.finish().await?;
                Ok(step.written(items.len()))
            }
        }
    }

    /// Runs `copy` (a binary COPY FROM STDIN) with no rows: whether the server takes it.
    pub async fn copy_nothing(&mut self, copy: &str) -> Result<(), tokio_postgres::Error> {
        let statement = self.statement(copy).await?;
        let sink = self.client.copy_in::<_, Bytes>(&statement).await?;
        futures_util::pin_mut!(sink);
        sink.feed(Bytes::from_static(COPY_HEADER)).await?;
        sink.send(Bytes::from_static(COPY_TRAILER)).await?;
        sink.finish().await.map(drop)
    }

    /// [`Writer::send`] of a [`StepSql::PerRows`] step: chunks of a power of two rows,
    /// the largest that fits first, so few statement texts are prepared.
    async fn send_per_rows(
        &mut self,
        staged: &Staged,
        shapes: &ParamTypes,
        step: &Step,
        items: &[u32],
        columns: &[(String, PgType)],
        conflict: &Conflict,
    ) -> Result<u64, tokio_postgres::Error> {
        let max = sql::max_rows_per_statement(columns.len()).min(step.rows_per_statement);
        let mut rest = items;
        while !rest.is_empty() {
            let n = max.min(1 << rest.len().ilog2());
            let (chunk, after) = rest.split_at(n);
            rest = after;
            let text = match step.kind {
                StepKind::Delete => sql::delete_each_sql(&step.table, columns, n),
                _ => sql::values_sql(&step.table, columns, conflict, n),
            };
            let statement = self.statement(&text).await?;
            let mut params: Vec<RawField<'_>> = Vec::with_capacity(n * columns.len());
            for &i in chunk {
                let fields = match step.kind {
                    StepKind::Delete => &staged.keys[staged.deletes[i as usize].key.clone()],
                    _ => staged.row_fields(&staged.rows[i as usize]),
                };
                push_fields(fields, &mut params);
                if step.kind != StepKind::Delete {
                    params.extend((0..shapes.null_fill).map(|_| RawField(None)));
                }
            }
            self.execute(&statement, &params).await?;
        }
        Ok(step.written(items.len()))
    }

    async fn execute(
        &self,
        statement: &Statement,
        params: &[RawField<'_>],
    ) -> Result<u64, tokio_postgres::Error> {
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client.execute(statement, &refs).await
    }

    /// Runs a step; a data error is met as `on_data_error` says.
    pub async fn run_step(
        &mut self,
        staged: &Staged,
        shapes: &ParamTypes,
        step: &Step,
        on_data_error: OnDataError,
    ) -> Result<Outcome, tokio_postgres::Error> {
        let mut out = Outcome::default();
        let savepoints = on_data_error == OnDataError::BisectInTransaction;
        let items = match step.existing.as_deref().filter(|_| step.probe_first) {
            Some(sql) => {
                self.refuse_present(sql, staged, shapes, step, &mut out)
                    .await?
            }
            None => step.items.clone(),
        };
        if items.is_empty() {
            return Ok(out);
        }
        if on_data_error == OnDataError::Fail {
            out.written = self.send(staged, shapes, step, &items).await?;
            return Ok(out);
        }
        // Lists of `items`, the first to try on top.
        let mut todo = vec![items];
        let mut probed = false;
        while let Some(items) = todo.pop() {
            crate::metrics::global().split_statement(&step.table);
            if savepoints {
                self.client.batch_execute("SAVEPOINT holo_split").await?;
            }
            match self.send(staged, shapes, step, &items).await {
                Ok(n) => {
                    if savepoints {
                        self.client
                            .batch_execute("RELEASE SAVEPOINT holo_split")
                            .await?;
                    }
                    out.written += n;
                }
                Err(e) if step.child && e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                    out.rejected.extend(step.child_gone(staged, &items, &e));
                }
                Err(e) if is_data_error(&e) => {
                    if savepoints {
                        self.client
                            .batch_execute(
                                "ROLLBACK TO SAVEPOINT holo_split; RELEASE SAVEPOINT holo_split",
                            )
                            .await?;
                    }
                    if items.len() == 1 {
                        let input = step.input_of(staged, items[0]);
                        out.rejected.push(Rejected {
                            input,
                            reason: server_reason(&e),
                        });
                        continue;
                    }
                    // A duplicate key: one query finds the rows whose keys are in the table
                    // already (a reload of rows loaded before may be all of them), where
                    // halving would take two tries a row. Once: what it misses is halved.
                    let duplicate = e.code() == Some(&SqlState::UNIQUE_VIOLATION);
                    let probe = step.existing.as_deref();
                    if let Some(sql) = probe.filter(|_| duplicate && savepoints && !probed) {
                        probed = true;
                        let mut present = self.existing(sql, staged, shapes, &items, true).await?;
                        if !present.is_empty() {
                            let mut kept = Vec::with_capacity(items.len());
                            for (i, item) in items.into_iter().enumerate() {
                                match present.remove(&i) {
                                    Some(reason) => out.rejected.push(Rejected {
                                        input: staged.rows[item as usize].input,
                                        reason,
                                    }),
                                    None => kept.push(item),
                                }
                            }
                            // The others again, whole.
                            if !kept.is_empty() {
                                todo.push(kept);
                            }
                            continue;
                        }
                    }
                    let mut front = items;
                    let back = front.split_off(front.len() / 2);
                    todo.push(back);
                    todo.push(front);
                }
                Err(e) => return Err(e),
            }
        }
        // The rows may have gone in key order; dead letters keep the input's.
        out.rejected.sort_by_key(|r| r.input);
        Ok(out)
    }

    /// A plain insert on Hologres ([`Step::probe_first`]): the step's rows whose keys the
    /// table holds already (`sql` finds them), and those whose key an earlier row of the
    /// batch has, go to `out` as refused; the others are returned, to be sent.
    async fn refuse_present(
        &mut self,
        sql: &str,
        staged: &Staged,
        shapes: &ParamTypes,
        step: &Step,
        out: &mut Outcome,
    ) -> Result<Vec<u32>, tokio_postgres::Error> {
        let mut present = self
            .existing(sql, staged, shapes, &step.items, false)
            .await?;
        // A key twice in the batch: the first row goes, as a plain insert would have it.
        let mut seen = std::collections::HashSet::with_capacity(step.items.len());
        let mut kept = Vec::with_capacity(step.items.len());
        for (i, &item) in step.items.iter().enumerate() {
            let row = &staged.rows[item as usize];
            let reason = present.remove(&i).or_else(|| {
                (!seen.insert(&staged.keys[row.key.clone()])).then(|| {
                    "rejected: duplicate key value: an earlier row of the same batch has \
                     this key (--mode insert keeps the first)"
                        .to_owned()
                })
            });
            match reason {
                Some(reason) => out.rejected.push(Rejected {
                    input: row.input,
                    reason,
                }),
                None => kept.push(item),
            }
        }
        Ok(kept)
    }

    /// The rows of `items` whose keys the step's table holds already, by their place in
    /// `items`, each with the reason a plain insert of it fails; none when the query
    /// itself fails (a savepoint keeps the transaction usable), so halving finds them.
    async fn existing(
        &mut self,
        sql: &str,
        staged: &Staged,
        shapes: &ParamTypes,
        items: &[u32],
        savepoint: bool,
    ) -> Result<HashMap<usize, String>, tokio_postgres::Error> {
        let arrays = row_key_arrays(staged, &shapes.key, items);
        let params: Vec<RawField<'_>> = arrays.iter().map(|a| RawField(Some(&a.0))).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        if !savepoint {
            // Autocommit (Hologres, which has no savepoints): a failed lookup harms nothing.
            let rows = self.client.query(sql, &refs).await?;
            return Ok(present_keys(rows));
        }
        self.client.batch_execute("SAVEPOINT holo_probe").await?;
        let rows = match self.client.query(sql, &refs).await {
            Ok(rows) => rows,
            Err(e) if e.as_db_error().is_some() => {
                debug!(error = %e, "cannot look the duplicate keys up: halving instead");
                self.client
                    .batch_execute("ROLLBACK TO SAVEPOINT holo_probe; RELEASE SAVEPOINT holo_probe")
                    .await?;
                return Ok(HashMap::new());
            }
            Err(e) => return Err(e),
        };
        self.client
            .batch_execute("RELEASE SAVEPOINT holo_probe")
            .await?;
        Ok(present_keys(rows))
    }
}

/// The answer of [`super::sql::existing_keys_sql`]: each row's place in the step and the
/// reason a plain insert of it is refused, in the server's words.
fn present_keys(rows: Vec<tokio_postgres::Row>) -> HashMap<usize, String> {
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let (ordinal, detail, constraint): (i64, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        let constraint = constraint.unwrap_or_default();
        let reason = format!(
            "rejected by the server: duplicate key value violates unique constraint \
             \"{constraint}\" ({detail})"
        );
        found.insert(ordinal as usize - 1, reason);
    }
    found
}

/// One field in the binary format, already encoded; `None` is NULL.
#[derive(Debug)]
struct RawField<'a>(Option<&'a [u8]>);

impl ToSql for RawField<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.to_sql(ty, out)
    }
}

/// Splits concatenated fields (`i32` length, then bytes; -1 for null) into parameters.
fn push_fields<'a>(mut fields: &'a [u8], out: &mut Vec<RawField<'a>>) {
    while !fields.is_empty() {
        let len = i32::from_be_bytes(fields[..4].try_into().expect("4 bytes"));
        let end = 4 + len.max(0) as usize;
        out.push(RawField((len >= 0).then(|| &fields[4..end])));
        fields = &fields[end..];
    }
}

/// The columns of `items` as one array parameter each; the NULL-filled ones all NULL.
fn row_arrays(staged: &Staged, shapes: &ParamTypes, items: &[u32]) -> Vec<RawArray> {
    let types = &shapes.columns;
    let staged_columns = types.len() - shapes.null_fill;
    let per_row = items
        .first()
        .map_or(0, |&i| staged.rows[i as usize].data.len());
    let mut arrays: Vec<RawArray> = types
        .iter()
        .map(|&t| RawArray::new(t, per_row * items.len() / types.len().max(1)))
        .collect();
    let mut nulls = vec![false; types.len()];
    for &i in items {
        spread_fields(
            staged.row_fields(&staged.rows[i as usize]),
            &mut arrays[..staged_columns],
            &mut nulls[..staged_columns],
        );
        for a in &mut arrays[staged_columns..] {
            a.push_field(&(-1i32).to_be_bytes());
        }
    }
    for (i, (a, null)) in arrays.iter_mut().zip(nulls).enumerate() {
        a.finish(
            items.len(),
            null || (i >= staged_columns && !items.is_empty()),
        );
    }
    arrays
}

/// The key columns of the deletes `items` as one array parameter each.
fn key_arrays(staged: &Staged, types: &[PgType], items: &[u32]) -> Vec<RawArray> {
    arrays_of_keys(
        staged,
        types,
        items.iter().map(|&i| &staged.deletes[i as usize].key),
    )
}

/// The key columns of the rows `items` as one array parameter each.
fn row_key_arrays(staged: &Staged, types: &[PgType], items: &[u32]) -> Vec<RawArray> {
    arrays_of_keys(
        staged,
        types,
        items.iter().map(|&i| &staged.rows[i as usize].key),
    )
}

fn arrays_of_keys<'a>(
    staged: &Staged,
    types: &[PgType],
    keys: impl ExactSizeIterator<Item = &'a std::ops::Range<usize>>,
) -> Vec<RawArray> {
    let mut arrays: Vec<RawArray> = types.iter().map(|&t| RawArray::new(t, 0)).collect();
    let mut nulls = vec![false; types.len()];
    let len = keys.len();
    for key in keys {
        spread_fields(&staged.keys[key.clone()], &mut arrays, &mut nulls);
    }
    for (a, null) in arrays.iter_mut().zip(nulls) {
        a.finish(len, null);
    }
    arrays
}

/// The COPY rows of `items`, with `null_fill` NULL fields added to each, in messages of
/// about [`COPY_CHUNK`] bytes made as they are sent, so a batch in flight is not held twice;
/// slices of the staged bytes when they are all of them, in their order, as they are.
fn copy_chunks<'a>(
    staged: &'a Staged,
    items: &'a [u32],
    null_fill: usize,
) -> impl Iterator<Item = Bytes> + 'a {
    let all = items.len() == staged.rows.len() && items.is_sorted();
    let whole = null_fill == 0 && staged.is_contiguous() && all;
    let (mut at, mut rows) = (0, items.iter());
    std::iter::from_fn(move || {
        if whole {
            let end = (at + COPY_CHUNK).min(staged.data.len());
            let chunk = &staged.data[at..end];
            at = end;
            return (!chunk.is_empty()).then(|| Bytes::copy_from_slice(chunk));
        }
        let mut out = BytesMut::with_capacity(COPY_CHUNK.min(staged.data.len()) + 4096);
        for &i in rows.by_ref() {
            let row = &staged.data[staged.rows[i as usize].data.clone()];
            if null_fill == 0 {
                out.extend_from_slice(row);
            } else {
                // A row is its field count (i16), then the fields.
                let count = i16::from_be_bytes([row[0], row[1]]);
                out.put_i16(count + null_fill as i16);
                out.extend_from_slice(&row[2..]);
                for _ in 0..null_fill {
                    out.put_i32(-1);
                }
            }
            if out.len() >= COPY_CHUNK {
                break;
            }
        }
        (!out.is_empty()).then(|| out.freeze())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_header_is_the_binary_signature() {
        assert_eq!(COPY_HEADER.len(), 11 + 4 + 4);
        assert_eq!(&COPY_HEADER[..11], b"PGCOPY\n\xff\r\n\0");
    }

    #[test]
    fn copy_chunks_follow_the_order_of_their_items() {
        use super::super::staging::{Merge, RowSpec};
        use super::super::types::{ColumnCodec, Scratch};
        let plan = RowSpec {
            targets: vec![ColumnCodec::new("id".into(), PgType::Int8, -1, true)],
            key: vec![0],
            partition: None,
            merge: Merge::None,
            table: "s.t".into(),
        };
        let mut staged = Staged::default();
        for id in 0..3i64 {
            let mut buf = Vec::new();
            holo_batch::ValueRef::Int(id).encode(&mut buf);
            let row = holo_batch::row_at(&buf, 0, 1).unwrap();
            (staged.push_row(&plan, id as u32, row, &mut Scratch::default())).unwrap();
        }
        let row = |i: usize| &staged.data[staged.rows[i].data.clone()];
        let sent = |items: &[u32]| copy_chunks(&staged, items, 0).collect::<Vec<_>>().concat();
        assert_eq!(sent(&[0, 1, 2]), &staged.data[..]);
        assert_eq!(sent(&[2, 0, 1]), [row(2), row(0), row(1)].concat());
        // With a NULL added to each row: the field count goes up by one.
        let filled = copy_chunks(&staged, &[1], 1).collect::<Vec<_>>().concat();
        let mut want = vec![0, 2];
        want.extend_from_slice(&row(1)[2..]);
        want.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(filled, want);
    }

    #[test]
    fn arrays_in_the_binary_format() {
        let mut a = RawArray::new(PgType::Int8, 0);
        let mut b = RawArray::new(PgType::Text, 0);
        let mut nulls = [false, false];
        let mut fields = Vec::new();
        fields.extend_from_slice(&8i32.to_be_bytes());
        fields.extend_from_slice(&7i64.to_be_bytes());
        fields.extend_from_slice(&(-1i32).to_be_bytes());
        spread_fields(&fields, std::slice::from_mut(&mut a), &mut nulls[..1]);
        let mut arrays = [a, b];
        spread_fields(&fields[12..], &mut arrays[1..], &mut nulls[1..]);
        [a, b] = arrays;
        a.finish(1, nulls[0]);
        b.finish(1, nulls[1]);
        let mut want = Vec::new();
        for v in [1i32, 0] {
            want.extend_from_slice(&v.to_be_bytes());
        }
        want.extend_from_slice(&20u32.to_be_bytes());
        for v in [1i32, 1, 8] {
            want.extend_from_slice(&v.to_be_bytes());
        }
        want.extend_from_slice(&7i64.to_be_bytes());
        assert_eq!(&a.0[..], &want[..]);
        assert_eq!(&b.0[4..8], &1i32.to_be_bytes(), "has nulls");
        assert_eq!(&b.0[20..], &(-1i32).to_be_bytes());
    }
}
