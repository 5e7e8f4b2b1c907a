//! Request bodies of the MaxScale flavor: a JSON:API server document (`data.id`, `data.type`,
//! `data.attributes.parameters`, `data.relationships.{services,monitors}.data`) turned into the
//! service's `NewServer` / `ServerPatch`. Pure. Every refusal is a 403 with a detail that names the
//! field, as MaxScale answers an invalid body.
//!
//! Parameters understood: `address`, `port`, `protocol` (only MariaDB's / MySQL's backend
//! protocol) and shardkeeper's `shard` (the shard index inside the monitor's cluster, default 0).
//! Any other parameter is refused: shardkeeper has no server weights or TLS settings per server.

use serde_json::{Map, Value};

use super::envelope::MaxError;
use crate::service::{NewServer, ServerPatch};

/// The parts of a server document shardkeeper reads.
#[derive(Debug, Default, PartialEq)]
pub struct ServerBody {
    pub id: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub shard: Option<usize>,
    pub monitors: Option<Vec<String>>,
    pub services: Option<Vec<String>>,
}

pub fn parse_server_body(bytes: &[u8]) -> Result<ServerBody, MaxError> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|error| MaxError::forbidden(format!("request body is not valid json: {error}")))?;
    let data = document.get("data").and_then(Value::as_object).ok_or_else(|| MaxError::forbidden("request body has no \"data\" object"))?;
    let mut body = ServerBody { id: optional_string(data, "id", "data.id")?, ..ServerBody::default() };
    match data.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "servers" => {}
        Some(other) => return Err(MaxError::forbidden(format!("data.type must be \"servers\", got {other}"))),
    }
    if let Some(attributes) = object_at(data, "attributes", "data.attributes")? {
        if let Some(parameters) = object_at(attributes, "parameters", "data.attributes.parameters")? {
            read_parameters(parameters, &mut body)?;
        }
    }
    if let Some(relationships) = object_at(data, "relationships", "data.relationships")? {
        body.services = relationship_ids(relationships, "services")?;
        body.monitors = relationship_ids(relationships, "monitors")?;
    }
    Ok(body)
}

fn read_parameters(parameters: &Map<String, Value>, body: &mut ServerBody) -> Result<(), MaxError> {
    for (name, value) in parameters {
        let field = format!("parameter {name:?}");
        match name.as_str() {
            "address" => body.address = Some(string(value, &field)?.to_string()),
            "port" => {
                let port = value.as_u64().and_then(|port| u16::try_from(port).ok()).filter(|port| *port > 0);
                body.port = Some(port.ok_or_else(|| MaxError::forbidden(format!("{field} must be a number in 1..=65535, got {value}")))?);
            }
            "shard" => {
                let shard = value.as_u64().and_then(|shard| usize::try_from(shard).ok());
                body.shard = Some(shard.ok_or_else(|| MaxError::forbidden(format!("{field} must be a shard index, got {value}")))?);
            }
            "protocol" => {
                let protocol = string(value, &field)?;
                if !["mariadbbackend", "mysqlbackend", "mariadb"].contains(&protocol.to_ascii_lowercase().as_str()) {
                    return Err(MaxError::forbidden(format!("{field} {protocol:?} is not supported; shardkeeper serves MariaDBBackend only")));
                }
            }
            _ => return Err(MaxError::forbidden(format!("{field} is not supported; supported: address, port, protocol, shard"))),
        }
    }
    Ok(())
}

/// The ids of `relationships.<kind>.data`, when given.
fn relationship_ids(relationships: &Map<String, Value>, kind: &str) -> Result<Option<Vec<String>>, MaxError> {
    let path = format!("data.relationships.{kind}");
    let Some(relationship) = object_at(relationships, kind, &path)? else { return Ok(None) };
    let Some(data) = relationship.get("data") else { return Ok(None) };
    let entries = data.as_array().ok_or_else(|| MaxError::forbidden(format!("{path}.data must be an array")))?;
    entries
        .iter()
        .map(|entry| {
            let id = entry.get("id").and_then(Value::as_str);
            let kind_matches = entry.get("type").is_none_or(|t| t.as_str() == Some(kind));
            match id {
                Some(id) if kind_matches => Ok(id.to_string()),
                _ => Err(MaxError::forbidden(format!("{path}.data entries must be {{\"id\": \"...\", \"type\": \"{kind}\"}}, got {entry}"))),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn object_at<'a>(parent: &'a Map<String, Value>, key: &str, path: &str) -> Result<Option<&'a Map<String, Value>>, MaxError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(other) => Err(MaxError::forbidden(format!("{path} must be an object, got {other}"))),
    }
}

fn optional_string(parent: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, MaxError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => string(value, path).map(|text| Some(text.to_string())),
    }
}

fn string<'a>(value: &'a Value, what: &str) -> Result<&'a str, MaxError> {
    value.as_str().ok_or_else(|| MaxError::forbidden(format!("{what} must be a string, got {value}")))
}

impl ServerBody {
    /// A POST: `data.id`, `address` and `port` are required; at most one monitor.
    pub fn into_new_server(self) -> Result<NewServer, MaxError> {
        let name = self.id.ok_or_else(|| MaxError::forbidden("data.id (the server name) is required"))?;
        let host = self.address.ok_or_else(|| MaxError::forbidden("parameter \"address\" is required"))?;
        let port = self.port.ok_or_else(|| MaxError::forbidden("parameter \"port\" is required"))?;
        Ok(NewServer { name, host, port, cluster: single_monitor(self.monitors)?, shard: self.shard.unwrap_or(0), services: self.services })
    }

    /// A PATCH: only what is given changes. A `data.id` other than the path's name renames.
    pub fn into_patch(self) -> Result<ServerPatch, MaxError> {
        if self.shard.is_some() {
            return Err(MaxError::forbidden("parameter \"shard\" cannot be changed: delete the server and create it in the other shard"));
        }
        Ok(ServerPatch { name: self.id, host: self.address, port: self.port, cluster: single_monitor(self.monitors)?, services: self.services })
    }
}

fn single_monitor(monitors: Option<Vec<String>>) -> Result<Option<String>, MaxError> {
    match monitors.as_deref() {
        None | Some([]) => Ok(None),
        Some([monitor]) => Ok(Some(monitor.clone())),
        Some(_) => Err(MaxError::forbidden("a server belongs to exactly one monitor (its cluster, as namespace.cluster)")),
    }
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
