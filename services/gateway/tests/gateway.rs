//! The gateway over real WebSockets on loopback, with real Redis and Mongo-wire servers.

mod common;

use common::*;
use prost::Message as _;
use rill_wire::frame::{Compression, Encoding, WsReq, encode_req};
use rill_wire::pb::{msg as pbmsg, sdkws};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_errors_follow_openim() -> anyhow::Result<()> {
    let env = env().await?;
    let token = env.token("u1", 3).await?;
    let ok = |rest: &str| format!("sendID=u1&token={token}&operationID=op&{rest}");

    let body = env.refused(&ok("platformID=x&isBackground=false")).await?;
    assert_eq!(body["errCode"], 1602);
    assert_eq!(body["errDlt"], "platformID is not int");
    assert_eq!(body["errMsg"], "args err, need token, sendID, platformID");

    let body = env.refused(&ok("platformID=3")).await?;
    assert_eq!(body["errCode"], 500, "isBackground is required: {body}");

    let body = env
        .refused("platformID=3&isBackground=false&operationID=op&sendID=u1")
        .await?;
    assert_eq!(body["errDlt"], "token is empty");

    let body = env
        .refused(&ok("platformID=3&isBackground=false&sdkType=rust"))
        .await?;
    assert_eq!(body["errDlt"], "sdkType is invalid");

    let body = env
        .refused("sendID=u1&token=not-a-jwt&platformID=3&operationID=op&isBackground=false")
        .await?;
    assert_eq!(body["errCode"], 1503, "{body}");

    // u1's token used by u2, and on another platform.
    let body = env
        .refused(&format!(
            "sendID=u2&token={token}&platformID=3&operationID=op&isBackground=false"
        ))
        .await?;
    assert_eq!(body["errCode"], 1502);
    let body = env.refused(&ok("platformID=2&isBackground=false")).await?;
    assert_eq!(body["errCode"], 1502);

    // isMsgResp=true: the upgrade happens, one text frame says why, then the socket closes.
    let url = env.url(&format!(
        "sendID=u2&token={token}&platformID=3&operationID=op&isBackground=false&isMsgResp=true"
    ));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let first = futures_util::StreamExt::next(&mut ws).await;
    let Some(Ok(Message::Text(t))) = first else {
        anyhow::bail!("expected a text frame: {first:?}")
    };
    let v: serde_json::Value = serde_json::from_str(t.as_str())?;
    assert_eq!(v["errCode"], 1502);
    let next = futures_util::StreamExt::next(&mut ws).await;
    assert!(
        matches!(next, None | Some(Ok(Message::Close(_))) | Some(Err(_))),
        "{next:?}"
    );

    // Success with isMsgResp=true starts with the connect ack (checked by client_with).
    let mut c = env.client_with("u1", &token, 3, "&isMsgResp=true").await?;
    let r = c
        .request(
            1001,
            sdkws::GetMaxSeqReq {
                user_id: "u1".into(),
            }
            .encode_to_vec(),
        )
        .await?;
    assert_eq!(r.err_code, 0);
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_are_acked_and_pushed_in_order_to_every_connection() -> anyhow::Result<()> {
    let env = env().await?;
    let mut sender = env.client("u1", 3).await?;
    let mut sender_phone = env.client("u1", 2).await?;
    let mut receiver = env.client("u2", 2).await?;
    let mut acks = Vec::new();
    for i in 1..=3 {
        let ack = sender
            .send_text("u2", &format!("c{i}"), &format!("hello {i}"))
            .await?;
        assert_eq!(ack.err_code, 0, "{}", ack.err_msg);
        let resp = pbmsg::SendMsgResp::decode(ack.data.as_slice())?;
        assert_eq!(resp.client_msg_id, format!("c{i}"));
        assert_eq!(resp.server_msg_id.len(), 32);
        assert!(resp.send_time > 0);
        acks.push(resp);
    }
    let raw = receiver.next_push(2001).await?;
    assert!(
        !raw.operation_id.is_empty(),
        "the SDK needs an operationID on pushes"
    );
    receiver.pushes.push_front(raw);
    for c in [&mut receiver, &mut sender_phone, &mut sender] {
        for i in 1..=3i64 {
            let (conv, msg) = c.next_message().await?;
            assert_eq!(conv, "si_u1_u2");
            assert_eq!(msg.seq, i, "pushes arrive in seq order");
            assert_eq!(msg.client_msg_id, format!("c{i}"));
            assert_eq!(msg.server_msg_id, acks[i as usize - 1].server_msg_id);
            assert_eq!(msg.status, 2);
        }
    }
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_clients_send_and_receive() -> anyhow::Result<()> {
    let env = env().await?;
    let token = env.token("u3", 5).await?;
    let mut js = env
        .client_with("u3", &token, 5, "&sdkType=js&isMsgResp=true")
        .await?;
    assert_eq!(js.encoding, Encoding::Json);
    let mut gob = env.client("u4", 3).await?;
    let ack = gob.send_text("u3", "j1", "to the browser").await?;
    assert_eq!(ack.err_code, 0);
    let (conv, msg) = js.next_message().await?;
    assert_eq!((conv.as_str(), msg.seq), ("si_u3_u4", 1));
    let ack = js.send_text("u4", "j2", "from the browser").await?;
    assert_eq!(ack.err_code, 0);
    let (_, msg) = gob.next_message().await?;
    assert_eq!(msg.client_msg_id, "j1");
    let (_, msg) = gob.next_message().await?;
    assert_eq!((msg.client_msg_id.as_str(), msg.seq), ("j2", 2));

    // The text heartbeat of browsers.
    futures_util::SinkExt::send(
        &mut js.ws,
        Message::Text(r#"{"type":"ping","body":{"n":1}}"#.into()),
    )
    .await?;
    loop {
        if let Message::Text(t) = js.next_frame().await? {
            let v: serde_json::Value = serde_json::from_str(t.as_str())?;
            assert_eq!(v["type"], "pong");
            assert_eq!(v["body"]["n"], 1);
            break;
        }
    }
    // WS ping control frames get a pong.
    futures_util::SinkExt::send(&mut gob.ws, Message::Ping(bytes::Bytes::from_static(b"hb")))
        .await?;
    loop {
        if let Message::Pong(p) = gob.next_frame().await? {
            assert_eq!(&p[..], b"hb");
            break;
        }
    }
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_client_msg_id_is_stored_once() -> anyhow::Result<()> {
    let env = env().await?;
    let mut c = env.client("u1", 3).await?;
    let first =
        pbmsg::SendMsgResp::decode(c.send_text("u2", "same", "once").await?.data.as_slice())?;
    let again =
        pbmsg::SendMsgResp::decode(c.send_text("u2", "same", "once").await?.data.as_slice())?;
    assert_eq!(
        first.server_msg_id, again.server_msg_id,
        "the retry gets the first ack"
    );
    assert_eq!(first.send_time, again.send_time);
    assert_eq!(env.app.log().max_seq("si_u1_u2").await?, 1);
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_only_messages_are_pushed_with_seq_zero_and_not_stored() -> anyhow::Result<()> {
    let env = env().await?;
    let mut sender = env.client("u1", 3).await?;
    let mut receiver = env.client("u2", 3).await?;
    let mut typing = text_msg("u1", "u2", "t1", "");
    typing.content_type = 113;
    typing.content = br#"{"msgTips":"yes"}"#.to_vec();
    let ack = sender.request(1003, typing.encode_to_vec()).await?;
    assert_eq!(ack.err_code, 0);
    let (conv, msg) = receiver.next_message().await?;
    assert_eq!(
        (conv.as_str(), msg.seq, msg.content_type),
        ("si_u1_u2", 0, 113)
    );
    assert_eq!(env.app.log().max_seq("si_u1_u2").await?, 0);
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_clamp_take_the_last_n_and_mark_holes() -> anyhow::Result<()> {
    let env = env().await?;
    let mut c = env.client("u1", 3).await?;
    for i in 1..=3 {
        c.send_text("u2", &format!("p{i}"), "x").await?;
    }
    // Seqs 4 and 5 never exist (the stream jumps ahead, as after a lost AOF tail).
    env.app.log().ensure_seq_floor("si_u1_u2", 5).await?;
    c.send_text("u2", "p6", "x").await?;
    assert_eq!(env.app.log().max_seq("si_u1_u2").await?, 6);

    let pull = |begin: i64, end: i64, num: i64, order: i32| sdkws::PullMessageBySeqsReq {
        user_id: "u1".into(),
        seq_ranges: vec![sdkws::SeqRange {
            conversation_id: "si_u1_u2".into(),
            begin,
            end,
            num,
        }],
        order,
    };
    let r = c
        .request(1002, pull(0, 100, 100, 0).encode_to_vec())
        .await?;
    assert_eq!(r.err_code, 0);
    let resp = sdkws::PullMessageBySeqsResp::decode(r.data.as_slice())?;
    let got = &resp.msgs["si_u1_u2"];
    let seqs: Vec<(i64, i32)> = got.msgs.iter().map(|m| (m.seq, m.status)).collect();
    assert_eq!(seqs, vec![(1, 2), (2, 2), (3, 2), (4, 4), (5, 4), (6, 2)]);
    assert!(
        got.msgs[3].client_msg_id.is_empty(),
        "a hole is only {{seq, status 4}}"
    );
    assert!(got.is_end, "asc: maxSeq 6 <= end 100");
    assert_eq!(got.end_seq, 0);

    // num = last N of the clamped range; asc isEnd false when end < maxSeq.
    let r = c.request(1002, pull(1, 5, 2, 0).encode_to_vec()).await?;
    let resp = sdkws::PullMessageBySeqsResp::decode(r.data.as_slice())?;
    let got = &resp.msgs["si_u1_u2"];
    assert_eq!(
        got.msgs.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert!(!got.is_end);
    // desc: isEnd when begin <= minSeq (1).
    let r = c.request(1002, pull(1, 3, 10, 1).encode_to_vec()).await?;
    let resp = sdkws::PullMessageBySeqsResp::decode(r.data.as_slice())?;
    assert!(resp.msgs["si_u1_u2"].is_end);

    // Someone else's conversation is not readable; nothing comes back.
    let mut other = env.client("u3", 3).await?;
    let mut req = pull(1, 6, 10, 0);
    req.user_id = "u3".into();
    let r = other.request(1002, req.encode_to_vec()).await?;
    let resp = sdkws::PullMessageBySeqsResp::decode(r.data.as_slice())?;
    assert!(resp.msgs.is_empty());

    // 1005: explicit seqs; beyond max in asc order marks the end.
    let req = pbmsg::GetSeqMessageReq {
        user_id: "u1".into(),
        conversations: vec![pbmsg::ConversationSeqs {
            conversation_id: "si_u1_u2".into(),
            seqs: vec![6, 2, 9],
        }],
        order: 0,
    };
    let r = c.request(1005, req.encode_to_vec()).await?;
    let resp = pbmsg::GetSeqMessageResp::decode(r.data.as_slice())?;
    let got = &resp.msgs["si_u1_u2"];
    assert_eq!(
        got.msgs.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![6, 2]
    );
    assert!(got.is_end);
    assert_eq!(got.end_seq, 6);

    // 1007: the newest message that is not a hole.
    let req = pbmsg::GetLastMessageReq {
        user_id: "u1".into(),
        conversation_i_ds: vec!["si_u1_u2".into()],
    };
    let r = c.request(1007, req.encode_to_vec()).await?;
    let resp = pbmsg::GetLastMessageResp::decode(r.data.as_slice())?;
    assert_eq!(resp.msgs["si_u1_u2"].client_msg_id, "p6");

    // 1006: max seq from the log, with its send time.
    let req = pbmsg::GetConversationsHasReadAndMaxSeqReq {
        user_id: "u1".into(),
        conversation_i_ds: vec!["si_u1_u2".into()],
        return_pinned: false,
    };
    let r = c.request(1006, req.encode_to_vec()).await?;
    let resp = pbmsg::GetConversationsHasReadAndMaxSeqResp::decode(r.data.as_slice())?;
    assert_eq!(resp.seqs["si_u1_u2"].max_seq, 6);
    assert!(resp.seqs["si_u1_u2"].max_seq_time > 0);
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_only_their_connection() -> anyhow::Result<()> {
    let env = env().await?;
    let mut witness = env.client("u2", 3).await?;
    let max = || async { Ok::<_, anyhow::Error>(env.app.log().max_seq("si_u1_u2").await?) };

    let gz = rill_wire::frame::gzip;
    let foreign = || {
        let msg = text_msg("u1", "u2", "bad", "never stored");
        let req = WsReq {
            req_identifier: 1003,
            send_id: "u3".into(),
            operation_id: "op".into(),
            msg_incr: "x".into(),
            data: msg.encode_to_vec(),
            ..Default::default()
        };
        encode_req(&req, Encoding::Gob, Compression::Gzip)
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed gob", gz(b"\x07\xff\x81\x03garbage")),
        ("gzip garbage", b"definitely not gzip".to_vec()),
        ("oversized frame", vec![7u8; 60_000]),
        ("sendID of another user", foreign()),
    ];
    let mut unknown = env.client("u1", 3).await?;
    let (_, bytes) = unknown.frame(4242, Vec::new());
    unknown.send_raw(bytes).await?;
    unknown.until_closed().await?;
    for (name, bytes) in cases {
        let mut c = env.client("u1", 3).await?;
        c.send_raw(bytes).await?;
        c.until_closed()
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        // The other connection still works.
        let r = witness
            .request(
                1001,
                sdkws::GetMaxSeqReq {
                    user_id: "u2".into(),
                }
                .encode_to_vec(),
            )
            .await?;
        assert_eq!(r.err_code, 0, "{name}");
    }
    // Malformed JSON on a JSON connection.
    let token = env.token("u1", 5).await?;
    let mut js = env.client_with("u1", &token, 5, "&sdkType=js").await?;
    js.send_raw(gz(b"{not json")).await?;
    js.until_closed().await?;
    assert_eq!(max().await?, 0, "nothing was stored");
    let r = witness
        .request(
            1001,
            sdkws::GetMaxSeqReq {
                user_id: "u2".into(),
            }
            .encode_to_vec(),
        )
        .await?;
    assert_eq!(r.err_code, 0);
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_on_the_same_platform_kicks_the_first() -> anyhow::Result<()> {
    let env = env().await?;
    let mut first = env.client("u1", 2).await?;
    let mut other_platform = env.client("u1", 3).await?;
    // A new token for the same platform (policy 1), then a second connection with it.
    let mut second = env.client("u1", 2).await?;
    let seen = first.until_closed().await?;
    assert!(
        seen.iter().any(|r| r.req_identifier == 2002),
        "the first got 2002: {seen:?}"
    );
    let r = second
        .request(
            1001,
            sdkws::GetMaxSeqReq {
                user_id: "u1".into(),
            }
            .encode_to_vec(),
        )
        .await?;
    assert_eq!(r.err_code, 0);
    let r = other_platform
        .request(
            1001,
            sdkws::GetMaxSeqReq {
                user_id: "u1".into(),
            }
            .encode_to_vec(),
        )
        .await?;
    assert_eq!(r.err_code, 0, "other platforms stay");
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_logout_kicks_with_2002() -> anyhow::Result<()> {
    let env = env().await?;
    let mut c = env.client("u1", 2).await?;
    let keys = env.app.log().keys().clone();
    eventually(WAIT, "presence", || async {
        Ok(
            !rill_log::presence::connections(&mut env.app.redis(), &keys, "u1")
                .await?
                .is_empty(),
        )
    })
    .await?;
    env.app.force_logout(&admin(), "u1", 2).await?;
    let seen = c.until_closed().await?;
    assert!(seen.iter().any(|r| r.req_identifier == 2002), "{seen:?}");
    eventually(WAIT, "presence gone", || async {
        Ok(
            rill_log::presence::connections(&mut env.app.redis(), &keys, "u1")
                .await?
                .is_empty(),
        )
    })
    .await?;
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_whose_liveness_expired_reads_as_offline() -> anyhow::Result<()> {
    let env = env().await?;
    let _c = env.client("u1", 3).await?;
    let keys = env.app.log().keys().clone();
    let mut redis = env.app.redis();
    eventually(WAIT, "presence", || async {
        Ok(
            !rill_log::presence::connections(&mut env.app.redis(), &keys, "u1")
                .await?
                .is_empty(),
        )
    })
    .await?;
    let conns = rill_log::presence::connections(&mut redis, &keys, "u1").await?;
    assert_eq!(conns.len(), 1);
    let gw = conns[0].gateway_id.clone();
    // As if the gateway had stopped beating 20 s ago.
    rill_log::presence::heartbeat_at(&mut redis, &keys, &gw, rill_core::now_ms() - 20_000).await?;
    assert!(
        rill_log::presence::connections(&mut redis, &keys, "u1")
            .await?
            .is_empty()
    );
    let many = rill_log::presence::connections_many(&mut redis, &keys, &["u1".into(), "u2".into()])
        .await?;
    assert!(many.iter().all(Vec::is_empty));
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_messages_read_as_2101_with_a_stored_notification() -> anyhow::Result<()> {
    let env = env().await?;
    let mut c = env.client("u1", 3).await?;
    c.send_text("u2", "r1", "oops").await?;
    let caller = rill_app::Caller {
        user_id: "u1".into(),
        platform_id: 3,
        is_admin: false,
    };
    let req = pbmsg::RevokeMsgReq {
        conversation_id: "si_u1_u2".into(),
        seq: 1,
        user_id: "u1".into(),
    };
    // The peer may not revoke it.
    let peer = rill_app::Caller {
        user_id: "u2".into(),
        platform_id: 3,
        is_admin: false,
    };
    let denied = env
        .app
        .revoke_message(
            &peer,
            pbmsg::RevokeMsgReq {
                user_id: "u2".into(),
                ..req.clone()
            },
        )
        .await;
    assert_eq!(denied.err().map(|e| e.code().code()), Some(1002));
    env.app.revoke_message(&caller, req.clone()).await?;
    let again = env.app.revoke_message(&caller, req).await;
    assert_eq!(again.err().map(|e| e.code().code()), Some(1404));

    let msgs = env.app.load_messages("si_u1_u2", &[1]).await?;
    assert_eq!(msgs[0].content_type, 2101);
    let outer: serde_json::Value = serde_json::from_slice(&msgs[0].content)?;
    let detail: serde_json::Value = serde_json::from_str(outer["detail"].as_str().unwrap_or(""))?;
    assert_eq!(detail["revokerID"], "u1");
    assert_eq!(detail["clientMsgID"], "r1");
    assert_eq!(
        env.app.log().max_seq("n_u1_u2").await?,
        1,
        "the 2101 notification is stored"
    );
    // Every connection learns of it through the n_ conversation.
    loop {
        let (conv, msg) = c.next_message().await?;
        if conv == "n_u1_u2" {
            assert_eq!((msg.content_type, msg.seq), (2101, 1));
            break;
        }
    }
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_read_deadline() -> anyhow::Result<()> {
    let config = rill_gateway::Config {
        read_timeout_secs: 1,
        ..Default::default()
    };
    let env = env_with(config).await?;
    let mut c = env.client("u1", 3).await?;
    let started = tokio::time::Instant::now();
    c.until_closed().await?;
    assert!(started.elapsed() >= Duration::from_millis(900));
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_and_removes_presence() -> anyhow::Result<()> {
    let env = env().await?;
    let mut c = env.client("u1", 3).await?;
    let keys = env.app.log().keys().clone();
    eventually(WAIT, "presence", || async {
        Ok(
            !rill_log::presence::connections(&mut env.app.redis(), &keys, "u1")
                .await?
                .is_empty(),
        )
    })
    .await?;
    env.shutdown.cancel();
    c.until_closed().await?;
    tokio::time::timeout(WAIT, env.gateway).await???;
    assert!(
        rill_log::presence::connections(&mut env.app.redis(), &keys, "u1")
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_on_another_gateway_kicks_through_the_delivery_stream() -> anyhow::Result<()> {
    let env = env().await?;
    let mut on_a = env.client("u1", 2).await?;
    let keys = env.app.log().keys().clone();
    eventually(WAIT, "presence on A", || async {
        Ok(
            !rill_log::presence::connections(&mut env.app.redis(), &keys, "u1")
                .await?
                .is_empty(),
        )
    })
    .await?;
    // A second gateway process on the same Redis.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr_b = listener.local_addr()?;
    tokio::spawn(rill_gateway::run(
        env.app.clone(),
        rill_gateway::Config::default(),
        listener,
        env.shutdown.clone(),
    ));
    let token = env.token("u1", 2).await?;
    let url = format!(
        "ws://{addr_b}/?sendID=u1&token={token}&platformID=2&operationID=op&isBackground=false"
    );
    let (mut on_b, _) = tokio_tungstenite::connect_async(url).await?;
    let seen = on_a.until_closed().await?;
    assert!(seen.iter().any(|r| r.req_identifier == 2002), "{seen:?}");
    // The kicked token is dead; the new connection lives on B.
    let stale = env.app.parse_token(&env.token("u1", 3).await?).await;
    assert!(stale.is_ok(), "other platforms are untouched");
    futures_util::SinkExt::send(&mut on_b, Message::Ping(bytes::Bytes::from_static(b"b"))).await?;
    let mut alive = false;
    while let Ok(Some(Ok(m))) =
        tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut on_b)).await
    {
        if matches!(m, Message::Pong(_)) {
            alive = true;
            break;
        }
    }
    assert!(alive, "the connection on B stays open");
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_send_msg_is_admin_only_and_reaches_the_receiver() -> anyhow::Result<()> {
    let env = env().await?;
    let mut receiver = env.client("u2", 3).await?;
    let body = serde_json::json!({
        "sendID": "u1", "recvID": "u2", "senderPlatformID": 3,
        "content": {"content": "hello!!"}, "contentType": 101, "sessionType": 1
    });
    let req: rill_app::send::ApiSendMsg = serde_json::from_value(body.clone())?;
    let user = rill_app::Caller {
        user_id: "u1".into(),
        platform_id: 3,
        is_admin: false,
    };
    let denied = env.app.send_msg_http(&user, req.clone()).await;
    assert_eq!(denied.err().map(|e| e.code().code()), Some(1002));
    let mut bad = req.clone();
    bad.content_type = 109;
    let e = env.app.send_msg_http(&admin(), bad).await;
    assert_eq!(e.err().map(|e| e.code().code()), Some(1001));

    let ack = env.app.send_msg_http(&admin(), req).await?;
    assert_eq!(ack.client_msg_id.len(), 32, "generated");
    let (conv, msg) = receiver.next_message().await?;
    assert_eq!((conv.as_str(), msg.seq, msg.msg_from), ("si_u1_u2", 1, 200));
    assert_eq!(msg.client_msg_id, ack.client_msg_id);
    let content: serde_json::Value = serde_json::from_slice(&msg.content)?;
    assert_eq!(content["content"], "hello!!");

    // An unknown receiver is refused.
    let mut nobody: rill_app::send::ApiSendMsg = serde_json::from_value(body)?;
    nobody.recv_id = "ghost".into();
    let e = env.app.send_msg_http(&admin(), nobody).await;
    assert_eq!(e.err().map(|e| e.code().code()), Some(1004));
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_of_a_dead_gateway_are_swept() -> anyhow::Result<()> {
    use rill_log::presence::{self, Presence};
    let env = env().await?;
    let keys = env.app.log().keys().clone();
    let mut r = env.app.redis();
    let dead = Presence {
        gateway_id: "crashed".into(),
        conn_id: "crashed-1".into(),
        platform_id: 2,
        token: "t".into(),
        background: false,
    };
    presence::heartbeat_at(&mut r, &keys, "crashed", rill_core::now_ms() - 120_000).await?;
    presence::register(&mut r, &keys, "u4", &dead).await?;
    rill_log::delivery::send(
        &mut r,
        &keys,
        "crashed",
        &rill_log::delivery::Delivery::Kick {
            user_id: "u4".into(),
            platform_id: 2,
            spare_token: None,
        },
    )
    .await?;
    // A live gateway (the test's) sweeps it; its own records stay.
    let _c = env.client("u1", 3).await?;
    let swept = presence::sweep_dead(&mut r, &keys).await?;
    assert_eq!(swept, vec!["crashed".to_string()]);
    let raw: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg(keys.global("presence:u:u4"))
        .query_async(&mut r)
        .await?;
    assert!(
        raw.is_empty(),
        "the dead connection's record is gone: {raw:?}"
    );
    let exists: bool = redis::cmd("EXISTS")
        .arg(rill_log::delivery::stream_key(&keys, "crashed"))
        .query_async(&mut r)
        .await?;
    assert!(!exists, "its delivery stream is gone");
    eventually(WAIT, "u1 online", || async {
        Ok(!presence::connections(&mut env.app.redis(), &keys, "u1")
            .await?
            .is_empty())
    })
    .await?;
    env.shutdown.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_status_subscriptions_and_logout() -> anyhow::Result<()> {
    let env = env().await?;
    let mut iphone = env.client("u2", 1).await?;
    let mut desktop = env.client("u2", 3).await?;
    let mut sender = env.client("u1", 3).await?;

    // 2005: the reply lists the subscribed users' online platforms.
    let sub = sdkws::SubUserOnlineStatus {
        subscribe_user_id: vec!["u2".into(), "u4".into()],
        unsubscribe_user_id: vec![],
    };
    let keys = env.app.log().keys().clone();
    eventually(WAIT, "u2 online twice", || async {
        Ok(
            rill_log::presence::connections(&mut env.app.redis(), &keys, "u2")
                .await?
                .len()
                == 2,
        )
    })
    .await?;
    let r = sender.request(2005, sub.encode_to_vec()).await?;
    assert_eq!(r.err_code, 0);
    let tips = sdkws::SubUserOnlineStatusTips::decode(r.data.as_slice())?;
    assert_eq!(tips.subscribers.len(), 2);
    assert_eq!(tips.subscribers[0].online_platform_i_ds, vec![1, 3]);
    assert!(tips.subscribers[1].online_platform_i_ds.is_empty());

    // 2004: a backgrounded iPhone gets no online push (OpenIM leaves it to offline push).
    let bg = sdkws::SetAppBackgroundStatusReq {
        user_id: "u2".into(),
        is_background: true,
    };
    let r = iphone.request(2004, bg.encode_to_vec()).await?;
    assert_eq!((r.err_code, r.data.len()), (0, 0));
    eventually(WAIT, "background in presence", || async {
        let conns = rill_log::presence::connections(&mut env.app.redis(), &keys, "u2").await?;
        Ok(conns.iter().any(|p| p.platform_id == 1 && p.background))
    })
    .await?;
    sender.send_text("u2", "bg1", "while in background").await?;
    let (_, msg) = desktop.next_message().await?;
    assert_eq!(msg.client_msg_id, "bg1");
    // 2003: the reply comes, then the connection closes.
    let (incr, bytes) = iphone.frame(2003, Vec::new());
    iphone.send_raw(bytes).await?;
    let seen = iphone.until_closed().await?;
    assert!(
        seen.iter()
            .any(|r| r.req_identifier == 2003 && r.msg_incr == incr && r.err_code == 0)
    );
    assert!(
        !seen.iter().any(|r| r.req_identifier == 2001),
        "the backgrounded iPhone got a push: {seen:?}"
    );
    env.shutdown.cancel();
    Ok(())
}
