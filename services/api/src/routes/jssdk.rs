//! Owned by the PROJ helper (/jssdk/*); placeholder until they fill it (see `routes/mod.rs`).

use axum::Router;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
}
