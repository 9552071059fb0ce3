//! The values that cross the [`Sql`](super::Sql) interface: parameters going in and columns
//! coming out, the same for every backend.
//!
//! Four kinds are enough for the store: integers, text, bytes and null. Booleans are stored as
//! the integers 0 and 1 on every backend, so a column written on SQLite reads the same on
//! PostgreSQL; a PostgreSQL expression of type `boolean` (`x IS NOT NULL`) comes back as one too.

use crate::StoreError;

/// One parameter or column value.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer; booleans are 0 or 1.
    Integer(i64),
    /// UTF-8 text.
    Text(String),
    /// Bytes (sealed values, wrapped keys).
    Bytes(Vec<u8>),
}

impl std::fmt::Debug for Value {
    // Values may be sealed bytes or identifiers: say only what kind of value it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Integer(_) => f.write_str("Integer(..)"),
            Self::Text(_) => f.write_str("Text(..)"),
            Self::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// Turns a Rust value into a parameter. Implemented for the types the store binds; the
/// [`params!`](crate::params) macro calls it on each argument.
pub trait ToValue {
    /// The parameter.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Integer(*self)
    }
}

impl ToValue for i32 {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// Builds the parameter slice of a statement: `params![tenant, patient.as_str(), at]` binds
/// `$1`, `$2` and `$3`.
#[macro_export]
#[doc(hidden)]
macro_rules! params {
    () => {
        &[] as &[$crate::db::Value]
    };
    ($($value:expr),+ $(,)?) => {
        &[$($crate::db::ToValue::to_value(&$value)),+] as &[$crate::db::Value]
    };
}

/// Reads a column into a Rust type; a column of another kind is refused, never coerced.
pub trait FromValue: Sized {
    /// What the column should have held, for the error.
    const EXPECTED: &'static str;
    /// The value, or `None` if the column holds another kind.
    fn from_value(value: Value) -> Option<Self>;
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Integer(i) => Some(i),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    const EXPECTED: &'static str = "a 32-bit unsigned integer";
    fn from_value(value: Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| u32::try_from(i).ok())
    }
}

impl FromValue for u64 {
    const EXPECTED: &'static str = "an unsigned integer";
    fn from_value(value: Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| u64::try_from(i).ok())
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_value(value: Value) -> Option<Self> {
        i64::from_value(value).map(|i| i != 0)
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "bytes";
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

impl FromValue for Value {
    const EXPECTED: &'static str = "any value";
    fn from_value(value: Value) -> Option<Self> {
        Some(value)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row: its columns in `SELECT` order.
#[derive(Debug)]
pub struct Row(Vec<Value>);

impl Row {
    pub(crate) fn new(columns: Vec<Value>) -> Self {
        Self(columns)
    }

    /// Column `index` (from 0) as `T`; a missing column or one of another kind is an error.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        self.0
            .get(index)
            .cloned()
            .and_then(T::from_value)
            .ok_or(column_error::<T>(index))
    }

    /// Takes column `index` out of the row without copying it (for large sealed bodies).
    pub fn take<T: FromValue>(&mut self, index: usize) -> Result<T, StoreError> {
        self.0
            .get_mut(index)
            .map(|slot| std::mem::replace(slot, Value::Null))
            .and_then(T::from_value)
            .ok_or(column_error::<T>(index))
    }
}

fn column_error<T: FromValue>(index: usize) -> StoreError {
    StoreError::Column {
        index,
        expected: T::EXPECTED,
    }
}
