//! The gateway's two background tasks: the liveness heartbeat (which also sweeps dead
//! gateways' leftovers) and the reader of this gateway's delivery stream.

use crate::hub::Hub;
use redis::AsyncConnectionConfig;
use rill_log::{delivery, presence};
use std::sync::Arc;
use std::time::Duration;

/// Entries read per XREAD. An entry holds up to `delivery::ENTRY_BUDGET` bytes of deliveries
/// (often many pushes), so this bounds one read's reply to a few MiB.
const READ_COUNT: usize = 64;
/// How long one XREAD blocks; bounds how long shutdown waits for the reader.
const READ_BLOCK_MS: u64 = 1_000;
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Beats every [`presence::HEARTBEAT_INTERVAL_MS`] until shutdown. If the gateway finds itself
/// missing from the liveness set (it stalled and was swept), it records its connections again.
pub async fn heartbeat_loop(hub: Arc<Hub>) {
    let keys = hub.app.log().keys().clone();
    let mut ticker = tokio::time::interval(Duration::from_millis(presence::HEARTBEAT_INTERVAL_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first beat was made at start-up
    loop {
        tokio::select! {
            _ = hub.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let mut conn = hub.app.redis();
        match presence::heartbeat(&mut conn, &keys, &hub.gateway_id).await {
            Ok(true) => {
                tracing::warn!(gateway = %hub.gateway_id, "liveness record was gone; re-registering connections");
                if let Err(e) = hub.reregister_all().await {
                    tracing::warn!(error = %e, "re-registering presence failed");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "gateway heartbeat failed"),
        }
        match presence::sweep_dead(&mut conn, &keys).await {
            Ok(swept) if !swept.is_empty() => {
                tracing::info!(gateways = ?swept, "swept presence of dead gateways")
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "sweeping dead gateways failed"),
        }
    }
}

/// Reads this gateway's delivery stream from `after` and applies each entry to the local
/// connections, on a connection of its own (a blocking XREAD would hold up every other
/// command on a shared one). Redis errors are retried; the position is kept across them.
pub async fn delivery_loop(hub: Arc<Hub>, mut after: String) {
    let keys = hub.app.log().keys().clone();
    let client = hub.app.log().client().clone();
    let config = AsyncConnectionConfig::new().set_response_timeout(None);
    let mut conn = None;
    loop {
        if hub.shutdown.is_cancelled() {
            return;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "delivery reader cannot connect; retrying");
                    if wait_or_shutdown(&hub).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let read = delivery::read(c, &keys, &hub.gateway_id, &after, READ_COUNT, READ_BLOCK_MS);
        let batch = tokio::select! {
            _ = hub.shutdown.cancelled() => return,
            b = read => b,
        };
        match batch {
            Ok(batch) => {
                for d in batch.deliveries {
                    hub.deliver(d);
                }
                if let Some(id) = batch.last_id {
                    after = id;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the delivery stream failed; reconnecting");
                conn = None;
                if wait_or_shutdown(&hub).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps before a retry; true when shutdown came first.
async fn wait_or_shutdown(hub: &Hub) -> bool {
    tokio::select! {
        _ = hub.shutdown.cancelled() => true,
        _ = tokio::time::sleep(RETRY_DELAY) => false,
    }
}

/// The id of the newest entry of this gateway's stream (`0-0` when empty), so a gateway that
/// restarts under a fixed id does not replay old deliveries.
pub async fn stream_tail(hub: &Hub) -> Result<String, rill_log::LogError> {
    let key = delivery::stream_key(hub.app.log().keys(), &hub.gateway_id);
    let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(&key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut hub.app.redis())
        .await?;
    Ok(reply
        .ids
        .first()
        .map_or_else(|| "0-0".to_string(), |e| e.id.clone()))
}
