//! Gateway delivery streams against a real redis-server: a push batch becomes a few entries per
//! gateway, deliveries come back in order, and entries of the first format (one delivery in
//! field `d`) still read. Golden files keep the delivery encoding decodable.
#![allow(clippy::unwrap_used)]

use redis::AsyncCommands;
use rill_log::Keys;
use rill_log::delivery::{self, Delivery, TTL_SECS};
use rill_testkit::RedisServer;
use std::path::PathBuf;

fn push(i: usize) -> Delivery {
    Delivery::Push {
        user_ids: vec![format!("u{i}"), "u0".into()],
        conversation_id: format!("si_u0_u{i}"),
        message: bytes::Bytes::from(vec![b'x'; 1_000 + i]),
    }
}

fn kick(user: &str) -> Delivery {
    Delivery::Kick {
        user_id: user.into(),
        platform_id: 2,
        spare_token: Some("t".into()),
    }
}

/// A private redis-server (kept alive by the caller), a connection to it, and fresh keys.
async fn connected() -> (RedisServer, redis::aio::MultiplexedConnection, Keys) {
    let redis = RedisServer::start().await.unwrap();
    let conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (redis, conn, Keys::new(rill_testkit::unique_name("t"), 4))
}

async fn xlen(conn: &mut redis::aio::MultiplexedConnection, keys: &Keys, gw: &str) -> usize {
    conn.xlen(delivery::stream_key(keys, gw)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_a_few_entries_per_gateway_read_back_in_order() {
    let (_redis, mut conn, keys) = connected().await;

    // 300 pushes of ~1 KiB to gw1 with two kicks to gw2 among them.
    let mut batch: Vec<(String, Delivery)> = (0..300).map(|i| ("gw1".into(), push(i))).collect();
    batch.insert(10, ("gw2".into(), kick("a")));
    batch.insert(200, ("gw2".into(), kick("b")));
    delivery::send_many(&mut conn, &keys, &batch).await.unwrap();

    // ~330 KiB for gw1: cut at 64 KiB, so a handful of entries instead of 300.
    let gw1 = xlen(&mut conn, &keys, "gw1").await;
    assert!((5..=7).contains(&gw1), "gw1 has {gw1} entries");
    assert_eq!(xlen(&mut conn, &keys, "gw2").await, 1);

    let read = delivery::read(&mut conn, &keys, "gw1", "0-0", 1_000, 0)
        .await
        .unwrap();
    assert_eq!(read.deliveries, (0..300).map(push).collect::<Vec<_>>());
    assert!(read.last_id.is_some());
    let read = delivery::read(&mut conn, &keys, "gw2", "0-0", 1_000, 0)
        .await
        .unwrap();
    assert_eq!(read.deliveries, vec![kick("a"), kick("b")]);

    // Reading with a small count goes entry by entry and resumes after the last one.
    let first = delivery::read(&mut conn, &keys, "gw1", "0-0", 1, 0)
        .await
        .unwrap();
    let rest = delivery::read(
        &mut conn,
        &keys,
        "gw1",
        first.last_id.as_deref().unwrap(),
        1_000,
        0,
    )
    .await
    .unwrap();
    assert_eq!(first.deliveries.len() + rest.deliveries.len(), 300);
    assert_eq!(rest.deliveries.last(), Some(&push(299)));

    for gw in ["gw1", "gw2"] {
        let ttl: i64 = conn.ttl(delivery::stream_key(&keys, gw)).await.unwrap();
        assert!((1..=TTL_SECS).contains(&ttl), "{gw}: TTL {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_the_first_format_still_read() {
    let (_redis, mut conn, keys) = connected().await;
    let key = delivery::stream_key(&keys, "gw");

    // What an older push worker wrote: one delivery per entry, field d.
    let _: String = conn
        .xadd(&key, "*", &[("d", push(1).encode().unwrap())])
        .await
        .unwrap();
    delivery::send_many(
        &mut conn,
        &keys,
        &[("gw".into(), push(2)), ("gw".into(), kick("a"))],
    )
    .await
    .unwrap();
    // An entry with neither field is skipped, not fatal.
    let _: String = conn.xadd(&key, "*", &[("x", "junk")]).await.unwrap();
    let _: String = conn
        .xadd(&key, "*", &[("d", kick("b").encode().unwrap())])
        .await
        .unwrap();

    let read = delivery::read(&mut conn, &keys, "gw", "0-0", 100, 0)
        .await
        .unwrap();
    assert_eq!(
        read.deliveries,
        vec![push(1), push(2), kick("a"), kick("b")]
    );
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The deliveries the golden files were written from: every field set.
fn golden_deliveries() -> [(&'static str, Delivery); 2] {
    [
        (
            "delivery_push.msgpack",
            Delivery::Push {
                user_ids: vec!["u1".into(), "u2".into()],
                conversation_id: "sg_g1".into(),
                message: bytes::Bytes::from_static(b"\x0a\x02u1\x28\x07"),
            },
        ),
        (
            "delivery_kick.msgpack",
            Delivery::Kick {
                user_id: "u1".into(),
                platform_id: 5,
                spare_token: Some("token".into()),
            },
        ),
    ]
}

#[test]
fn golden_deliveries_still_decode() {
    for (name, d) in golden_deliveries() {
        let bytes = std::fs::read(golden(name)).unwrap();
        assert_eq!(Delivery::decode(&bytes).unwrap(), d, "{name}");
    }
}

#[test]
#[ignore = "writes a golden file once; never overwrites one"]
fn write_golden_files() {
    for (name, d) in golden_deliveries() {
        let path = golden(name);
        if !path.exists() {
            std::fs::write(&path, d.encode().unwrap()).unwrap();
        }
    }
}
