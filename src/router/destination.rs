//! Parsing a route's `destinations` URI, `shard://NAMESPACE/CLUSTER/SHARD-INDEX?role=ROLE`, in the
//! manner of MySQL Router's `metadata-cache://CLUSTER/?role=PRIMARY`. Pure; owns nothing else.

use super::status::{Destination, RouteRole};

const SCHEME: &str = "shard://";

/// Why a `destinations` value is not a valid `shard://` URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("destinations must start with shard:// (shard://NAMESPACE/CLUSTER/SHARD-INDEX?role=PRIMARY)")]
    Scheme,
    #[error("destinations must name NAMESPACE/CLUSTER/SHARD-INDEX, found \"{0}\"")]
    Path(String),
    #[error("the shard index must be a number from 0, found \"{0}\"")]
    ShardIndex(String),
    #[error("destinations must say role=PRIMARY, role=SECONDARY or role=PRIMARY_AND_SECONDARY")]
    MissingRole,
    #[error("unknown role \"{0}\"; expected PRIMARY, SECONDARY or PRIMARY_AND_SECONDARY")]
    UnknownRole(String),
    #[error("unknown destinations parameter \"{0}\"; only role is accepted")]
    UnknownParameter(String),
    #[error("destinations gives role more than once")]
    RepeatedRole,
}

impl RouteRole {
    /// The role named by a `role=` parameter; case-insensitive, as MySQL Router reads it.
    pub fn parse(word: &str) -> Result<RouteRole, DestinationError> {
        match word.to_ascii_uppercase().as_str() {
            "PRIMARY" => Ok(RouteRole::Primary),
            "SECONDARY" => Ok(RouteRole::Secondary),
            "PRIMARY_AND_SECONDARY" => Ok(RouteRole::PrimaryAndSecondary),
            _ => Err(DestinationError::UnknownRole(word.to_string())),
        }
    }
}

impl Destination {
    /// Parses `shard://NAMESPACE/CLUSTER/SHARD-INDEX?role=ROLE`.
    pub fn parse(uri: &str) -> Result<Destination, DestinationError> {
        let rest = uri.trim().strip_prefix(SCHEME).ok_or(DestinationError::Scheme)?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let [namespace, cluster, shard] = parts.as_slice() else {
            return Err(DestinationError::Path(path.to_string()));
        };
        if namespace.is_empty() || cluster.is_empty() || [namespace, cluster].iter().any(|name| name.contains(char::is_whitespace)) {
            return Err(DestinationError::Path(path.to_string()));
        }
        let shard = shard
            .parse::<usize>()
            .ok()
            .filter(|_| shard.bytes().all(|byte| byte.is_ascii_digit()))
            .ok_or_else(|| DestinationError::ShardIndex(shard.to_string()))?;
        let mut role = None;
        for parameter in query.split('&').filter(|parameter| !parameter.is_empty()) {
            match parameter.split_once('=') {
                Some((key, value)) if key.eq_ignore_ascii_case("role") => {
                    if role.replace(RouteRole::parse(value)?).is_some() {
                        return Err(DestinationError::RepeatedRole);
                    }
                }
                _ => return Err(DestinationError::UnknownParameter(parameter.to_string())),
            }
        }
        let role = role.ok_or(DestinationError::MissingRole)?;
        Ok(Destination { namespace: namespace.to_string(), cluster: cluster.to_string(), shard, role })
    }

    /// `NAMESPACE/CLUSTER/SHARD-INDEX`, as messages name the shard.
    pub fn shard_path(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.cluster, self.shard)
    }

    /// The URI again, in canonical form.
    pub fn uri(&self) -> String {
        format!("{SCHEME}{}?role={}", self.shard_path(), self.role.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(namespace: &str, cluster: &str, shard: usize, role: RouteRole) -> Destination {
        Destination { namespace: namespace.into(), cluster: cluster.into(), shard, role }
    }

    #[test]
    fn parses_shard_uris() {
        let cases: Vec<(&str, Result<Destination, DestinationError>)> = vec![
            ("shard://prod/orders/0?role=PRIMARY", Ok(destination("prod", "orders", 0, RouteRole::Primary))),
            ("shard://prod/orders/12?role=SECONDARY", Ok(destination("prod", "orders", 12, RouteRole::Secondary))),
            (
                "shard://p/o/1/?role=primary_and_secondary",
                Ok(destination("p", "o", 1, RouteRole::PrimaryAndSecondary)),
            ),
            (" shard://p/o/0?role=Primary ", Ok(destination("p", "o", 0, RouteRole::Primary))),
            ("metadata-cache://orders/?role=PRIMARY", Err(DestinationError::Scheme)),
            ("127.0.0.1:3306", Err(DestinationError::Scheme)),
            ("shard://prod/orders?role=PRIMARY", Err(DestinationError::Path("prod/orders".into()))),
            ("shard://prod/orders/0/1?role=PRIMARY", Err(DestinationError::Path("prod/orders/0/1".into()))),
            ("shard:///orders/0?role=PRIMARY", Err(DestinationError::Path("/orders/0".into()))),
            ("shard://prod/orders/x?role=PRIMARY", Err(DestinationError::ShardIndex("x".into()))),
            ("shard://prod/orders/-1?role=PRIMARY", Err(DestinationError::ShardIndex("-1".into()))),
            ("shard://prod/orders/+1?role=PRIMARY", Err(DestinationError::ShardIndex("+1".into()))),
            ("shard://prod/orders/0", Err(DestinationError::MissingRole)),
            ("shard://prod/orders/0?role=LEADER", Err(DestinationError::UnknownRole("LEADER".into()))),
            ("shard://prod/orders/0?role=PRIMARY&ttl=1", Err(DestinationError::UnknownParameter("ttl=1".into()))),
            ("shard://prod/orders/0?role=PRIMARY&role=SECONDARY", Err(DestinationError::RepeatedRole)),
        ];
        for (uri, expected) in cases {
            assert_eq!(Destination::parse(uri), expected, "{uri}");
        }
    }

    #[test]
    fn the_canonical_uri_parses_back() {
        let parsed = Destination::parse("shard://p/o/1/?role=secondary").unwrap();
        assert_eq!(parsed.uri(), "shard://p/o/1?role=SECONDARY");
        assert_eq!(Destination::parse(&parsed.uri()).unwrap(), parsed);
    }
}
