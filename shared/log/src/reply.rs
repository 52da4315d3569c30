//! Stream replies (XREAD, XREADGROUP, XRANGE) taken apart by hand, owning their bytes.
//!
//! redis-rs's typed stream replies build a `HashMap` per entry and clone every field value out
//! of the parsed reply. Every entry is read by three consumer groups and every delivery by a
//! gateway, and that conversion was ~7% of the server's CPU in the closed-loop benchmark. Here
//! an entry keeps its few fields in a `Vec`, and the payload moves out of the parsed `Value`
//! without a copy.

use crate::LogError;
use redis::Value;

/// One stream entry: its id and its fields in stream order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Entry {
    pub id: String,
    pub fields: Vec<(String, Value)>,
}

impl Entry {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// A field's bytes, if it is a string.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        match self.field(name)? {
            Value::BulkString(b) => Some(b),
            Value::SimpleString(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// A field as UTF-8 text.
    pub fn text(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(self.bytes(name)?).ok()
    }
}

impl From<redis::streams::StreamId> for Entry {
    fn from(s: redis::streams::StreamId) -> Self {
        Self {
            id: s.id,
            fields: s.map.into_iter().collect(),
        }
    }
}

/// An XREAD / XREADGROUP reply: each stream key with its entries. Nil (the BLOCK ran out)
/// is no streams.
pub(crate) fn read(reply: Value) -> Result<Vec<(String, Vec<Entry>)>, LogError> {
    match reply {
        Value::Nil => Ok(Vec::new()),
        // RESP2: [[key, entries], …]
        Value::Array(streams) => streams
            .into_iter()
            .map(|stream| {
                let Value::Array(pair) = stream else {
                    return Err(unexpected("a [key, entries] pair", &stream));
                };
                let mut pair = pair.into_iter();
                Ok((
                    string(pair.next())?,
                    range(pair.next().unwrap_or(Value::Nil))?,
                ))
            })
            .collect(),
        // RESP3: {key: entries, …}
        Value::Map(streams) => streams
            .into_iter()
            .map(|(key, entries)| Ok((string(Some(key))?, range(entries)?)))
            .collect(),
        other => Err(unexpected("a stream read reply", &other)),
    }
}

/// An XRANGE reply, or one stream's entries in an XREAD reply.
pub(crate) fn range(reply: Value) -> Result<Vec<Entry>, LogError> {
    match reply {
        Value::Nil => Ok(Vec::new()),
        Value::Array(entries) => entries.into_iter().map(entry).collect(),
        other => Err(unexpected("a list of entries", &other)),
    }
}

/// `[id, [field, value, …]]`; the fields are nil for an entry deleted while pending.
fn entry(v: Value) -> Result<Entry, LogError> {
    let Value::Array(parts) = v else {
        return Err(unexpected("an [id, fields] entry", &v));
    };
    let mut parts = parts.into_iter();
    let id = string(parts.next())?;
    let fields = match parts.next() {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Array(flat)) => {
            let mut fields = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let Some(name) = flat.next() {
                fields.push((string(Some(name))?, flat.next().unwrap_or(Value::Nil)));
            }
            fields
        }
        Some(Value::Map(pairs)) => pairs
            .into_iter()
            .map(|(name, value)| Ok((string(Some(name))?, value)))
            .collect::<Result<_, LogError>>()?,
        Some(other) => return Err(unexpected("entry fields", &other)),
    };
    Ok(Entry { id, fields })
}

fn string(v: Option<Value>) -> Result<String, LogError> {
    match v {
        Some(Value::BulkString(b)) => {
            String::from_utf8(b).map_err(|e| LogError::Reply(format!("not UTF-8: {e}")))
        }
        Some(Value::SimpleString(s)) => Ok(s),
        Some(Value::VerbatimString { text, .. }) => Ok(text),
        Some(other) => Err(unexpected("a string", &other)),
        None => Err(LogError::Reply("a string is missing".into())),
    }
}

fn unexpected(wanted: &str, got: &Value) -> LogError {
    LogError::Reply(format!("expected {wanted}, got {got:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn entry_value(id: &str, fields: &[(&str, &str)]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(
                fields
                    .iter()
                    .flat_map(|(n, v)| [bulk(n), bulk(v)])
                    .collect(),
            ),
        ])
    }

    #[test]
    fn resp2_and_resp3_reads_give_the_same_entries() {
        let entries = || {
            Value::Array(vec![
                entry_value("0-1", &[("c", "si_a_b"), ("s", "1"), ("e", "x")]),
                Value::Array(vec![bulk("0-2"), Value::Nil]),
            ])
        };
        let resp2 = read(Value::Array(vec![Value::Array(vec![bulk("k"), entries()])]));
        let resp3 = read(Value::Map(vec![(bulk("k"), entries())]));
        let got = resp2.unwrap_or_default();
        assert_eq!(resp3.unwrap_or_default(), got);
        assert_eq!(got.len(), 1);
        let (key, list) = &got[0];
        assert_eq!(key, "k");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, "0-1");
        assert_eq!(list[0].text("c"), Some("si_a_b"));
        assert_eq!(list[0].text("s"), Some("1"));
        assert_eq!(list[0].bytes("e"), Some(&b"x"[..]));
        assert_eq!(list[0].field("missing"), None);
        // Deleted while pending: an id without fields.
        assert_eq!(list[1].id, "0-2");
        assert!(list[1].fields.is_empty());
    }

    #[test]
    fn a_timed_out_read_is_empty_and_garbage_is_an_error() {
        assert_eq!(read(Value::Nil).ok().map(|v| v.len()), Some(0));
        assert!(read(Value::Int(3)).is_err());
        assert!(range(Value::Array(vec![Value::Int(1)])).is_err());
        assert!(range(Value::Array(vec![Value::Array(vec![Value::Int(1)])])).is_err());
    }
}
