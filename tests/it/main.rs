//! One integration binary: multi-node clusters over real sockets, in-process and as processes.

mod api_maxscale;
mod api_mysql_router;
mod api_native;
mod api_orchestrator;
mod auth;
mod certs;
mod cluster;
mod failover;
mod grpc_admin;
mod harness;
mod import;
mod mariadb;
mod mariadb_harness_tests;
mod mysql_client;
mod router;
mod secrets;
mod tls;
