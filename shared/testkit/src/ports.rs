use std::net::TcpListener;

/// The machine's own Redis; tests must never get it, even by accident.
const FORBIDDEN: u16 = 6379;

/// A loopback port the kernel just handed out. It is released before the server binds it, so a
/// race with another process is possible: callers retry on "address in use".
pub(crate) fn free_port() -> anyhow::Result<u16> {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if port != FORBIDDEN {
            return Ok(port);
        }
    }
}

/// True when something accepts connections on 127.0.0.1:`port`.
pub(crate) async fn accepts(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}
