//! The conversation commands of `App` (and the `/jssdk` routes) over the projected read model.

#[path = "../../history/tests/common/mod.rs"]
mod common;

use common::*;
use rill_app::{App, Caller};
use rill_core::{ErrCode, Message};
use rill_log::{Envelope, Event};
use rill_testkit::MongoServer;
use rill_wire::pb::conversation as pb;
use rill_wire::pb::msg as pbm;
use rill_wire::pb::protobuf::BoolValue;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn user(id: &str) -> Caller {
    Caller {
        user_id: id.into(),
        platform_id: 2,
        is_admin: false,
    }
}

fn admin() -> Caller {
    Caller {
        user_id: "imAdmin".into(),
        platform_id: 10,
        is_admin: true,
    }
}

async fn send(app: &App, from: &str, to: &str, n: usize) -> anyhow::Result<String> {
    let conv = rill_core::conversation::single(from, to);
    for i in 0..n {
        let msg = Message {
            send_id: from.into(),
            recv_id: to.into(),
            client_msg_id: format!("{from}-{to}-{i}-{}", rill_core::now_ms()),
            session_type: 1,
            msg_from: 100,
            content_type: 101,
            content: format!("{{\"content\":\"{from} says {i}\"}}").into_bytes(),
            send_time: rill_core::now_ms(),
            status: 2,
            ..Default::default()
        };
        app.log()
            .append(
                &conv,
                &msg.client_msg_id.clone(),
                &Envelope::new(Event::Message(msg)),
            )
            .await?;
    }
    Ok(conv)
}

async fn ids_of(app: &App, owner: &str) -> anyhow::Result<Vec<String>> {
    let req = pb::GetAllConversationsReq {
        owner_user_id: owner.into(),
    };
    let mut ids: Vec<String> = app
        .get_all_conversations(&user(owner), req)
        .await?
        .conversations
        .into_iter()
        .map(|c| c.conversation_id)
        .collect();
    ids.sort();
    Ok(ids)
}

fn code<T: std::fmt::Debug>(r: Result<T, rill_app::AppError>) -> ErrCode {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_conversation_sync_and_read_marks() -> anyhow::Result<()> {
    let mongo = MongoServer::shared().await?;
    let env = env(&mongo.uri()).await?;
    let app = env.app.clone();
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_readmodel::run_with(
        app.clone(),
        "r".into(),
        shutdown.clone(),
        options(64)?,
    ));

    let c2 = send(&app, "u2", "u1", 3).await?;
    let c3 = send(&app, "u1", "u3", 2).await?;
    let c4 = send(&app, "u4", "u1", 5).await?;
    let mut want = vec![c2.clone(), c3.clone(), c4.clone()];
    want.sort();
    wait_for(Duration::from_secs(60), "three conversations", || async {
        Ok(ids_of(&app, "u1").await? == want)
    })
    .await?;

    // Full sync: every id, with the log's version.
    let full = app
        .get_full_conversation_ids(
            &user("u1"),
            pb::GetFullOwnerConversationIDsReq {
                id_hash: 0,
                user_id: "u1".into(),
            },
        )
        .await?;
    assert_eq!(full.conversation_i_ds.len(), 3);
    assert!(!full.equal);
    let hash = rill_app::conversations::id_hash(&full.conversation_i_ds);
    let again = app
        .get_full_conversation_ids(
            &user("u1"),
            pb::GetFullOwnerConversationIDsReq {
                id_hash: hash,
                user_id: "u1".into(),
            },
        )
        .await?;
    assert!(again.equal && again.conversation_i_ds.is_empty());
    let (vid, v) = (full.version_id.clone(), full.version);
    assert_eq!(vid.len(), 24);

    let incr = |version_id: String, version: u64| {
        let app = app.clone();
        async move {
            app.get_incremental_conversations(
                &user("u1"),
                pb::GetIncrementalConversationReq {
                    user_id: "u1".into(),
                    version_id,
                    version,
                },
            )
            .await
        }
    };
    assert!(incr(String::new(), 0).await?.full);
    let same = incr(vid.clone(), v).await?;
    assert!(
        !same.full && same.insert.is_empty() && same.update.is_empty() && same.delete.is_empty()
    );

    // A setting: the row changes at once and the change is one new version.
    let set = pb::SetConversationsReq {
        user_i_ds: vec!["u1".into()],
        conversation: Some(pb::ConversationReq {
            conversation_id: c4.clone(),
            conversation_type: 1,
            user_id: "u4".into(),
            is_pinned: Some(BoolValue { value: true }),
            ..Default::default()
        }),
    };
    app.set_conversations(&user("u1"), set.clone()).await?;
    let after = incr(vid.clone(), v).await?;
    assert!(!after.full);
    assert_eq!(after.version, v + 1);
    assert_eq!(
        after
            .update
            .iter()
            .map(|c| (c.conversation_id.as_str(), c.is_pinned))
            .collect::<Vec<_>>(),
        vec![(c4.as_str(), true)]
    );
    let pinned = app
        .get_pinned_conversation_ids(
            &user("u1"),
            pb::GetPinnedConversationIDsReq {
                user_id: "u1".into(),
            },
        )
        .await?;
    assert_eq!(pinned.conversation_i_ds, vec![c4.clone()]);
    // The same setting again changes nothing.
    app.set_conversations(&user("u1"), set).await?;
    assert_eq!(incr(vid.clone(), v + 1).await?.version, v + 1);

    // A new conversation arrives as an insert; a deletion as a delete.
    let c5 = send(&app, "u5", "u1", 1).await?;
    wait_for(
        Duration::from_secs(60),
        "the fourth conversation",
        || async { Ok(ids_of(&app, "u1").await?.contains(&c5)) },
    )
    .await?;
    app.delete_conversations(
        &user("u1"),
        pb::DeleteConversationsReq {
            owner_user_id: "u1".into(),
            need_delete_time: 0,
            conversation_i_ds: vec![c3.clone()],
        },
    )
    .await?;
    let later = incr(vid.clone(), v + 1).await?;
    assert_eq!(
        later
            .insert
            .iter()
            .map(|c| c.conversation_id.clone())
            .collect::<Vec<_>>(),
        vec![c5.clone()]
    );
    assert_eq!(later.insert[0].user_id, "u5");
    assert_eq!(later.delete, vec![c3.clone()]);
    assert_eq!(later.version, v + 3);

    // The sorted list: pinned first, unread = max − has-read.
    let sorted = |app: App| async move {
        app.get_sorted_conversation_list(
            &user("u1"),
            pb::GetSortedConversationListReq {
                user_id: "u1".into(),
                conversation_i_ds: vec![],
                pagination: Some(rill_wire::pb::sdkws::RequestPagination {
                    page_number: 1,
                    show_number: 10,
                }),
            },
        )
        .await
    };
    let list = sorted(app.clone()).await?;
    let unread: Vec<(String, i64)> = list
        .conversation_elems
        .iter()
        .map(|e| (e.conversation_id.clone(), e.unread_count))
        .collect();
    assert_eq!(unread[0], (c4.clone(), 5));
    assert!(unread.contains(&(c2.clone(), 3)) && unread.contains(&(c5.clone(), 1)));
    assert_eq!(list.unread_total, 9);
    assert_eq!(
        list.conversation_elems[0]
            .msg_info
            .as_ref()
            .map(|m| m.content.as_str()),
        Some("{\"content\":\"u4 says 4\"}")
    );

    // Read marks: validation, then unread drops to 0.
    let mark = |seq: i64, seqs: Vec<i64>| pbm::MarkConversationAsReadReq {
        conversation_id: c4.clone(),
        user_id: "u1".into(),
        has_read_seq: seq,
        seqs,
    };
    assert_eq!(
        code(
            app.mark_conversation_as_read(&user("u1"), mark(0, vec![]))
                .await
        ),
        ErrCode::Args
    );
    assert_eq!(
        code(
            app.mark_conversation_as_read(&user("u1"), mark(6, vec![]))
                .await
        ),
        ErrCode::Args
    );
    assert_eq!(
        code(
            app.mark_conversation_as_read(&user("u1"), mark(3, vec![0]))
                .await
        ),
        ErrCode::Args
    );
    assert_eq!(
        code(
            app.mark_conversation_as_read(&user("u2"), mark(3, vec![]))
                .await
        ),
        ErrCode::NoPermission
    );
    app.mark_conversation_as_read(&user("u1"), mark(5, vec![]))
        .await?;
    let msgs = pbm::MarkMsgsAsReadReq {
        conversation_id: c2.clone(),
        seqs: vec![2, 3],
        user_id: "u1".into(),
    };
    app.mark_msgs_as_read(&user("u1"), msgs).await?;
    let bad = pbm::MarkMsgsAsReadReq {
        conversation_id: c2.clone(),
        seqs: vec![4],
        user_id: "u1".into(),
    };
    assert_eq!(
        code(app.mark_msgs_as_read(&user("u1"), bad).await),
        ErrCode::Args
    );
    let set_read = pbm::SetConversationHasReadSeqReq {
        conversation_id: c5.clone(),
        user_id: "u1".into(),
        has_read_seq: 1,
        no_notification: false,
    };
    app.set_conversation_has_read_seq(&user("u1"), set_read)
        .await?;
    let list = sorted(app.clone()).await?;
    assert_eq!(list.unread_total, 0, "{:?}", list.conversation_elems);
    let states = app.has_read_seqs("u1", &[c2.clone(), c4.clone()]).await?;
    assert_eq!((states[&c2], states[&c4]), (3, 5));
    // The receipts were stored in the n_ conversations (to the peer of a single chat).
    assert!(
        app.log()
            .max_seq(&rill_core::conversation::notification_twin(&c4))
            .await?
            >= 1
    );

    // Authorisation and lookups.
    let other = pb::GetAllConversationsReq {
        owner_user_id: "u1".into(),
    };
    assert_eq!(
        code(app.get_all_conversations(&user("u2"), other.clone()).await),
        ErrCode::NoPermission
    );
    assert_eq!(
        app.get_all_conversations(&admin(), other)
            .await?
            .conversations
            .len(),
        3
    );
    let missing = pb::GetConversationReq {
        conversation_id: c3.clone(),
        owner_user_id: "u1".into(),
    };
    assert_eq!(
        code(app.get_conversation(&user("u1"), missing).await),
        ErrCode::RecordNotFound
    );
    let page = app
        .get_owner_conversation(
            &user("u1"),
            pb::GetOwnerConversationReq {
                user_id: "u1".into(),
                pagination: Some(rill_wire::pb::sdkws::RequestPagination {
                    page_number: 2,
                    show_number: 2,
                }),
            },
        )
        .await?;
    assert_eq!((page.total, page.conversations.len()), (3, 1));

    shutdown.cancel();
    worker.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jssdk_answers_base64_protobuf_to_protobuf_requests() -> anyhow::Result<()> {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use base64::Engine as _;
    use prost::Message as _;
    use rill_wire::pb::jssdk;
    use tower::ServiceExt;

    let mongo = MongoServer::shared().await?;
    let env = env(&mongo.uri()).await?;
    let app = env.app.clone();
    let users = ["j1", "j2"]
        .iter()
        .map(|id| rill_wire::pb::sdkws::UserInfo {
            user_id: id.to_string(),
            nickname: format!("nick-{id}"),
            ..Default::default()
        });
    app.user_register(
        &admin(),
        rill_wire::pb::user::UserRegisterReq {
            users: users.collect(),
        },
    )
    .await?;
    let token = app.user_token(&admin(), "j1", 5).await?.token;
    let conv = send(&app, "j2", "j1", 4).await?;
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_readmodel::run_with(
        app.clone(),
        "r".into(),
        shutdown.clone(),
        options(64)?,
    ));
    wait_for(Duration::from_secs(60), "j1's row", || async {
        Ok(ids_of(&app, "j1").await? == vec![conv.clone()])
    })
    .await?;

    let router = rill_api::router(app.clone(), &rill_api::Config::default());
    let post = |path: &str, ct: &str, body: Vec<u8>| {
        Request::post(path)
            .header("content-type", ct)
            .header("operationID", "op")
            .header("token", token.as_str())
            .body(Body::from(body))
    };
    let call = |req: Request<Body>| {
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await?;
            let bytes = to_bytes(resp.into_body(), 1 << 20).await?;
            anyhow::Ok(serde_json::from_slice::<serde_json::Value>(&bytes)?)
        }
    };

    let req = jssdk::GetConversationsReq {
        owner_user_id: "j1".into(),
        conversation_i_ds: vec![conv.clone()],
    };
    let v = call(post(
        "/jssdk/get_conversations",
        "application/x-protobuf",
        req.encode_to_vec(),
    )?)
    .await?;
    assert_eq!(v["errCode"], 0, "{v}");
    let data =
        base64::engine::general_purpose::STANDARD.decode(v["data"].as_str().unwrap_or_default())?;
    let resp = jssdk::GetConversationsResp::decode(data.as_slice())?;
    assert_eq!(resp.unread_count, 4);
    assert_eq!(resp.conversations.len(), 1);
    let c = &resp.conversations[0];
    assert_eq!((c.max_seq, c.read_seq), (4, 0));
    assert_eq!(
        c.conversation.as_ref().map(|c| c.user_id.as_str()),
        Some("j2")
    );
    assert_eq!(
        c.last_msg.as_ref().map(|m| (m.seq, m.content.clone())),
        Some((4, b"{\"content\":\"j2 says 3\"}".to_vec()))
    );
    assert_eq!(
        c.user.as_ref().map(|u| u.nickname.as_str()),
        Some("nick-j2")
    );

    let req = jssdk::GetActiveConversationsReq {
        owner_user_id: "j1".into(),
        count: 10,
    };
    let v = call(post(
        "/jssdk/get_active_conversations",
        "application/x-protobuf",
        req.encode_to_vec(),
    )?)
    .await?;
    let data =
        base64::engine::general_purpose::STANDARD.decode(v["data"].as_str().unwrap_or_default())?;
    let resp = jssdk::GetActiveConversationsResp::decode(data.as_slice())?;
    assert_eq!((resp.unread_count, resp.conversations.len()), (4, 1));

    // JSON in, JSON out; another content type is refused with 1001.
    let body = serde_json::json!({ "ownerUserID": "j1", "conversationIDs": [conv] }).to_string();
    let v = call(post(
        "/jssdk/get_conversations",
        "application/json",
        body.into_bytes(),
    )?)
    .await?;
    assert_eq!(v["data"]["unreadCount"], 4, "{v}");
    assert_eq!(v["data"]["conversations"][0]["maxSeq"], 4, "{v}");
    let v = call(post(
        "/jssdk/get_conversations",
        "text/plain",
        b"x".to_vec(),
    )?)
    .await?;
    assert_eq!(v["errCode"], 1001);

    // The conversation routes answer the OpenIM envelope too.
    let body = serde_json::json!({ "ownerUserID": "j1" }).to_string();
    let v = call(post(
        "/conversation/get_all_conversations",
        "application/json",
        body.into_bytes(),
    )?)
    .await?;
    assert_eq!(
        v["data"]["conversations"][0]["conversationID"],
        conv.as_str(),
        "{v}"
    );
    assert_eq!(v["data"]["conversations"][0]["userID"], "j2", "{v}");
    let body = serde_json::json!({ "ownerUserID": "j2" }).to_string();
    let v = call(post(
        "/conversation/get_all_conversations",
        "application/json",
        body.into_bytes(),
    )?)
    .await?;
    assert_eq!(v["errCode"], 1002, "{v}");

    shutdown.cancel();
    worker.await??;
    Ok(())
}

/// `set_conversations` with recvMsgOpt 1 makes single-chat sends to that owner fail with
/// "message is not sent"; back to 0 they go through. The send path reads the option from Redis
/// only, so it holds while MongoDB is unreachable. The same for the receiver's global option.
/// Each change applies to the very next send, although the send path keeps the options in its
/// process tier (`rill_app::send_checks`): the writes drop what they change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_conversation_receive_option_blocks_and_unblocks_sends() -> anyhow::Result<()> {
    let mongo = MongoServer::shared().await?;
    let env = env(&mongo.uri()).await?;
    let app = &env.app;
    let users: Vec<_> = ["ro1", "ro2"]
        .iter()
        .map(|id| rill_wire::pb::sdkws::UserInfo {
            user_id: (*id).into(),
            nickname: (*id).into(),
            ..Default::default()
        })
        .collect();
    app.user_register(&admin(), rill_wire::pb::user::UserRegisterReq { users })
        .await?;
    let conv = rill_core::conversation::single("ro1", "ro2");
    let set = |opt: i32| pb::SetConversationsReq {
        user_i_ds: vec!["ro2".into()],
        conversation: Some(pb::ConversationReq {
            conversation_id: conv.clone(),
            conversation_type: 1,
            user_id: "ro1".into(),
            recv_msg_opt: Some(rill_wire::pb::protobuf::Int32Value { value: opt }),
            ..Default::default()
        }),
    };
    let text = |n: u32| rill_wire::pb::sdkws::MsgData {
        send_id: "ro1".into(),
        recv_id: "ro2".into(),
        client_msg_id: format!("ro-{n}"),
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        content: b"{\"content\":\"hi\"}".to_vec(),
        create_time: rill_core::now_ms(),
        ..Default::default()
    };

    // A first send puts the receiver's options into the process tier.
    app.send_message(&user("ro1"), text(1)).await?;
    assert_eq!(app.log().max_seq(&conv).await?, 1);

    app.set_conversations(&user("ro2"), set(1)).await?;
    let err = app.send_message(&user("ro1"), text(2)).await.unwrap_err();
    assert_eq!(err.code(), ErrCode::Args);
    assert_eq!(
        app.log().max_seq(&conv).await?,
        1,
        "a refused send stores nothing"
    );

    app.set_conversations(&user("ro2"), set(0)).await?;
    app.send_message(&user("ro1"), text(3)).await?;
    assert_eq!(app.log().max_seq(&conv).await?, 2);

    let global = |opt: i32| rill_wire::pb::user::SetGlobalRecvMessageOptReq {
        user_id: "ro2".into(),
        global_recv_msg_opt: opt,
    };
    app.set_global_recv_msg_opt(&user("ro2"), global(1)).await?;
    let err = app.send_message(&user("ro1"), text(4)).await.unwrap_err();
    assert_eq!(err.code(), ErrCode::Args);
    assert_eq!(app.log().max_seq(&conv).await?, 2);
    app.set_global_recv_msg_opt(&user("ro2"), global(0)).await?;
    app.send_message(&user("ro1"), text(5)).await?;
    assert_eq!(app.log().max_seq(&conv).await?, 3);
    Ok(())
}
