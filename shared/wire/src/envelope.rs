//! The REST response envelope (`openimsdk/tools/apiresp.ApiResponse`, protocol.md §1.1):
//! `{"errCode","errMsg","errDlt","data"}` with `data` left out when there is none. OpenIM also
//! leaves it out for replies whose struct has no fields (every empty `...Resp{}`), so a success
//! with nothing to return is exactly `{"errCode":0,"errMsg":"","errDlt":""}`: use
//! [`ApiResponse::empty`] for those.

use rill_core::ErrCode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse<T> {
    #[serde(rename = "errCode")]
    pub err_code: i32,
    #[serde(rename = "errMsg")]
    pub err_msg: String,
    #[serde(rename = "errDlt")]
    pub err_dlt: String,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> ApiResponse<T> {
    /// Success with a reply body (any serde type; usually a `pb::...Resp`, sometimes a bare
    /// array such as get_users_online_status).
    pub fn ok(data: T) -> Self {
        ApiResponse {
            err_code: 0,
            err_msg: String::new(),
            err_dlt: String::new(),
            data: Some(data),
        }
    }

    /// An OpenIM error: `errMsg` is the code's wire name, `errDlt` the free-form detail.
    pub fn error(code: ErrCode, detail: impl Into<String>) -> Self {
        Self::raw_error(code.code(), code.name(), detail)
    }

    /// An error with an arbitrary code and name (webhooks may inject any code).
    pub fn raw_error(code: i32, msg: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiResponse {
            err_code: code,
            err_msg: msg.into(),
            err_dlt: detail.into(),
            data: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.err_code == 0
    }
}

impl ApiResponse<()> {
    /// Success of a reply with no fields: the envelope without `data`.
    pub fn empty() -> Self {
        ApiResponse {
            err_code: 0,
            err_msg: String::new(),
            err_dlt: String::new(),
            data: None,
        }
    }
}

impl ApiResponse<String> {
    /// The `/jssdk/*` form: `data` is the base64 of the protobuf-encoded reply.
    pub fn protobuf<M: prost::Message>(reply: &M) -> Self {
        use base64::Engine as _;
        Self::ok(base64::engine::general_purpose::STANDARD.encode(reply.encode_to_vec()))
    }
}

impl<T: Serialize> ApiResponse<T> {
    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Our reply types serialize infallibly (string keys, no non-finite floats); fall back to a
        // ServerInternalError envelope rather than panic if one ever does not.
        serde_json::to_vec(self).unwrap_or_else(|e| {
            serde_json::to_vec(&ApiResponse::<()>::error(
                ErrCode::ServerInternal,
                e.to_string(),
            ))
            .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{auth, sdkws};
    use serde_json::json;

    #[test]
    fn empty_success_has_no_data_key() {
        let body = ApiResponse::empty().to_json();
        assert_eq!(body, br#"{"errCode":0,"errMsg":"","errDlt":""}"#);
    }

    #[test]
    fn success_carries_data_with_openim_keys() {
        let r = ApiResponse::ok(auth::GetAdminTokenResp {
            token: "t".into(),
            expire_time_seconds: 7_776_000,
        });
        let v: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"errCode":0,"errMsg":"","errDlt":"",
                   "data":{"token":"t","expireTimeSeconds":7_776_000}})
        );
    }

    #[test]
    fn error_uses_code_name_and_detail() {
        let r = ApiResponse::<()>::error(ErrCode::Args, "header must have operationID");
        assert_eq!(
            String::from_utf8(r.to_json()).unwrap(),
            r#"{"errCode":1001,"errMsg":"ArgsError","errDlt":"header must have operationID"}"#
        );
        let back: ApiResponse<sdkws::UserInfo> = serde_json::from_slice(&r.to_json()).unwrap();
        assert!(!back.is_ok());
        assert_eq!(back.data, None);
    }

    #[test]
    fn jssdk_data_is_base64_protobuf() {
        use base64::Engine as _;
        use prost::Message as _;
        let reply = sdkws::GetMaxSeqReq {
            user_id: "u1".into(),
        };
        let r = ApiResponse::protobuf(&reply);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(r.data.unwrap())
            .unwrap();
        assert_eq!(sdkws::GetMaxSeqReq::decode(raw.as_slice()).unwrap(), reply);
    }
}
