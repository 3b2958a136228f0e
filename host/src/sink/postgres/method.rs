//! How rows reach the table, chosen as holo-client and the Hologres Flink connector choose
//! by server version: binary COPY in a transaction on PostgreSQL; on Hologres an `INSERT`
//! with one array parameter per column (`unnest`), or multi-row `VALUES` before 1.1.38 (the
//! Flink connector's default, `sink.write-mode = INSERT`), and Fixed Copy
//! (`COPY … WITH (stream_mode true, …)`) where the version has it and a probe at start-up
//! showed that this server takes it.

use std::fmt;
use std::str::FromStr;

use super::Dialect;

/// `--write-method`: which way rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMethod {
    /// Chosen by dialect, version, mode and table (see [`choose`]).
    #[default]
    Auto,
    /// COPY: binary COPY on PostgreSQL (plain appends only); Fixed Copy on Hologres.
    Copy,
    /// `INSERT` statements (unnest, or multi-row VALUES before Hologres 1.1.38).
    Insert,
}

impl FromStr for WriteMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(WriteMethod::Auto),
            "copy" => Ok(WriteMethod::Copy),
            "insert" => Ok(WriteMethod::Insert),
            _ => Err(format!(
                "unknown write method `{s}`: use auto, copy or insert"
            )),
        }
    }
}

/// How a run sends its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `COPY … FROM STDIN (FORMAT binary)` inside the batch's transaction.
    Copy,
    /// Hologres Fixed Copy: `COPY … FROM STDIN WITH (stream_mode true, format binary
    /// [, on_conflict update|ignore])`, autocommitted.
    FixedCopy,
    /// `INSERT … SELECT unnest($1::t[]), … [ON CONFLICT …]`: the Fixed Plan shape.
    Unnest,
    /// `INSERT … VALUES ($1, …), (…) [ON CONFLICT …]`, power-of-two rows per statement.
    Values,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Copy => "binary COPY",
            Method::FixedCopy => "Fixed Copy (COPY stream_mode)",
            Method::Unnest => "INSERT with unnest array parameters (Fixed Plan)",
            Method::Values => "multi-row INSERT … VALUES (Fixed Plan)",
        }
    }
}

/// A Hologres version, `major.minor.fix`, read from `hg_version()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HoloVersion(pub u32, pub u32, pub u32);

impl HoloVersion {
    /// The first versions with each method (holo-client `UnnestUpsertStatementBuilder`:
    /// unnest from 1.1.38; Flink `HologresUtils.chooseBestWriteMode`: COPY stream mode
    /// above 1.3.24).
    pub const UNNEST: HoloVersion = HoloVersion(1, 1, 38);
    pub const FIXED_COPY: HoloVersion = HoloVersion(1, 3, 25);

    /// Parses `Hologres 1.3.17 (tag: release-1.3.x build: …)` as holo-client does
    /// (`ConnectionUtil.getHoloVersion`: `Hologres ([^ -]*)`, parts that are not numbers
    /// read as 0); `None` when there is no version in it.
    pub fn parse(text: &str) -> Option<HoloVersion> {
        let at = text.find("Hologres ")? + "Hologres ".len();
        let word: String = text[at..]
            .chars()
            .take_while(|c| *c != ' ' && *c != '-')
            .collect();
        let mut parts = word.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let v = HoloVersion(
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        );
        (v != HoloVersion(0, 0, 0)).then_some(v)
    }
}

impl fmt::Display for HoloVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What the choice depends on besides the dialect and the version.
#[derive(Debug, Clone, Copy)]
pub struct MethodNeeds {
    /// The write resolves key conflicts (or ignores them).
    pub keyed: bool,
    /// Some left-out columns are reset to their default on conflict: only an `INSERT` can
    /// say `= DEFAULT`.
    pub defaults: bool,
    /// Some columns cannot go through `unnest`: arrays (it would flatten them), and on
    /// Hologres `time` and `uuid`, which holo-client writes with `VALUES` too
    /// (`StatementBuilderUtil.isTypeSupportForUnnest`).
    pub arrays: bool,
    /// Some columns are of a type holo-client's binary COPY does not send (`uuid`:
    /// `RecordBinaryOutputStream`), so Fixed Copy is not tried.
    pub no_copy: bool,
}

/// Whether Fixed Copy may take over from the INSERT [`choose`] picks for `auto` on
/// Hologres, once a probe on the server shows it works (the Flink connector's `AUTO` picks
/// it above 1.3.24: `HologresUtils.chooseBestWriteMode`).
pub fn fixed_copy_candidate(
    forced: WriteMethod,
    dialect: Dialect,
    version: Option<HoloVersion>,
    needs: MethodNeeds,
) -> bool {
    forced == WriteMethod::Auto
        && dialect == Dialect::Hologres
        && version.is_some_and(|v| v >= HoloVersion::FIXED_COPY)
        && !needs.defaults
        && !needs.no_copy
}

/// Picks the method; an error says why a forced one cannot be used.
pub fn choose(
    forced: WriteMethod,
    dialect: Dialect,
    version: Option<HoloVersion>,
    needs: MethodNeeds,
) -> Result<Method, String> {
    let insert = match (dialect, version) {
        _ if needs.arrays => Method::Values,
        (Dialect::Hologres, Some(v)) if v < HoloVersion::UNNEST => Method::Values,
        _ => Method::Unnest,
    };
    match (forced, dialect) {
        (WriteMethod::Insert, _) => Ok(insert),
        (WriteMethod::Auto, Dialect::Postgres) if needs.keyed => Ok(insert),
        (WriteMethod::Auto, Dialect::Postgres) => Ok(Method::Copy),
        (WriteMethod::Copy, Dialect::Postgres) if !needs.keyed => Ok(Method::Copy),
        (WriteMethod::Copy, Dialect::Postgres) => Err(
            "PostgreSQL's COPY cannot resolve key conflicts: use --mode insert with \
             --write-method copy, or --write-method insert"
                .into(),
        ),
        (WriteMethod::Copy, Dialect::Hologres) if needs.defaults => Err(
            "insert-or-replace resets the left-out columns that have a default to it, which \
             COPY cannot do: use --write-method insert, or output those columns"
                .into(),
        ),
        (WriteMethod::Copy, Dialect::Hologres) if needs.no_copy => Err(
            "a column is of a type Fixed Copy is not sent in (uuid): use --write-method insert"
                .into(),
        ),
        (WriteMethod::Copy, Dialect::Hologres) => Ok(Method::FixedCopy),
        // Fixed Copy only after a probe ([`fixed_copy_candidate`]).
        (WriteMethod::Auto, Dialect::Hologres) => Ok(insert),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_holo_client_reads_them() {
        let v = |s| HoloVersion::parse(s);
        assert_eq!(
            v("Hologres 0.11.1 (tag: release-0.11.x build: Release,Skylake,clang,no-coroutine)"),
            Some(HoloVersion(0, 11, 1))
        );
        assert_eq!(v("Hologres 1.3.17"), Some(HoloVersion(1, 3, 17)));
        assert_eq!(v("Hologres 2.2.25-rc1"), Some(HoloVersion(2, 2, 25)));
        assert_eq!(v("Hologres 3.1"), Some(HoloVersion(3, 1, 0)));
        assert_eq!(v("Hologres r.2.x"), Some(HoloVersion(0, 2, 0)));
        assert_eq!(v("PostgreSQL 11.3"), None);
        assert_eq!(v("Hologres x"), None);
        assert!(HoloVersion(1, 1, 38) > HoloVersion(1, 1, 9));
        assert_eq!(HoloVersion(1, 3, 25).to_string(), "1.3.25");
    }

    #[test]
    fn methods_by_dialect_version_and_mode() {
        use Dialect::*;
        use WriteMethod::*;
        let keyed = MethodNeeds {
            keyed: true,
            defaults: false,
            arrays: false,
            no_copy: false,
        };
        let plain = MethodNeeds {
            keyed: false,
            ..keyed
        };
        let v = |a, b, c| Some(HoloVersion(a, b, c));
        assert_eq!(choose(Auto, Postgres, None, plain), Ok(Method::Copy));
        assert_eq!(choose(Auto, Postgres, None, keyed), Ok(Method::Unnest));
        assert_eq!(choose(Insert, Postgres, None, plain), Ok(Method::Unnest));
        assert!(
            choose(Copy, Postgres, None, keyed)
                .unwrap_err()
                .contains("--mode insert")
        );
        // Hologres: VALUES before 1.1.38, then unnest; Fixed Copy a candidate from 1.3.25.
        assert_eq!(
            choose(Auto, Hologres, v(1, 1, 37), keyed),
            Ok(Method::Values)
        );
        assert_eq!(
            choose(Auto, Hologres, v(1, 1, 38), keyed),
            Ok(Method::Unnest)
        );
        assert_eq!(
            choose(Auto, Hologres, v(1, 3, 25), keyed),
            Ok(Method::Unnest)
        );
        let candidate = |v, needs| fixed_copy_candidate(Auto, Hologres, v, needs);
        assert!(!candidate(v(1, 3, 24), keyed));
        assert!(candidate(v(1, 3, 25), keyed));
        assert!(candidate(v(2, 2, 25), plain));
        assert!(!fixed_copy_candidate(Insert, Hologres, v(3, 0, 0), keyed));
        assert!(!fixed_copy_candidate(Auto, Postgres, None, keyed));
        assert_eq!(
            choose(Insert, Hologres, v(3, 0, 0), keyed),
            Ok(Method::Unnest)
        );
        assert_eq!(
            choose(Insert, Hologres, v(1, 0, 0), keyed),
            Ok(Method::Values)
        );
        assert_eq!(
            choose(Copy, Hologres, v(1, 0, 0), keyed),
            Ok(Method::FixedCopy)
        );
        // The dialect forced on a server without `hg_version()`: unnest.
        assert_eq!(choose(Auto, Hologres, None, keyed), Ok(Method::Unnest));
        // Defaults to reset keep the INSERT.
        let defaults = MethodNeeds {
            defaults: true,
            ..keyed
        };
        // Arrays go by VALUES wherever unnest would be used.
        let arrays = MethodNeeds {
            arrays: true,
            ..keyed
        };
        assert_eq!(choose(Auto, Postgres, None, arrays), Ok(Method::Values));
        assert_eq!(
            choose(Auto, Hologres, v(1, 3, 0), arrays),
            Ok(Method::Values)
        );
        assert!(candidate(v(3, 0, 0), arrays));
        assert!(!candidate(v(3, 0, 0), defaults));
        let uuid = MethodNeeds {
            no_copy: true,
            ..keyed
        };
        assert!(!candidate(v(3, 0, 0), uuid));
        assert!(choose(Copy, Hologres, v(3, 0, 0), uuid).is_err());
        assert!(choose(Copy, Hologres, v(3, 0, 0), defaults).is_err());
        assert!("COPY".parse::<WriteMethod>() == Ok(Copy));
        assert!(
            "bulk"
                .parse::<WriteMethod>()
                .unwrap_err()
                .contains("`bulk`")
        );
    }
}
