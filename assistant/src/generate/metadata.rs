//! Typed, checked access to a GGUF file's metadata table. Everything in a model
//! file is input: a missing key or a value of the wrong type is an
//! [`AssistantError::ModelFormat`] naming the file and the key, never a panic.

use crate::AssistantError;
use candle_core::quantized::gguf_file::Value;
use std::collections::HashMap;
use std::path::Path;

/// The metadata of one GGUF file, with the file's path for error messages.
pub(crate) struct Metadata<'a> {
    path: &'a Path,
    map: &'a HashMap<String, Value>,
}

impl<'a> Metadata<'a> {
    pub(crate) fn new(path: &'a Path, map: &'a HashMap<String, Value>) -> Self {
        Self { path, map }
    }

    pub(crate) fn error(&self, reason: impl Into<String>) -> AssistantError {
        AssistantError::ModelFormat {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, value: &Value) -> AssistantError {
        self.error(format!(
            "metadata `{key}` is {:?}, expected {expected}",
            value.value_type()
        ))
    }

    fn required(&self, key: &str) -> Result<&'a Value, AssistantError> {
        self.map
            .get(key)
            .ok_or_else(|| self.error(format!("metadata `{key}` is missing")))
    }

    /// A string value, `None` when the key is absent.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, AssistantError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// A required string value.
    pub(crate) fn str(&self, key: &str) -> Result<&'a str, AssistantError> {
        self.opt_str(key)?
            .ok_or_else(|| self.error(format!("metadata `{key}` is missing")))
    }

    /// A non-negative integer of any integer type, `None` when absent.
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, AssistantError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(value) => integer(value)
                .ok_or_else(|| self.wrong_type(key, "a non-negative integer", value))
                .map(Some),
        }
    }

    /// A required non-negative integer.
    pub(crate) fn u64(&self, key: &str) -> Result<u64, AssistantError> {
        self.opt_u64(key)?
            .ok_or_else(|| self.error(format!("metadata `{key}` is missing")))
    }

    /// A float (f32 or f64), `None` when absent.
    pub(crate) fn opt_f32(&self, key: &str) -> Result<Option<f32>, AssistantError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::F32(v)) => Ok(Some(*v)),
            Some(Value::F64(v)) => Ok(Some(*v as f32)),
            Some(other) => Err(self.wrong_type(key, "a float", other)),
        }
    }

    /// A required array of strings.
    pub(crate) fn str_array(&self, key: &str) -> Result<Vec<&'a str>, AssistantError> {
        let value = self.required(key)?;
        let Value::Array(items) = value else {
            return Err(self.wrong_type(key, "an array of strings", value));
        };
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.as_str()),
                other => Err(self.wrong_type(key, "an array of strings", other)),
            })
            .collect()
    }

    /// An array of integers, `None` when absent.
    pub(crate) fn opt_int_array(&self, key: &str) -> Result<Option<Vec<i64>>, AssistantError> {
        let Some(value) = self.map.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(key, "an array of integers", value));
        };
        items
            .iter()
            .map(|item| signed(item).ok_or_else(|| self.wrong_type(key, "an integer", item)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn integer(value: &Value) -> Option<u64> {
    match *value {
        Value::U8(v) => Some(v.into()),
        Value::U16(v) => Some(v.into()),
        Value::U32(v) => Some(v.into()),
        Value::U64(v) => Some(v),
        Value::I8(v) => u64::try_from(v).ok(),
        Value::I16(v) => u64::try_from(v).ok(),
        Value::I32(v) => u64::try_from(v).ok(),
        Value::I64(v) => u64::try_from(v).ok(),
        _ => None,
    }
}

fn signed(value: &Value) -> Option<i64> {
    match *value {
        Value::U8(v) => Some(v.into()),
        Value::U16(v) => Some(v.into()),
        Value::U32(v) => Some(v.into()),
        Value::U64(v) => i64::try_from(v).ok(),
        Value::I8(v) => Some(v.into()),
        Value::I16(v) => Some(v.into()),
        Value::I32(v) => Some(v.into()),
        Value::I64(v) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_and_errors() {
        let mut map = HashMap::new();
        map.insert("a".to_owned(), Value::U32(7));
        map.insert("s".to_owned(), Value::String("x".into()));
        map.insert("neg".to_owned(), Value::I32(-1));
        map.insert(
            "arr".to_owned(),
            Value::Array(vec![Value::I32(1), Value::I32(3)]),
        );
        let md = Metadata::new(Path::new("m.gguf"), &map);
        assert_eq!(md.u64("a").unwrap(), 7);
        assert_eq!(md.str("s").unwrap(), "x");
        assert_eq!(md.opt_str("missing").unwrap(), None);
        assert_eq!(md.opt_int_array("arr").unwrap(), Some(vec![1, 3]));
        let err = md.u64("neg").unwrap_err().to_string();
        assert!(err.contains("m.gguf") && err.contains("neg"), "{err}");
        assert!(md.str("a").is_err());
        assert!(md.str_array("s").is_err());
        assert!(
            md.u64("missing")
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
    }
}
