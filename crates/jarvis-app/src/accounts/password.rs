//! Passwords: change (signed in), reset by e-mail link (a worker off the request path), and the
//! policy checks.

use super::{Accounts, AccountsError, AccountsResult, Client, record_in};
use crate::auth::crypto::{MasterKey, new_token, token_hash};
use crate::auth::password;
use crate::supervisor::Signals;
use jarvis_core::SessionId;
use jarvis_core::UserId;
use jarvis_core::model::Actor;
use jarvis_store::Store;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// A password-reset request waiting for the reset worker (no `Debug`: it holds an address).
pub struct ResetJob {
    email: String,
    client: Client,
}

/// What the reset worker needs. It runs under the [`Supervisor`](crate::supervisor::Supervisor)
/// and holds no sender of its own queue.
pub(super) struct ResetWorker {
    pub(super) store: Arc<dyn Store>,
    pub(super) master: MasterKey,
    /// Public base URL for links.
    pub(super) base: String,
}

impl ResetWorker {
    /// Serves queued reset requests one at a time. Shutdown does not cut the queue short: once
    /// `intake` is closed (the HTTP server has answered its last request, so nothing more can
    /// be queued) the worker sends what is still queued and ends. Only the end of the grace
    /// period drops what is left, as a full queue does (the user asks again). It also ends when
    /// every [`Accounts`] is dropped.
    pub(super) async fn run(
        self,
        mut queue: tokio::sync::mpsc::Receiver<ResetJob>,
        intake: CancellationToken,
        signals: Signals,
    ) {
        loop {
            let job = tokio::select! {
                biased;
                () = signals.aborting() => break,
                job = queue.recv() => match job {
                    Some(job) => job,
                    None => return,
                },
                () = intake.cancelled() => match queue.try_recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
            };
            if let Err(e) = self.process(job).await {
                tracing::warn!(error = %e, "password-reset request failed");
            }
        }
        queue.close();
        let mut dropped = 0usize;
        while queue.try_recv().is_ok() {
            dropped += 1;
        }
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "grace period over: queued password-reset requests dropped"
            );
        }
    }

    async fn process(&self, job: ResetJob) -> AccountsResult<()> {
        let ResetJob { email, client } = job;
        let store = self.store.as_ref();
        let user = match store.user_by_email(&email).await? {
            Some((user, _)) if user.disabled_at.is_none() => user,
            _ => {
                let ev = client.event("password.reset_requested", None, Some(&email));
                record_in(store, ev).await;
                return Ok(());
            }
        };
        let token = new_token();
        let expires = OffsetDateTime::now_utc() + time::Duration::hours(1);
        store
            .create_password_reset(user.id, &token_hash(&token), expires)
            .await?;
        let link = format!("{}/app/reset?token={token}", self.base);
        let mail = super::email::reset(&user.email, &user.display_name, &link, user.locale);
        crate::outbox::enqueue(store, &self.master, mail).await?;
        let ev = client.event("password.reset_requested", Some(user.id), Some(&email));
        record_in(store, ev).await;
        Ok(())
    }
}

fn weak(field: &'static str) -> impl FnOnce(String) -> AccountsError {
    move |message| AccountsError::WeakPassword { field, message }
}

impl Accounts {
    /// Changes the signed-in user's password after checking the current one, and ends every
    /// other session.
    pub async fn change_password(
        &self,
        client: &Client,
        actor: &Actor,
        user: UserId,
        keep_session: SessionId,
        current: &str,
        new: String,
    ) -> AccountsResult<()> {
        let u = self.store.user(user).await?;
        self.check_password(client, &u.email, current).await?;
        password::check_policy_for(&new, &u.email).map_err(weak("new_password"))?;
        let hash = password::hash(new).await.map_err(AccountsError::internal)?;
        self.store.set_password_hash(actor, user, hash).await?;
        self.store
            .revoke_user_sessions(user, Some(keep_session), "password_change")
            .await?;
        self.record(client.event("password.change", Some(user), None))
            .await;
        Ok(())
    }

    /// Starts a password reset. The request only hands the address to the reset worker and
    /// returns: nothing on the request path depends on whether the account exists (no lookup,
    /// no write, no hashing), so known and unknown addresses cost the same and get the same
    /// answer. A full queue drops the request (the user asks again); the answer does not change.
    pub fn request_reset(&self, client: &Client, email: &str) {
        let email = email.trim();
        if self.reset_intake.is_cancelled() {
            tracing::warn!("password-reset request after shutdown: dropped");
            return;
        }
        // Longer than any address: not worth a queue slot (the length is the caller's own input).
        if email.len() > 254 {
            return;
        }
        let job = ResetJob {
            email: email.to_lowercase(),
            client: client.clone(),
        };
        if self.reset_queue.try_send(job).is_err() {
            tracing::warn!("password-reset queue full: request dropped");
        }
    }

    /// Completes a reset: sets the password, ends every session.
    pub async fn confirm_reset(
        &self,
        client: &Client,
        token: &str,
        new_password: &str,
    ) -> AccountsResult<()> {
        if new_password.chars().count() < 12 {
            return Err(AccountsError::WeakPassword {
                field: "new_password",
                message: "the password must have at least 12 characters".into(),
            });
        }
        password::check_policy_for(new_password, "").map_err(weak("new_password"))?;
        let hash = password::hash(new_password.to_string())
            .await
            .map_err(AccountsError::internal)?;
        let user = self
            .store
            .consume_password_reset(&token_hash(token.trim()), hash)
            .await?
            .ok_or(AccountsError::InvalidResetToken)?;
        self.store
            .revoke_user_sessions(user, None, "password_reset")
            .await?;
        let u = self.store.user(user).await?;
        self.store
            .throttle_clear(&format!("login:acct:{}", u.email))
            .await?;
        self.record(client.event("password.reset", Some(user), None))
            .await;
        Ok(())
    }
}
