//! WS frames: encodings × compression, golden JSON frame, gzip limits, heartbeat text frames.

#![allow(clippy::unwrap_used)]

use rill_wire::frame::{self, Compression, Encoding, TextAction, WsReq, WsResp};
use rill_wire::{WireError, gob};

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

fn golden_hex(name: &str) -> Vec<u8> {
    hex::decode(String::from_utf8(golden(name)).unwrap().trim()).unwrap()
}

fn sample_req() -> WsReq {
    WsReq {
        req_identifier: 1003,
        token: "t".into(),
        send_id: "u1".into(),
        operation_id: "op".into(),
        msg_incr: "u1_5".into(),
        data: b"\x0a\x02u1\x12\x02u2".to_vec(),
    }
}

#[test]
fn golden_json_request_decodes() {
    let bytes = golden("req_1001.json");
    let req = frame::decode_req(&bytes, Encoding::Json, Compression::None).unwrap();
    assert_eq!(
        req,
        WsReq {
            req_identifier: 1001,
            token: String::new(),
            send_id: "u1".into(),
            operation_id: "op1".into(),
            msg_incr: "u1_1".into(),
            data: vec![0x0a, 0x02, b'u', b'1'],
        }
    );
}

#[test]
fn json_response_has_openim_keys_in_order() {
    let resp = WsResp {
        req_identifier: 1001,
        msg_incr: "u1_1".into(),
        operation_id: "op1".into(),
        data: vec![0x0a, 0x02, b'u', b'1'],
        ..Default::default()
    };
    let text = frame::encode_resp(&resp, Encoding::Json, Compression::None);
    assert_eq!(
        String::from_utf8(text).unwrap(),
        r#"{"reqIdentifier":1001,"msgIncr":"u1_1","operationID":"op1","errCode":0,"errMsg":"","data":"CgJ1MQ=="}"#
    );
    let err = WsResp {
        req_identifier: 1003,
        err_code: 1001,
        err_msg: "ArgsError".into(),
        ..Default::default()
    };
    let text =
        String::from_utf8(frame::encode_resp(&err, Encoding::Json, Compression::None)).unwrap();
    assert!(
        text.ends_with(r#""errCode":1001,"errMsg":"ArgsError","data":null}"#),
        "{text}"
    );
}

#[test]
fn json_request_tolerates_nulls_missing_keys_and_string_ids() {
    let req = frame::decode_req(
        br#"{"reqIdentifier":"1006","sendID":"u1","data":null,"extra":[1]}"#,
        Encoding::Json,
        Compression::None,
    )
    .unwrap();
    assert_eq!(req.req_identifier, 1006);
    assert!(req.data.is_empty());
    assert!(frame::decode_req(b"not json", Encoding::Json, Compression::None).is_err());
}

#[test]
fn every_encoding_and_compression_round_trips() {
    for enc in [Encoding::Gob, Encoding::Json] {
        for comp in [Compression::None, Compression::Gzip] {
            let req = sample_req();
            let bytes = frame::encode_req(&req, enc, comp);
            assert_eq!(
                frame::decode_req(&bytes, enc, comp).unwrap(),
                req,
                "{enc:?}/{comp:?}"
            );
            let resp = WsResp::reply(&req, vec![1, 2, 3]);
            let bytes = frame::encode_resp(&resp, enc, comp);
            assert_eq!(
                frame::decode_resp(&bytes, enc, comp).unwrap(),
                resp,
                "{enc:?}/{comp:?}"
            );
            let e = WsResp::error(&req, rill_core::ErrCode::Args, "bad");
            let bytes = frame::encode_resp(&e, enc, comp);
            assert_eq!(
                frame::decode_resp(&bytes, enc, comp).unwrap(),
                e,
                "{enc:?}/{comp:?}"
            );
        }
    }
}

#[test]
fn gzip_frames_match_the_golden_payloads() {
    let sdk = golden_hex("req_sdk_1001.gob.hex");
    let zipped = frame::gzip(&sdk);
    let req = frame::decode_req(&zipped, Encoding::Gob, Compression::Gzip).unwrap();
    assert_eq!(req.msg_incr, "u7_1795331108844335639");

    let resp = WsResp {
        req_identifier: 1001,
        msg_incr: "u7_1".into(),
        operation_id: "op1".into(),
        ..Default::default()
    };
    let out = frame::encode_resp(&resp, Encoding::Gob, Compression::Gzip);
    assert_eq!(
        frame::gunzip(&out, 1 << 20).unwrap(),
        golden_hex("resp_1001.gob.hex")
    );
    assert_eq!(gob::encode_resp(&resp), golden_hex("resp_1001.gob.hex"));
}

#[test]
fn gzip_bomb_and_garbage_are_errors() {
    let bomb = frame::gzip(&vec![0u8; frame::MAX_DECOMPRESSED + 1]);
    assert!(bomb.len() < 10_000);
    match frame::decode_req(&bomb, Encoding::Gob, Compression::Gzip) {
        Err(WireError::TooLarge { limit }) => assert_eq!(limit, frame::MAX_DECOMPRESSED),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(frame::decode_req(b"\x1f\x8b garbage", Encoding::Gob, Compression::Gzip).is_err());
    assert!(frame::decode_req(b"", Encoding::Gob, Compression::Gzip).is_err());
    let zipped = frame::gzip(b"hello");
    assert!(frame::gunzip(&zipped[..zipped.len() - 3], 100).is_err());
    assert_eq!(frame::gunzip(&zipped, 5).unwrap(), b"hello");
    assert!(matches!(
        frame::gunzip(&zipped, 4),
        Err(WireError::TooLarge { .. })
    ));
}

#[test]
fn text_ping_gets_pong_with_same_body() {
    assert_eq!(
        frame::handle_text(r#"{"type":"ping","body":{"x":[1,"a"]}}"#).unwrap(),
        TextAction::Reply(r#"{"type":"pong","body":{"x":[1,"a"]}}"#.into())
    );
    assert_eq!(
        frame::handle_text(r#"{"type":"ping"}"#).unwrap(),
        TextAction::Reply(r#"{"type":"pong","body":null}"#.into())
    );
    assert_eq!(
        frame::handle_text(r#"{"type":"pong"}"#).unwrap(),
        TextAction::Ignore
    );
    assert!(frame::handle_text(r#"{"type":"hello"}"#).is_err());
    assert!(frame::handle_text("ping").is_err());
}

#[test]
fn connect_ack_is_exact() {
    assert_eq!(
        frame::connect_ack_ok(),
        r#"{"errCode":0,"errMsg":"","errDlt":""}"#
    );
    assert_eq!(
        frame::connect_ack(1501, "TokenExpiredError", "token expired"),
        r#"{"errCode":1501,"errMsg":"TokenExpiredError","errDlt":"token expired"}"#
    );
}
