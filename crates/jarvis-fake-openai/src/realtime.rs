//! The per-call conversation engine: GA realtime events, scripted replies, usage and ledger.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use jarvis_core::cost::TokenUsage;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, broadcast};

use crate::script::{DemoLanguage, Dialogue, Turn, demo_dialogue, fill_classes};
use crate::state::{LedgerEntry, LedgerKind, ResponseFault, Shared};

/// A message to the sockets (sideband WS, direct WS, WebRTC data channel) of a call.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    /// A JSON event, for every socket or only the one with id `only`.
    Event { text: Arc<str>, only: Option<u64> },
    /// Close politely with this code.
    Close { code: u16, reason: String },
    /// Drop the transport without a close handshake.
    Drop,
}

/// Counters of one call, readable through the handle and `/__fake/calls/{id}`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CallStats {
    /// RTP audio packets received from the peer (WebRTC).
    pub audio_packets_in: u64,
    /// Milliseconds of incoming audio (20 ms per Opus packet, or PCM bytes over WS).
    pub audio_ms_in: u64,
    /// RTP audio packets sent to the peer.
    pub audio_packets_out: u64,
    /// Data-channel messages received.
    pub datachannel_messages_in: u64,
    /// ICE+DTLS connected.
    pub webrtc_connected: bool,
    /// `oai-events` open.
    pub datachannel_open: bool,
    /// Sideband sockets opened.
    pub sideband_connections: u64,
    /// Responses produced.
    pub responses: u64,
    /// Call ended (hangup, expiry or drop).
    pub ended: bool,
    /// Conversation items removed by `conversation.item.delete`.
    pub items_deleted: u64,
    /// Live audio (demo): PCMU negotiated, the fake hears and speaks.
    pub live_audio: bool,
    /// Utterances the voice-activity detector heard (live audio).
    pub utterances_heard: u64,
    /// Milliseconds of assistant audio played as tones (live audio).
    pub audio_ms_spoken: u64,
}

#[derive(Debug, Clone, Default)]
struct ItemTokens {
    /// The conversation item's id (`conversation.item.delete` removes it from the context).
    id: String,
    text: u64,
    audio: u64,
}

pub(crate) struct CallState {
    pub session: Value,
    pub session_id: String,
    pub model: String,
    pub expires_at_ms: i64,
    items: Vec<ItemTokens>,
    pending: HashMap<String, Option<Value>>,
    pub outputs: Vec<(String, String)>,
    turn_index: usize,
    audio_responded: bool,
    prev_input_total: u64,
    pending_audio_ms: u64,
    /// Assistant audio (ms) not yet handed to the WebRTC peer for playback (live audio).
    playback_ms: u64,
    /// The heard conversation, chosen at the first heard utterance (live audio), and the
    /// response number its script starts at.
    dialogue: Option<(DemoLanguage, Dialogue, usize)>,
    /// The item id announced by `speech_started` for the utterance in progress.
    heard_item: Option<String>,
    /// Turns were driven through `say`: heard speech no longer drives this call.
    steered: bool,
    pub stats: CallStats,
}

/// One realtime call (WebRTC `rtc_…` or direct WebSocket `ws_…`).
pub struct Call {
    /// Call id.
    pub id: String,
    pub(crate) tx: broadcast::Sender<Outbound>,
    pub(crate) ended: Notify,
    state: Mutex<CallState>,
    next_socket: AtomicU64,
}

impl Call {
    pub(crate) fn state(&self) -> MutexGuard<'_, CallState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CallStats {
        self.state().stats.clone()
    }

    pub(crate) fn socket_id(&self) -> u64 {
        self.next_socket.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Outbound> {
        self.tx.subscribe()
    }

    fn send(&self, shared: &Shared, only: Option<u64>, mut ev: Value) {
        if let Some(o) = ev.as_object_mut() {
            o.insert("event_id".into(), Value::String(shared.new_id("event_")));
        }
        let only = if shared.cfg().mirror_events {
            None
        } else {
            only
        };
        // No receiver is fine: events before a socket attaches are simply not seen, like the real API.
        let _ = self.tx.send(Outbound::Event {
            text: Arc::from(ev.to_string()),
            only,
        });
    }

    /// Records incoming media (WebRTC RTP packets) for stats and usage.
    #[cfg_attr(not(feature = "webrtc"), allow(dead_code))]
    pub(crate) fn add_incoming_audio(&self, packets: u64, ms: u64) {
        let mut st = self.state();
        st.stats.audio_packets_in += packets;
        st.stats.audio_ms_in += ms;
        st.pending_audio_ms += ms;
    }

    /// Takes the assistant audio (ms) queued since the last call, for the WebRTC peer to play.
    #[cfg_attr(not(feature = "webrtc"), allow(dead_code))]
    pub(crate) fn take_playback_ms(&self) -> u64 {
        std::mem::take(&mut self.state().playback_ms)
    }

    /// Whether heard speech may drive this call (live audio, not steered by `say`, not ended).
    #[cfg_attr(not(feature = "webrtc"), allow(dead_code))]
    pub(crate) fn listening(&self) -> bool {
        let st = self.state();
        st.stats.live_audio && !st.steered && !st.stats.ended
    }

    pub(crate) fn with_stats(&self, f: impl FnOnce(&mut CallStats)) {
        f(&mut self.state().stats)
    }

    /// The `session.created` event for a newly attached socket.
    pub(crate) fn session_created(&self, shared: &Shared) -> String {
        let st = self.state();
        let mut ev = json!({"type":"session.created","session": st.session.clone()});
        if let Some(o) = ev.as_object_mut() {
            o.insert("event_id".into(), Value::String(shared.new_id("event_")));
        }
        ev.to_string()
    }

    /// Ends the call: sockets get `code`, expiry watchers stop.
    pub(crate) fn end(&self, code: u16, reason: &str) {
        {
            let mut st = self.state();
            if st.stats.ended {
                return;
            }
            st.stats.ended = true;
        }
        let _ = self.tx.send(Outbound::Close {
            code,
            reason: reason.to_owned(),
        });
        self.ended.notify_waiters();
    }

    pub(crate) fn drop_transport(&self) {
        self.state().stats.ended = true;
        let _ = self.tx.send(Outbound::Drop);
        self.ended.notify_waiters();
    }
}

/// Default GA session object, with `overrides` deep-merged on top.
pub(crate) fn effective_session(shared: &Shared, overrides: &Value, id: &str) -> Value {
    let cfg = shared.cfg();
    let mut base = json!({
        "type": "realtime",
        "object": "realtime.session",
        "id": id,
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": cfg.script.default_instructions,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": null,
        "truncation": "auto",
        "prompt": null,
        "expires_at": 0,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": null,
                "noise_reduction": null,
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                    "silence_duration_ms": 200, "idle_timeout_ms": null,
                    "create_response": true, "interrupt_response": true}
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0}
        },
        "include": null
    });
    drop(cfg);
    merge(&mut base, overrides);
    if let Some(o) = base.as_object_mut() {
        o.insert("id".into(), Value::String(id.to_owned()));
        o.insert("object".into(), Value::String("realtime.session".into()));
        let model = o
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("gpt-realtime");
        // The real service reports the dated snapshot for the alias.
        let snap = match model {
            "gpt-realtime" => Some("gpt-realtime-2025-08-28"),
            "gpt-realtime-mini" => Some("gpt-realtime-mini-2025-10-06"),
            _ => None,
        };
        if let Some(s) = snap {
            o.insert("model".into(), Value::String(s.into()));
        }
    }
    base
}

/// Deep merge: objects recursively, everything else replaces.
pub(crate) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(bv) if bv.is_object() && v.is_object() => merge(bv, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Creates a call with `session` (already validated and merged) and starts its expiry watcher.
pub(crate) fn create_call(shared: &Arc<Shared>, prefix: &str, session: Value) -> Arc<Call> {
    let id = shared.new_id(prefix);
    let session_id = session
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| shared.new_id("sess_"));
    let model = session
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("gpt-realtime")
        .to_owned();
    let max = shared.cfg().max_session;
    let expires_at_ms =
        shared.clock.now_ms() + i64::try_from(max.as_millis()).unwrap_or(i64::MAX / 4);
    let mut session = session;
    if let Some(o) = session.as_object_mut() {
        o.insert("id".into(), Value::String(session_id.clone()));
        o.insert("expires_at".into(), json!(expires_at_ms / 1000));
    }
    let (tx, _) = broadcast::channel(1024);
    let call = Arc::new(Call {
        id: id.clone(),
        tx,
        ended: Notify::new(),
        next_socket: AtomicU64::new(1),
        state: Mutex::new(CallState {
            session,
            session_id,
            model,
            expires_at_ms,
            items: Vec::new(),
            pending: HashMap::new(),
            outputs: Vec::new(),
            turn_index: 0,
            audio_responded: false,
            prev_input_total: 0,
            pending_audio_ms: 0,
            playback_ms: 0,
            dialogue: None,
            heard_item: None,
            steered: false,
            stats: CallStats::default(),
        }),
    });
    shared.inner().calls.insert(id, call.clone());
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let shared = shared.clone();
        let c = call.clone();
        rt.spawn(async move { expiry_watcher(shared, c).await });
    }
    call
}

async fn expiry_watcher(shared: Arc<Shared>, call: Arc<Call>) {
    let mut rx = shared.clock.subscribe();
    loop {
        if call.state().stats.ended {
            return;
        }
        let expires = call.state().expires_at_ms;
        if shared.clock.now_ms() >= expires {
            expire(&shared, &call);
            return;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = call.ended.notified() => return,
        }
    }
}

/// Sends `session_expired` and closes with 1001, as reported for the real service.
pub(crate) fn expire(shared: &Shared, call: &Call) {
    let mins = shared.cfg().max_session.as_secs() / 60;
    call.send(
        shared,
        None,
        json!({"type":"error","error":{"type":"invalid_request_error","code":"session_expired",
            "message": format!("Your session hit the maximum duration of {mins} minutes."),
            "param": null, "event_id": null}}),
    );
    call.end(1001, "session_expired");
}

fn text_tokens(s: &str) -> u64 {
    (s.chars().count() as u64).div_ceil(4)
}

fn error_event(
    kind: &str,
    code: &str,
    message: &str,
    param: Option<&str>,
    client_event: Option<&str>,
) -> Value {
    json!({"type":"error","error":{"type":kind,"code":code,"message":message,"param":param,"event_id":client_event}})
}

/// Handles one client event (from the sideband, a direct WS or the data channel).
pub(crate) fn handle_client_event(shared: &Shared, call: &Call, socket: u64, text: &str) {
    let ev: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            call.send(
                shared,
                Some(socket),
                error_event(
                    "invalid_request_error",
                    "invalid_json",
                    &format!("Invalid JSON: {e}"),
                    None,
                    None,
                ),
            );
            return;
        }
    };
    let client_id = ev
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let cid = client_id.as_deref();
    let Some(kind) = ev.get("type").and_then(Value::as_str) else {
        call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "invalid_event",
                "The 'type' field is missing.",
                None,
                cid,
            ),
        );
        return;
    };
    match kind {
        "session.update" => session_update(shared, call, socket, &ev, cid),
        "conversation.item.create" => item_create(shared, call, socket, &ev, cid),
        "conversation.item.delete" => item_delete(shared, call, socket, &ev, cid),
        "response.create" => run_response(shared, call, ev.get("response")),
        "response.cancel" => call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                None,
                cid,
            ),
        ),
        "input_audio_buffer.append" => {
            let b64 = ev.get("audio").and_then(Value::as_str).unwrap_or("");
            // PCM16 mono 24 kHz = 48 bytes per ms.
            let bytes = (b64.len() as u64) * 3 / 4;
            let mut st = call.state();
            st.stats.audio_ms_in += bytes / 48;
            st.pending_audio_ms += bytes / 48;
        }
        "input_audio_buffer.commit"
        | "input_audio_buffer.clear"
        | "output_audio_buffer.clear"
        | "conversation.item.truncate"
        | "conversation.item.retrieve" => {}
        other => call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "invalid_value",
                &format!("Invalid value: '{other}'. Supported values are GA client event types."),
                Some("type"),
                cid,
            ),
        ),
    }
}

/// Transcription models whose usage is `{type:"duration", seconds}` (billed per minute).
const DURATION_BILLED_ASR: &[&str] = &["whisper-1"];

const VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
];

/// Validates a voice value (name from the enum or `{id}` custom voice).
pub(crate) fn voice_ok(v: &Value) -> bool {
    match v {
        Value::String(s) => VOICES.contains(&s.as_str()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).is_some(),
        _ => false,
    }
}

fn session_update(shared: &Shared, call: &Call, socket: u64, ev: &Value, cid: Option<&str>) {
    let Some(session) = ev.get("session").filter(|s| s.is_object()) else {
        call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "missing_required_parameter",
                "Missing required parameter: 'session'.",
                Some("session"),
                cid,
            ),
        );
        return;
    };
    if session.get("type").and_then(Value::as_str).is_none() {
        call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "missing_required_parameter",
                "Missing required parameter: 'session.type'.",
                Some("session.type"),
                cid,
            ),
        );
        return;
    }
    if session.get("voice").is_some() || session.get("modalities").is_some() {
        call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "beta_api_shape_disabled",
                "The beta session shape is no longer supported; use the GA shape.",
                None,
                cid,
            ),
        );
        return;
    }
    let voice = session.pointer("/audio/output/voice");
    let mut st = call.state();
    if let Some(v) = voice {
        if !voice_ok(v) {
            drop(st);
            call.send(
                shared,
                Some(socket),
                error_event(
                    "invalid_request_error",
                    "invalid_value",
                    "Invalid value for voice.",
                    Some("session.audio.output.voice"),
                    cid,
                ),
            );
            return;
        }
        if st.audio_responded && st.session.pointer("/audio/output/voice") != Some(v) {
            drop(st);
            call.send(
                shared,
                Some(socket),
                error_event(
                    "invalid_request_error",
                    "invalid_value",
                    "Cannot update a conversation's voice if assistant audio is present.",
                    Some("session.audio.output.voice"),
                    cid,
                ),
            );
            return;
        }
    }
    let mut merged = st.session.clone();
    let mut over = session.clone();
    if let Some(o) = over.as_object_mut() {
        // Identity fields are the server's.
        o.remove("id");
        o.remove("object");
        o.remove("model");
    }
    merge(&mut merged, &over);
    st.session = merged.clone();
    drop(st);
    call.send(
        shared,
        None,
        json!({"type":"session.updated","session":merged}),
    );
}

fn item_delete(shared: &Shared, call: &Call, socket: u64, ev: &Value, cid: Option<&str>) {
    let id = ev.get("item_id").and_then(Value::as_str).unwrap_or("");
    let removed = {
        let mut st = call.state();
        match st.items.iter().position(|i| i.id == id) {
            Some(p) => {
                st.items.remove(p);
                st.stats.items_deleted += 1;
                true
            }
            None => false,
        }
    };
    if removed {
        call.send(
            shared,
            None,
            json!({"type":"conversation.item.deleted","item_id":id}),
        );
    } else {
        call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "item_delete_invalid_item_id",
                &format!("Item with item_id '{id}' not found."),
                Some("item_id"),
                cid,
            ),
        );
    }
}

fn item_create(shared: &Shared, call: &Call, socket: u64, ev: &Value, cid: Option<&str>) {
    let Some(item) = ev.get("item").filter(|i| i.is_object()) else {
        call.send(
            shared,
            Some(socket),
            error_event(
                "invalid_request_error",
                "missing_required_parameter",
                "Missing required parameter: 'item'.",
                Some("item"),
                cid,
            ),
        );
        return;
    };
    let item_type = item.get("type").and_then(Value::as_str).unwrap_or("");
    let mut out = item.clone();
    let item_id = shared.new_id("item_");
    if let Some(o) = out.as_object_mut() {
        o.insert("id".into(), Value::String(item_id.clone()));
        o.insert("object".into(), json!("realtime.item"));
        o.insert("status".into(), json!("completed"));
    }
    match item_type {
        "message" => {
            let text: String = item
                .get("content")
                .and_then(Value::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            call.state().items.push(ItemTokens {
                id: item_id.clone(),
                text: text_tokens(&text) + 4,
                audio: 0,
            });
        }
        "function_call_output" => {
            let call_id = item.get("call_id").and_then(Value::as_str).unwrap_or("");
            let output = item.get("output").and_then(Value::as_str).unwrap_or("");
            let mut st = call.state();
            let Some(expected) = st.pending.remove(call_id) else {
                drop(st);
                call.send(
                    shared,
                    Some(socket),
                    error_event(
                        "invalid_request_error",
                        "invalid_value",
                        &format!("No function call with call_id '{call_id}' is awaiting output."),
                        Some("item.call_id"),
                        cid,
                    ),
                );
                return;
            };
            st.outputs.push((call_id.to_owned(), output.to_owned()));
            st.items.push(ItemTokens {
                id: item_id.clone(),
                text: text_tokens(output) + 4,
                audio: 0,
            });
            drop(st);
            if let Some(exp) = expected {
                let got: Option<Value> = serde_json::from_str(output).ok();
                if got.as_ref() != Some(&exp) {
                    shared.inner().mismatches.push(format!(
                        "call {call_id}: expected output {exp}, got {output}"
                    ));
                }
            }
        }
        "function_call" => {
            call.state().items.push(ItemTokens {
                id: item_id.clone(),
                text: 8,
                audio: 0,
            });
        }
        other => {
            call.send(
                shared,
                Some(socket),
                error_event(
                    "invalid_request_error",
                    "invalid_value",
                    &format!("Invalid value: '{other}'."),
                    Some("item.type"),
                    cid,
                ),
            );
            return;
        }
    }
    call.send(
        shared,
        None,
        json!({"type":"conversation.item.added","previous_item_id":null,"item":out}),
    );
    call.send(
        shared,
        None,
        json!({"type":"conversation.item.done","previous_item_id":null,"item":out}),
    );
}

/// A scripted member utterance of `seconds` of audio (VAD events, transcription, auto-response).
pub(crate) fn member_says(shared: &Shared, call: &Call, text: &str, seconds: f64) {
    // A test steers this call: heard speech must not add turns of its own.
    call.state().steered = true;
    let item_id = shared.new_id("item_");
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    call.send(
        shared,
        None,
        json!({"type":"input_audio_buffer.speech_started","audio_start_ms":0,"item_id":item_id}),
    );
    member_turn(shared, call, &item_id, text, ms, ms, true);
}

/// Live audio: the detector heard speech begin at `at_ms` of the microphone stream.
#[cfg_attr(not(feature = "webrtc"), allow(dead_code))]
pub(crate) fn heard_speech_started(shared: &Shared, call: &Call, at_ms: u64) {
    let item_id = shared.new_id("item_");
    {
        let mut st = call.state();
        if !st.stats.live_audio || st.steered || st.stats.ended {
            return;
        }
        st.heard_item = Some(item_id.clone());
    }
    call.send(
        shared,
        None,
        json!({"type":"input_audio_buffer.speech_started","audio_start_ms":at_ms,"item_id":item_id}),
    );
}

/// Live audio: the utterance `start_ms..end_ms` ended. The member's words come from the demo
/// dialogue (in the session's language); then the usual commit, transcription and response.
#[cfg_attr(not(feature = "webrtc"), allow(dead_code))]
pub(crate) fn heard_speech_stopped(shared: &Shared, call: &Call, start_ms: u64, end_ms: u64) {
    let fresh_id = shared.new_id("item_");
    let (item_id, text) = {
        let mut st = call.state();
        if !st.stats.live_audio || st.steered || st.stats.ended {
            return;
        }
        let item_id = st.heard_item.take().unwrap_or(fresh_id);
        if st.dialogue.is_none() {
            let lang = DemoLanguage::of_session(&st.session);
            st.dialogue = Some((lang, demo_dialogue(lang), st.turn_index));
        }
        let n = usize::try_from(st.stats.utterances_heard).unwrap_or(0);
        st.stats.utterances_heard += 1;
        let text = st
            .dialogue
            .as_ref()
            .map(|(_, d, _)| d.member_line(n))
            .unwrap_or_default();
        // The RTP packets were already counted as they arrived; the committed buffer replaces
        // them in the context (speech plus the server VAD's 300 ms prefix padding).
        st.pending_audio_ms = 0;
        (item_id, text)
    };
    let billed = end_ms.saturating_sub(start_ms) + 300;
    member_turn(shared, call, &item_id, &text, end_ms, billed, false);
}

/// The end of a member utterance: VAD stop, commit, the user item, its transcription (if on)
/// and the automatic response (if the session's turn detection creates one). `count_in` adds
/// `ms` to the incoming audio (a `say`; heard audio was counted packet by packet).
fn member_turn(
    shared: &Shared,
    call: &Call,
    item_id: &str,
    text: &str,
    end_ms: u64,
    ms: u64,
    count_in: bool,
) {
    call.send(
        shared,
        None,
        json!({"type":"input_audio_buffer.speech_stopped","audio_end_ms":end_ms,"item_id":item_id}),
    );
    call.send(
        shared,
        None,
        json!({"type":"input_audio_buffer.committed","previous_item_id":null,"item_id":item_id}),
    );
    let item = json!({"id":item_id,"object":"realtime.item","type":"message","status":"completed","role":"user",
        "content":[{"type":"input_audio","transcript":null}]});
    call.send(
        shared,
        None,
        json!({"type":"conversation.item.added","previous_item_id":null,"item":item}),
    );
    call.send(
        shared,
        None,
        json!({"type":"conversation.item.done","previous_item_id":null,"item":item}),
    );
    let audio_tokens = ms.div_ceil(100);
    let (transcription, auto) = {
        let mut st = call.state();
        if count_in {
            st.stats.audio_ms_in += ms;
        }
        st.items.push(ItemTokens {
            id: item_id.to_owned(),
            text: 4,
            audio: audio_tokens,
        });
        let tr = st
            .session
            .pointer("/audio/input/transcription/model")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let td = st.session.pointer("/audio/input/turn_detection");
        let auto = td.is_some_and(|t| {
            !t.is_null()
                && t.get("create_response")
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
        });
        (tr, auto)
    };
    if let Some(model) = transcription {
        let out = text_tokens(text);
        // whisper-1 reports (and bills) audio duration; the gpt-4o transcribe models bill tokens.
        let (usage_json, usage, audio_ms, cost) = if DURATION_BILLED_ASR.contains(&model.as_str()) {
            let u = json!({"type":"duration","seconds": ms as f64 / 1000.0});
            (
                u,
                TokenUsage::default(),
                ms,
                shared.price_duration(&model, ms),
            )
        } else {
            let usage = TokenUsage {
                input_audio: audio_tokens,
                output_text: out,
                ..Default::default()
            };
            let u = json!({"type":"tokens","total_tokens":audio_tokens+out,"input_tokens":audio_tokens,
                "input_token_details":{"text_tokens":0,"audio_tokens":audio_tokens},"output_tokens":out});
            let cost = shared.price(&model, &usage);
            (u, usage, 0, cost)
        };
        call.send(
            shared,
            None,
            json!({"type":"conversation.item.input_audio_transcription.completed",
            "item_id":item_id,"content_index":0,"transcript":text,"usage":usage_json}),
        );
        shared.book(LedgerEntry {
            at_unix: shared.clock.now_unix(),
            kind: LedgerKind::Transcription,
            model,
            call_id: Some(call.id.clone()),
            response_id: None,
            usage,
            audio_ms,
            cost_pico: cost,
        });
    }
    if auto {
        run_response(shared, call, None);
    }
}

fn usage_json(u: &TokenUsage) -> Value {
    json!({"total_tokens":u.total(),"input_tokens":u.input_total(),"output_tokens":u.output_total(),
        "input_token_details":{"text_tokens":u.input_text,"audio_tokens":u.input_audio,"image_tokens":u.input_image,
            "cached_tokens":u.cached_text+u.cached_audio+u.cached_image,
            "cached_tokens_details":{"text_tokens":u.cached_text,"audio_tokens":u.cached_audio,"image_tokens":u.cached_image}},
        "output_token_details":{"text_tokens":u.output_text,"audio_tokens":u.output_audio}})
}

/// Produces one response: scripted text or function calls, usage, ledger line.
pub(crate) fn run_response(shared: &Shared, call: &Call, overrides: Option<&Value>) {
    if call.state().stats.ended {
        return;
    }
    let fault = shared.inner().response_faults.pop_front();
    // A call in a heard demo conversation follows its dialogue; every other call the config's script.
    let dialogue = call.state().dialogue.clone();
    let (script, lang, first) = match dialogue {
        Some((lang, d, first)) => (d.script, Some(lang), first),
        None => (shared.cfg().script.clone(), None, 0),
    };
    let resp_id = shared.new_id("resp_");
    let conv_id = format!("conv_{}", call.id);
    let ov = overrides.cloned().unwrap_or(Value::Null);
    let out_of_band = ov.get("conversation").and_then(Value::as_str) == Some("none");
    let metadata = ov.get("metadata").cloned().unwrap_or(Value::Null);

    let (turn, audio, input, model) = {
        let mut st = call.state();
        if st.pending_audio_ms > 0 {
            // WebRTC/WS audio since the last response becomes a member audio item (10 tokens/s).
            let a = st.pending_audio_ms.div_ceil(100);
            st.items.push(ItemTokens {
                id: shared.new_id("item_"),
                text: 4,
                audio: a,
            });
            st.pending_audio_ms = 0;
        }
        let mut turn = script.turn(st.turn_index.saturating_sub(first));
        st.turn_index += 1;
        if let (Some(lang), Turn::Say(text)) = (lang, &mut turn) {
            let outputs: Vec<String> = st.outputs.iter().map(|(_, o)| o.clone()).collect();
            *text = fill_classes(text, &outputs, lang);
        }
        st.stats.responses += 1;
        let mods = ov
            .get("output_modalities")
            .or_else(|| st.session.get("output_modalities"))
            .cloned()
            .unwrap_or(json!(["audio"]));
        let audio = mods
            .as_array()
            .is_some_and(|a| a.iter().any(|m| m == "audio"));
        let instructions = ov
            .get("instructions")
            .or_else(|| st.session.get("instructions"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let tools_len = st
            .session
            .get("tools")
            .map(|t| t.to_string().len())
            .unwrap_or(0) as u64;
        let mut u = TokenUsage {
            input_text: text_tokens(instructions) + tools_len.div_ceil(4),
            ..Default::default()
        };
        for it in &st.items {
            u.input_text += it.text;
            u.input_audio += it.audio;
        }
        // Prompt caching: the previous response's input, in 64-token blocks, is reused.
        let cached = (st.prev_input_total / 64 * 64).min(u.input_total());
        u.cached_text = cached.min(u.input_text);
        u.cached_audio = (cached - u.cached_text).min(u.input_audio);
        st.prev_input_total = u.input_total();
        (turn, audio, u, st.model.clone())
    };

    call.send(shared, None, json!({"type":"response.created","response":{"object":"realtime.response","id":resp_id,
        "status":"in_progress","status_details":null,"output":[],"conversation_id":conv_id,
        "output_modalities": if audio {json!(["audio"])} else {json!(["text"])},"usage":null,"metadata":metadata}}));
    let reserved = 4096u64;
    call.send(shared, None, json!({"type":"rate_limits.updated","rate_limits":[
        {"name":"requests","limit":5000,"remaining":4999,"reset_seconds":0.012},
        {"name":"tokens","limit":800000,"remaining":800000u64.saturating_sub(input.input_total()+reserved),"reset_seconds":0.3}]}));

    if fault == Some(ResponseFault::DropConnection) {
        call.drop_transport();
        return;
    }
    if fault == Some(ResponseFault::Failed) {
        let usage = TokenUsage::default();
        call.send(shared, None, json!({"type":"response.done","response":{"object":"realtime.response","id":resp_id,
            "status":"failed","status_details":{"type":"failed","error":{"type":"tokens","code":"rate_limit_exceeded",
                "message":"Rate limit reached for tokens per min (TPM). Please try again in 10ms."}},
            "output":[],"conversation_id":conv_id,"usage":usage_json(&usage),"metadata":metadata}}));
        return;
    }
    let partial = matches!(
        fault,
        Some(ResponseFault::Cancelled | ResponseFault::Incomplete)
    );

    let mut output = Vec::new();
    let mut out_usage = TokenUsage::default();
    let mut new_items = Vec::new();
    let mut pend = Vec::new();
    let mut audio_started = false;
    let mut say = |text: &str, output: &mut Vec<Value>, out_usage: &mut TokenUsage| {
        let text: String = if partial {
            let n = text.chars().count() / 2;
            text.chars().take(n).collect()
        } else {
            text.to_owned()
        };
        let item_id = shared.new_id("item_");
        let part_type = if audio { "output_audio" } else { "output_text" };
        let part = if audio {
            json!({"type":"output_audio","transcript":text})
        } else {
            json!({"type":"output_text","text":text})
        };
        call.send(shared, None, json!({"type":"response.output_item.added","response_id":resp_id,"output_index":output.len(),
            "item":{"id":item_id,"object":"realtime.item","type":"message","status":"in_progress","role":"assistant","content":[]}}));
        call.send(
            shared,
            None,
            json!({"type":"response.content_part.added","response_id":resp_id,"item_id":item_id,
            "output_index":output.len(),"content_index":0,"part":{"type":part_type}}),
        );
        // WebRTC: the first assistant audio of a response starts the output buffer (the
        // broker measures responsiveness up to this event).
        if audio && !audio_started {
            audio_started = true;
            call.send(
                shared,
                None,
                json!({"type":"output_audio_buffer.started","response_id":resp_id}),
            );
        }
        let chars: Vec<char> = text.chars().collect();
        let mid = chars.len() / 2;
        let halves = [
            chars[..mid].iter().collect::<String>(),
            chars[mid..].iter().collect::<String>(),
        ];
        let (delta_t, done_t, field) = if audio {
            (
                "response.output_audio_transcript.delta",
                "response.output_audio_transcript.done",
                "transcript",
            )
        } else {
            (
                "response.output_text.delta",
                "response.output_text.done",
                "text",
            )
        };
        for h in halves.iter().filter(|h| !h.is_empty()) {
            call.send(
                shared,
                None,
                json!({"type":delta_t,"response_id":resp_id,"item_id":item_id,
                "output_index":output.len(),"content_index":0,"delta":h}),
            );
        }
        if audio {
            call.send(
                shared,
                None,
                json!({"type":"response.output_audio.done","response_id":resp_id,"item_id":item_id,
                "output_index":output.len(),"content_index":0}),
            );
        }
        let mut done = json!({"type":done_t,"response_id":resp_id,"item_id":item_id,"output_index":output.len(),"content_index":0});
        if let Some(o) = done.as_object_mut() {
            o.insert(field.into(), json!(text));
        }
        call.send(shared, None, done);
        call.send(
            shared,
            None,
            json!({"type":"response.content_part.done","response_id":resp_id,"item_id":item_id,
            "output_index":output.len(),"content_index":0,"part":part}),
        );
        let item = json!({"id":item_id,"object":"realtime.item","type":"message","status":"completed","role":"assistant","content":[part]});
        call.send(shared, None, json!({"type":"response.output_item.done","response_id":resp_id,"output_index":output.len(),"item":item}));
        output.push(item);
        let t = text_tokens(&text);
        // Assistant speech: ~15 characters per second, 20 audio tokens per second (1 per 50 ms).
        let a = if audio {
            (chars.len() as u64 * 4).div_ceil(3)
        } else {
            0
        };
        let a = if partial { a / 2 } else { a };
        out_usage.output_text += t;
        out_usage.output_audio += a;
        new_items.push(ItemTokens {
            id: item_id.clone(),
            text: t + 4,
            audio: a,
        });
    };

    match &turn {
        Turn::Say(text) => say(text, &mut output, &mut out_usage),
        Turn::Call { preamble, calls } => {
            if let Some(p) = preamble {
                say(p, &mut output, &mut out_usage);
            }
            if !partial {
                for c in calls {
                    let item_id = shared.new_id("item_");
                    let call_id = shared.new_id("call_");
                    let args = c.arguments.to_string();
                    let idx = output.len();
                    call.send(shared, None, json!({"type":"response.output_item.added","response_id":resp_id,"output_index":idx,
                        "item":{"id":item_id,"object":"realtime.item","type":"function_call","status":"in_progress",
                            "call_id":call_id,"name":c.name,"arguments":""}}));
                    call.send(shared, None, json!({"type":"response.function_call_arguments.delta","response_id":resp_id,
                        "item_id":item_id,"output_index":idx,"call_id":call_id,"delta":args}));
                    call.send(shared, None, json!({"type":"response.function_call_arguments.done","response_id":resp_id,
                        "item_id":item_id,"output_index":idx,"call_id":call_id,"name":c.name,"arguments":args}));
                    let item = json!({"id":item_id,"object":"realtime.item","type":"function_call","status":"completed",
                        "call_id":call_id,"name":c.name,"arguments":args});
                    call.send(shared, None, json!({"type":"response.output_item.done","response_id":resp_id,"output_index":idx,"item":item}));
                    output.push(item);
                    let t = text_tokens(&c.name) + text_tokens(&args);
                    out_usage.output_text += t;
                    new_items.push(ItemTokens {
                        id: item_id.clone(),
                        text: t + 4,
                        audio: 0,
                    });
                    pend.push((call_id, c.expected_output.clone()));
                }
            }
        }
    }

    let mut usage = input;
    usage.output_text = out_usage.output_text;
    usage.output_audio = out_usage.output_audio;
    let (status, details) = match fault {
        Some(ResponseFault::Cancelled) => (
            "cancelled",
            json!({"type":"cancelled","reason":"turn_detected"}),
        ),
        Some(ResponseFault::Incomplete) => (
            "incomplete",
            json!({"type":"incomplete","reason":"max_output_tokens"}),
        ),
        _ => ("completed", Value::Null),
    };
    {
        let mut st = call.state();
        if !out_of_band {
            st.items.extend(new_items);
        }
        for (id, exp) in pend {
            st.pending.insert(id, exp);
        }
        if audio && usage.output_audio > 0 {
            st.audio_responded = true;
            if st.stats.live_audio {
                // 20 audio tokens per second: what is billed is what the member hears.
                st.playback_ms += usage.output_audio * 50;
            }
        }
    }
    let voice = call
        .state()
        .session
        .pointer("/audio/output/voice")
        .cloned()
        .unwrap_or(json!("alloy"));
    call.send(shared, None, json!({"type":"response.done","response":{"object":"realtime.response","id":resp_id,
        "status":status,"status_details":details,"output":output,"conversation_id":conv_id,
        "output_modalities": if audio {json!(["audio"])} else {json!(["text"])},"max_output_tokens":"inf",
        "audio":{"output":{"format":{"type":"audio/pcm","rate":24000},"voice":voice}},
        "usage":usage_json(&usage),"metadata":metadata}}));
    if audio && usage.output_audio > 0 {
        call.send(
            shared,
            None,
            json!({"type":"output_audio_buffer.stopped","response_id":resp_id}),
        );
    }
    let cost = shared.price(&model, &usage);
    shared.book(LedgerEntry {
        at_unix: shared.clock.now_unix(),
        kind: LedgerKind::RealtimeResponse,
        model,
        call_id: Some(call.id.clone()),
        response_id: Some(resp_id),
        usage,
        audio_ms: 0,
        cost_pico: cost,
    });
}

/// Session defaults for a direct WebSocket (`?model=`) connection.
pub(crate) fn ws_session(shared: &Shared, model: &str) -> Value {
    let id = shared.new_id("sess_");
    let mut over = Map::new();
    over.insert("model".into(), Value::String(model.to_owned()));
    effective_session(shared, &Value::Object(over), &id)
}
