//! Running one shardkeeper node: storage, raft, the REST and gRPC servers, and graceful shutdown.
//!
//! Listeners are bound by the caller (main binds the configured addresses; tests bind port 0), so
//! that every address is known before the cluster forms.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{check_exposure, ClusterSecret, ClusterSecretError, Exposure, TokenError, TokenTable};
use crate::config::Config;
use crate::node::{Node, NodeError};
use crate::router::Router;
use crate::service::MetaService;
use crate::storage::open_data_dir;
use crate::tls::{load_db_tls, NodeTls, TlsError};

/// How long a joining node keeps asking the cluster to take it.
const JOIN_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error(transparent)]
    Router(#[from] crate::router::RouterError),
    #[error("server i/o failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Tokens(#[from] TokenError),
    #[error(transparent)]
    ClusterSecret(#[from] ClusterSecretError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Non-loopback addresses without credentials and without `insecure`.
    #[error("{0}")]
    Exposed(String),
}

/// The two listeners a node serves on.
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
}

impl Listeners {
    /// Binds the addresses of `config`.
    pub async fn bind(config: &Config) -> Result<Listeners, ServerError> {
        let bind = |addr: String| async move {
            TcpListener::bind(&addr).await.map_err(|source| ServerError::Bind { addr, source })
        };
        Ok(Listeners { http: bind(config.http_addr.clone()).await?, grpc: bind(config.grpc_addr.clone()).await? })
    }
}

/// A node whose servers are running.
pub struct RunningNode {
    pub node: Node,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// This node's MySQL routes (their bound addresses and live figures).
    pub router: Router,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    fleet: crate::failover::Fleet,
    leadership: JoinHandle<()>,
}

/// Starts a node: opens storage, starts raft and both servers, then forms or joins the cluster
/// (a data directory that already holds a cluster just resumes).
pub async fn start(config: Config, listeners: Listeners) -> Result<RunningNode, ServerError> {
    config.check()?;
    let tokens = Arc::new(TokenTable::load(&config.auth)?);
    let cluster_secret = ClusterSecret::load(config.cluster_secret_file.as_deref())?;
    crate::tls::install_crypto_provider();
    let tls = NodeTls::load(&config.tls)?;
    let db_tls = load_db_tls(&config.fleet.tls)?;
    let http_addr = listeners.http.local_addr()?;
    let grpc_addr = listeners.grpc.local_addr()?;
    let exposure = Exposure {
        http: http_addr,
        grpc: grpc_addr,
        tokens: tokens.is_enabled(),
        members_authenticated: cluster_secret.is_some() || tls.as_ref().is_some_and(NodeTls::is_mutual),
        insecure: config.insecure,
    };
    for notice in check_exposure(&exposure).map_err(ServerError::Exposed)? {
        tracing::warn!(node_id = config.node_id, "{notice}");
    }
    crate::router::check_routes(&config.routes).map_err(crate::router::RouterError::from)?;
    let storage = open_data_dir(&config.data_dir, config.secrets.key_file.as_deref()).map_err(NodeError::from)?;
    let node = Node::start(&config, storage, cluster_secret, tls.as_ref().map(NodeTls::member_client)).await?;
    if config.join.is_none() {
        node.claim_identity(&config.initial_members()?).await?;
    }
    let fleet = crate::failover::Fleet::new(node.clone(), config.fleet.clone(), db_tls);
    let leadership = tokio::spawn(fleet.clone().follow_leadership());
    let router = Router::start(node.clone(), fleet.clone(), &config.routes).await?;
    let service = MetaService::new(node.clone(), fleet.clone(), router.clone(), &config);
    router.follow_leader_observations(leader_observations_through(service.clone()));
    let (stop, stopped) = watch::channel(false);

    let grpc_service = service.clone();
    let grpc_stopped = wait_for_stop(stopped.clone());
    let grpc_tokens = tokens.clone();
    let limits = config.limits.clone();
    let grpc_tls = tls.clone();
    let grpc = tokio::spawn(async move {
        let served =
            crate::admin_grpc::serve(listeners.grpc, grpc_service, grpc_tokens, &limits, grpc_tls, grpc_stopped);
        if let Err(error) = served.await {
            tracing::error!(%error, "grpc server failed");
        }
    });
    let http_stopped = wait_for_stop(stopped);
    let auth = crate::api::HttpAuth { tokens, protect_metrics: config.auth.protect_metrics };
    let http_app = crate::api::router(service, auth);
    let limits = config.limits.clone();
    let http_tls = tls.as_ref().map(NodeTls::rest_acceptor);
    let http =
        tokio::spawn(async move { crate::api::serve(listeners.http, http_app, &limits, http_tls, http_stopped).await });
    tracing::info!(node_id = config.node_id, %http_addr, %grpc_addr, tls = tls.is_some(), "node serving");

    match &config.join {
        Some(target) => node.join(target, config.advertised_grpc_addr(), JOIN_WAIT).await?,
        None => node.bootstrap(config.initial_members()?).await?,
    }
    Ok(RunningNode { node, http_addr, grpc_addr, router, stop, servers: vec![grpc, http], fleet, leadership })
}

/// The router's way to the leader's observations: the service layer's leader call.
fn leader_observations_through(service: MetaService) -> crate::router::FetchObservations {
    std::sync::Arc::new(move |node_ids| {
        let service = service.clone();
        Box::pin(async move { service.observations_of(node_ids).await.map_err(|error| error.to_string()) })
    })
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

impl RunningNode {
    /// Graceful stop: stop accepting, let in-flight requests finish, stop raft.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.stop_fleet();
        for server in self.servers {
            let _ = server.await;
        }
        self.node.shutdown().await;
        tracing::info!(node_id = self.node.id(), "node stopped");
    }

    /// Stops the routes and the leader-only tasks: no routed connection, probe or repair outlives
    /// the node.
    fn stop_fleet(&self) {
        self.router.stop();
        self.leadership.abort();
        self.fleet.stop();
    }

    /// Abrupt stop for crash tests: servers are aborted mid-flight and raft stops without a
    /// graceful hand-off. Acknowledged writes are on disk already.
    pub async fn crash(self) {
        self.stop_fleet();
        for server in &self.servers {
            server.abort();
        }
        self.node.shutdown().await;
    }
}
