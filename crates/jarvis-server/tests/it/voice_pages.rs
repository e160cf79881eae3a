//! The voice dashboard pages against the in-process demo fake, on both backends: a gym's live
//! calls with the hang-up button (CSRF, confirmation, reaches the call through the database and
//! ends it as `staff_ended`), the history filters, the session page (transcript escaped, tool
//! calls, cost per turn, end reason, latency), follow-ups resolved, budget alerts shown and
//! e-mailed once, the model prices page (super admins only, errors next to the field), and who
//! may see what (another gym's or franchise's staff: 404; gym staff: 403).

use crate::common;

use crate::web::{get, hidden, post, web_login};
use common::{Backend, TestApp, send};
use jarvis_core::cost::TokenUsage;
use jarvis_core::model::Actor;
use jarvis_core::model::*;
use jarvis_core::{FranchiseId, GymId, Role, Scope, VoiceSessionId};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A browser-like SDP offer (the demo fake answers it; no media flows here).
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n";

/// Whether `raw` (holding markup characters) is on the page as text: escaped in the HTML, and
/// present once the entities are decoded.
fn shown_as_text(html: &str, raw: &str) -> bool {
    let decoded = [
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(html.to_string(), |h, (e, c)| h.replace(e, c));
    !html.contains(raw) && decoded.contains(raw)
}

/// Pico-dollars as the pages show them (rounded to the micro-dollar).
fn usd(pico: u64) -> String {
    let micros = jarvis_core::cost::pico_to_micro(pico);
    format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

struct Gym {
    franchise: FranchiseId,
    gym: GymId,
    kiosk: String,
}

impl Gym {
    fn scope(&self) -> Scope {
        Scope::Gym {
            franchise: self.franchise,
            gym: self.gym,
        }
    }
}

/// A gym with a consenting member (badge `B-OK`) and a paired kiosk, in a franchise (new one
/// unless given).
async fn gym(app: &TestApp, franchise: Option<FranchiseId>, name: &str) -> Gym {
    let fid = match franchise {
        Some(f) => f,
        None => created(
            app,
            "/api/v1/franchises",
            json!({"name": format!("F {name}")}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    };
    let g = created(
        app,
        "/api/v1/gyms",
        json!({"franchise_id": fid, "name": name, "timezone": "Europe/Paris"}),
    )
    .await;
    let gid: GymId = g["id"].as_str().unwrap().parse().unwrap();
    created(
        app,
        &format!("/api/v1/gyms/{gid}/members"),
        json!({"badge_id": "B-OK", "first_name": "Alice", "last_name": "Martin",
               "preferred_language": "en", "consent_voice": true, "consent_transcripts": true}),
    )
    .await;
    let k = created(
        app,
        &format!("/api/v1/gyms/{gid}/kiosks"),
        json!({ "name": format!("Door {name}") }),
    )
    .await;
    let kid = k["id"].as_str().unwrap();
    let code = created(
        app,
        &format!("/api/v1/gyms/{gid}/kiosks/{kid}/pairing-code"),
        json!({}),
    )
    .await;
    let (s, p) = send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code["code"] })),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    Gym {
        franchise: fid,
        gym: gid,
        kiosk: p["device_token"].as_str().unwrap().to_string(),
    }
}

async fn start(app: &TestApp, kiosk: &str, badge: &str) -> (u16, Value) {
    send(
        app.client
            .post(app.url("/api/v1/kiosk/voice/sessions"))
            .bearer_auth(kiosk)
            .json(&json!({"badge_id": badge, "sdp": OFFER})),
    )
    .await
}

async fn started(app: &TestApp, kiosk: &str) -> VoiceSessionId {
    let (s, v) = start(app, kiosk, "B-OK").await;
    assert_eq!(s, 201, "{v}");
    v["session_id"].as_str().unwrap().parse().unwrap()
}

/// Waits (generously: the machine is loaded) until the session ended; returns it.
async fn ended(app: &TestApp, scope: &Scope, id: VoiceSessionId) -> VoiceSession {
    let store = app.db.store();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = store.voice_session(scope, id).await.unwrap();
        if !s.is_live() {
            return s;
        }
        assert!(Instant::now() < deadline, "session {id} never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn voice_pages_show_escape_filter_and_hang_up(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let a = gym(&app, None, "Lyon").await;
    let scope = a.scope();
    let store = app.db.store();
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let base = format!("/app/gyms/{}/voice", a.gym);

    // A live call shows with its member, kiosk, running cost and a hang-up link.
    let live = started(&app, &a.kiosk).await;
    let now = time::OffsetDateTime::now_utc();
    store
        .record_turn(
            &scope,
            live,
            NewTurn::new(
                StorageLevel::Full,
                TurnRole::Member,
                "<script>alert('x')</script> & hi",
                now,
            ),
        )
        .await
        .unwrap();
    let usage = TokenUsage {
        input_audio: 100,
        output_audio: 50,
        ..Default::default()
    };
    store
        .record_response(
            &scope,
            live,
            ResponseUsage {
                response_id: "resp_dash_1".into(),
                at: now,
                usage,
                cost_pico: 1_234_567_000,
            },
            Some(
                NewTurn::new(
                    StorageLevel::Full,
                    TurnRole::Assistant,
                    "Noted <b>your</b> goal",
                    now,
                )
                .with_latency_ms(420),
            ),
        )
        .await
        .unwrap();
    store
        .record_tool_call(
            &scope,
            live,
            NewToolCall::new(
                StorageLevel::Full,
                "call_dash_1",
                "log_member_goal",
                json!({"goal": "run <10k>"}),
                Ok(json!({"ok": true})),
                12,
                now,
            ),
        )
        .await
        .unwrap();
    let fu = store
        .create_follow_up(
            &scope,
            &Actor::cli(),
            a.gym,
            NewFollowUp {
                member_id: None,
                session_id: Some(live),
                reason: "Wants a call about <freezing> the membership".into(),
            }
            .validate()
            .unwrap(),
        )
        .await
        .unwrap();

    // The running cost, as the store has it (the response above: $0.001235).
    let cost = usd(store.voice_session(&scope, live).await.unwrap().cost_pico);
    assert!(cost.starts_with("$0.0012"), "{cost}");
    let (s, html) = get(&app, &admin, &base).await;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains(&format!("data-session=\"{live}\"")),
        "live call listed"
    );
    assert!(html.contains("Alice Martin") && html.contains("Door Lyon"));
    assert!(html.contains(&cost), "running cost shown: {html}");
    let hangup = format!("{base}/sessions/{live}/hangup");
    assert!(html.contains(&hangup), "hang-up link");
    assert!(
        shown_as_text(&html, "Wants a call about <freezing> the membership"),
        "waiting follow-up shown, escaped"
    );

    // The session page: transcript escaped, cost per turn, tool call, latency.
    let page = format!("{base}/sessions/{live}");
    let (s, html) = get(&app, &admin, &page).await;
    assert_eq!(s, 200, "{html}");
    assert!(
        shown_as_text(&html, "<script>alert('x')</script> & hi"),
        "member turn shown as text: {html}"
    );
    assert!(!html.contains("<script>alert"), "never as markup");
    assert!(shown_as_text(&html, "Noted <b>your</b> goal"));
    assert!(html.contains("log_member_goal") && shown_as_text(&html, "run <10k>"));
    assert!(html.contains("<td>420</td>"), "turn latency");
    assert!(
        html.contains("420 / 420"),
        "gym p50/p95 over the one measured turn"
    );

    // Hang-up: a confirmation page, a CSRF-checked POST, then the owning call ends as
    // `staff_ended` (it learns it from the database at its next lease renewal).
    let (s, confirm) = get(&app, &admin, &hangup).await;
    assert_eq!(s, 200);
    let csrf = hidden(&confirm, "csrf");
    assert_eq!(post(&app, &admin, &hangup, "csrf=forged").await.0, 403);
    assert!(
        store
            .voice_session(&scope, live)
            .await
            .unwrap()
            .hangup_requested_at
            .is_none(),
        "a forged form changes nothing"
    );
    assert_eq!(
        post(&app, &admin, &hangup, &format!("csrf={csrf}")).await,
        (303, page.clone())
    );
    let s = store.voice_session(&scope, live).await.unwrap();
    assert!(
        s.hangup_requested_at.is_some() || !s.is_live(),
        "request recorded"
    );
    let s = ended(&app, &scope, live).await;
    assert_eq!(s.end_reason, Some(EndReason::StaffEnded));
    let (_, html) = get(&app, &admin, &page).await;
    assert!(html.contains("staff_ended"), "end reason shown");
    let cost = usd(s.cost_pico);
    assert!(
        html.contains(&format!("id=\"total-cost\">{cost}<")),
        "total cost shown"
    );

    // The follow-up is resolved from the session page, back to it.
    let resolve = format!("{base}/follow-ups/{}/resolve", fu.id);
    assert_eq!(
        post(
            &app,
            &admin,
            &resolve,
            &format!("csrf={csrf}&session={live}")
        )
        .await,
        (303, page.clone())
    );
    let open = store
        .list_follow_ups(
            &scope,
            a.gym,
            Some(FollowUpStatus::Open),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(open.total, 0, "resolved");

    // A second call the member ends at the kiosk.
    let second = started(&app, &a.kiosk).await;
    let (s, _) = send(
        app.client
            .delete(app.url(&format!("/api/v1/kiosk/voice/sessions/{second}")))
            .bearer_auth(&a.kiosk),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(
        ended(&app, &scope, second).await.end_reason,
        Some(EndReason::MemberEnded)
    );

    // History filters: by end reason, by badge, by dates; a bad date is an error next to it.
    let hist = format!("{base}/sessions");
    let (s, html) = get(&app, &admin, &hist).await;
    assert_eq!(s, 200);
    assert!(html.contains(&format!("data-session=\"{live}\"")));
    assert!(html.contains(&format!("data-session=\"{second}\"")));
    let (_, html) = get(&app, &admin, &format!("{hist}?reason=member_ended")).await;
    assert!(html.contains(&format!("data-session=\"{second}\"")));
    assert!(!html.contains(&format!("data-session=\"{live}\"")));
    let (_, html) = get(&app, &admin, &format!("{hist}?reason=staff_ended")).await;
    assert!(html.contains(&format!("data-session=\"{live}\"")));
    assert!(!html.contains(&format!("data-session=\"{second}\"")));
    let (_, html) = get(&app, &admin, &format!("{hist}?badge=B-OK")).await;
    assert!(html.contains(&format!("data-session=\"{live}\"")));
    let (_, html) = get(&app, &admin, &format!("{hist}?badge=NOBODY")).await;
    assert!(!html.contains("data-session="), "unknown badge: nothing");
    let today = time::OffsetDateTime::now_utc().date();
    let (_, html) = get(&app, &admin, &format!("{hist}?from={today}&to={today}")).await;
    assert!(html.contains(&format!("data-session=\"{live}\"")));
    let tomorrow = today.next_day().unwrap();
    let (_, html) = get(&app, &admin, &format!("{hist}?from={tomorrow}")).await;
    assert!(!html.contains("data-session="), "nothing from tomorrow");
    let (s, html) = get(&app, &admin, &format!("{hist}?from=yesterday")).await;
    assert_eq!(s, 422);
    assert!(html.contains("YYYY-MM-DD") && html.contains("aria-invalid"));

    // Permissions. Gym staff: 403 (transcripts are for managers and above). A manager of
    // another gym of the franchise, or another franchise's owner: 404 for this gym's pages,
    // even with a real session id.
    let b = gym(&app, Some(a.franchise), "Nice").await;
    let c = gym(&app, None, "Brest").await;
    let users = [
        (
            "staff@a.test",
            Role::GymStaff,
            MembershipTarget::Gym(a.franchise, a.gym),
            403,
        ),
        (
            "manager@b.test",
            Role::GymManager,
            MembershipTarget::Gym(b.franchise, b.gym),
            404,
        ),
        (
            "owner@c.test",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(c.franchise),
            404,
        ),
        (
            "manager@a.test",
            Role::GymManager,
            MembershipTarget::Gym(a.franchise, a.gym),
            200,
        ),
    ];
    for (email, role, target, want) in users {
        let id = app.create_user(email, Some((role, target))).await;
        let totp = if role.requires_mfa() {
            app.sign_in(&id, email, true).await.totp
        } else {
            None
        };
        let s = web_login(&app, email, totp.as_deref()).await;
        for path in [base.clone(), hist.clone(), page.clone()] {
            assert_eq!(get(&app, &s, &path).await.0, want, "{email} {path}");
        }
        let (_, home) = get(&app, &s, "/app").await;
        let csrf = hidden(&home, "csrf");
        let (st, _) = post(&app, &s, &hangup, &format!("csrf={csrf}")).await;
        if want == 200 {
            assert_eq!(st, 303, "the gym's manager may hang up");
        } else {
            assert_eq!(st, want, "{email} hang-up");
        }
        // Never the model prices page.
        assert_eq!(get(&app, &s, "/app/voice/prices").await.0, 403, "{email}");
    }
    // Another gym's session through this gym's URL: not found.
    let other = started(&app, &b.kiosk).await;
    assert_eq!(
        get(&app, &admin, &format!("{base}/sessions/{other}"))
            .await
            .0,
        404
    );
    assert_eq!(
        post(
            &app,
            &admin,
            &format!("{base}/sessions/{other}/hangup"),
            &format!("csrf={csrf}")
        )
        .await
        .0,
        404
    );
    assert!(
        store
            .voice_session(&b.scope(), other)
            .await
            .unwrap()
            .hangup_requested_at
            .is_none()
    );
    app.stop().await;
}

async fn budget_alerts_are_mailed_once_and_noticed(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let a = gym(&app, None, "Lyon").await;
    app.create_user(
        "manager@lyon.test",
        Some((Role::GymManager, MembershipTarget::Gym(a.franchise, a.gym))),
    )
    .await;
    app.create_user(
        "staff@lyon.test",
        Some((Role::GymStaff, MembershipTarget::Gym(a.franchise, a.gym))),
    )
    .await;
    // No budget at all: the start is refused and both thresholds fire, once each.
    let (s, g) = app
        .patch(
            &format!("/api/v1/gyms/{}", a.gym),
            json!({"settings": {"monthly_ai_budget_micros": 0}}),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    for _ in 0..3 {
        let (s, v) = start(&app, &a.kiosk, "B-OK").await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (402, Some("budget_exhausted"))
        );
    }
    let mails = app.mails_to("manager@lyon.test", 2).await;
    assert_eq!(mails.len(), 2, "80 % and 100 %, each once");
    assert!(mails.iter().all(|m| m.kind == "budget_alert"));
    assert!(mails.iter().any(|m| m.subject.contains("80%")));
    assert!(mails.iter().any(|m| m.text.contains("Lyon")));
    assert!(
        mails
            .iter()
            .all(|m| m.text.contains(&format!("/app/gyms/{}/voice", a.gym)))
    );
    let store = app.db.store();
    assert!(
        store
            .emails_to("staff@lyon.test", 10)
            .await
            .unwrap()
            .is_empty(),
        "staff get no alert"
    );
    assert!(
        store
            .emails_to("admin@test.local", 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.kind != "budget_alert"),
        "the platform's budget is fine: no admin alert"
    );

    // The gym's voice page shows this month's alerts.
    let manager = web_login(&app, "manager@lyon.test", None).await;
    let (s, html) = get(&app, &manager, &format!("/app/gyms/{}/voice", a.gym)).await;
    assert_eq!(s, 200, "{html}");
    assert_eq!(html.matches("class=\"budget-alert\"").count(), 2, "{html}");
    assert!(shown_as_text(&html, "the gym's AI budget is spent"));

    // The platform's budget: its alerts go to the super admins, once.
    let (s, _) = app
        .patch(
            &format!("/api/v1/gyms/{}", a.gym),
            json!({"settings": {"monthly_ai_budget_micros": 100_000_000}}),
        )
        .await;
    assert_eq!(s, 200);
    let platform = PlatformSettings {
        monthly_budget_micros: 0,
        ..store.platform_settings().await.unwrap()
    };
    store
        .set_platform_settings(&Scope::Platform, &Actor::cli(), platform)
        .await
        .unwrap();
    for _ in 0..2 {
        let (s, v) = start(&app, &a.kiosk, "B-OK").await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (402, Some("budget_exhausted"))
        );
    }
    let admin_alerts = |mails: Vec<jarvis_app::outbox::OpenedEmail>| {
        mails
            .into_iter()
            .filter(|m| m.kind == "budget_alert")
            .collect::<Vec<_>>()
    };
    let mails = admin_alerts(app.mails_to("admin@test.local", 2).await);
    assert_eq!(mails.len(), 2, "the platform's 80 % and 100 %, once each");
    assert!(mails.iter().all(|m| m.text.contains("/app/voice/prices")));
    assert_eq!(
        app.mails_to("manager@lyon.test", 2).await.len(),
        2,
        "no new gym alert for the manager"
    );
    app.stop().await;
}

async fn model_prices_page_is_for_super_admins(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, "/app/voice/prices").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("gpt-realtime"), "seeded prices listed");
    let csrf = hidden(&html, "csrf");
    let (_, home) = get(&app, &admin, "/app").await;
    assert!(home.contains("/app/voice/prices"), "linked from home");

    // Errors next to their field, input kept.
    let (s, html) = post(
        &app,
        &admin,
        "/app/voice/prices",
        &format!("csrf={csrf}&model=gpt-dash-test&effective_from=soon&text_in=abc&audio_out=64"),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("data-field=\"effective_from\""));
    assert!(html.contains("data-field=\"text_in\""));
    assert!(!html.contains("data-field=\"audio_out\""));
    assert!(html.contains("value=\"gpt-dash-test\""), "input kept");
    let store = app.db.store();
    assert!(
        !store
            .list_model_prices()
            .await
            .unwrap()
            .iter()
            .any(|p| p.model == "gpt-dash-test")
    );

    // A valid price: $/1M tokens → pico-USD per token, from its date.
    let (s, loc) = post(
        &app,
        &admin,
        "/app/voice/prices",
        &format!(
            "csrf={csrf}&model=gpt-dash-test&effective_from=2026-02-01&text_in=0.60&audio_out=64"
        ),
    )
    .await;
    assert_eq!((s, loc.as_str()), (303, "/app/voice/prices"));
    let p = store
        .list_model_prices()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.model == "gpt-dash-test")
        .unwrap();
    assert_eq!((p.price.text_in, p.price.audio_out), (600_000, 64_000_000));
    assert_eq!(p.effective_from.date().to_string(), "2026-02-01");
    let (_, html) = get(&app, &admin, "/app/voice/prices").await;
    assert!(html.contains("gpt-dash-test") && html.contains("<td>0.6</td>"));

    // Platform budget and cap.
    let (s, html) = post(
        &app,
        &admin,
        "/app/voice/platform",
        &format!("csrf={csrf}&monthly_budget=abc&voice_session_cap=0&realtime_model=bad%20model"),
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("data-field=\"monthly_budget\""));
    assert!(html.contains("data-field=\"voice_session_cap\""));
    assert!(html.contains("data-field=\"realtime_model\""));
    assert!(!html.contains("data-field=\"transcription_model\""));
    // A model with no price in effect would make every call unbillable.
    let (s, html) = post(
        &app,
        &admin,
        "/app/voice/platform",
        &format!("csrf={csrf}&monthly_budget=10&voice_session_cap=5&realtime_model=gpt-unpriced-x"),
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("data-field=\"realtime_model\"") && html.contains("add its price first"));
    assert_eq!(
        store.platform_settings().await.unwrap(),
        PlatformSettings::default()
    );
    let (s, _) = post(
        &app,
        &admin,
        "/app/voice/platform",
        &format!("csrf={csrf}&monthly_budget=250.50&voice_session_cap=40&realtime_model=gpt-dash-test&transcription_model="),
    )
    .await;
    assert_eq!(s, 200);
    let ps = store.platform_settings().await.unwrap();
    assert_eq!(ps.realtime_model, "gpt-dash-test");
    assert_eq!(
        ps.transcription_model,
        PlatformSettings::default().transcription_model,
        "left empty: unchanged"
    );
    assert_eq!(
        (ps.monthly_budget_micros, ps.voice_session_cap, ps.hard_stop),
        (250_500_000, 40, false),
        "unchecked box: hard stop off"
    );

    // Nobody else, even a franchise owner; a forged form changes nothing.
    let (s, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    assert_eq!(s, 201);
    let fid: FranchiseId = f["id"].as_str().unwrap().parse().unwrap();
    let id = app
        .create_user(
            "owner@prices.test",
            Some((Role::FranchiseOwner, MembershipTarget::Franchise(fid))),
        )
        .await;
    let totp = app.sign_in(&id, "owner@prices.test", true).await.totp;
    let owner = web_login(&app, "owner@prices.test", totp.as_deref()).await;
    assert_eq!(get(&app, &owner, "/app/voice/prices").await.0, 403);
    let (_, home) = get(&app, &owner, "/app").await;
    assert!(!home.contains("/app/voice/prices"));
    let ocsrf = hidden(&home, "csrf");
    let (s, _) = post(
        &app,
        &owner,
        "/app/voice/prices",
        &format!("csrf={ocsrf}&model=gpt-owner&effective_from=2026-02-01&text_in=1"),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &owner,
        "/app/voice/platform",
        &format!("csrf={ocsrf}&monthly_budget=1&voice_session_cap=1&hard_stop=on"),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        store.platform_settings().await.unwrap().voice_session_cap,
        40
    );
    app.stop().await;
}

both_backends!(
    voice_pages_show_escape_filter_and_hang_up,
    budget_alerts_are_mailed_once_and_noticed,
    model_prices_page_is_for_super_admins,
);
