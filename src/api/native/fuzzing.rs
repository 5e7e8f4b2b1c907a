//! The native flavor's request parsing for the fuzz target `api_native` (fuzz/, docs/security.md):
//! a body decoded as every native request body and turned into its service request, path segments
//! and headers parsed as the handlers parse them, each refusal rendered as its response. Compiled
//! only under `cfg(fuzzing)`.

use axum::response::IntoResponse;

use super::clusters::{CreateClusterBody, ImportClusterBody};
use super::fleet::{AcknowledgeBody, AdminStateBody, PromotionRuleBody};
use super::migrate::MigrateBody;
use super::namespaces::CreateNamespaceBody;
use super::nodes::CreateNodeBody;
use super::shards::{CreateShardBody, FailoverBody};
use super::ShardPath;
use crate::api::envelope::ApiError;
use crate::api::extract::{decode_json, parse_consistency, parse_if_match, parse_index};

/// Everything a native handler reads from a request before its service call: `body` as each body,
/// `text` as a shard index, a recovery id, an `If-Match` value and a `consistency` parameter.
pub fn parse_request(body: &[u8], text: &str) {
    let shard = ShardPath { namespace: text.to_string(), cluster: text.to_string(), shard: text.to_string() };
    settle(shard.target().map(drop));
    settle(parse_index::<u64>("recovery id", text).map(drop));
    settle(parse_if_match(text).map(drop));
    settle(parse_consistency(Some(text)).map(drop));
    settle(decode_json::<CreateNamespaceBody>(body).map(drop));
    settle(decode_json::<CreateClusterBody>(body).map(|body| drop(body.into_request(text.to_string()))));
    settle(decode_json::<ImportClusterBody>(body).map(|body| drop(body.into_request())));
    settle(decode_json::<CreateShardBody>(body).map(drop));
    settle(decode_json::<FailoverBody>(body).map(|body| drop(body.preferred())));
    settle(decode_json::<CreateNodeBody>(body).and_then(|body| body.role().map(drop)));
    settle(decode_json::<MigrateBody>(body).and_then(|body| body.slots().and(body.slot_only()).map(drop)));
    settle(decode_json::<AcknowledgeBody>(body).map(drop));
    settle(decode_json::<PromotionRuleBody>(body).map(drop));
    settle(decode_json::<AdminStateBody>(body).map(drop));
}

/// A refusal becomes the response the client would get.
fn settle(result: Result<(), ApiError>) {
    if let Err(error) = result {
        drop(error.into_response());
    }
}
