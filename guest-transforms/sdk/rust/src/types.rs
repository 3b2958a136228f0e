//! The schema and value types a transform sees: columns and their types (defined in
//! `holo-batch`, shared with the host), and owned values (as lookups return them).

use holo_batch::ValueRef;
pub use holo_batch::{Column, ColumnType, UnknownColumnType};

/// The index of the column named `name`, or an error that lists the available names:
/// ``no column `x` (columns: a, b)``.
pub fn find_column(columns: &[Column], name: &str) -> Result<usize, String> {
    columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| format!("no column `{name}` (columns: {})", column_names(columns)))
}

/// The names of `columns`, comma-separated, for error messages.
pub fn column_names(columns: &[Column]) -> String {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    names.join(", ")
}

/// An owned value, as lookups return it. Borrow it as a [`ValueRef`] to emit it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    /// The value borrowed, ready for [`Emit::value`](crate::Emit::value).
    #[inline]
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Int(i) => ValueRef::Int(*i),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Text(s) => ValueRef::Text(s),
        }
    }

    /// Copies a borrowed value.
    pub fn from_value_ref(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Text(s) => Value::Text(s.to_owned()),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    #[inline]
    fn from(v: &'a Value) -> Self {
        v.as_value_ref()
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_column_lists_names_on_miss() {
        let cols = [Column::text("a"), Column::new("b", ColumnType::Int)];
        assert_eq!(find_column(&cols, "b"), Ok(1));
        assert_eq!(
            find_column(&cols, "c"),
            Err("no column `c` (columns: a, b)".to_owned())
        );
    }

    #[test]
    fn values_borrow_and_copy() {
        let v = Value::from("海辺のカフカ");
        assert_eq!(v.as_value_ref(), ValueRef::Text("海辺のカフカ"));
        assert_eq!(Value::from_value_ref(ValueRef::Int(-3)), Value::Int(-3));
        assert_eq!(Value::from(None::<i64>), Value::Null);
    }
}
