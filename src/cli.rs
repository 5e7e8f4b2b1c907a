//! The command line: `shardkeeper serve` with flags that override `SHARDKEEPER_*` environment
//! variables, which override the TOML config file, which overrides the defaults. With no
//! subcommand at all, shardkeeper serves a one-node cluster on the defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};

#[derive(Debug, Parser)]
#[command(name = "shardkeeper", version, about = "raft-replicated control plane for sharded MySQL / MariaDB fleets")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run a shardkeeper node.
    Serve(ServeArgs),
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// TOML config file with the same keys as the flags (snake_case).
    #[arg(long, env = "SHARDKEEPER_CONFIG")]
    pub config: Option<PathBuf>,
    /// This node's raft id (default 1).
    #[arg(long, env = "SHARDKEEPER_NODE_ID")]
    pub node_id: Option<u64>,
    /// REST listen address (default 127.0.0.1:9700).
    #[arg(long, env = "SHARDKEEPER_HTTP_ADDR")]
    pub http_addr: Option<String>,
    /// gRPC listen address for raft and admin (default 127.0.0.1:9800).
    #[arg(long, env = "SHARDKEEPER_GRPC_ADDR")]
    pub grpc_addr: Option<String>,
    /// gRPC address other nodes use to reach this one (default: --grpc-addr).
    #[arg(long, env = "SHARDKEEPER_ADVERTISE_GRPC_ADDR")]
    pub advertise_grpc_addr: Option<String>,
    /// Data directory (default ./shardkeeper-data).
    #[arg(long, env = "SHARDKEEPER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Members of a new cluster: "1=HOST:GRPCPORT,2=...,3=...", the same on every member.
    #[arg(long, env = "SHARDKEEPER_INITIAL_CLUSTER")]
    pub initial_cluster: Option<String>,
    /// gRPC address of a member of a running cluster to join.
    #[arg(long, env = "SHARDKEEPER_JOIN", conflicts_with = "initial_cluster")]
    pub join: Option<String>,
    /// Serve non-loopback addresses even without auth tokens or a cluster secret (docs/security.md).
    #[arg(long, env = "SHARDKEEPER_INSECURE")]
    pub insecure: bool,
}

impl ServeArgs {
    /// Layers these arguments over the config file (if any) and the defaults.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_toml_file(path)?,
            None => Config::default(),
        };
        if let Some(node_id) = self.node_id {
            config.node_id = node_id;
        }
        if let Some(http_addr) = self.http_addr {
            config.http_addr = http_addr;
        }
        if let Some(grpc_addr) = self.grpc_addr {
            config.grpc_addr = grpc_addr;
        }
        if let Some(data_dir) = self.data_dir {
            config.data_dir = data_dir;
        }
        config.advertise_grpc_addr = self.advertise_grpc_addr.or(config.advertise_grpc_addr);
        config.initial_cluster = self.initial_cluster.or(config.initial_cluster);
        config.join = self.join.or(config.join);
        config.insecure |= self.insecure;
        if config.join.is_some() {
            config.initial_cluster = None;
        }
        config.initial_members()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "node_id = 7\nhttp_addr = \"0.0.0.0:1\"\ngrpc_addr = \"0.0.0.0:2\"\n").unwrap();
        let cli = Cli::try_parse_from([
            "shardkeeper",
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--http-addr",
            "127.0.0.1:5",
        ])
        .unwrap();
        let Some(CliCommand::Serve(args)) = cli.command else { panic!("serve expected") };
        let config = args.into_config().unwrap();
        assert_eq!(config.node_id, 7);
        assert_eq!(config.http_addr, "127.0.0.1:5");
        assert_eq!(config.grpc_addr, "0.0.0.0:2");
        assert_eq!(config.initial_members().unwrap().get(&7).map(String::as_str), Some("0.0.0.0:2"));
    }

    #[test]
    fn a_bad_initial_cluster_is_refused_before_starting() {
        let args = ServeArgs { initial_cluster: Some("1=a".to_string()), ..ServeArgs::default() };
        assert!(args.into_config().is_err());
    }
}
