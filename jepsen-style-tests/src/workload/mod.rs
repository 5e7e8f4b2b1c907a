//! The workloads' shared client: the recorder, the REST client, the stop signal, and the rules for
//! turning an answer into a history event. Each workload module owns its own operations.

pub mod failover;
pub mod register;
pub mod set;

use std::time::Duration;

use anyhow::bail;
use rand::seq::IndexedRandom;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::api::{ApiClient, Outcome};
use crate::history::{Event, EventKind, Recorder};

/// How register reads are served: the product's default, or the deliberately broken local read
/// the calibration run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadConsistency {
    Linearizable,
    Stale,
}

#[derive(Clone)]
pub struct Client {
    pub recorder: Recorder,
    pub api: ApiClient,
    stop: watch::Receiver<bool>,
}

impl Client {
    pub fn new(recorder: Recorder, api: ApiClient, stop: watch::Receiver<bool>) -> Client {
        Client { recorder, api, stop }
    }

    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits `pause`, or less when the run stops meanwhile.
    pub async fn think(&self, pause: Duration) {
        let mut stop = self.stop.clone();
        let _ = tokio::time::timeout(pause, stop.wait_for(|stopped| *stopped)).await;
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        process: u64,
        kind: EventKind,
        workload: &str,
        f: &str,
        key: Option<&str>,
        value: Value,
        node: &str,
        error: Option<String>,
    ) {
        self.recorder.record(Event {
            process,
            kind,
            workload: workload.to_string(),
            f: f.to_string(),
            key: key.map(str::to_string),
            value,
            time_ns: 0,
            node: Some(node.to_string()),
            error,
        });
    }

    pub fn invoke(&self, process: u64, workload: &str, f: &str, key: Option<&str>, value: Value, node: &str) {
        self.record(process, EventKind::Invoke, workload, f, key, value, node, None);
    }

    /// Records the completion of a write-like operation from its answer.
    #[allow(clippy::too_many_arguments)]
    pub fn complete(
        &self,
        process: u64,
        workload: &str,
        f: &str,
        key: Option<&str>,
        value: Value,
        node: &str,
        outcome: &Outcome,
    ) {
        let (kind, error) = match outcome {
            Outcome::Ok { .. } => (EventKind::Ok, None),
            Outcome::Fail { error, .. } => (EventKind::Fail, Some(error.clone())),
            Outcome::Unknown { error } => (EventKind::Info, Some(error.clone())),
        };
        self.record(process, kind, workload, f, key, value, node, error);
    }
}

pub fn pick_node(nodes: &[String]) -> String {
    nodes.choose(&mut rand::rng()).expect("at least one node").clone()
}

/// Creates a namespace, retrying through every node until it exists.
pub async fn create_namespace(client: &Client, namespace: &str) -> anyhow::Result<()> {
    create_until_done(client, "/api/v1/namespaces", &json!({"namespace": namespace})).await
}

/// POSTs a create request until it answers 201 or 409 (already there), for set-up steps.
pub async fn create_until_done(client: &Client, path: &str, body: &Value) -> anyhow::Result<()> {
    let nodes: Vec<String> = crate::deployment::SHARDKEEPER_NODES.iter().map(|host| host.url()).collect();
    let mut last = String::new();
    for attempt in 0..60 {
        let node = &nodes[attempt % nodes.len()];
        match client.api.post(node, path, body, None).await {
            Outcome::Ok { .. } | Outcome::Fail { status: Some(409), .. } => return Ok(()),
            Outcome::Fail { error, .. } | Outcome::Unknown { error } => last = error,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("POST {path} {body} did not succeed within 60 attempts: {last}")
}
