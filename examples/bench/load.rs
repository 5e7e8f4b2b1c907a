//! Closed-loop load: N client tasks, each sending one request at a time over a shared keep-alive
//! connection pool, for a warm-up and then a measured window; and the failover probe (one write
//! every 10 ms through a survivor until one is acknowledged).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::cluster::Target;

/// What one load run measured.
pub struct LoadResult {
    /// Successful requests completed inside the measured window.
    pub ok: u64,
    /// Failed requests (wrong status or transport error) completed inside the window.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Requests sent, warm-up included (for writes: records written or attempted).
    pub sent: u64,
    pub window: Duration,
    /// Latencies of the successful requests, microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// Latency percentile `p` (0..=1) in milliseconds (nearest rank).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies_us.len() as f64 * p).ceil() as usize).clamp(1, self.latencies_us.len());
        self.latencies_us[rank - 1] as f64 / 1000.0
    }
}

/// Names unique across runs and processes: `<tag>-<client>-<sequence>`.
static RUN: AtomicU64 = AtomicU64::new(0);

/// `clients` tasks send requests to `target` back to back for `warmup + window`; the requests that
/// complete inside the window count.
pub async fn run(
    http: &reqwest::Client,
    target: &Target,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> LoadResult {
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let tag = format!("b{:x}r{run}", std::process::id());
    let start = Instant::now() + warmup;
    let end = start + window;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let http = http.clone();
            let target = target.clone();
            let prefix = format!("{tag}-{client}-");
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut first_error = None;
                let mut sequence = 0u64;
                let mut name = String::with_capacity(prefix.len() + 12);
                while Instant::now() < end {
                    sequence += 1;
                    name.clear();
                    name.push_str(&prefix);
                    name.push_str(&sequence.to_string());
                    let sent = Instant::now();
                    let outcome = match target.request(&http, &name).send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            match response.bytes().await {
                                Ok(_) if status == target.expect() => Ok(()),
                                Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body))),
                                Err(e) => Err(format!("reading the answer: {e}")),
                            }
                        }
                        Err(e) => Err(format!("{e}")),
                    };
                    let done = Instant::now();
                    if done < start || done > end {
                        continue;
                    }
                    match outcome {
                        Ok(()) => latencies.push((done - sent).as_micros().min(u32::MAX as u128) as u32),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error, sequence)
            })
        })
        .collect();
    let mut result = LoadResult { ok: 0, errors: 0, first_error: None, sent: 0, window, latencies_us: Vec::new() };
    for task in futures::future::join_all(tasks).await {
        let (latencies, errors, first_error, sent) = task.expect("client task");
        result.sent += sent;
        result.ok += latencies.len() as u64;
        result.latencies_us.extend(latencies);
        result.errors += errors;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
    }
    result.latencies_us.sort_unstable();
    result
}

/// From `killed_at`, starts one write to `target` every 10 ms, each under a new name and without
/// waiting for the earlier ones (a write that reaches a survivor while it still believes in the dead
/// leader may be held until the survivor's own timeout; a waiting client must not hide when a fresh
/// write would already succeed). Each attempt times out after `attempt_timeout`; at most
/// `MAX_IN_FLIGHT` are outstanding. Answers the time from `killed_at` to the first acknowledgement
/// and the number of attempts started until then.
pub async fn first_acknowledged_write(
    http: &reqwest::Client,
    target: &Target,
    killed_at: Instant,
    attempt_timeout: Duration,
    give_up_after: Duration,
) -> Result<(Duration, u32)> {
    const MAX_IN_FLIGHT: usize = 1000;
    let tag = format!("fo{:x}r{}", std::process::id(), RUN.fetch_add(1, Ordering::Relaxed));
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    let mut attempts = 0u32;
    let mut last_error = String::from("none finished");
    let mut in_flight = FuturesUnordered::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick(), if in_flight.len() < MAX_IN_FLIGHT => {
                if killed_at.elapsed() > give_up_after {
                    bail!("no write acknowledged {give_up_after:?} after the kill ({attempts} attempts; last error: {last_error})");
                }
                attempts += 1;
                let request = target.request(http, &format!("{tag}-{attempts}")).timeout(attempt_timeout);
                let expect = target.expect();
                let number = attempts;
                in_flight.push(async move {
                    let started = Instant::now();
                    let outcome = match request.send().await {
                        Ok(response) if response.status().as_u16() == expect => {
                            let _ = response.bytes().await;
                            Ok(())
                        }
                        Ok(response) => Err(format!("{}: {}", response.status(), response.text().await.unwrap_or_default())),
                        Err(e) => Err(format!("{e}")),
                    };
                    (number, started, outcome)
                });
            }
            Some((number, started, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                if trace {
                    eprintln!(
                        "bench: attempt {number} sent at +{} ms answered after {} ms: {}",
                        (started - killed_at).as_millis(),
                        started.elapsed().as_millis(),
                        outcome.as_ref().err().map(String::as_str).unwrap_or("acknowledged")
                    );
                }
                match outcome {
                    Ok(()) => return Ok((killed_at.elapsed(), attempts)),
                    Err(e) => last_error = e,
                }
            }
        }
    }
}
