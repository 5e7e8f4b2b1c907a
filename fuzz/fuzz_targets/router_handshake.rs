//! The router's handshake watcher on bytes from hostile MySQL clients and servers: any sequence of
//! reads from either side, cut anywhere. The packet scanner must find the same packet heads however
//! a stream is cut, and a verdict once given never changes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use shardkeeper::fuzzing::{error_packet, HandshakeWatch, PacketHead, PacketScanner};

#[derive(Arbitrary, Debug)]
enum Read {
    Server(Vec<u8>),
    Client(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    reads: Vec<Read>,
    /// Where to cut the concatenated server stream for the second scan.
    cut: u16,
    code: u16,
    message: String,
}

fn heads(chunks: &[&[u8]]) -> Vec<PacketHead> {
    let mut scanner = PacketScanner::default();
    let mut heads = Vec::new();
    for chunk in chunks {
        scanner.feed(chunk, |head| heads.push(head));
    }
    heads
}

fuzz_target!(|input: Input| {
    let mut watch = HandshakeWatch::default();
    let mut verdict = None;
    for read in &input.reads {
        let now = match read {
            Read::Server(bytes) => watch.server_sent(bytes),
            Read::Client(bytes) => watch.client_sent(bytes),
        };
        if verdict.is_some() {
            assert_eq!(now, verdict, "the verdict changed");
        }
        verdict = verdict.or(now);
    }
    let stream: Vec<u8> =
        input.reads.iter().filter_map(|read| if let Read::Server(bytes) = read { Some(bytes.as_slice()) } else { None }).flatten().copied().collect();
    let cut = usize::from(input.cut) % (stream.len() + 1);
    let (first, second) = stream.split_at(cut);
    assert_eq!(heads(&[&stream]), heads(&[first, second]), "the heads depend on the cut at {cut}");
    let packet = error_packet(input.code, &input.message);
    let found = heads(&[&packet]);
    assert_eq!(found.len(), 1, "an error packet is one packet");
    assert_eq!((found[0].sequence, found[0].length + 4, found[0].first_byte), (0, packet.len(), Some(0xFF)));
});
