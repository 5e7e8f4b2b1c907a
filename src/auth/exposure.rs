//! The safe default: a node without credentials serves loopback only. Binding another address
//! without tokens (REST, and the public Admin gRPC service) or without a members' credential (a
//! cluster secret or mutual TLS, for the members' gRPC services) is refused unless the operator says `insecure` explicitly. Pure.

use std::net::SocketAddr;

/// What the node is about to serve with.
#[derive(Clone, Copy, Debug)]
pub struct Exposure {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub tokens: bool,
    /// Members-only calls need a cluster secret or a cluster client certificate.
    pub members_authenticated: bool,
    pub insecure: bool,
}

/// The notices to log at start, or why the node must not start.
pub fn check_exposure(exposure: &Exposure) -> Result<Vec<String>, String> {
    let mut notices = Vec::new();
    let mut unprotected = Vec::new();
    if !exposure.http.ip().is_loopback() && !exposure.tokens {
        unprotected.push(format!("REST on {} without auth tokens", exposure.http));
    }
    if !exposure.grpc.ip().is_loopback() && !exposure.tokens {
        unprotected.push(format!("gRPC on {} without auth tokens", exposure.grpc));
    }
    if !exposure.grpc.ip().is_loopback() && !exposure.members_authenticated {
        unprotected.push(format!("gRPC on {} without a cluster_secret_file or [tls] client_ca_file", exposure.grpc));
    }
    if !unprotected.is_empty() {
        let what = unprotected.join(", ");
        if !exposure.insecure {
            return Err(format!(
                "refusing to serve {what}: anyone who reaches these ports could change the fleet; configure \
                 [[auth.tokens]] and cluster_secret_file or mutual TLS (docs/security.md), bind 127.0.0.1, or pass --insecure"
            ));
        }
        notices.push(format!("insecure: serving {what} because insecure is set; anyone who reaches it may do anything"));
    }
    if !exposure.tokens {
        notices.push("authentication is off (no auth tokens configured); everything is allowed".to_string());
    }
    if !exposure.members_authenticated {
        notices.push("members-only gRPC is unauthenticated (no cluster_secret_file, no [tls] client_ca_file)".to_string());
    }
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure(http: &str, grpc: &str, tokens: bool, members_authenticated: bool, insecure: bool) -> Exposure {
        Exposure { http: http.parse().unwrap(), grpc: grpc.parse().unwrap(), tokens, members_authenticated, insecure }
    }

    #[test]
    fn only_loopback_or_credentials_or_insecure_may_start() {
        let loopback = "127.0.0.1:9700";
        let loopback_grpc = "[::1]:9800";
        let any = "0.0.0.0:9700";
        let cases = [
            (loopback, loopback_grpc, false, false, false, true),
            (any, loopback_grpc, false, false, false, false),
            (any, loopback_grpc, true, false, false, true),
            (loopback, "0.0.0.0:9800", true, false, false, false),
            (loopback, "0.0.0.0:9800", false, true, false, false),
            (loopback, "0.0.0.0:9800", true, true, false, true),
            (any, "10.0.0.1:9800", false, false, true, true),
        ];
        for (http, grpc, tokens, secret, insecure, starts) in cases {
            let outcome = check_exposure(&exposure(http, grpc, tokens, secret, insecure));
            assert_eq!(outcome.is_ok(), starts, "{http} {grpc} tokens={tokens} secret={secret} insecure={insecure}: {outcome:?}");
        }
        let refusal = check_exposure(&exposure(any, loopback_grpc, false, false, false)).unwrap_err();
        assert!(refusal.contains("0.0.0.0:9700") && refusal.contains("--insecure"), "{refusal}");
        let notices = check_exposure(&exposure(any, loopback_grpc, false, false, true)).unwrap();
        assert!(notices[0].starts_with("insecure:"), "{notices:?}");
    }
}
