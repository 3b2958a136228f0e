//! Fixed Copy on PostgreSQL: a staging table per target, column list and conflict mode, in
//! schema `hologres_lite`, whose row trigger applies each row to the target with the right
//! `ON CONFLICT` (row by row, so the same key twice: last wins for UPDATE, first for
//! IGNORE) and whose statement trigger empties it. The client's COPY is sent there.

use crate::kit::{self, ident};
use crate::refusal::Refusal;
use crate::sql::fixed_copy::{FixedCopy, OnConflict};
use crate::version::Version;
use std::collections::HashMap;
use tokio::sync::Mutex;

/// The side connection that makes staging tables, and the ones made.
pub struct Staging {
    url: String,
    /// Keeps this server's staging tables apart from another's in the same database.
    tag: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    client: Option<tokio_postgres::Client>,
    /// Staging table by (target oid, columns, mode).
    tables: HashMap<(u32, Vec<String>, OnConflict), String>,
}

impl Staging {
    /// `url`: the owned database, as a superuser.
    pub fn new(url: String, tag: String) -> Staging {
        Staging {
            url,
            tag,
            state: Mutex::default(),
        }
    }

    /// The COPY to send instead of `copy`, or the error Hologres gives.
    pub async fn rewrite(&self, copy: &FixedCopy, version: Version) -> Result<String, Refusal> {
        let mut state = self.state.lock().await;
        let result = self.rewrite_locked(&mut state, copy, version).await;
        if let Err(Failure::Backend(e)) = &result {
            tracing::warn!(table = %copy.table, error = %e, "cannot prepare a Fixed Copy staging table");
            // A broken side connection is made again next time.
            state.client = None;
        }
        result.map_err(|f| match f {
            Failure::Refused(r) => r,
            Failure::Backend(e) => Refusal::new(
                "XX000",
                format!(
                    "hologres-lite cannot stage the copy into {}: {e}",
                    copy.table
                ),
            ),
        })
    }

    async fn rewrite_locked(
        &self,
        state: &mut State,
        copy: &FixedCopy,
        version: Version,
    ) -> Result<String, Failure> {
        if state.client.is_none() {
            state.client = Some(kit::connect(&self.url).await?);
        }
        let client = state.client.as_ref().expect("connected above");
        let found = client
            .query_opt(
                "SELECT c.oid, c.relkind::text, n.nspname::text, c.relname::text FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                &[&copy.table],
            )
            .await?
            .ok_or_else(|| {
                Refusal::new(
                    "42P01",
                    format!("relation \"{}\" does not exist", copy.table),
                )
            })?;
        let oid: u32 = found.get(0);
        let relkind: String = found.get(1);
        let target = format!("{}.{}", ident(found.get(2)), ident(found.get(3)));
        if relkind == "p" && version < Version::COPY_INTO_PARENT {
            // holo-client README: Fixed Copy into a partition parent from 3.1 (text: guess).
            return Err(Refusal::new(
                "0A000",
                format!("fixed copy into partition parent table {} is not supported, copy into its child tables", copy.table),
            )
            .into());
        }
        let all: Vec<String> = client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 \
                 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                &[&oid],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let columns = match &copy.columns {
            Some(cols) => {
                if let Some(c) = cols.iter().find(|c| !all.contains(c)) {
                    return Err(Refusal::new(
                        "42703",
                        format!(
                            "column \"{c}\" of relation \"{}\" does not exist",
                            found.get::<_, String>(3)
                        ),
                    )
                    .into());
                }
                cols.clone()
            }
            None => all,
        };
        let key = (oid, columns.clone(), copy.on_conflict);
        if let Some(name) = state.tables.get(&key) {
            return Ok(copy.rewritten(name, &columns));
        }
        let pk: Vec<String> = client
            .query(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
                 AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1 AND i.indisprimary",
                &[&oid],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let bare = format!(
            "stage_{}_{oid}_{}_{}",
            self.tag,
            copy.on_conflict.name(),
            state.tables.len()
        );
        let name = format!("hologres_lite.{}", ident(&bare));
        let cols = columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let news = columns
            .iter()
            .map(|c| format!("NEW.{}", ident(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let updates: Vec<String> = columns
            .iter()
            .filter(|c| !pk.contains(c))
            .map(|c| format!("{0} = EXCLUDED.{0}", ident(c)))
            .collect();
        let conflict = match copy.on_conflict {
            OnConflict::None => String::new(),
            OnConflict::Ignore => "ON CONFLICT DO NOTHING".into(),
            OnConflict::Update if pk.is_empty() => String::new(),
            OnConflict::Update if updates.is_empty() => "ON CONFLICT DO NOTHING".into(),
            OnConflict::Update => format!(
                "ON CONFLICT ({}) DO UPDATE SET {}",
                pk.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", "),
                updates.join(", ")
            ),
        };
        let row_fn = format!("hologres_lite.{}", ident(&format!("{bare}_row")));
        let end_fn = format!("hologres_lite.{}", ident(&format!("{bare}_end")));
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {name};
                 CREATE UNLOGGED TABLE {name} AS SELECT {cols} FROM {target} WITH NO DATA;
                 GRANT ALL ON {name} TO PUBLIC;
                 CREATE OR REPLACE FUNCTION {row_fn}() RETURNS trigger LANGUAGE plpgsql AS $f$
                 BEGIN
                   PERFORM set_config('hologres_lite.fixed_copy', 'on', true);
                   INSERT INTO {target} ({cols}) VALUES ({news}) {conflict};
                   PERFORM set_config('hologres_lite.fixed_copy', 'off', true);
                   RETURN NEW;
                 END $f$;
                 CREATE OR REPLACE FUNCTION {end_fn}() RETURNS trigger LANGUAGE plpgsql AS $f$
                 BEGIN DELETE FROM {name}; RETURN NULL; END $f$;
                 CREATE TRIGGER apply BEFORE INSERT ON {name} FOR EACH ROW EXECUTE FUNCTION {row_fn}();
                 CREATE TRIGGER empty AFTER INSERT ON {name} FOR EACH STATEMENT EXECUTE FUNCTION {end_fn}();"
            ))
            .await?;
        state.tables.insert(key, name.clone());
        Ok(copy.rewritten(&name, &columns))
    }
}

/// Why a staging table could not be had.
enum Failure {
    Refused(Refusal),
    Backend(tokio_postgres::Error),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Backend(e)
    }
}
