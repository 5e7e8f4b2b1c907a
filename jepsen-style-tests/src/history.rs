//! The history of one run: every client operation as an `invoke` event followed by exactly one
//! completion (`ok`, `fail` or `info`), one JSON object per line. This module owns the event
//! format and the recorder that appends events to the history file; it knows nothing about
//! workloads or checkers.
//!
//! Completion kinds follow Jepsen's meaning:
//! - `ok`: the operation took effect (for reads: the value was observed);
//! - `fail`: the operation certainly did not take effect (a 4xx answer, a 503 "no leader",
//!   a refused connection before anything was sent);
//! - `info`: the outcome is unknown (timeout, 504, connection lost after sending); the operation
//!   may take effect at any time from its invocation to the end of the run.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// What an event says about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One line of the history file.
///
/// `value` depends on the workload and the function:
/// - register (`f` = `read` | `write` | `cas`, `key` = the register): invoke of a read `null`,
///   its ok `{"value": <i64>}`; write `{"value": <i64>}`; cas `{"expected": <i64>, "new": <i64>}`
///   (the completion repeats the invoke's value);
/// - set (`f` = `add` | `read`): add `{"element": "<name>"}`; the final read's ok
///   `{"elements": ["<name>", ...]}`;
/// - failover (`f` = `insert` | `masters`): insert `{"row": <u64>, "server": "<host:port>"}`;
///   `masters` samples are recorded by the failover workload itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Which client issued the operation; one client has at most one operation outstanding.
    pub process: u64,
    pub kind: EventKind,
    /// The workload that issued it: `register`, `set` or `failover`.
    pub workload: String,
    /// The operation's function.
    pub f: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
    /// Nanoseconds since the start of the run.
    pub time_ns: u64,
    /// The shardkeeper node (or database server) the client talked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why the operation failed or is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reads a history file written by [`Recorder`].
pub fn read_history(path: &Path) -> anyhow::Result<Vec<Event>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line)
                .map_err(|error| anyhow::anyhow!("{}:{}: {error}", path.display(), number + 1))
        })
        .collect()
}

/// Hands out process ids and timestamps and appends events to the history file from one writer
/// task, so that clients never block on the disk.
#[derive(Clone)]
pub struct Recorder {
    started: Instant,
    next_process: Arc<AtomicU64>,
    sender: mpsc::UnboundedSender<Event>,
}

impl Recorder {
    /// Starts the writer task; the returned handle finishes once every `Recorder` clone is dropped
    /// and the file is flushed.
    pub async fn create(
        path: &Path,
        started: Instant,
    ) -> anyhow::Result<(Recorder, tokio::task::JoinHandle<anyhow::Result<()>>)> {
        let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await?);
        let (sender, mut receiver) = mpsc::unbounded_channel::<Event>();
        let writer = tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                let mut line = serde_json::to_vec(&event)?;
                line.push(b'\n');
                file.write_all(&line).await?;
            }
            file.flush().await?;
            Ok(())
        });
        let recorder = Recorder { started, next_process: Arc::new(AtomicU64::new(0)), sender };
        Ok((recorder, writer))
    }

    pub fn new_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    pub fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Records `event` with the current time filled in and returns that time.
    pub fn record(&self, mut event: Event) -> u64 {
        event.time_ns = self.now_ns();
        let time = event.time_ns;
        // The writer only stops when every recorder is gone, so this cannot fail while `self` lives.
        let _ = self.sender.send(event);
        time
    }
}
