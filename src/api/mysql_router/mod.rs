//! The MySQL Router REST API flavor, mounted under `/api/20190715` (docs/api-mysql-router.md):
//! every endpoint of Router's REST API reference (routes, metadata, router, routing, connection
//! pool, swagger.json) with Router's field names, codes and RFC 7807 error bodies, so Router
//! monitoring works against a shardkeeper node's routes.
//!
//! - `views`: pure: a `RouteStatus` in Router's shapes (timestamps, address / port split).
//! - `routes`, `metadata`, `app`: the handlers, thin, over `service` and `Router::routes`.
//! - `problem`: the error bodies, the name segment extractor, the query-string check.
//! - `swagger.json`: the Swagger 2.0 document of exactly what `endpoints` serves.
//!
//! Owns: routes, response shapes and codes of this flavor, and its 404 / 405 answers. Must not
//! hold routing or fleet logic (in `router`, `service`) and never returns a credential.

mod app;
mod metadata;
mod problem;
mod routes;
mod views;
#[cfg(fuzzing)]
pub mod fuzzing;

#[cfg(test)]
mod views_tests;

use axum::extract::OriginalUri;
use axum::middleware;
use axum::routing::{get, MethodRouter};
use axum::Router;

use self::problem::Problem;
use crate::service::MetaService;

/// The Swagger 2.0 document served at /swagger.json.
const SWAGGER: &str = include_str!("swagger.json");

/// Every path of this flavor, relative to `/api/20190715`, spelled as in swagger.json, with its
/// handler. Each is also served with a trailing `/`, as Router's path patterns allow.
fn endpoints() -> Vec<(&'static str, MethodRouter<MetaService>)> {
    vec![
        ("/routes", get(routes::list)),
        ("/routes/{routeName}/config", get(routes::config)),
        ("/routes/{routeName}/status", get(routes::status)),
        ("/routes/{routeName}/health", get(routes::health)),
        ("/routes/{routeName}/destinations", get(routes::destinations)),
        ("/routes/{routeName}/connections", get(routes::connections)),
        ("/routes/{routeName}/blockedHosts", get(routes::blocked_hosts)),
        ("/metadata", get(metadata::list)),
        ("/metadata/{metadataName}/config", get(metadata::config)),
        ("/metadata/{metadataName}/status", get(metadata::status)),
        ("/router/status", get(app::router_status)),
        ("/routing/status", get(app::routing_status)),
        ("/connection_pool", get(app::pools)),
        ("/connection_pool/{connectionPoolName}/config", get(app::pool_config)),
        ("/connection_pool/{connectionPoolName}/status", get(app::pool_status)),
        ("/swagger.json", get(app::swagger)),
    ]
}

/// Every route of this flavor, relative to `/api/20190715`, with its own 400, 404 and 405 answers.
pub(super) fn routes() -> Router<MetaService> {
    let mut router = Router::new();
    for (path, handler) in endpoints() {
        router = router.route(&format!("{path}/"), handler.clone()).route(path, handler);
    }
    router
        // Runs once a path and its method matched: after the 405, before the name lookup.
        .route_layer(middleware::from_fn(problem::refuse_parameters))
        .fallback(no_route)
        // Applies to the routes added above: keep it after every route.
        .method_not_allowed_fallback(wrong_method)
}

/// Router's 404 for a path it does not serve.
pub(super) async fn no_route(OriginalUri(uri): OriginalUri) -> Problem {
    Problem::not_found(uri.path())
}

async fn wrong_method() -> Problem {
    Problem::method_not_allowed()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn swagger() -> Value {
        serde_json::from_str(SWAGGER).expect("swagger.json is JSON")
    }

    #[test]
    fn swagger_describes_exactly_the_served_paths() {
        let document = swagger();
        let described: BTreeSet<String> = document["paths"].as_object().unwrap().keys().cloned().collect();
        let served: BTreeSet<String> = endpoints().into_iter().map(|(path, _)| path.to_string()).collect();
        assert_eq!(described, served, "swagger.json paths vs. the served paths");
        for (path, item) in document["paths"].as_object().unwrap() {
            let methods: Vec<&String> = item.as_object().unwrap().keys().filter(|key| *key != "parameters").collect();
            assert_eq!(methods, ["get"], "{path}: only GET (and HEAD) is served");
        }
    }

    #[test]
    fn swagger_is_routers_document_and_every_reference_resolves() {
        let document = swagger();
        assert_eq!(document["swagger"], "2.0");
        assert_eq!(document["basePath"], "/api/20190715");
        assert_eq!(document["info"]["version"], "20190715");
        let mut references = Vec::new();
        collect_references(&document, &mut references);
        assert!(references.len() > 20, "{references:?}");
        for reference in references {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("local reference: {reference}"));
            assert!(document.pointer(pointer).is_some(), "{reference} resolves");
        }
        let tags: BTreeSet<&str> =
            document["tags"].as_array().unwrap().iter().map(|tag| tag["name"].as_str().unwrap()).collect();
        for item in document["paths"].as_object().unwrap().values() {
            for tag in item["get"]["tags"].as_array().unwrap() {
                assert!(tags.contains(tag.as_str().unwrap()), "tag {tag} is declared");
            }
        }
    }

    fn collect_references(value: &Value, references: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    references.push(reference.clone());
                }
                map.values().for_each(|inner| collect_references(inner, references));
            }
            Value::Array(items) => items.iter().for_each(|inner| collect_references(inner, references)),
            _ => {}
        }
    }

    #[test]
    fn routes_build() {
        // Route syntax errors and duplicate paths panic when the router is built.
        let _ = routes();
    }
}
