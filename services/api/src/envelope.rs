//! The OpenIM response envelope `{errCode, errMsg, errDlt, data}` (openimsdk/tools `apiresp`),
//! always with HTTP 200. This is the only place an error becomes a response: handlers,
//! extractors and middleware all return [`ApiError`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rill_app::AppError;
use rill_core::ErrCode;
use serde::Serialize;

/// The errCode of a response, left in its extensions for the metrics middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrCodeSent(pub i32);

/// A successful reply. `data` is the JSON of `T`, omitted when `T` serializes to `null`
/// (use `()` for OpenIM's field-less responses, whose success body has no `data`).
#[derive(Debug, Clone)]
pub struct Reply<T>(pub T);

/// What every handler returns.
pub type ApiResult<T = ()> = Result<Reply<T>, ApiError>;

/// Success with `data`.
pub fn ok<T>(data: T) -> ApiResult<T> {
    Ok(Reply(data))
}

/// Any failure, reported in the envelope with its OpenIM code.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    /// 1001 with a detail: bad JSON, missing headers, failed argument checks.
    pub fn args(detail: impl Into<String>) -> Self {
        ApiError(AppError::args(detail))
    }

    /// 500 for a bug on our side (e.g. a handler wired without the auth middleware).
    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError(AppError::coded(ErrCode::ServerInternal, detail))
    }
}

#[derive(Serialize)]
struct Head<'a> {
    #[serde(rename = "errCode")]
    code: i32,
    #[serde(rename = "errMsg")]
    msg: &'a str,
    #[serde(rename = "errDlt")]
    detail: &'a str,
}

fn envelope(code: i32, msg: &str, detail: &str, data: Option<&[u8]>) -> Response {
    let head = Head { code, msg, detail };
    let mut body = match serde_json::to_vec(&head) {
        Ok(b) => b,
        Err(_) => br#"{"errCode":500,"errMsg":"ServerInternalError","errDlt":""}"#.to_vec(),
    };
    if let Some(data) = data {
        // `head` is a JSON object: replace its closing brace with `,"data":<data>}`.
        body.pop();
        body.extend_from_slice(br#","data":"#);
        body.extend_from_slice(data);
        body.push(b'}');
    }
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp.extensions_mut().insert(ErrCodeSent(code));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let detail = self.0.detail();
        if matches!(self.0, AppError::Coded { .. }) {
            tracing::debug!(code = code.code(), detail = %detail, "request failed");
        } else {
            tracing::error!(code = code.code(), error = %self.0, "request failed");
        }
        envelope(code.code(), code.name(), &detail, None)
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(data) if data.as_slice() == b"null" => envelope(0, "", "", None),
            Ok(data) => envelope(0, "", "", Some(&data)),
            Err(e) => ApiError::internal(format!("encoding the response: {e}")).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body(resp: Response) -> serde_json::Value {
        let bytes = to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn empty_success_has_no_data() {
        let v = body(Reply(()).into_response()).await;
        assert_eq!(
            v,
            serde_json::json!({"errCode": 0, "errMsg": "", "errDlt": ""})
        );
    }

    #[tokio::test]
    async fn data_is_embedded_and_errors_carry_code_name_and_detail() {
        let v = body(Reply(serde_json::json!({"a": [1]})).into_response()).await;
        assert_eq!(v["data"], serde_json::json!({"a": [1]}));
        let v = body(ApiError::args("bad").into_response()).await;
        assert_eq!(
            v,
            serde_json::json!({"errCode": 1001, "errMsg": "ArgsError", "errDlt": "bad"})
        );
    }
}
