//! The set workload: clients create namespaces with unique names (`s-<process>-<n>`) through
//! random nodes; at the end one linearizable read of the namespace list is the final set.

use std::time::Duration;

use serde_json::{json, Value};

use super::{pick_node, Client};
use crate::api::Outcome;
use crate::history::EventKind;

pub const PREFIX: &str = "s-";

pub async fn run_client(client: Client, nodes: Vec<String>) {
    let process = client.recorder.new_process();
    let mut next = 0u64;
    while !client.stopped() {
        let element = format!("{PREFIX}{process}-{next}");
        next += 1;
        let node = pick_node(&nodes);
        let value = json!({"element": element});
        client.invoke(process, "set", "add", None, value.clone(), &node);
        let outcome = client.api.post(&node, "/api/v1/namespaces", &json!({"namespace": element}), None).await;
        client.complete(process, "set", "add", None, value, &node, &outcome);
        client.think(Duration::from_millis(100)).await;
    }
}

/// Reads the final set through any node until one answers (the faults are healed by then), and
/// records the read in the history.
pub async fn final_read(client: &Client, nodes: &[String], deadline: Duration) -> anyhow::Result<Vec<String>> {
    let process = client.recorder.new_process();
    let started = tokio::time::Instant::now();
    loop {
        let node = pick_node(nodes);
        client.invoke(process, "set", "read", None, Value::Null, &node);
        match client.api.get(&node, "/api/v1/namespaces").await {
            Outcome::Ok { data, .. } => {
                let elements: Vec<String> = data
                    .get("namespaces")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter(|name| name.starts_with(PREFIX))
                    .map(str::to_string)
                    .collect();
                client.record(process, EventKind::Ok, "set", "read", None, json!({"elements": elements}), &node, None);
                return Ok(elements);
            }
            Outcome::Fail { error, .. } | Outcome::Unknown { error } => {
                client.record(process, EventKind::Fail, "set", "read", None, Value::Null, &node, Some(error.clone()));
                if started.elapsed() > deadline {
                    anyhow::bail!("no node answered the final read of the set within {deadline:?}: {error}");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
