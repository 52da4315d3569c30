//! Group fan-out end to end through one gateway: a 2,000-member group, every member connected
//! over a real WebSocket (gob + gzip, as the Go SDK), one message sent by a member through WS
//! 1003. Every connection must get exactly one 2001 push of it, and the gateway's delivery
//! stream exactly one entry for it (one per gateway, not one per member).

mod common;

use common::*;
use futures_util::{StreamExt, TryStreamExt, stream};
use prost::Message as _;
use rill_app::App;
use rill_core::entity::{Change, EntityEvent, Group, Kind, Member};
use rill_log::delivery::{self, Delivery};
use rill_log::presence;
use rill_wire::pb::sdkws::{MsgData, PushMessages};
use std::time::{Duration, Instant};

const MEMBERS: usize = 2000;
const GATEWAY: &str = "gw-fanout";
/// How long a connection keeps listening for a duplicate after its push arrived.
const GRACE: Duration = Duration::from_millis(1500);

async fn make_group(app: &App, group_id: &str, ids: &[String]) -> anyhow::Result<()> {
    let now = rill_core::now_ms();
    let mut changes = vec![Change::Group {
        kind: Kind::Insert,
        row: Group {
            group_id: group_id.into(),
            group_name: "fanout".into(),
            group_type: 2,
            creator_user_id: ids[0].clone(),
            create_time: now,
            ..Default::default()
        },
    }];
    for (i, id) in ids.iter().enumerate() {
        changes.push(Change::Member {
            group_id: group_id.into(),
            user_id: id.clone(),
            kind: Kind::Insert,
            row: Some(Member {
                group_id: group_id.into(),
                user_id: id.clone(),
                role_level: if i == 0 { 100 } else { 20 },
                join_time: now,
                join_source: 2,
                ..Default::default()
            }),
        });
    }
    let event = EntityEvent {
        operator_user_id: ids[0].clone(),
        changes,
    };
    app.commit(&rill_core::conversation::group(group_id), event)
        .await?;
    Ok(())
}

/// Reads `client` until the push of `client_msg_id` arrives, then for [`GRACE`] more; returns
/// how many 2001 pushes carried that message.
async fn count_pushes(mut client: Client, client_msg_id: String) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut deadline = Instant::now() + Duration::from_secs(30);
    let mut pending: Vec<_> = client.pushes.drain(..).collect();
    loop {
        let resp = match pending.pop() {
            Some(r) => r,
            None => {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, client.next_resp()).await {
                    Ok(r) => r?,
                    Err(_) if count > 0 => return Ok(count),
                    Err(_) => anyhow::bail!("{}: no push within 30 s", client.user),
                }
            }
        };
        if resp.req_identifier != 2001 {
            continue;
        }
        let push = PushMessages::decode(resp.data.as_slice())?;
        let hits = push
            .msgs
            .values()
            .chain(push.notification_msgs.values())
            .flat_map(|p| &p.msgs)
            .filter(|m| m.client_msg_id == client_msg_id)
            .count();
        if hits > 0 && count == 0 {
            deadline = Instant::now() + GRACE;
        }
        count += hits;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_send_reaches_each_of_2000_connected_members_exactly_once() -> anyhow::Result<()> {
    let began = Instant::now();
    let env = env_with(rill_gateway::Config {
        gateway_id: Some(GATEWAY.into()),
        read_timeout_secs: 300,
        ..Default::default()
    })
    .await?;
    let ids: Vec<String> = (0..MEMBERS).map(|i| format!("m{i:04}")).collect();
    let users: Vec<rill_store::users::UserDoc> = ids
        .iter()
        .map(|u| rill_store::users::UserDoc {
            user_id: u.clone(),
            nickname: u.clone(),
            ..Default::default()
        })
        .collect();
    rill_store::users::insert_many(env.app.store().database(), &users).await?;
    let group_id = "fanout2000";
    make_group(&env.app, group_id, &ids).await?;
    let made = began.elapsed();

    let env_ref = &env;
    let mut clients: Vec<Client> = stream::iter(ids.iter().cloned())
        .map(|id| async move { env_ref.client(&id, 3).await })
        .buffer_unordered(64)
        .try_collect()
        .await?;
    clients.sort_by(|a, b| a.user.cmp(&b.user));
    let keys = env.app.log().keys().clone();
    eventually(Duration::from_secs(30), "every member online", || {
        let mut r = env.app.redis();
        let keys = keys.clone();
        let ids = ids.clone();
        async move {
            let found = presence::connections_many(&mut r, &keys, &ids).await?;
            Ok(found.iter().all(|c| c.len() == 1))
        }
    })
    .await?;
    let connected = began.elapsed();

    // The owner sends through its own WebSocket, as the SDK does.
    let client_msg_id = "fanout-1".to_string();
    let msg = MsgData {
        send_id: ids[0].clone(),
        group_id: group_id.into(),
        client_msg_id: client_msg_id.clone(),
        sender_platform_id: 3,
        session_type: 3,
        msg_from: 100,
        content_type: 101,
        content: br#"{"content":"hello, everyone"}"#.to_vec(),
        create_time: rill_core::now_ms(),
        status: 1,
        ..Default::default()
    };
    let sent_at = Instant::now();
    let ack = clients[0].request(1003, msg.encode_to_vec()).await?;
    anyhow::ensure!(
        ack.err_code == 0,
        "send failed: {} {}",
        ack.err_code,
        ack.err_msg
    );

    let counts: Vec<(String, usize)> = stream::iter(clients)
        .map(|c| {
            let id = client_msg_id.clone();
            tokio::spawn(async move {
                let user = c.user.clone();
                count_pushes(c, id).await.map(|n| (user, n))
            })
        })
        .buffer_unordered(MEMBERS)
        .map(|joined| -> anyhow::Result<(String, usize)> { joined? })
        .try_collect()
        .await?;
    let delivered = sent_at.elapsed();
    let wrong: Vec<&(String, usize)> = counts.iter().filter(|(_, n)| *n != 1).collect();
    assert_eq!(counts.len(), MEMBERS);
    assert!(
        wrong.is_empty(),
        "members without exactly one push: {wrong:?}"
    );

    // One delivery entry for the whole group on this gateway, naming every member.
    let batch = delivery::read(&mut env.app.redis(), &keys, GATEWAY, "0-0", 10_000, 1).await?;
    let entries: Vec<Vec<String>> = batch
        .deliveries
        .into_iter()
        .filter_map(|d| match d {
            Delivery::Push {
                user_ids,
                conversation_id,
                ..
            } if conversation_id == "sg_fanout2000" => Some(user_ids),
            _ => None,
        })
        .collect();
    assert_eq!(entries.len(), 1, "delivery entries for the message");
    let mut named = entries[0].clone();
    named.sort();
    assert_eq!(named, ids);

    eprintln!(
        "fan-out of {MEMBERS}: group made in {made:?}, all connected at {connected:?}, \
         every push in {delivered:?} (incl. {GRACE:?} of listening for duplicates)"
    );
    env.shutdown.cancel();
    Ok(())
}
