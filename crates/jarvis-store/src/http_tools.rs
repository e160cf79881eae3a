//! Storage of the gyms' custom HTTP tools: the definition and its signing secret, sealed with
//! the master key by `jarvis-app` (the store never sees it in clear, and never returns it with
//! the definition). Every query runs in a tenant scope; every write is audited without the
//! secret.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::*;
use jarvis_core::*;

/// Storage of custom HTTP tools.
#[async_trait]
pub trait HttpToolStore: Send + Sync {
    /// Creates a tool with its sealed secret (`id` chosen by the caller, which sealed the
    /// secret for it). A second tool with the same name in the gym is a conflict on `name`.
    async fn create_http_tool(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
        tool: ValidHttpTool,
        sealed_secret: &str,
    ) -> StoreResult<HttpTool>;

    /// Replaces a tool's definition (the secret stays).
    async fn update_http_tool(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
        tool: ValidHttpTool,
    ) -> StoreResult<HttpTool>;

    /// Replaces a tool's sealed secret (rotation: the old one stops at once).
    async fn set_http_tool_secret(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
        sealed_secret: &str,
    ) -> StoreResult<HttpTool>;

    /// Deletes a tool.
    async fn delete_http_tool(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
    ) -> StoreResult<()>;

    /// A gym's tools, by name.
    async fn list_http_tools(&self, scope: &Scope, gym: GymId) -> StoreResult<Vec<HttpTool>>;

    /// One tool of a gym.
    async fn http_tool(&self, scope: &Scope, gym: GymId, id: HttpToolId) -> StoreResult<HttpTool>;

    /// A tool's sealed secret (for signing a call).
    async fn http_tool_secret(
        &self,
        scope: &Scope,
        gym: GymId,
        id: HttpToolId,
    ) -> StoreResult<String>;
}
