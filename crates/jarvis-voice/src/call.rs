//! One task per call: it owns the call's sideband WebSocket from the start of the call to its
//! end and `select!`s over provider events, its command channel, the idle and max-duration
//! timers, the shutdown token and its slot-lease heartbeat. Whatever happens, [`run`] ends
//! the session exactly once with one [`EndReason`] (freeing the slot) and hangs up at the
//! provider.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use jarvis_core::cost::{PriceTable, TokenUsage};
use jarvis_core::model::{
    EndReason, NewTurn, ResponseUsage, StorageLevel, TranscriptionBilling, TranscriptionUsage,
    TurnRole, VoiceSession,
};
use jarvis_core::{InstanceId, Scope, VoiceSessionId};
use jarvis_openai::realtime::{
    ClientEvent, OutputItem, RealtimeResponse, RealtimeUsage, ServerEvent,
    TranscriptionUsage as WireTranscriptionUsage,
};
use jarvis_openai::{OpenAiClient, Sideband};
use jarvis_store::{Renewal, Store};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::budget::{self, AlertEmails, BudgetLimits};
use crate::metrics::VoiceMetrics;
use crate::tools::{CallContext, ToolEffect, ToolRegistry};

/// How long the provider may take to hang up before the session is ended anyway.
const HANGUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A command to a running call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCommand {
    /// Hang up with this reason (`member_ended` from the kiosk, `budget_exhausted`, …).
    End(EndReason),
}

/// Everything a call task needs; built by the broker once the call is active.
pub(crate) struct CallSpec {
    pub store: Arc<dyn Store>,
    pub client: OpenAiClient,
    pub session: VoiceSession,
    pub call_id: String,
    pub ctx: CallContext,
    pub tools: ToolRegistry,
    pub prices: PriceTable,
    pub budgets: BudgetLimits,
    pub alerts: Arc<dyn AlertEmails>,
    pub metrics: Arc<VoiceMetrics>,
    pub instance: InstanceId,
    pub lease: time::Duration,
    pub heartbeat: Duration,
    pub idle: Duration,
    pub max_duration: Duration,
    pub drain: Duration,
    /// Most conversation items kept in the provider's context (the gym's `max_context_turns`).
    pub max_context_items: usize,
    pub storage: StorageLevel,
    pub shutdown: CancellationToken,
    pub commands: mpsc::Receiver<CallCommand>,
}

/// What the loop decided.
type Step = Option<EndReason>;

struct Call {
    spec: CallSpec,
    scope: Scope,
    id: VoiceSessionId,
    model: String,
    transcription_model: Option<String>,
    last_activity: Instant,
    /// When the member last stopped speaking, until the first assistant audio after it.
    speech_stopped_at: Option<Instant>,
    /// Responsiveness measured for the next assistant turn.
    pending_latency_ms: Option<u32>,
    /// Conversation item ids in the provider's context, oldest first.
    items: VecDeque<String>,
}

/// Runs the call to its end; returns the reason it ended with.
pub(crate) async fn run(spec: CallSpec) -> EndReason {
    let session = spec.session.clone();
    let mut call = Call {
        scope: session.scope(),
        id: session.id,
        model: session.model.clone(),
        transcription_model: session.transcription_model.clone(),
        last_activity: Instant::now(),
        speech_stopped_at: None,
        pending_latency_ms: None,
        items: VecDeque::new(),
        spec,
    };
    VoiceMetrics::inc(&call.spec.metrics.calls_started);
    let reason = match call.spec.client.connect_sideband(&call.spec.call_id).await {
        Ok(mut sb) => {
            let reason = call.select_loop(&mut sb).await;
            call.hang_up().await;
            // Bill what the provider still sends after the hang-up (a response in flight).
            call.drain(&mut sb).await;
            let _ = sb.close().await;
            reason
        }
        Err(e) => {
            tracing::error!(session = %call.id, call_id = %call.spec.call_id, error = %e,
                "cannot open the sideband; hanging up");
            call.hang_up().await;
            EndReason::SidebandLost
        }
    };
    call.finish(reason).await;
    VoiceMetrics::inc(&call.spec.metrics.calls_ended);
    reason
}

impl Call {
    async fn select_loop(&mut self, sb: &mut Sideband) -> EndReason {
        let started = Instant::now();
        let max_deadline = started + self.spec.max_duration;
        let mut heartbeat =
            tokio::time::interval_at(started + self.spec.heartbeat, self.spec.heartbeat);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut commands_open = true;
        loop {
            let idle_deadline = self.last_activity + self.spec.idle;
            let step: Step = tokio::select! {
                biased;
                _ = self.spec.shutdown.cancelled() => Some(EndReason::Shutdown),
                cmd = self.spec.commands.recv(), if commands_open => match cmd {
                    Some(CallCommand::End(reason)) => Some(reason),
                    None => { commands_open = false; None }
                },
                _ = heartbeat.tick() => self.renew().await,
                _ = tokio::time::sleep_until(max_deadline) => Some(EndReason::MaxDuration),
                _ = tokio::time::sleep_until(idle_deadline) => Some(EndReason::Idle),
                ev = sb.next_event() => match ev {
                    Ok(Some(ev)) => self.on_event(sb, ev, true).await,
                    Ok(None) => {
                        let end = sb.ended().cloned();
                        tracing::warn!(session = %self.id, ?end, "provider closed the sideband");
                        Some(if end.is_some_and(|e| e.reason.contains("expired")) {
                            EndReason::ProviderError
                        } else {
                            EndReason::SidebandLost
                        })
                    }
                    Err(e) => {
                        tracing::warn!(session = %self.id, error = %e, "sideband lost");
                        Some(EndReason::SidebandLost)
                    }
                },
            };
            if let Some(reason) = step {
                return reason;
            }
        }
    }

    /// Renews the slot lease; a hang-up asked from the dashboard arrives here.
    async fn renew(&mut self) -> Step {
        match self
            .spec
            .store
            .renew_lease(&self.scope, self.id, self.spec.instance, self.spec.lease)
            .await
        {
            Ok(Renewal::Renewed) => None,
            Ok(Renewal::HangUpRequested) => Some(EndReason::StaffEnded),
            Ok(Renewal::Lost) => {
                tracing::warn!(session = %self.id, "slot lease lost; hanging up");
                Some(EndReason::LeaseLost)
            }
            Err(e) => {
                // The lease outlives a few missed renewals; a lasting outage ends as lease_lost.
                VoiceMetrics::inc(&self.spec.metrics.store_errors);
                tracing::error!(session = %self.id, error = %e, "lease renewal failed");
                None
            }
        }
    }

    /// Handles one provider event; `live` is false while draining after the hang-up (then only
    /// metering happens: no tools, no new responses).
    async fn on_event(&mut self, sb: &mut Sideband, ev: ServerEvent, live: bool) -> Step {
        match ev {
            ServerEvent::SessionCreated { session } => {
                if let Some(sid) = session.id.as_deref()
                    && let Err(e) = self
                        .spec
                        .store
                        .set_provider_session(&self.scope, self.id, sid)
                        .await
                {
                    VoiceMetrics::inc(&self.spec.metrics.store_errors);
                    tracing::error!(session = %self.id, error = %e, "cannot store provider session id");
                }
                self.follow_session(&session);
                None
            }
            ServerEvent::SessionUpdated { session } => {
                self.follow_session(&session);
                None
            }
            ServerEvent::InputTranscriptionCompleted {
                transcript, usage, ..
            } => {
                self.last_activity = Instant::now();
                self.meter_transcription(&transcript, usage.as_ref()).await;
                None
            }
            ServerEvent::ResponseDone { response } => {
                self.last_activity = Instant::now();
                self.on_response_done(sb, &response, live).await
            }
            ServerEvent::Error { error } => {
                let code = error.code.as_deref().unwrap_or("");
                let kind = error.kind.as_deref().unwrap_or("");
                let fatal = matches!(
                    code,
                    "session_expired"
                        | "invalid_api_key"
                        | "insufficient_quota"
                        | "credit_balance_exhausted"
                        | "beta_api_shape_disabled"
                ) || kind == "insufficient_quota";
                if fatal {
                    tracing::error!(session = %self.id, code, message = %error.message,
                        "provider error ends the call");
                    Some(EndReason::ProviderError)
                } else {
                    tracing::warn!(session = %self.id, code, message = %error.message,
                        "provider error (recoverable)");
                    None
                }
            }
            ServerEvent::Unknown { event_type, raw } => {
                self.on_other(&event_type, &raw);
                None
            }
            ServerEvent::Malformed {
                event_type,
                error,
                raw,
            } => {
                VoiceMetrics::inc(&self.spec.metrics.malformed_events);
                tracing::error!(session = %self.id, %event_type, %error,
                    "malformed provider event");
                if event_type == "response.done" {
                    self.salvage_response(&raw).await;
                }
                None
            }
            ServerEvent::OutputAudioTranscriptDone { .. }
            | ServerEvent::FunctionCallArgumentsDone { .. }
            | ServerEvent::RateLimitsUpdated { .. } => None,
        }
    }

    fn follow_session(&mut self, session: &jarvis_openai::realtime::SessionConfig) {
        if let Some(m) = session.model.as_deref().filter(|m| !m.is_empty()) {
            self.model = m.to_owned();
        }
        if let Some(t) = session.transcription_model() {
            self.transcription_model = Some(t.to_owned());
        }
    }

    /// Events the typed parser leaves alone: speech and audio timing.
    fn on_other(&mut self, event_type: &str, raw: &Value) {
        match event_type {
            // Every item that enters the context (member audio, assistant messages, function
            // calls and their outputs), once.
            "conversation.item.done" | "response.output_item.done" => {
                if let Some(id) = raw.pointer("/item/id").and_then(Value::as_str)
                    && !self.items.iter().any(|i| i == id)
                {
                    self.items.push_back(id.to_owned());
                }
            }
            "conversation.item.deleted" => {
                if let Some(id) = raw.get("item_id").and_then(Value::as_str) {
                    self.items.retain(|i| i != id);
                }
            }
            "input_audio_buffer.speech_started" => self.last_activity = Instant::now(),
            "input_audio_buffer.speech_stopped" => {
                let now = Instant::now();
                self.last_activity = now;
                self.speech_stopped_at = Some(now);
            }
            // The first assistant audio after the member stopped speaking: over WebSocket audio
            // arrives as deltas, over WebRTC the output buffer starts.
            "response.output_audio.delta" | "output_audio_buffer.started" => {
                if let Some(at) = self.speech_stopped_at.take() {
                    let ms = u32::try_from(at.elapsed().as_millis()).unwrap_or(u32::MAX);
                    self.pending_latency_ms = Some(ms);
                }
            }
            "conversation.item.input_audio_transcription.failed" => {
                tracing::warn!(session = %self.id, "input transcription failed");
            }
            _ => {}
        }
    }

    async fn on_response_done(
        &mut self,
        sb: &mut Sideband,
        response: &RealtimeResponse,
        live: bool,
    ) -> Step {
        // Trim first: the next response (asked for below, or by the member's next turn) then
        // re-reads a bounded context.
        let trimmed = if live {
            self.bound_context(response.output.len(), sb).await
        } else {
            Ok(())
        };
        self.meter_response(response).await;
        if let Err(e) = trimmed {
            tracing::warn!(session = %self.id, error = %e, "cannot trim the context");
            return Some(EndReason::SidebandLost);
        }
        if response.status == "failed" {
            tracing::warn!(session = %self.id, response = %response.id,
                code = response.error_code().unwrap_or(""), "response failed");
        }
        let stop = self.check_budgets().await;
        if !live {
            return None;
        }
        // Every function call of the response, in order; then one response.create.
        let calls: Vec<(String, String, String)> = response
            .function_calls()
            .map(|(c, n, a)| (c.to_owned(), n.to_owned(), a.to_owned()))
            .collect();
        let mut end = stop.then_some(EndReason::BudgetExhausted);
        if !calls.is_empty() {
            let mut outputs = Vec::with_capacity(calls.len());
            for (call_id, name, args) in &calls {
                let ex = self
                    .spec
                    .tools
                    .execute(&self.spec.ctx, call_id, name, args)
                    .await;
                VoiceMetrics::inc(&self.spec.metrics.tool_calls);
                if ex.failed {
                    VoiceMetrics::inc(&self.spec.metrics.tool_errors);
                }
                if ex.effect == Some(ToolEffect::EndCall) && end.is_none() {
                    end = Some(EndReason::AssistantEnded);
                }
                outputs.push(ex);
            }
            for ex in outputs {
                if let Err(e) = sb
                    .send(&ClientEvent::function_output(ex.call_id, ex.output))
                    .await
                {
                    tracing::warn!(session = %self.id, error = %e, "cannot send a tool output");
                    return Some(end.unwrap_or(EndReason::SidebandLost));
                }
            }
            // A failed response is not followed up blindly (the provider may hang on it).
            if end.is_none()
                && response.status != "failed"
                && let Err(e) = sb.send(&ClientEvent::response_create()).await
            {
                tracing::warn!(session = %self.id, error = %e, "cannot ask for a response");
                return Some(EndReason::SidebandLost);
            }
        }
        if end == Some(EndReason::BudgetExhausted) {
            VoiceMetrics::inc(&self.spec.metrics.budget_stops);
        }
        end
    }

    /// Deletes the oldest items beyond the gym's bound, so every response re-reads (and bills)
    /// a bounded context. The `protect` newest items (this response's own) always stay.
    async fn bound_context(
        &mut self,
        protect: usize,
        sb: &mut Sideband,
    ) -> Result<(), jarvis_openai::OpenAiError> {
        let keep = self.spec.max_context_items.max(protect);
        while self.items.len() > keep {
            let Some(id) = self.items.pop_front() else {
                break;
            };
            sb.send(&ClientEvent::delete_item(id)).await?;
            VoiceMetrics::inc(&self.spec.metrics.context_items_deleted);
        }
        Ok(())
    }

    /// What the assistant said in a response: the transcripts/texts of its messages.
    fn assistant_text(response: &RealtimeResponse) -> String {
        let mut parts = Vec::new();
        for item in &response.output {
            if let OutputItem::Message { content, .. } = item {
                for c in content {
                    let t = c
                        .get("transcript")
                        .and_then(Value::as_str)
                        .or_else(|| c.get("text").and_then(Value::as_str));
                    if let Some(t) = t.filter(|t| !t.is_empty()) {
                        parts.push(t.to_owned());
                    }
                }
            }
        }
        parts.join(" ")
    }

    /// Prices a usage at the session's model; unpriced usage is recorded at zero and alarmed.
    fn price(&self, usage: &TokenUsage, what: &str) -> u64 {
        match self.spec.prices.cost_pico(&self.model, usage) {
            Some(c) => c,
            None => {
                VoiceMetrics::inc(&self.spec.metrics.unpriced_usages);
                tracing::error!(session = %self.id, model = %self.model, what,
                    "no price for the model: usage recorded at zero cost");
                0
            }
        }
    }

    async fn meter_response(&mut self, response: &RealtimeResponse) {
        let Some(usage) = response.usage.as_ref() else {
            VoiceMetrics::inc(&self.spec.metrics.unbilled_usages);
            tracing::error!(session = %self.id, response = %response.id,
                "response.done without usage");
            return;
        };
        let text = Self::assistant_text(response);
        let latency = self.pending_latency_ms.take();
        self.record_response(&response.id, usage, Some(text), latency)
            .await;
    }

    async fn record_response(
        &mut self,
        response_id: &str,
        usage: &RealtimeUsage,
        text: Option<String>,
        latency: Option<u32>,
    ) {
        let now = OffsetDateTime::now_utc();
        let tokens = usage.to_token_usage();
        let cost = self.price(&tokens, "response");
        // A response without words (only function calls) carries no turn; its cost is on the
        // session and the day.
        let turn = text.filter(|t| !t.is_empty()).map(|t| {
            let t = NewTurn::new(self.spec.storage, TurnRole::Assistant, &t, now);
            match latency {
                Some(ms) => t.with_latency_ms(ms),
                None => t,
            }
        });
        let usage = ResponseUsage {
            response_id: response_id.to_owned(),
            at: now,
            usage: tokens,
            cost_pico: cost,
        };
        for attempt in 0..2 {
            match self
                .spec
                .store
                .record_response(&self.scope, self.id, usage.clone(), turn.clone())
                .await
            {
                Ok(_) => {
                    VoiceMetrics::inc(&self.spec.metrics.responses_metered);
                    return;
                }
                Err(e) => {
                    VoiceMetrics::inc(&self.spec.metrics.store_errors);
                    tracing::error!(session = %self.id, response = response_id, attempt,
                        cost_pico = cost, error = %e, "cannot record a response's cost");
                }
            }
        }
    }

    /// A `response.done` the parser could not read: bill its usage if that part is readable.
    async fn salvage_response(&mut self, raw: &Value) {
        let id = raw
            .pointer("/response/id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match raw
            .pointer("/response/usage")
            .cloned()
            .map(serde_json::from_value::<RealtimeUsage>)
        {
            Some(Ok(usage)) => self.record_response(&id, &usage, None, None).await,
            _ => {
                VoiceMetrics::inc(&self.spec.metrics.unbilled_usages);
                tracing::error!(session = %self.id, response = %id,
                    "unreadable response.done: its usage cannot be billed");
            }
        }
    }

    async fn meter_transcription(
        &mut self,
        transcript: &str,
        usage: Option<&WireTranscriptionUsage>,
    ) {
        let now = OffsetDateTime::now_utc();
        let turn = NewTurn::new(self.spec.storage, TurnRole::Member, transcript, now);
        let model = self.transcription_model.clone().unwrap_or_default();
        let billing = match usage {
            Some(WireTranscriptionUsage::Tokens(t)) => {
                Some(TranscriptionBilling::Tokens(t.to_token_usage()))
            }
            Some(WireTranscriptionUsage::Duration { seconds }) => {
                // Saturating float-to-int cast; nonsense durations bill nothing.
                let millis = if seconds.is_finite() && *seconds > 0.0 {
                    (seconds * 1000.0).round() as u64
                } else {
                    0
                };
                Some(TranscriptionBilling::Duration { millis })
            }
            Some(WireTranscriptionUsage::Other(_)) | None => None,
        };
        let Some(billing) = billing else {
            VoiceMetrics::inc(&self.spec.metrics.unbilled_usages);
            tracing::error!(session = %self.id, ?usage,
                "transcription without readable usage: stored as a turn, not billed");
            if let Err(e) = self
                .spec
                .store
                .record_turn(&self.scope, self.id, turn)
                .await
            {
                VoiceMetrics::inc(&self.spec.metrics.store_errors);
                tracing::error!(session = %self.id, error = %e, "cannot store a member turn");
            }
            return;
        };
        let cost = usage
            .and_then(|u| u.cost_pico(&self.spec.prices, &model))
            .unwrap_or_else(|| {
                VoiceMetrics::inc(&self.spec.metrics.unpriced_usages);
                tracing::error!(session = %self.id, model = %model,
                    "no price for the transcription model: recorded at zero cost");
                0
            });
        let usage = TranscriptionUsage {
            at: now,
            billing,
            cost_pico: cost,
        };
        for attempt in 0..2 {
            match self
                .spec
                .store
                .record_transcription(&self.scope, self.id, usage.clone(), Some(turn.clone()))
                .await
            {
                Ok(_) => {
                    VoiceMetrics::inc(&self.spec.metrics.transcriptions_metered);
                    return;
                }
                Err(e) => {
                    VoiceMetrics::inc(&self.spec.metrics.store_errors);
                    tracing::error!(session = %self.id, attempt, cost_pico = cost, error = %e,
                        "cannot record a transcription's cost");
                }
            }
        }
    }

    /// True when a budget is spent and the hard stop is on.
    async fn check_budgets(&self) -> bool {
        match budget::check(
            self.spec.store.as_ref(),
            &self.spec.budgets,
            self.spec.alerts.as_ref(),
            OffsetDateTime::now_utc(),
        )
        .await
        {
            Ok(v) => v.stop(self.spec.budgets.hard_stop),
            Err(e) => {
                VoiceMetrics::inc(&self.spec.metrics.store_errors);
                tracing::error!(session = %self.id, error = %e, "budget check failed");
                false
            }
        }
    }

    async fn hang_up(&self) {
        match tokio::time::timeout(HANGUP_TIMEOUT, self.spec.client.hangup(&self.spec.call_id))
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(session = %self.id, call_id = %self.spec.call_id, error = %e,
                    "provider hang-up failed")
            }
            Err(_) => tracing::warn!(session = %self.id, "provider hang-up timed out"),
        }
    }

    /// After the hang-up: meter whatever billable events are still on the socket.
    async fn drain(&mut self, sb: &mut Sideband) {
        let deadline = Instant::now() + self.spec.drain;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match sb.next_event_timeout(left).await {
                Ok(Some(ev)) => {
                    let _ = self.on_event(sb, ev, false).await;
                }
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Ends the session (once, whoever wins) and frees the slot.
    async fn finish(&self, reason: EndReason) {
        for attempt in 0..3 {
            match self
                .spec
                .store
                .end_session(&self.scope, self.id, reason, OffsetDateTime::now_utc())
                .await
            {
                Ok(true) => {
                    tracing::info!(session = %self.id, reason = reason.as_str(), "voice call ended");
                    crate::analysis::enqueue_analysis(self.spec.store.as_ref(), &self.spec.session)
                        .await;
                    return;
                }
                Ok(false) => {
                    tracing::info!(session = %self.id, reason = reason.as_str(),
                        "voice call already ended elsewhere");
                    return;
                }
                Err(e) => {
                    VoiceMetrics::inc(&self.spec.metrics.store_errors);
                    // The lease then expires on its own and the reaper ends the session.
                    tracing::error!(session = %self.id, attempt, error = %e,
                        "cannot end the session");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
