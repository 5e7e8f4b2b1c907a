//! The one authorisation layer of the public Admin gRPC service: `authorization: Bearer TOKEN`
//! metadata checked against `auth`'s token table and the role of the called method
//! (`auth::grpc_required_role`); the call then runs as its principal. Refusals are
//! Unauthenticated / PermissionDenied, from the one error-code table.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;

use crate::auth::{acting_as, grpc_required_role, TokenTable, ANONYMOUS_PRINCIPAL};
use crate::error::ServiceError;

/// `inner` (a generated server), reachable only with a token whose role its method needs.
#[derive(Clone)]
pub struct Authorized<S> {
    inner: S,
    tokens: Arc<TokenTable>,
}

impl<S> Authorized<S> {
    pub fn new(inner: S, tokens: Arc<TokenTable>) -> Self {
        Authorized { inner, tokens }
    }
}

impl<S: NamedService> NamedService for Authorized<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<Request<Body>> for Authorized<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready service answers this call; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !self.tokens.is_enabled() {
            return Box::pin(acting_as(ANONYMOUS_PRINCIPAL.to_string(), inner.call(request)));
        }
        let method = request.uri().path().rsplit('/').next().unwrap_or_default();
        let required = grpc_required_role(method);
        let header = request.headers().get("authorization").and_then(|value| value.to_str().ok());
        match self.tokens.authorize(header, false, required) {
            Ok(principal) => Box::pin(acting_as(principal.name, inner.call(request))),
            Err(failure) => {
                let status = tonic::Status::from(ServiceError::from(failure));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}
