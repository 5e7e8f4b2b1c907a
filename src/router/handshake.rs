//! The little of the MySQL protocol the router reads, pure: the ERR packet it sends when it cannot
//! route a client, and the packet headers of the handshake (server greeting, client response,
//! server OK/ERR) it watches to count failed handshakes per client host. Nothing after the
//! handshake is parsed. Owns no I/O.

/// MySQL error codes the router answers with.
pub mod codes {
    /// ER_CON_COUNT_ERROR: the route is full.
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    /// ER_HOST_IS_BLOCKED: too many failed handshakes from this host.
    pub const HOST_BLOCKED: u16 = 1129;
    /// ER_UNKNOWN_ERROR, with a message saying why: no destination available or reachable.
    /// (MySQL Router sends the client code 2003 here, but MariaDB's Connector/C, the `mariadb`
    /// client's library, reports a server-sent 2002, 2003 or 2013 as a malformed packet and loses
    /// the message; 1105 reaches every client with it.)
    pub const NO_DESTINATION: u16 = 1105;
}

/// An ERR packet sent in place of the server greeting (sequence 0). Before the handshake a client
/// knows no capabilities, so the packet carries no SQL state, as a server's own early errors.
pub fn error_packet(code: u16, message: &str) -> Vec<u8> {
    let message = &message.as_bytes()[..message.len().min(0xFF_FFFF - 3)];
    let length = 3 + message.len();
    let mut packet = Vec::with_capacity(4 + length);
    packet.extend_from_slice(&(length as u32).to_le_bytes()[..3]);
    packet.push(0);
    packet.push(0xFF);
    packet.extend_from_slice(&code.to_le_bytes());
    packet.extend_from_slice(message);
    packet
}

/// The start of one packet: its sequence number, payload length and first payload byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketHead {
    pub sequence: u8,
    pub length: usize,
    /// `None` for an empty payload.
    pub first_byte: Option<u8>,
}

/// Finds packet boundaries in one direction of a byte stream, however it is cut into reads.
#[derive(Debug, Default)]
pub struct PacketScanner {
    header: [u8; 4],
    header_bytes: usize,
    /// Payload bytes still to skip in the current packet.
    remaining: usize,
    /// The header is read and the first payload byte is awaited.
    awaiting_first: Option<(u8, usize)>,
}

impl PacketScanner {
    /// Feeds the next bytes; calls `found` for every packet whose head they complete.
    pub fn feed(&mut self, mut bytes: &[u8], mut found: impl FnMut(PacketHead)) {
        while !bytes.is_empty() {
            if let Some((sequence, length)) = self.awaiting_first.take() {
                found(PacketHead { sequence, length, first_byte: Some(bytes[0]) });
                self.remaining = length - 1;
                bytes = &bytes[1..];
            } else if self.remaining > 0 {
                let skipped = self.remaining.min(bytes.len());
                self.remaining -= skipped;
                bytes = &bytes[skipped..];
            } else {
                let taken = (4 - self.header_bytes).min(bytes.len());
                self.header[self.header_bytes..self.header_bytes + taken].copy_from_slice(&bytes[..taken]);
                self.header_bytes += taken;
                bytes = &bytes[taken..];
                if self.header_bytes == 4 {
                    self.header_bytes = 0;
                    let length = u32::from_le_bytes([self.header[0], self.header[1], self.header[2], 0]) as usize;
                    let sequence = self.header[3];
                    if length == 0 {
                        found(PacketHead { sequence, length, first_byte: None });
                    } else {
                        self.awaiting_first = Some((sequence, length));
                    }
                }
            }
        }
    }
}

/// How a client's handshake ended, as far as the headers tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The server answered the client's credentials with OK: the host's error count is reset.
    Succeeded,
    /// The server refused the credentials (ERR after the client's response).
    Refused,
    /// The client asked for TLS: the rest is encrypted, so the router stops watching and counts
    /// nothing either way.
    Encrypted,
    /// The server's first packet was an ERR (the server refused the connection, not the client).
    ServerRejected,
}

/// Watches the handshake's packet heads in both directions and tells how it ended.
#[derive(Debug, Default)]
pub struct HandshakeWatch {
    from_server: PacketScanner,
    from_client: PacketScanner,
    greeted: bool,
    client_answered: bool,
    verdict: Option<Verdict>,
}

/// A client's `SSLRequest` is exactly this long; any real handshake response is longer (it holds
/// at least the user name after the same 32 bytes).
const SSL_REQUEST_LENGTH: usize = 32;

impl HandshakeWatch {
    pub fn server_sent(&mut self, bytes: &[u8]) -> Option<Verdict> {
        let (mut greeted, client_answered, mut verdict) = (self.greeted, self.client_answered, self.verdict);
        self.from_server.feed(bytes, |head| {
            if verdict.is_some() {
                return;
            }
            if !greeted {
                greeted = true;
                if head.first_byte == Some(0xFF) {
                    verdict = Some(Verdict::ServerRejected);
                }
            } else if client_answered {
                match head.first_byte {
                    Some(0x00) => verdict = Some(Verdict::Succeeded),
                    Some(0xFF) => verdict = Some(Verdict::Refused),
                    _ => {}
                }
            }
        });
        (self.greeted, self.verdict) = (greeted, verdict);
        verdict
    }

    pub fn client_sent(&mut self, bytes: &[u8]) -> Option<Verdict> {
        let (greeted, mut client_answered, mut verdict) = (self.greeted, self.client_answered, self.verdict);
        self.from_client.feed(bytes, |head| {
            if verdict.is_some() || !greeted || client_answered {
                return;
            }
            client_answered = true;
            if head.length == SSL_REQUEST_LENGTH {
                verdict = Some(Verdict::Encrypted);
            }
        });
        (self.client_answered, self.verdict) = (client_answered, verdict);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sequence: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        bytes.push(sequence);
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn an_error_packet_is_what_clients_parse_before_a_greeting() {
        let bytes = error_packet(1040, "too many");
        assert_eq!(bytes, [11, 0, 0, 0, 0xFF, 0x10, 0x04, b't', b'o', b'o', b' ', b'm', b'a', b'n', b'y']);
    }

    #[test]
    fn the_scanner_finds_heads_across_any_cut() {
        let stream = [packet(0, b"greeting"), packet(1, b""), packet(2, &[0u8; 300]), packet(3, b"\xFFend")].concat();
        let expected = vec![
            PacketHead { sequence: 0, length: 8, first_byte: Some(b'g') },
            PacketHead { sequence: 1, length: 0, first_byte: None },
            PacketHead { sequence: 2, length: 300, first_byte: Some(0) },
            PacketHead { sequence: 3, length: 4, first_byte: Some(0xFF) },
        ];
        for cut in [1, 2, 3, 4, 5, 7, 64, stream.len()] {
            let mut scanner = PacketScanner::default();
            let mut heads = Vec::new();
            for chunk in stream.chunks(cut) {
                scanner.feed(chunk, |head| heads.push(head));
            }
            assert_eq!(heads, expected, "chunks of {cut}");
        }
    }

    /// One handshake per case: (what the server sends, then the client, ...) -> the verdict.
    #[test]
    fn handshakes_end_as_their_headers_say() {
        let greeting = packet(0, b"\x0a10.11.6-MariaDB");
        let response = packet(1, &[1u8; 60]);
        let ssl_request = packet(1, &[0u8; 32]);
        let ok = packet(2, &[0, 0, 0, 2, 0]);
        let err = packet(2, b"\xFF\x15\x04#28000Access denied");
        let auth_switch = packet(2, b"\xFEmysql_native_password\0");
        let switch_reply = packet(3, &[7u8; 20]);
        let ok_after_switch = packet(4, &[0, 0, 0, 2, 0]);
        let server_err = packet(0, b"\xFF\x10\x04Too many connections");
        enum Side<'a> {
            Server(&'a [u8]),
            Client(&'a [u8]),
        }
        use Side::{Client, Server};
        let cases: Vec<(&str, Vec<Side>, Option<Verdict>)> = vec![
            ("ok", vec![Server(&greeting), Client(&response), Server(&ok)], Some(Verdict::Succeeded)),
            ("access denied", vec![Server(&greeting), Client(&response), Server(&err)], Some(Verdict::Refused)),
            (
                "auth switch then ok",
                vec![Server(&greeting), Client(&response), Server(&auth_switch), Client(&switch_reply), Server(&ok_after_switch)],
                Some(Verdict::Succeeded),
            ),
            ("tls", vec![Server(&greeting), Client(&ssl_request), Server(&ok)], Some(Verdict::Encrypted)),
            ("server refuses", vec![Server(&server_err)], Some(Verdict::ServerRejected)),
            ("client silent", vec![Server(&greeting)], None),
            ("garbage before the greeting", vec![Client(b"GET / HTTP/1.1\r\n"), Server(&greeting)], None),
            ("client never answered", vec![Server(&greeting), Server(&ok)], None),
        ];
        for (name, steps, expected) in cases {
            let mut watch = HandshakeWatch::default();
            let mut verdict = None;
            for step in steps {
                let now = match step {
                    Server(bytes) => watch.server_sent(bytes),
                    Client(bytes) => watch.client_sent(bytes),
                };
                verdict = verdict.or(now);
            }
            assert_eq!(verdict, expected, "{name}");
        }
    }
}
