//! Compare-and-set registers on cluster metadata. Each register is a cluster of namespace
//! `jepsen` (two shards of placeholder servers that never resolve, automatic failover off, so only this
//! workload changes it); its value is the cluster `version`. A read is `GET .../clusters/reg-N`;
//! a cas from `v` to `v + 1` is a slot migration sent with `If-Match: v`, moving slot 0 to the
//! shard that does not own it at version `v`. Slot 0 therefore belongs to shard `v % 2` at every
//! version, which the reads also record (`owner`) as a second, independent check.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};

use super::{pick_node, Client, ReadConsistency};
use crate::api::Outcome;
use crate::history::EventKind;

pub const NAMESPACE: &str = "jepsen";

/// The registers of one run: `<prefix>-0`, `<prefix>-1`, ... (the calibration uses its own, so
/// that every register starts at version 0).
#[derive(Debug, Clone)]
pub struct Registers {
    pub prefix: &'static str,
    pub count: usize,
}

impl Registers {
    fn name(&self, index: usize) -> String {
        format!("{}-{index}", self.prefix)
    }
}

fn register_path(key: &str, consistency: ReadConsistency) -> String {
    let query = match consistency {
        ReadConsistency::Linearizable => "",
        ReadConsistency::Stale => "?consistency=stale",
    };
    format!("/api/v1/namespaces/{NAMESPACE}/clusters/{key}{query}")
}

/// Creates the namespace and the registers, each at version 0.
pub async fn set_up(client: &Client, registers: &Registers) -> anyhow::Result<()> {
    super::create_namespace(client, NAMESPACE).await?;
    for index in 0..registers.count {
        let body = json!({
            "name": registers.name(index),
            // Names that never resolve: the prober finds the servers unreachable and leaves them be.
            "nodes": [format!("{}-a.invalid:3306", registers.name(index)), format!("{}-b.invalid:3306", registers.name(index))],
            "replicas": 1,
            "policy": {"auto_failover": false, "auto_rejoin": false},
        });
        super::create_until_done(client, &format!("/api/v1/namespaces/{NAMESPACE}/clusters"), &body).await?;
    }
    Ok(())
}

/// The shard owning slot 0 in a cluster view, from its `slot_ranges` ("0-99", "0", ...).
fn owner_of_slot_zero(cluster: &Value) -> Option<u64> {
    let shards = cluster.get("shards")?.as_array()?;
    shards.iter().position(|shard| {
        shard.get("slot_ranges").and_then(Value::as_array).is_some_and(|ranges| {
            ranges.iter().filter_map(Value::as_str).any(|range| range == "0" || range.starts_with("0-"))
        })
    }).map(|index| index as u64)
}

/// One register client: reads and cas operations on random registers through random nodes until
/// the run stops. It remembers the last version it read of each register to build its cas.
pub async fn run_client(client: Client, registers: Registers, consistency: ReadConsistency, nodes: Vec<String>) {
    let process = client.recorder.new_process();
    let mut known_versions: HashMap<String, u64> = HashMap::new();
    while !client.stopped() {
        let key = registers.name(rand::rng().random_range(0..registers.count));
        let node = pick_node(&nodes);
        match known_versions.get(&key).copied() {
            Some(expected) if rand::rng().random_bool(0.5) => {
                let value = json!({"expected": expected, "new": expected + 1});
                client.invoke(process, "register", "cas", Some(&key), value.clone(), &node);
                let body = json!({"target": (expected + 1) % 2, "slot": 0, "slot_only": true});
                let path = format!("/api/v1/namespaces/{NAMESPACE}/clusters/{key}/migrate");
                let outcome = client.api.post(&node, &path, &body, Some(expected)).await;
                if matches!(outcome, Outcome::Ok { .. }) {
                    known_versions.insert(key.clone(), expected + 1);
                } else {
                    known_versions.remove(&key);
                }
                client.complete(process, "register", "cas", Some(&key), value, &node, &outcome);
            }
            _ => {
                client.invoke(process, "register", "read", Some(&key), Value::Null, &node);
                let outcome = client.api.get(&node, &register_path(&key, consistency)).await;
                let (kind, value, error) = match &outcome {
                    Outcome::Ok { data, .. } => {
                        let cluster = data.get("cluster").unwrap_or(&Value::Null);
                        match cluster.get("version").and_then(Value::as_u64) {
                            Some(version) => {
                                known_versions.insert(key.clone(), version);
                                let owner = owner_of_slot_zero(cluster);
                                (EventKind::Ok, json!({"value": version, "owner": owner}), None)
                            }
                            None => (EventKind::Info, Value::Null, Some(format!("no version in {data}"))),
                        }
                    }
                    Outcome::Fail { error, .. } => (EventKind::Fail, Value::Null, Some(error.clone())),
                    // A read changes nothing, so an unknown read is a failed one that saw nothing.
                    Outcome::Unknown { error } => (EventKind::Fail, Value::Null, Some(error.clone())),
                };
                client.record(process, kind, "register", "read", Some(&key), value, &node, error);
            }
        }
        client.think(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_zero_owner_is_read_from_the_ranges() {
        let cases = [
            (json!({"shards": [{"slot_ranges": ["0-8191"]}, {"slot_ranges": ["8192-16383"]}]}), Some(0)),
            (json!({"shards": [{"slot_ranges": ["1-8191"]}, {"slot_ranges": ["0", "8192-16383"]}]}), Some(1)),
            (json!({"shards": [{"slot_ranges": ["1-8191"]}, {"slot_ranges": ["0-0", "8192-16383"]}]}), Some(1)),
            (json!({"shards": [{"slot_ranges": ["10-8191"]}, {"slot_ranges": []}]}), None),
        ];
        for (cluster, expected) in cases {
            assert_eq!(owner_of_slot_zero(&cluster), expected, "{cluster}");
        }
    }
}
