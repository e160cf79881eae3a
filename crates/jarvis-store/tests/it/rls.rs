//! PostgreSQL only: row-level security is on every table and holds with the application's own
//! filters left out. The table lists below are checked against the catalogue, so a new table
//! fails these tests until it is listed (and covered) here.
//!
//! - every table has ENABLE + FORCE ROW LEVEL SECURITY and at least one policy;
//! - every tenant table: raw SQL in a tenant scope neither reads nor writes another tenant's rows;
//! - every identity table (secrets, personal data, no tenant) and system table (job queue,
//!   instances, throttles, prices, platform settings): tenant scopes see nothing (team profiles,
//!   prices and settings excepted), and each named context sees and deletes exactly what it
//!   should;
//! - every tenant table in every named (non-tenant) context: nothing is readable or writable
//!   except the listed exceptions (the voice context reads session rows, cost rollups and
//!   budget alerts of every tenant, never a transcript).

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

/// Tenant tables: (table, franchise column, gym column). `franchises` is its own franchise.
const TENANT_TABLES: &[(&str, &str, Option<&str>)] = &[
    ("franchises", "id", None),
    ("gyms", "franchise_id", Some("id")),
    ("memberships", "franchise_id", Some("gym_id")),
    ("members", "franchise_id", Some("gym_id")),
    ("kiosks", "franchise_id", Some("gym_id")),
    ("audit_log", "franchise_id", Some("gym_id")),
    ("class_schedules", "franchise_id", Some("gym_id")),
    ("member_visits", "franchise_id", Some("gym_id")),
    ("member_facts", "franchise_id", Some("gym_id")),
    ("member_imports", "franchise_id", Some("gym_id")),
    ("invitations", "franchise_id", Some("gym_id")),
    ("auth_events", "franchise_id", Some("gym_id")),
    ("voice_sessions", "franchise_id", Some("gym_id")),
    ("conversation_turns", "franchise_id", Some("gym_id")),
    ("tool_calls", "franchise_id", Some("gym_id")),
    ("cost_daily", "franchise_id", Some("gym_id")),
    ("budget_alerts", "franchise_id", Some("gym_id")),
    ("follow_ups", "franchise_id", Some("gym_id")),
    ("session_analyses", "franchise_id", Some("gym_id")),
    ("leads", "franchise_id", Some("gym_id")),
    ("lead_webhooks", "franchise_id", Some("gym_id")),
    ("http_tools", "franchise_id", Some("gym_id")),
    ("voice_heard_latency", "franchise_id", Some("gym_id")),
    ("knowledge_entries", "franchise_id", Some("gym_id")),
    ("knowledge_chunks", "franchise_id", Some("gym_id")),
    ("knowledge_usage", "franchise_id", Some("gym_id")),
    ("analysis_fields", "franchise_id", Some("gym_id")),
    ("simulation_scenarios", "franchise_id", Some("gym_id")),
    ("simulation_runs", "franchise_id", Some("gym_id")),
    ("simulation_results", "franchise_id", Some("gym_id")),
    ("churn_scores", "franchise_id", Some("gym_id")),
    ("reports", "franchise_id", Some("gym_id")),
    ("kiosk_outages", "franchise_id", Some("gym_id")),
    ("session_daily", "franchise_id", Some("gym_id")),
    ("member_last_call", "franchise_id", Some("gym_id")),
    ("topic_daily", "franchise_id", Some("gym_id")),
    ("latency_daily", "franchise_id", Some("gym_id")),
    // A franchise's usage: its gyms read it like the franchise row itself.
    ("usage_snapshots", "franchise_id", None),
    ("usage_alerts", "franchise_id", None),
];

/// What a context sees (or may delete) of an identity table.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sees {
    /// No row.
    No,
    /// Rows of user A only (the identity under test).
    Own,
    /// Profiles of users holding a membership visible in the tenant scope.
    Team,
    /// Every row.
    All,
}
use Sees::*;

/// Number of contexts.
const N: usize = 11;

/// The contexts every identity table is checked in, in this order.
const CONTEXTS: [&str; N] = [
    "platform",
    "franchise A",
    "gym A",
    "identity A",
    "signin",
    "keys",
    "mailer",
    "purge",
    "jobs",
    "throttle",
    "voice",
];

/// Who may insert a row that is not theirs into an identity or system table.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Append {
    /// Nobody (a copy of another's row is refused by the policies).
    Never,
    /// Any set context (append-only logs and queues).
    Any,
    /// The platform scope only.
    Platform,
}

/// An identity or system table: name, key column, SQL giving a row's owner (user id) or NULL,
/// who may append to it, the fewest rows the fixture holds, then what each context reads, may
/// update and may delete.
struct IdentityTable {
    name: &'static str,
    key: &'static str,
    owner: &'static str,
    append: Append,
    rows: usize,
    read: [Sees; N],
    update: [Sees; N],
    delete: [Sees; N],
}

const IDENTITY_TABLES: &[IdentityTable] = &[
    IdentityTable {
        name: "users",
        key: "id",
        owner: "id",
        append: Append::Platform,
        rows: 2,
        read: [All, Team, Team, Own, All, No, No, No, No, No, No],
        update: [All, No, No, Own, No, No, No, No, No, No, No],
        delete: [All, No, No, No, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "user_credentials",
        key: "user_id",
        owner: "user_id",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, Own, All, No, No, No, No, No, No],
        update: [No, No, No, Own, No, No, No, No, No, No, No],
        delete: [No, No, No, Own, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "auth_sessions",
        key: "id",
        owner: "user_id",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, Own, All, No, No, All, No, No, No],
        update: [No, No, No, Own, No, No, No, No, No, No, No],
        delete: [No, No, No, Own, No, No, No, All, No, No, No],
    },
    IdentityTable {
        name: "auth_refresh_tokens",
        key: "token_hash",
        owner: "(SELECT s.user_id FROM auth_sessions s WHERE s.id = t.session_id)",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, Own, All, No, No, All, No, No, No],
        update: [No, No, No, Own, No, No, No, No, No, No, No],
        delete: [No, No, No, Own, No, No, No, All, No, No, No],
    },
    IdentityTable {
        name: "mfa_factors",
        key: "id",
        owner: "user_id",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, Own, No, No, No, No, No, No, No],
        update: [No, No, No, Own, No, No, No, No, No, No, No],
        delete: [No, No, No, Own, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "mfa_recovery_codes",
        key: "id",
        owner: "user_id",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, Own, No, No, No, No, No, No, No],
        update: [No, No, No, Own, No, No, No, No, No, No, No],
        delete: [No, No, No, Own, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "password_resets",
        key: "token_hash",
        owner: "user_id",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, Own, All, No, No, All, No, No, No],
        update: [No, No, No, Own, No, No, No, No, No, No, No],
        delete: [No, No, No, Own, No, No, No, All, No, No, No],
    },
    IdentityTable {
        name: "login_throttles",
        key: "throttle_key",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, No, All, No, No, All, No, No, No],
        update: [No, No, No, No, All, No, No, No, No, No, No],
        delete: [No, No, No, No, All, No, No, All, No, No, No],
    },
    IdentityTable {
        name: "signing_keys",
        key: "kid",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, No, No, All, No, No, No, No, No],
        update: [No, No, No, No, No, All, No, No, No, No, No],
        delete: [No, No, No, No, No, All, No, No, No, No, No],
    },
    IdentityTable {
        name: "email_outbox",
        key: "id",
        owner: "NULL::uuid",
        // Any set context may queue an e-mail; only the mailer reads the queue.
        append: Append::Any,
        rows: 2,
        read: [No, No, No, No, No, No, All, All, No, No, No],
        update: [No, No, No, No, No, No, All, No, No, No, No],
        delete: [No, No, No, No, No, No, All, All, No, No, No],
    },
    // System tables: the job queue and the instances only in the `jobs` context (a job tagged
    // with tenant A included: the tag grants no tenant access), throttles only in `throttle`
    // (and the purge of ended windows).
    IdentityTable {
        name: "jobs",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, No, No, No, No, No, All, No, No],
        update: [No, No, No, No, No, No, No, No, All, No, No],
        delete: [No, No, No, No, No, No, No, No, All, No, No],
    },
    IdentityTable {
        name: "job_runs",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, No, No, No, No, No, All, No, No],
        update: [No, No, No, No, No, No, No, No, All, No, No],
        delete: [No, No, No, No, No, No, No, No, All, No, No],
    },
    IdentityTable {
        name: "request_log",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [All, No, No, No, No, No, No, All, No, No, No],
        update: [No, No, No, No, No, No, No, No, No, No, No],
        delete: [No, No, No, No, No, No, No, All, No, No, No],
    },
    // The error log: operations data like the request log (upserted in `ops`).
    IdentityTable {
        name: "error_log",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [All, No, No, No, No, No, No, All, No, No, No],
        update: [No, No, No, No, No, No, No, No, No, No, No],
        delete: [No, No, No, No, No, No, No, All, No, No, No],
    },
    // Monthly request counts: written with the request log (`ops`), read by the platform.
    IdentityTable {
        name: "request_counts",
        key: "period",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 1,
        read: [All, No, No, No, No, No, No, No, No, No, No],
        update: [No, No, No, No, No, No, No, No, No, No, No],
        delete: [No, No, No, No, No, No, No, No, No, No, No],
    },
    // The provider's bill and the difference alerts: the platform's only.
    IdentityTable {
        name: "billed_costs",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Platform,
        rows: 2,
        read: [All, No, No, No, No, No, No, No, No, No, No],
        update: [All, No, No, No, No, No, No, No, No, No, No],
        delete: [All, No, No, No, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "cost_alerts",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Platform,
        rows: 2,
        read: [All, No, No, No, No, No, No, No, No, No, No],
        update: [No, No, No, No, No, No, No, No, No, No, No],
        delete: [No, No, No, No, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "web_vitals",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [All, No, No, No, No, No, No, All, No, No, No],
        update: [No, No, No, No, No, No, No, No, No, No, No],
        delete: [No, No, No, No, No, No, No, All, No, No, No],
    },
    IdentityTable {
        name: "instances",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, No, No, No, No, No, All, No, No],
        update: [No, No, No, No, No, No, No, No, All, No, No],
        delete: [No, No, No, No, No, No, No, No, All, No, No],
    },
    IdentityTable {
        name: "throttles",
        key: "throttle_key",
        owner: "NULL::uuid",
        append: Append::Never,
        rows: 2,
        read: [No, No, No, No, No, No, No, All, No, All, No],
        update: [No, No, No, No, No, No, No, No, No, All, No],
        delete: [No, No, No, No, No, No, No, All, No, All, No],
    },
    // Prices and platform settings: every set context reads them, only the platform writes
    // them (the single settings row is never deleted).
    IdentityTable {
        name: "model_prices",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Platform,
        rows: 2,
        read: [All, All, All, All, All, All, All, All, All, All, All],
        update: [All, No, No, No, No, No, No, No, No, No, No],
        delete: [All, No, No, No, No, No, No, No, No, No, No],
    },
    IdentityTable {
        name: "platform_settings",
        key: "id",
        owner: "NULL::uuid",
        append: Append::Platform,
        rows: 1,
        read: [All, All, All, All, All, All, All, All, All, All, All],
        update: [All, No, No, No, No, No, No, No, No, No, No],
        delete: [No, No, No, No, No, No, No, No, No, No, No],
    },
];

/// Two tenants with a row in every tenant table, and users with rows in every identity table.
struct World {
    fa: FranchiseId,
    ga: GymId,
    fb: FranchiseId,
    gb: GymId,
    /// Staff of gym A (the identity under test).
    ua: UserId,
    /// Owner of franchise A: visible in franchise A's scope, not in gym A's.
    uo: UserId,
}

impl World {
    fn contexts(&self) -> [TxCtx; N] {
        [
            TxCtx::Scope(Scope::Platform),
            TxCtx::Scope(Scope::Franchise { franchise: self.fa }),
            TxCtx::Scope(Scope::Gym {
                franchise: self.fa,
                gym: self.ga,
            }),
            TxCtx::Identity(self.ua),
            TxCtx::SignIn,
            TxCtx::Keys,
            TxCtx::Mailer,
            TxCtx::Purge,
            TxCtx::Jobs,
            TxCtx::Throttle,
            TxCtx::Voice,
        ]
    }

    /// Users the tenant context `i` sees as team members.
    fn team(&self, i: usize) -> Vec<UserId> {
        match i {
            1 => vec![self.ua, self.uo],
            2 => vec![self.ua],
            _ => vec![],
        }
    }
}

async fn tenant(s: &dyn Store, name: &str) -> (FranchiseId, GymId, UserId) {
    let a = Actor::cli();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: name.into() })
        .await
        .unwrap();
    let g = s
        .create_gym(
            &Scope::Platform,
            &a,
            NewGym {
                franchise_id: f.id,
                name: format!("{name} gym"),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::En,
                settings: serde_json::json!({}),
            },
            GymStatus::Active,
        )
        .await
        .unwrap();
    let sc = Scope::Gym {
        franchise: f.id,
        gym: g.id,
    };
    let m = s
        .create_member(
            &sc,
            &a,
            g.id,
            NewMember {
                badge_id: format!("{name}-1"),
                first_name: "N".into(),
                last_name: "M".into(),
                email: None,
                phone: None,
                birth_date: None,
                preferred_language: Locale::En,
                membership_type: "standard".into(),
                membership_status: MembershipStatus::Active,
                membership_end_date: None,
                goals: vec![],
                limitations: None,
                consent_voice: false,
                consent_transcripts: false,
            },
        )
        .await
        .unwrap();
    let k = s
        .create_kiosk(
            &sc,
            &a,
            g.id,
            NewKiosk {
                name: "Door".into(),
            },
        )
        .await
        .unwrap();
    s.create_class(
        &sc,
        &a,
        g.id,
        NewClassSchedule {
            name: "Yoga".into(),
            coach: None,
            room: None,
            weekday: Some(Weekday::Mon),
            date: None,
            start_time: "09:00".into(),
            duration_minutes: 60,
            capacity: 10,
            recurring: true,
        },
    )
    .await
    .unwrap();
    s.record_visit(&sc, g.id, m.id, Some(k.id)).await.unwrap();
    // Paired, then an outage of it (the cutoff is ahead: the kiosk counts as silent).
    let code = format!("code-{name}");
    s.set_pairing_code(
        &sc,
        &a,
        g.id,
        k.id,
        &code,
        OffsetDateTime::now_utc() + Duration::hours(1),
    )
    .await
    .unwrap();
    s.pair_kiosk(&code, &format!("token-{name}")).await.unwrap();
    let later = OffsetDateTime::now_utc() + Duration::days(1);
    assert!(
        s.open_kiosk_outage(
            &Scope::Platform,
            k.id,
            later,
            OffsetDateTime::now_utc(),
            vec![]
        )
        .await
        .unwrap()
    );
    let heard_at = OffsetDateTime::now_utc();
    s.record_heartbeats(&[PendingHeartbeat {
        kiosk: k.id,
        gym: g.id,
        franchise: f.id,
        heartbeat: Heartbeat {
            app_version: "1".into(),
            uptime_secs: 1,
            mic_status: MicStatus::Ok,
            network_quality: NetworkQuality::Good,
            voice_latency_ms: Some(900),
        },
        received_at: heard_at,
        heard_latency: vec![(heard_at, 900)],
    }])
    .await
    .unwrap();
    s.add_fact(
        &sc,
        &a,
        g.id,
        m.id,
        NewMemberFact {
            note: "likes mornings".into(),
            source: FactSource::Staff,
        },
    )
    .await
    .unwrap();
    s.create_import_job(&sc, &a, g.id, true, false)
        .await
        .unwrap();
    s.create_invitation(
        &sc,
        &a,
        NewInvitation {
            email: format!("invitee-{name}@x.test"),
            display_name: "I".into(),
            role: Role::GymStaff,
            target: MembershipTarget::Gym(f.id, g.id),
            token_hash: format!("invite-{name}"),
            expires_at: OffsetDateTime::now_utc() + Duration::days(1),
        },
    )
    .await
    .unwrap();
    s.record_auth_event(NewAuthEvent {
        event: "invitation.accepted".into(),
        franchise_id: Some(f.id),
        gym_id: Some(g.id),
        ..Default::default()
    })
    .await
    .unwrap();
    // Voice: a session with a metered response and its turn (so a cost rollup), a tool call,
    // a follow-up, an analysis and a budget alert.
    let now = OffsetDateTime::now_utc();
    let v = s
        .start_session(
            &sc,
            g.id,
            NewVoiceSession {
                member_id: m.id,
                kiosk_id: Some(k.id),
                owner: InstanceId::new(),
                lease: Duration::minutes(5),
                model: "gpt-realtime-2.1-mini".into(),
                transcription_model: None,
                language: Locale::En,
                max_duration_secs: 600,
            },
        )
        .await
        .unwrap()
        .unwrap();
    s.record_response(
        &sc,
        v.id,
        ResponseUsage {
            response_id: format!("resp-{name}"),
            at: now,
            usage: jarvis_core::cost::TokenUsage::default(),
            cost_pico: 1_000,
        },
        Some(NewTurn::new(
            StorageLevel::Full,
            TurnRole::Assistant,
            "hello",
            now,
        )),
    )
    .await
    .unwrap();
    s.record_tool_call(
        &sc,
        v.id,
        NewToolCall::new(
            StorageLevel::Full,
            "call_1",
            "get_member_profile",
            serde_json::json!({}),
            Ok(serde_json::json!({"first_name": "N"})),
            3,
            now,
        ),
    )
    .await
    .unwrap();
    s.create_follow_up(
        &sc,
        &a,
        g.id,
        NewFollowUp {
            member_id: Some(m.id),
            session_id: Some(v.id),
            reason: "call back".into(),
        },
    )
    .await
    .unwrap();
    s.put_churn_scores(
        &sc,
        g.id,
        now,
        &[NewChurnScore {
            member_id: m.id,
            assessment: jarvis_core::churn::ChurnAssessment {
                score: 50,
                level: jarvis_core::churn::ChurnLevel::Medium,
                factors: vec![],
            },
        }],
    )
    .await
    .unwrap();
    s.record_report(
        &sc,
        NewReport {
            id: ReportId::new(),
            gym_id: g.id,
            week: "2026-W01".into(),
            starts_at: now,
            object_key: format!("reports/{}/2026-W01.html", g.id),
            size_bytes: 10,
        },
        vec![],
    )
    .await
    .unwrap();
    s.record_lead(
        &sc,
        g.id,
        NewLead {
            event_id: format!("evt-{name}"),
            name: "Lead".into(),
            phone: Some("0612345678".into()),
            ..Default::default()
        }
        .validate()
        .unwrap(),
        "hash",
    )
    .await
    .unwrap();
    s.put_lead_webhook(&sc, &a, g.id, &format!("lk_{}", g.id), "sealed")
        .await
        .unwrap();
    s.create_http_tool(
        &sc,
        &a,
        g.id,
        HttpToolId::new(),
        HttpToolInput {
            name: "check_stock".into(),
            description: "stock".into(),
            parameters: serde_json::json!({"type": "object"}),
            url: "https://example.com/x".into(),
            ..Default::default()
        }
        .validate()
        .unwrap(),
        "sealed",
    )
    .await
    .unwrap();
    s.create_knowledge_entry(
        &sc,
        &a,
        g.id,
        KnowledgeWrite {
            entry: NewKnowledgeEntry {
                title: "Horaires".into(),
                body: "Ouvert de 6h à 23h.".into(),
                tags: vec![],
                language: "fr".into(),
            }
            .validate()
            .unwrap(),
            chunks: vec![NewKnowledgeChunk {
                text: "Ouvert de 6h à 23h.".into(),
                stemmed: "horair ouvert 6h 23h".into(),
            }],
        },
    )
    .await
    .unwrap();
    s.record_embedding_call(
        &sc,
        g.id,
        EmbeddingCall {
            model: "text-embedding-3-small".into(),
            purpose: EmbeddingPurpose::Query,
            input_tokens: 5,
            cost_pico: Some(100),
        },
    )
    .await
    .unwrap();
    s.put_session_analysis(
        &sc,
        v.id,
        NewSessionAnalysis {
            summary: "short chat".into(),
            sentiment: Sentiment::Neutral,
            topics: vec!["hours".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.create_analysis_field(
        &sc,
        &a,
        g.id,
        NewAnalysisField {
            name: "goal".into(),
            kind: AnalysisFieldKind::Text,
            enum_values: vec![],
            description: "main goal".into(),
        },
    )
    .await
    .unwrap();
    s.put_simulation_scenarios(&sc, &a, g.id, r#"{"scenarios": []}"#)
        .await
        .unwrap();
    let run = s.start_simulation(&sc, g.id).await.unwrap();
    s.add_simulation_result(
        &sc,
        &SimulationResult {
            run_id: run.id,
            seq: 0,
            scenario: "hi".into(),
            passed: true,
            checks: vec![],
            transcript: vec![],
            tool_calls: vec![],
            cost_pico: 1,
        },
    )
    .await
    .unwrap();
    assert!(
        s.budget_alert_once(
            NewBudgetAlert {
                scope: BudgetScope::Gym {
                    franchise: f.id,
                    gym: g.id
                },
                period: jarvis_core::cost::BudgetPeriod::of(now),
                threshold: jarvis_core::cost::BudgetThreshold::Warn80,
                spent_pico: 1,
                budget_micros: 1,
            },
            vec![],
        )
        .await
        .unwrap()
    );
    // The franchise's usage snapshot and alert (written in the platform scope by the job).
    let period = jarvis_core::cost::BudgetPeriod::of(now);
    s.put_usage_snapshots(
        &Scope::Platform,
        &[UsageSnapshot {
            scope: UsageScope::Franchise(f.id),
            metric: UsageMetric::Rows,
            period,
            value: 1,
            limit: 2,
            taken_at: now,
        }],
    )
    .await
    .unwrap();
    assert!(
        s.usage_alert_once(
            &Scope::Platform,
            NewUsageAlert {
                scope: UsageScope::Franchise(f.id),
                metric: UsageMetric::Rows,
                period,
                threshold: jarvis_core::cost::BudgetThreshold::Warn80,
                value: 1,
                limit: 1,
            },
            vec![],
        )
        .await
        .unwrap()
    );
    let u = user(
        s,
        &format!("staff-{name}@x.test"),
        Some((Role::GymStaff, MembershipTarget::Gym(f.id, g.id))),
    )
    .await;
    secrets(s, u, name).await;
    (f.id, g.id, u)
}

async fn user(s: &dyn Store, email: &str, grant: Option<(Role, MembershipTarget)>) -> UserId {
    s.create_user(
        &Actor::cli(),
        NewUser {
            email: email.into(),
            display_name: email.into(),
            locale: Locale::En,
            password_hash: Some(format!("$argon2id$hash-of-{email}")),
        },
        grant,
    )
    .await
    .unwrap()
    .id
}

/// A row of the user in every per-user identity table.
async fn secrets(s: &dyn Store, u: UserId, name: &str) {
    let soon = OffsetDateTime::now_utc() + Duration::days(1);
    s.create_session(NewSession {
        user_id: u,
        kind: SessionKind::Api,
        aal: 1,
        expires_at: soon,
        token_hash: None,
        refresh_hash: Some(format!("refresh-{name}")),
        ip: None,
        user_agent: None,
    })
    .await
    .unwrap();
    s.create_session(NewSession {
        user_id: u,
        kind: SessionKind::Web,
        aal: 1,
        expires_at: soon,
        token_hash: Some(format!("cookie-{name}")),
        refresh_hash: None,
        ip: None,
        user_agent: None,
    })
    .await
    .unwrap();
    s.begin_totp(u, "sealed-secret".into()).await.unwrap();
    assert!(
        s.accept_totp_step(
            &Actor::cli(),
            u,
            1,
            Some(vec![format!("code-{name}-1"), format!("code-{name}-2")])
        )
        .await
        .unwrap()
    );
    s.create_password_reset(u, &format!("reset-{name}"), soon)
        .await
        .unwrap();
    let policy = LockoutPolicy {
        max_failures: 5,
        base_lock: Duration::minutes(1),
        max_lock: Duration::minutes(10),
        window: Duration::hours(1),
    };
    s.throttle_failure(&format!("login:acct:{name}"), &policy)
        .await
        .unwrap();
    s.enqueue_email(NewEmail {
        id: uuid::Uuid::now_v7(),
        to_address: format!("{name}@x.test"),
        subject: "S".into(),
        body_text: "T".into(),
        body_html: "H".into(),
        kind: "test".into(),
    })
    .await
    .unwrap();
}

async fn world(s: &dyn Store) -> World {
    let (fa, ga, ua) = tenant(s, "A").await;
    let (fb, gb, _ub) = tenant(s, "B").await;
    let uo = user(
        s,
        "owner-A@x.test",
        Some((Role::FranchiseOwner, MembershipTarget::Franchise(fa))),
    )
    .await;
    user(
        s,
        "root@x.test",
        Some((Role::SuperAdmin, MembershipTarget::Platform)),
    )
    .await;
    for kid in ["k1", "k2"] {
        s.add_signing_key(
            &Actor::cli(),
            SigningKeyRecord {
                kid: kid.into(),
                algorithm: "RS256".into(),
                private_key_enc: "sealed".into(),
                public_n: "n".into(),
                public_e: "AQAB".into(),
                created_at: OffsetDateTime::now_utc(),
                retired_at: None,
            },
        )
        .await
        .unwrap();
    }
    // The request log (operations data, no tenant wall: platform staff read it).
    let logged = |route: &str| RequestLogEntry {
        at: OffsetDateTime::now_utc(),
        instance: InstanceId::from(uuid::Uuid::now_v7()),
        method: "GET".into(),
        route: route.into(),
        status: 200,
        latency_us: 10,
        gym: Some(ga),
    };
    s.record_requests(&[logged("/a"), logged("/b")])
        .await
        .unwrap();
    // The error log (operations data like the request log).
    let occurred = |fingerprint: &str| ErrorOccurrence {
        fingerprint: fingerprint.into(),
        kind: "http".into(),
        source: "GET /a".into(),
        level: ErrorLevel::Error,
        message: "boom".into(),
        count: 1,
        first_seen_at: OffsetDateTime::now_utc(),
        last_seen_at: OffsetDateTime::now_utc(),
    };
    s.record_errors(&[occurred("fa"), occurred("fb")])
        .await
        .unwrap();
    // Web Vitals (operations data like the request log).
    let vital = |page: &str| VitalSample {
        at: OffsetDateTime::now_utc(),
        day: OffsetDateTime::now_utc().date().to_string(),
        page: page.into(),
        metric: "LCP".into(),
        value: 1200.0,
    };
    s.record_vitals(&[vital("/a"), vital("/b")]).await.unwrap();
    // System rows: jobs (one tagged with tenant A) with their runs, instances, throttles.
    let me = s
        .register_instance(NewInstance {
            hostname: "a".into(),
            pid: 1,
            version: "test".into(),
        })
        .await
        .unwrap();
    s.register_instance(NewInstance {
        hostname: "b".into(),
        pid: 2,
        version: "test".into(),
    })
    .await
    .unwrap();
    s.enqueue(NewJob::new("members.import", serde_json::json!({})).with_tenant(fa, Some(ga)))
        .await
        .unwrap();
    s.enqueue(NewJob::new("mail.drain", serde_json::json!({})).with_idempotency_key("k"))
        .await
        .unwrap();
    let claimed = s
        .claim(
            me.id,
            &["members.import", "mail.drain"],
            10,
            Duration::minutes(5),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    // A platform budget alert (no tenant: only the platform scope and the voice context).
    assert!(
        s.budget_alert_once(
            NewBudgetAlert {
                scope: BudgetScope::Platform,
                period: jarvis_core::cost::BudgetPeriod::of(OffsetDateTime::now_utc()),
                threshold: jarvis_core::cost::BudgetThreshold::Exhausted,
                spent_pico: 1,
                budget_micros: 1,
            },
            vec![],
        )
        .await
        .unwrap()
    );
    // The provider's bill of two days, and a difference alert on each.
    let today = OffsetDateTime::now_utc().date();
    let days = [today - Duration::days(2), today - Duration::days(1)];
    s.put_billed_costs(&Scope::Platform, &[(days[0], 1), (days[1], 2)])
        .await
        .unwrap();
    for day in days {
        assert!(
            s.cost_alert_once(
                &Scope::Platform,
                CostDay {
                    day,
                    metered_pico: 5,
                    billed_micros: Some(1),
                    alerted: false,
                },
                vec![],
            )
            .await
            .unwrap()
        );
    }
    for key in ["pair:ip:192.0.2.1", "pair:ip:192.0.2.2"] {
        s.throttle_hit(key, 10, Duration::minutes(10))
            .await
            .unwrap();
    }
    World {
        fa,
        ga,
        fb,
        gb,
        ua,
        uo,
    }
}

/// Every ordinary table of the schema, from the catalogue (the migrations' bookkeeping table
/// `_sqlx_migrations` is the one exception: it is the migrator's, not the application's).
async fn catalogue_tables(pg: &PgStore) -> BTreeSet<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
         AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(pg.pool())
    .await
    .unwrap()
    .into_iter()
    .collect()
}

fn is_rls_error(e: &sqlx::Error) -> bool {
    e.to_string().contains("row-level security")
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn every_table_forces_row_level_security_with_a_policy() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        let rows: Vec<(String, bool, bool, i64)> = sqlx::query_as(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                    (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
             AND c.relname <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(pg.pool())
        .await
        .unwrap();
        assert!(
            rows.len() >= 20,
            "the catalogue lists too few tables: {rows:?}"
        );
        let bad: Vec<String> = rows
            .iter()
            .filter(|(_, enabled, forced, policies)| !enabled || !forced || *policies == 0)
            .map(|(t, e, f, p)| format!("{t}: enabled={e} forced={f} policies={p}"))
            .collect();
        assert!(
            bad.is_empty(),
            "tables without ENABLE + FORCE row-level security and a policy:\n{}",
            bad.join("\n")
        );
    }

    #[tokio::test]
    async fn every_table_is_listed_as_tenant_or_identity_table() {
        let db = TestDb::postgres().await.unwrap();
        let listed: BTreeSet<String> = TENANT_TABLES
            .iter()
            .map(|(t, _, _)| t.to_string())
            .chain(IDENTITY_TABLES.iter().map(|t| t.name.to_string()))
            .collect();
        assert_eq!(
            catalogue_tables(db.pg().unwrap()).await,
            listed,
            "list every table in TENANT_TABLES or IDENTITY_TABLES (and so in these tests)"
        );
    }

    #[tokio::test]
    async fn tenant_tables_hold_by_policy_alone() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        let w = world(&*db.store()).await;
        let scopes = [
            ("franchise A", Scope::Franchise { franchise: w.fa }, false),
            (
                "gym A",
                Scope::Gym {
                    franchise: w.fa,
                    gym: w.ga,
                },
                true,
            ),
        ];
        for (table, fcol, gcol) in TENANT_TABLES {
            let foreign: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {table} WHERE {fcol} = $1"
            )))
            .bind(w.fb.as_uuid())
            .fetch_one(pg.pool())
            .await
            .unwrap();
            assert!(foreign > 0, "{table}: the fixture has no row of tenant B");
            let b_row: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT to_jsonb(t) FROM {table} t WHERE {fcol} = $1 LIMIT 1"
            )))
            .bind(w.fb.as_uuid())
            .fetch_one(pg.pool())
            .await
            .unwrap();
            for (label, scope, gym_level) in &scopes {
                let what = format!("{table} in {label}");
                // What the scope should see, counted by the owner (no policies).
                let own_pred = match (gym_level, gcol) {
                    (true, Some(g)) => format!("{fcol} = $1 AND {g} = $2"),
                    _ => format!("{fcol} = $1 AND $2::uuid IS NOT NULL"),
                };
                let want: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {table} WHERE {own_pred}"
                )))
                .bind(w.fa.as_uuid())
                .bind(w.ga.as_uuid())
                .fetch_one(pg.pool())
                .await
                .unwrap();
                assert!(want > 0, "{what}: the fixture has no row of tenant A");

                let mut tx = pg.begin_scoped(scope).await.unwrap();
                let all: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {table}"
                )))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                assert_eq!(all, want, "{what}: an unfiltered read sees only its tenant");
                let seen_b: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {table} WHERE {fcol} = $1"
                )))
                .bind(w.fb.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                assert_eq!(seen_b, 0, "{what}: B's rows are invisible");
                let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {fcol} = {fcol} WHERE {fcol} = $1"
                )))
                .bind(w.fb.as_uuid())
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
                assert_eq!(updated, 0, "{what}: B's rows cannot be updated");
                let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {fcol} = $1"
                )))
                .bind(w.fb.as_uuid())
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
                assert_eq!(deleted, 0, "{what}: B's rows cannot be deleted");
                tx.rollback().await.unwrap();

                // A copy of B's row (fresh id) cannot be inserted.
                let mut copy = b_row.clone();
                copy["id"] = serde_json::json!(uuid::Uuid::now_v7());
                let mut tx = pg.begin_scoped(scope).await.unwrap();
                let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1)"
                )))
                .bind(&copy)
                .execute(&mut *tx)
                .await;
                match r {
                    Err(e) => assert!(is_rls_error(&e), "{what}: insert refused by {e}"),
                    Ok(_) => panic!("{what}: a row of tenant B was inserted"),
                }
                tx.rollback().await.unwrap();

                // Moving A's own rows into B is refused, or touches nothing.
                let set = match gcol {
                    Some(g) => format!("{fcol} = $1, {g} = $2"),
                    None => format!("{fcol} = $1"),
                };
                let mut tx = pg.begin_scoped(scope).await.unwrap();
                let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {set} WHERE {fcol} = $3 AND $2::uuid IS NOT NULL"
                )))
                .bind(w.fb.as_uuid())
                .bind(w.gb.as_uuid())
                .bind(w.fa.as_uuid())
                .execute(&mut *tx)
                .await;
                match r {
                    Err(e) => assert!(is_rls_error(&e), "{what}: move refused by {e}"),
                    Ok(done) => assert_eq!(done.rows_affected(), 0, "{what}: rows moved to B"),
                }
                tx.rollback().await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn identity_tables_are_readable_only_in_their_contexts() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        let w = world(&*db.store()).await;
        let contexts = w.contexts();
        let mut failures = Vec::new();
        for t in IDENTITY_TABLES {
            let (name, key, owner) = (t.name, t.key, t.owner);
            // Every row with its owner, read by the table owner (no policies).
            let rows: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(sqlx::AssertSqlSafe(
                format!("SELECT {key}::text, {owner} FROM {name} t"),
            ))
            .fetch_all(pg.pool())
            .await
            .unwrap();
            assert!(
                rows.len() >= t.rows,
                "{name}: the fixture needs at least {} rows",
                t.rows
            );
            let expect = |sees: Sees, i: usize| -> BTreeSet<String> {
                rows.iter()
                    .filter(|(_, o)| match sees {
                        No => false,
                        All => true,
                        Own => *o == Some(w.ua.as_uuid()),
                        Team => o.is_some_and(|o| w.team(i).iter().any(|u| u.as_uuid() == o)),
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            for (i, ctx) in contexts.iter().enumerate() {
                let label = CONTEXTS[i];
                let want = expect(t.read[i], i);
                if matches!(t.read[i], Own | Team) && want.is_empty() {
                    failures.push(format!(
                        "{name} in {label}: the fixture gives nothing to see"
                    ));
                }
                let mut tx = pg.begin_in(ctx).await.unwrap();
                let seen: BTreeSet<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT {key}::text FROM {name}"
                )))
                .fetch_all(&mut *tx)
                .await
                .unwrap()
                .into_iter()
                .collect();
                if seen != want {
                    failures.push(format!(
                        "{name} in {label}: sees {} rows, should see {} ({:?})",
                        seen.len(),
                        want.len(),
                        t.read[i]
                    ));
                }
                let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {name} SET {key} = {key}"
                )))
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
                let may = expect(t.update[i], i).len() as u64;
                if updated != may {
                    failures.push(format!(
                        "{name} in {label}: updated {updated} rows, may update {may}"
                    ));
                }
                let deleted = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {name}")))
                    .execute(&mut *tx)
                    .await
                    .unwrap()
                    .rows_affected();
                let may = expect(t.delete[i], i).len() as u64;
                if deleted != may {
                    failures.push(format!(
                        "{name} in {label}: deleted {deleted} rows, may delete {may}"
                    ));
                }
                tx.rollback().await.unwrap();
            }

            // A copy of another user's row (fresh key) cannot be written from a tenant scope,
            // nor from user A's identity.
            let other: Option<serde_json::Value> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT to_jsonb(t) FROM {name} t WHERE {owner} IS DISTINCT FROM $1 LIMIT 1"
                )))
                .bind(w.ua.as_uuid())
                .fetch_optional(pg.pool())
                .await
                .unwrap();
            let mut copy = other.expect("a row not owned by user A");
            let fresh = if key == "id" || key == "user_id" {
                serde_json::json!(uuid::Uuid::now_v7())
            } else {
                serde_json::json!(format!("fresh-{}", uuid::Uuid::now_v7()))
            };
            copy[key] = fresh;
            if name == "users" {
                copy["email"] = serde_json::json!(format!("{}@x.test", uuid::Uuid::now_v7()));
            }
            for (i, ctx) in contexts.iter().enumerate().take(4) {
                let label = CONTEXTS[i];
                if i == 0 && t.append == Append::Platform {
                    continue; // the platform writes these
                }
                let mut tx = pg.begin_in(ctx).await.unwrap();
                let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {name} SELECT * FROM jsonb_populate_record(NULL::{name}, $1)"
                )))
                .bind(&copy)
                .execute(&mut *tx)
                .await;
                match r {
                    Ok(_) if t.append == Append::Any => {}
                    Ok(_) => failures.push(format!("{name} in {label}: inserted a foreign row")),
                    Err(e) if is_rls_error(&e) => {}
                    Err(e) => failures.push(format!("{name} in {label}: insert failed with {e}")),
                }
                tx.rollback().await.unwrap();
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// What a named (non-tenant) context may do to a tenant table, beyond nothing: SQL over
    /// the table (`$1` = user A) choosing the rows it reads, updates and deletes, and whether
    /// it may insert a row of tenant B.
    struct Exception {
        table: &'static str,
        context: &'static str,
        read: &'static str,
        update: &'static str,
        delete: &'static str,
        insert: bool,
    }

    const NOTHING: &str = "false";

    const EXCEPTIONS: &[Exception] = &[
        // The retention sweep reads and deletes old auth events and audit rows of every
        // tenant (by age only); no other context may delete them.
        Exception {
            table: "audit_log",
            context: "purge",
            read: "true",
            update: NOTHING,
            delete: "true",
            insert: false,
        },
        Exception {
            table: "auth_events",
            context: "purge",
            read: "true",
            update: NOTHING,
            delete: "true",
            insert: false,
        },
        // Sign-in reads a user's memberships in their identity (and the policy from migration
        // 0001 lets that identity delete them; no storage method does).
        Exception {
            table: "memberships",
            context: "identity A",
            read: "user_id = $1",
            update: NOTHING,
            delete: "user_id = $1",
            insert: false,
        },
        // Invitation acceptance finds a pending invitation before any scope is known.
        Exception {
            table: "invitations",
            context: "signin",
            read: "true",
            update: NOTHING,
            delete: NOTHING,
            insert: false,
        },
        // The voice system counts every tenant's slots, sums every rollup and fires alerts.
        Exception {
            table: "voice_sessions",
            context: "voice",
            read: "true",
            update: NOTHING,
            delete: NOTHING,
            insert: false,
        },
        Exception {
            table: "cost_daily",
            context: "voice",
            read: "true",
            update: NOTHING,
            delete: NOTHING,
            insert: false,
        },
        Exception {
            table: "budget_alerts",
            context: "voice",
            read: "true",
            update: NOTHING,
            delete: NOTHING,
            insert: true,
        },
    ];

    #[tokio::test]
    async fn named_contexts_see_no_tenant_rows_but_their_exceptions() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        let w = world(&*db.store()).await;
        let contexts = w.contexts();
        let mut failures = Vec::new();
        for (table, fcol, _) in TENANT_TABLES {
            let b_row: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT to_jsonb(t) FROM {table} t WHERE {fcol} = $1 LIMIT 1"
            )))
            .bind(w.fb.as_uuid())
            .fetch_one(pg.pool())
            .await
            .unwrap();
            for i in 3..N {
                let label = CONTEXTS[i];
                let ex = EXCEPTIONS
                    .iter()
                    .find(|e| e.table == *table && e.context == label);
                let (read, update, delete, insert) = match ex {
                    Some(e) => (e.read, e.update, e.delete, e.insert),
                    None => (NOTHING, NOTHING, NOTHING, false),
                };
                // What the context should reach, counted by the owner (no policies).
                let want = |pred: &str| {
                    let sql = format!(
                        "SELECT count(*) FROM {table} WHERE ({pred}) AND $1::uuid IS NOT NULL"
                    );
                    async move {
                        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                            .bind(w.ua.as_uuid())
                            .fetch_one(pg.pool())
                            .await
                            .unwrap()
                    }
                };
                let what = format!("{table} in {label}");
                let expect_read = want(read).await;
                if read != NOTHING && expect_read == 0 {
                    failures.push(format!("{what}: the fixture gives nothing to see"));
                }
                let mut tx = pg.begin_in(&contexts[i]).await.unwrap();
                let seen: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {table}"
                )))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                tx.rollback().await.unwrap();
                if seen != expect_read {
                    failures.push(format!(
                        "{what}: reads {seen} rows, should read {expect_read}"
                    ));
                }
                // Writes run one per transaction: a refusal is an error that ends it.
                for (verb, sql, pred) in [
                    (
                        "updates",
                        format!("UPDATE {table} SET {fcol} = {fcol}"),
                        update,
                    ),
                    ("deletes", format!("DELETE FROM {table}"), delete),
                ] {
                    let mut tx = pg.begin_in(&contexts[i]).await.unwrap();
                    let done = match sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *tx)
                        .await
                    {
                        Ok(r) => r.rows_affected() as i64,
                        Err(e) if is_rls_error(&e) => 0,
                        Err(e) => panic!("{what}: {verb} failed with {e}"),
                    };
                    tx.rollback().await.unwrap();
                    let may = want(pred).await;
                    if done != may {
                        failures.push(format!("{what}: {verb} {done} rows, may {verb} {may}"));
                    }
                }
                // A copy of tenant B's row (fresh id where there is one).
                let mut copy = b_row.clone();
                if copy.get("id").is_some() {
                    copy["id"] = serde_json::json!(uuid::Uuid::now_v7());
                }
                let mut tx = pg.begin_in(&contexts[i]).await.unwrap();
                let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1)"
                )))
                .bind(&copy)
                .execute(&mut *tx)
                .await;
                tx.rollback().await.unwrap();
                // Past the policies, a unique key may still refuse the copy: that is not the wall.
                let passed = !matches!(&r, Err(e) if is_rls_error(e));
                if passed != insert {
                    failures.push(format!("{what}: inserting B's row gave {r:?}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[tokio::test]
    async fn policies_alone_stop_cross_tenant_reads_and_writes() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        let w = world(&*db.store()).await;
        let scope_a = Scope::Gym {
            franchise: w.fa,
            gym: w.ga,
        };
        // Reads with no WHERE clause at all: only tenant A's rows come back.
        let mut tx = pg.begin_scoped(&scope_a).await.unwrap();
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT gym_id FROM members")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(ids, vec![w.ga.as_uuid()]);
        let deleted = sqlx::query("DELETE FROM members")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(
            deleted.rows_affected(),
            1,
            "only A's own member is reachable"
        );
        tx.rollback().await.unwrap();
        // B's member is untouched.
        let sb = Scope::Gym {
            franchise: w.fb,
            gym: w.gb,
        };
        let members = db
            .store()
            .list_members(&sb, w.gb, &MemberFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(members.total, 1);
    }

    #[tokio::test]
    async fn no_scope_sees_nothing_and_app_role_is_not_owner() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        world(&*db.store()).await;
        let mut tx = pg.pool().begin().await.unwrap();
        sqlx::query("SELECT set_config('role', 'jarvis_app', true)")
            .execute(&mut *tx)
            .await
            .unwrap();
        for table in catalogue_tables(pg).await {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            assert_eq!(n, 0, "{table}: an unset context sees nothing");
        }
        let bypass: bool = sqlx::query_scalar(
            "SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert!(!bypass);
        let owns: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = 'jarvis_app'",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(
            owns, 0,
            "the app role owns nothing, so FORCE'd policies bind it"
        );
        tx.rollback().await.unwrap();
    }

    #[tokio::test]
    async fn both_backends_have_the_same_tables_and_columns() {
        let pg = TestDb::postgres().await.unwrap();
        let lite = TestDb::sqlite().await.unwrap();
        let a = pg.store().schema().await.unwrap();
        let b = lite.store().schema().await.unwrap();
        assert!(
            a.contains_key("members") && a.contains_key("user_credentials") && a.len() >= 20,
            "{a:?}"
        );
        assert_eq!(a, b, "PostgreSQL and SQLite schemas differ");
        assert!(
            !a["users"].iter().any(|c| c == "password_hash"),
            "password hashes live in user_credentials only"
        );
    }
}
