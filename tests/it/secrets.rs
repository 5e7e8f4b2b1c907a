//! Secrets at rest: with a key file, no byte of a database password reaches the data directory
//! (raft log, snapshot) or the log output, the directory is private, a restart with the key reads
//! the password back, and a restart without the key, or with a wrong one, refuses to start.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::harness::{eventually, post_json, TestCluster};

const ADMIN_PASSWORD: &str = "Zebra-Admin-Pw-7f3a9c";
const REPLICATION_PASSWORD: &str = "Quokka-Repl-Pw-2b8e41";
const OLD_KEY: &str = "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
const NEW_KEY: &str = "k2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";
const WRONG_KEY: &str = "k1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";

/// Everything the nodes logged on this test's thread.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_key_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Every file under `dir`; asserts each directory is 0700 and each file 0600 on the way.
fn private_files(dir: &Path) -> Vec<PathBuf> {
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{} is a private directory", dir.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(private_files(&path));
        } else {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is a private file", path.display());
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// Snapshots every running node and waits until each snapshot covers what it had applied.
async fn snapshot_every_node(cluster: &TestCluster) {
    for index in (0..cluster.size()).filter(|index| cluster.is_running(*index)) {
        let raft = cluster.running(index).node.raft().clone();
        let applied = raft.metrics().borrow().last_applied.map_or(0, |log_id| log_id.index);
        raft.trigger().snapshot().await.expect("snapshot triggered");
        eventually("the snapshot is built", Duration::from_secs(20), || {
            let snapshot = raft.metrics().borrow().snapshot;
            async move { snapshot.filter(|log_id| log_id.index >= applied).map(drop) }
        })
        .await;
    }
}

/// Restarts the crashed node `index` with `key_file`; answers why it did not start. Waits out
/// sled's lock on the data directory, which the crashed node's last tasks release a moment later.
async fn restart_with_key(cluster: &mut TestCluster, index: usize, key_file: Option<PathBuf>) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let key_file = key_file.clone();
        let outcome = cluster.try_restart_with(index, |config| config.secrets.key_file = key_file).await;
        match outcome.map_err(|error| error.to_string()) {
            Err(error) if error.contains("could not acquire lock") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            outcome => return outcome,
        }
    }
}

fn stored_password(cluster: &TestCluster, index: usize) -> Option<String> {
    cluster.running(index).node.reader().read(|applied| {
        applied.meta.cluster("ns1", "c1").map(|found| found.credentials.password.expose().to_string())
    })
}

#[tokio::test]
async fn passwords_are_sealed_at_rest_and_a_node_without_the_key_refuses_to_start() {
    let captured = CapturedLog::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let keys = tempfile::tempdir().unwrap();
    let key_file = write_key_file(keys.path(), "keys", OLD_KEY);
    let mut cluster = TestCluster::start_with(3, |config| {
        config.secrets.key_file = Some(key_file.clone());
        config.raft.snapshot_logs = 5;
    })
    .await;
    let url = cluster.url(cluster.leader_index().await);
    let (status, _) = post_json(&format!("{url}/api/v1/namespaces"), json!({"namespace": "ns1"})).await;
    assert_eq!(status, 201);
    let create = json!({
        "name": "c1",
        "nodes": ["db1.example:3306", "db2.example:3306"],
        "replicas": 2,
        "password": ADMIN_PASSWORD,
        "replication_password": REPLICATION_PASSWORD,
    });
    let (status, body) = post_json(&format!("{url}/api/v1/namespaces/ns1/clusters"), create).await;
    assert_eq!(status, 201, "{body}");
    for index in 0..cluster.size() {
        eventually("the cluster is applied everywhere", Duration::from_secs(20), || async {
            stored_password(&cluster, index).map(drop)
        })
        .await;
    }
    snapshot_every_node(&cluster).await;

    // A copied data directory shows no password: not in sled's files, not in the snapshot.
    let mut searched = 0;
    for index in 0..cluster.size() {
        let data_dir = cluster.config(index).data_dir.clone();
        let files = private_files(&data_dir);
        assert!(files.iter().any(|file| file.ends_with("metadata-snapshot")), "a snapshot was written");
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            for password in [ADMIN_PASSWORD, REPLICATION_PASSWORD] {
                assert!(!contains(&bytes, password), "{} holds a password", file.display());
            }
            searched += bytes.len();
        }
        let snapshot = std::fs::read(data_dir.join("raft").join("metadata-snapshot")).unwrap();
        assert!(contains(&snapshot, "\"sealed_with\":\"k1\""), "the snapshot holds sealed passwords");
    }
    assert!(searched > 0);

    // A restart without the key, or with a wrong key under the same id, refuses to start and
    // names the key; with the key the node reads the exact password back.
    let restarted = cluster.follower_index().await;
    cluster.crash(restarted).await;
    let refused = restart_with_key(&mut cluster, restarted, None).await.err();
    let refused = refused.expect("a node without the key refuses to start");
    assert!(refused.contains("sealed with key \"k1\"") && refused.contains("no secrets.key_file"), "{refused}");
    let wrong_key = write_key_file(keys.path(), "wrong", WRONG_KEY);
    let refused = restart_with_key(&mut cluster, restarted, Some(wrong_key)).await.err();
    let refused = refused.expect("a node with a wrong key refuses to start");
    assert!(refused.contains("sealed with key \"k1\" does not open"), "{refused}");
    let loose = write_key_file(keys.path(), "loose", OLD_KEY);
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = restart_with_key(&mut cluster, restarted, Some(loose)).await.err();
    assert!(refused.expect("a loose key file is refused").contains("readable by group or others"));

    // Rotation: the new key first, the old one after it; the next snapshot seals with the new key.
    let rotated = write_key_file(keys.path(), "rotated", &format!("{NEW_KEY}{OLD_KEY}"));
    restart_with_key(&mut cluster, restarted, Some(rotated)).await.expect("restarts with the rotated key file");
    assert_eq!(stored_password(&cluster, restarted).as_deref(), Some(ADMIN_PASSWORD));
    // One more entry, so that every member's next snapshot is a new one.
    let url = cluster.url(cluster.leader_index().await);
    let (status, _) = post_json(&format!("{url}/api/v1/namespaces"), json!({"namespace": "ns2"})).await;
    assert_eq!(status, 201);
    eventually("the restarted node applies the new entry", Duration::from_secs(20), || async {
        cluster.running(restarted).node.reader().read(|applied| applied.meta.namespace("ns2").map(drop))
    })
    .await;
    snapshot_every_node(&cluster).await;
    let data_dir = cluster.config(restarted).data_dir.clone();
    let snapshot = std::fs::read(data_dir.join("raft").join("metadata-snapshot")).unwrap();
    assert!(contains(&snapshot, "\"sealed_with\":\"k2\"") && !contains(&snapshot, "\"sealed_with\":\"k1\""));
    let replication = cluster.running(restarted).node.reader().read(|applied| {
        applied.meta.cluster("ns1", "c1").unwrap().credentials.replication_password.expose().to_string()
    });
    assert_eq!(replication, REPLICATION_PASSWORD);
    cluster.shutdown().await;

    let logged = captured.0.lock().unwrap().clone();
    assert!(contains(&logged, "database passwords are sealed at rest"), "the capture saw the nodes' log");
    for password in [ADMIN_PASSWORD, REPLICATION_PASSWORD] {
        assert!(!contains(&logged, password), "the log holds a password");
    }
}
