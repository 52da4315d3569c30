//! Owned by the PROJ helper (/conversation/*); placeholder until they fill it (see `routes/mod.rs`).

use axum::Router;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
}
