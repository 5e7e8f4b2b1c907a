//! The data path of one route: accept, refuse (blocked host, route full, no destination) with a
//! MySQL ERR packet, connect to the first candidate that answers within `connect_timeout`, watch
//! the handshake's packet heads (bounded by `client_connect_timeout`), then copy bytes both ways
//! until either side closes or the router closes the connection. Owns the sockets only; the
//! choice is `Route::candidates`, the bookkeeping is `Route`'s.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::{TcpListener, TcpStream};

use super::choice::Candidate;
use super::handshake::{codes, error_packet, HandshakeWatch, Verdict};
use super::quarantine::Quarantine;
use super::route::{Connection, Route};
use super::workers::DataPathWorkers;

/// Bytes read at once when copying. Allocated only while a socket has data, so that an idle
/// connection holds no buffer.
const COPY_BUFFER: usize = 16 * 1024;
/// Bytes read at once during the handshake.
const HANDSHAKE_BUFFER: usize = 4 * 1024;

/// Accepts the route's clients until aborted.
/// Each client is handed to one of the data-path threads, which adopts its socket and serves it
/// from there on.
pub(super) async fn serve(
    route: Arc<Route>,
    listener: TcpListener,
    quarantine: Quarantine,
    ids: Arc<AtomicU64>,
    workers: Arc<DataPathWorkers>,
) {
    loop {
        match listener.accept().await.and_then(|(client, source)| Ok((client.into_std()?, source))) {
            Ok((client, source)) => {
                let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
                let (route, quarantine) = (route.clone(), quarantine.clone());
                workers.spawn(async move {
                    match TcpStream::from_std(client) {
                        Ok(client) => handle_client(route, quarantine, client, source, id).await,
                        Err(error) => tracing::warn!(route = route.name(), %error, "adopting a routed client failed"),
                    }
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(route = route.name(), %error, "accepting a client failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handle_client(route: Arc<Route>, quarantine: Quarantine, client: TcpStream, source: SocketAddr, id: u64) {
    let started_at = SystemTime::now();
    let _ = client.set_nodelay(true);
    if route.is_blocked(source.ip()) {
        let message = format!(
            "host {} is blocked on route {} after {} failed handshakes (max_connect_errors)",
            source.ip(),
            route.name(),
            route.checked.config.max_connect_errors
        );
        return refuse(&client, codes::HOST_BLOCKED, &message).await;
    }
    let Some(mut admission) = route.admit() else {
        let message =
            format!("too many connections to route {} (max_connections = {})", route.name(), route.checked.config.max_connections);
        return refuse(&client, codes::TOO_MANY_CONNECTIONS, &message).await;
    };
    let candidates = match route.candidates(&quarantine.snapshot()) {
        Ok(candidates) => candidates,
        Err(reason) => return refuse(&client, codes::NO_DESTINATION, &reason).await,
    };
    let (server, destination) = match connect_first(&route, &quarantine, candidates).await {
        Ok(connected) => connected,
        Err(reason) => return refuse(&client, codes::NO_DESTINATION, &reason).await,
    };
    let _ = server.set_nodelay(true);
    let connection = admission.register(id, source, destination, started_at);
    relay(&route, &client, &server, &connection).await;
}

/// Sends the ERR packet as the first packet and closes.
async fn refuse(client: &TcpStream, code: u16, message: &str) {
    tracing::debug!(code, message, "refusing a routed client");
    let _ = write_all(client, &error_packet(code, message)).await;
}

/// Connects to the first candidate that answers; the others that refuse or time out are
/// quarantined on the way.
async fn connect_first(route: &Route, quarantine: &Quarantine, candidates: Vec<Candidate>) -> Result<(TcpStream, Candidate), String> {
    let timeout = route.checked.config.connect_timeout;
    let mut failures = Vec::new();
    for candidate in candidates {
        match tokio::time::timeout(timeout, TcpStream::connect(&candidate.addr)).await {
            Ok(Ok(server)) => return Ok((server, candidate)),
            Ok(Err(error)) => failures.push(format!("{}: {error}", candidate.addr)),
            Err(_) => failures.push(format!("{}: no answer within {}ms", candidate.addr, timeout.as_millis())),
        }
        quarantine.add(&candidate.addr, timeout);
    }
    let destination = &route.checked.destination;
    Err(format!(
        "cannot connect to any {} of shard {}: {}",
        destination.role.as_str(),
        destination.shard_path(),
        failures.join("; ")
    ))
}

/// How the watched handshake ended.
enum HandshakeEnd {
    /// The packet heads told (see `Verdict`).
    Told(Verdict),
    /// The client hung up, failed or ran out of `client_connect_timeout` first: its failure.
    ClientFailed,
    /// The server hung up or failed first, or the router closed the connection: not the client's.
    Cut,
}

/// The handshake, watched, then the plain copy.
async fn relay(route: &Route, client: &TcpStream, server: &TcpStream, connection: &Connection) {
    let host = connection.source.ip();
    match watch_handshake(route.client_connect_timeout(), client, server, connection).await {
        HandshakeEnd::Told(Verdict::Succeeded) => route.clear_connect_errors(host),
        HandshakeEnd::Told(Verdict::Encrypted | Verdict::ServerRejected) => {}
        HandshakeEnd::Cut => return,
        HandshakeEnd::Told(Verdict::Refused) | HandshakeEnd::ClientFailed => {
            if route.count_connect_error(host) {
                tracing::warn!(route = route.name(), %host, "client host blocked after too many failed handshakes");
            }
            return;
        }
    }
    tokio::select! {
        _ = pump(client, server, &connection.to_server, &connection.last_sent_ms) => {}
        _ = pump(server, client, &connection.from_server, &connection.last_received_ms) => {}
        _ = connection.closed() => {}
    }
}

/// Copies both ways while watching the handshake's packet heads, until they tell how it ended
/// or either side stops. A refused handshake still passes the server's ERR to the client.
async fn watch_handshake(within: Duration, client: &TcpStream, server: &TcpStream, connection: &Connection) -> HandshakeEnd {
    let mut watch = HandshakeWatch::default();
    let mut buffer = vec![0u8; HANDSHAKE_BUFFER];
    let deadline = tokio::time::sleep(within);
    tokio::pin!(deadline);
    loop {
        let verdict = tokio::select! {
            _ = client.readable() => match read_some(client, &mut buffer) {
                Ok(None) => continue,
                Ok(Some(0)) | Err(_) => return HandshakeEnd::ClientFailed,
                Ok(Some(read)) => {
                    if write_all(server, &buffer[..read]).await.is_err() {
                        return HandshakeEnd::Cut;
                    }
                    count(&connection.to_server, &connection.last_sent_ms, read);
                    watch.client_sent(&buffer[..read])
                }
            },
            _ = server.readable() => match read_some(server, &mut buffer) {
                Ok(None) => continue,
                Ok(Some(0)) | Err(_) => return HandshakeEnd::Cut,
                Ok(Some(read)) => {
                    if write_all(client, &buffer[..read]).await.is_err() {
                        return HandshakeEnd::ClientFailed;
                    }
                    count(&connection.from_server, &connection.last_received_ms, read);
                    watch.server_sent(&buffer[..read])
                }
            },
            _ = &mut deadline => return HandshakeEnd::ClientFailed,
            _ = connection.closed() => return HandshakeEnd::Cut,
        };
        if let Some(verdict) = verdict {
            return HandshakeEnd::Told(verdict);
        }
    }
}

/// One read that does not wait: `None` when the readiness was spurious.
fn read_some(from: &TcpStream, buffer: &mut [u8]) -> std::io::Result<Option<usize>> {
    match from.try_read(buffer) {
        Ok(read) => Ok(Some(read)),
        Err(error) if error.kind() == ErrorKind::WouldBlock => Ok(None),
        Err(error) => Err(error),
    }
}

/// Copies `from` to `to` until `from` closes or either fails. The buffer lives only while `from`
/// has data to read.
async fn pump(from: &TcpStream, to: &TcpStream, bytes: &AtomicU64, last_ms: &AtomicI64) -> std::io::Result<()> {
    loop {
        from.readable().await?;
        let mut buffer = vec![0u8; COPY_BUFFER];
        loop {
            match read_some(from, &mut buffer)? {
                None => break,
                Some(0) => return Ok(()),
                Some(read) => {
                    write_all(to, &buffer[..read]).await?;
                    count(bytes, last_ms, read);
                }
            }
        }
    }
}

fn count(bytes: &AtomicU64, last_ms: &AtomicI64, read: usize) {
    bytes.fetch_add(read as u64, Ordering::Relaxed);
    last_ms.store(crate::clock::unix_millis(), Ordering::Relaxed);
}

async fn write_all(to: &TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match to.try_write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => data = &data[written..],
            Err(error) if error.kind() == ErrorKind::WouldBlock => to.writable().await?,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
