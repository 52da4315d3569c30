//! Entity events applied to a real Mongo-wire server: re-applying is a no-op, an older event
//! never overwrites a newer one (rows or tombstones), and version logs record each element once
//! per event.
#![allow(clippy::unwrap_used)]

use bson::{Document, doc};
use rill_core::entity::{Change, EntityEvent, Friend, Kind, Member, Rev};
use rill_store::entities::{self, FRIENDS, rows};
use rill_store::versions::{self, ChangeKind, VersionLog};
use rill_testkit::{MongoServer, unique_name};

async fn db() -> anyhow::Result<mongodb::Database> {
    let server = MongoServer::shared().await?;
    let client = server.client().await?;
    let db = client.database(&unique_name("entities"));
    rill_store::Store::from_database(db.clone())
        .ensure_indexes()
        .await?;
    Ok(db)
}

fn rev(ms: u64) -> Rev {
    Rev::from_entry_id(&format!("{ms}-0")).unwrap()
}

fn friend_event(remark: &str, kind: Kind, present: bool) -> EntityEvent {
    EntityEvent {
        operator_user_id: "a".into(),
        changes: vec![Change::Friend {
            owner: "a".into(),
            friend: "b".into(),
            kind,
            row: present.then(|| Friend {
                owner_user_id: "a".into(),
                friend_user_id: "b".into(),
                remark: remark.into(),
                add_source: 2,
                ..Default::default()
            }),
        }],
    }
}

async fn friends_of_a(db: &mongodb::Database) -> anyhow::Result<Vec<Friend>> {
    Ok(rows(
        &db.collection::<Document>(FRIENDS),
        doc! { "owner_user_id": "a" },
    )
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reapplying_is_a_no_op_and_older_events_never_win() -> anyhow::Result<()> {
    let db = db().await?;
    let log = VersionLog::new(&db, versions::FRIENDS);

    entities::apply(&db, &friend_event("first", Kind::Insert, true), &rev(10)).await?;
    let head1 = log.head("a").await?;
    // The worker applies the same event again: nothing changes, no new version.
    entities::apply(&db, &friend_event("first", Kind::Insert, true), &rev(10)).await?;
    assert_eq!(log.head("a").await?, head1);

    entities::apply(&db, &friend_event("second", Kind::Update, true), &rev(20)).await?;
    // A late redelivery of the first event must not bring the old remark back.
    entities::apply(&db, &friend_event("first", Kind::Insert, true), &rev(10)).await?;
    let rows = friends_of_a(&db).await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].remark, "second");
    let head2 = log.head("a").await?;
    assert_eq!(head2.version, head1.version + 1);

    // Deleted: a tombstone hides the row and keeps older events out.
    entities::apply(&db, &friend_event("", Kind::Delete, false), &rev(30)).await?;
    assert!(friends_of_a(&db).await?.is_empty());
    entities::apply(&db, &friend_event("second", Kind::Update, true), &rev(20)).await?;
    assert!(
        friends_of_a(&db).await?.is_empty(),
        "old update resurrected a deleted row"
    );

    let changes = log.since("a", &head1.id, head1.version, 200).await?;
    assert!(!changes.full);
    assert_eq!(changes.delete, vec!["b".to_string()]);
    assert!(changes.insert.is_empty() && changes.update.is_empty());
    let elements = log.elements("a").await?;
    assert_eq!(elements.get("b").map(|e| e.1), Some(ChangeKind::Delete));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_feed_both_version_logs() -> anyhow::Result<()> {
    let db = db().await?;
    let member = |user: &str, role: i32| Change::Member {
        group_id: "g1".into(),
        user_id: user.into(),
        kind: Kind::Insert,
        row: Some(Member {
            group_id: "g1".into(),
            user_id: user.into(),
            role_level: role,
            ..Default::default()
        }),
    };
    let created = EntityEvent {
        operator_user_id: "u1".into(),
        changes: vec![
            Change::Group {
                kind: Kind::Insert,
                row: rill_core::entity::Group {
                    group_id: "g1".into(),
                    group_name: "g".into(),
                    group_type: 2,
                    ..Default::default()
                },
            },
            member("u1", 100),
            member("u2", 20),
        ],
    };
    entities::apply(&db, &created, &rev(100)).await?;
    let mut ids = entities::member_ids(&db, "g1").await?;
    ids.sort();
    assert_eq!(ids, ["u1", "u2"]);
    assert_eq!(
        entities::group(&db, "g1").await?.map(|g| g.group_name),
        Some("g".into())
    );

    let joined = VersionLog::new(&db, versions::JOINED_GROUPS)
        .elements("u2")
        .await?;
    assert_eq!(joined.get("g1").map(|e| e.1), Some(ChangeKind::Insert));
    let members = VersionLog::new(&db, versions::GROUP_MEMBERS)
        .elements("g1")
        .await?;
    assert_eq!(
        members.len(),
        3,
        "u1, u2 and the group's own element: {members:?}"
    );
    assert!(members.contains_key(versions::GROUP_INFO_ELEMENT));

    // u2 becomes an admin: a role change also marks the member order (OpenIM's sort element),
    // once; applying the same event again records nothing.
    let promoted = EntityEvent {
        operator_user_id: "u1".into(),
        changes: vec![Change::Member {
            group_id: "g1".into(),
            user_id: "u2".into(),
            kind: Kind::Update,
            row: Some(Member {
                group_id: "g1".into(),
                user_id: "u2".into(),
                role_level: 60,
                ..Default::default()
            }),
        }],
    };
    let log = VersionLog::new(&db, versions::GROUP_MEMBERS);
    entities::apply(&db, &promoted, &rev(150)).await?;
    let head = log.head("g1").await?;
    assert!(
        log.elements("g1")
            .await?
            .contains_key(versions::SORT_ELEMENT)
    );
    entities::apply(&db, &promoted, &rev(150)).await?;
    assert_eq!(log.head("g1").await?, head);

    // u2 leaves: gone from the members, a delete in their joined-group log.
    let left = EntityEvent {
        operator_user_id: "u2".into(),
        changes: vec![Change::Member {
            group_id: "g1".into(),
            user_id: "u2".into(),
            kind: Kind::Delete,
            row: None,
        }],
    };
    entities::apply(&db, &left, &rev(200)).await?;
    assert_eq!(entities::member_ids(&db, "g1").await?, ["u1"]);
    let joined = VersionLog::new(&db, versions::JOINED_GROUPS)
        .elements("u2")
        .await?;
    assert_eq!(joined.get("g1").map(|e| e.1), Some(ChangeKind::Delete));
    Ok(())
}
