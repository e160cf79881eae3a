//! The dashboard's list conventions on both backends: sortable column headers (the order of
//! the rows changes, `aria-sort` on the sorted column, unknown keys fall back to the default),
//! filters that narrow the list, and the empty state in the page's language instead of an
//! empty table. Covers the conversation history (sorted by the store), the kiosks and the
//! classes (sorted by the handler), members, gyms, the audit log, leads, churn, reports, the
//! team, simulation runs and job runs (sorted by the store).

use crate::common;

use crate::web::{get, web_login};
use common::{Backend, TestApp};
use jarvis_core::cost::TokenUsage;
use jarvis_core::model::*;
use jarvis_core::{FranchiseId, GymId, InstanceId, KioskId, MemberId, ReportId, Scope};
use serde_json::{Value, json};

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

fn id<T: std::str::FromStr>(v: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    v["id"].as_str().unwrap().parse().unwrap()
}

/// Where `needle` first occurs in `html` (the row order of a table).
fn at(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle} not on the page"))
}

async fn list_conventions_on_history_kiosks_and_classes(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let f: FranchiseId = id(&created(&app, "/api/v1/franchises", json!({"name": "F Lists"})).await);
    let gym: GymId = id(&created(
        &app,
        "/api/v1/gyms",
        json!({"franchise_id": f, "name": "Lists", "timezone": "Europe/Paris"}),
    )
    .await);
    let scope = Scope::Gym { franchise: f, gym };
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let fr = format!("{admin}; jarvis_lang=fr");
    let en = format!("{admin}; jarvis_lang=en");
    let history = format!("/app/gyms/{gym}/voice/sessions");
    let kiosks = format!("/app/gyms/{gym}/kiosks");
    let classes = format!("/app/gyms/{gym}/classes");

    // Empty states, in the page's language, instead of an empty table.
    let (s, html) = get(&app, &fr, &history).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"no-sessions\""), "{html}");
    assert!(html.contains("elles apparaissent ici dès"));
    assert!(!html.contains("id=\"sessions\""));
    let (_, html) = get(&app, &en, &history).await;
    assert!(html.contains("No conversation yet"));
    let (_, html) = get(&app, &fr, &kiosks).await;
    assert!(html.contains("id=\"no-kiosks\""));
    assert!(html.contains("ajoutez-en une ci-dessous, puis appairez-la"));
    let (_, html) = get(&app, &en, &kiosks).await;
    assert!(html.contains("No kiosk yet: add one below"));
    let (_, html) = get(&app, &fr, &classes).await;
    assert!(html.contains("Aucun cours au planning pour"));
    let (_, html) = get(&app, &en, &classes).await;
    assert!(html.contains("id=\"no-classes\""));
    assert!(html.contains("No class on the schedule yet"));

    // Two kiosks and two classes, then the sort headers reorder them.
    let k_a: KioskId = id(&created(
        &app,
        &format!("/api/v1/gyms/{gym}/kiosks"),
        json!({"name": "Accueil"}),
    )
    .await);
    let k_z: KioskId = id(&created(
        &app,
        &format!("/api/v1/gyms/{gym}/kiosks"),
        json!({"name": "Zen"}),
    )
    .await);
    let (_, html) = get(&app, &en, &kiosks).await;
    assert!(!html.contains("id=\"no-kiosks\""));
    assert!(
        at(&html, &format!("data-kiosk=\"{k_a}\"")) < at(&html, &format!("data-kiosk=\"{k_z}\""))
    );
    assert!(html.contains("<th aria-sort=\"ascending\"><a class=\"sort\" href=\"/app/gyms/"));
    assert!(html.contains(&format!("href=\"/app/gyms/{gym}/kiosks?sort=name_desc\"")));
    let (_, html) = get(&app, &en, &format!("{kiosks}?sort=name_desc")).await;
    assert!(
        at(&html, &format!("data-kiosk=\"{k_z}\"")) < at(&html, &format!("data-kiosk=\"{k_a}\""))
    );
    assert!(html.contains("aria-sort=\"descending\""));
    // An unknown key is the default order, never an error.
    let (s, html) = get(
        &app,
        &en,
        &format!("{kiosks}?sort=name%3B%20DROP%20TABLE%20kiosks"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &format!("data-kiosk=\"{k_a}\"")) < at(&html, &format!("data-kiosk=\"{k_z}\""))
    );

    let c_yoga = created(
        &app,
        &format!("/api/v1/gyms/{gym}/classes"),
        json!({"name": "Yoga", "weekday": "mon", "start_time": "09:00", "duration_minutes": 45, "capacity": 10}),
    )
    .await;
    let c_boxe = created(
        &app,
        &format!("/api/v1/gyms/{gym}/classes"),
        json!({"name": "Boxe", "weekday": "fri", "start_time": "18:00", "duration_minutes": 60, "capacity": 12}),
    )
    .await;
    let row = |c: &Value| format!("data-class=\"{}\"", c["id"].as_str().unwrap());
    let (_, html) = get(&app, &fr, &classes).await;
    assert!(
        at(&html, &row(&c_yoga)) < at(&html, &row(&c_boxe)),
        "the week's order by default"
    );
    let (_, html) = get(&app, &fr, &format!("{classes}?sort=name")).await;
    assert!(at(&html, &row(&c_boxe)) < at(&html, &row(&c_yoga)));

    // The history: three conversations, sorted by the store, filtered by end reason.
    let m: MemberId = id(&created(
        &app,
        &format!("/api/v1/gyms/{gym}/members"),
        json!({"badge_id": "B-1", "first_name": "Alice", "last_name": "Martin",
               "preferred_language": "fr", "consent_voice": true, "consent_transcripts": true}),
    )
    .await);
    let store = app.db.store();
    let mut ids = Vec::new();
    for (i, (cost, reason)) in [
        (900_u64, EndReason::MemberEnded),
        (100, EndReason::StaffEnded),
        (500, EndReason::MemberEnded),
    ]
    .into_iter()
    .enumerate()
    {
        let v = store
            .start_session(
                &scope,
                gym,
                NewVoiceSession {
                    member_id: m,
                    kiosk_id: Some(k_a),
                    owner: InstanceId::new(),
                    lease: time::Duration::minutes(2),
                    model: "gpt-realtime-2.1-mini".into(),
                    transcription_model: None,
                    language: Locale::Fr,
                    max_duration_secs: 600,
                },
            )
            .await
            .unwrap()
            .unwrap();
        store
            .record_response(
                &scope,
                v.id,
                ResponseUsage {
                    response_id: format!("resp_list_{i}"),
                    at: time::OffsetDateTime::now_utc(),
                    usage: TokenUsage::default(),
                    cost_pico: cost,
                },
                None,
            )
            .await
            .unwrap();
        store
            .end_session(&scope, v.id, reason, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        ids.push(v.id);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let row = |i: usize| format!("data-session=\"{}\"", ids[i]);
    let (s, html) = get(&app, &en, &history).await;
    assert_eq!(s, 200);
    assert!(!html.contains("id=\"no-sessions\""));
    assert!(
        at(&html, &row(2)) < at(&html, &row(1)) && at(&html, &row(1)) < at(&html, &row(0)),
        "newest first"
    );
    assert!(html.contains("aria-sort=\"descending\""));
    let (_, html) = get(&app, &en, &format!("{history}?sort=cost_desc")).await;
    assert!(
        at(&html, &row(0)) < at(&html, &row(2)) && at(&html, &row(2)) < at(&html, &row(1)),
        "most expensive first"
    );
    // The pager and the filter form keep the sort.
    assert!(html.contains("name=\"sort\" value=\"cost_desc\""));
    let (_, html) = get(&app, &fr, &format!("{history}?sort=started")).await;
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)) && at(&html, &row(1)) < at(&html, &row(2)),
        "oldest first"
    );
    assert!(html.contains("aria-sort=\"ascending\""));
    // A filter narrows the list, and the sort header links keep it.
    let (_, html) = get(
        &app,
        &en,
        &format!("{history}?reason=member_ended&sort=cost_desc"),
    )
    .await;
    assert!(!html.contains(&row(1)));
    assert!(at(&html, &row(0)) < at(&html, &row(2)));
    assert!(html.contains(&format!(
        "href=\"{history}?sort=started_desc&amp;reason=member_ended\""
    )));
    // A filter nothing matches: the "no result" sentence, not the "nothing yet" one.
    let (_, html) = get(&app, &fr, &format!("{history}?badge=NOBODY")).await;
    assert!(html.contains("id=\"no-sessions\""));
    assert!(html.contains("Aucun résultat pour ces critères"));
    let (_, html) = get(&app, &en, &format!("{history}?badge=NOBODY")).await;
    assert!(html.contains("Nothing matches these criteria"));

    // Leads: paged, filtered by status; a filter with no match says so.
    let leads = format!("/app/gyms/{gym}/leads");
    let (_, html) = get(&app, &fr, &leads).await;
    assert!(html.contains("id=\"no-leads\""));
    let mut lead_ids = Vec::new();
    for (i, name) in ["Paul", "Nina"].into_iter().enumerate() {
        let r = store
            .record_lead(
                &scope,
                gym,
                ValidLead {
                    event_id: format!("evt-{i}"),
                    name: name.into(),
                    email: None,
                    phone: None,
                    message: None,
                    source: None,
                },
                &format!("{i:064}"),
            )
            .await
            .unwrap();
        lead_ids.push(r.lead.id);
    }
    store
        .set_lead_status(
            &scope,
            &Actor::cli(),
            gym,
            lead_ids[1],
            LeadStatus::Contacted,
        )
        .await
        .unwrap();
    let (_, html) = get(&app, &en, &leads).await;
    assert!(html.contains(&format!("data-lead=\"{}\"", lead_ids[0])));
    assert!(html.contains(&format!("data-lead=\"{}\"", lead_ids[1])));
    // Sorted in the store: oldest first is the default order reversed (equal dates broken by
    // the id both ways), and the status header puts new leads before contacted ones.
    let lead = |i: usize| format!("data-lead=\"{}\"", lead_ids[i]);
    let newest_first = at(&html, &lead(0)) > at(&html, &lead(1));
    assert!(html.contains(&format!("href=\"{leads}?sort=created\"")));
    let (_, html) = get(&app, &en, &format!("{leads}?sort=created")).await;
    assert_eq!(at(&html, &lead(0)) > at(&html, &lead(1)), !newest_first);
    assert!(html.contains("aria-sort=\"ascending\""));
    let (_, html) = get(&app, &en, &format!("{leads}?sort=status")).await;
    assert!(
        at(&html, &lead(0)) < at(&html, &lead(1)),
        "new before contacted"
    );
    let (s, html) = get(&app, &en, &format!("{leads}?sort=status%27")).await;
    assert_eq!(s, 200);
    assert_eq!(
        at(&html, &lead(0)) > at(&html, &lead(1)),
        newest_first,
        "unknown key: default"
    );
    let (s, html) = get(&app, &en, &format!("{leads}?status=contacted")).await;
    assert_eq!(s, 200);
    assert!(!html.contains(&format!("data-lead=\"{}\"", lead_ids[0])));
    assert!(html.contains(&format!("data-lead=\"{}\"", lead_ids[1])));
    let (_, html) = get(&app, &fr, &format!("{leads}?status=converted")).await;
    assert!(html.contains("id=\"no-leads\""));
    assert!(html.contains("Aucun résultat pour ces critères"));
    app.stop().await;
}

async fn member_list_sorts_by_column_headers(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let f: FranchiseId =
        id(&created(&app, "/api/v1/franchises", json!({"name": "F Members"})).await);
    let gym: GymId = id(&created(
        &app,
        "/api/v1/gyms",
        json!({"franchise_id": f, "name": "Members", "timezone": "Europe/Paris"}),
    )
    .await);
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let fr = format!("{admin}; jarvis_lang=fr");
    let en = format!("{admin}; jarvis_lang=en");
    let list = format!("/app/gyms/{gym}/members");

    let (s, html) = get(&app, &fr, &list).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"no-members\""), "{html}");
    assert!(html.contains("ajoutez-en un ci-dessous"));
    assert!(!html.contains("id=\"members\""));
    let (_, html) = get(&app, &en, &list).await;
    assert!(html.contains("No member yet: add one below"));

    // Aubert sorts first by name, last by badge, and was created first.
    let mut ids: Vec<MemberId> = Vec::new();
    for (badge, last) in [("B-9", "Aubert"), ("B-1", "Zidane")] {
        ids.push(id(&created(
            &app,
            &format!("/api/v1/gyms/{gym}/members"),
            json!({"badge_id": badge, "first_name": "Sam", "last_name": last,
                   "preferred_language": "fr"}),
        )
        .await));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let row = |i: usize| format!("data-member=\"{}\"", ids[i]);
    let (_, html) = get(&app, &en, &list).await;
    assert!(!html.contains("id=\"no-members\""));
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)),
        "by name by default"
    );
    assert!(html.contains("<th aria-sort=\"ascending\"><a class=\"sort\""));
    assert!(html.contains(&format!("href=\"{list}?sort=badge\"")));
    assert!(html.contains(&format!("href=\"{list}?sort=created_desc\"")));
    let (_, html) = get(&app, &en, &format!("{list}?sort=badge")).await;
    assert!(at(&html, &row(1)) < at(&html, &row(0)), "by badge");
    let (_, html) = get(&app, &en, &format!("{list}?sort=created_desc")).await;
    assert!(at(&html, &row(1)) < at(&html, &row(0)), "newest first");
    assert!(html.contains("aria-sort=\"descending\""));
    // The search form keeps the sort.
    assert!(html.contains("name=\"sort\" value=\"created_desc\""));
    // An unknown key is the default order, never an error.
    let (s, html) = get(
        &app,
        &en,
        &format!("{list}?sort=last_name%3B%20DROP%20TABLE%20members"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(at(&html, &row(0)) < at(&html, &row(1)));
    // A search narrows the list and the header links keep it.
    let (_, html) = get(&app, &en, &format!("{list}?q=Zidane&sort=badge")).await;
    assert!(!html.contains(&row(0)));
    assert!(html.contains(&row(1)));
    assert!(html.contains(&format!("href=\"{list}?sort=name&amp;q=Zidane\"")));
    let (_, html) = get(&app, &fr, &format!("{list}?q=NOBODY")).await;
    assert!(html.contains("id=\"no-members\""));
    assert!(html.contains("Aucun résultat pour ces critères"));
    app.stop().await;
}

async fn gym_and_audit_lists_sort_in_the_store(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let f: FranchiseId = id(&created(&app, "/api/v1/franchises", json!({"name": "F Sorts"})).await);
    let mut gyms: Vec<GymId> = Vec::new();
    for name in ["Sort Alpha", "Sort Bravo"] {
        gyms.push(id(&created(
            &app,
            "/api/v1/gyms",
            json!({"franchise_id": f, "name": name, "timezone": "Europe/Paris"}),
        )
        .await));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let en = format!("{admin}; jarvis_lang=en");
    let row = |i: usize| format!("data-gym=\"{}\"", gyms[i]);

    let (s, html) = get(&app, &en, "/app/gyms?q=Sort").await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)),
        "by name by default"
    );
    assert!(
        html.contains("href=\"/app/gyms?sort=name_desc&amp;q=Sort\""),
        "{html}"
    );
    assert!(html.contains("href=\"/app/gyms?sort=status&amp;q=Sort\""));
    let (_, html) = get(&app, &en, "/app/gyms?q=Sort&sort=name_desc").await;
    assert!(at(&html, &row(1)) < at(&html, &row(0)));
    assert!(html.contains("aria-sort=\"descending\""));
    assert!(html.contains("name=\"sort\" value=\"name_desc\""));
    let (_, html) = get(&app, &en, "/app/gyms?q=Sort&sort=created").await;
    assert!(at(&html, &row(0)) < at(&html, &row(1)), "oldest first");
    let (_, html) = get(&app, &en, "/app/gyms?q=Sort&sort=created_desc").await;
    assert!(at(&html, &row(1)) < at(&html, &row(0)), "newest first");
    let (s, html) = get(&app, &en, "/app/gyms?q=Sort&sort=name%20DESC%3B--").await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)),
        "unknown key: default"
    );

    // The audit log: the two gym creations, newest first by default, oldest first on request.
    let audit_row = |html: &str, gym: GymId| at(html, &format!("<code>{gym}</code>"));
    let (s, html) = get(&app, &en, "/app/audit?action=gym.create").await;
    assert_eq!(s, 200);
    assert!(
        audit_row(&html, gyms[1]) < audit_row(&html, gyms[0]),
        "newest first"
    );
    assert!(
        html.contains("href=\"/app/audit?sort=at&amp;action=gym.create\""),
        "{html}"
    );
    let (_, html) = get(&app, &en, "/app/audit?action=gym.create&sort=at").await;
    assert!(
        audit_row(&html, gyms[0]) < audit_row(&html, gyms[1]),
        "oldest first"
    );
    assert!(html.contains("aria-sort=\"ascending\""));
    let (_, html) = get(&app, &en, "/app/audit?action=gym.create&sort=bogus").await;
    assert!(
        audit_row(&html, gyms[1]) < audit_row(&html, gyms[0]),
        "unknown key: default"
    );
    app.stop().await;
}

async fn churn_and_report_lists_sort_in_the_store(backend: Backend) {
    use jarvis_core::churn::{ChurnAssessment, ChurnLevel};
    use jarvis_store::{NewChurnScore, NewReport};
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let f: FranchiseId = id(&created(&app, "/api/v1/franchises", json!({"name": "F Churn"})).await);
    let gym: GymId = id(&created(
        &app,
        "/api/v1/gyms",
        json!({"franchise_id": f, "name": "Churn", "timezone": "Europe/Paris"}),
    )
    .await);
    let scope = Scope::Gym { franchise: f, gym };
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let en = format!("{admin}; jarvis_lang=en");
    let store = app.db.store();

    // Zola is at higher risk, Adam sorts first by name.
    let mut members: Vec<MemberId> = Vec::new();
    for (badge, last) in [("C-1", "Zola"), ("C-2", "Adam")] {
        members.push(id(&created(
            &app,
            &format!("/api/v1/gyms/{gym}/members"),
            json!({"badge_id": badge, "first_name": "Sam", "last_name": last,
                   "preferred_language": "fr"}),
        )
        .await));
    }
    let score = |m: MemberId, score: u8, level: ChurnLevel| NewChurnScore {
        member_id: m,
        assessment: ChurnAssessment {
            score,
            level,
            factors: vec![],
        },
    };
    store
        .put_churn_scores(
            &scope,
            gym,
            time::OffsetDateTime::now_utc(),
            &[
                score(members[0], 90, ChurnLevel::High),
                score(members[1], 40, ChurnLevel::Medium),
            ],
        )
        .await
        .unwrap();
    let churn = format!("/app/gyms/{gym}/churn");
    let row = |i: usize| format!("data-member=\"{}\"", members[i]);
    let (s, html) = get(&app, &en, &churn).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)),
        "highest score first"
    );
    assert!(html.contains("aria-sort=\"descending\""));
    let (_, html) = get(&app, &en, &format!("{churn}?sort=score")).await;
    assert!(
        at(&html, &row(1)) < at(&html, &row(0)),
        "lowest score first"
    );
    let (_, html) = get(&app, &en, &format!("{churn}?sort=name&level=medium")).await;
    assert!(at(&html, &row(1)) < at(&html, &row(0)), "by name");
    assert!(html.contains("name=\"sort\" value=\"name\""));
    assert!(html.contains(&format!(
        "href=\"{churn}?sort=score_desc&amp;level=medium\""
    )));
    let (s, html) = get(&app, &en, &format!("{churn}?sort=NAME")).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)),
        "unknown key: default"
    );

    // Two weekly reports recorded out of order.
    let mut reports = Vec::new();
    for (week, starts) in [
        ("2026-W21", time::macros::datetime!(2026-05-18 00:00 UTC)),
        ("2026-W23", time::macros::datetime!(2026-06-01 00:00 UTC)),
    ] {
        let rid = ReportId::new();
        store
            .record_report(
                &scope,
                NewReport {
                    id: rid,
                    gym_id: gym,
                    week: week.into(),
                    starts_at: starts,
                    object_key: format!("reports/{gym}/{week}.html"),
                    size_bytes: 10,
                },
                vec![],
            )
            .await
            .unwrap();
        reports.push(rid);
    }
    let list = format!("/app/gyms/{gym}/reports");
    let rrow = |i: usize| format!("data-report=\"{}\"", reports[i]);
    let (s, html) = get(&app, &en, &list).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &rrow(1)) < at(&html, &rrow(0)),
        "newest week first"
    );
    assert!(html.contains(&format!("href=\"{list}?sort=week\"")));
    let (_, html) = get(&app, &en, &format!("{list}?sort=week")).await;
    assert!(
        at(&html, &rrow(0)) < at(&html, &rrow(1)),
        "oldest week first"
    );
    let (_, html) = get(&app, &en, &format!("{list}?sort=starts_at")).await;
    assert!(
        at(&html, &rrow(1)) < at(&html, &rrow(0)),
        "unknown key: default"
    );
    app.stop().await;
}

async fn knowledge_entries_sort_in_the_handler(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let f: FranchiseId = id(&created(&app, "/api/v1/franchises", json!({"name": "F Know"})).await);
    let gym: GymId = id(&created(
        &app,
        "/api/v1/gyms",
        json!({"franchise_id": f, "name": "Know", "timezone": "Europe/Paris"}),
    )
    .await);
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let en = format!("{admin}; jarvis_lang=en");
    // Zumba is written first, Aqua last: the title and date orders disagree.
    let mut entries: Vec<String> = Vec::new();
    for title in ["Zumba", "Aqua"] {
        let v = created(
            &app,
            &format!("/api/v1/gyms/{gym}/knowledge"),
            json!({"title": title, "body": "Text", "language": "fr"}),
        )
        .await;
        entries.push(v["id"].as_str().unwrap().to_string());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let list = format!("/app/gyms/{gym}/knowledge");
    let row = |i: usize| format!("data-entry=\"{}\"", entries[i]);
    let (s, html) = get(&app, &en, &list).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &row(1)) < at(&html, &row(0)),
        "by title by default"
    );
    assert!(html.contains(&format!("href=\"{list}?sort=updated_desc\"")));
    let (_, html) = get(&app, &en, &format!("{list}?sort=title_desc")).await;
    assert!(at(&html, &row(0)) < at(&html, &row(1)));
    let (_, html) = get(&app, &en, &format!("{list}?sort=updated")).await;
    assert!(
        at(&html, &row(0)) < at(&html, &row(1)),
        "oldest change first"
    );
    let (_, html) = get(&app, &en, &format!("{list}?sort=updated_desc&q=a")).await;
    assert!(
        at(&html, &row(1)) < at(&html, &row(0)),
        "newest change first"
    );
    assert!(html.contains(&format!("href=\"{list}?sort=updated&amp;q=a\"")));
    let (s, html) = get(&app, &en, &format!("{list}?sort=title%20DESC")).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &row(1)) < at(&html, &row(0)),
        "unknown key: default"
    );
    app.stop().await;
}

async fn team_simulation_and_job_run_lists_sort_in_the_store(backend: Backend) {
    use jarvis_core::{InstanceId, Role};
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let f: FranchiseId = id(&created(&app, "/api/v1/franchises", json!({"name": "F Team"})).await);
    let gym: GymId = id(&created(
        &app,
        "/api/v1/gyms",
        json!({"franchise_id": f, "name": "Team", "timezone": "Europe/Paris"}),
    )
    .await);
    let scope = Scope::Gym { franchise: f, gym };
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let fr = format!("{admin}; jarvis_lang=fr");
    let en = format!("{admin}; jarvis_lang=en");
    let store = app.db.store();

    // The team: names and e-mails disagree; the search keeps the admin out.
    let mut users = Vec::new();
    for (name, email) in [
        ("Zoe Sorted", "a.sorted@x.test"),
        ("Abel Sorted", "b.sorted@x.test"),
    ] {
        let u = store
            .create_user(
                &Actor::cli(),
                NewUser {
                    email: email.into(),
                    display_name: name.into(),
                    locale: Locale::En,
                    password_hash: None,
                }
                .validate()
                .unwrap(),
                Some((Role::GymStaff, MembershipTarget::Gym(f, gym))),
            )
            .await
            .unwrap();
        users.push(u.id);
    }
    let urow = |i: usize| format!("data-user=\"{}\"", users[i]);
    let (s, html) = get(&app, &en, "/app/team?q=Sorted").await;
    assert_eq!(s, 200);
    assert!(at(&html, &urow(1)) < at(&html, &urow(0)), "by name");
    assert!(html.contains("<th aria-sort=\"ascending\"><a class=\"sort\" href=\"/app/team?sort=name_desc&amp;q=Sorted\">"));
    assert!(html.contains("href=\"/app/team?sort=email&amp;q=Sorted\""));
    assert!(html.contains("href=\"/app/team?sort=state&amp;q=Sorted\""));
    let (_, html) = get(&app, &en, "/app/team?q=Sorted&sort=email").await;
    assert!(at(&html, &urow(0)) < at(&html, &urow(1)), "by e-mail");
    assert!(
        html.contains("name=\"sort\" value=\"email\""),
        "the search keeps the order"
    );
    let (_, html) = get(&app, &en, "/app/team?q=Sorted&sort=name_desc").await;
    assert!(at(&html, &urow(0)) < at(&html, &urow(1)));
    assert!(html.contains("aria-sort=\"descending\""));
    // Abel disabled: active accounts first, or disabled first.
    store
        .set_user_disabled(&scope, &Actor::cli(), users[1], true)
        .await
        .unwrap();
    let (_, html) = get(&app, &en, "/app/team?q=Sorted&sort=state").await;
    assert!(at(&html, &urow(0)) < at(&html, &urow(1)), "active first");
    let (_, html) = get(&app, &en, "/app/team?q=Sorted&sort=state_desc").await;
    assert!(at(&html, &urow(1)) < at(&html, &urow(0)), "disabled first");
    let (s, html) = get(&app, &en, "/app/team?q=Sorted&sort=display_name").await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &urow(1)) < at(&html, &urow(0)),
        "unknown key: default"
    );
    // Nothing matches: a sentence instead of an empty table.
    let (s, html) = get(&app, &fr, "/app/team?q=Nobody%20here").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"no-team\"") && !html.contains("id=\"team\""));
    assert!(html.contains("Personne ne correspond à cette recherche."));
    let (_, html) = get(&app, &fr, "/app/team?q=Sorted").await;
    assert!(
        html.contains(">Nom ▲</a>") && html.contains(">État</a>"),
        "{html}"
    );

    // Two simulation runs: a cheap one that passed, then an expensive one that failed.
    let mut runs = Vec::new();
    for (passed, cost) in [(true, 100_u64), (false, 900)] {
        let run = store.start_simulation(&scope, gym).await.unwrap();
        store
            .add_simulation_result(
                &scope,
                &SimulationResult {
                    run_id: run.id,
                    seq: 0,
                    scenario: "Horaires".into(),
                    passed,
                    checks: vec![],
                    transcript: vec![],
                    tool_calls: vec![],
                    cost_pico: cost,
                },
            )
            .await
            .unwrap();
        store.finish_simulation(&scope, run.id, None).await.unwrap();
        runs.push(run.id);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let sims = format!("/app/gyms/{gym}/voice/simulations");
    let srow = |i: usize| format!("data-run=\"{}\"", runs[i]);
    let (s, html) = get(&app, &en, &sims).await;
    assert_eq!(s, 200);
    assert!(at(&html, &srow(1)) < at(&html, &srow(0)), "newest first");
    assert!(html.contains(&format!("href=\"{sims}?sort=started\"")));
    assert!(html.contains(&format!("href=\"{sims}?sort=cost_desc\"")));
    let (_, html) = get(&app, &en, &format!("{sims}?sort=cost")).await;
    assert!(at(&html, &srow(0)) < at(&html, &srow(1)), "cheapest first");
    assert!(html.contains("aria-sort=\"ascending\""));
    // `failed` < `passed`.
    let (_, html) = get(&app, &en, &format!("{sims}?sort=status_desc")).await;
    assert!(at(&html, &srow(0)) < at(&html, &srow(1)));
    assert!(html.contains("aria-sort=\"descending\""));
    let (s, html) = get(&app, &en, &format!("{sims}?sort=cost_pico")).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &srow(1)) < at(&html, &srow(0)),
        "unknown key: default"
    );
    let (_, html) = get(&app, &fr, &sims).await;
    assert!(html.contains(">Coût (séparé des conversations des membres)</a>"));

    // Two runs of a kind no instance claims: a long one, then a short one.
    let me = InstanceId::new();
    let mut job_runs = Vec::new();
    for ms in [300_u64, 0] {
        let job = store
            .enqueue(NewJob::new("test.sorted", json!({})))
            .await
            .unwrap()
            .job;
        let c = store
            .claim(me, &["test.sorted"], 1, time::Duration::minutes(1))
            .await
            .unwrap()
            .remove(0);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        assert!(store.complete(&c.claim).await.unwrap());
        let run = store
            .job_runs(
                &jarvis_store::JobRunFilter {
                    job_id: Some(job.id),
                    ..Default::default()
                },
                jarvis_core::PageRequest::default(),
            )
            .await
            .unwrap()
            .items
            .remove(0);
        job_runs.push(run.id);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let jrow = |i: usize| format!("data-run=\"{}\"", job_runs[i]);
    let jobs = "/app/ops/jobs?kind=test.sorted";
    let (s, html) = get(&app, &en, jobs).await;
    assert_eq!(s, 200);
    assert!(at(&html, &jrow(1)) < at(&html, &jrow(0)), "newest first");
    assert!(html.contains("href=\"/app/ops/jobs?sort=started&amp;kind=test.sorted\""));
    assert!(html.contains("href=\"/app/ops/jobs?sort=duration_desc&amp;kind=test.sorted\""));
    assert!(html.contains("href=\"/app/ops/jobs?sort=kind&amp;kind=test.sorted\""));
    let (_, html) = get(&app, &en, &format!("{jobs}&sort=duration_desc")).await;
    assert!(at(&html, &jrow(0)) < at(&html, &jrow(1)), "longest first");
    assert!(html.contains("name=\"sort\" value=\"duration_desc\""));
    let (_, html) = get(&app, &en, &format!("{jobs}&sort=started")).await;
    assert!(at(&html, &jrow(0)) < at(&html, &jrow(1)), "oldest first");
    let (s, html) = get(&app, &en, &format!("{jobs}&sort=duration_ms")).await;
    assert_eq!(s, 200);
    assert!(
        at(&html, &jrow(1)) < at(&html, &jrow(0)),
        "unknown key: default"
    );
    // The filter narrows the runs; French outcomes, not the stored key.
    let (_, html) = get(&app, &fr, "/app/ops/jobs?kind=test.other").await;
    assert!(!html.contains(&jrow(0)));
    let (_, html) = get(&app, &fr, jobs).await;
    assert!(html.contains("<td>réussie</td>"), "{html}");
    assert!(html.contains(">Durée (ms)</a>") && html.contains(">Début ▼</a>"));
    app.stop().await;
}

both_backends!(
    list_conventions_on_history_kiosks_and_classes,
    member_list_sorts_by_column_headers,
    gym_and_audit_lists_sort_in_the_store,
    churn_and_report_lists_sort_in_the_store,
    knowledge_entries_sort_in_the_handler,
    team_simulation_and_job_run_lists_sort_in_the_store,
);
