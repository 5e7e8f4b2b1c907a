//! Slot migration: `POST .../clusters/{cluster}/migrate`.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;

use super::ClusterPath;
use crate::api::envelope::{done, with_version, ApiError, ApiResult};
use crate::api::extract::{IfMatch, JsonBody, PathParams};
use crate::meta::SlotRange;
use crate::service::MetaService;

/// `slot` is a number (`123`) or a string (`"123"`, `"0-99"`); `slot_only` is a boolean or the
/// string `"true"` / `"false"` (kvrocks sends a string), default false.
#[derive(Deserialize)]
pub(super) struct MigrateBody {
    target: usize,
    slot: Value,
    #[serde(default)]
    slot_only: Option<Value>,
}

impl MigrateBody {
    pub(super) fn slots(&self) -> Result<SlotRange, ApiError> {
        let text = match &self.slot {
            Value::Number(number) => number.to_string(),
            Value::String(text) => text.clone(),
            other => {
                return Err(ApiError::invalid(format!(
                    "slot must be a slot number such as 123 or a range such as \"0-99\", got {other}"
                )))
            }
        };
        text.parse::<SlotRange>().map_err(|error| ApiError::invalid(format!("invalid slot: {error}")))
    }

    pub(super) fn slot_only(&self) -> Result<bool, ApiError> {
        match &self.slot_only {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!("slot_only must be true or false, got {other}"))),
        }
    }
}

/// Moves `slot` to shard `target` → `"ok"`, `ETag` = the cluster version after it; honours `If-Match`.
pub(super) async fn migrate(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    IfMatch(expected_version): IfMatch,
    JsonBody(body): JsonBody<MigrateBody>,
) -> ApiResult {
    let slots = body.slots()?;
    let slot_only = body.slot_only()?;
    let version = service.migrate_slots(path.target(), body.target, slots, slot_only, expected_version).await?;
    Ok(with_version(done(), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: Value) -> MigrateBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn slot_takes_numbers_and_range_strings() {
        let good = [
            (serde_json::json!(5), "5"),
            (serde_json::json!("5"), "5"),
            (serde_json::json!("0-99"), "0-99"),
            (serde_json::json!(16383), "16383"),
        ];
        for (slot, expected) in good {
            let parsed = body(serde_json::json!({"target": 1, "slot": slot})).slots().unwrap();
            assert_eq!(parsed.to_string(), expected);
        }
        let bad = [
            serde_json::json!(16384),
            serde_json::json!(-1),
            serde_json::json!("5-2"),
            serde_json::json!("x"),
            serde_json::json!(1.5),
            serde_json::json!(null),
            serde_json::json!([1]),
        ];
        for slot in bad {
            let error = body(serde_json::json!({"target": 1, "slot": slot.clone()})).slots().unwrap_err();
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST, "{slot}");
            assert!(error.message().contains("slot"), "{slot}: {}", error.message());
        }
    }

    #[test]
    fn slot_only_takes_booleans_and_their_strings() {
        let cases = [
            (serde_json::json!({"target": 1, "slot": 1}), Some(false)),
            (serde_json::json!({"target": 1, "slot": 1, "slot_only": true}), Some(true)),
            (serde_json::json!({"target": 1, "slot": 1, "slot_only": "true"}), Some(true)),
            (serde_json::json!({"target": 1, "slot": 1, "slot_only": "false"}), Some(false)),
            (serde_json::json!({"target": 1, "slot": 1, "slot_only": false}), Some(false)),
            (serde_json::json!({"target": 1, "slot": 1, "slot_only": "yes"}), None),
            (serde_json::json!({"target": 1, "slot": 1, "slot_only": 1}), None),
        ];
        for (json, expected) in cases {
            assert_eq!(body(json.clone()).slot_only().ok(), expected, "{json}");
        }
    }
}
