//! The orchestrator flavor's request parsing for the fuzz target `api_orchestrator` (fuzz/,
//! docs/security.md): a `{name}` hint resolved against a small fleet, an instance key's host and
//! port, the `/recoveries` query string and its page, each refusal rendered as its response.
//! Compiled only under `cfg(fuzzing)`.

use axum::extract::Query;
use axum::http::Uri;
use axum::response::IntoResponse;

use super::catalog::{alias, find_instance, parse_port, resolve, split_addr, Member, ShardTree};
use super::envelope::V2Error;
use super::recoveries::{parse_page, RecoveriesQuery};
use crate::meta::{NodeRole, PromotionRule};

/// Everything an orchestrator handler reads from a request before its service call.
pub fn parse_request(hint: &str, host: &str, port: &str, query: &str) {
    let trees = fleet();
    let _ = resolve(&trees, hint);
    drop(split_addr(hint));
    match parse_port(port) {
        Ok(port) => drop(find_instance(&trees, host, port)),
        Err(message) => drop(V2Error::bad_request(message).into_response()),
    }
    if let Ok(uri) = Uri::try_from(format!("/api/v2/recoveries?{query}")) {
        match Query::<RecoveriesQuery>::try_from_uri(&uri) {
            Ok(Query(query)) => {
                if let Err(error) = parse_page(query.page.as_deref()) {
                    drop(error.into_response());
                }
            }
            Err(rejection) => drop(V2Error::bad_request(rejection.body_text()).into_response()),
        }
    }
}

/// Two shards, with IPv4, IPv6 and name addresses, one of them without a master.
fn fleet() -> Vec<ShardTree> {
    let member = |id: &str, addr: &str, role| Member {
        id: id.to_string(),
        addr: addr.to_string(),
        role,
        promotion_rule: PromotionRule::Neutral,
        diverged: None,
    };
    let tree = |shard, members: Vec<Member>| {
        let alias = alias("ns", "c", shard);
        let name = members.iter().find(|m| m.role == NodeRole::Master).map_or(alias.clone(), |m| m.addr.clone());
        ShardTree { namespace: "ns".into(), cluster: "c".into(), shard, name, alias, members, auto_failover: true }
    };
    vec![
        tree(0, vec![member("a", "127.0.0.1:3306", NodeRole::Master), member("b", "[::1]:3306", NodeRole::Slave)]),
        tree(1, vec![member("c", "db-3:3307", NodeRole::Slave), member("d", "db-4", NodeRole::Slave)]),
    ]
}
