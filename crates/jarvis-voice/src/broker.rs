//! The broker: admits a call, relays the SDP offer with the server's key, and hands the call to
//! its own task; ends calls for the kiosk; reaps the calls of dead instances.
//!
//! A start that is refused stores nothing billable: checks that need no slot come first, the
//! slot is acquired atomically (`start_session`), and a provider failure after that ends the
//! session at once as `start_failed`, which frees the slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jarvis_core::cost::PriceTable;
use jarvis_core::model::{
    CapRefusal, EndReason, GymNotReady, GymSettings, KioskEligibility, Locale, NewVoiceSession,
};
use jarvis_core::{InstanceId, PageRequest, VoiceSessionId};
use jarvis_openai::OpenAiClient;
use jarvis_openai::realtime::{AudioConfig, AudioInput, AudioOutput, SessionConfig, Voice};
use jarvis_store::{KioskIdentity, Store, StoreError, StoreResult};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::budget::{self, AlertEmails, BudgetLimits, NoAlertEmails};
use crate::call::{self, CallCommand, CallSpec};
use crate::instructions::{self, InstructionsInput};
use crate::metrics::VoiceMetrics;
use crate::tools::{CallBinding, CallContext, GymToolSource, ToolRegistry};

/// How the broker runs calls on this instance.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// This instance (owner of the calls it starts; its heartbeat keeps them from the reaper).
    pub instance: InstanceId,
    /// How long a slot is held without a renewal (a crashed instance's slots free after this).
    pub lease: Duration,
    /// How often a call renews its lease (well below `lease`).
    pub heartbeat: Duration,
    /// How long a call keeps reading billable events after its hang-up.
    pub drain: Duration,
    /// Overrides the gym's idle timeout (tests; `None` in production).
    pub idle_override: Option<Duration>,
    /// Overrides the gym's maximum duration (tests; `None` in production).
    pub max_duration_override: Option<Duration>,
}

impl VoiceConfig {
    /// Defaults for `instance`: 30 s leases renewed every 10 s.
    pub fn new(instance: InstanceId) -> Self {
        VoiceConfig {
            instance,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            drain: Duration::from_secs(2),
            idle_override: None,
            max_duration_override: None,
        }
    }
}

/// A call that started: what the kiosk needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Our session id (for the kiosk's `DELETE`).
    pub session_id: VoiceSessionId,
    /// The provider's SDP answer for the browser.
    pub sdp_answer: String,
    /// When the call will be hung up at the latest.
    pub expires_at: OffsetDateTime,
    /// The call's maximum duration.
    pub max_duration_secs: u32,
    /// Of the start's time, how long it waited on the provider (`POST /v1/realtime/calls`):
    /// the start's own overhead is its total minus this.
    pub provider_time: Duration,
}

/// A start refused for a reason the kiosk can explain; nothing billable was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartRefusal {
    /// The gym's or the global cap is reached.
    #[error("capacity reached ({0:?})")]
    CapacityReached(CapRefusal),
    /// The gym's or the platform's monthly budget is spent (hard stop on).
    #[error("monthly AI budget exhausted")]
    BudgetExhausted,
    /// No member with this badge in the kiosk's gym.
    #[error("member not found")]
    MemberNotFound,
    /// The membership is not active.
    #[error("membership inactive")]
    MembershipInactive,
    /// The member did not agree to voice conversations.
    #[error("voice consent missing")]
    ConsentMissing,
    /// The gym switched voice conversations off.
    #[error("voice conversations are disabled for this gym")]
    VoiceDisabled,
    /// The gym is not active (pending, suspended, archived…).
    #[error("the gym is not active")]
    GymInactive,
    /// The gym's stored settings do not validate: nothing runs on guessed defaults.
    #[error("the gym's stored settings are invalid")]
    GymMisconfigured,
    /// The provider refused or could not be reached (or this instance is shutting down).
    #[error("voice provider unavailable: {0}")]
    ProviderUnavailable(String),
}

impl StartRefusal {
    /// The stable code the kiosk explains.
    pub fn code(&self) -> &'static str {
        match self {
            StartRefusal::CapacityReached(_) => CapRefusal::CODE,
            StartRefusal::BudgetExhausted => "budget_exhausted",
            StartRefusal::MemberNotFound => "member_not_found",
            StartRefusal::MembershipInactive => "membership_inactive",
            StartRefusal::ConsentMissing => "consent_missing",
            StartRefusal::VoiceDisabled => "voice_disabled",
            StartRefusal::GymInactive => "gym_inactive",
            StartRefusal::GymMisconfigured => "gym_misconfigured",
            StartRefusal::ProviderUnavailable(_) => "provider_unavailable",
        }
    }
}

/// Why a start failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Refused with a code for the kiosk.
    #[error(transparent)]
    Refused(#[from] StartRefusal),
    /// Storage failed (the handler answers 503).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an end failed.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    /// No such session of this kiosk.
    #[error("voice session not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Inner {
    store: Arc<dyn Store>,
    client: OpenAiClient,
    cfg: VoiceConfig,
    tools: ToolRegistry,
    gym_tools: Option<Arc<dyn GymToolSource>>,
    alerts: Arc<dyn AlertEmails>,
    metrics: Arc<VoiceMetrics>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    calls: Mutex<HashMap<VoiceSessionId, mpsc::Sender<CallCommand>>>,
    /// Slot acquisitions of this instance that may wait on the database's slot lock at once.
    slot_gate: tokio::sync::Semaphore,
}

/// How many of an instance's starts may wait on the slot lock at once. Acquisitions are
/// serialized in the database anyway; a start waiting for the lock holds a pooled connection,
/// so without this gate a burst of starts parks the whole pool on the lock and starves every
/// other query (the 500-start process test measured 503s). The others wait here, holding
/// nothing.
const SLOT_GATE: usize = 2;

impl Inner {
    fn calls(&self) -> MutexGuard<'_, HashMap<VoiceSessionId, mpsc::Sender<CallCommand>>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A start that holds its slot: what the rest of the start needs.
struct Admitted {
    scope: jarvis_core::Scope,
    session: jarvis_core::model::VoiceSession,
    member: jarvis_core::MemberId,
    consent_transcripts: bool,
    kiosk: jarvis_core::KioskId,
    gym: jarvis_core::GymId,
    settings: GymSettings,
    language: Locale,
    now: OffsetDateTime,
    today: time::Date,
    prices: PriceTable,
    limits: BudgetLimits,
    lease: time::Duration,
    config: SessionConfig,
    tools: ToolRegistry,
    offer: String,
}

/// The voice broker of one instance. Cheap to clone.
#[derive(Clone)]
pub struct VoiceBroker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for VoiceBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceBroker")
            .field("instance", &self.inner.cfg.instance)
            .field("live_calls", &self.live_calls())
            .finish()
    }
}

fn voice_name(v: jarvis_core::model::Voice) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "marin".to_owned())
}

fn page(limit: u32) -> StoreResult<PageRequest> {
    PageRequest::new(Some(limit), None).map_err(|e| StoreError::Internal(e.message))
}

impl VoiceBroker {
    /// A broker whose call tasks run on `tracker` and stop (ending as `shutdown`) when
    /// `shutdown` is cancelled; built-in tools, no alert e-mails.
    pub fn new(
        store: Arc<dyn Store>,
        client: OpenAiClient,
        cfg: VoiceConfig,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let tools = assistant_tools();
        VoiceBroker {
            inner: Arc::new(Inner {
                store,
                client,
                cfg,
                tools,
                gym_tools: None,
                alerts: Arc::new(NoAlertEmails),
                metrics: Arc::new(VoiceMetrics::default()),
                tracker,
                shutdown,
                calls: Mutex::new(HashMap::new()),
                slot_gate: tokio::sync::Semaphore::new(SLOT_GATE),
            }),
        }
    }

    fn rebuild(self, f: impl FnOnce(&mut Inner)) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                f(&mut inner);
                VoiceBroker {
                    inner: Arc::new(inner),
                }
            }
            // Builders are meant for construction time, before any clone exists.
            Err(inner) => {
                tracing::error!("VoiceBroker builder called on a shared broker: ignored");
                VoiceBroker { inner }
            }
        }
    }

    /// Replaces the tools offered to every call (e.g. built-ins plus custom tools). Call it
    /// before cloning the broker.
    pub fn with_tools(self, tools: ToolRegistry) -> Self {
        self.rebuild(|i| i.tools = tools)
    }

    /// Adds each gym's own tools (custom HTTP tools) to its calls, looked up at call start.
    /// Call it before cloning the broker.
    pub fn with_gym_tools(self, source: Arc<dyn GymToolSource>) -> Self {
        self.rebuild(|i| i.gym_tools = Some(source))
    }

    /// The tools a call of `gym` gets: the broker's tools plus the gym's own.
    pub async fn tools_for_gym(
        &self,
        scope: &jarvis_core::Scope,
        gym: jarvis_core::GymId,
    ) -> ToolRegistry {
        crate::tools::tools_for_call(
            &self.inner.tools,
            self.inner.gym_tools.as_deref(),
            scope,
            gym,
        )
        .await
    }

    /// Sets who builds the e-mails of budget alerts. Call it before cloning the broker.
    pub fn with_alert_emails(self, alerts: Arc<dyn AlertEmails>) -> Self {
        self.rebuild(|i| i.alerts = alerts)
    }

    /// The tools offered to every call (what simulations must run too).
    pub fn tools(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// The broker's counters.
    pub fn metrics(&self) -> Arc<VoiceMetrics> {
        self.inner.metrics.clone()
    }

    /// Calls running on this instance.
    pub fn live_calls(&self) -> usize {
        self.inner.calls().len()
    }

    /// Starts a call for the member holding `badge_id` at `kiosk`: checks, acquires a slot,
    /// relays `sdp_offer` to the provider and spawns the call's task. Returns once the call
    /// runs; the call itself never blocks the caller.
    pub async fn start(
        &self,
        kiosk: &KioskIdentity,
        badge_id: &str,
        sdp_offer: &str,
    ) -> Result<Started, StartError> {
        self.start_with(kiosk, badge_id, sdp_offer, None).await
    }

    /// Starts a public demo call (`/demo`): as [`start`](Self::start) for the demo visitor's
    /// badge at the demo kiosk, with the duration capped at `max_secs` (the gym's own maximum
    /// still applies when shorter) and the session flagged as a demo.
    pub async fn start_demo(
        &self,
        kiosk: &KioskIdentity,
        badge_id: &str,
        sdp_offer: &str,
        max_secs: u32,
    ) -> Result<Started, StartError> {
        self.start_with(kiosk, badge_id, sdp_offer, Some(max_secs.max(1)))
            .await
    }

    async fn start_with(
        &self,
        kiosk: &KioskIdentity,
        badge_id: &str,
        sdp_offer: &str,
        demo_max_secs: Option<u32>,
    ) -> Result<Started, StartError> {
        let r = self
            .try_start(kiosk, badge_id, sdp_offer, demo_max_secs)
            .instrument(tracing::debug_span!("voice.start", kiosk = %kiosk.kiosk.id))
            .await;
        if let Err(StartError::Refused(refusal)) = &r {
            VoiceMetrics::inc(&self.inner.metrics.starts_refused);
            tracing::info!(kiosk = %kiosk.kiosk.id, code = refusal.code(), "voice start refused");
        }
        r
    }

    async fn try_start(
        &self,
        kiosk: &KioskIdentity,
        badge_id: &str,
        sdp_offer: &str,
        demo_max_secs: Option<u32>,
    ) -> Result<Started, StartError> {
        let inner = &self.inner;
        if inner.shutdown.is_cancelled() {
            return Err(StartRefusal::ProviderUnavailable("instance shutting down".into()).into());
        }
        let store = inner.store.as_ref();
        let gym = &kiosk.gym;
        let scope = kiosk.scope();
        // The core rule, never defaults: a corrupt settings row would otherwise run (and bill)
        // on a default cap and budget.
        let settings = match gym.kiosk_readiness() {
            Ok(s) => s,
            Err(GymNotReady::Inactive(_)) => return Err(StartRefusal::GymInactive.into()),
            Err(GymNotReady::Misconfigured(e)) => {
                tracing::warn!(gym = %gym.id, error = ?e, "stored gym settings are invalid; voice start refused");
                return Err(StartRefusal::GymMisconfigured.into());
            }
        };
        if !settings.features.voice {
            return Err(StartRefusal::VoiceDisabled.into());
        }
        let now = OffsetDateTime::now_utc();
        // The gym's wall clock: its "today" decides the membership end date, the day's classes
        // and what the assistant says the date and time are.
        let local = gym.local_now(now).unwrap_or_else(|e| {
            tracing::error!(gym = %gym.id, error = %e, "gym time zone unavailable; using UTC");
            now
        });
        let member = match store.member_by_badge(&scope, gym.id, badge_id).await {
            Ok(m) => m,
            Err(StoreError::NotFound(_)) => return Err(StartRefusal::MemberNotFound.into()),
            Err(e) => return Err(e.into()),
        };
        match member.kiosk_eligibility(local.date()) {
            KioskEligibility::Eligible => {}
            KioskEligibility::MembershipInactive => {
                return Err(StartRefusal::MembershipInactive.into());
            }
            KioskEligibility::ConsentMissing => return Err(StartRefusal::ConsentMissing.into()),
        }
        // Every line busy: refuse now with one lock-free count instead of reading the budgets
        // and the whole prompt first. Under a burst of starts at a full platform this keeps the
        // refused ones cheap, so they do not starve the database pool of the admitted ones.
        // Admission itself stays the atomic acquire below.
        if let Some(full) = store.slot_usage(&scope, gym.id).await?.full() {
            return Err(StartRefusal::CapacityReached(full).into());
        }
        let platform = store.platform_settings().await?;
        let limits = BudgetLimits {
            franchise: gym.franchise_id,
            gym: gym.id,
            gym_budget_micros: settings.monthly_ai_budget_micros,
            platform_budget_micros: platform.monthly_budget_micros,
            hard_stop: platform.hard_stop,
        };
        let verdict = budget::check(store, &limits, inner.alerts.as_ref(), now).await?;
        if verdict.stop(limits.hard_stop) {
            return Err(StartRefusal::BudgetExhausted.into());
        }

        // Everything the prompt needs, read before a slot is held.
        let language = member.preferred_language;
        let tools = self.tools_for_gym(&scope, gym.id).await;
        let prompt =
            assistant_prompt(store, &scope, gym, &settings, &member, local, &tools).await?;
        let prices = store.price_table_at(now).await?;

        let lease =
            time::Duration::try_from(inner.cfg.lease).unwrap_or(time::Duration::seconds(30));
        let new = NewVoiceSession {
            member_id: member.id,
            kiosk_id: Some(kiosk.kiosk.id),
            owner: inner.cfg.instance,
            lease,
            model: platform.realtime_model.clone(),
            transcription_model: Some(platform.transcription_model.clone()),
            language,
            max_duration_secs: demo_max_secs.map_or(settings.voice.max_call_secs, |m| {
                m.min(settings.voice.max_call_secs)
            }),
        }
        .validate()
        .map_err(|e| StoreError::Invalid {
            field: "voice_session",
            message: format!("{e:?}"),
        })?;
        let session = {
            let _turn =
                inner.slot_gate.acquire().await.map_err(|_| {
                    StartRefusal::ProviderUnavailable("instance shutting down".into())
                })?;
            // Our turn: a burst may have filled the caps while this start waited; refusing on a
            // lock-free count keeps the refusals of a burst off the lock.
            if let Some(full) = store.slot_usage(&scope, gym.id).await?.full() {
                return Err(StartRefusal::CapacityReached(full).into());
            }
            match store.start_session(&scope, gym.id, new).await? {
                Ok(s) => s,
                Err(cap) => return Err(StartRefusal::CapacityReached(cap).into()),
            }
        };
        // A demo call is flagged before anything billable happens, so its cost never counts
        // as a member's.
        if demo_max_secs.is_some()
            && let Err(e) = store.mark_demo_session(&scope, session.id).await
        {
            self.abort_start(&scope, session.id, None).await;
            return Err(e.into());
        }

        // From here the slot is held: every failure ends the session (`start_failed`). The rest
        // runs as a tracked task, so a caller that gives up (request timeout, client gone) cannot
        // strand the slot or leave a provider call without its task.
        let config = session_config(
            &platform.realtime_model,
            &platform.transcription_model,
            prompt,
            language,
            voice_name(settings.persona.voice),
            &tools,
            Modality::Audio,
        );
        let admitted = Admitted {
            scope,
            session,
            member: member.id,
            consent_transcripts: member.consent_transcripts,
            kiosk: kiosk.kiosk.id,
            gym: gym.id,
            settings,
            language,
            now,
            today: local.date(),
            prices,
            limits,
            lease,
            config,
            tools,
            offer: sdp_offer.to_owned(),
        };
        let me = self.clone();
        match inner
            .tracker
            .spawn(async move { me.launch(admitted).await })
            .await
        {
            Ok(r) => r,
            Err(e) => Err(StoreError::Internal(format!("voice start task: {e}")).into()),
        }
    }

    /// Relays the offer, activates the session and spawns the call's task.
    async fn launch(&self, a: Admitted) -> Result<Started, StartError> {
        let inner = &self.inner;
        let store = inner.store.as_ref();
        let Admitted {
            scope,
            session,
            member,
            consent_transcripts,
            kiosk,
            gym,
            settings,
            language,
            now,
            today,
            prices,
            limits,
            lease,
            config,
            tools,
            offer,
        } = a;
        let created = match inner.client.create_call(&offer, &config).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(session = %session.id, error = %e, "provider refused the call");
                self.abort_start(&scope, session.id, None).await;
                return Err(StartRefusal::ProviderUnavailable(e.to_string()).into());
            }
        };
        let activated = store
            .activate(&scope, session.id, inner.cfg.instance, &created.call_id)
            .await;
        match activated {
            Ok(true) => {}
            Ok(false) => {
                // The lease ran out while the provider answered (the reaper may have freed it).
                self.abort_start(&scope, session.id, Some(&created.call_id))
                    .await;
                return Err(
                    StartRefusal::ProviderUnavailable("slot lost while starting".into()).into(),
                );
            }
            Err(e) => {
                self.abort_start(&scope, session.id, Some(&created.call_id))
                    .await;
                return Err(e.into());
            }
        }
        let session = store
            .voice_session(&scope, session.id)
            .await
            .unwrap_or(session);

        let storage = settings.storage_level_for(consent_transcripts);
        let settings = Arc::new(settings);
        let ctx = CallContext::new(CallBinding {
            store: inner.store.clone(),
            scope,
            gym,
            member,
            session: session.id,
            kiosk: Some(kiosk),
            language,
            today,
            settings: settings.clone(),
            storage,
        });
        let max_duration_secs = session.max_duration_secs;
        let (tx, rx) = mpsc::channel(8);
        let spec = CallSpec {
            store: inner.store.clone(),
            client: inner.client.clone(),
            session: session.clone(),
            call_id: created.call_id.clone(),
            ctx,
            tools,
            prices: prices_or_default(prices),
            budgets: limits,
            alerts: inner.alerts.clone(),
            metrics: inner.metrics.clone(),
            instance: inner.cfg.instance,
            lease,
            heartbeat: inner.cfg.heartbeat,
            idle: inner
                .cfg
                .idle_override
                .unwrap_or(Duration::from_secs(u64::from(
                    settings.voice.idle_timeout_secs,
                ))),
            max_duration: inner
                .cfg
                .max_duration_override
                .unwrap_or(Duration::from_secs(u64::from(max_duration_secs))),
            drain: inner.cfg.drain,
            max_context_items: settings.voice.max_context_turns as usize,
            storage,
            shutdown: inner.shutdown.child_token(),
            commands: rx,
        };
        inner.calls().insert(session.id, tx);
        let me = self.inner.clone();
        let id = session.id;
        inner.tracker.spawn(async move {
            call::run(spec).await;
            me.calls().remove(&id);
        });
        Ok(Started {
            session_id: session.id,
            sdp_answer: created.sdp_answer,
            expires_at: now + time::Duration::seconds(i64::from(max_duration_secs)),
            max_duration_secs,
            provider_time: created.provider_time,
        })
    }

    /// Frees the slot of a start that failed after acquiring it.
    async fn abort_start(
        &self,
        scope: &jarvis_core::Scope,
        id: VoiceSessionId,
        call_id: Option<&str>,
    ) {
        if let Some(call_id) = call_id
            && let Err(e) = self.inner.client.hangup(call_id).await
        {
            tracing::warn!(session = %id, error = %e, "hang-up of an aborted start failed");
        }
        if let Err(e) = self
            .inner
            .store
            .end_session(scope, id, EndReason::StartFailed, OffsetDateTime::now_utc())
            .await
        {
            // The lease expires on its own; the slot is free then.
            tracing::error!(session = %id, error = %e, "cannot end an aborted start");
        }
    }

    /// The kiosk's end button: ends one of its own sessions (`member_ended`). Ending a session
    /// that already ended is not an error.
    pub async fn end(
        &self,
        kiosk: &KioskIdentity,
        session_id: VoiceSessionId,
    ) -> Result<(), EndError> {
        let scope = kiosk.scope();
        let session = match self.inner.store.voice_session(&scope, session_id).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => return Err(EndError::NotFound),
            Err(e) => return Err(e.into()),
        };
        if session.kiosk_id != Some(kiosk.kiosk.id) {
            return Err(EndError::NotFound);
        }
        if !session.is_live() {
            return Ok(());
        }
        let local = self.inner.calls().get(&session_id).cloned();
        if let Some(tx) = local
            && tx
                .send(CallCommand::End(EndReason::MemberEnded))
                .await
                .is_ok()
        {
            return Ok(());
        }
        // Owned by another instance (or its task is finishing): end it here; the owner sees
        // the lease gone on its next renewal and closes its socket.
        if self
            .inner
            .store
            .end_session(
                &scope,
                session_id,
                EndReason::MemberEnded,
                OffsetDateTime::now_utc(),
            )
            .await?
        {
            crate::analysis::enqueue_analysis(self.inner.store.as_ref(), &session).await;
        }
        if let Some(call_id) = session.provider_call_id.as_deref()
            && let Err(e) = self.inner.client.hangup(call_id).await
        {
            tracing::warn!(session = %session_id, error = %e, "provider hang-up failed");
        }
        Ok(())
    }

    /// Asks a call running on this instance to end (e.g. a budget stop decided elsewhere).
    /// False when the call does not run here.
    pub async fn command(&self, session_id: VoiceSessionId, cmd: CallCommand) -> bool {
        let tx = self.inner.calls().get(&session_id).cloned();
        match tx {
            Some(tx) => tx.send(cmd).await.is_ok(),
            None => false,
        }
    }
}

/// The price table, never empty: an empty table would meter every call at zero.
fn prices_or_default(t: PriceTable) -> PriceTable {
    if t.iter().next().is_none() {
        tracing::error!("no model prices stored; using the built-in published prices");
        PriceTable::default_2026()
    } else {
        t
    }
}

/// The tools every assistant is offered: what [`VoiceBroker::new`] starts with and what
/// simulations run. The one place to add tools for every call.
pub fn assistant_tools() -> ToolRegistry {
    ToolRegistry::builtin()
}

/// The assistant's instructions for `member` at `gym`, from everything the prompt needs (the
/// day's classes, the member's facts, the last conversation's summary, the tool names): the
/// same for a member's call and for a simulation.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn assistant_prompt(
    store: &dyn Store,
    scope: &jarvis_core::Scope,
    gym: &jarvis_core::model::Gym,
    settings: &GymSettings,
    member: &jarvis_core::model::Member,
    local: OffsetDateTime,
    tools: &ToolRegistry,
) -> StoreResult<String> {
    let classes = store
        .list_classes(scope, gym.id, None, page(200)?)
        .await?
        .items;
    let facts = store
        .list_facts(
            scope,
            gym.id,
            member.id,
            page(instructions::MAX_FACTS as u32)?,
        )
        .await?
        .items;
    let last_summary = store.last_summary(scope, gym.id, member.id).await?;
    let tool_names = tools.names();
    Ok(instructions::build(&InstructionsInput {
        gym,
        settings,
        member,
        language: member.preferred_language,
        now: local,
        classes: &classes,
        facts: &facts,
        last_summary: last_summary.as_ref(),
        tool_names: &tool_names,
    }))
}

/// How the assistant talks: audio at the kiosk, text in simulations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Modality {
    /// Speech in and out (WebRTC calls).
    Audio,
    /// Text in and out (the realtime API's text path).
    Text,
}

/// The session given to the provider with the offer: everything is decided here, on the
/// server, so the kiosk never sees the prompt, the tools or the key. Simulations use the same
/// session with the text modality.
pub(crate) fn session_config(
    model: &str,
    transcription_model: &str,
    instructions: String,
    language: Locale,
    voice: String,
    tools: &ToolRegistry,
    modality: Modality,
) -> SessionConfig {
    let mut cfg = SessionConfig::realtime(model);
    cfg.instructions = Some(instructions);
    if modality == Modality::Text {
        cfg.output_modalities = Some(vec!["text".to_owned()]);
        cfg.tools = Some(tools.definitions());
        cfg.tool_choice = Some(json!("auto"));
        cfg.truncation = Some(json!({"type": "retention_ratio", "retention_ratio": 0.8}));
        return cfg;
    }
    cfg.output_modalities = Some(vec!["audio".to_owned()]);
    cfg.audio = Some(AudioConfig {
        input: Some(AudioInput {
            transcription: Some(
                json!({"model": transcription_model, "language": language.as_str()}),
            ),
            noise_reduction: Some(json!({"type": "far_field"})),
            turn_detection: Some(json!({"type": "server_vad", "create_response": true,
                "interrupt_response": true})),
            ..Default::default()
        }),
        output: Some(AudioOutput {
            voice: Some(Voice::Named(voice)),
            ..Default::default()
        }),
        ..Default::default()
    });
    cfg.tools = Some(tools.definitions());
    cfg.tool_choice = Some(json!("auto"));
    // Context stays bounded: the provider drops the oldest turns past 80 % of its window.
    cfg.truncation = Some(json!({"type": "retention_ratio", "retention_ratio": 0.8}));
    cfg
}

/// What a reaper pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReapReport {
    /// Sessions ended as `reaped` by this pass.
    pub reaped: u32,
    /// Of those, calls hung up at the provider.
    pub hung_up: u32,
}

/// The reaper job: ends, as `reaped`, the live sessions of instances silent for longer than
/// `stale_after` (crash, `kill -9`) and every live session whose lease expired, and hangs
/// those calls up at the provider. Safe on any number of instances at once (an end happens
/// once).
pub async fn reap(
    store: &dyn Store,
    client: &OpenAiClient,
    stale_after: Duration,
) -> StoreResult<ReapReport> {
    let silent = time::Duration::try_from(stale_after).unwrap_or(time::Duration::seconds(60));
    let owners: Vec<InstanceId> = store
        .stale_instances(silent)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut sessions = if owners.is_empty() {
        Vec::new()
    } else {
        store.sessions_of_instances(&owners).await?
    };
    for s in store.expired_leases(1000).await? {
        if !sessions.iter().any(|x| x.id == s.id) {
            sessions.push(s);
        }
    }
    let mut report = ReapReport::default();
    for s in sessions {
        if !store
            .end_session(
                &s.scope(),
                s.id,
                EndReason::Reaped,
                OffsetDateTime::now_utc(),
            )
            .await?
        {
            continue;
        }
        report.reaped += 1;
        crate::analysis::enqueue_analysis(store, &s).await;
        tracing::warn!(session = %s.id, owner = %s.owner_instance_id, "reaped a voice session");
        if let Some(call_id) = s.provider_call_id.as_deref() {
            match tokio::time::timeout(Duration::from_secs(10), client.hangup(call_id)).await {
                Ok(Ok(())) => report.hung_up += 1,
                Ok(Err(e)) => tracing::warn!(session = %s.id, error = %e, "reaper hang-up failed"),
                Err(_) => tracing::warn!(session = %s.id, "reaper hang-up timed out"),
            }
        }
    }
    Ok(report)
}
