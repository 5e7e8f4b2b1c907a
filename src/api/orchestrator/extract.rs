//! This flavor's extractors, each refusing a bad request with a 400 in the v2 envelope:
//! `V2Path<T>` (path segments), `V2Query<T>` (query string) and `V2Consistency`
//! (`?consistency=stale`, as the native API). Owns only request parsing.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::envelope::V2Error;
use crate::api::extract::parse_consistency;
use crate::service::Consistency;

/// Path segments, deserialized by name.
pub struct V2Path<T>(pub T);

impl<T, S> FromRequestParts<S> for V2Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, V2Error> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(params)| V2Path(params))
            .map_err(|rejection| V2Error::bad_request(format!("invalid path: {}", rejection.body_text())))
    }
}

/// The query string, deserialized by name; unknown parameters are ignored.
pub struct V2Query<T>(pub T);

impl<T, S> FromRequestParts<S> for V2Query<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, V2Error> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(query)| V2Query(query))
            .map_err(|rejection| V2Error::bad_request(format!("invalid query string: {}", rejection.body_text())))
    }
}

/// `?consistency=stale` reads this node's copy; anything else (or nothing) is linearizable.
pub struct V2Consistency(pub Consistency);

#[derive(Deserialize)]
struct ConsistencyQuery {
    consistency: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for V2Consistency {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, V2Error> {
        let V2Query(query) = V2Query::<ConsistencyQuery>::from_request_parts(parts, state).await?;
        parse_consistency(query.consistency.as_deref())
            .map(V2Consistency)
            .map_err(|error| V2Error::bad_request(error.message()))
    }
}
