//! The MySQL Router flavor's request parsing for the fuzz target `api_mysql_router` (fuzz/,
//! docs/security.md). The flavor is read-only and takes no body: a request's path (its name
//! segment, echoed in a 404's `instance`) and the `host:port` split of its views are all it parses.
//! Compiled only under `cfg(fuzzing)`.

use axum::response::IntoResponse;

use super::problem::Problem;
use super::views::split_addr;

/// The 404 a path gets and the address split of `addr`, as (host, port).
pub fn parse_request(path: &str, addr: &str) -> (String, u16) {
    drop(Problem::not_found(path).into_response());
    split_addr(addr)
}
