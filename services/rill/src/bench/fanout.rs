//! `fanout`: one working group of G members, all online; its owner sends K messages at a
//! steady rate. Measures send→last-member-delivered latency per message and deliveries/s.
//! The group is made as clients make one (`/group/create_group`, then
//! `/group/invite_user_to_group`); without those routes the scenario stops with a clear
//! message.

use super::client::{Handler, PUSH_MSG, SEND_MSG};
use super::frame::{Codec, Wire};
use super::gob::Resp;
use super::lag::Projections;
use super::msgs::{self, Tag};
use super::progress::Progress;
use super::report::{Row, thousands};
use super::rest;
use super::setup::{self, ConnectPlan, Tally};
use super::stats::{self, Hist, Summary, per_sec};
use super::target::Target;
use anyhow::{Context as _, bail};
use prost::Message as _;
use rill_wire::pb::sdkws::PushMessages;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug, Clone)]
pub struct FanoutArgs {
    /// Group members, the sender included; all connected.
    #[arg(long, default_value_t = 5000)]
    pub members: usize,
    /// Messages the owner sends to the group.
    #[arg(long, default_value_t = 40)]
    pub messages: u64,
    /// Messages per second into the group.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
    /// How long to wait for the last deliveries once sending stopped.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    #[arg(long, value_enum, default_value = "gob")]
    pub codec: Codec,
    #[arg(long, default_value_t = 64)]
    pub size: usize,
}

impl Default for FanoutArgs {
    fn default() -> Self {
        FanoutArgs {
            members: 5000,
            messages: 40,
            rate: 4.0,
            drain: Duration::from_secs(30),
            codec: Codec::Gob,
            size: 64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FanoutReport {
    pub wire: String,
    pub members: usize,
    pub sent: u64,
    pub acked: u64,
    pub first_error: Option<String>,
    /// Messages every member except the sender received.
    pub complete_messages: u64,
    pub deliveries: u64,
    pub expected_deliveries: u64,
    pub connections_lost: u64,
    /// First send → last delivery.
    pub elapsed: Duration,
    pub last_member: Summary,
    pub each_member: Summary,
}

impl FanoutReport {
    pub fn deliveries_per_sec(&self) -> f64 {
        per_sec(self.deliveries, self.elapsed)
    }

    pub fn complete(&self) -> bool {
        self.sent > 0 && self.deliveries == self.expected_deliveries && self.acked == self.sent
    }

    pub fn rows(&self, ceiling: Option<f64>) -> Vec<Row> {
        let incomplete = if self.complete() {
            String::new()
        } else {
            format!(
                "; INCOMPLETE: {}/{} deliveries, {}/{} messages acked",
                self.deliveries, self.expected_deliveries, self.acked, self.sent
            )
        };
        let target_applies = self.members >= 5000;
        vec![
            Row::new(
                format!(
                    "fanout {} (group of {}, {} msgs)",
                    self.wire, self.members, self.sent
                ),
                format!(
                    "send→last member p50 {} p99 {} max {} ms; {} deliveries/s{incomplete}",
                    stats::fmt_ms(self.last_member.p50_ms),
                    stats::fmt_ms(self.last_member.p99_ms),
                    stats::fmt_ms(self.last_member.max_ms),
                    thousands(self.deliveries_per_sec()),
                ),
            )
            .target(
                "5,000-member group: p99 ≤ 500 ms",
                target_applies.then_some(self.complete() && self.last_member.p99_ms <= 500.0),
            )
            .ratio_of(self.deliveries_per_sec(), ceiling),
        ]
    }
}

impl fmt::Display for FanoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "fanout [{}] members={}", self.wire, self.members)?;
        writeln!(
            f,
            "  sent {} acked {} complete {} deliveries {}/{} connections lost {}",
            self.sent,
            self.acked,
            self.complete_messages,
            self.deliveries,
            self.expected_deliveries,
            self.connections_lost
        )?;
        if let Some(e) = &self.first_error {
            writeln!(f, "  first error: {e}")?;
        }
        writeln!(f, "  send→last member  {}", self.last_member)?;
        writeln!(f, "  send→each member  {}", self.each_member)?;
        writeln!(
            f,
            "  {:.0} deliveries/s over {:.2} s",
            self.deliveries_per_sec(),
            self.elapsed.as_secs_f64()
        )
    }
}

struct State {
    prefix: String,
    group_id: String,
    users: Vec<String>,
    /// Per message: members that received it.
    received: Vec<AtomicU32>,
    recipients: u32,
    acked: AtomicU64,
    sent: AtomicU64,
    deliveries: AtomicU64,
    complete: AtomicU64,
    last_delivery: AtomicU64,
    first_error: Mutex<Option<String>>,
    last_member: Hist,
    each_member: Hist,
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
}

impl Handler for State {
    fn on_resp(&self, conn: usize, resp: Resp) {
        if self.tally.common(&resp) {
            return;
        }
        match resp.req_identifier {
            SEND_MSG if resp.err_code == 0 => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            SEND_MSG => self.error(format!(
                "SendMsg to the group: errCode {} {}",
                resp.err_code, resp.err_msg
            )),
            PUSH_MSG => {
                let Ok(push) = PushMessages::decode(&resp.data[..]) else {
                    self.error(format!("connection {conn}: undecodable PushMessages"));
                    return;
                };
                let me = &self.users[conn];
                for m in push.msgs.values().flat_map(|p| &p.msgs) {
                    let Some(tag) = msgs::parse_tag(&self.prefix, &m.client_msg_id) else {
                        continue;
                    };
                    if m.group_id != self.group_id || &m.send_id == me {
                        continue;
                    }
                    let Some(slot) = self.received.get(tag.index as usize) else {
                        continue;
                    };
                    let latency = stats::since_stamp(tag.stamp);
                    self.each_member.record(latency);
                    self.deliveries.fetch_add(1, Ordering::Relaxed);
                    self.last_delivery
                        .fetch_max(stats::stamp(Instant::now()), Ordering::Relaxed);
                    if slot.fetch_add(1, Ordering::Relaxed) + 1 == self.recipients {
                        self.last_member.record(latency);
                        self.complete.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_end(&self, conn: usize, why: String) {
        self.tally.end(conn, why);
    }
}

/// Ids one `create_group` or `invite_user_to_group` request may list (OpenIM's
/// `ParamMaxLength`).
const PER_REQUEST: usize = 1000;

/// A failed group call, said plainly: a server without the route may not have groups at all.
fn group_call_failed(route: &str, e: anyhow::Error) -> anyhow::Error {
    match rest::api_code(&e) {
        Some(code) => {
            anyhow::anyhow!("fanout needs a working /group/{route} (errCode {code}): {e:#}")
        }
        None => anyhow::anyhow!(
            "fanout needs a working /group/{route} (the route is missing or failed); groups may not be implemented on this server yet: {e:#}"
        ),
    }
}

/// Makes the group as real clients do: `create_group` with the owner and the first members,
/// then `invite_user_to_group` for the rest, as many ids per request as the server accepts.
/// The invitations say `sendMessage: false`: a stored MemberInvited notice per 50 invitees
/// (OpenIM's batch) would make the read model rewrite every member's conversation row a
/// hundred times for a 5,000-member group, which is setup cost, not what is measured.
async fn make_group(rest: &rest::Rest, group_id: &str, ids: &[String]) -> anyhow::Result<()> {
    let Some((owner, others)) = ids.split_first() else {
        bail!("a group needs an owner");
    };
    let (first, later) = others.split_at(others.len().min(PER_REQUEST));
    rest.create_group(group_id, owner, first)
        .await
        .map_err(|e| group_call_failed("create_group", e))?;
    for chunk in later.chunks(PER_REQUEST) {
        let body = serde_json::json!({
            "groupID": group_id,
            "reason": "",
            "invitedUserIDs": chunk,
            "sendMessage": false,
        });
        rest.post("/group/invite_user_to_group", body)
            .await
            .map_err(|e| group_call_failed("invite_user_to_group", e))?;
    }
    Ok(())
}

/// Waits until the notifications of the group's creation (created, invited: stored copies,
/// each pushed to the members) are projected and pushed, so measured messages do not queue
/// behind them. Without the server's Redis the tool cannot tell, and waits a little.
async fn settle(target: &Target) -> anyhow::Result<()> {
    let Some(url) = &target.redis_url else {
        tokio::time::sleep(Duration::from_secs(2)).await;
        return Ok(());
    };
    let mut p = Projections::connect(url, &target.topology, &target.groups).await?;
    if p.wait_drained(Duration::from_secs(120)).await?.is_none() {
        bail!(
            "the group's creation left a backlog of {} entries after 120 s",
            p.backlog().await?
        );
    }
    Ok(())
}

pub async fn run(target: &Target, args: &FanoutArgs) -> anyhow::Result<FanoutReport> {
    if args.members < 2 || args.messages == 0 || args.rate <= 0.0 {
        bail!("fanout needs --members ≥ 2, --messages ≥ 1 and --rate > 0");
    }
    let run = setup::run_id();
    let prefix = format!("b{run}");
    let group_id = format!("b{run}g");
    let wire = Wire::like_sdk(args.codec);
    let platform = setup::platform_for(args.codec);
    let rest = setup::rest(target).await?;
    let ids: Vec<String> = (0..args.members).map(|i| format!("b{run}m{i}")).collect();
    let logins = setup::logins(&rest, ids.clone(), platform).await?;

    make_group(&rest, &group_id, &ids).await?;
    settle(target).await?;

    let state = Arc::new(State {
        prefix: prefix.clone(),
        group_id: group_id.clone(),
        users: ids.clone(),
        received: (0..args.messages).map(|_| AtomicU32::new(0)).collect(),
        recipients: (args.members - 1) as u32,
        acked: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        complete: AtomicU64::new(0),
        last_delivery: AtomicU64::new(0),
        first_error: Mutex::new(None),
        last_member: Hist::default(),
        each_member: Hist::default(),
        tally: Tally::default(),
    });
    let plan = ConnectPlan {
        wire,
        concurrency: 64,
        per_source: None,
    };
    let conns =
        setup::all_or_first_error(setup::connect_all(target, &logins, &plan, state.clone()).await)?;
    setup::warm_up(&conns, &state.tally, Duration::from_secs(60)).await?;
    let stop = CancellationToken::new();
    let heartbeat = super::client::heartbeat(conns.clone(), Duration::from_secs(20), stop.clone());
    // Let the gateway finish any session bookkeeping before the first measured message.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let s = state.clone();
    let total = args.messages;
    let progress = Progress::start("fanout", move || {
        format!(
            "sent {}/{total} complete {} deliveries {}",
            s.sent.load(Ordering::Relaxed),
            s.complete.load(Ordering::Relaxed),
            s.deliveries.load(Ordering::Relaxed)
        )
    });
    let owner = conns[0].clone();
    let body = msgs::body(args.size);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now();
    for k in 0..args.messages {
        let at = start + interval * k as u32;
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
        let stamp = stats::stamp(at);
        let tag = Tag {
            sender: 0,
            index: k,
            stamp,
        };
        let m = msgs::text(
            &owner.user_id,
            platform,
            "",
            &group_id,
            msgs::client_msg_id(&prefix, tag),
            &body,
        );
        owner
            .send(&owner.req(SEND_MSG, stamp.to_string(), m.encode_to_vec()))
            .await
            .context("sending to the group")?;
        state.sent.fetch_add(1, Ordering::Relaxed);
    }
    let expected = args.messages * u64::from(state.recipients);
    let deadline = Instant::now() + args.drain;
    while state.deliveries.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    progress.finish();
    state.tally.stopping.store(true, Ordering::Relaxed);
    stop.cancel();
    heartbeat.abort();
    for c in &conns {
        c.close().await;
    }
    let last = stats::epoch() + Duration::from_nanos(state.last_delivery.load(Ordering::Relaxed));
    Ok(FanoutReport {
        wire: wire.label(),
        members: args.members,
        sent: state.sent.load(Ordering::Relaxed),
        acked: state.acked.load(Ordering::Relaxed),
        first_error: state
            .first_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .or_else(|| state.tally.first_end()),
        complete_messages: state.complete.load(Ordering::Relaxed),
        deliveries: state.deliveries.load(Ordering::Relaxed),
        expected_deliveries: expected,
        connections_lost: state.tally.ended.load(Ordering::Relaxed),
        elapsed: last.saturating_duration_since(start),
        last_member: state.last_member.summary(),
        each_member: state.each_member.summary(),
    })
}
