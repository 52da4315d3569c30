//! The request pipeline around the handlers: CORS and OPTIONS (everything, even unknown paths),
//! metrics, and the `operationID` + `token` checks OpenIM's gin middleware does on every POST.

use crate::ApiState;
use crate::envelope::{ApiError, ErrCodeSent};
use crate::extract::OperationId;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use tracing::Instrument;

/// POST routes that need no `token` header (OpenIM's whitelist, matched by prefix).
pub const TOKEN_WHITELIST: [&str; 2] = ["/auth/get_admin_token", "/auth/parse_token"];

/// The non-empty `operationID` header, if any.
pub fn operation_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("operationID")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn set_cors_headers(headers: &mut HeaderMap) {
    let star = HeaderValue::from_static("*");
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, star.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, star.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, star);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "Content-Length, Access-Control-Allow-Origin, Access-Control-Allow-Headers,\
             Cache-Control,Content-Language,Content-Type,Expires,Last-Modified,Pragma,FooBar",
        ),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("172800"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("false"),
    );
}

/// CORS `*` on every response; any OPTIONS request is answered at once with 200 and the JSON
/// string `"Options Request!"`, as OpenIM's `CorsHandler` does (browser preflights).
pub async fn cors(req: Request, next: Next) -> Response {
    let mut resp = if req.method() == Method::OPTIONS {
        let mut r = (StatusCode::OK, "\"Options Request!\"").into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        r
    } else {
        next.run(req).await
    };
    set_cors_headers(resp.headers_mut());
    resp
}

/// On POST: `operationID` must be present (1001 "header must have operationID"), and unless
/// the path is whitelisted, `token` must be present (1001 "header must have token") and valid
/// (its OpenIM token code otherwise). The [`rill_app::Caller`] and [`OperationId`] go into
/// the request extensions for the extractors.
pub async fn authenticate(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(op) = operation_id(req.headers()) else {
        return ApiError::args("header must have operationID").into_response();
    };
    let path = req.uri().path().to_string();
    let span =
        tracing::info_span!("api", path = %path, operation_id = %op, user = tracing::field::Empty);
    req.extensions_mut().insert(OperationId(op));
    if !TOKEN_WHITELIST.iter().any(|w| path.starts_with(w)) {
        let token = req
            .headers()
            .get("token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if token.is_empty() {
            return ApiError::args("header must have token").into_response();
        }
        match state
            .app
            .caller_from_token(token)
            .instrument(span.clone())
            .await
        {
            Ok(caller) => {
                span.record("user", caller.user_id.as_str());
                req.extensions_mut().insert(caller);
            }
            Err(e) => return ApiError(e).into_response(),
        }
    }
    next.run(req).instrument(span).await
}

/// Counts requests by route and errCode and times them (route templates only: bounded labels).
pub async fn metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "<unmatched>".to_string());
    let started = Instant::now();
    let resp = next.run(req).await;
    let code = resp
        .extensions()
        .get::<ErrCodeSent>()
        .map(|c| c.0.to_string());
    metrics::counter!(
        "rill_api_requests_total",
        "route" => route.clone(),
        "status" => resp.status().as_u16().to_string(),
        "err_code" => code.unwrap_or_else(|| "-".to_string()),
    )
    .increment(1);
    metrics::histogram!("rill_api_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}
