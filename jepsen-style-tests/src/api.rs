//! A minimal client of shardkeeper's native REST API for the workloads: one request to one node
//! with a deadline, and the answer classified the way the history needs it (took effect, certainly
//! did not, unknown). The rules follow docs/api.md: a 4xx answer and a 503 change nothing, a 504
//! and a lost answer are unknown. Every request carries the deployment's admin token (read once from
//! the file `SK_TOKEN_FILE` names: deploy/secrets/admin-token, which deploy/up.sh generates).

use std::time::Duration;

use serde_json::Value;

/// What became of one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// 2xx: the body's `data`, and the `ETag` when one was sent.
    Ok { data: Value, etag: Option<u64> },
    /// The request certainly changed nothing: refused connection, 4xx, 503.
    Fail { status: Option<u16>, error: String },
    /// It may or may not have taken effect: timeout after sending, 504, 5xx, broken answer.
    Unknown { error: String },
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
}

impl ApiClient {
    /// `timeout` bounds each request from start to the last byte of the answer; `token`, when
    /// given, goes out as `Authorization: Bearer` on every request.
    pub fn new(timeout: Duration, token: Option<&str>) -> ApiClient {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .expect("a token of printable characters");
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(Duration::from_millis(500))
            .pool_max_idle_per_host(4)
            .build()
            .expect("a reqwest client with timeouts only");
        ApiClient { http }
    }

    /// The token in the file `SK_TOKEN_FILE` names, if it is set.
    pub fn token_from_env() -> anyhow::Result<Option<String>> {
        let Some(path) = std::env::var_os("SK_TOKEN_FILE") else { return Ok(None) };
        let token = std::fs::read_to_string(&path)
            .map_err(|error| anyhow::anyhow!("cannot read SK_TOKEN_FILE {}: {error}", path.to_string_lossy()))?;
        Ok(Some(token.trim().to_string()))
    }

    pub async fn get(&self, base_url: &str, path: &str) -> Outcome {
        self.send(self.http.get(format!("{base_url}{path}"))).await
    }

    /// POSTs `body` as JSON, with `If-Match: <version>` when given.
    pub async fn post(&self, base_url: &str, path: &str, body: &Value, if_match: Option<u64>) -> Outcome {
        let mut request = self.http.post(format!("{base_url}{path}")).json(body);
        if let Some(version) = if_match {
            request = request.header("If-Match", version.to_string());
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Outcome {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) if error.is_connect() => {
                return Outcome::Fail { status: None, error: format!("connect: {}", root_cause(&error)) }
            }
            Err(error) => return Outcome::Unknown { error: describe(&error) },
        };
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim_matches('"').parse().ok());
        let body: Value = match response.json().await {
            Ok(body) => body,
            Err(error) if (200..300).contains(&status) || status >= 500 => {
                return Outcome::Unknown { error: format!("{status}: {}", describe(&error)) }
            }
            Err(error) => return Outcome::Fail { status: Some(status), error: describe(&error) },
        };
        let message = || body.pointer("/error/message").and_then(Value::as_str).unwrap_or("").to_string();
        match status {
            200..=299 => Outcome::Ok { data: body.get("data").cloned().unwrap_or(Value::Null), etag },
            400..=499 | 503 => Outcome::Fail { status: Some(status), error: format!("{status}: {}", message()) },
            _ => Outcome::Unknown { error: format!("{status}: {}", message()) },
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".to_string()
    } else {
        root_cause(error)
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
