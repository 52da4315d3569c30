//! Group chat through the real group commands and WebSocket clients: a group made with
//! `create_group`, sends over WS 1003, a kick (the kicked member still gets the kick notice,
//! nothing after it, and reads up to it), and the mute codes in the send acks.

mod common;

use common::*;
use prost::Message as _;
use rill_app::Caller;
use rill_wire::pb::group as gpb;
use rill_wire::pb::msg::{ConversationSeqs, GetSeqMessageReq};
use rill_wire::pb::sdkws::{GroupInfo, MsgData, PushMessages};
use std::time::Duration;

const G: &str = "chat1";
const SG: &str = "sg_chat1";

fn caller(user: &str) -> Caller {
    Caller {
        user_id: user.into(),
        platform_id: 3,
        is_admin: false,
    }
}

fn group_msg(from: &str, id: &str) -> MsgData {
    let mut m = text_msg(from, "", id, "hello group");
    m.session_type = 3;
    m.group_id = G.into();
    m
}

/// Every (conversation, message) in `client`'s pushes until `until` is true of one, or `wait`
/// passes (then the list so far).
async fn pushed_until(
    client: &mut Client,
    wait: Duration,
    until: impl Fn(&str, &MsgData) -> bool,
) -> anyhow::Result<Vec<(String, MsgData)>> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let resp = match client.pushes.pop_front() {
            Some(r) => r,
            None => match tokio::time::timeout_at(deadline, client.next_resp()).await {
                Ok(r) => r?,
                Err(_) => return Ok(seen),
            },
        };
        if resp.req_identifier != 2001 {
            continue;
        }
        let push = PushMessages::decode(resp.data.as_slice())?;
        let mut done = false;
        for (conv, pulled) in push.msgs.into_iter().chain(push.notification_msgs) {
            for m in pulled.msgs {
                done |= until(&conv, &m);
                seen.push((conv.clone(), m));
            }
        }
        if done {
            return Ok(seen);
        }
    }
}

/// Waits for the stored message `seq` of the group conversation; returns everything seen.
async fn until_seq(client: &mut Client, seq: i64) -> anyhow::Result<Vec<(String, MsgData)>> {
    let seen = pushed_until(client, WAIT, |c, m| c == SG && m.seq == seq).await?;
    anyhow::ensure!(
        seen.iter().any(|(c, m)| c == SG && m.seq == seq),
        "{} never got {SG} seq {seq}: {:?}",
        client.user,
        seen.iter()
            .map(|(c, m)| (c.as_str(), m.seq, m.content_type))
            .collect::<Vec<_>>()
    );
    Ok(seen)
}

/// The errCode of a group send over WS 1003.
async fn send_code(client: &mut Client, id: &str) -> anyhow::Result<i32> {
    let msg = group_msg(&client.user.clone(), id);
    Ok(client.request(1003, msg.encode_to_vec()).await?.err_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_made_kicked_and_muted_through_the_commands() -> anyhow::Result<()> {
    let env = env().await?;
    let mut u1 = env.client("u1", 3).await?;
    let mut u2 = env.client("u2", 3).await?;
    let mut u3 = env.client("u3", 3).await?;
    let mut u4 = env.client("u4", 3).await?;
    let app = &env.app;
    app.create_group(
        &caller("u1"),
        gpb::CreateGroupReq {
            member_user_i_ds: vec!["u2".into(), "u3".into()],
            group_info: Some(GroupInfo {
                group_id: G.into(),
                group_name: "chat".into(),
                group_type: 2,
                ..Default::default()
            }),
            owner_user_id: "u1".into(),
            ..Default::default()
        },
    )
    .await?;
    // The stored GroupCreated notice is seq 1 for every member.
    for c in [&mut u1, &mut u2, &mut u3] {
        let seen = until_seq(c, 1).await?;
        let created = seen.iter().find(|(conv, m)| conv == SG && m.seq == 1);
        assert_eq!(created.map(|(_, m)| m.content_type), Some(1501));
    }

    assert_eq!(send_code(&mut u2, "m2").await?, 0);
    for c in [&mut u1, &mut u2, &mut u3] {
        let seen = until_seq(c, 2).await?;
        let text = seen.iter().find(|(conv, m)| conv == SG && m.seq == 2);
        assert_eq!(
            text.map(|(_, m)| (m.send_id.as_str(), m.content_type)),
            Some(("u2", 101))
        );
    }
    // Not a member.
    assert_eq!(send_code(&mut u4, "x").await?, 1203);
    let stray = pushed_until(&mut u4, Duration::from_millis(300), |_, _| false).await?;
    assert!(
        stray.iter().all(|(c, _)| c != SG),
        "a non-member got group messages: {stray:?}"
    );

    // u3 is kicked: the kick notice (seq 3) reaches u3 too, nothing after it does.
    app.kick_group_member(
        &caller("u1"),
        gpb::KickGroupMemberReq {
            group_id: G.into(),
            kicked_user_i_ds: vec!["u3".into()],
            reason: "bye".into(),
            send_message: None,
        },
    )
    .await?;
    let seen = until_seq(&mut u3, 3).await?;
    let kicked = seen.iter().find(|(c, m)| c == SG && m.seq == 3);
    assert_eq!(kicked.map(|(_, m)| m.content_type), Some(1508));
    assert_eq!(send_code(&mut u3, "late").await?, 1203);
    assert_eq!(send_code(&mut u2, "m4").await?, 0);
    for c in [&mut u1, &mut u2] {
        until_seq(c, 3).await?;
        until_seq(c, 4).await?;
    }
    let after = pushed_until(&mut u3, Duration::from_millis(500), |_, _| false).await?;
    assert!(
        after.iter().all(|(c, m)| !(c == SG && m.seq >= 4)),
        "the kicked member got a later message: {after:?}"
    );
    // u3 reads the group up to the kick notice, and no further.
    let pulled = app
        .pull_by_seq_lists(
            &caller("u3"),
            GetSeqMessageReq {
                user_id: "u3".into(),
                conversations: vec![ConversationSeqs {
                    conversation_id: SG.into(),
                    seqs: vec![1, 2, 3, 4],
                }],
                order: 0,
            },
        )
        .await?;
    let seqs: Vec<i64> = pulled.msgs[SG].msgs.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);

    // Mutes: a muted member gets 1402; in a muted group a member gets 1403, the owner sends.
    app.mute_group_member(
        &caller("u1"),
        gpb::MuteGroupMemberReq {
            group_id: G.into(),
            user_id: "u2".into(),
            muted_seconds: 60,
        },
    )
    .await?;
    assert_eq!(send_code(&mut u2, "muted").await?, 1402);
    app.cancel_mute_group_member(
        &caller("u1"),
        gpb::CancelMuteGroupMemberReq {
            group_id: G.into(),
            user_id: "u2".into(),
        },
    )
    .await?;
    assert_eq!(send_code(&mut u2, "unmuted").await?, 0);
    app.mute_group(&caller("u1"), gpb::MuteGroupReq { group_id: G.into() })
        .await?;
    assert_eq!(send_code(&mut u2, "group-muted").await?, 1403);
    assert_eq!(send_code(&mut u1, "owner").await?, 0);
    env.shutdown.cancel();
    Ok(())
}
