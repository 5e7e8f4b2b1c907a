//! Namespace use cases.

use super::{Consistency, MetaService};
use crate::error::ServiceError;
use crate::meta::Command;

impl MetaService {
    pub async fn create_namespace(&self, name: String) -> Result<(), ServiceError> {
        self.node.propose(Command::CreateNamespace { name }).await.map(|_| ())
    }

    pub async fn list_namespaces(&self, consistency: Consistency) -> Result<Vec<String>, ServiceError> {
        self.node.read(consistency, |state| Ok(state.namespaces.keys().cloned().collect())).await
    }

    /// Answers the namespace's name when it exists.
    pub async fn get_namespace(&self, name: &str, consistency: Consistency) -> Result<String, ServiceError> {
        self.node
            .read(consistency, |state| {
                state
                    .namespace(name)
                    .map(|namespace| namespace.name.clone())
                    .ok_or_else(|| ServiceError::not_found(format!("namespace \"{name}\" does not exist")))
            })
            .await
    }

    pub async fn delete_namespace(&self, name: String) -> Result<(), ServiceError> {
        self.node.propose(Command::DeleteNamespace { name }).await.map(|_| ())
    }
}
