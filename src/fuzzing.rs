//! Entry points of the fuzz targets in `fuzz/` (docs/security.md, "Fuzzing"): the parsers of
//! outside input that are private to their modules, reachable here and nowhere else. Compiled only
//! under `cfg(fuzzing)`, which cargo-fuzz sets; the public parsers (GTID sets, replica status rows,
//! route destinations, the config file, tokens, key files, sealed secrets, commands) the targets
//! call directly.

pub use crate::api::{
    parse_maxscale_request, parse_mysql_router_request, parse_native_request, parse_orchestrator_request,
};
pub use crate::auth::tokens::parse_tokens_file;
pub use crate::router::handshake::{error_packet, HandshakeWatch, PacketHead, PacketScanner, Verdict};
