//! What the hot path knows about one group: its status and type, and per member the role and
//! the mute end. Built from the Mongo rows, kept in Redis as a compact JSON copy.

use rill_core::entity::{Group, Member};
use serde::{Deserialize, Serialize};

/// The group's own fields the send path checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFacts {
    /// 0 ok, 1 banned, 2 dismissed, 3 muted.
    #[serde(rename = "s")]
    pub status: i32,
    #[serde(rename = "t")]
    pub group_type: i32,
}

/// One member as the send path sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    pub user_id: String,
    /// 100 owner, 60 admin, 20 member.
    pub role_level: i32,
    /// Muted until this time (ms).
    pub mute_end_time: i64,
}

/// A group at one generation: `group` is `None` when no such group exists (cached too, so an
/// unknown group id costs no Mongo read per send). Members are sorted by user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSnapshot {
    group_id: String,
    group: Option<GroupFacts>,
    members: Vec<MemberFacts>,
}

/// The Redis encoding. `v` lets a later format be told apart (an unknown one is a miss).
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u8,
    g: Option<GroupFacts>,
    m: Vec<(String, i32, i64)>,
}

const FORMAT: u8 = 1;

impl GroupSnapshot {
    pub fn new(group_id: &str, group: Option<GroupFacts>, mut members: Vec<MemberFacts>) -> Self {
        members.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        members.dedup_by(|a, b| a.user_id == b.user_id);
        Self {
            group_id: group_id.to_string(),
            group,
            members,
        }
    }

    /// From the live Mongo rows.
    pub fn from_rows(group_id: &str, group: Option<&Group>, members: &[Member]) -> Self {
        let facts = group.map(|g| GroupFacts {
            status: g.status,
            group_type: g.group_type,
        });
        let members = members
            .iter()
            .map(|m| MemberFacts {
                user_id: m.user_id.clone(),
                role_level: m.role_level,
                mute_end_time: m.mute_end_time,
            })
            .collect();
        Self::new(group_id, facts, members)
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// The group's fields; `None`: no such group.
    pub fn group(&self) -> Option<GroupFacts> {
        self.group
    }

    pub fn member(&self, user_id: &str) -> Option<&MemberFacts> {
        self.members
            .binary_search_by(|m| m.user_id.as_str().cmp(user_id))
            .ok()
            .and_then(|i| self.members.get(i))
    }

    pub fn is_member(&self, user_id: &str) -> bool {
        self.member(user_id).is_some()
    }

    /// Every member, sorted by user id.
    pub fn members(&self) -> &[MemberFacts] {
        &self.members
    }

    pub fn member_ids(&self) -> Vec<String> {
        self.members.iter().map(|m| m.user_id.clone()).collect()
    }

    /// The process cache's cost of holding this snapshot.
    pub(crate) fn weight(&self) -> usize {
        self.members.len() + 1
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Stored {
            v: FORMAT,
            g: self.group,
            m: self
                .members
                .iter()
                .map(|m| (m.user_id.clone(), m.role_level, m.mute_end_time))
                .collect(),
        })
    }

    /// `None` for bytes of another format or corrupt ones (the caller reloads from Mongo).
    pub(crate) fn decode(group_id: &str, bytes: &[u8]) -> Option<Self> {
        let s: Stored = serde_json::from_slice(bytes).ok()?;
        if s.v != FORMAT {
            return None;
        }
        let members =
            s.m.into_iter()
                .map(|(user_id, role_level, mute_end_time)| MemberFacts {
                    user_id,
                    role_level,
                    mute_end_time,
                })
                .collect();
        Some(Self::new(group_id, s.g, members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user_id: &str, role_level: i32, mute_end_time: i64) -> Member {
        Member {
            group_id: "g".into(),
            user_id: user_id.into(),
            role_level,
            mute_end_time,
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_and_looks_up() {
        let group = Group {
            group_id: "g".into(),
            status: 3,
            group_type: 2,
            ..Default::default()
        };
        let rows = [
            member("u3", 20, 5),
            member("u1", 100, 0),
            member("u2", 60, 0),
        ];
        let s = GroupSnapshot::from_rows("g", Some(&group), &rows);
        assert_eq!(s.member_ids(), vec!["u1", "u2", "u3"]);
        assert_eq!(s.member("u3").map(|m| m.mute_end_time), Some(5));
        assert!(!s.is_member("u4"));
        let bytes = s.encode().unwrap();
        let back = GroupSnapshot::decode("g", &bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.group().map(|g| g.status), Some(3));
    }

    #[test]
    fn unknown_groups_and_formats() {
        let none = GroupSnapshot::from_rows("x", None, &[]);
        let back = GroupSnapshot::decode("x", &none.encode().unwrap()).unwrap();
        assert_eq!(back.group(), None);
        assert!(GroupSnapshot::decode("x", br#"{"v":9,"g":null,"m":[]}"#).is_none());
        assert!(GroupSnapshot::decode("x", b"garbage").is_none());
    }
}
