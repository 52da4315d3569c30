//! The gob codec against frames captured from the official SDK (tests/golden/README.md).

#![allow(clippy::unwrap_used)]

use rill_wire::frame::{WsReq, WsResp};
use rill_wire::gob;

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    hex::decode(text.trim()).unwrap()
}

#[test]
fn decodes_the_sdk_get_newest_seq_frame() {
    let req = gob::decode_req(&golden("req_sdk_1001.gob.hex")).unwrap();
    assert_eq!(
        req,
        WsReq {
            req_identifier: 1001,
            token: String::new(),
            send_id: "u7".into(),
            operation_id: "login-op".into(),
            msg_incr: "u7_1795331108844335639".into(),
            data: vec![0x0a, 0x02, b'u', b'7'],
        }
    );
    use prost::Message as _;
    let inner = rill_wire::pb::sdkws::GetMaxSeqReq::decode(req.data.as_slice()).unwrap();
    assert_eq!(inner.user_id, "u7");
}

#[test]
fn decodes_the_protocol_example_frame() {
    let req = gob::decode_req(&golden("req_protocol_example.gob.hex")).unwrap();
    assert_eq!(req.req_identifier, 1001);
    assert_eq!(req.send_id, "u1");
    assert_eq!(req.operation_id, "op1");
    assert_eq!(req.msg_incr, "u1_1");
    assert_eq!(req.data, [0x0a, 0x02, b'u', b'1']);
    assert_eq!(req.token, "");
}

#[test]
fn encodes_resp_byte_for_byte_like_openim() {
    let resp = WsResp {
        req_identifier: 1001,
        msg_incr: "u7_1".into(),
        operation_id: "op1".into(),
        ..Default::default()
    };
    assert_eq!(
        hex::encode(gob::encode_resp(&resp)),
        hex::encode(golden("resp_1001.gob.hex"))
    );
}

#[test]
fn kick_push_value_matches_protocol_note() {
    // protocol.md §2.2: a Resp with only ReqIdentifier=2002 has the value `01 fe0fa4 00`
    // (after the length and type id).
    let bytes = gob::encode_resp(&WsResp {
        req_identifier: 2002,
        ..Default::default()
    });
    assert!(
        bytes.ends_with(&[0x07, 0xff, 0x82, 0x01, 0xfe, 0x0f, 0xa4, 0x00]),
        "{bytes:02x?}"
    );
}

#[test]
fn resp_and_req_round_trip() {
    let resp = WsResp {
        req_identifier: 2001,
        msg_incr: String::new(),
        operation_id: "op".into(),
        err_code: 1503,
        err_msg: "TokenMalformedError".into(),
        data: (0..=255u8).cycle().take(70_000).collect(),
    };
    assert_eq!(gob::decode_resp(&gob::encode_resp(&resp)).unwrap(), resp);
    let neg = WsResp {
        err_code: -7,
        ..Default::default()
    };
    assert_eq!(gob::decode_resp(&gob::encode_resp(&neg)).unwrap(), neg);

    let req = WsReq {
        req_identifier: 1003,
        token: "tok".into(),
        send_id: "u1".into(),
        operation_id: "o".into(),
        msg_incr: "u1_9".into(),
        data: vec![1, 2, 3],
    };
    assert_eq!(gob::decode_req(&gob::encode_req(&req)).unwrap(), req);
    // The server-side decoder reads a Resp frame too (its extra fields are skipped by name).
    let as_req = gob::decode_req(&gob::encode_resp(&resp)).unwrap();
    assert_eq!(as_req.req_identifier, 2001);
    assert_eq!(as_req.data, resp.data);
}

#[test]
fn every_truncation_of_a_valid_frame_is_an_error() {
    let frame = golden("req_sdk_1001.gob.hex");
    for n in 0..frame.len() {
        assert!(
            gob::decode_req(&frame[..n]).is_err(),
            "prefix of {n} bytes decoded"
        );
    }
}

#[test]
fn corrupted_frames_never_panic() {
    let frames = [
        golden("req_sdk_1001.gob.hex"),
        golden("req_protocol_example.gob.hex"),
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for frame in &frames {
        for _ in 0..20_000 {
            let mut f = frame.clone();
            for _ in 0..=(next() % 4) {
                let i = (next() as usize) % f.len();
                f[i] = next() as u8;
            }
            let _ = gob::decode_req(&f);
            let _ = gob::decode_resp(&f);
        }
    }
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let f: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = gob::decode_req(&f);
    }
}
