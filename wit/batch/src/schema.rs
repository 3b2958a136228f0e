//! The schema types both sides of a batch agree on: columns and their types (the WIT
//! `column` and `column-type`), defined once for the host and the guest SDK.

use std::fmt;
use std::str::FromStr;

/// The type of a column (mirrors the WIT `column-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// 64-bit signed integer.
    Int,
    /// 64-bit IEEE 754 float.
    Float,
    /// true or false.
    Boolean,
    /// UTF-8 text that holds one JSON document.
    Json,
}

impl ColumnType {
    /// Every type, in the order of the WIT enum.
    pub const ALL: [ColumnType; 5] = [
        ColumnType::Text,
        ColumnType::Int,
        ColumnType::Float,
        ColumnType::Boolean,
        ColumnType::Json,
    ];

    /// The type's name as settings spell it (`text`, `int`, `float`, `boolean`, `json`).
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::Json => "json",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A type name that is none of `text`, `int`, `float`, `boolean`, `json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownColumnType(pub String);

impl fmt::Display for UnknownColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown column type `{}` (types: text, int, float, boolean, json)",
            self.0
        )
    }
}

impl std::error::Error for UnknownColumnType {}

impl FromStr for ColumnType {
    type Err = UnknownColumnType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ColumnType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownColumnType(s.to_owned()))
    }
}

/// One column of a record schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Column {
            name: name.into(),
            ty,
        }
    }

    /// A `text` column, the type of everything a CSV file or Log Service delivers.
    pub fn text(name: impl Into<String>) -> Self {
        Column::new(name, ColumnType::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_type_names_round_trip() {
        for t in ColumnType::ALL {
            assert_eq!(t.name().parse::<ColumnType>(), Ok(t));
            assert_eq!(t.to_string(), t.name());
        }
        let err = "integer".parse::<ColumnType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown column type `integer` (types: text, int, float, boolean, json)"
        );
    }
}
