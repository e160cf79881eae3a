//! Storage of the lead webhook: each gym's signing key (key id and the secret sealed with the
//! master key by `jarvis-app`; the store never sees it in clear) and the leads received,
//! unique per (gym, event id).
//!
//! **Contexts.** The webhook arrives before anyone is known: [`LeadStore::lead_webhook_by_key`]
//! reads one key row in the system context `TxCtx::Webhook` (PostgreSQL: a `SELECT` policy on
//! `lead_webhooks` only). Everything else runs in a tenant scope, the webhook's insert in the
//! gym scope of the key it found.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::*;
use jarvis_core::*;

/// A gym's stored webhook key, as the webhook needs it to check a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeadKey {
    /// The key id senders name.
    pub key_id: String,
    /// The gym's franchise.
    pub franchise_id: FranchiseId,
    /// The gym.
    pub gym_id: GymId,
    /// The secret, sealed with the master key.
    pub sealed_secret: String,
}

/// What recording a webhook delivery did.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedLead {
    /// The lead stored under that event id (the first delivery's on a replay).
    pub lead: Lead,
    /// SHA-256 (hex) of the body the first delivery carried.
    pub body_hash: String,
    /// Whether this call stored it (false: an earlier delivery did).
    pub created: bool,
}

/// Storage of leads and lead webhook keys.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Sets (creates or replaces, i.e. rotates) a gym's webhook key; audited without the secret.
    async fn put_lead_webhook(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        key_id: &str,
        sealed_secret: &str,
    ) -> StoreResult<LeadWebhookKey>;

    /// A gym's webhook key, if one was generated.
    async fn lead_webhook(&self, scope: &Scope, gym: GymId) -> StoreResult<Option<LeadWebhookKey>>;

    /// The key named by a webhook delivery (system context `webhook`).
    async fn lead_webhook_by_key(&self, key_id: &str) -> StoreResult<Option<StoredLeadKey>>;

    /// Stores a lead once per (gym, event id); a replay answers the stored one.
    async fn record_lead(
        &self,
        scope: &Scope,
        gym: GymId,
        lead: ValidLead,
        body_hash: &str,
    ) -> StoreResult<RecordedLead>;

    /// A gym's leads in `sort` order (newest first by default), optionally of one status.
    async fn list_leads(
        &self,
        scope: &Scope,
        gym: GymId,
        status: Option<LeadStatus>,
        sort: LeadSort,
        page: PageRequest,
    ) -> StoreResult<Page<Lead>>;

    /// One lead of a gym.
    async fn lead(&self, scope: &Scope, gym: GymId, id: LeadId) -> StoreResult<Lead>;

    /// Changes a lead's status (audited).
    async fn set_lead_status(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: LeadId,
        status: LeadStatus,
    ) -> StoreResult<Lead>;
}

/// Orders of the lead list; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeadSort {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Oldest first.
    Created,
    /// By status in follow-up order (new, contacted, converted), newest first within one.
    Status,
}

impl LeadSort {
    /// Every order, the default first.
    pub const ALL: [LeadSort; 3] = [Self::CreatedDesc, Self::Created, Self::Status];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedDesc => "created_desc",
            Self::Created => "created",
            Self::Status => "status",
        }
    }

    /// The order a URL key names, or the default for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == key.trim())
            .unwrap_or_default()
    }
}
