//! Shared set-up of every scenario: users registered over REST, their tokens, and their
//! connections (bounded concurrency, optional source addresses), with progress.

use super::client::{Conn, GET_NEWEST_SEQ, Handler};
use super::conn::{Login, source_address};
use super::frame::{Codec, Wire};
use super::gob::Resp;
use super::progress::Progress;
use super::rest::Rest;
use super::target::Target;
use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The platform a simulated client logs in as: Windows for the Go core (as in clients.md), Web
/// for the JS SDK.
pub fn platform_for(codec: Codec) -> i32 {
    match codec {
        Codec::Gob => 3,
        Codec::Json => 5,
    }
}

/// A short id that keeps user ids and clientMsgIDs of one run apart from earlier runs against
/// the same server.
pub fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// The admin REST client of `target`.
pub async fn rest(target: &Target) -> anyhow::Result<Rest> {
    Rest::connect(&target.api, &target.secret, &target.admin_user)
        .await
        .context("getting the admin token (is the REST API up, and --secret right?)")
}

/// Registers `ids` and fetches a token for each.
pub async fn logins(rest: &Rest, ids: Vec<String>, platform_id: i32) -> anyhow::Result<Vec<Login>> {
    let started = Instant::now();
    let n = ids.len();
    let p = Progress::start("register", move || format!("{n} users"));
    rest.register(&ids).await.context("registering users")?;
    let tokens = rest
        .user_tokens(&ids, platform_id)
        .await
        .context("getting user tokens")?;
    p.finish();
    tracing::debug!(users = n, elapsed = ?started.elapsed(), "users registered");
    Ok(ids
        .into_iter()
        .zip(tokens)
        .map(|(user_id, token)| Login {
            user_id,
            token,
            platform_id,
        })
        .collect())
}

/// Counters every scenario's handler keeps besides its own.
#[derive(Default)]
pub struct Tally {
    pub newest_seq_replies: AtomicU64,
    pub ended: AtomicU64,
    pub first_end: Mutex<Option<String>>,
    pub stopping: std::sync::atomic::AtomicBool,
}

impl Tally {
    /// Counts frames every scenario treats the same; true when `resp` was one of them.
    pub fn common(&self, resp: &Resp) -> bool {
        if resp.req_identifier == GET_NEWEST_SEQ {
            self.newest_seq_replies.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    pub fn end(&self, conn: usize, why: String) {
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        self.ended.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_end.lock()
            && first.is_none()
        {
            *first = Some(format!("connection {conn}: {why}"));
        }
    }

    pub fn first_end(&self) -> Option<String> {
        self.first_end.lock().ok().and_then(|f| f.clone())
    }
}

/// How connections are opened.
pub struct ConnectPlan {
    pub wire: Wire,
    pub concurrency: usize,
    /// Sockets per source address (127.0.0.2, .3, ...); `None` lets the kernel pick.
    pub per_source: Option<usize>,
}

/// Opens one connection per login, in order. Every result is returned (the caller decides
/// whether a failure is fatal).
pub async fn connect_all(
    target: &Target,
    logins: &[Login],
    plan: &ConnectPlan,
    handler: Arc<dyn Handler>,
) -> Vec<anyhow::Result<Arc<Conn>>> {
    let done = Arc::new(AtomicU64::new(0));
    let total = logins.len();
    let d = done.clone();
    let p = Progress::start("connect", move || {
        format!("{}/{total} connections", d.load(Ordering::Relaxed))
    });
    let results = futures_util::stream::iter(logins.iter().enumerate())
        .map(|(i, login)| {
            let handler = handler.clone();
            let done = done.clone();
            let source = plan.per_source.map(|per| source_address(i, per));
            async move {
                let r = Conn::open(&target.gw, login, plan.wire, source, i, handler).await;
                done.fetch_add(1, Ordering::Relaxed);
                r
            }
        })
        .buffered(plan.concurrency.max(1))
        .collect()
        .await;
    p.finish();
    results
}

/// Every result or the first error.
pub fn all_or_first_error(
    results: Vec<anyhow::Result<Arc<Conn>>>,
) -> anyhow::Result<Vec<Arc<Conn>>> {
    results.into_iter().collect()
}

/// One GetNewestSeq round trip on every connection: proves the codec both ways and that the
/// gateway finished setting each session up (presence) before anything is measured.
pub async fn warm_up(conns: &[Arc<Conn>], tally: &Tally, timeout: Duration) -> anyhow::Result<()> {
    let before = tally.newest_seq_replies.load(Ordering::Relaxed);
    for c in conns {
        let data = prost::Message::encode_to_vec(&rill_wire::pb::sdkws::GetMaxSeqReq {
            user_id: c.user_id.clone(),
        });
        c.send(&c.req(GET_NEWEST_SEQ, format!("warm-{}", c.index), data))
            .await?;
    }
    let want = before + conns.len() as u64;
    let deadline = Instant::now() + timeout;
    while tally.newest_seq_replies.load(Ordering::Relaxed) < want {
        if let Some(why) = tally.first_end() {
            bail!("a connection ended during warm-up: {why}");
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {} GetNewestSeq (1001) replies within {timeout:?}",
                tally.newest_seq_replies.load(Ordering::Relaxed) - before,
                conns.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
