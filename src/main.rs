//! `shardkeeper`: parse the command line, load the config, start tracing, run the node until
//! SIGTERM or Ctrl-C, then shut down gracefully.

use anyhow::Context;
use clap::Parser;
use shardkeeper::cli::{Cli, CliCommand, ServeArgs};
use shardkeeper::server::{self, Listeners};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(CliCommand::Serve(args)) => args,
        None => ServeArgs::default(),
    };
    let config = args.into_config().context("invalid configuration")?;
    let listeners = Listeners::bind(&config).await?;
    let running = server::start(config, listeners).await.context("node failed to start")?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
