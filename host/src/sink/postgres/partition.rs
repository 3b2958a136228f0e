//! Writing a `PARTITION BY LIST` table through its children: each row goes to the child
//! that holds its value of the partition column. Children are read from the catalog
//! (`pg_inherits`, `pg_get_expr(relpartbound)`) and cached; with `--create-partitions`
//! a missing one is created as `parent_<value>`, at most `--max-new-partitions` per run.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use holo_batch::ValueRef;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tracing::{info, warn};

use super::catalog::TableInfo;
use super::encode;
use super::sql;
use super::staging::Staged;
use super::types::{PgType, Problem};
use crate::db::quote_ident;
use crate::sink::Rejected;

/// A partition value as text in one canonical spelling per type (`7`, `2024-01-31`), so
/// a row's value and a bound's literal compare equal; `None` is NULL.
pub type PartValue = Option<String>;

/// The partition key types children can be found and created for.
pub fn supports(ty: PgType) -> bool {
    ty.is_text_like()
        || matches!(
            ty,
            PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Date
        )
}

/// The canonical text of `v` for a partition column of type `ty`.
pub fn canonical(ty: PgType, v: ValueRef<'_>) -> Result<PartValue, Problem> {
    if ty.is_text_like() {
        return Ok(v.to_text());
    }
    let text = match v {
        ValueRef::Null => return Ok(None),
        ValueRef::Int(i) if matches!(ty, PgType::Int2 | PgType::Int4 | PgType::Int8) => {
            return Ok(Some(i.to_string()));
        }
        ValueRef::Text(s) => s.trim_matches(|c: char| c.is_ascii_whitespace()),
        _ => return Err(Problem::Incompatible("not text")),
    };
    if text.is_empty() {
        return Ok(None);
    }
    match ty {
        PgType::Int2 | PgType::Int4 | PgType::Int8 => {
            Ok(Some(encode::parse_int(text)?.to_string()))
        }
        PgType::Date => {
            let days = encode::parse_date(text).ok_or(Problem::NotDate)?;
            Ok(Some(date_text(days)))
        }
        _ => Err(Problem::Incompatible("not text")),
    }
}

/// Days since 2000-01-01 as `YYYY-MM-DD` (ISO, as `DateStyle = ISO` prints bounds).
fn date_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => {
            let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
            let date = epoch + chrono::Duration::days(i64::from(d));
            format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
        }
    }
}

/// What a child's bound says: `DEFAULT`, or the values of `FOR VALUES IN (…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Default,
    /// Literal texts as printed (quotes removed); `None` for NULL.
    In(Vec<Option<String>>),
    /// A RANGE or HASH bound: not ours to route.
    Other,
}

/// Parses `pg_get_expr(relpartbound)` of a LIST child: `FOR VALUES IN ('a', 7, NULL)`
/// or `DEFAULT`.
pub fn parse_bound(text: &str) -> Bound {
    let t = text.trim();
    if t.eq_ignore_ascii_case("DEFAULT") {
        return Bound::Default;
    }
    let Some(rest) = t
        .strip_prefix("FOR VALUES IN (")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return Bound::Other;
    };
    let mut values = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else { break };
        let value = if c == '\''
            || ((c == 'E' || c == 'e') && {
                let mut ahead = chars.clone();
                ahead.next();
                ahead.peek() == Some(&'\'')
            }) {
            let escapes = c != '\'';
            if escapes {
                chars.next();
            }
            chars.next();
            let mut s = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    '\'' => break,
                    '\\' if escapes => {
                        if let Some(n) = chars.next() {
                            s.push(n);
                        }
                    }
                    c => s.push(c),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(c) = chars.next_if(|c| *c != ',') {
                s.push(c);
            }
            let s = s.trim().to_owned();
            (!s.eq_ignore_ascii_case("NULL")).then_some(s)
        };
        values.push(value);
        while chars.next_if(|c| *c != ',').is_some() {}
        if chars.next().is_none() {
            break;
        }
    }
    Bound::In(values)
}

/// Where the rows of one partition value go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The quoted child table.
    Child(String),
    /// No child takes the value: why, for the dead-letter output.
    Reject(String),
    /// No child holds the value, and only deletes name it: they delete nothing, and no
    /// child is created for them (as holo-client skips them).
    Missing,
}

/// The children of a LIST-partitioned table, by value.
#[derive(Debug)]
pub struct Partitions {
    /// `schema.parent` for messages, and its parts.
    parent_name: String,
    schema: String,
    parent: String,
    parent_oid: u32,
    column: String,
    ty: PgType,
    children: HashMap<PartValue, String>,
    default_child: Option<String>,
    /// Hologres creates the children itself (`hologres.hg_partitioning_config`).
    auto: bool,
    create: bool,
    max_new: usize,
    created: usize,
}

impl Partitions {
    /// Reads the children of `table`, partitioned by `column` of type `ty`.
    pub async fn load(
        client: &Client,
        table: &TableInfo,
        column: &str,
        ty: PgType,
        hologres: bool,
        create: bool,
        max_new: usize,
    ) -> Result<Partitions, tokio_postgres::Error> {
        let auto = hologres && auto_partitioned(client, &table.schema, &table.table).await;
        let mut p = Partitions {
            parent_name: table.name.clone(),
            schema: table.schema.clone(),
            parent: table.table.clone(),
            parent_oid: table.oid,
            column: column.to_owned(),
            ty,
            children: HashMap::new(),
            default_child: None,
            auto,
            create,
            max_new,
            created: 0,
        };
        p.reload(client).await?;
        Ok(p)
    }

    /// Reads the children again (another writer may have added some).
    pub async fn reload(&mut self, client: &Client) -> Result<(), tokio_postgres::Error> {
        let rows = client
            .query(
                "SELECT n.nspname::text, c.relname::text, \
                 pg_catalog.pg_get_expr(c.relpartbound, c.oid) \
                 FROM pg_catalog.pg_inherits i \
                 JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE i.inhparent = $1",
                &[&self.parent_oid],
            )
            .await?;
        self.children.clear();
        self.default_child = None;
        for r in rows {
            let name = format!(
                "{}.{}",
                quote_ident(r.get::<_, &str>(0)),
                quote_ident(r.get::<_, &str>(1))
            );
            let bound: Option<String> = r.get(2);
            match parse_bound(bound.as_deref().unwrap_or_default()) {
                Bound::Default => self.default_child = Some(name),
                Bound::In(values) => {
                    for v in values {
                        let v = match v {
                            None => None,
                            Some(text) => match canonical(self.ty, ValueRef::Text(&text)) {
                                Ok(v) => v,
                                Err(_) => {
                                    warn!(table = %self.parent_name, child = %name, value = %text,
                                          "partition bound value not understood; ignoring it");
                                    continue;
                                }
                            },
                        };
                        self.children.insert(v, name.clone());
                    }
                }
                Bound::Other => {}
            }
        }
        Ok(())
    }

    /// Children known, by value.
    pub fn children(&self) -> impl Iterator<Item = (&PartValue, &String)> {
        self.children.iter()
    }

    pub fn auto(&self) -> bool {
        self.auto
    }

    /// The child for each value, creating missing ones when allowed for the values rows
    /// carry (`for_rows`); a value only deletes name is [`Route::Missing`] without a child.
    /// A failure to reach the server is an `Err`; a value no child can take is a
    /// [`Route::Reject`].
    pub async fn resolve(
        &mut self,
        client: &Client,
        values: &[PartValue],
        for_rows: &[bool],
    ) -> Result<Vec<Route>, tokio_postgres::Error> {
        if values.iter().any(|v| !self.children.contains_key(v)) {
            // Another writer may have created it since we last looked.
            self.reload(client).await?;
        }
        let mut routes = Vec::with_capacity(values.len());
        for (v, &rows) in values.iter().zip(for_rows) {
            routes.push(match (self.children.get(v), &self.default_child) {
                (Some(child), _) => Route::Child(child.clone()),
                // Rows of the value, if any, are in the default child.
                (None, Some(default)) if !rows => Route::Child(default.clone()),
                (None, None) if !rows => Route::Missing,
                _ => self.route(client, v).await?,
            });
        }
        Ok(routes)
    }

    async fn route(
        &mut self,
        client: &Client,
        value: &PartValue,
    ) -> Result<Route, tokio_postgres::Error> {
        if let Some(child) = self.children.get(value) {
            return Ok(Route::Child(child.clone()));
        }
        let shown = value
            .as_deref()
            .map_or("NULL".to_owned(), |v| format!("`{v}`"));
        let missing = format!(
            "no partition of table `{}` holds `{}` = {shown}",
            self.parent_name, self.column
        );
        if self.auto {
            return Ok(Route::Reject(format!(
                "{missing}: the table is auto-partitioned, so holo-host leaves creating \
                 partitions to Hologres"
            )));
        }
        if !self.create {
            if let Some(d) = &self.default_child {
                return Ok(Route::Child(d.clone()));
            }
            return Ok(Route::Reject(format!(
                "{missing}: create it, or pass --create-partitions"
            )));
        }
        if self.created >= self.max_new {
            return Ok(Route::Reject(format!(
                "{missing}, and this run already created {} partitions (--max-new-partitions \
                 {}): check the values, or raise the limit",
                self.created, self.max_new
            )));
        }
        let parent = format!(
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.parent)
        );
        for salt in 0..3 {
            let name = sql::child_name(&self.parent, value.as_deref(), salt);
            let child = format!("{}.{}", quote_ident(&self.schema), quote_ident(&name));
            let ddl = sql::create_partition_sql(&child, &parent, value.as_deref());
            match client.batch_execute(&ddl).await {
                Ok(()) => {
                    self.created += 1;
                    info!(table = %self.parent_name, child = %child, value = %shown, "created partition");
                    self.children.insert(value.clone(), child.clone());
                    return Ok(Route::Child(child));
                }
                Err(e) if is_creation_race(&e) => {
                    // Someone else created it, or the name is taken by another value.
                    self.reload(client).await?;
                    if let Some(c) = self.children.get(value) {
                        return Ok(Route::Child(c.clone()));
                    }
                }
                Err(e) if e.as_db_error().is_some() => {
                    let db = e.as_db_error().expect("checked");
                    return Ok(Route::Reject(format!(
                        "{missing}, and creating it failed: {}",
                        db.message()
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Route::Reject(format!(
            "{missing}, and no free name was found for it"
        )))
    }
}

/// A name already taken, or a bound that overlaps one created at the same moment.
fn is_creation_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::DUPLICATE_TABLE || *c == SqlState::INVALID_OBJECT_DEFINITION
    })
}

/// Whether Hologres partitions the table itself. Unverified against a real server: a
/// query that fails counts as "no", with a warning.
async fn auto_partitioned(client: &Client, schema: &str, table: &str) -> bool {
    let sql = "SELECT count(*) FROM hologres.hg_partitioning_config \
               WHERE nsp_name = $1 AND tbl_name = $2 AND enable";
    match client.query_one(sql, &[&schema, &table]).await {
        Ok(row) => row.get::<_, i64>(0) > 0,
        Err(e) => {
            warn!(table = %format!("{schema}.{table}"), error = %e,
                  "cannot read hologres.hg_partitioning_config; assuming no auto-partitioning");
            false
        }
    }
}

/// The staged rows and deletes whose partition value no child takes (see [`Route`]).
pub fn unrouted(staged: &Staged, routes: &[Route]) -> Vec<Rejected> {
    if routes.is_empty() {
        return Vec::new();
    }
    let deletes = staged.deletes.iter().map(|d| (d.part, d.input));
    let rows = (staged.rows.iter())
        .filter(|r| r.live)
        .map(|r| (r.part, r.input));
    deletes
        .chain(rows)
        .filter_map(|(part, input)| match &routes[part as usize] {
            Route::Reject(reason) => Some(Rejected {
                input,
                reason: reason.clone(),
            }),
            Route::Child(_) | Route::Missing => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_values() {
        let t = |ty, s| canonical(ty, ValueRef::Text(s));
        assert_eq!(t(PgType::Int8, " 007 "), Ok(Some("7".into())));
        assert_eq!(
            canonical(PgType::Int4, ValueRef::Int(-3)),
            Ok(Some("-3".into()))
        );
        assert_eq!(t(PgType::Int8, "x"), Err(Problem::NotInteger));
        assert_eq!(t(PgType::Int8, ""), Ok(None));
        assert_eq!(t(PgType::Date, "2024-02-29"), Ok(Some("2024-02-29".into())));
        assert_eq!(t(PgType::Date, "1999-12-31"), Ok(Some("1999-12-31".into())));
        assert_eq!(t(PgType::Date, "2024-02-30"), Err(Problem::NotDate));
        assert_eq!(t(PgType::Text, " a b "), Ok(Some(" a b ".into())));
        assert_eq!(
            canonical(PgType::Text, ValueRef::Int(5)),
            Ok(Some("5".into()))
        );
        assert_eq!(canonical(PgType::Text, ValueRef::Null), Ok(None));
        assert!(supports(PgType::Varchar) && supports(PgType::Date));
        assert!(!supports(PgType::Float8));
    }

    #[test]
    fn bounds() {
        assert_eq!(parse_bound("DEFAULT"), Bound::Default);
        assert_eq!(
            parse_bound("FOR VALUES IN ('1')"),
            Bound::In(vec![Some("1".into())])
        );
        assert_eq!(
            parse_bound("FOR VALUES IN ('it''s', 'a, b', NULL, 7, '嫌われる勇気')"),
            Bound::In(vec![
                Some("it's".into()),
                Some("a, b".into()),
                None,
                Some("7".into()),
                Some("嫌われる勇気".into()),
            ])
        );
        assert_eq!(
            parse_bound(r"FOR VALUES IN (E'a\\b')"),
            Bound::In(vec![Some(r"a\b".into())])
        );
        assert_eq!(parse_bound("FOR VALUES FROM (1) TO (10)"), Bound::Other);
    }

    #[test]
    fn bound_literals_round_trip_through_quote_literal() {
        for v in ["x", "it's", r"a\b", "a, b)", "日本 語/'\"", ""] {
            let bound = format!("FOR VALUES IN ({})", sql::quote_literal(v));
            assert_eq!(parse_bound(&bound), Bound::In(vec![Some(v.into())]), "{v}");
        }
    }
}
