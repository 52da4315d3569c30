//! The stored shape of a chat message: what a send appends to the log and every projection
//! reads. It mirrors `sdkws.MsgData` (protocol.md §3) field for field; `rill-wire` converts
//! between the two. Serialized with named fields (MessagePack maps) so fields can be added.
//! Optional text and list fields that are empty are left out (readers fill in the default): a
//! single-chat text message carries five of them empty, and every message is written to Redis
//! twice, read by three groups and stored in Mongo at least once. Fields that Mongo queries
//! filter on (`status`, `is_read`, `seq`) are always written: a filter does not match a missing
//! field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OfflinePushInfo {
    pub title: String,
    pub desc: String,
    pub ex: String,
    pub ios_push_sound: String,
    pub ios_badge_count: bool,
    pub signal_info: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    pub send_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub recv_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group_id: String,
    pub client_msg_id: String,
    pub server_msg_id: String,
    pub sender_platform_id: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sender_nickname: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sender_face_url: String,
    pub session_type: i32,
    pub msg_from: i32,
    pub content_type: i32,
    /// UTF-8 JSON text of the content element.
    #[serde(with = "serde_bytes_compat")]
    pub content: Vec<u8>,
    /// Per-conversation seq; 0 until the log assigns it.
    pub seq: i64,
    pub send_time: i64,
    pub create_time: i64,
    pub status: i32,
    pub is_read: bool,
    pub options: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_push_info: Option<OfflinePushInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub at_user_id_list: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub attached_info: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ex: String,
}

/// Serializes `Vec<u8>` as a MessagePack `bin` instead of an array of integers.
mod serde_bytes_compat {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
                Ok(v.as_bytes().to_vec())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

impl Message {
    /// The conversation this message is stored in, honouring `isNotNotification`.
    pub fn conversation_id(&self) -> Option<String> {
        let chat = crate::conversation::conversation_id_for(
            self.session_type,
            &self.send_id,
            &self.recv_id,
            &self.group_id,
        )?;
        if crate::options::is_set(&self.options, crate::options::IS_NOT_NOTIFICATION) {
            Some(chat)
        } else {
            Some(crate::conversation::notification_twin(&chat))
        }
    }
}
