//! Per-frame gzip cost: Rill's `frame::gzip` (one reset deflate state per thread) against a
//! fresh `GzEncoder` per frame (what it replaced), on a typical pushed frame, in one run.
//!
//! `cargo run --release -p rill-wire --example bench_gzip [frames] [frame_bytes]`
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::time::Instant;

fn fresh_encoder(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let frames: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400);
    // A gob-like frame: field names, ids and a short text, repeated to `size`.
    let unit = b"ReqIdentifier\x07MsgIncr u1_17953311 OperationID op-42 Data si_u1_u2 hello ";
    let frame: Vec<u8> = unit.iter().copied().cycle().take(size).collect();

    let mut sink = 0usize;
    let t = Instant::now();
    for _ in 0..frames {
        sink += fresh_encoder(&frame).len();
    }
    let fresh = t.elapsed();
    let t = Instant::now();
    for _ in 0..frames {
        sink += rill_wire::frame::gzip(&frame).len();
    }
    let reused = t.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e9 / frames as f64;
    println!("frames {frames} of {size} bytes (checksum {sink})");
    println!("fresh GzEncoder per frame : {:>8.0} ns/frame", per(fresh));
    println!("reset thread-local deflate: {:>8.0} ns/frame", per(reused));
    println!(
        "speed-up                  : {:>8.2}x",
        per(fresh) / per(reused)
    );
}
