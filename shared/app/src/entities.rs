//! Relation and group changes: on the log first, then applied to MongoDB in the request
//! (DESIGN.md §4, Entities), so the caller reads its own write; the readmodel worker applies
//! the same event again, which changes nothing (see `rill_store::entities`).
//!
//! The log key of an event is the conversation id its rows belong to (`si_<a>_<b>` for a pair
//! of users, `sg_<group>` for a group), so every change of one pair or group lands in one
//! partition, in order, next to that conversation's messages.

use crate::{App, AppError};
use rill_core::ErrCode;
use rill_core::entity::{Change, EntityEvent, Rev};
use rill_log::{Envelope, Event, TraceContext};

impl App {
    /// Appends `event` under `key` and applies it. Returns the event's rev.
    #[tracing::instrument(skip_all, fields(key = %key, changes = event.changes.len()))]
    pub async fn commit(&self, key: &str, event: EntityEvent) -> Result<Rev, AppError> {
        if event.changes.is_empty() {
            return Err(AppError::coded(
                ErrCode::ServerInternal,
                "empty entity event",
            ));
        }
        let (traceparent, tracestate) = rill_telemetry::current_trace_context();
        let envelope = Envelope::new(Event::Entity(event)).with_trace(TraceContext {
            traceparent,
            tracestate,
        });
        let id = self.log().append_entity(key, &envelope).await?;
        let rev = Rev::from_entry_id(&id).ok_or_else(|| {
            AppError::coded(ErrCode::ServerInternal, format!("unexpected entry id {id}"))
        })?;
        let Event::Entity(event) = &envelope.event else {
            return Err(AppError::coded(
                ErrCode::ServerInternal,
                "not an entity event",
            ));
        };
        self.apply_entity_event(event, &rev).await?;
        metrics::counter!("rill_entity_events_total").increment(1);
        Ok(rev)
    }

    /// Applies an entity event to MongoDB and invalidates the caches it touches. Idempotent:
    /// the request and the readmodel worker both call it.
    pub async fn apply_entity_event(&self, event: &EntityEvent, rev: &Rev) -> Result<(), AppError> {
        rill_store::entities::apply(self.store().database(), event, rev).await?;
        let mut groups: Vec<&str> = Vec::new();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for change in &event.changes {
            match change {
                Change::Group { row, .. } => groups.push(&row.group_id),
                Change::Member { group_id, .. } => groups.push(group_id),
                Change::Friend { owner, friend, .. } => pairs.push((owner, friend)),
                Change::Black { owner, black, .. } => pairs.push((owner, black)),
                Change::FriendRequest(_) | Change::GroupRequest(_) => {}
            }
        }
        groups.sort_unstable();
        groups.dedup();
        if !groups.is_empty() {
            self.groups_changed(&groups).await?;
        }
        if !pairs.is_empty() {
            self.relations_changed(&pairs).await?;
        }
        Ok(())
    }
}
