//! The kit installed in the backend database: what Hologres has and PostgreSQL lacks
//! (`hg_version()`, `set_table_property`), the DDL rules an event trigger enforces
//! (LIST partitions of one key, one value per child, no writes into a parent, timestamptz
//! to the millisecond) and a role without CREATE on the database.

use crate::config::Config;
use crate::error::StartError;
use tokio_postgres::NoTls;

/// The PostgreSQL version Hologres says it is compatible with (doc "HG_VERSION").
pub const PG_COMPAT: &str = "11.3";
pub const PG_COMPAT_NUM: &str = "110003";

/// Creates the database when missing and installs the kit; safe to run concurrently.
pub async fn install(config: &Config, admin_url: &str, db_url: &str) -> Result<(), StartError> {
    let kit_err = |source| StartError::Kit {
        database: config.database.clone(),
        source,
    };
    let admin = connect(admin_url).await.map_err(kit_err)?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&config.database],
        )
        .await
        .map_err(kit_err)?
        .is_some();
    if !exists
        && let Err(e) = admin
            .batch_execute(&format!("CREATE DATABASE {}", ident(&config.database)))
            .await
        && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
    {
        return Err(kit_err(e));
    }
    let db = connect(db_url).await.map_err(kit_err)?;
    db.batch_execute("SELECT pg_advisory_lock(72070)")
        .await
        .map_err(kit_err)?;
    let result = db.batch_execute(&kit_sql(config)).await;
    let _ = db.batch_execute("SELECT pg_advisory_unlock(72070)").await;
    result.map_err(kit_err)
}

pub async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "side connection ended");
        }
    });
    Ok(client)
}

/// `name` as a quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn kit_sql(config: &Config) -> String {
    let db = ident(&config.database);
    let version = config.version.replace('\'', "");
    format!(
        r#"
CREATE SCHEMA IF NOT EXISTS hologres_lite;
GRANT USAGE ON SCHEMA hologres_lite TO PUBLIC;
ALTER DATABASE {db} SET TimeZone = 'Asia/Shanghai';

-- hg_version(): the form of doc "HG_VERSION"; holo-client parses `Hologres ([^ -]*)`.
CREATE OR REPLACE FUNCTION public.hg_version() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT format('Hologres %s (tag: release-%s build: Release,Skylake,clang), compatible with PostgreSQL {PG_COMPAT} (Release-build@hologres-lite on origin/release-%s) on x86_64-pc-linux-gnu, compiled by clang version 8.0.1, 64-bit', v, v, v)
  FROM (SELECT coalesce(nullif(current_setting('hologres_lite.version', true), ''), '{version}') AS v) s
$$;

-- set_table_property: recorded, not enforced.
CREATE TABLE IF NOT EXISTS hologres_lite.table_properties (
  table_name text, property text, value text, PRIMARY KEY (table_name, property));
GRANT ALL ON hologres_lite.table_properties TO PUBLIC;
CREATE OR REPLACE PROCEDURE public.set_table_property(t text, p text, v text) LANGUAGE plpgsql AS $$
BEGIN
  IF to_regclass(t) IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42P01', MESSAGE = format('relation "%s" does not exist', t);
  END IF;
  INSERT INTO hologres_lite.table_properties VALUES (to_regclass(t)::text, lower(p), v)
  ON CONFLICT (table_name, property) DO UPDATE SET value = EXCLUDED.value;
END $$;

-- No INSERT into a partition parent (doc "CREATE PARTITION TABLE"), but Fixed Copy from 3.1.
CREATE OR REPLACE FUNCTION hologres_lite.refuse_parent_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('hologres_lite.fixed_copy', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION USING ERRCODE = '0A000',
    MESSAGE = format('insert into partition parent table %s is not supported, insert into its child tables', TG_TABLE_NAME);
END $$;

CREATE OR REPLACE FUNCTION hologres_lite.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  obj record;
  part record;
  col record;
  bound text;
BEGIN
  FOR obj IN SELECT * FROM pg_event_trigger_ddl_commands()
             WHERE object_type = 'table' AND schema_name IS DISTINCT FROM 'hologres_lite' LOOP
    SELECT * INTO part FROM pg_partitioned_table WHERE partrelid = obj.objid;
    IF FOUND THEN
      IF part.partstrat <> 'l' THEN
        RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = 'Only LIST partition is supported';
      END IF;
      IF part.partnatts <> 1 OR part.partattrs[0] = 0 THEN
        RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = 'Only one partition column is supported';
      END IF;
      SELECT a.attname, a.atttypid::regtype::text AS ty INTO col FROM pg_attribute a
        WHERE a.attrelid = obj.objid AND a.attnum = part.partattrs[0];
      IF col.ty NOT IN ('text', 'character varying', 'integer', 'date') THEN
        RAISE EXCEPTION USING ERRCODE = '0A000',
          MESSAGE = format('partition column %s of type %s is not supported, use TEXT, VARCHAR, INT or DATE', col.attname, col.ty);
      END IF;
      EXECUTE format('CREATE OR REPLACE TRIGGER hologres_lite_parent BEFORE INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION hologres_lite.refuse_parent_write()', obj.objid::regclass);
    END IF;
    SELECT pg_get_expr(c.relpartbound, c.oid) INTO bound FROM pg_class c WHERE c.oid = obj.objid AND c.relispartition;
    IF bound IS NOT NULL THEN
      IF bound = 'DEFAULT' THEN
        RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = 'default partition is not supported';
      END IF;
      IF position(',' IN regexp_replace(bound, '''([^'']|'''')*''', 'x', 'g')) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = 'Only one value is supported in FOR VALUES IN of a partition';
      END IF;
    END IF;
    -- timestamptz holds milliseconds (doc "Data types").
    FOR col IN SELECT a.attname FROM pg_attribute a
               WHERE a.attrelid = obj.objid AND a.attnum > 0 AND NOT a.attisdropped AND a.attislocal
                 AND a.atttypid = 'timestamptz'::regtype AND a.atttypmod <> 3 LOOP
      EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE timestamptz(3)', obj.objid::regclass, col.attname);
    END LOOP;
  END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS hologres_lite_ddl;
CREATE EVENT TRIGGER hologres_lite_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION hologres_lite.on_ddl();

-- A user who may create tables in public but not schemas.
DO $$ BEGIN
  CREATE ROLE holo_developer LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
REVOKE CREATE ON DATABASE {db} FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO holo_developer;
"#
    )
}
