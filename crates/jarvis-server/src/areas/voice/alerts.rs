//! Budget-alert e-mails for the broker: [`jarvis_voice::AlertEmails`] over the sealed outbox of
//! `jarvis_app::voice` (recipients, fr/en texts). Wired in `serve`.

use async_trait::async_trait;
use jarvis_app::auth::crypto::MasterKey;
use jarvis_store::{NewBudgetAlert, NewEmail, Store};
use std::sync::Arc;

/// Seals one e-mail per recipient of a budget alert (the gym's managers, or the super admins
/// for the platform's budget); the store queues them with the alert, once.
pub struct OutboxAlertEmails {
    /// Storage (recipients, gym name).
    pub store: Arc<dyn Store>,
    /// Seals the bodies.
    pub master: MasterKey,
    /// Public URL of the dashboard, for the link.
    pub public_base: String,
}

#[async_trait]
impl jarvis_voice::AlertEmails for OutboxAlertEmails {
    async fn emails(&self, alert: &NewBudgetAlert) -> Vec<NewEmail> {
        jarvis_app::voice::alert_emails(self.store.as_ref(), &self.master, &self.public_base, alert)
            .await
    }
}
