//! Request extractors. Every rejection is an [`ApiError`], so a bad request gets the OpenIM
//! envelope (1001), never axum's plain-text 4xx.

use crate::envelope::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use rill_app::Caller;
use serde::de::DeserializeOwned;

/// The caller proven by the `token` header (inserted by the auth middleware). Every route
/// except `/auth/get_admin_token` and `/auth/parse_token` has one.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| ApiError::internal("no caller: this route is not token-checked"))
    }
}

/// The `operationID` header of the request (checked present by the middleware on POSTs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for OperationId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(op) = parts.extensions.get::<OperationId>() {
            return Ok(op.clone());
        }
        crate::middleware::operation_id(&parts.headers)
            .map(OperationId)
            .ok_or_else(|| ApiError::args("header must have operationID"))
    }
}

/// A JSON body decoded into `T` regardless of `Content-Type` (OpenIM's binder ignores it too).
/// Unknown keys are ignored; malformed JSON or wrong types are 1001.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(req, state).await?;
        serde_json::from_slice(&body)
            .map(ApiJson)
            .map_err(|e| ApiError::args(e.to_string()))
    }
}

/// A body that is JSON or protobuf by `Content-Type`, as OpenIM's `/jssdk/*` routes accept:
/// empty or `application/json` → JSON; `application/protobuf` or `application/x-protobuf` →
/// protobuf; anything else → 1001 "unsupported content type". Answer with
/// [`JsonOrProto::reply`] so the response uses the same encoding.
#[derive(Debug, Clone)]
pub struct JsonOrProto<T> {
    pub value: T,
    pub is_json: bool,
}

impl<T> JsonOrProto<T> {
    /// The reply in the request's encoding: JSON `data`, or `data` = base64 of the protobuf.
    pub fn reply<R: serde::Serialize + prost::Message>(
        &self,
        resp: R,
    ) -> crate::envelope::ApiResult<serde_json::Value> {
        let data = if self.is_json {
            serde_json::to_value(&resp)
                .map_err(|e| ApiError::internal(format!("encoding the response: {e}")))?
        } else {
            use base64::Engine as _;
            serde_json::Value::String(
                base64::engine::general_purpose::STANDARD.encode(resp.encode_to_vec()),
            )
        };
        crate::envelope::ok(data)
    }
}

impl<S, T> FromRequest<S> for JsonOrProto<T>
where
    S: Send + Sync,
    T: DeserializeOwned + prost::Message + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let is_json = if content_type.is_empty() || content_type.contains("application/json") {
            true
        } else if content_type.contains("application/protobuf")
            || content_type.contains("application/x-protobuf")
        {
            false
        } else {
            return Err(ApiError::args("unsupported content type"));
        };
        let body = read_body(req, state).await?;
        let value = if is_json {
            serde_json::from_slice(&body).map_err(|e| ApiError::args(e.to_string()))?
        } else {
            T::decode(body.as_ref()).map_err(|e| ApiError::args(e.to_string()))?
        };
        Ok(JsonOrProto { value, is_json })
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| ApiError::args(e.body_text()))
}
