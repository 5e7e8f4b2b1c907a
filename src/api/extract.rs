//! The extractors every native and operations handler shares, each turning a bad request into a 400
//! (or 413) in the native error envelope with a message that says what is wrong:
//!
//! - `JsonBody<T>`: a JSON request body (content type, size limit, syntax, missing fields, types);
//!   `OptionalJsonBody<T>` also accepts an empty body as `T::default()`.
//! - `IfMatch`: the optional expected cluster version of a compare-and-set mutation.
//! - `ReadConsistency`: `?consistency=stale` (or `linearizable`, the default).
//! - `PathParams<T>`: path segments; `parse_index` for numeric segments.
//!
//! Owns only request parsing; must not call the service layer. Never logs a request body: bodies
//! carry passwords.

use std::error::Error as _;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{CONTENT_TYPE, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::envelope::ApiError;
use super::MAX_BODY_BYTES;
use crate::service::Consistency;

/// A JSON request body. The body is parsed as JSON when the content type is JSON, absent, or curl's
/// default for `-d` (`application/x-www-form-urlencoded`), as the kvrocks controller does.
pub struct JsonBody<T>(pub T);

/// A JSON request body that may also be absent: an empty body reads as `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        check_json_content_type(request.headers())?;
        let body = read_body(request, state).await?;
        decode_json(&body).map(JsonBody)
    }
}

impl<T, S> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        let body = read_body(request, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        check_json_content_type(&headers)?;
        decode_json(&body).map(OptionalJsonBody)
    }
}

/// The whole body, within the router's `DefaultBodyLimit`.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::http(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than the limit of {MAX_BODY_BYTES} bytes"),
            )
        } else {
            ApiError::invalid(format!("cannot read the request body: {}", lowercase_first(&rejection.body_text())))
        }
    })
}

/// `application/json` (with or without parameters), any `application/*+json`, no content type at all,
/// or `application/x-www-form-urlencoded`, which curl sends for `-d` unless told otherwise.
fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or_default();
    let essence = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == "application/json"
        || essence == "application/x-www-form-urlencoded"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("content-type {text:?} is not supported; expected application/json")))
    }
}

pub(super) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("request body is empty; expected a json object"));
    }
    Json::<T>::from_bytes(body).map(|Json(value)| value).map_err(|rejection| {
        let (what, detail) = match &rejection {
            JsonRejection::JsonDataError(error) => ("request body has invalid fields", error.source()),
            JsonRejection::JsonSyntaxError(error) => ("request body is not valid json", error.source()),
            _ => ("request body is not valid json", None),
        };
        match detail {
            Some(detail) => ApiError::invalid(format!("{what}: {detail}")),
            None => ApiError::invalid(what),
        }
    })
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The cluster version named by `If-Match`, if any: the mutation applies only when the cluster is
/// still at that version (412 otherwise). Absent or `*` means no check.
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(IF_MATCH).iter();
        let Some(value) = values.next() else {
            return Ok(IfMatch(None));
        };
        if values.next().is_some() {
            return Err(ApiError::invalid("more than one if-match header; send one cluster version"));
        }
        let text = value.to_str().map_err(|_| {
            ApiError::invalid("if-match header is not visible ascii; expected a cluster version such as 5")
        })?;
        parse_if_match(text).map(IfMatch)
    }
}

/// `5` or `"5"` is version 5; `*` is no check; anything else is refused.
pub fn parse_if_match(text: &str) -> Result<Option<u64>, ApiError> {
    let text = text.trim();
    if text == "*" {
        return Ok(None);
    }
    let unquoted = text.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(text);
    if !unquoted.is_empty() && unquoted.bytes().all(|byte| byte.is_ascii_digit()) {
        if let Ok(version) = unquoted.parse::<u64>() {
            return Ok(Some(version));
        }
    }
    Err(ApiError::invalid(format!(
        "if-match header {text:?} is not a cluster version; expected a number such as 5 or \"5\""
    )))
}

/// How fresh a read must be: `?consistency=stale` reads this node's copy, anything else waits for
/// the leader to confirm (linearizable, the default).
pub struct ReadConsistency(pub Consistency);

#[derive(Deserialize)]
struct ConsistencyQuery {
    consistency: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ReadConsistency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = Query::<ConsistencyQuery>::try_from_uri(&parts.uri)
            .map_err(|rejection| ApiError::invalid(format!("invalid query string: {}", rejection.body_text())))?;
        parse_consistency(query.0.consistency.as_deref()).map(ReadConsistency)
    }
}

/// `stale` or `linearizable` (any case), or nothing (linearizable).
pub fn parse_consistency(value: Option<&str>) -> Result<Consistency, ApiError> {
    match value {
        None => Ok(Consistency::Linearizable),
        Some(text) if text.eq_ignore_ascii_case("linearizable") => Ok(Consistency::Linearizable),
        Some(text) => match Consistency::from_query(Some(text)) {
            Consistency::Stale => Ok(Consistency::Stale),
            Consistency::Linearizable => {
                Err(ApiError::invalid(format!("consistency {text:?} is not supported; use stale or linearizable")))
            }
        },
    }
}

/// Path segments, deserialized by name.
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(params)) => Ok(PathParams(params)),
            Err(rejection) => Err(ApiError::http(rejection.status(), lowercase_first(&rejection.body_text()))),
        }
    }
}

/// A numeric path segment (`what` names it in the message): plain decimal digits only.
pub fn parse_index<N: std::str::FromStr>(what: &str, text: &str) -> Result<N, ApiError> {
    let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    match digits.then(|| text.parse::<N>().ok()).flatten() {
        Some(number) => Ok(number),
        None => Err(ApiError::invalid(format!("{what} {text:?} is not a non-negative integer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_bare_and_quoted_versions() {
        let cases: [(&str, Option<Option<u64>>); 11] = [
            ("5", Some(Some(5))),
            ("\"5\"", Some(Some(5))),
            (" 7 ", Some(Some(7))),
            ("0", Some(Some(0))),
            ("*", Some(None)),
            ("", None),
            ("\"\"", None),
            ("abc", None),
            ("-1", None),
            ("W/\"5\"", None),
            ("99999999999999999999999", None),
        ];
        for (text, expected) in cases {
            let parsed = parse_if_match(text).ok();
            assert_eq!(parsed, expected, "if-match {text:?}");
        }
    }

    #[test]
    fn if_match_refusal_is_a_bad_request() {
        let error = parse_if_match("abc").unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(error.message().contains("\"abc\""), "{}", error.message());
    }

    #[test]
    fn consistency_accepts_stale_and_linearizable_only() {
        assert_eq!(parse_consistency(None).ok(), Some(Consistency::Linearizable));
        assert_eq!(parse_consistency(Some("stale")).ok(), Some(Consistency::Stale));
        assert_eq!(parse_consistency(Some("STALE")).ok(), Some(Consistency::Stale));
        assert_eq!(parse_consistency(Some("linearizable")).ok(), Some(Consistency::Linearizable));
        assert_eq!(parse_consistency(Some("eventual")).unwrap_err().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn index_takes_plain_digits_only() {
        assert_eq!(parse_index::<usize>("shard index", "0").ok(), Some(0));
        assert_eq!(parse_index::<usize>("shard index", "12").ok(), Some(12));
        for bad in ["", "-1", "+1", "1.5", "abc", " 1", "99999999999999999999999"] {
            let error = parse_index::<usize>("shard index", bad).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            assert!(error.message().starts_with("shard index"), "{}", error.message());
        }
    }

    #[test]
    fn content_type_must_be_json() {
        let mut headers = HeaderMap::new();
        assert!(check_json_content_type(&headers).is_ok(), "no content type reads the body as json");
        for good in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
            "application/x-www-form-urlencoded",
        ] {
            headers.insert(CONTENT_TYPE, good.parse().unwrap());
            assert!(check_json_content_type(&headers).is_ok(), "{good}");
        }
        for bad in ["text/plain", "multipart/form-data", "application/jsonx"] {
            headers.insert(CONTENT_TYPE, bad.parse().unwrap());
            assert!(check_json_content_type(&headers).is_err(), "{bad}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        replicas: Option<u32>,
    }

    #[test]
    fn json_errors_name_what_is_wrong() {
        let cases = [
            ("", "request body is empty"),
            ("{", "not valid json"),
            ("{\"name\": 1}", "name"),
            ("{}", "missing field `name`"),
            ("{\"name\": \"a\", \"replicas\": \"x\"}", "replicas"),
            ("{\"name\": \"a\"} trailing", "not valid json"),
        ];
        for (body, expected) in cases {
            let error = decode_json::<Sample>(body.as_bytes()).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body}");
            assert!(error.message().contains(expected), "{body}: {}", error.message());
        }
    }
}
