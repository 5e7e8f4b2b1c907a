//! The data path's threads: a few single-threaded tokio runtimes, one per thread, that own the
//! routed connections. A connection lives on one of them from its first byte to its close, so its
//! two sockets, their readiness and the task copying between them stay on one thread: no wake-up
//! crosses threads and no work-stealing moves the task, which is what keeps the added latency of a
//! hop through the router small (HAProxy's threads work the same way). The node's own runtime keeps
//! raft, the APIs and the accept loops. Owns those threads; knows nothing of MySQL or routes.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// At most this many data-path threads, whatever the machine's size.
const MAX_THREADS: usize = 4;

pub(super) struct DataPathWorkers {
    handles: Vec<Handle>,
    next: AtomicUsize,
    /// Each thread runs until its sender is sent to or dropped.
    stops: Mutex<Vec<oneshot::Sender<()>>>,
}

impl DataPathWorkers {
    /// Starts one thread per core, up to `MAX_THREADS`.
    pub fn start() -> std::io::Result<DataPathWorkers> {
        let count = std::thread::available_parallelism().map_or(1, usize::from).min(MAX_THREADS);
        let mut handles = Vec::with_capacity(count);
        let mut stops = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            std::thread::Builder::new().name(format!("router-{index}")).spawn(move || {
                let _ = runtime.block_on(stopped);
            })?;
            stops.push(stop);
        }
        Ok(DataPathWorkers { handles, next: AtomicUsize::new(0), stops: Mutex::new(stops) })
    }

    /// Runs `task` on the next thread in turn. Sockets the task creates or adopts
    /// (`TcpStream::from_std`) belong to that thread's reactor.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles[index].spawn(task);
    }

    /// Ends every thread; the connections still on them are dropped (both sockets closed).
    /// Dropping the workers does the same.
    pub fn stop(&self) {
        self.stops.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }
}
