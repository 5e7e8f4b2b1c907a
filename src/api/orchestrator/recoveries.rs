//! `GET /api/v2/recoveries` and `/recoveries/active`: shardkeeper's recovery records (failovers
//! and switchovers) in the shape of orchestrator's `TopologyRecovery`, newest first.
//!
//! Filters: `cluster` (a cluster name, alias or member `host:port`, resolved like `{name}`; it also
//! matches the name a record had when it started, i.e. its old master), `alias` (exact), `page`
//! (0-based, 20 per page, as orchestrator). The view, the filter and the paging are pure.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::catalog::{alias, resolve, ShardTree};
use super::envelope::{ok, V2Error, V2Result};
use super::extract::{V2Consistency, V2Query};
use super::source::recoveries_with_catalog;
use super::views::{format_timestamp, InstanceKey};
use crate::meta::{Recovery, RecoveryKind, RecoveryState};
use crate::service::{MetaService, RecoveryFilter};

/// Recoveries per page, as orchestrator.
pub const PAGE_SIZE: usize = 20;

/// 500 code of these endpoints.
const RECOVERY_LIST_ERROR: &str = "RECOVERY_LIST_ERROR";

/// orchestrator's `ReplicationAnalysis`, the part a recovery record carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnalysisEntry {
    pub analyzed_instance_key: InstanceKey,
    /// orchestrator's analysis code (`DeadMaster`, ...) or `Switchover`.
    pub analysis: String,
    pub description: String,
    pub cluster_details: ClusterDetails,
    pub is_master: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterDetails {
    /// The cluster's name when the recovery started: its master then.
    pub cluster_name: String,
    pub cluster_alias: String,
}

/// orchestrator's `TopologyRecoveryStep`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepView {
    pub audit_at: String,
    pub message: String,
}

/// orchestrator's `TopologyRecovery`, plus shardkeeper's kind, steps and data-loss verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecoveryView {
    #[serde(rename = "Id")]
    pub id: u64,
    #[serde(rename = "UID")]
    pub uid: String,
    #[serde(rename = "AnalysisEntry")]
    pub analysis_entry: AnalysisEntry,
    #[serde(rename = "SuccessorKey")]
    pub successor_key: Option<InstanceKey>,
    #[serde(rename = "SuccessorAlias")]
    pub successor_alias: String,
    #[serde(rename = "IsActive")]
    pub is_active: bool,
    #[serde(rename = "IsSuccessful")]
    pub is_successful: bool,
    #[serde(rename = "LostReplicas")]
    pub lost_replicas: Vec<InstanceKey>,
    #[serde(rename = "AllErrors")]
    pub all_errors: Vec<String>,
    #[serde(rename = "RecoveryStartTimestamp")]
    pub recovery_start_timestamp: String,
    /// Empty while the recovery runs.
    #[serde(rename = "RecoveryEndTimestamp")]
    pub recovery_end_timestamp: String,
    #[serde(rename = "Acknowledged")]
    pub acknowledged: bool,
    #[serde(rename = "AcknowledgedAt")]
    pub acknowledged_at: String,
    #[serde(rename = "AcknowledgedBy")]
    pub acknowledged_by: String,
    #[serde(rename = "AcknowledgedComment")]
    pub acknowledged_comment: String,
    /// `failover` or `switchover`.
    #[serde(rename = "Kind")]
    pub kind: RecoveryKind,
    #[serde(rename = "Steps")]
    pub steps: Vec<StepView>,
    #[serde(rename = "DataLossPossible")]
    pub data_loss_possible: bool,
}

impl RecoveryView {
    pub fn from_record(record: &Recovery) -> RecoveryView {
        let alias = alias(&record.namespace, &record.cluster, record.shard);
        let description = match record.kind {
            RecoveryKind::Failover => format!("failover of shard {alias}: {}", record.finding),
            RecoveryKind::Switchover => format!("planned switchover of shard {alias}"),
        };
        let acknowledged_at = record.acknowledged_at_ms.map(format_timestamp).unwrap_or_default();
        RecoveryView {
            id: record.id,
            uid: format!("{}:{}", record.started_at_ms, record.id),
            analysis_entry: AnalysisEntry {
                analyzed_instance_key: InstanceKey::from_addr(&record.failed_node.addr),
                analysis: analysis_code(&record.finding),
                description,
                cluster_details: ClusterDetails { cluster_name: record.failed_node.addr.clone(), cluster_alias: alias },
                is_master: true,
            },
            successor_key: record.successor.as_ref().map(|successor| InstanceKey::from_addr(&successor.addr)),
            successor_alias: String::new(),
            is_active: record.is_running(),
            is_successful: record.state == RecoveryState::Succeeded,
            lost_replicas: record.lost_replicas.iter().map(|node| InstanceKey::from_addr(&node.addr)).collect(),
            all_errors: record.error.iter().cloned().collect(),
            recovery_start_timestamp: format_timestamp(record.started_at_ms),
            recovery_end_timestamp: record.ended_at_ms.map(format_timestamp).unwrap_or_default(),
            acknowledged: record.acknowledged_by.is_some(),
            acknowledged_at,
            acknowledged_by: record.acknowledged_by.clone().unwrap_or_default(),
            acknowledged_comment: record.acknowledge_comment.clone().unwrap_or_default(),
            kind: record.kind,
            steps: record
                .steps
                .iter()
                .map(|step| StepView { audit_at: format_timestamp(step.at_ms), message: step.text.clone() })
                .collect(),
            data_loss_possible: record.data_loss_possible,
        }
    }
}

/// shardkeeper's finding in orchestrator's words: `DeadPrimary` is `DeadMaster`, and so on.
fn analysis_code(finding: &str) -> String {
    finding.replace("Primary", "Master")
}

/// The query of `/recoveries`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RecoveriesQuery {
    pub cluster: Option<String>,
    pub alias: Option<String>,
    pub page: Option<String>,
}

/// `page`: absent or a non-negative integer.
pub fn parse_page(page: Option<&str>) -> Result<usize, V2Error> {
    let Some(text) = page else { return Ok(0) };
    let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    digits
        .then(|| text.parse::<usize>().ok())
        .flatten()
        .ok_or_else(|| V2Error::bad_request(format!("page {text:?} is not a non-negative integer")))
}

/// Whether `record` passes the `cluster` and `alias` filters; `cluster` resolves through `trees`.
pub fn matches(record: &Recovery, query: &RecoveriesQuery, trees: &[ShardTree]) -> bool {
    let record_alias = alias(&record.namespace, &record.cluster, record.shard);
    let cluster_ok = query.cluster.as_deref().map(str::trim).filter(|hint| !hint.is_empty()).is_none_or(|hint| {
        let resolved = resolve(trees, hint).is_some_and(|tree| tree.alias == record_alias);
        resolved || hint == record.failed_node.addr || hint == record_alias
    });
    let alias_ok = query.alias.as_deref().filter(|alias| !alias.is_empty()).is_none_or(|alias| alias == record_alias);
    cluster_ok && alias_ok
}

/// Page `page` (0-based) of `items`.
pub fn page_of<T>(items: Vec<T>, page: usize) -> Vec<T> {
    items.into_iter().skip(page.saturating_mul(PAGE_SIZE)).take(PAGE_SIZE).collect()
}

/// `GET /api/v2/recoveries[?cluster=...][&alias=...][&page=N]`.
pub(super) async fn list(
    State(service): State<MetaService>,
    V2Consistency(consistency): V2Consistency,
    V2Query(query): V2Query<RecoveriesQuery>,
) -> V2Result {
    let page = parse_page(query.page.as_deref())?;
    let (records, trees) = recoveries_with_catalog(&service, consistency, query.cluster.is_some())
        .await
        .map_err(|error| V2Error::service(error, RECOVERY_LIST_ERROR))?;
    let matching: Vec<RecoveryView> =
        records.iter().filter(|record| matches(record, &query, &trees)).map(RecoveryView::from_record).collect();
    Ok(ok(page_of(matching, page)))
}

/// `GET /api/v2/recoveries/active`: the recoveries still running.
pub(super) async fn active(State(service): State<MetaService>, V2Consistency(consistency): V2Consistency) -> V2Result {
    let filter = RecoveryFilter { running_only: true, ..RecoveryFilter::default() };
    let records = service
        .list_recoveries(&filter, consistency)
        .await
        .map_err(|error| V2Error::service(error, RECOVERY_LIST_ERROR))?;
    Ok(ok(records.iter().map(RecoveryView::from_record).collect::<Vec<_>>()))
}

#[cfg(test)]
#[path = "recoveries_tests.rs"]
mod tests;
