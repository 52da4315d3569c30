//! Serde helpers that make the prost types read and write JSON the way Go's encoding/json does
//! for OpenIM's generated structs. build.rs attaches them per field; they are public only so the
//! generated code can name them.
//!
//! Reading is deliberately more lenient than Go: `null` is the zero value for every field (Go does
//! the same), integers may also come as decimal strings (protobuf's canonical JSON writes 64-bit
//! integers that way), and base64 may be unpadded or URL-safe.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// Reads `null` as `T::default()`, anything else as `T`.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An integer type as found in protobuf messages.
pub trait JsonInt: Sized + Default + Copy + std::str::FromStr {
    fn from_i64(v: i64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
}

macro_rules! json_int {
    ($($t:ty),*) => {$(
        impl JsonInt for $t {
            fn from_i64(v: i64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            fn from_u64(v: u64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    )*};
}
json_int!(i32, i64, u32, u64);

struct IntVisitor<T>(PhantomData<T>);

impl<'de, T: JsonInt> Visitor<'de> for IntVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, a decimal string or null")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::from_i64(v).ok_or_else(|| E::custom(format!("integer {v} out of range")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_u64(v).ok_or_else(|| E::custom(format!("integer {v} out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // Integral floats (e.g. 1e3 or 5.0 from a JavaScript client) are accepted; Go would not.
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v <= i64::MAX as f64 {
            self.visit_i64(v as i64)
        } else {
            Err(E::custom(format!("{v} is not an integer")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("{v:?} is not an integer")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

/// An integer field: a number, a decimal string, or null (zero).
pub fn int<'de, D: Deserializer<'de>, T: JsonInt>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(IntVisitor(PhantomData))
}

/// Wraps one integer so it can be read inside sequences and maps.
struct Int<T>(T);

impl<'de, T: JsonInt> Deserialize<'de> for Int<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        int(d).map(Int)
    }
}

/// A repeated integer field; null is the empty list.
pub fn int_vec<'de, D: Deserializer<'de>, T: JsonInt>(d: D) -> Result<Vec<T>, D::Error> {
    let v: Option<Vec<Int<T>>> = Option::deserialize(d)?;
    Ok(v.unwrap_or_default().into_iter().map(|i| i.0).collect())
}

/// A map with integer values (keys are strings in every OpenIM map); null is the empty map.
pub fn int_map<'de, D, K, T>(d: D) -> Result<BTreeMap<K, T>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    T: JsonInt,
{
    let v: Option<BTreeMap<K, Int<T>>> = Option::deserialize(d)?;
    Ok(v.unwrap_or_default()
        .into_iter()
        .map(|(k, i)| (k, i.0))
        .collect())
}

/// `bytes` fields: standard base64 with padding on output (Go's encoding of `[]byte`).
pub mod base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = Option::deserialize(d)?;
        match text {
            None => Ok(Vec::new()),
            Some(t) => decode(&t).map_err(de::Error::custom),
        }
    }

    /// Decodes standard base64, also accepting missing padding and the URL-safe alphabet.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let t = text.trim();
        let engine = if t.contains(['-', '_']) {
            if t.ends_with('=') {
                URL_SAFE
            } else {
                URL_SAFE_NO_PAD
            }
        } else if t.ends_with('=') || t.len().is_multiple_of(4) {
            STANDARD
        } else {
            STANDARD_NO_PAD
        };
        engine.decode(t).map_err(|e| format!("invalid base64: {e}"))
    }
}

/// `openim.protobuf.*Value` fields: a plain JSON scalar when set, `null` when not.
pub mod wrapper {
    use crate::pb::protobuf::{
        BoolValue, BytesValue, DoubleValue, FloatValue, Int32Value, Int64Value, StringValue,
        UInt32Value, UInt64Value,
    };
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A wrapper message around one scalar `value`.
    pub trait Wrapper: Sized {
        fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
        /// Reads the plain scalar; `None` for JSON null.
        fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error>;
    }

    macro_rules! plain {
        ($($w:ty => $t:ty),*) => {$(
            impl Wrapper for $w {
                fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    self.value.serialize(s)
                }
                fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                    Ok(Option::<$t>::deserialize(d)?.map(|value| Self { value }))
                }
            }
        )*};
    }
    plain!(BoolValue => bool, StringValue => String, FloatValue => f32, DoubleValue => f64);

    /// Integer wrappers also accept decimal strings.
    struct IntOpt<T>(Option<T>);

    impl<'de, T: super::JsonInt> Deserialize<'de> for IntOpt<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v: Option<super::Int<T>> = Option::deserialize(d)?;
            Ok(IntOpt(v.map(|i| i.0)))
        }
    }

    macro_rules! integer {
        ($($w:ty => $t:ty),*) => {$(
            impl Wrapper for $w {
                fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    self.value.serialize(s)
                }
                fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                    Ok(IntOpt::<$t>::deserialize(d)?.0.map(|value| Self { value }))
                }
            }
        )*};
    }
    integer!(Int32Value => i32, UInt32Value => u32, Int64Value => i64, UInt64Value => u64);

    impl Wrapper for BytesValue {
        fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::base64::serialize(&self.value, s)
        }
        fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            let text: Option<String> = Option::deserialize(d)?;
            text.map(|t| super::base64::decode(&t).map(|value| Self { value }))
                .transpose()
                .map_err(serde::de::Error::custom)
        }
    }

    pub fn serialize<S: Serializer, W: Wrapper>(v: &Option<W>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(w) => w.write(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, W: Wrapper>(d: D) -> Result<Option<W>, D::Error> {
        W::read(d)
    }
}
