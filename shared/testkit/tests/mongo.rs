use mongodb::bson::{Document, doc};
use rill_testkit::{MongoServer, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_server_pings_and_stores() -> anyhow::Result<()> {
    let server = MongoServer::shared().await?;
    assert!(server.uri().starts_with("mongodb://"));
    let client = server.client().await?;
    client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await?;
    let db = client.database(&unique_name("testkit"));
    let coll = db.collection::<Document>("things");
    coll.insert_one(doc! {"_id": 1, "seq": 7_i64}).await?;
    let found = coll.find_one(doc! {"_id": 1}).await?;
    assert_eq!(found.and_then(|d| d.get_i64("seq").ok()), Some(7));
    // A second call returns the same server.
    let again = MongoServer::shared().await?;
    assert_eq!(again.uri(), server.uri());
    db.drop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_server_keeps_data_across_stop_and_start() -> anyhow::Result<()> {
    let mut server = MongoServer::start_private().await?;
    let uri = server.uri();
    assert!(uri.contains("directConnection=true"));
    let name = unique_name("private");
    {
        let client = server.client().await?;
        let coll = client.database(&name).collection::<Document>("c");
        coll.insert_one(doc! {"_id": "a", "v": 1}).await?;
        client.shutdown().await;
    }
    server.stop().await?;
    // Stopped: nothing listens on its port any more.
    let port: u16 = uri
        .trim_start_matches("mongodb://127.0.0.1:")
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()?;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
    server.start_again().await?;
    assert_eq!(server.uri(), uri);
    let client = server.client().await?;
    let coll = client.database(&name).collection::<Document>("c");
    let found = coll.find_one(doc! {"_id": "a"}).await?;
    assert_eq!(found.and_then(|d| d.get_i32("v").ok()), Some(1));
    Ok(())
}
