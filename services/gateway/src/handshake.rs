//! The WebSocket handshake parameters and their validation, in OpenIM's order and with its
//! exact error texts (protocol.md §2.1): query parse errors are 1602 with an errDlt naming the
//! field, an unparsable `isBackground` is a plain 500, and the token checks come later (they
//! need Redis, see `lib.rs`).

use axum::http::HeaderMap;
use rill_core::{ErrCode, Platform};
use rill_wire::frame::{Compression, Encoding};

/// What a client asked for when connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnParams {
    pub user_id: String,
    pub token: String,
    pub platform_id: i32,
    pub operation_id: String,
    pub encoding: Encoding,
    pub compression: Compression,
    /// `isMsgResp`: the client waits for a text connect ack (and reads auth errors from one).
    pub send_response: bool,
    pub background: bool,
    pub sdk_version: String,
}

/// A refused handshake: the `{errCode, errMsg, errDlt}` body the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    pub msg: String,
    pub dlt: String,
}

impl Refusal {
    pub fn coded(code: ErrCode, dlt: impl Into<String>) -> Self {
        Refusal {
            code: code.code(),
            msg: code.name().to_string(),
            dlt: dlt.into(),
        }
    }

    fn args(dlt: &str) -> Self {
        Self::coded(ErrCode::ConnArgs, dlt)
    }

    /// The JSON body (also the text frame for `isMsgResp` clients).
    pub fn body(&self) -> String {
        rill_wire::frame::connect_ack(self.code, &self.msg, &self.dlt)
    }
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.Atoi` (optional sign, ASCII digits, 64-bit range).
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The first value of `key`, or "" (Go's `url.Values.Get`).
fn get<'a>(query: &'a [(String, String)], key: &str) -> &'a str {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// Fields as both handshake forms carry them, before the common checks.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Info {
    token: String,
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "platformID")]
    platform_id: i64,
    #[serde(rename = "operationID")]
    operation_id: String,
    compression: String,
    #[serde(rename = "sdkType")]
    sdk_type: String,
    #[serde(rename = "sendResponse")]
    send_response: bool,
    background: bool,
    #[serde(rename = "sdkVersion")]
    sdk_version: String,
}

/// Parses and validates the handshake (query form, or the `v=<base64url JSON>` form).
pub fn parse(query: &[(String, String)], headers: &HeaderMap) -> Result<ConnParams, Refusal> {
    let v = get(query, "v");
    let info = if v.is_empty() {
        from_query(query, headers)?
    } else {
        from_json(v)?
    };
    check(info)
}

fn from_query(query: &[(String, String)], headers: &HeaderMap) -> Result<Info, Refusal> {
    let mut info = Info {
        token: get(query, "token").to_string(),
        user_id: get(query, "sendID").to_string(),
        operation_id: get(query, "operationID").to_string(),
        compression: get(query, "compression").to_string(),
        sdk_type: get(query, "sdkType").to_string(),
        sdk_version: get(query, "sdkVersion").to_string(),
        ..Default::default()
    };
    info.platform_id =
        go_atoi(get(query, "platformID")).ok_or_else(|| Refusal::args("platformID is not int"))?;
    let resp = get(query, "isMsgResp");
    if !resp.is_empty() {
        info.send_response =
            go_parse_bool(resp).ok_or_else(|| Refusal::args("isMsgResp is not bool"))?;
    }
    if info.compression.is_empty() {
        info.compression = headers
            .get("compression")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string();
    }
    let bg = get(query, "isBackground");
    // OpenIM returns strconv's own error here, uncoded: the client sees a 500.
    info.background = go_parse_bool(bg).ok_or_else(|| {
        Refusal::coded(
            ErrCode::ServerInternal,
            format!("strconv.ParseBool: parsing {bg:?}: invalid syntax"),
        )
    })?;
    Ok(info)
}

fn from_json(v: &str) -> Result<Info, Refusal> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(v)
        .map_err(|_| Refusal::args("data is not base64"))?;
    serde_json::from_slice(&raw).map_err(|_| Refusal::args("data is not json"))
}

fn check(info: Info) -> Result<ConnParams, Refusal> {
    if info.operation_id.is_empty() {
        return Err(Refusal::args("operationID is empty"));
    }
    if info.token.is_empty() {
        return Err(Refusal::args("token is empty"));
    }
    if info.user_id.is_empty() {
        return Err(Refusal::args("sendID is empty"));
    }
    let platform = i32::try_from(info.platform_id)
        .ok()
        .and_then(Platform::from_id)
        .ok_or_else(|| Refusal::args("platformID is invalid"))?;
    let encoding = match info.sdk_type.as_str() {
        "" | "go" => Encoding::Gob,
        "js" => Encoding::Json,
        _ => return Err(Refusal::args("sdkType is invalid")),
    };
    Ok(ConnParams {
        user_id: info.user_id,
        token: info.token,
        platform_id: platform.id(),
        operation_id: info.operation_id,
        encoding,
        compression: if info.compression == "gzip" {
            Compression::Gzip
        } else {
            Compression::None
        },
        send_response: info.send_response,
        background: info.background,
        sdk_version: info.sdk_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    fn dlt(s: &str) -> String {
        match parse(&q(s), &HeaderMap::new()) {
            Ok(_) => "ok".into(),
            Err(r) => format!("{} {}", r.code, r.dlt),
        }
    }

    #[test]
    fn validation_order_and_texts() {
        let ok = "sendID=u1&token=t&platformID=2&operationID=o&isBackground=false";
        assert_eq!(dlt(ok), "ok");
        assert_eq!(
            dlt("sendID=u1&token=t&operationID=o&isBackground=false"),
            "1602 platformID is not int"
        );
        assert_eq!(
            dlt("platformID=2&isMsgResp=yes&isBackground=false"),
            "1602 isMsgResp is not bool"
        );
        assert!(
            dlt("platformID=2&sendID=u1&token=t&operationID=o")
                .starts_with("500 strconv.ParseBool")
        );
        assert_eq!(
            dlt("platformID=2&isBackground=0"),
            "1602 operationID is empty"
        );
        assert_eq!(
            dlt("platformID=2&isBackground=0&operationID=o"),
            "1602 token is empty"
        );
        assert_eq!(
            dlt("platformID=2&isBackground=0&operationID=o&token=t"),
            "1602 sendID is empty"
        );
        assert_eq!(
            dlt("platformID=12&isBackground=0&operationID=o&token=t&sendID=u"),
            "1602 platformID is invalid"
        );
        assert_eq!(
            dlt(&format!("{ok}&sdkType=rust")),
            "1602 sdkType is invalid"
        );
    }

    #[test]
    fn encodings_and_compression() {
        let base = "sendID=u1&token=t&platformID=5&operationID=o&isBackground=true&isMsgResp=true";
        let p = parse(
            &q(&format!("{base}&sdkType=js&compression=gzip")),
            &HeaderMap::new(),
        );
        let p = p.ok().unwrap_or_else(|| unreachable!());
        assert_eq!(p.encoding, Encoding::Json);
        assert_eq!(p.compression, Compression::Gzip);
        assert!(p.send_response && p.background);
        let mut h = HeaderMap::new();
        h.insert("compression", axum::http::HeaderValue::from_static("gzip"));
        let p = parse(&q(base), &h).ok().unwrap_or_else(|| unreachable!());
        assert_eq!(
            (p.encoding, p.compression),
            (Encoding::Gob, Compression::Gzip)
        );
    }

    #[test]
    fn json_form() {
        use base64::Engine as _;
        let j =
            r#"{"token":"t","userID":"u1","platformID":3,"operationID":"o","sendResponse":true}"#;
        let v = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j);
        let p = parse(&q(&format!("v={v}")), &HeaderMap::new())
            .ok()
            .unwrap_or_else(|| unreachable!());
        assert_eq!(
            (p.user_id.as_str(), p.platform_id, p.send_response),
            ("u1", 3, true)
        );
        assert_eq!(dlt("v=***"), "1602 data is not base64");
    }
}
