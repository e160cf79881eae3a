//! Voice calls on several `jarvis serve` processes sharing one PostgreSQL, against the fake
//! OpenAI on loopback: the global cap holds across instances under 500 concurrent starts and
//! no slot leaks once every call ends; a call whose instance is killed with `kill -9` is reaped
//! by another instance within 90 s and hung up at the provider.

use crate::support;

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_fake_openai::{FakeConfig, FakeOpenAi, TEST_API_KEY};
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use support::{Serve, request_to, wait_for};

const STARTS: &str = "/api/v1/kiosk/voice/sessions";

/// A browser-like SDP offer (the fake answers with a canned answer; no media flows).
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n";

/// The fake OpenAI in this process, answering offers without a WebRTC stack (hundreds of
/// calls; the media path is not what these tests are about).
async fn fake() -> FakeOpenAi {
    FakeOpenAi::start(FakeConfig {
        real_webrtc: false,
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

/// Environment of an instance talking to `fake`, with the per-client limit raised (every
/// request of the test comes from one loopback address) so that only the caps can refuse a
/// start. A debug build on a shared 2-core machine answers a burst of 250 starts slowly: the
/// request time limit is a generous hang guard (the test is about caps and leaks, not speed),
/// and so is the wait for a pooled connection (`database_acquire_timeout_secs`).
fn env(fake: &FakeOpenAi) -> Vec<(&'static str, String)> {
    vec![
        ("JARVIS_OPENAI_API_KEY", TEST_API_KEY.to_string()),
        ("JARVIS_OPENAI_BASE_URL", fake.base_url()),
        ("JARVIS_RATE_LIMIT_API_PER_MIN", "100000".into()),
        ("JARVIS_DATABASE_MAX_CONNECTIONS", "20".into()),
        ("JARVIS_REQUEST_TIMEOUT_SECS", "300".into()),
        ("JARVIS_DATABASE_ACQUIRE_TIMEOUT_SECS", "120".into()),
    ]
}

fn start_serve(dir: &std::path::Path, db: &TestDb, env: &[(&'static str, String)]) -> Serve {
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Serve::start(dir, db.url(), &e)
}

/// A gym with `members` eligible members (`B-<gym>-<i>`), each with a kiosk of their own paired
/// through the store (the device token's hash, as the pairing endpoint stores it): a burst of
/// starts comes from many kiosks, as in a real fleet (one kiosk starts one call at a time).
struct TestGym {
    scope: Scope,
    name: String,
    tokens: Vec<String>,
}

async fn gym(s: &Arc<dyn Store>, f: FranchiseId, name: &str, members: usize) -> TestGym {
    let a = Actor::cli();
    let gym = s
        .create_gym(
            &Scope::Platform,
            &a,
            NewGym {
                franchise_id: f,
                name: name.into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::En,
                // Calls stay up (no idle hang-up) until the test ends them.
                settings: serde_json::json!({
                    "voice_session_cap": 50,
                    "voice": {"idle_timeout_secs": 600, "max_call_secs": 1800}
                }),
            }
            .validate()
            .unwrap(),
            GymStatus::Active,
        )
        .await
        .unwrap();
    let scope = Scope::Gym {
        franchise: f,
        gym: gym.id,
    };
    for i in 0..members {
        s.create_member(
            &scope,
            &a,
            gym.id,
            NewMember {
                badge_id: format!("B-{name}-{i}"),
                first_name: "Camille".into(),
                last_name: "Martin".into(),
                email: None,
                phone: None,
                birth_date: None,
                preferred_language: Locale::En,
                membership_type: "standard".into(),
                membership_status: MembershipStatus::Active,
                membership_end_date: None,
                goals: vec![],
                limitations: None,
                consent_voice: true,
                consent_transcripts: true,
            },
        )
        .await
        .unwrap();
    }
    let mut tokens = Vec::new();
    for i in 0..members {
        let kiosk = s
            .create_kiosk(
                &scope,
                &a,
                gym.id,
                NewKiosk {
                    name: format!("Kiosk {i}"),
                },
            )
            .await
            .unwrap();
        let code = jarvis_app::kiosks::new_pairing_code().unwrap();
        let token = jarvis_app::kiosks::new_device_token().unwrap();
        let code_hash = jarvis_app::kiosks::hash_secret(&code);
        s.set_pairing_code(
            &scope,
            &a,
            gym.id,
            kiosk.id,
            &code_hash,
            time::OffsetDateTime::now_utc() + time::Duration::minutes(10),
        )
        .await
        .unwrap();
        s.pair_kiosk(&code_hash, &jarvis_app::kiosks::hash_secret(&token))
            .await
            .unwrap();
        tokens.push(token);
    }
    TestGym {
        scope,
        name: name.into(),
        tokens,
    }
}

async fn franchise(s: &Arc<dyn Store>) -> FranchiseId {
    s.create_franchise(
        &Scope::Platform,
        &Actor::cli(),
        NewFranchise {
            name: "Atlas".into(),
        },
    )
    .await
    .unwrap()
    .id
}

async fn set_global_cap(s: &Arc<dyn Store>, cap: u32) {
    s.set_platform_settings(
        &Scope::Platform,
        &Actor::cli(),
        PlatformSettings {
            voice_session_cap: cap,
            ..PlatformSettings::default()
        },
    )
    .await
    .unwrap();
}

/// Sessions holding or claiming a slot, counted straight from the table (any lease state), so
/// the check does not trust the store's own slot query.
async fn live_rows(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM voice_sessions WHERE status IN ('starting', 'active')")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn start_body(badge: &str) -> String {
    serde_json::json!({ "badge_id": badge, "sdp": OFFER }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_500_concurrent_starts_on_two_instances_never_exceed_the_global_cap_and_leak_nothing()
 {
    let db = TestDb::postgres().await.unwrap();
    let store = db.store();
    let pool = db.pg().unwrap().pool().clone();
    let fake = fake().await;
    set_global_cap(&store, 100).await;
    let f = franchise(&store).await;
    // Ten gyms of cap 50 (the most a gym may have) with 50 members each: only the global cap of
    // 100 can refuse, and it must hold for starts arriving at both instances.
    let mut gyms = Vec::new();
    for i in 0..10 {
        gyms.push(gym(&store, f, &format!("G{i}"), 50).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let env = env(&fake);
    let a = start_serve(dir.path(), &db, &env);
    let b = start_serve(dir.path(), &db, &env);
    let ports = [a.port, b.port];

    // Sample the live count from the database for the whole burst.
    let done = Arc::new(AtomicBool::new(false));
    let max_live = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (pool, done, max_live, samples) = (
            pool.clone(),
            done.clone(),
            max_live.clone(),
            samples.clone(),
        );
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let n = u64::try_from(live_rows(&pool).await).unwrap();
                max_live.fetch_max(n, Ordering::SeqCst);
                samples.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    // 500 attempts released together: gym i % 10, member and kiosk i / 10, half at each
    // instance.
    let barrier = Arc::new(Barrier::new(500));
    let threads: Vec<_> = (0..500)
        .map(|i| {
            let g = &gyms[i % 10];
            let (token, badge) = (g.tokens[i / 10].clone(), format!("B-{}-{}", g.name, i / 10));
            let instance = (i / 10) % 2;
            let port = ports[instance];
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let t = Instant::now();
                let (status, body) = request_to(
                    port,
                    Some(&token),
                    "POST",
                    STARTS,
                    Some(&start_body(&badge)),
                );
                (instance, token, status, body, t.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // A last sample after every answer, then stop sampling.
    let after = live_rows(&pool).await;
    done.store(true, Ordering::SeqCst);
    sampler.await.unwrap();

    let mut took: Vec<Duration> = results.iter().map(|r| r.4).collect();
    took.sort();
    let mut codes = std::collections::BTreeMap::new();
    for r in &results {
        let v: serde_json::Value = serde_json::from_str(&r.3).unwrap_or_default();
        let code = v["error"]["code"].as_str().unwrap_or("").to_string();
        *codes.entry((r.2, code)).or_insert(0) += 1;
    }
    eprintln!(
        "answers {codes:?}; latency p50 {:?}, p95 {:?}, max {:?}",
        took[249], took[474], took[499]
    );
    let mut started = Vec::new();
    let mut per_instance = [0_usize; 2];
    for (instance, token, status, body, _) in &results {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        match status {
            201 => {
                per_instance[*instance] += 1;
                started.push((
                    *instance,
                    token.clone(),
                    v["session_id"].as_str().unwrap().to_string(),
                ));
            }
            409 => assert_eq!(v["error"]["code"], "capacity_reached", "{body}"),
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    let max = max_live.load(Ordering::SeqCst);
    eprintln!(
        "500 starts: {} admitted ({per_instance:?} per instance), {} refused; \
         max live sampled {max} over {} samples",
        started.len(),
        500 - started.len(),
        samples.load(Ordering::SeqCst)
    );
    assert!(max <= 100, "{max} live sessions sampled");
    assert!(
        samples.load(Ordering::SeqCst) >= 2,
        "the sampler ran during the burst"
    );
    // Nothing ended during the burst, so the cap was filled exactly, by both instances.
    assert_eq!(started.len(), 100, "admitted exactly the cap");
    assert_eq!(after, 100);
    assert!(
        per_instance.iter().all(|&n| n > 0),
        "both instances admitted calls: {per_instance:?}"
    );
    assert_eq!(
        store
            .slot_usage(&gyms[0].scope, gyms[0].scope.gym().unwrap())
            .await
            .unwrap()
            .global_live,
        100
    );

    // End every call, half of them through the instance that does not own it (the end goes
    // through the database; the owner learns it on its next lease renewal).
    let threads: Vec<_> = started
        .iter()
        .enumerate()
        .map(|(n, (instance, token, id))| {
            let port = ports[(instance + n) % 2];
            let (token, path) = (token.clone(), format!("{STARTS}/{id}"));
            std::thread::spawn(move || request_to(port, Some(&token), "DELETE", &path, None))
        })
        .collect();
    for t in threads {
        let (status, body) = t.join().unwrap();
        assert_eq!(status, 204, "{body}");
    }
    wait_for("every slot to be free", 60, async || {
        (live_rows(&pool).await == 0).then_some(())
    })
    .await;

    // None leaked: every session that was admitted ended once with a reason; refusals stored
    // nothing; every call was hung up at the provider.
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, end_reason FROM voice_sessions")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 100, "a refused start stores no session");
    for (status, reason) in &rows {
        assert_eq!(
            (status.as_str(), reason.as_deref()),
            ("ended", Some("member_ended"))
        );
    }
    for g in &gyms {
        let usage = store
            .slot_usage(&g.scope, g.scope.gym().unwrap())
            .await
            .unwrap();
        assert_eq!((usage.gym_live, usage.global_live), (0, 0));
    }
    let calls = fake.handle.calls();
    assert_eq!(calls.len(), 100, "one provider call per admitted start");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open: Vec<&String> = calls
            .iter()
            .filter(|c| !fake.handle.call_stats(c).is_some_and(|s| s.ended))
            .collect();
        if open.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let hangups: Vec<usize> = open
                .iter()
                .map(|c| {
                    fake.handle
                        .requests_to(&format!("/v1/realtime/calls/{c}/hangup"))
                        .len()
                })
                .collect();
            panic!(
                "{} provider calls still open: {open:?}, hang-up requests each: {hangups:?}",
                open.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_a_call_of_a_killed_instance_is_reaped_within_90_s_and_hung_up() {
    let db = TestDb::postgres().await.unwrap();
    let store = db.store();
    let fake = fake().await;
    let f = franchise(&store).await;
    let g = gym(&store, f, "K", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&fake);
    let mut a = start_serve(dir.path(), &db, &env);
    let _b = start_serve(dir.path(), &db, &env);

    let (status, body) = a.request_as(
        Some(&g.tokens[0]),
        "POST",
        STARTS,
        Some(&start_body("B-K-0")),
    );
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id: VoiceSessionId = v["session_id"].as_str().unwrap().parse().unwrap();
    let session = store.voice_session(&g.scope, id).await.unwrap();
    assert!(session.is_live());
    let call_id = session.provider_call_id.clone().unwrap();
    let hangup_path = format!("/v1/realtime/calls/{call_id}/hangup");
    assert!(fake.handle.requests_to(&hangup_path).is_empty());

    // The owner dies without any shutdown path; only the other instance's reaper can end it.
    a.kill9();
    let killed = Instant::now();
    let ended = wait_for("the reaper to end the call", 150, async || {
        let s = store.voice_session(&g.scope, id).await.unwrap();
        (!s.is_live()).then_some(s)
    })
    .await;
    let took = killed.elapsed();
    eprintln!("reaped {took:?} after kill -9");
    assert_eq!(ended.end_reason, Some(EndReason::Reaped));
    assert!(took <= Duration::from_secs(90), "reaped after {took:?}");
    // The reaper hangs the call up at the provider right after ending the session.
    wait_for("the provider hang-up", 20, async || {
        (!fake.handle.requests_to(&hangup_path).is_empty()).then_some(())
    })
    .await;
    assert!(fake.handle.call_stats(&call_id).unwrap().ended);
    let usage = store
        .slot_usage(&g.scope, g.scope.gym().unwrap())
        .await
        .unwrap();
    assert_eq!((usage.gym_live, usage.global_live), (0, 0));
}
