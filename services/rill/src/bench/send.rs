//! `send`: N connected users, M of them sending one-to-one, closed loop (a window of
//! unacknowledged messages per sender) or open loop at a target rate. Measures send→ack and
//! send→delivered-to-recipient latency and the end-to-end rate: until every message was acked,
//! pushed to its recipient, and every consumer group (history, read models, push) drained.

use super::client::{Conn, Handler, PUSH_MSG, SEND_MSG};
use super::cpu::{self, CpuUse};
use super::frame::{Codec, Wire};
use super::gob::Resp;
use super::lag::Projections;
use super::msgs::{self, Tag};
use super::progress::Progress;
use super::report::{Row, thousands};
use super::setup::{self, ConnectPlan, Tally};
use super::stats::{self, Hist, Summary, per_sec};
use super::target::Target;
use anyhow::bail;
use prost::Message as _;
use rill_wire::pb::sdkws::PushMessages;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug, Clone)]
pub struct SendArgs {
    /// Connected users.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Users that send, each to its own peer among the others.
    #[arg(long, default_value_t = 100)]
    pub senders: usize,
    /// Messages in total (split evenly over the senders).
    #[arg(long, default_value_t = 200_000)]
    pub messages: u64,
    /// Open loop: target messages/s over all senders, sent on schedule whatever the acks
    /// (latency counts from the scheduled instant). 0: closed loop with --window.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Closed loop: unacknowledged messages per sender.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Sending stops after this long even when not all --messages were sent.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// How long to wait for acks, deliveries and projections once sending stopped.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// gob (+gzip, as the Go SDK core) or json (as the JS SDK).
    #[arg(long, value_enum, default_value = "gob")]
    pub codec: Codec,
    /// Text size of each message, in bytes.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
}

impl Default for SendArgs {
    fn default() -> Self {
        SendArgs {
            users: 200,
            senders: 100,
            messages: 200_000,
            rate: 0,
            window: 16,
            duration: Duration::from_secs(60),
            drain: Duration::from_secs(60),
            codec: Codec::Gob,
            size: 64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SendReport {
    pub wire: String,
    pub users: usize,
    pub senders: usize,
    pub rate_target: Option<u64>,
    pub sent: u64,
    pub acked: u64,
    pub ack_errors: u64,
    pub first_error: Option<String>,
    pub delivered: u64,
    pub duplicates: u64,
    pub connections_lost: u64,
    /// First send → last send.
    pub send_time: Duration,
    /// First send → last delivery.
    pub deliver_time: Duration,
    /// First send → every message delivered and every consumer group drained (`None` when
    /// projections were not checked or did not drain within --drain).
    pub end_to_end_time: Option<Duration>,
    pub projections_checked: bool,
    /// When projections did not drain: entries left, and how fast the backlog shrank while
    /// waiting (entries/s over all groups).
    pub backlog_left: Option<(u64, f64)>,
    pub ack: Summary,
    pub delivery: Summary,
    /// CPU time by process from the first send until everything was delivered and drained.
    pub cpu: CpuUse,
}

impl SendReport {
    pub fn send_rate(&self) -> f64 {
        per_sec(self.sent, self.send_time)
    }

    /// Delivered messages per second, end to end when projections were checked.
    pub fn sustained_rate(&self) -> f64 {
        per_sec(
            self.delivered,
            self.end_to_end_time.unwrap_or(self.deliver_time),
        )
    }

    pub fn complete(&self) -> bool {
        self.sent > 0
            && self.acked == self.sent
            && self.delivered == self.sent
            && self.ack_errors == 0
    }

    pub fn rows(&self, ceiling: Option<f64>) -> Vec<Row> {
        let name = format!(
            "send {} ({} users, {} senders)",
            self.wire, self.users, self.senders
        );
        let incomplete = if self.complete() {
            String::new()
        } else {
            format!(
                "; INCOMPLETE: sent {} acked {} delivered {}",
                self.sent, self.acked, self.delivered
            )
        };
        let incomplete = match self.backlog_left {
            Some((left, rate)) => format!(
                "{incomplete}; projections NOT drained: {} entries left, draining at {}/s",
                thousands(left as f64),
                thousands(rate)
            ),
            None => incomplete,
        };
        match self.rate_target {
            None => {
                let rate = self.sustained_rate();
                let ratio = ceiling.map(|c| rate / c);
                let met = self.complete() && rate >= 15_000.0 && ratio.is_none_or(|r| r >= 0.5);
                vec![
                    Row::new(
                        format!("{name}, max"),
                        format!(
                            "{} msg/s{} (acked {}/s; ack p99 {} ms; delivered p99 {} ms){incomplete}",
                            thousands(rate),
                            if self.end_to_end_time.is_some() { " stored+projected+pushed" } else { " pushed" },
                            thousands(self.send_rate()),
                            stats::fmt_ms(self.ack.p99_ms),
                            stats::fmt_ms(self.delivery.p99_ms),
                        ),
                    )
                    .target("≥ 15,000 msg/s and ≥ 0.5 × ceiling", Some(met))
                    .ratio_of(rate, ceiling),
                    Row::new(
                        format!("{name}, max: CPU"),
                        self.cpu.per_message(self.delivered),
                    ),
                ]
            }
            Some(r) => {
                let met = (r >= 2000).then_some(self.complete() && self.delivery.p99_ms <= 20.0);
                vec![
                    Row::new(
                        format!("{name} @ {}/s", thousands(r as f64)),
                        format!(
                            "send→delivered p50 {} p99 {} max {} ms; send→ack p99 {} ms; {} msg/s end to end{incomplete}",
                            stats::fmt_ms(self.delivery.p50_ms),
                            stats::fmt_ms(self.delivery.p99_ms),
                            stats::fmt_ms(self.delivery.max_ms),
                            stats::fmt_ms(self.ack.p99_ms),
                            thousands(self.sustained_rate()),
                        ),
                    )
                    .target("p99 send→delivered ≤ 20 ms at 2,000 msg/s", met)
                    .ratio_of(self.sustained_rate(), ceiling),
                ]
            }
        }
    }
}

impl fmt::Display for SendReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "send [{}] users={} senders={} mode={}",
            self.wire,
            self.users,
            self.senders,
            self.rate_target
                .map(|r| format!("open loop {r}/s"))
                .unwrap_or_else(|| "closed loop".into())
        )?;
        writeln!(
            f,
            "  sent {} acked {} errors {} delivered {} duplicates {} connections lost {}",
            self.sent,
            self.acked,
            self.ack_errors,
            self.delivered,
            self.duplicates,
            self.connections_lost
        )?;
        if let Some(e) = &self.first_error {
            writeln!(f, "  first error: {e}")?;
        }
        writeln!(f, "  send→ack       {}", self.ack)?;
        writeln!(f, "  send→delivered {}", self.delivery)?;
        writeln!(
            f,
            "  sent {:.0}/s over {:.2} s; delivered {:.0}/s over {:.2} s",
            self.send_rate(),
            self.send_time.as_secs_f64(),
            per_sec(self.delivered, self.deliver_time),
            self.deliver_time.as_secs_f64()
        )?;
        match (self.projections_checked, self.end_to_end_time) {
            (true, Some(t)) => writeln!(
                f,
                "  end to end (stored, projected, pushed): {:.0} msg/s over {:.2} s",
                self.sustained_rate(),
                t.as_secs_f64()
            ),
            (true, None) => match self.backlog_left {
                Some((left, rate)) => writeln!(
                    f,
                    "  projections did NOT drain within the drain timeout: {left} entries left (all groups), \
                     shrinking at {rate:.0}/s while waiting"
                ),
                None => writeln!(f, "  projections did NOT drain within the drain timeout"),
            },
            (false, _) => writeln!(f, "  projections not checked (no --redis)"),
        }?;
        writeln!(f, "  CPU: {}", self.cpu.per_message(self.delivered))
    }
}

struct State {
    prefix: String,
    users: Vec<String>,
    windows: Vec<Option<Arc<Semaphore>>>,
    /// Last pushed seq per conversation, per connection (duplicate/reorder detection).
    seen: Vec<Mutex<HashMap<String, i64>>>,
    sent: AtomicU64,
    acked: AtomicU64,
    ack_errors: AtomicU64,
    delivered: AtomicU64,
    duplicates: AtomicU64,
    last_delivery: AtomicU64,
    first_error: Mutex<Option<String>>,
    ack: Hist,
    delivery: Hist,
    tally: Tally,
}

impl State {
    fn error(&self, e: String) {
        if let Ok(mut first) = self.first_error.lock()
            && first.is_none()
        {
            *first = Some(e);
        }
    }

    fn on_push(&self, conn: usize, data: &[u8]) {
        let Ok(push) = PushMessages::decode(data) else {
            self.error(format!("connection {conn}: undecodable PushMessages"));
            return;
        };
        let me = &self.users[conn];
        for (conversation, pulled) in &push.msgs {
            for m in &pulled.msgs {
                let Some(tag) = msgs::parse_tag(&self.prefix, &m.client_msg_id) else {
                    continue;
                };
                if &m.recv_id != me || &m.send_id == me {
                    continue;
                }
                let latency = stats::since_stamp(tag.stamp);
                if let Ok(mut seen) = self.seen[conn].lock() {
                    let last = seen.entry(conversation.clone()).or_insert(0);
                    if m.seq != 0 && m.seq <= *last {
                        self.duplicates.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    *last = m.seq;
                }
                self.delivery.record(latency);
                self.delivered.fetch_add(1, Ordering::Relaxed);
                self.last_delivery
                    .fetch_max(stats::stamp(Instant::now()), Ordering::Relaxed);
            }
        }
    }
}

impl Handler for State {
    fn on_resp(&self, conn: usize, resp: Resp) {
        if self.tally.common(&resp) {
            return;
        }
        match resp.req_identifier {
            SEND_MSG => {
                if let Ok(stamp) = resp.msg_incr.parse::<u64>() {
                    if resp.err_code != 0 {
                        self.ack_errors.fetch_add(1, Ordering::Relaxed);
                        self.error(format!(
                            "SendMsg: errCode {} {}",
                            resp.err_code, resp.err_msg
                        ));
                    } else {
                        self.ack.record(stats::since_stamp(stamp));
                        self.acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Some(w) = &self.windows[conn] {
                    w.add_permits(1);
                }
            }
            PUSH_MSG => self.on_push(conn, &resp.data),
            _ => {}
        }
    }

    fn on_end(&self, conn: usize, why: String) {
        self.tally.end(conn, why);
    }
}

/// When sender `i` sends its `k`-th message.
#[derive(Clone, Copy)]
enum Plan {
    Closed,
    Open {
        start: Instant,
        interval: Duration,
        offset: Duration,
    },
}

pub async fn run(target: &Target, args: &SendArgs) -> anyhow::Result<SendReport> {
    if args.users < 2 || args.senders == 0 || args.senders > args.users {
        bail!("send needs --users ≥ 2 and 1 ≤ --senders ≤ --users");
    }
    let run = setup::run_id();
    let prefix = format!("b{run}");
    let wire = Wire::like_sdk(args.codec);
    let platform = setup::platform_for(args.codec);
    let rest = setup::rest(target).await?;
    let ids: Vec<String> = (0..args.users).map(|i| format!("b{run}u{i}")).collect();
    let logins = setup::logins(&rest, ids.clone(), platform).await?;

    let state = Arc::new(State {
        prefix: prefix.clone(),
        users: ids.clone(),
        windows: (0..args.users)
            .map(|i| {
                (i < args.senders && args.rate == 0)
                    .then(|| Arc::new(Semaphore::new(args.window.max(1))))
            })
            .collect(),
        seen: (0..args.users)
            .map(|_| Mutex::new(HashMap::new()))
            .collect(),
        sent: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        ack_errors: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        last_delivery: AtomicU64::new(0),
        first_error: Mutex::new(None),
        ack: Hist::default(),
        delivery: Hist::default(),
        tally: Tally::default(),
    });
    let plan = ConnectPlan {
        wire,
        concurrency: 64,
        per_source: None,
    };
    let conns =
        setup::all_or_first_error(setup::connect_all(target, &logins, &plan, state.clone()).await)?;
    setup::warm_up(&conns, &state.tally, Duration::from_secs(30)).await?;
    let stop = CancellationToken::new();
    let heartbeat = super::client::heartbeat(conns.clone(), Duration::from_secs(20), stop.clone());

    // Sender i talks to one peer among the non-senders (or the next user when all send).
    let peer_of = |i: usize| -> usize {
        if args.users > args.senders {
            args.senders + i % (args.users - args.senders)
        } else {
            (i + 1) % args.users
        }
    };
    let per_sender = args.messages / args.senders as u64;
    let remainder = args.messages % args.senders as u64;
    let body = Arc::new(msgs::body(args.size));
    let start = Instant::now() + Duration::from_millis(50);
    let deadline = start + args.duration;
    let s = state.clone();
    let total = args.messages;
    let progress = Progress::start("send", move || {
        format!(
            "sent {}/{total} acked {} delivered {} errors {}",
            s.sent.load(Ordering::Relaxed),
            s.acked.load(Ordering::Relaxed),
            s.delivered.load(Ordering::Relaxed),
            s.ack_errors.load(Ordering::Relaxed) + s.tally.ended.load(Ordering::Relaxed),
        )
    });
    let watched = target.watched();
    let cpu_before = cpu::Sample::take(&watched);
    let mut senders = Vec::with_capacity(args.senders);
    for i in 0..args.senders {
        let quota = per_sender + u64::from((i as u64) < remainder);
        let plan = if args.rate == 0 {
            Plan::Closed
        } else {
            Plan::Open {
                start,
                interval: Duration::from_secs_f64(args.senders as f64 / args.rate as f64),
                offset: Duration::from_secs_f64(i as f64 / args.rate as f64),
            }
        };
        let conn = conns[i].clone();
        let peer = ids[peer_of(i)].clone();
        let state = state.clone();
        let prefix = prefix.clone();
        let body = body.clone();
        senders.push(tokio::spawn(async move {
            sender(
                i, conn, peer, quota, plan, start, deadline, platform, &prefix, &body, &state,
            )
            .await
        }));
    }
    let mut first_send: Option<Instant> = None;
    let mut last_send = start;
    for s in senders {
        if let Ok(Some((first, last))) = s.await {
            first_send = Some(first_send.map_or(first, |f| f.min(first)));
            last_send = last_send.max(last);
        }
    }
    let first_send = first_send.unwrap_or(start);

    // Drain: every sent message acked (or failed) and delivered.
    let drain_deadline = Instant::now() + args.drain;
    loop {
        let sent = state.sent.load(Ordering::Relaxed);
        let answered =
            state.acked.load(Ordering::Relaxed) + state.ack_errors.load(Ordering::Relaxed);
        let delivered = state.delivered.load(Ordering::Relaxed);
        if (answered >= sent && delivered >= state.acked.load(Ordering::Relaxed))
            || Instant::now() > drain_deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last_delivery =
        stats::epoch() + Duration::from_nanos(state.last_delivery.load(Ordering::Relaxed));
    let (projections_checked, drained_at, backlog_left) = match &target.redis_url {
        Some(url) => {
            let mut p = Projections::connect(url, &target.topology, &target.groups).await?;
            let left = drain_deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_secs(1));
            let (b0, t0) = (p.backlog().await?, Instant::now());
            let drained = p.wait_drained(left).await?;
            let backlog_left = match drained {
                Some(_) => None,
                None => {
                    let b1 = p.backlog().await?;
                    Some((b1, per_sec(b0.saturating_sub(b1), t0.elapsed())))
                }
            };
            (true, drained, backlog_left)
        }
        None => (false, None, None),
    };
    let cpu = cpu_before.until(&cpu::Sample::take(&watched));
    progress.finish();
    state.tally.stopping.store(true, Ordering::Relaxed);
    stop.cancel();
    heartbeat.abort();
    for c in &conns {
        c.close().await;
    }

    let sent = state.sent.load(Ordering::Relaxed);
    let delivered = state.delivered.load(Ordering::Relaxed);
    let deliver_time = last_delivery.saturating_duration_since(first_send);
    let end_to_end_time =
        drained_at.map(|d| d.max(last_delivery).saturating_duration_since(first_send));
    Ok(SendReport {
        wire: wire.label(),
        users: args.users,
        senders: args.senders,
        rate_target: (args.rate > 0).then_some(args.rate),
        sent,
        acked: state.acked.load(Ordering::Relaxed),
        ack_errors: state.ack_errors.load(Ordering::Relaxed),
        first_error: state
            .first_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .or_else(|| state.tally.first_end()),
        delivered,
        duplicates: state.duplicates.load(Ordering::Relaxed),
        connections_lost: state.tally.ended.load(Ordering::Relaxed),
        send_time: last_send.saturating_duration_since(first_send),
        deliver_time,
        end_to_end_time,
        projections_checked,
        backlog_left,
        ack: state.ack.summary(),
        delivery: state.delivery.summary(),
        cpu,
    })
}

/// Sends `quota` messages from `conn` to `peer`; the instants of its first and last send.
#[allow(clippy::too_many_arguments)]
async fn sender(
    i: usize,
    conn: Arc<Conn>,
    peer: String,
    quota: u64,
    plan: Plan,
    start: Instant,
    deadline: Instant,
    platform: i32,
    prefix: &str,
    body: &str,
    state: &State,
) -> Option<(Instant, Instant)> {
    tokio::time::sleep_until(start.into()).await;
    let mut first = None;
    let mut last = start;
    for k in 0..quota {
        let intended = match plan {
            Plan::Closed => {
                let w = state.windows[i].as_ref()?;
                // A stalled server would hold the sender here: bound the wait by the deadline.
                let permit = tokio::time::timeout_at(deadline.into(), w.acquire()).await;
                match permit {
                    Ok(Ok(p)) => p.forget(),
                    _ => break,
                }
                Instant::now()
            }
            Plan::Open {
                start,
                interval,
                offset,
            } => {
                let at = start + offset + interval * k as u32;
                if at > Instant::now() {
                    tokio::time::sleep_until(at.into()).await;
                }
                at
            }
        };
        if Instant::now() > deadline {
            break;
        }
        let stamp = stats::stamp(intended);
        let tag = Tag {
            sender: i as u32,
            index: k,
            stamp,
        };
        let m = msgs::text(
            &conn.user_id,
            platform,
            &peer,
            "",
            msgs::client_msg_id(prefix, tag),
            body,
        );
        let req = conn.req(SEND_MSG, stamp.to_string(), m.encode_to_vec());
        if let Err(e) = conn.send(&req).await {
            state.error(format!("sender {i}: {e}"));
            break;
        }
        state.sent.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        first.get_or_insert(now);
        last = now;
    }
    first.map(|f| (f, last))
}
