//! Route declarations: the `[[routes]]` sections of a node's config file, the counterpart of MySQL
//! Router's `[routing:NAME]` sections. The types live in `crate::config` (the config file holds
//! them, and config sits below the router); they are named here too, where the router reads them.
//! `destinations` is parsed by `Destination`, the whole list checked by `check_routes`.

pub use crate::config::{RouteConfig, RoutingStrategy};
