//! The MaxScale flavor's request parsing for the fuzz target `api_maxscale` (fuzz/,
//! docs/security.md): a body read as a server document for a POST and a PATCH, a query string read
//! as `/set` and `/clear` read it, each refusal rendered as its response. Compiled only under
//! `cfg(fuzzing)`.

use axum::extract::Query;
use axum::http::Uri;
use axum::response::IntoResponse;

use super::body::parse_server_body;
use super::envelope::MaxError;
use super::servers::{admin_state, StateQuery};

/// Everything a MaxScale handler reads from a request before its service call.
pub fn parse_request(body: &[u8], query: &str) {
    settle(parse_server_body(body).and_then(|body| body.into_new_server()).map(drop));
    settle(parse_server_body(body).and_then(|body| body.into_patch()).map(drop));
    if let Ok(uri) = Uri::try_from(format!("/v1/servers/s/set?{query}")) {
        match Query::<StateQuery>::try_from_uri(&uri) {
            Ok(Query(query)) => settle(admin_state(query.state.as_deref()).map(drop)),
            Err(rejection) => drop(rejection.body_text()),
        }
    }
}

/// A refusal becomes the response the client would get.
fn settle(result: Result<(), MaxError>) {
    if let Err(error) = result {
        drop(error.into_response());
    }
}
