//! One router per OpenIM route group, merged here. Each file owns its paths.
//!
//! # Adding a handler (for every helper who fills a file here)
//!
//! ```ignore
//! use crate::envelope::{ApiResult, ok};
//! use crate::extract::{ApiJson, Auth};
//! use axum::{Router, extract::State, routing::post};
//! use rill_app::App;
//! use rill_wire::pb::msg as pb;
//!
//! pub fn router() -> Router<crate::ApiState> {
//!     Router::new().route("/msg/mark_msgs_as_read", post(mark_msgs_as_read))
//! }
//!
//! async fn mark_msgs_as_read(
//!     State(app): State<App>,
//!     Auth(caller): Auth,                              // rill_app::Caller from the token
//!     ApiJson(req): ApiJson<pb::MarkMsgsAsReadReq>,    // last: it consumes the body
//! ) -> ApiResult {                                     // ApiResult<()>: no `data`
//!     app.mark_msgs_as_read(&caller, req).await?;      // AppError → envelope via `?`
//!     ok(())
//! }
//! ```
//!
//! - Full paths (`/msg/...`), `post(...)` only. The auth middleware has already checked the
//!   `operationID` and `token` headers before any handler runs (only `/auth/get_admin_token`
//!   and `/auth/parse_token` are exempt; they must not take `Auth`).
//! - Extractors (`crate::extract`): `Auth(caller)`; `ApiJson<T>` (JSON body into any
//!   `Deserialize`, e.g. the `rill_wire::pb::*` types; bad JSON → 1001);
//!   `JsonOrProto<T>` (for `/jssdk/*`: JSON or protobuf by Content-Type; answer with
//!   `req.reply(resp)`, which base64-encodes the protobuf when the request was protobuf);
//!   `OperationId(String)`; `State<App>`.
//! - Return `ApiResult<T>` (`Result<Reply<T>, ApiError>`): `ok(resp)` puts `resp`'s JSON in
//!   `data`; `ok(())` omits `data` (OpenIM's field-less responses). `data` may be any
//!   `Serialize`, e.g. a bare `Vec<_>` where OpenIM returns an array.
//! - Errors: return `AppError` (with `?`) or `ApiError::args("...")`; the code/name/detail
//!   mapping happens in exactly one place, `crate::envelope`. Always HTTP 200.
//! - Keep handlers thin: parse → one `App` command → envelope. Rules live in `rill-app`.

mod auth;
mod conversation;
mod friend;
mod group;
mod jssdk;
mod msg;
mod third;
mod user;

use axum::Router;

/// Every OpenIM route.
pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .merge(auth::router())
        .merge(user::router())
        .merge(friend::router())
        .merge(group::router())
        .merge(third::router())
        .merge(msg::router())
        .merge(conversation::router())
        .merge(jssdk::router())
}
