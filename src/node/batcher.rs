//! Group commit for the leader's writes: commands proposed at about the same time share one raft
//! entry, so one log append and one flush (on the leader and on each follower) carry them all.
//!
//! openraft 0.9 appends and flushes every `client_write` on its own, one after the other, so
//! without this the leader's write rate is bounded by one flush per command. The batcher keeps at
//! most `MAX_IN_FLIGHT` entries in raft at a time; commands that arrive meanwhile wait in a queue
//! and go together in the next entry (`Command::Batch`, at most `MAX_BATCH` commands). A command
//! that arrives while nothing is in flight goes alone and at once, so a lone writer waits no
//! longer than before. Each command keeps its own result: the state machine applies a batch in
//! order, one command at a time, exactly as if they had been proposed one by one.

use std::sync::Arc;

use openraft::error::{ClientWriteError, RaftError};
use openraft::BasicNode;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::meta::{Command, CommandResult, Response};
use crate::raft::Raft;

/// Raft entries of batched writes in flight at once.
const MAX_IN_FLIGHT: usize = 2;
/// Commands in one raft entry at most.
const MAX_BATCH: usize = 256;

pub type ClientWriteFailure = RaftError<u64, ClientWriteError<u64, BasicNode>>;

/// Why a batched write has no result of its own.
#[derive(Clone, Debug)]
pub enum BatchFailure {
    /// Raft refused or stopped before the entry was committed (not the leader, shut down ...).
    Raft(ClientWriteFailure),
    /// The entry committed but its answer did not hold one result per command (a bug).
    Malformed(String),
}

struct Pending {
    command: Command,
    reply: oneshot::Sender<Result<CommandResult, BatchFailure>>,
}

/// The queue in front of `Raft::client_write`. Cheap to share; the batching task ends when the
/// last handle is dropped.
pub struct ProposalBatcher {
    queue: mpsc::UnboundedSender<Pending>,
}

impl ProposalBatcher {
    pub fn start(raft: Raft) -> ProposalBatcher {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, pending));
        ProposalBatcher { queue }
    }

    /// Commits `command` (alone or with others) and answers its own result.
    pub async fn write(&self, command: Command) -> Result<CommandResult, BatchFailure> {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Pending { command, reply }).is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or(Err(stopped()))
    }
}

/// The batching task is gone: raft is shutting down.
fn stopped() -> BatchFailure {
    BatchFailure::Raft(RaftError::Fatal(openraft::error::Fatal::Stopped))
}

async fn run(raft: Raft, mut pending: mpsc::UnboundedReceiver<Pending>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(first) = pending.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            commit(&raft, batch).await;
            drop(permit);
        });
    }
}

/// Proposes the batch as one entry and hands each waiter its own result.
async fn commit(raft: &Raft, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let Pending { command, reply } = batch.remove(0);
        let outcome = raft.client_write(command).await.map(|written| written.data).map_err(BatchFailure::Raft);
        let _ = reply.send(outcome);
        return;
    }
    let (commands, replies): (Vec<Command>, Vec<_>) = batch.into_iter().map(|pending| (pending.command, pending.reply)).unzip();
    let count = commands.len();
    let results = match raft.client_write(Command::Batch(commands)).await {
        Ok(written) => match written.data {
            Ok(Response::Batch(results)) if results.len() == count => results.into_iter().map(Ok).collect(),
            other => {
                let failure = BatchFailure::Malformed(format!("a batch of {count} commands was answered with {other:?}"));
                tracing::error!(?failure, "batched write answered without one result per command");
                vec![Err(failure); count]
            }
        },
        Err(error) => vec![Err(BatchFailure::Raft(error)); count],
    };
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}
