//! Store functions of the history and read-model projections against a real Mongo-wire server.

use rill_core::Message;
use rill_store::conversations::{self, MessageEffect, Patch};
use rill_store::messages;
use rill_store::versions::{ChangeKind, VersionLog};
use rill_testkit::{MongoServer, unique_name};

async fn db() -> anyhow::Result<mongodb::Database> {
    let server = MongoServer::shared().await?;
    let client = server.client().await?;
    let db = client.database(&unique_name("store"));
    rill_store::Store::from_database(db.clone())
        .ensure_indexes()
        .await?;
    Ok(db)
}

fn msg(send: &str, recv: &str, seq: i64, text: &str) -> Message {
    Message {
        send_id: send.into(),
        recv_id: recv.into(),
        client_msg_id: format!("c{seq}"),
        server_msg_id: format!("s{seq}"),
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        content: format!("{{\"content\":\"{text}\"}}").into_bytes(),
        seq,
        send_time: 1_700_000_000_000 + seq,
        create_time: 1_700_000_000_000 + seq,
        status: 2,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_inserts_ignore_duplicates_and_ranges_are_ascending() -> anyhow::Result<()> {
    let db = db().await?;
    let conv = "si_a_b";
    let docs = |seqs: std::ops::RangeInclusive<i64>| -> anyhow::Result<Vec<bson::RawDocumentBuf>> {
        seqs.map(|s| {
            Ok(messages::to_document(
                conv,
                &msg("a", "b", s, &format!("m{s}")),
            )?)
        })
        .collect()
    };
    let first = messages::insert_many(&db, docs(1..=10)?).await?;
    assert_eq!((first.inserted, first.duplicates), (10, 0));
    // A redelivered batch overlapping the stored one: only the new seqs are added.
    let again = messages::insert_many(&db, docs(6..=15)?).await?;
    assert_eq!(
        (again.inserted, again.duplicates, again.failed.len()),
        (5, 5, 0)
    );
    assert_eq!(messages::count(&db, conv).await?, 15);

    let r = messages::range(&db, conv, 3, 7).await?;
    assert_eq!(
        r.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7]
    );
    assert_eq!(r[0].content, b"{\"content\":\"m3\"}".to_vec());
    assert_eq!(r[0], msg("a", "b", 3, "m3"));
    let picked = messages::by_seqs(&db, conv, &[9, 2, 40]).await?;
    assert_eq!(picked.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 9]);
    assert_eq!(messages::max_seq(&db, conv).await?, 15);
    assert_eq!(messages::min_seq(&db, conv).await?, 1);
    assert!(messages::range(&db, conv, 7, 3).await?.is_empty());

    let mut deleted = msg("a", "b", 16, "gone");
    deleted.status = 4;
    messages::insert_many(&db, vec![messages::to_document(conv, &deleted)?]).await?;
    assert_eq!(messages::latest(&db, conv).await?.map(|m| m.seq), Some(16));
    assert_eq!(
        messages::last_valid(&db, conv, 0).await?.map(|m| m.seq),
        Some(15)
    );
    assert_eq!(
        messages::last_valid(&db, conv, 12).await?.map(|m| m.seq),
        Some(12)
    );
    assert_eq!(messages::mark_read(&db, conv, &[1, 2]).await?, 2);
    let other = messages::to_document("si_c_d", &msg("c", "d", 3, "x"))?;
    messages::insert_many(&db, vec![other]).await?;
    assert_eq!(
        messages::max_seqs_all(&db).await?,
        vec![("si_a_b".to_string(), 16), ("si_c_d".to_string(), 3)]
    );
    assert_eq!(
        messages::conversation_ids(&db).await?,
        vec!["si_a_b", "si_c_d"]
    );
    assert!(messages::range(&db, conv, 1, 1).await?[0].is_read);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_effects_are_idempotent_and_order_free() -> anyhow::Result<()> {
    let db = db().await?;
    let conv = "si_a_b";
    let m: Vec<Message> = (1..=5)
        .map(|s| msg("a", "b", s, &format!("m{s}")))
        .collect();
    // Newest first, then everything again: the row must end where in-order delivery ends.
    for i in [4usize, 2, 0, 3, 1, 4, 0] {
        for (owner, is_sender) in [("a", true), ("b", false)] {
            let has_read_seq = if is_sender { m[i].seq } else { 0 };
            let e = MessageEffect {
                owner,
                conversation_id: conv,
                latest: &m[i],
                has_read_seq,
            };
            let needs_log = !conversations::apply_messages(&db, std::slice::from_ref(&e))
                .await?
                .is_empty();
            if needs_log {
                conversations::record_changes(
                    &db,
                    owner,
                    &[(conv.to_string(), ChangeKind::Insert)],
                )
                .await?;
            }
        }
    }
    let a = conversations::get(&db, "a", conv).await?.expect("row of a");
    let b = conversations::get(&db, "b", conv).await?.expect("row of b");
    assert_eq!((a.conv_max_seq, a.has_read_seq, a.unread()), (5, 5, 0));
    assert_eq!((b.conv_max_seq, b.has_read_seq, b.unread()), (5, 0, 5));
    assert_eq!(b.latest.as_ref().map(|l| l.seq), Some(5));
    assert_eq!(b.latest.as_ref().map(|l| l.msg.clone()), Some(m[4].clone()));
    assert_eq!((b.conversation_type, b.user_id.as_str()), (1, "a"));
    assert_eq!(a.user_id, "b");
    assert!(a.version_logged && b.version_logged);
    // The creation was logged exactly once per owner.
    let log = VersionLog::conversations(&db);
    assert_eq!(log.head("a").await?.version, 1);
    assert_eq!(
        log.elements("b").await?.get(conv).map(|e| e.1),
        Some(ChangeKind::Insert)
    );

    assert!(!conversations::raise_has_read_seq(&db, "b", conv, 3).await?);
    assert!(!conversations::raise_has_read_seq(&db, "b", conv, 2).await?);
    let b = conversations::get(&db, "b", conv).await?.expect("row of b");
    assert_eq!((b.has_read_seq, b.unread()), (3, 2));

    // n_ rows carry seqs but are never listed.
    let n = msg("a", "b", 1, "note");
    let e = MessageEffect {
        owner: "b",
        conversation_id: "n_a_b",
        latest: &n,
        has_read_seq: 0,
    };
    assert!(
        conversations::apply_messages(&db, std::slice::from_ref(&e))
            .await?
            .is_empty()
    );
    assert_eq!(conversations::ids(&db, "b").await?, vec![conv.to_string()]);
    let states = conversations::seq_states(&db, "b", &["n_a_b".into(), conv.into()]).await?;
    assert!(states.contains_key("n_a_b"));
    assert_eq!(states.get(conv).map(|s| s.has_read_seq), Some(3));
    let heads = conversations::heads::of(&db, &["n_a_b", conv]).await?;
    assert_eq!(heads.get("n_a_b").map(|h| h.seq), Some(1));
    assert_eq!(heads.get(conv).map(|h| h.seq), Some(5));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_are_versioned() -> anyhow::Result<()> {
    let db = db().await?;
    let log = VersionLog::conversations(&db);
    let h0 = log.head("u").await?;
    assert_eq!(h0.version, 1);

    let pin = Patch {
        is_pinned: Some(true),
        recv_msg_opt: Some(2),
        ..Default::default()
    };
    let kind = conversations::set_fields(&db, "u", "sg_g1", &pin).await?;
    assert_eq!(kind, Some(ChangeKind::Insert));
    conversations::record_changes(&db, "u", &[("sg_g1".into(), ChangeKind::Insert)]).await?;
    // The same values again: nothing to record.
    assert_eq!(
        conversations::set_fields(&db, "u", "sg_g1", &pin).await?,
        None
    );
    let kind = conversations::set_fields(
        &db,
        "u",
        "sg_g1",
        &Patch {
            is_pinned: Some(false),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(kind, Some(ChangeKind::Update));
    conversations::record_changes(&db, "u", &[("sg_g1".into(), ChangeKind::Update)]).await?;
    conversations::set_fields(
        &db,
        "u",
        "si_u_v",
        &Patch {
            ex: Some("x".into()),
            ..Default::default()
        },
    )
    .await?;
    conversations::record_changes(&db, "u", &[("si_u_v".into(), ChangeKind::Insert)]).await?;

    let row = conversations::get(&db, "u", "sg_g1").await?.expect("row");
    assert_eq!((row.conversation_type, row.group_id.as_str()), (3, "g1"));
    assert_eq!((row.is_pinned, row.recv_msg_opt), (false, 2));
    assert_eq!(
        conversations::not_notify_ids(&db, "u").await?,
        vec!["sg_g1".to_string()]
    );
    assert!(conversations::pinned_ids(&db, "u").await?.is_empty());

    let head = log.head("u").await?;
    assert_eq!((head.id.as_str(), head.version), (h0.id.as_str(), 4));
    let since = log.since("u", &h0.id, 2, 200).await?;
    assert!(!since.full);
    assert_eq!(since.update, vec!["sg_g1".to_string()]);
    assert_eq!(since.insert, vec!["si_u_v".to_string()]);
    let none = log.since("u", &h0.id, 4, 200).await?;
    assert!(!none.full && none.insert.is_empty() && none.update.is_empty());
    assert!(log.since("u", "", 0, 200).await?.full);
    assert!(
        log.since("u", "0123456789abcdef01234567", 2, 200)
            .await?
            .full
    );
    assert!(
        log.since("u", &h0.id, 1, 1).await?.full,
        "more changes than the limit"
    );
    assert!(
        log.since("u", &h0.id, 9, 200).await?.full,
        "a version from the future"
    );

    let gone = conversations::delete(&db, "u", &["si_u_v".into(), "si_u_zz".into()]).await?;
    assert_eq!(gone, vec!["si_u_v".to_string()]);
    conversations::record_changes(&db, "u", &[("si_u_v".into(), ChangeKind::Delete)]).await?;
    let since = log.since("u", &h0.id, 4, 200).await?;
    assert_eq!(since.delete, vec!["si_u_v".to_string()]);
    let (total, page) = conversations::page(&db, "u", 1, 10).await?;
    assert_eq!((total, page.len()), (1, 1));

    // Group rows: created for members, then moved by the group's messages together.
    let members = vec!["m1".to_string(), "m2".to_string()];
    let created = conversations::ensure_rows(&db, &members, "sg_g2").await?;
    assert_eq!(created, members);
    for m in &created {
        conversations::record_changes(&db, m, &[("sg_g2".into(), ChangeKind::Insert)]).await?;
    }
    assert!(
        conversations::ensure_rows(&db, &members, "sg_g2")
            .await?
            .is_empty()
    );
    // A member's message touches only the sender's row; the others read the head.
    let mut gm = msg("m1", "", 7, "hi all");
    gm.session_type = 3;
    gm.group_id = "g2".into();
    let sent = MessageEffect {
        owner: "m1",
        conversation_id: "sg_g2",
        latest: &gm,
        has_read_seq: 7,
    };
    assert!(
        conversations::apply_messages(&db, std::slice::from_ref(&sent))
            .await?
            .is_empty()
    );
    let mut older = gm.clone();
    older.seq = 6;
    let late = MessageEffect {
        latest: &older,
        has_read_seq: 6,
        ..sent
    };
    assert!(
        conversations::apply_messages(&db, &[late])
            .await?
            .is_empty()
    );
    let r = conversations::get(&db, "m2", "sg_g2")
        .await?
        .expect("row of m2");
    assert_eq!(
        (r.conv_max_seq, r.unread(), r.group_id.as_str()),
        (7, 7, "g2")
    );
    assert_eq!(r.latest.map(|l| l.msg.content), Some(gm.content.clone()));
    let s = conversations::get(&db, "m1", "sg_g2")
        .await?
        .expect("row of m1");
    assert_eq!((s.conv_max_seq, s.has_read_seq, s.unread()), (7, 7, 0));
    // Listing joins the heads too.
    let listed = conversations::all(&db, "m2").await?;
    assert_eq!(
        listed.iter().map(|r| r.conv_max_seq).collect::<Vec<_>>(),
        vec![7]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_version_bumps_never_lose_a_change() -> anyhow::Result<()> {
    let db = db().await?;
    let log = VersionLog::conversations(&db);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.record("owner", &[(format!("si_owner_{i}"), ChangeKind::Insert)])
                .await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let head = log.head("owner").await?;
    assert_eq!(head.version, 20);
    let all = log.since("owner", &head.id, 1, 200).await?;
    // Version 1 holds one of the twenty; the other nineteen came later.
    assert_eq!(all.insert.len(), 19);
    assert_eq!(log.elements("owner").await?.len(), 20);
    Ok(())
}

/// The batched path the read-model worker uses: one `update` command for many rows, then the
/// rows whose creation is not yet logged — including rows an earlier attempt created and
/// crashed before logging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_message_effects_report_unlogged_rows_until_logged() -> anyhow::Result<()> {
    let db = db().await?;
    // 600 conversations (more than one command's worth of statements), two owners each.
    let latest: Vec<(String, Message)> = (0..600)
        .map(|i| {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            (format!("si_{a}_{b}"), msg(&a, &b, 3, "hello"))
        })
        .collect();
    let effects = |seq_bump: i64| -> Vec<(String, String, Message, i64)> {
        latest
            .iter()
            .flat_map(|(conv, m)| {
                let mut m = m.clone();
                m.seq += seq_bump;
                [
                    (m.send_id.clone(), conv.clone(), m.clone(), m.seq),
                    (m.recv_id.clone(), conv.clone(), m, 0),
                ]
            })
            .collect()
    };
    let apply = |rows: Vec<(String, String, Message, i64)>| {
        let db = db.clone();
        async move {
            let effects: Vec<MessageEffect<'_>> = rows
                .iter()
                .map(|(owner, conv, latest, sent)| MessageEffect {
                    owner,
                    conversation_id: conv,
                    latest,
                    has_read_seq: *sent,
                })
                .collect();
            conversations::apply_messages(&db, &effects).await
        }
    };

    let created = apply(effects(0)).await?;
    assert_eq!(created.len(), 1200, "every new row is reported");
    // A redelivery before the creations were logged (the worker crashed): reported again.
    let again = apply(effects(0)).await?;
    assert_eq!(again.len(), 1200);
    for (owner, conv) in &created[..10] {
        conversations::record_changes(&db, owner, &[(conv.clone(), ChangeKind::Insert)]).await?;
    }
    let later = apply(effects(2)).await?;
    assert_eq!(later.len(), 1190, "logged rows are not reported");
    assert!(!later.contains(&created[0]));

    let a = conversations::get(&db, "a7", "si_a7_b7")
        .await?
        .expect("row of a7");
    let b = conversations::get(&db, "b7", "si_a7_b7")
        .await?
        .expect("row of b7");
    assert_eq!((a.conv_max_seq, a.has_read_seq, a.unread()), (5, 5, 0));
    assert_eq!((b.conv_max_seq, b.has_read_seq, b.unread()), (5, 0, 5));
    assert_eq!(b.latest.as_ref().map(|l| l.seq), Some(5));
    assert_eq!((b.conversation_type, b.user_id.as_str()), (1, "a7"));
    // An older effect arriving late moves nothing back.
    apply(effects(0)).await?;
    let b = conversations::get(&db, "b7", "si_a7_b7")
        .await?
        .expect("row of b7");
    assert_eq!((b.conv_max_seq, b.latest.map(|l| l.seq)), (5, Some(5)));
    Ok(())
}
