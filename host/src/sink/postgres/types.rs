//! The vocabulary of the PostgreSQL sink, shared by the catalog, the encoder and the
//! statements: column types, how one column is encoded, and why a value does not fit.

use std::fmt;

use crate::record::ColumnType;

/// The column types the sink can write (in the binary COPY format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgType {
    Text,
    Varchar,
    Bpchar,
    Name,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Bool,
    Date,
    Timestamp,
    Timestamptz,
    Json,
    Jsonb,
    Uuid,
    Bytea,
    Time,
    Timetz,
    /// One-dimensional arrays: the array types holo-client writes.
    Int4Array,
    Int8Array,
    Float4Array,
    Float8Array,
    BoolArray,
    TextArray,
}

impl PgType {
    /// Every supported type, for error messages.
    pub const ALL: [PgType; 26] = [
        PgType::Text,
        PgType::Varchar,
        PgType::Bpchar,
        PgType::Name,
        PgType::Int2,
        PgType::Int4,
        PgType::Int8,
        PgType::Float4,
        PgType::Float8,
        PgType::Numeric,
        PgType::Bool,
        PgType::Date,
        PgType::Timestamp,
        PgType::Timestamptz,
        PgType::Json,
        PgType::Jsonb,
        PgType::Uuid,
        PgType::Bytea,
        PgType::Time,
        PgType::Timetz,
        PgType::Int4Array,
        PgType::Int8Array,
        PgType::Float4Array,
        PgType::Float8Array,
        PgType::BoolArray,
        PgType::TextArray,
    ];

    /// The type of a built-in type OID (`pg_type.oid`), if the sink supports it.
    pub fn from_oid(oid: u32) -> Option<PgType> {
        Some(match oid {
            25 => PgType::Text,
            1043 => PgType::Varchar,
            1042 => PgType::Bpchar,
            19 => PgType::Name,
            21 => PgType::Int2,
            23 => PgType::Int4,
            20 => PgType::Int8,
            700 => PgType::Float4,
            701 => PgType::Float8,
            1700 => PgType::Numeric,
            16 => PgType::Bool,
            1082 => PgType::Date,
            1114 => PgType::Timestamp,
            1184 => PgType::Timestamptz,
            114 => PgType::Json,
            3802 => PgType::Jsonb,
            2950 => PgType::Uuid,
            17 => PgType::Bytea,
            1083 => PgType::Time,
            1266 => PgType::Timetz,
            1007 => PgType::Int4Array,
            1016 => PgType::Int8Array,
            1021 => PgType::Float4Array,
            1022 => PgType::Float8Array,
            1000 => PgType::BoolArray,
            1009 => PgType::TextArray,
            _ => return None,
        })
    }

    /// The built-in type's OID (`pg_type.oid`).
    pub fn oid(self) -> u32 {
        match self {
            PgType::Text => 25,
            PgType::Varchar => 1043,
            PgType::Bpchar => 1042,
            PgType::Name => 19,
            PgType::Int2 => 21,
            PgType::Int4 => 23,
            PgType::Int8 => 20,
            PgType::Float4 => 700,
            PgType::Float8 => 701,
            PgType::Numeric => 1700,
            PgType::Bool => 16,
            PgType::Date => 1082,
            PgType::Timestamp => 1114,
            PgType::Timestamptz => 1184,
            PgType::Json => 114,
            PgType::Jsonb => 3802,
            PgType::Uuid => 2950,
            PgType::Bytea => 17,
            PgType::Time => 1083,
            PgType::Timetz => 1266,
            PgType::Int4Array => 1007,
            PgType::Int8Array => 1016,
            PgType::Float4Array => 1021,
            PgType::Float8Array => 1022,
            PgType::BoolArray => 1000,
            PgType::TextArray => 1009,
        }
    }

    /// The short name (`pg_type.typname`), as in ``column `n` (int8)``.
    pub fn name(self) -> &'static str {
        match self {
            PgType::Text => "text",
            PgType::Varchar => "varchar",
            PgType::Bpchar => "bpchar",
            PgType::Name => "name",
            PgType::Int2 => "int2",
            PgType::Int4 => "int4",
            PgType::Int8 => "int8",
            PgType::Float4 => "float4",
            PgType::Float8 => "float8",
            PgType::Numeric => "numeric",
            PgType::Bool => "bool",
            PgType::Date => "date",
            PgType::Timestamp => "timestamp",
            PgType::Timestamptz => "timestamptz",
            PgType::Json => "json",
            PgType::Jsonb => "jsonb",
            PgType::Uuid => "uuid",
            PgType::Bytea => "bytea",
            PgType::Time => "time",
            PgType::Timetz => "timetz",
            PgType::Int4Array => "int4[]",
            PgType::Int8Array => "int8[]",
            PgType::Float4Array => "float4[]",
            PgType::Float8Array => "float8[]",
            PgType::BoolArray => "bool[]",
            PgType::TextArray => "text[]",
        }
    }

    /// The element type of an array type.
    pub fn element(self) -> Option<PgType> {
        Some(match self {
            PgType::Int4Array => PgType::Int4,
            PgType::Int8Array => PgType::Int8,
            PgType::Float4Array => PgType::Float4,
            PgType::Float8Array => PgType::Float8,
            PgType::BoolArray => PgType::Bool,
            PgType::TextArray => PgType::Text,
            _ => return None,
        })
    }

    /// Types whose wire form is the text itself: any value goes in as its text form.
    pub fn is_text_like(self) -> bool {
        matches!(
            self,
            PgType::Text | PgType::Varchar | PgType::Bpchar | PgType::Name
        )
    }

    /// Whether values of a transform column type can be written to this type. Text is
    /// parsed into any type, so it fits all; typed values fit their own kind and text.
    pub fn accepts(self, ty: ColumnType) -> bool {
        use PgType::*;
        self.is_text_like()
            || match ty {
                ColumnType::Text => true,
                ColumnType::Int => matches!(self, Int2 | Int4 | Int8 | Float4 | Float8 | Numeric),
                ColumnType::Float => matches!(self, Float4 | Float8 | Numeric),
                ColumnType::Boolean => self == Bool,
                ColumnType::Json => matches!(self, Json | Jsonb) || self.element().is_some(),
            }
    }
}

impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `numeric(precision, scale)` of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typmod {
    pub precision: u16,
    /// May be negative (PostgreSQL 15+): rounds to tens, hundreds, ...
    pub scale: i16,
}

impl Typmod {
    /// Decodes `atttypmod` of a numeric column; `None` for plain `numeric`.
    pub fn from_atttypmod(typmod: i32) -> Option<Typmod> {
        if typmod < 4 {
            return None;
        }
        let t = typmod - 4;
        Some(Typmod {
            precision: ((t >> 16) & 0xffff) as u16,
            // The scale is an 11-bit two's-complement field.
            scale: (((t & 0x7ff) ^ 1024) - 1024) as i16,
        })
    }
}

/// Longest `name` in bytes (NAMEDATALEN - 1).
pub const NAME_MAX_BYTES: usize = 63;

/// How the values of one output column are encoded for its table column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnCodec {
    pub name: String,
    pub ty: PgType,
    pub not_null: bool,
    /// Longest value in characters, for `varchar(n)` and `char(n)`.
    pub max_chars: Option<usize>,
    /// `numeric(precision, scale)`.
    pub numeric: Option<Typmod>,
    /// For `timestamptz`: the zone text without an offset is read in (the session's
    /// TimeZone, as the server's own input does); `None` for UTC.
    pub zone: Option<chrono_tz::Tz>,
}

impl ColumnCodec {
    /// `typmod` is the column's `atttypmod` (-1 when the type has no modifier).
    pub fn new(name: String, ty: PgType, typmod: i32, not_null: bool) -> ColumnCodec {
        let max_chars = match ty {
            PgType::Varchar | PgType::Bpchar if typmod >= 4 => Some((typmod - 4) as usize),
            _ => None,
        };
        let numeric = match ty {
            PgType::Numeric => Typmod::from_atttypmod(typmod),
            _ => None,
        };
        ColumnCodec {
            name,
            ty,
            not_null,
            max_chars,
            numeric,
            zone: None,
        }
    }
}

/// Buffers reused across values so that numeric conversions do not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    pub text: String,
    pub digits: Vec<u8>,
}

/// Why a value cannot be written to its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Null in a NOT NULL column; `empty` when it was an empty text.
    Null {
        empty: bool,
    },
    NotInteger,
    OutOfRange,
    NotNumber,
    NotBoolean,
    NotDate,
    NotTimestamp,
    NotTimestamptz,
    NotUuid,
    NotTime,
    NotTimetz,
    /// Not bytea's hex (`\x…`) or escape input; why.
    NotBytea(&'static str),
    /// Not a one-dimensional array of the element type; why.
    NotArray(String),
    InvalidJson(String),
    /// `\u0000` in a jsonb value.
    JsonbNul,
    TooLong(usize),
    NameTooLong,
    TooBig,
    NumericOverflow(Typmod),
    /// A typed value of a kind the column does not take (`a boolean` into `date`).
    Incompatible(&'static str),
}

impl Problem {
    /// What is wrong, to follow the quoted value: "is not an integer".
    pub fn describe(&self, ty: PgType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The row error leaves out the value for these.
            Problem::Null { empty: false } => f.write_str("null in a NOT NULL column"),
            Problem::Null { empty: true } => f.write_str("empty value (null) in a NOT NULL column"),
            Problem::NotInteger => f.write_str("is not an integer"),
            Problem::OutOfRange => write!(f, "is out of range for {ty}"),
            Problem::NotNumber => f.write_str("is not a number"),
            Problem::NotBoolean => {
                f.write_str("is not a boolean (use true/false, t/f, yes/no or 1/0)")
            }
            Problem::NotDate => f.write_str("is not a date (expected YYYY-MM-DD)"),
            Problem::NotTimestamp => {
                f.write_str("is not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])")
            }
            Problem::NotTimestamptz => {
                f.write_str("is not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff][Z|+HH:MM])")
            }
            Problem::NotUuid => f.write_str("is not a UUID"),
            Problem::NotTime => f.write_str("is not a time of day (expected HH:MM[:SS[.ffffff]])"),
            Problem::NotTimetz => {
                f.write_str("is not a time of day (expected HH:MM[:SS[.ffffff]][Z|+HH[:MM]])")
            }
            Problem::NotBytea(why) => write!(f, "is not bytea input ({why})"),
            Problem::NotArray(why) => write!(f, "is not a one-dimensional {ty} ({why})"),
            Problem::InvalidJson(e) => write!(f, "is not valid JSON ({e})"),
            Problem::JsonbNul => f.write_str("holds \\u0000, which jsonb cannot store"),
            Problem::TooLong(n) => write!(f, "is longer than {n} characters"),
            Problem::NameTooLong => write!(f, "is longer than {NAME_MAX_BYTES} bytes"),
            Problem::TooBig => f.write_str("is larger than the 1 GB PostgreSQL allows"),
            Problem::NumericOverflow(t) => {
                write!(f, "does not fit numeric({},{})", t.precision, t.scale)
            }
            Problem::Incompatible(kind) => write!(f, "is {kind}, which cannot be written to {ty}"),
        }
    }
}
