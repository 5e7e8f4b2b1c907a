//! Server names: the optional `name` of a database node, by which the MaxScale flavor addresses it.
//!
//! Owns the naming rules, all pure: which names are valid, how two names compare (MaxScale
//! compares case-insensitively, and a URI names a server with its whitespace replaced by
//! hyphens), the name a node without one goes by (its address), and the fleet-wide uniqueness
//! check `apply` runs. Must not touch anything but the metadata it is given.

use super::error::MetaError;
use super::types::{MetaState, Node, MAX_NAME_LEN};

/// The name `node` goes by: its own, or its address when it has none. An address always holds a
/// `:` and a given name never does, so the two kinds cannot collide.
pub fn effective_name(node: &Node) -> &str {
    node.name.as_deref().unwrap_or(&node.addr)
}

/// What two names are compared by: lowercase, every whitespace character a hyphen.
pub fn name_key(name: &str) -> String {
    name.chars().map(|c| if c.is_whitespace() { '-' } else { c }).flat_map(char::to_lowercase).collect()
}

/// The form of a name used in URIs and as a MaxScale resource id: whitespace replaced by hyphens.
pub fn uri_name(name: &str) -> String {
    name.chars().map(|c| if c.is_whitespace() { '-' } else { c }).collect()
}

/// A given name: 1 to `MAX_NAME_LEN` bytes of ASCII letters, digits, `_ . ~ -` and inner spaces.
pub fn validate_server_name(name: &str) -> Result<(), MetaError> {
    if name.is_empty() {
        return Err(MetaError::invalid("server name must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(MetaError::invalid(format!(
            "server name is {} bytes long, at most {MAX_NAME_LEN} are allowed",
            name.len()
        )));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(MetaError::invalid(format!("server name {name:?} must not start or end with a space")));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '~' | '-' | ' ');
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(MetaError::invalid(format!(
            "server name {name:?} contains {bad:?}; only letters, digits, spaces and _ . ~ - are allowed"
        )));
    }
    Ok(())
}

/// `name` is valid and no node of the fleet other than `except_node_id` goes by it (compared by
/// `name_key`).
pub fn check_name_free(state: &MetaState, name: &str, except_node_id: Option<&str>) -> Result<(), MetaError> {
    validate_server_name(name)?;
    let key = name_key(name);
    for (namespace_name, namespace) in &state.namespaces {
        for (cluster_name, cluster) in &namespace.clusters {
            for (shard, node) in cluster.nodes() {
                if Some(node.id.as_str()) == except_node_id {
                    continue;
                }
                if name_key(effective_name(node)) == key {
                    return Err(MetaError::already_exists(format!(
                        "server name {name:?} is already used by node {:?} (shard {shard} of cluster {cluster_name:?} in namespace {namespace_name:?})",
                        node.id
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Every given name among `names` is free in the fleet and appears once.
pub fn check_new_names<'a>(state: &MetaState, names: impl IntoIterator<Item = &'a str>) -> Result<(), MetaError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        check_name_free(state, name, None)?;
        if !seen.insert(name_key(name)) {
            return Err(MetaError::invalid(format!("server name {name:?} appears more than once in the request")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        let cases: [(&str, Result<(), &str>); 9] = [
            ("server1", Ok(())),
            ("db-1.eu_west~a", Ok(())),
            ("My Server 2", Ok(())),
            ("", Err("must not be empty")),
            (" lead", Err("start or end with a space")),
            ("trail ", Err("start or end with a space")),
            ("127.0.0.1:3306", Err("contains ':'")),
            ("a/b", Err("contains '/'")),
            ("tab\tname", Err("contains '\\t'")),
        ];
        for (name, expected) in cases {
            match (validate_server_name(name), expected) {
                (Ok(()), Ok(())) => {}
                (Err(error), Err(fragment)) => assert!(error.message.contains(fragment), "{name:?}: {}", error.message),
                (got, want) => panic!("{name:?}: got {got:?}, want {want:?}"),
            }
        }
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert!(validate_server_name(&long).unwrap_err().message.contains("at most"));
    }

    #[test]
    fn names_compare_case_insensitively_with_whitespace_as_hyphens() {
        let cases = [
            ("Server1", "server1", true),
            ("My Server", "my-server", true),
            ("MY-SERVER", "my server", true),
            ("server1", "server2", false),
            ("my_server", "my-server", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(name_key(a) == name_key(b), same, "{a:?} vs {b:?}");
        }
        assert_eq!(uri_name("My Server 2"), "My-Server-2");
    }
}
