//! The supervisor (leader only): every `repair_interval` it syncs the prober with metadata (copied
//! only when something new was applied), analyses every cluster, and starts at most one piece of work per shard: resuming a recovery a
//! previous leader left running, an automatic failover, or the repairs of a healthy shard.

use std::collections::HashMap;
use std::time::Instant;

use super::executor::ShardTarget;
use super::planner::{choose_candidate, plan_repairs, should_fail_over};
use super::{Fleet, ShardKey};
use crate::health::{analyze_cluster, FindingKind, Prober};
use crate::meta::{MetaState, RecoveryKind};

/// Runs until aborted (when this node stops being leader).
pub(super) async fn supervise(fleet: Fleet) {
    let mut prober = Prober::new(fleet.clients.clone(), fleet.observations.clone(), &fleet.config);
    let mut attempts: HashMap<(String, String), Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(fleet.config.repair_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen: Option<(u64, MetaState)> = None;
    loop {
        ticker.tick().await;
        let applied = fleet.node.reader().applied_index();
        if seen.as_ref().is_none_or(|(index, _)| *index != applied) {
            let state = fleet.node.reader().snapshot();
            prober.sync(&state);
            seen = Some((applied, state));
        }
        if let Some((_, state)) = &seen {
            supervise_once(&fleet, state, &mut attempts);
        }
    }
}

fn supervise_once(fleet: &Fleet, state: &MetaState, attempts: &mut HashMap<(String, String), Instant>) {
    let observations = fleet.observations.snapshot();
    let now_ms = crate::clock::unix_millis();
    let backoff = fleet.config.repair_backoff;
    attempts.retain(|_, at| at.elapsed() < backoff);
    for (namespace, cluster) in state.namespaces.iter().flat_map(|(name, ns)| ns.clusters.values().map(move |c| (name, c))) {
        let health = analyze_cluster(cluster, &observations);
        for shard_health in health {
            let index = shard_health.shard;
            let key = ShardKey::new(namespace, &cluster.name, index);
            if fleet.locks.is_busy(&key) {
                continue;
            }
            let target = ShardTarget { namespace: namespace.clone(), cluster: cluster.clone(), shard: index };
            let shard = &cluster.shards[index];
            if let Some(running) = state.running_recovery(namespace, &cluster.name, index) {
                let running = running.clone();
                fleet.spawn_locked(key, move |fleet: Fleet| async move {
                    if let Err(error) = fleet.executor.resume(&target, &running).await {
                        tracing::error!(recovery_id = running.id, %error, "resuming a recovery failed");
                    }
                });
                continue;
            }
            let last = state.last_recovery(namespace, &cluster.name, index);
            if should_fail_over(&shard_health, &cluster.policy, last, now_ms) {
                match choose_candidate(shard, &observations, &cluster.policy, None, false) {
                    Ok(candidate) => fleet.spawn_locked(key, move |fleet: Fleet| async move {
                        let finding = format!("{:?}", FindingKind::DeadPrimary);
                        let outcome =
                            fleet.executor.start_recovery(&target, RecoveryKind::Failover, &finding, &candidate).await;
                        if let Err(error) = outcome {
                            tracing::error!(shard = index, %error, "automatic failover failed");
                        }
                    }),
                    Err(reason) => {
                        let attempt = (key.to_string(), "no-candidate".to_string());
                        if !attempts.contains_key(&attempt) {
                            tracing::error!(shard = %key, %reason, "dead master but no replica can be promoted");
                            attempts.insert(attempt, Instant::now());
                        }
                    }
                }
                continue;
            }
            let repairs: Vec<_> = plan_repairs(shard, &observations, &cluster.policy)
                .into_iter()
                .filter(|repair| !attempts.contains_key(&(key.to_string(), repair.describe())))
                .collect();
            if repairs.is_empty() {
                continue;
            }
            for repair in &repairs {
                attempts.insert((key.to_string(), repair.describe()), Instant::now());
            }
            fleet.spawn_locked(key, move |fleet: Fleet| async move {
                for repair in repairs {
                    match fleet.executor.repair(&target, &repair).await {
                        Ok(()) => tracing::info!(repair = %repair.describe(), "repaired"),
                        Err(error) => tracing::warn!(repair = %repair.describe(), %error, "repair failed"),
                    }
                }
            });
        }
    }
}
