//! The voice broker end to end against the fake OpenAI, on SQLite and PostgreSQL: scripted
//! conversations with several function calls in one response, every fault of the fake,
//! metering against the fake's ledger, budgets, shutdown, reaping, transcripts and refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cases;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jarvis_core::cost::PriceTable;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_fake_openai::{FakeConfig, FakeOpenAi, Script, TEST_API_KEY};
use jarvis_openai::{ApiKey, OpenAiClient, OpenAiConfig, RetryPolicy};
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use jarvis_voice::{Started, VoiceBroker, VoiceConfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A minimal SDP offer with an audio and a data-channel m-line (the fake answers it canned).
pub const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n";

/// Everything one test needs: a database, the fake, a client and a broker.
pub struct H {
    pub db: TestDb,
    pub store: Arc<dyn Store>,
    pub fake: FakeOpenAi,
    pub client: OpenAiClient,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    pub broker: VoiceBroker,
    pub instance: InstanceId,
}

/// A gym with one kiosk and one eligible member.
pub struct Fx {
    pub gym: Gym,
    pub scope: Scope,
    pub kiosk: KioskIdentity,
    pub member: Member,
}

pub fn client_for(fake: &FakeOpenAi) -> OpenAiClient {
    let mut cfg = OpenAiConfig::new(fake.base_url(), ApiKey::new(TEST_API_KEY)).unwrap();
    cfg.request_timeout = Duration::from_secs(3);
    cfg.retry = RetryPolicy {
        max_retries: 1,
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(50),
        jitter: false,
        ..RetryPolicy::default()
    };
    OpenAiClient::new(cfg).unwrap()
}

impl H {
    pub async fn new(db: TestDb, script: Script) -> H {
        Self::with(db, script, PriceTable::default_2026(), |_| {}).await
    }

    pub async fn with(
        db: TestDb,
        script: Script,
        prices: PriceTable,
        tune: impl FnOnce(&mut VoiceConfig),
    ) -> H {
        let fake = FakeOpenAi::start(FakeConfig {
            real_webrtc: false,
            script,
            prices,
            ..FakeConfig::default()
        })
        .await
        .unwrap();
        let client = client_for(&fake);
        let store = db.store();
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let instance = InstanceId::new();
        let mut cfg = VoiceConfig::new(instance);
        cfg.heartbeat = Duration::from_millis(300);
        cfg.drain = Duration::from_millis(300);
        tune(&mut cfg);
        let broker = VoiceBroker::new(
            store.clone(),
            client.clone(),
            cfg,
            tracker.clone(),
            shutdown.clone(),
        )
        .with_tools(jarvis_app::assistant::tools(
            &client,
            "text-embedding-3-small",
        ));
        H {
            db,
            store,
            fake,
            client,
            tracker,
            shutdown,
            broker,
            instance,
        }
    }

    /// A gym (settings as given), a kiosk and an eligible member `badge`.
    pub async fn gym(&self, settings: serde_json::Value) -> Fx {
        let a = Actor::cli();
        let s = &self.store;
        let f = s
            .create_franchise(
                &Scope::Platform,
                &a,
                NewFranchise {
                    name: format!("F{}", uuid::Uuid::now_v7()),
                },
            )
            .await
            .unwrap();
        let gym = s
            .create_gym(
                &Scope::Platform,
                &a,
                NewGym {
                    franchise_id: f.id,
                    name: format!("Fit {}", &uuid::Uuid::now_v7().simple().to_string()[20..]),
                    address: None,
                    timezone: "UTC".into(),
                    locale: Locale::Fr,
                    settings,
                }
                .validate()
                .unwrap(),
                GymStatus::Active,
            )
            .await
            .unwrap();
        let scope = Scope::Gym {
            franchise: f.id,
            gym: gym.id,
        };
        let kiosk = s
            .create_kiosk(
                &scope,
                &a,
                gym.id,
                NewKiosk {
                    name: "Entrée".into(),
                },
            )
            .await
            .unwrap();
        let member = self.member(&scope, &gym, "B-1", |_| {}).await;
        Fx {
            kiosk: KioskIdentity {
                kiosk,
                gym: gym.clone(),
            },
            gym,
            scope,
            member,
        }
    }

    pub async fn member(
        &self,
        scope: &Scope,
        gym: &Gym,
        badge: &str,
        tune: impl FnOnce(&mut NewMember),
    ) -> Member {
        let mut new = NewMember {
            badge_id: badge.into(),
            first_name: "Camille".into(),
            last_name: "Martin".into(),
            email: None,
            phone: None,
            birth_date: None,
            preferred_language: Locale::Fr,
            membership_type: "standard".into(),
            membership_status: MembershipStatus::Active,
            membership_end_date: None,
            goals: vec!["perdre 3 kg".into()],
            limitations: None,
            consent_voice: true,
            consent_transcripts: true,
        };
        tune(&mut new);
        self.store
            .create_member(scope, &Actor::cli(), gym.id, new)
            .await
            .unwrap()
    }

    /// Starts a call for `badge` and waits until its task listens on the sideband.
    pub async fn start(&self, fx: &Fx, badge: &str) -> (Started, String) {
        let started = self
            .broker
            .start(&fx.kiosk, badge, OFFER)
            .await
            .unwrap_or_else(|e| panic!("start refused: {e:?}"));
        let call_id = self.call_id(fx, started.session_id).await;
        let fake = self.fake.handle.clone();
        let c = call_id.clone();
        eventually("sideband connected", || {
            let fake = fake.clone();
            let c = c.clone();
            async move {
                fake.call_stats(&c)
                    .is_some_and(|s| s.sideband_connections >= 1)
            }
        })
        .await;
        (started, call_id)
    }

    pub async fn session(&self, fx: &Fx, id: VoiceSessionId) -> VoiceSession {
        self.store.voice_session(&fx.scope, id).await.unwrap()
    }

    pub async fn call_id(&self, fx: &Fx, id: VoiceSessionId) -> String {
        self.session(fx, id).await.provider_call_id.unwrap()
    }

    /// Waits until the session ended; returns it.
    pub async fn ended(&self, fx: &Fx, id: VoiceSessionId) -> VoiceSession {
        let store = self.store.clone();
        let scope = fx.scope;
        eventually("session ended", || {
            let store = store.clone();
            async move { !store.voice_session(&scope, id).await.unwrap().is_live() }
        })
        .await;
        self.session(fx, id).await
    }

    /// Slots held now on the whole platform.
    pub async fn global_live(&self, fx: &Fx) -> u32 {
        self.store
            .slot_usage(&fx.scope, fx.gym.id)
            .await
            .unwrap()
            .global_live
    }

    /// The fake's ledger total for one call.
    pub fn ledger_of(&self, call_id: &str) -> u64 {
        self.fake
            .handle
            .ledger()
            .iter()
            .filter(|e| e.call_id.as_deref() == Some(call_id))
            .map(|e| e.cost_pico)
            .sum()
    }

    /// Waits for the broker to have metered `n` responses in total.
    pub async fn responses(&self, n: u64) {
        let b = self.broker.clone();
        eventually(&format!("{n} responses metered"), || {
            let b = b.clone();
            async move { b.metrics().snapshot().responses_metered >= n }
        })
        .await;
    }
}

/// Polls `f` until it holds (10 s at most).
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if f().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = jarvis_store::testing::TestDb::sqlite().await.unwrap();
                    crate::cases::$case(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = jarvis_store::testing::TestDb::postgres().await.unwrap();
                    crate::cases::$case(db).await;
                }
            )*
        }
    };
}

both_backends!(
    full_conversation_runs_every_function_call_of_a_response,
    every_fault_frees_the_slot_and_bills_every_response,
    metered_cost_equals_the_ledger_with_custom_prices,
    budget_crossing_hangs_up_within_one_response_and_alerts_once,
    shutdown_ends_every_call_as_shutdown,
    dead_owner_sessions_are_reaped_and_hung_up,
    transcripts_are_stored_at_the_gym_level_html_verbatim,
    refusals_have_codes_and_cost_nothing,
    kiosk_ends_only_its_own_sessions,
    context_is_bounded_by_max_context_turns,
    idle_max_duration_and_staff_hangups_end_the_call,
    unparseable_events_are_counted_and_usage_salvaged,
    an_abandoned_start_still_completes_and_ends_cleanly,
    two_instances_never_exceed_the_global_cap,
    today_is_the_gym_local_date,
    gym_tools_join_the_calls_of_their_gym_only,
    search_knowledge_cites_titles_and_falls_back_to_full_text,
    analysis_with_a_custom_field_round_trips_and_is_billed_to_the_session,
    refusal_then_invalid_output_is_retried_then_recorded_failed,
    no_analysis_without_stored_transcripts,
    a_simulation_reports_a_passing_and_a_failing_scenario,
);

/// The demo script of `serve --demo` only calls tools the broker has, with arguments their
/// schemas accept: a newcomer's demo call must show a working tool call, not an error output.
#[test]
fn demo_script_calls_only_built_in_tools_with_valid_arguments() {
    let tools = jarvis_voice::tools::ToolRegistry::builtin();
    let mut calls = 0;
    for turn in jarvis_fake_openai::demo_script().turns {
        if let jarvis_fake_openai::Turn::Call { calls: cs, .. } = turn {
            for c in cs {
                let tool = tools
                    .get(&c.name)
                    .unwrap_or_else(|| panic!("{} is not a built-in tool", c.name));
                jarvis_voice::tools::validate_args(&tool.parameters(), &c.arguments)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name));
                calls += 1;
            }
        }
    }
    assert!(calls >= 2, "the demo shows tool calls");
}

/// Every integration test of this crate is a module of this one binary (one link instead of one
/// per file): a file left directly under `tests/` would build as a binary of its own, and a file
/// under `tests/it/` that is not declared above would silently never run.
#[test]
fn integration_tests_are_modules_of_this_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&tests),
        ["it"],
        "move these into tests/it/ as modules of main.rs"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).unwrap();
    for name in names(&tests.join("it")) {
        let module = name.strip_suffix(".rs").unwrap_or(&name);
        if module != "main" {
            assert!(
                main.contains(&format!("mod {module};")),
                "tests/it/{name} is not declared in tests/it/main.rs"
            );
        }
    }
}
