//! The start-up durability check: when Redis lost the tail of a conversation stream that history
//! already projected, the stream is moved forward so no seq is handed out twice.

use rill::serve::{ServeOptions, Service};
use rill_log::{Envelope, Event, Topology};
use rill_testkit::{MongoServer, RedisServer, unique_name};
use std::time::Duration;

fn message(n: usize) -> Envelope {
    let msg = rill_core::Message {
        send_id: "u1".into(),
        recv_id: "u2".into(),
        session_type: 1,
        content_type: 101,
        client_msg_id: format!("c{n}"),
        content: b"{\"content\":\"hi\"}".to_vec(),
        ..Default::default()
    };
    Envelope::new(Event::Message(msg))
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_behind_history_is_moved_forward_at_start() {
    let redis = RedisServer::start().await.unwrap();
    let mongo = MongoServer::shared().await.unwrap();
    let db_name = unique_name("seqfloor");
    let options = || {
        let mut o = ServeOptions::new(
            redis.url(),
            mongo.uri(),
            db_name.clone(),
            Topology::default(),
        );
        o.services = vec![Service::History];
        o
    };
    let conv = "si_u1_u2";

    // Ten messages appended and projected into history.
    let running = rill::start(options()).await.unwrap();
    for n in 0..10 {
        running
            .app
            .log()
            .append(conv, &format!("c{n}"), &message(n))
            .await
            .unwrap();
    }
    let db = running.app.store().database().clone();
    wait_for("history to hold 10 messages", || {
        let db = db.clone();
        async move { rill_store::messages::count(&db, conv).await.unwrap_or(0) == 10 }
    })
    .await;
    running.stop().await.unwrap();

    // Redis loses everything (the worst case of a lost AOF tail).
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();

    // On start the check moves the stream to history's max seq; the next append gets 11.
    let running = rill::start(options()).await.unwrap();
    let log = running.app.log().clone();
    wait_for("the stream to be moved forward", || {
        let log = log.clone();
        async move { log.max_seq(conv).await.unwrap_or(0) == 10 }
    })
    .await;
    let appended = log.append(conv, "after-loss", &message(99)).await.unwrap();
    assert_eq!(appended.seq, 11);
    assert!(!appended.duplicate);
    running.stop().await.unwrap();
}
