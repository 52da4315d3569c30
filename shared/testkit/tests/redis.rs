use redis::AsyncCommands;
use rill_testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_on_a_private_port_and_answers_ping() -> anyhow::Result<()> {
    let a = RedisServer::start().await?;
    let b = RedisServer::start().await?;
    assert_ne!(a.port(), b.port());
    assert_ne!(a.port(), 6379);
    assert_eq!(a.url(), format!("redis://127.0.0.1:{}/", a.port()));
    let mut conn = a.client().get_multiplexed_async_connection().await?;
    let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
    assert_eq!(pong, "PONG");
    // The two servers are separate: a key set in one is absent from the other.
    let _: () = conn.set("k", "v").await?;
    let mut other = b.conn().await?;
    let missing: Option<String> = other.get("k").await?;
    assert_eq!(missing, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aof_survives_kill9_and_restart_on_the_same_port() -> anyhow::Result<()> {
    let mut server = RedisServer::start_aof().await?;
    let port = server.port();
    let mut conn = server.conn().await?;
    for i in 0..50 {
        let _: String = conn.xadd("s", "*", &[("n", i)]).await?;
    }
    let _: () = conn.set("k", "v").await?;
    server.kill9().await?;
    // Dead: the old connection fails.
    let err: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
    assert!(err.is_err());
    server.restart().await?;
    assert_eq!(server.port(), port);
    let mut conn = server.conn().await?;
    let len: usize = conn.xlen("s").await?;
    assert_eq!(len, 50);
    let v: Option<String> = conn.get("k").await?;
    assert_eq!(v.as_deref(), Some("v"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_aof_a_restart_starts_empty() -> anyhow::Result<()> {
    let mut server = RedisServer::start().await?;
    let mut conn = server.conn().await?;
    let _: () = conn.set("k", "v").await?;
    server.kill9().await?;
    server.restart().await?;
    let mut conn = server.conn().await?;
    let v: Option<String> = conn.get("k").await?;
    assert_eq!(v, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_kills_the_server() -> anyhow::Result<()> {
    let server = RedisServer::start().await?;
    let port = server.port();
    drop(server);
    // SIGKILL is immediate, but give the kernel a moment to close the listening socket.
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(closed, "redis-server still listening on {port} after drop");
    Ok(())
}
