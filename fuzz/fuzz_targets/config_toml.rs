//! A node's config file (TOML) as an operator writes it: parsed into `Config`, then checked and
//! derived as a starting node does before it touches a socket or a file (the duration bounds,
//! routes, initial members, raft timings, derived timeouts, tokens given inline, the exposure check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::auth::{check_exposure, Exposure, TokenTable};
use shardkeeper::config::{parse_initial_cluster, Config};
use shardkeeper::raft::openraft_config;
use shardkeeper::router::check_routes;

fuzz_target!(|text: &str| {
    let _ = parse_initial_cluster(text);
    let Ok(mut config) = toml::from_str::<Config>(text) else { return };
    // The node reads these files at start; a fuzz run reads no file.
    config.auth.tokens_file = None;
    let checked = config.check();
    let _ = check_routes(&config.routes);
    let _ = config.initial_members();
    let _ = openraft_config(&config.raft);
    let _ = (config.fleet.db_timeouts(), config.fleet.leader_call_timeout(config.requests.write_timeout));
    let _ = config.raft.restart_hold_off();
    if checked.is_ok() {
        // What a checked config's durations feed: deadlines from now.
        let now = std::time::Instant::now();
        let _ = (now + config.fleet.probe_interval, now + config.fleet.failure_retry_interval);
        let _ = (now + config.fleet.connect_timeout * 2, now + config.raft.restart_hold_off());
    }
    let _ = TokenTable::load(&config.auth);
    if let (Ok(http), Ok(grpc)) = (config.http_addr.parse(), config.grpc_addr.parse()) {
        let tokens = !config.auth.tokens.is_empty();
        let members_authenticated = config.cluster_secret_file.is_some() || config.tls.client_ca_file.is_some();
        let _ = check_exposure(&Exposure { http, grpc, tokens, members_authenticated, insecure: config.insecure });
    }
});
