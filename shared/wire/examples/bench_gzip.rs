//! Per-frame gzip cost of `rill_wire::gzip` against flate2's streaming encoder and decoder (a
//! fresh one per frame, what a naive gateway does), on a small frame (stored blocks) and on a
//! large one (deflated), in one run.
//!
//! `cargo run --release -p rill-wire --example bench_gzip [frames] [small_bytes] [large_bytes]`
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::time::Instant;

fn fresh_encoder(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn fresh_decoder(z: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(z)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Nanoseconds per call of `f` over `frames` calls.
fn per_call(frames: usize, mut f: impl FnMut() -> usize) -> f64 {
    let mut sink = 0usize;
    let t = Instant::now();
    for _ in 0..frames {
        sink = sink.wrapping_add(f());
    }
    std::hint::black_box(sink);
    t.elapsed().as_secs_f64() * 1e9 / frames as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let frames: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let small: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400);
    let large: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8_000);
    // A gob-like frame: field names, ids and a short text, repeated to the size.
    let unit = b"ReqIdentifier\x07MsgIncr u1_17953311 OperationID op-42 Data si_u1_u2 hello ";
    println!("{frames} frames each; ns per frame (bytes on the wire)");
    for size in [small, large] {
        let frame: Vec<u8> = unit.iter().copied().cycle().take(size).collect();
        let ours = rill_wire::gzip::gzip(&frame);
        let theirs = fresh_encoder(&frame);
        let gz_ours = per_call(frames, || rill_wire::gzip::gzip(&frame).len());
        let gz_fresh = per_call(frames, || fresh_encoder(&frame).len());
        let un_ours = per_call(frames, || {
            rill_wire::gzip::gunzip(&theirs, 1 << 20).unwrap().len()
        });
        let un_fresh = per_call(frames, || fresh_decoder(&theirs).len());
        println!("{size}-byte frame:");
        println!(
            "  gzip   rill_wire {gz_ours:>8.0} ({} B)   fresh GzEncoder {gz_fresh:>8.0} ({} B)   {:.1}x",
            ours.len(),
            theirs.len(),
            gz_fresh / gz_ours
        );
        println!(
            "  gunzip rill_wire {un_ours:>8.0}           fresh GzDecoder {un_fresh:>8.0}           {:.1}x",
            un_fresh / un_ours
        );
    }
}
