//! GET /routes and /routes/{routeName}/config|status|health|destinations|connections|blockedHosts:
//! this node's routes and their live figures, one `Router::route` call per request.
//!
//! Owns only the handlers: lookup, 404 for an unknown name, and the view of `views`.

use axum::extract::State;
use axum::Json;

use super::problem::{NamePath, Problem};
use super::views::{
    self, names, ConnectionView, DestinationView, Items, Named, RouteConfigView, RouteHealthView, RouteStatusView,
};
use crate::router::RouteStatus;
use crate::service::MetaService;

pub(super) async fn list(State(service): State<MetaService>) -> Json<Items<Named>> {
    Json(names(service.router().routes().into_iter().map(|route| route.config.name)))
}

pub(super) async fn config(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<RouteConfigView>, Problem> {
    find(&service, &target).map(|route| Json(RouteConfigView::of(&route)))
}

pub(super) async fn status(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<RouteStatusView>, Problem> {
    find(&service, &target).map(|route| Json(RouteStatusView::of(&route)))
}

pub(super) async fn health(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<RouteHealthView>, Problem> {
    find(&service, &target).map(|route| Json(RouteHealthView::of(&route)))
}

pub(super) async fn destinations(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<Items<DestinationView>>, Problem> {
    find(&service, &target).map(|route| Json(views::destinations(&route)))
}

pub(super) async fn connections(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<Items<ConnectionView>>, Problem> {
    find(&service, &target).map(|route| Json(views::connections(&route)))
}

pub(super) async fn blocked_hosts(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<Items<String>>, Problem> {
    find(&service, &target).map(|route| Json(views::blocked_hosts(&route)))
}

fn find(service: &MetaService, target: &NamePath) -> Result<RouteStatus, Problem> {
    service.router().route(&target.name).ok_or_else(|| Problem::not_found(&target.path))
}
