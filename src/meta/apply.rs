//! The state machine: `MetaState::apply`, with the validation of every command.
//!
//! Owns the rules of what a command may change. Every handler validates everything first and
//! mutates last, so a rejected command leaves the state exactly as it was. Pure: no I/O, clocks or
//! randomness; the proposer already stamped ids and times into the command.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use super::command::{Command, CommandResult, NodeSpec, Response};
use super::server_names::check_new_names;
use super::error::{MetaError, MetaErrorKind};
use super::secret::Secret;
use super::slots::{
    covers_slots, merge_slots, split_evenly, subtract_slots, SlotRange, SLOT_COUNT,
};
use super::types::{
    Cluster, ClusterCredentials, ClusterPolicy, MetaState, Namespace, Node, NodeRole, PromotionRule, Shard,
    MAX_NAME_LEN, NODE_ID_LEN,
};

impl MetaState {
    /// Applies one committed command. Deterministic; on rejection the state is unchanged.
    pub fn apply(&mut self, command: &Command) -> CommandResult {
        let result = self.apply_command(command);
        if result.is_ok() && command.may_change_fleet() {
            self.fleet_changes += 1;
        }
        result
    }

    fn apply_command(&mut self, command: &Command) -> CommandResult {
        match command {
            Command::Batch(commands) => Ok(Response::Batch(commands.iter().map(|command| self.apply(command)).collect())),
            Command::CreateNamespace { name } => self.create_namespace(name),
            Command::DeleteNamespace { name } => self.delete_namespace(name),
            Command::CreateCluster {
                namespace,
                name,
                nodes,
                replicas,
                credentials,
                policy,
                created_at,
            } => {
                let shards = split_into_shards(name, nodes, *replicas)?;
                check_new_names(self, spec_names(nodes))?;
                let new = NewCluster { credentials, policy, created_at: *created_at };
                self.create_cluster(namespace, name, &shards, new)
            }
            Command::ImportCluster {
                namespace,
                name,
                shards,
                credentials,
                policy,
                created_at,
            } => {
                let shards: Vec<&[NodeSpec]> = shards.iter().map(Vec::as_slice).collect();
                check_new_names(self, shards.iter().flat_map(|specs| spec_names(specs)))?;
                let new = NewCluster { credentials, policy, created_at: *created_at };
                self.create_cluster(namespace, name, &shards, new)
            }
            Command::DeleteCluster {
                namespace,
                name,
                expected_version,
            } => self.delete_cluster(namespace, name, *expected_version),
            Command::CreateShard {
                namespace,
                cluster,
                nodes,
                password,
                created_at,
                expected_version,
            } => {
                check_new_names(self, spec_names(nodes))?;
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                create_shard(
                    cluster,
                    nodes,
                    Stamp {
                        password,
                        created_at: *created_at,
                    },
                )
            }
            Command::DeleteShard {
                namespace,
                cluster,
                shard,
                expected_version,
            } => {
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                delete_shard(cluster, *shard)
            }
            Command::CreateNode {
                namespace,
                cluster,
                shard,
                node,
                role,
                password,
                created_at,
                expected_version,
            } => {
                check_new_names(self, spec_names(std::slice::from_ref(node)))?;
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                let stamp = Stamp {
                    password,
                    created_at: *created_at,
                };
                create_node(cluster, *shard, node, *role, stamp)
            }
            Command::DeleteNode {
                namespace,
                cluster,
                shard,
                node_id,
                expected_version,
            } => {
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                delete_node(cluster, *shard, node_id)
            }
            Command::MigrateSlots {
                namespace,
                cluster,
                target,
                slots,
                expected_version,
            } => {
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                migrate_slots(cluster, *target, *slots)
            }
            Command::PromoteNode {
                namespace,
                cluster,
                shard,
                new_master_id,
                expected_version,
            } => {
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                promote_node(cluster, *shard, new_master_id)
            }
            Command::SetPromotionRule { .. }
            | Command::MarkDiverged { .. }
            | Command::SetNodeAdminState { .. }
            | Command::UpdateNode { .. } => self.apply_node_change(command),
            Command::BeginRecovery(intent) => self.begin_recovery(intent),
            Command::FinishRecovery(outcome) => self.finish_recovery(outcome),
            Command::AcknowledgeRecovery { id, by, comment, at_ms } => {
                self.acknowledge_recovery(*id, by, comment, *at_ms)
            }
        }
    }

    fn create_namespace(&mut self, name: &str) -> CommandResult {
        validate_name("namespace", name)?;
        if self.namespaces.contains_key(name) {
            return Err(MetaError::already_exists(format!(
                "namespace {name:?} already exists"
            )));
        }
        let namespace = Namespace {
            name: name.to_string(),
            ..Namespace::default()
        };
        self.namespaces.insert(name.to_string(), namespace);
        Ok(Response::Done)
    }

    fn delete_namespace(&mut self, name: &str) -> CommandResult {
        let namespace = self.namespace_mut(name)?;
        if !namespace.clusters.is_empty() {
            let names: Vec<&str> = namespace.clusters.keys().map(String::as_str).collect();
            return Err(MetaError::conflict(format!(
                "namespace {name:?} still holds clusters: {}",
                names.join(", ")
            )));
        }
        self.namespaces.remove(name);
        Ok(Response::Done)
    }

    fn create_cluster(
        &mut self,
        namespace: &str,
        name: &str,
        shard_specs: &[&[NodeSpec]],
        new: NewCluster<'_>,
    ) -> CommandResult {
        let parent = self.namespace_mut(namespace)?;
        validate_name("cluster", name)?;
        if parent.clusters.contains_key(name) {
            return Err(MetaError::already_exists(format!(
                "cluster {name:?} already exists in namespace {namespace:?}"
            )));
        }
        if shard_specs.iter().all(|specs| specs.is_empty()) {
            return Err(MetaError::invalid(format!(
                "cluster {name:?} needs at least one node"
            )));
        }
        if shard_specs.iter().any(|specs| specs.is_empty()) {
            return Err(MetaError::invalid("every shard needs at least one node"));
        }
        validate_new_specs(&shard_specs.concat())?;
        validate_policy(new.policy)?;
        let shard_count = shard_specs.len();
        if shard_count > usize::from(SLOT_COUNT) {
            return Err(MetaError::invalid(format!(
                "{shard_count} shards are more than the {SLOT_COUNT} slots"
            )));
        }
        let stamp = Stamp { password: &new.credentials.password, created_at: new.created_at };
        let shards = shard_specs
            .iter()
            .zip(split_evenly(shard_count))
            .map(|(specs, slots)| Shard {
                slot_ranges: vec![slots],
                ..new_shard(specs, stamp)
            })
            .collect();
        let cluster = Cluster {
            name: name.to_string(),
            version: 0,
            credentials: new.credentials.clone(),
            policy: new.policy.clone(),
            shards,
        };
        parent.clusters.insert(name.to_string(), cluster);
        Ok(Response::ClusterVersion(0))
    }

    fn delete_cluster(
        &mut self,
        namespace: &str,
        name: &str,
        expected_version: Option<u64>,
    ) -> CommandResult {
        self.cluster_to_change(namespace, name, expected_version)?;
        self.namespace_mut(namespace)?.clusters.remove(name);
        Ok(Response::Done)
    }

    fn namespace_mut(&mut self, name: &str) -> Result<&mut Namespace, MetaError> {
        self.namespaces
            .get_mut(name)
            .ok_or_else(|| MetaError::not_found(format!("namespace {name:?} does not exist")))
    }

    /// The cluster a cluster-level command changes, after the existence and version checks.
    pub(super) fn cluster_to_change(
        &mut self,
        namespace: &str,
        name: &str,
        expected_version: Option<u64>,
    ) -> Result<&mut Cluster, MetaError> {
        let cluster = self
            .namespace_mut(namespace)?
            .clusters
            .get_mut(name)
            .ok_or_else(|| {
                MetaError::not_found(format!(
                    "cluster {name:?} does not exist in namespace {namespace:?}"
                ))
            })?;
        match expected_version {
            Some(expected) if expected != cluster.version => Err(MetaError::new(
                MetaErrorKind::VersionMismatch,
                format!(
                    "cluster version is {}, expected {expected}",
                    cluster.version
                ),
            )),
            _ => Ok(cluster),
        }
    }
}

/// What a new cluster starts with besides its nodes.
#[derive(Clone, Copy)]
struct NewCluster<'a> {
    credentials: &'a ClusterCredentials,
    policy: &'a ClusterPolicy,
    created_at: i64,
}

/// `nodes` cut into shards of `replicas` nodes each.
fn split_into_shards<'a>(name: &str, nodes: &'a [NodeSpec], replicas: u32) -> Result<Vec<&'a [NodeSpec]>, MetaError> {
    if nodes.is_empty() {
        return Err(MetaError::invalid(format!("cluster {name:?} needs at least one node")));
    }
    if replicas == 0 {
        return Err(MetaError::invalid("replicas must be at least 1, got 0"));
    }
    let per_shard = usize::try_from(replicas).unwrap_or(usize::MAX);
    if !nodes.len().is_multiple_of(per_shard) {
        return Err(MetaError::invalid(format!(
            "{} nodes cannot be split into shards of {replicas} replicas",
            nodes.len()
        )));
    }
    Ok(nodes.chunks(per_shard).collect())
}

fn validate_policy(policy: &ClusterPolicy) -> Result<(), MetaError> {
    if policy.failure_threshold == 0 {
        return Err(MetaError::invalid("failure_threshold must be at least 1"));
    }
    if let Some(interval) = policy.probe_interval {
        if interval < std::time::Duration::from_millis(100) || interval > std::time::Duration::from_secs(3600) {
            return Err(MetaError::invalid(format!(
                "probe_interval must lie between 100ms and 1h, got {}",
                humantime_serde::re::humantime::format_duration(interval)
            )));
        }
    }
    Ok(())
}

/// What the proposer stamped on new nodes.
#[derive(Clone, Copy)]
struct Stamp<'a> {
    password: &'a Secret,
    created_at: i64,
}

fn create_shard(cluster: &mut Cluster, specs: &[NodeSpec], stamp: Stamp<'_>) -> CommandResult {
    if specs.is_empty() {
        return Err(MetaError::invalid("a new shard needs at least one node"));
    }
    validate_new_specs(specs)?;
    for spec in specs {
        check_unused(cluster, spec)?;
    }
    cluster.shards.push(new_shard(specs, stamp));
    Ok(bump(cluster))
}

fn delete_shard(cluster: &mut Cluster, index: usize) -> CommandResult {
    let shard = shard_of(cluster, index)?;
    if !shard.slot_ranges.is_empty() {
        let owned: Vec<String> = shard.slot_ranges.iter().map(ToString::to_string).collect();
        return Err(MetaError::conflict(format!(
            "shard {index} still owns slots {}",
            owned.join(", ")
        )));
    }
    if let Some(slot) = shard.migrating_slot {
        return Err(MetaError::conflict(format!(
            "shard {index} is migrating slot {slot}"
        )));
    }
    if let Some(slot) = shard.import_slot {
        return Err(MetaError::conflict(format!(
            "shard {index} is importing slot {slot}"
        )));
    }
    cluster.shards.remove(index);
    Ok(bump(cluster))
}

fn create_node(
    cluster: &mut Cluster,
    index: usize,
    spec: &NodeSpec,
    role: NodeRole,
    stamp: Stamp<'_>,
) -> CommandResult {
    let shard = shard_of(cluster, index)?;
    validate_spec(spec)?;
    check_unused(cluster, spec)?;
    if role == NodeRole::Master {
        if let Some(master) = shard.master() {
            return Err(MetaError::conflict(format!(
                "shard {index} already has master {:?}",
                master.id
            )));
        }
    }
    let node = new_node(spec, role, stamp);
    cluster.shards[index].nodes.push(node);
    Ok(bump(cluster))
}

fn delete_node(cluster: &mut Cluster, index: usize, node_id: &str) -> CommandResult {
    let shard = shard_of(cluster, index)?;
    let position = node_position(shard, index, node_id)?;
    if shard.nodes[position].role == NodeRole::Master {
        return Err(MetaError::conflict(format!(
            "node {node_id:?} is the master of shard {index}"
        )));
    }
    cluster.shards[index].nodes.remove(position);
    Ok(bump(cluster))
}

fn migrate_slots(cluster: &mut Cluster, target: usize, slots: SlotRange) -> CommandResult {
    let owned = &shard_of(cluster, target)?.slot_ranges;
    SlotRange::new(slots.start, slots.stop).map_err(|err| MetaError::invalid(err.to_string()))?;
    if covers_slots(owned, slots) {
        return Err(MetaError::invalid(format!(
            "slots {slots} already belong to shard {target}"
        )));
    }
    for (index, shard) in cluster.shards.iter_mut().enumerate() {
        shard.slot_ranges = if index == target {
            merge_slots(&shard.slot_ranges, slots)
        } else {
            subtract_slots(&shard.slot_ranges, slots)
        };
    }
    Ok(bump(cluster))
}

fn promote_node(cluster: &mut Cluster, index: usize, node_id: &str) -> CommandResult {
    let shard = shard_of(cluster, index)?;
    let position = node_position(shard, index, node_id)?;
    if shard.nodes[position].role == NodeRole::Master {
        return Err(MetaError::conflict(format!(
            "node {node_id:?} is already the master of shard {index}"
        )));
    }
    for (i, node) in cluster.shards[index].nodes.iter_mut().enumerate() {
        node.role = if i == position {
            NodeRole::Master
        } else {
            NodeRole::Slave
        };
    }
    Ok(bump(cluster))
}

/// Records a successful change of the cluster.
pub(super) fn bump(cluster: &mut Cluster) -> Response {
    cluster.version += 1;
    Response::ClusterVersion(cluster.version)
}

fn shard_of(cluster: &Cluster, index: usize) -> Result<&Shard, MetaError> {
    cluster.shards.get(index).ok_or_else(|| {
        MetaError::not_found(format!(
            "shard {index} does not exist in cluster {:?}",
            cluster.name
        ))
    })
}

pub(super) fn node_mut<'a>(cluster: &'a mut Cluster, index: usize, node_id: &str) -> Result<&'a mut Node, MetaError> {
    let position = node_position(shard_of(cluster, index)?, index, node_id)?;
    Ok(&mut cluster.shards[index].nodes[position])
}

fn node_position(shard: &Shard, index: usize, node_id: &str) -> Result<usize, MetaError> {
    shard
        .nodes
        .iter()
        .position(|node| node.id == node_id)
        .ok_or_else(|| {
            MetaError::not_found(format!("node {node_id:?} does not exist in shard {index}"))
        })
}

/// A shard of `specs` without slots: the first node is master, the others slaves.
fn new_shard(specs: &[NodeSpec], stamp: Stamp<'_>) -> Shard {
    let nodes = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let role = if i == 0 {
                NodeRole::Master
            } else {
                NodeRole::Slave
            };
            new_node(spec, role, stamp)
        })
        .collect();
    Shard {
        nodes,
        ..Shard::default()
    }
}

fn new_node(spec: &NodeSpec, role: NodeRole, stamp: Stamp<'_>) -> Node {
    Node {
        id: spec.id.clone(),
        addr: spec.addr.clone(),
        role,
        created_at: stamp.created_at,
        password: stamp.password.clone(),
        promotion_rule: PromotionRule::default(),
        diverged: None,
        name: spec.name.clone(),
        admin_state: Default::default(),
    }
}

/// The names given in `specs`.
fn spec_names(specs: &[NodeSpec]) -> impl Iterator<Item = &str> {
    specs.iter().filter_map(|spec| spec.name.as_deref())
}

/// Every spec well formed, and no address or id twice within the request.
fn validate_new_specs(specs: &[NodeSpec]) -> Result<(), MetaError> {
    let mut addrs = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for spec in specs {
        validate_spec(spec)?;
        if !addrs.insert(spec.addr.as_str()) {
            return Err(MetaError::invalid(format!(
                "address {:?} appears more than once in the request",
                spec.addr
            )));
        }
        if !ids.insert(spec.id.as_str()) {
            return Err(MetaError::invalid(format!(
                "node id {:?} appears more than once in the request",
                spec.id
            )));
        }
    }
    Ok(())
}

/// Neither the address nor the id of `spec` is used anywhere in the cluster yet.
fn check_unused(cluster: &Cluster, spec: &NodeSpec) -> Result<(), MetaError> {
    for (index, shard) in cluster.shards.iter().enumerate() {
        for node in &shard.nodes {
            if node.addr == spec.addr {
                return Err(MetaError::already_exists(format!(
                    "address {:?} is already used by shard {index} of cluster {:?}",
                    spec.addr, cluster.name
                )));
            }
            if node.id == spec.id {
                return Err(MetaError::already_exists(format!(
                    "node id {:?} already exists in shard {index} of cluster {:?}",
                    spec.id, cluster.name
                )));
            }
        }
    }
    Ok(())
}

fn validate_spec(spec: &NodeSpec) -> Result<(), MetaError> {
    validate_node_id(&spec.id)?;
    validate_addr(&spec.addr)
}

/// Namespace and cluster names: they appear in URL path segments and in aliases.
fn validate_name(field: &str, name: &str) -> Result<(), MetaError> {
    if name.is_empty() {
        return Err(MetaError::invalid(format!(
            "{field} name must not be empty"
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(MetaError::invalid(format!(
            "{field} name is {} bytes long, at most {MAX_NAME_LEN} are allowed",
            name.len()
        )));
    }
    if name.contains('/') {
        return Err(MetaError::invalid(format!(
            "{field} name must not contain '/': {name:?}"
        )));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(MetaError::invalid(format!(
            "{field} name must not contain whitespace or control characters: {name:?}"
        )));
    }
    Ok(())
}

fn validate_node_id(id: &str) -> Result<(), MetaError> {
    if id.len() != NODE_ID_LEN || !id.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(MetaError::invalid(format!(
            "node id {id:?} is not {NODE_ID_LEN} ascii alphanumerics"
        )));
    }
    Ok(())
}

/// `host:port`: a hostname or IPv4 address, or a bracketed IPv6 address; port 1..=65535.
pub(super) fn validate_addr(addr: &str) -> Result<(), MetaError> {
    let not_host_port = || MetaError::invalid(format!("address {addr:?} is not host:port"));
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or_else(not_host_port)?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(MetaError::invalid(format!(
                "address {addr:?} has an invalid ipv6 host {host:?}"
            )));
        }
        (host, port)
    } else {
        let (host, port) = addr.rsplit_once(':').ok_or_else(not_host_port)?;
        let hostname_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if !host.is_empty() && !host.chars().all(hostname_char) {
            return Err(MetaError::invalid(format!(
                "address {addr:?} has an invalid host {host:?}"
            )));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(MetaError::invalid(format!(
            "address {addr:?} has an empty host"
        )));
    }
    if port.is_empty() || !port.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(MetaError::invalid(format!(
            "address {addr:?} has port {port:?}, which is not a number"
        )));
    }
    match port.parse::<u16>() {
        Ok(number) if number >= 1 => Ok(()),
        _ => Err(MetaError::invalid(format!(
            "address {addr:?} has port {port}, which is outside 1..=65535"
        ))),
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
