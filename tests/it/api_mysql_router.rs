//! The MySQL Router REST API flavor (/api/20190715) on an in-process shardkeeper node: Router's
//! shapes and codes with no routes (empty lists, the honest-zero connection pool, router status),
//! Router's RFC 7807 answers to unknown names and paths (404), other methods (405) and query
//! strings (400), swagger.json naming exactly the served paths; and, with routes on real MariaDB
//! servers, REST figures that match what real clients did through the routes.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{http, TestCluster};

const BASE: &str = "/api/20190715";

/// One HTTP answer of this flavor.
struct Reply {
    status: u16,
    content_type: Option<String>,
    allow: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.text))
    }
}

/// `method` on `node` + `/api/20190715` + `path`.
async fn call(node: &str, method: Method, path: &str) -> Reply {
    let url = format!("{node}{BASE}{path}");
    let response = http().request(method.clone(), &url).send().await.unwrap_or_else(|error| panic!("{method} {url}: {error}"));
    let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_string());
    let (content_type, allow) = (header("content-type"), header("allow"));
    let status = response.status().as_u16();
    Reply { status, content_type, allow, text: response.text().await.unwrap() }
}

/// The JSON of a 200 answer to GET `path`.
async fn get_ok(node: &str, path: &str) -> Value {
    let reply = call(node, Method::GET, path).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"), "GET {path}");
    reply.json()
}

/// Checks that GET `path` is Router's 404 for exactly that path.
async fn assert_not_found(node: &str, path: &str) {
    let reply = call(node, Method::GET, path).await;
    assert_eq!(reply.status, 404, "GET {path}: {}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"), "GET {path}");
    let instance = reqwest::Url::parse(&format!("http://x{BASE}{path}")).unwrap().path().to_string();
    assert_eq!(reply.json(), json!({"title": "URI not found", "status": 404, "instance": instance}), "GET {path}");
}

/// The paths of swagger.json with their parameter replaced by `route`, `metadata` or the pool.
fn concrete_paths(swagger: &Value, route: &str, metadata: &str) -> Vec<String> {
    swagger["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|path| {
            path.replace("{routeName}", route)
                .replace("{metadataName}", metadata)
                .replace("{connectionPoolName}", "main")
        })
        .collect()
}

// With no route declared, every list is empty, the one pool is all zeros, and the names of the
// document's examples are unknown.
#[tokio::test]
async fn with_no_routes_lists_are_empty_and_the_pool_is_honest_zeros() {
    let cluster = TestCluster::start(1).await;
    let node = cluster.url(0);

    assert_eq!(get_ok(&node, "/routes").await, json!({"items": []}));
    assert_eq!(get_ok(&node, "/routes/").await, json!({"items": []}), "a trailing slash is accepted");
    assert_eq!(get_ok(&node, "/metadata").await, json!({"items": []}));
    assert_eq!(get_ok(&node, "/routing/status").await, json!({"maxTotalConnections": 0, "currentTotalConnections": 0}));
    assert_eq!(get_ok(&node, "/connection_pool").await, json!({"items": [{"name": "main"}]}));
    assert_eq!(
        get_ok(&node, "/connection_pool/main/config").await,
        json!({"maxIdleServerConnections": 0, "idleTimeoutInMs": 0})
    );
    assert_eq!(
        get_ok(&node, "/connection_pool/main/status").await,
        json!({"idleServerConnections": 0, "reusedServerConnections": 0, "stashedServerConnections": 0})
    );

    let status = get_ok(&node, "/router/status").await;
    assert_eq!(status["processId"], std::process::id(), "{status}");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["productEdition"], "shardkeeper - Apache-2.0");
    let started = status["timeStarted"].as_str().unwrap();
    let started_at = humantime_serde::re::humantime::parse_rfc3339(started).unwrap_or_else(|error| panic!("{started}: {error}"));
    assert!(started_at <= std::time::SystemTime::now(), "{started}");
    assert!(started.len() == 27 && started.ends_with('Z'), "microseconds, UTC: {started}");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(status["hostname"], hostname.trim());

    for name in ["myCluster_rw", "myCluster_ro"] {
        for item in ["config", "status", "health", "destinations", "connections", "blockedHosts"] {
            assert_not_found(&node, &format!("/routes/{name}/{item}")).await;
        }
    }
    for item in ["config", "status"] {
        assert_not_found(&node, &format!("/metadata/myCluster/{item}")).await;
        assert_not_found(&node, &format!("/connection_pool/other/{item}")).await;
    }
    cluster.shutdown().await;
}

// Paths outside the document, malformed segments, other methods and query strings get Router's
// own RFC 7807 answers; swagger.json names exactly the paths that are routed.
#[tokio::test]
async fn bad_requests_get_routers_problem_answers() {
    let cluster = TestCluster::start(1).await;
    let node = cluster.url(0);

    for path in [
        "",
        "/",
        "/nothing",
        "/routes/x",
        "/routes/x/unknown",
        "/routes//status",
        "/routes/a/b/status",
        "/routes/%FF/status",
        "/metadata/x",
        "/router",
        "/clusters",
        "/connection_pool/main",
        "/swagger.json/x",
    ] {
        assert_not_found(&node, path).await;
    }

    let swagger = get_ok(&node, "/swagger.json").await;
    assert_eq!(swagger, serde_json::from_str::<Value>(include_str!("../../src/api/mysql_router/swagger.json")).unwrap());
    let paths = concrete_paths(&swagger, "no_such_route", "no.such");
    assert_eq!(paths.len(), 16, "{paths:?}");
    for path in &paths {
        // A path that is routed answers 405 to another method (an unrouted one would be a 404).
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let reply = call(&node, method.clone(), path).await;
            assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
            assert_eq!(reply.allow.as_deref(), Some("GET,HEAD"), "{method} {path}");
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(
                reply.json(),
                json!({"title": "HTTP Method not allowed", "status": 405, "detail": "only HTTP Methods GET,HEAD are supported"})
            );
        }
        for query in ["?x=1", "?fetchWholeTopology=1", "?a"] {
            let reply = call(&node, Method::GET, &format!("{path}{query}")).await;
            assert_eq!(reply.status, 400, "GET {path}{query}: {}", reply.text);
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(reply.json(), json!({"title": "validation error", "status": 400, "detail": "parameters not allowed"}));
        }
        let head = call(&node, Method::HEAD, path).await;
        let get = call(&node, Method::GET, path).await;
        assert_eq!(head.status, get.status, "HEAD {path} answers as GET");
        assert!(head.text.is_empty(), "HEAD {path} has no body");
    }
    let reply = call(&node, Method::GET, "/routes?").await;
    assert_eq!((reply.status, reply.json()), (200, json!({"items": []})), "an empty query string is no parameter");

    let served: BTreeSet<String> = paths.into_iter().collect();
    assert!(served.contains("/routing/status") && served.contains("/swagger.json"), "{served:?}");
    cluster.shutdown().await;
}
