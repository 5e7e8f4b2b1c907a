//! Checking the declared routes before a node starts: every `destinations` URI parses, names and
//! listen addresses are unique, the strategy fits the role. A node with a bad route refuses to
//! start with a message naming the route. Pure; owns nothing else.

use std::collections::HashMap;

use super::config::{RouteConfig, RoutingStrategy};
use super::destination::DestinationError;
use super::status::{Destination, RouteRole};

/// Why the declared routes cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteConfigError {
    #[error("route \"{route}\": destinations \"{uri}\" is invalid: {reason}")]
    Destination { route: String, uri: String, reason: DestinationError },
    #[error("a route has an empty name")]
    EmptyName,
    #[error("two routes are named \"{0}\"; route names must be unique")]
    DuplicateName(String),
    #[error("routes \"{first}\" and \"{second}\" both bind {addr}")]
    DuplicateBind { first: String, second: String, addr: String },
    #[error("route \"{route}\": routing_strategy {strategy} is for role=SECONDARY only (as in MySQL Router)")]
    StrategyForRole { route: String, strategy: &'static str },
    #[error("route \"{0}\": max_connections must be at least 1")]
    NoConnections(String),
    #[error("route \"{0}\": max_connect_errors must be at least 1")]
    NoConnectErrors(String),
}

/// A declared route, checked, with its destination parsed and its strategy decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRoute {
    pub config: RouteConfig,
    pub destination: Destination,
    pub strategy: RoutingStrategy,
}

/// MySQL Router's default strategy for a metadata-cache destination of `role`.
pub fn default_strategy(role: RouteRole) -> RoutingStrategy {
    match role {
        RouteRole::Primary => RoutingStrategy::FirstAvailable,
        RouteRole::Secondary | RouteRole::PrimaryAndSecondary => RoutingStrategy::RoundRobin,
    }
}

/// Checks every route; the first problem found is the error.
pub fn check_routes(routes: &[RouteConfig]) -> Result<Vec<CheckedRoute>, RouteConfigError> {
    let mut names: HashMap<&str, ()> = HashMap::new();
    let mut binds: Vec<(&str, &str, u16)> = Vec::new();
    let mut checked = Vec::with_capacity(routes.len());
    for route in routes {
        let name = route.name.as_str();
        if name.trim().is_empty() {
            return Err(RouteConfigError::EmptyName);
        }
        if names.insert(name, ()).is_some() {
            return Err(RouteConfigError::DuplicateName(name.to_string()));
        }
        if route.bind_port != 0 {
            let clash = binds.iter().find(|(_, address, port)| {
                *port == route.bind_port && (same_address(address, &route.bind_address))
            });
            if let Some((first, _, _)) = clash {
                return Err(RouteConfigError::DuplicateBind {
                    first: first.to_string(),
                    second: name.to_string(),
                    addr: format!("{}:{}", route.bind_address, route.bind_port),
                });
            }
            binds.push((name, &route.bind_address, route.bind_port));
        }
        let destination = Destination::parse(&route.destinations).map_err(|reason| RouteConfigError::Destination {
            route: name.to_string(),
            uri: route.destinations.clone(),
            reason,
        })?;
        let strategy = route.routing_strategy.unwrap_or_else(|| default_strategy(destination.role));
        if strategy == RoutingStrategy::RoundRobinWithFallback && destination.role != RouteRole::Secondary {
            return Err(RouteConfigError::StrategyForRole { route: name.to_string(), strategy: strategy.as_str() });
        }
        if route.max_connections == 0 {
            return Err(RouteConfigError::NoConnections(name.to_string()));
        }
        if route.max_connect_errors == 0 {
            return Err(RouteConfigError::NoConnectErrors(name.to_string()));
        }
        checked.push(CheckedRoute { config: route.clone(), destination, strategy });
    }
    Ok(checked)
}

/// Two bind addresses that cannot share a port: equal, or one of them is a wildcard.
fn same_address(a: &str, b: &str) -> bool {
    let wildcard = |address: &str| matches!(address, "0.0.0.0" | "::" | "[::]" | "*");
    a.eq_ignore_ascii_case(b) || wildcard(a) || wildcard(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, port: u16, destinations: &str) -> RouteConfig {
        toml::from_str(&format!("name = \"{name}\"\nbind_port = {port}\ndestinations = \"{destinations}\"")).unwrap()
    }

    const PRIMARY: &str = "shard://p/c/0?role=PRIMARY";
    const SECONDARY: &str = "shard://p/c/0?role=SECONDARY";

    #[test]
    fn defaults_follow_mysql_router() {
        let checked = check_routes(&[
            route("rw", 6446, PRIMARY),
            route("ro", 6447, SECONDARY),
            route("any", 6448, "shard://p/c/0?role=PRIMARY_AND_SECONDARY"),
        ])
        .unwrap();
        let strategies: Vec<RoutingStrategy> = checked.iter().map(|route| route.strategy).collect();
        assert_eq!(
            strategies,
            [RoutingStrategy::FirstAvailable, RoutingStrategy::RoundRobin, RoutingStrategy::RoundRobin]
        );
        let config = &checked[0].config;
        assert_eq!(config.bind_address, "127.0.0.1");
        assert_eq!((config.max_connections, config.max_connect_errors), (512, 100));
        assert_eq!(config.connect_timeout, std::time::Duration::from_secs(5));
        assert!(config.disconnect_on_promoted_to_primary);
    }

    #[test]
    fn bad_routes_are_refused_with_the_route_named() {
        let mut fallback_on_primary = route("rw", 1, PRIMARY);
        fallback_on_primary.routing_strategy = Some(RoutingStrategy::RoundRobinWithFallback);
        let mut wildcard = route("b", 6446, SECONDARY);
        wildcard.bind_address = "0.0.0.0".into();
        let mut full = route("rw", 1, PRIMARY);
        full.max_connections = 0;
        let cases: Vec<(Vec<RouteConfig>, &str)> = vec![
            (vec![route("rw", 1, "shard://p/c?role=PRIMARY")], "route \"rw\": destinations \"shard://p/c?role=PRIMARY\" is invalid"),
            (vec![route("rw", 1, PRIMARY), route("rw", 2, PRIMARY)], "two routes are named \"rw\""),
            (vec![route("a", 6446, PRIMARY), route("b", 6446, SECONDARY)], "routes \"a\" and \"b\" both bind 127.0.0.1:6446"),
            (vec![route("a", 6446, PRIMARY), wildcard], "routes \"a\" and \"b\" both bind 0.0.0.0:6446"),
            (vec![fallback_on_primary], "round-robin-with-fallback is for role=SECONDARY only"),
            (vec![route(" ", 1, PRIMARY)], "empty name"),
            (vec![full], "max_connections must be at least 1"),
        ];
        for (routes, expected) in cases {
            let error = check_routes(&routes).expect_err(expected).to_string();
            assert!(error.contains(expected), "{error} should contain {expected}");
        }
    }

    #[test]
    fn the_config_example_in_the_routing_guide_parses_and_checks() {
        let guide = include_str!("../../docs/routing.md");
        let start = guide.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let length = guide[start..].find("```").expect("the end of the example");
        let config: crate::config::Config = toml::from_str(&guide[start..start + length]).unwrap();
        let routes = check_routes(&config.routes).expect("the example routes are valid");
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].destination.uri(), "shard://prod/orders/0?role=PRIMARY");
        assert_eq!(routes[1].strategy, RoutingStrategy::RoundRobinWithFallback);
        assert_eq!(routes[1].config.connect_timeout, std::time::Duration::from_secs(1));
        assert_eq!(routes[1].config.bind_address, "127.0.0.1");
    }

    #[test]
    fn port_zero_never_clashes() {
        assert!(check_routes(&[route("a", 0, PRIMARY), route("b", 0, SECONDARY)]).is_ok());
    }
}
