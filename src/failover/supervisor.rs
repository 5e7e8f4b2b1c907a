//! The supervisor (leader only): every `repair_interval` it syncs the prober with the fleet's view
//! of the metadata (copied only when a new entry changed it), analyses the shards whose metadata or evidence changed
//! or that still had something to do (see `dirty`), and starts at most one piece of work per
//! shard: resuming a recovery a previous leader left running, an automatic failover, or the
//! repairs of a healthy shard. A pass yields to the probe tasks every few shards and an overdue
//! tick is skipped, never run back to back, so the supervisor cannot starve the prober.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::dirty::DirtyShards;
use super::executor::ShardTarget;
use super::planner::{choose_candidate, plan_repairs, should_fail_over};
use super::{Fleet, ShardKey};
use crate::health::{analyze_shard_at, FindingKind, NodeObservation, Prober};
use crate::meta::{Cluster, MetaState, RecoveryKind};

/// Shards a pass analyses between two yields to the other tasks.
const SHARDS_PER_YIELD: usize = 64;

/// Repairs recently tried, by (shard, repair), so a failing one waits `repair_backoff`.
type Attempts = HashMap<(String, String), Instant>;

/// Runs until aborted (when this node stops being leader).
pub(super) async fn supervise(fleet: Fleet) {
    let mut prober = Prober::new(fleet.clients.clone(), fleet.observations.clone(), &fleet.config);
    let mut attempts = Attempts::new();
    let mut dirty = DirtyShards::default();
    let mut ticker = tokio::time::interval(fleet.config.repair_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The fleet's view of the metadata and the applied index it was last checked at.
    let mut seen: Option<(u64, MetaState)> = None;
    loop {
        ticker.tick().await;
        let applied = fleet.node.reader().applied_index();
        if seen.as_ref().is_none_or(|(index, _)| *index != applied) {
            let (index, view) = fleet.node.reader().read(|now| {
                let index = now.last_applied.map_or(0, |log_id| log_id.index);
                let unchanged = seen.as_ref().is_some_and(|(_, view)| now.meta.has_fleet_view(view));
                (index, (!unchanged).then(|| now.meta.fleet_view()))
            });
            match view {
                Some(view) => {
                    prober.sync(&view);
                    dirty.reset(&view);
                    seen = Some((index, view));
                }
                None => {
                    if let Some((seen_index, _)) = &mut seen {
                        *seen_index = index;
                    }
                }
            }
        }
        if let Some((_, state)) = &seen {
            dirty.mark_nodes(fleet.observations.take_changed());
            supervise_once(&fleet, state, &mut dirty, &mut attempts).await;
        }
    }
}

async fn supervise_once(fleet: &Fleet, state: &MetaState, dirty: &mut DirtyShards, attempts: &mut Attempts) {
    let shards: Vec<(ShardKey, &Cluster)> = dirty
        .take()
        .into_iter()
        .filter_map(|key| {
            let cluster = state.cluster(&key.namespace, &key.cluster)?;
            (key.shard < cluster.shards.len()).then_some((key, cluster))
        })
        .collect();
    if shards.is_empty() {
        return;
    }
    let node_ids = shards.iter().flat_map(|(key, cluster)| cluster.shards[key.shard].nodes.iter().map(|node| node.id.as_str()));
    let observations = fleet.observations.of_nodes(node_ids);
    let now_ms = crate::clock::unix_millis();
    let backoff = fleet.config.repair_backoff;
    attempts.retain(|_, at| at.elapsed() < backoff);
    for (done, (key, cluster)) in shards.into_iter().enumerate() {
        if done > 0 && done % SHARDS_PER_YIELD == 0 {
            tokio::task::yield_now().await;
        }
        if !supervise_shard(fleet, state, cluster, &key, &observations, attempts, now_ms) {
            dirty.keep(key);
        }
    }
}

/// Analyses one shard and starts its work, if any. Answers whether the shard is settled: healthy,
/// idle and with nothing to repair, so that passes may skip it until its metadata or evidence
/// changes. Anything else (a finding, work in flight, a repair in its backoff) is looked at again
/// next pass, exactly as if every shard were analysed on every pass.
fn supervise_shard(
    fleet: &Fleet,
    state: &MetaState,
    cluster: &Cluster,
    key: &ShardKey,
    observations: &HashMap<String, NodeObservation>,
    attempts: &mut Attempts,
    now_ms: i64,
) -> bool {
    if fleet.locks.is_busy(key) {
        return false;
    }
    let (namespace, index) = (&key.namespace, key.shard);
    let shard_health = analyze_shard_at(cluster, index, observations);
    let shard = &cluster.shards[index];
    // Built only when work is spawned: a copy of the cluster, shared by the work's steps.
    let target = || ShardTarget { namespace: namespace.clone(), cluster: Arc::new(cluster.clone()), shard: index };
    if let Some(running) = state.running_recovery(namespace, &cluster.name, index) {
        let (running, target) = (running.clone(), target());
        fleet.spawn_locked(key.clone(), move |fleet: Fleet| async move {
            if let Err(error) = fleet.executor.resume(&target, &running).await {
                tracing::error!(recovery_id = running.id, %error, "resuming a recovery failed");
            }
        });
        return false;
    }
    let last = state.last_recovery(namespace, &cluster.name, index);
    if should_fail_over(&shard_health, &cluster.policy, last, now_ms) {
        match choose_candidate(shard, observations, &cluster.policy, None, false) {
            Ok(candidate) => {
                let target = target();
                fleet.spawn_locked(key.clone(), move |fleet: Fleet| async move {
                    let finding = format!("{:?}", FindingKind::DeadPrimary);
                    let outcome = fleet.executor.start_recovery(&target, RecoveryKind::Failover, &finding, &candidate).await;
                    if let Err(error) = outcome {
                        tracing::error!(shard = index, %error, "automatic failover failed");
                    }
                });
            }
            Err(reason) => {
                if let Entry::Vacant(attempt) = attempts.entry((key.to_string(), "no-candidate".to_string())) {
                    tracing::error!(shard = %key, %reason, "dead master but no replica can be promoted");
                    attempt.insert(Instant::now());
                }
            }
        }
        return false;
    }
    let planned = plan_repairs(shard, observations, &cluster.policy);
    if planned.is_empty() {
        return shard_health.findings.iter().all(|finding| finding.kind == FindingKind::AllHealthy);
    }
    let repairs: Vec<_> =
        planned.into_iter().filter(|repair| !attempts.contains_key(&(key.to_string(), repair.describe()))).collect();
    if repairs.is_empty() {
        return false;
    }
    for repair in &repairs {
        attempts.insert((key.to_string(), repair.describe()), Instant::now());
    }
    let target = target();
    fleet.spawn_locked(key.clone(), move |fleet: Fleet| async move {
        for repair in repairs {
            match fleet.executor.repair(&target, &repair).await {
                Ok(()) => tracing::info!(repair = %repair.describe(), "repaired"),
                Err(error) => tracing::warn!(repair = %repair.describe(), %error, "repair failed"),
            }
        }
    });
    false
}
