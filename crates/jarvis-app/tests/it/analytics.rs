//! The analytics jobs on both backends, as their handlers run them: `churn.score`
//! (`churn::score_all`) orders a constructed set of members by risk; `reports.weekly`
//! (`reports::run_weekly`) writes the previous week's numbers (and only that week's) into the
//! stored HTML, records the row, queues one e-mail per manager, and a rerun changes nothing.

use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::objects::Objects;
use jarvis_app::reports::{self, ReportDeps, Week};
use jarvis_app::{churn, outbox};
use jarvis_core::churn::*;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

type S = Arc<dyn Store>;

async fn gym(s: &S, name: &str) -> (GymId, FranchiseId, Scope) {
    let (g, scope) = jarvis_store::testing::active_gym(s.as_ref(), name, name).await;
    (g.id, g.franchise_id, scope)
}

async fn member(s: &S, scope: &Scope, g: GymId, name: &str) -> MemberId {
    s.create_member(
        scope,
        &Actor::cli(),
        g,
        NewMember {
            badge_id: name.into(),
            first_name: name.into(),
            last_name: "Test".into(),
            email: None,
            phone: None,
            birth_date: None,
            preferred_language: Locale::Fr,
            membership_type: "standard".into(),
            membership_status: MembershipStatus::Active,
            membership_end_date: None,
            goals: vec![],
            limitations: None,
            consent_voice: true,
            consent_transcripts: true,
        }
        .validate()
        .unwrap(),
    )
    .await
    .unwrap()
    .id
}

async fn visits(
    db: &TestDb,
    g: GymId,
    f: FranchiseId,
    m: MemberId,
    now: OffsetDateTime,
    days: &[i64],
) {
    let mut sql = String::new();
    for d in days {
        sql.push_str(&format!(
            "INSERT INTO member_visits (id, gym_id, franchise_id, member_id, at) VALUES ('{}', '{g}', '{f}', '{m}', {});\n",
            uuid::Uuid::now_v7(),
            TestDb::ts(now - Duration::days(*d))
        ));
    }
    if let Some(last) = days.iter().min() {
        sql.push_str(&format!(
            "UPDATE members SET last_visit_at = {} WHERE id = '{m}';",
            TestDb::ts(now - Duration::days(*last))
        ));
    }
    db.exec(&sql).await.unwrap();
}

/// One conversation with its analysis.
struct Talk<'a> {
    member: MemberId,
    kiosk: Option<uuid::Uuid>,
    at: OffsetDateTime,
    secs: i64,
    end_reason: &'a str,
    sentiment_score: f64,
    satisfaction: i32,
    cancel: bool,
    topics: &'a str,
}

async fn talk(db: &TestDb, g: GymId, f: FranchiseId, t: Talk<'_>) {
    let sid = uuid::Uuid::now_v7();
    let start = TestDb::ts(t.at);
    let end = TestDb::ts(t.at + Duration::seconds(t.secs));
    let kiosk = t.kiosk.map_or("NULL".to_string(), |k| format!("'{k}'"));
    let m = t.member;
    db.exec(&format!(
        "INSERT INTO voice_sessions (id, franchise_id, gym_id, member_id, kiosk_id, status, model, \
         language, owner_instance_id, lease_expires_at, started_at, ended_at, end_reason, \
         max_duration_secs, created_at, updated_at) VALUES ('{sid}', '{f}', '{g}', '{m}', {kiosk}, \
         'ended', 'gpt-realtime', 'fr', '{}', {start}, {start}, {end}, '{}', 600, {start}, {start});\n\
         INSERT INTO session_analyses (session_id, franchise_id, gym_id, member_id, summary, \
         sentiment, topics, created_at, status, sentiment_score, satisfaction, cancellation_intent) \
         VALUES ('{sid}', '{f}', '{g}', '{m}', 'summary', 'neutral', '{}', {end}, 'done', {}, {}, {});",
        uuid::Uuid::now_v7(),
        t.end_reason,
        t.topics,
        t.sentiment_score,
        t.satisfaction,
        if t.cancel { "TRUE" } else { "FALSE" }
    ))
    .await
    .unwrap();
}

fn default_talk<'a>(member: MemberId, at: OffsetDateTime) -> Talk<'a> {
    Talk {
        member,
        kiosk: None,
        at,
        secs: 60,
        end_reason: "member_ended",
        sentiment_score: 0.0,
        satisfaction: 3,
        cancel: false,
        topics: "[]",
    }
}

/// A report with four-digit counts, as `reports::gather` would build it.
fn big_week(locale: Locale) -> reports::WeeklyReport {
    reports::WeeklyReport {
        gym_name: "Grande salle".into(),
        week: Week::of(time::macros::date!(2026 - 06 - 03)),
        locale,
        timezone: "UTC".into(),
        conversations: 1_234,
        members: 1_234,
        avg_duration_secs: Some(125),
        satisfaction_avg: Some(4.2),
        sentiment_avg: Some(-0.25),
        top_topics: vec![("yoga".into(), 1_234)],
        churn: vec![],
        cost_micros: 1_234_560_000,
        kiosks: vec![],
    }
}

fn reader(locale: Locale) -> User {
    User {
        id: UserId::new(),
        email: "reader@example.com".into(),
        display_name: "Reader".into(),
        locale,
        created_at: OffsetDateTime::now_utc(),
        disabled_at: None,
    }
}

/// The stored page is in the gym's language and so are its numbers; each e-mail is in its
/// recipient's.
#[test]
fn a_weekly_report_writes_numbers_in_its_readers_language() {
    let fr = reports::render(&big_week(Locale::Fr)).unwrap();
    for want in [
        r#"<dd id="satisfaction">4,2 / 5</dd>"#,
        "<dd id=\"conversation-count\">1\u{202f}234</dd>",
        "<dd id=\"member-count\">1\u{202f}234</dd>",
        "yoga (1\u{202f}234)",
        r#"<dd id="sentiment">-0,25</dd>"#,
        "Dépense de la semaine\u{a0}: <strong id=\"cost\">1\u{202f}234,56\u{a0}$</strong>",
    ] {
        assert!(fr.contains(want), "missing {want} in {fr}");
    }
    assert!(!fr.contains("4.2") && !fr.contains("1234") && !fr.contains("1,234"));

    let en = reports::render(&big_week(Locale::En)).unwrap();
    for want in [
        r#"<dd id="satisfaction">4.2 / 5</dd>"#,
        r#"<dd id="conversation-count">1,234</dd>"#,
        r#"<dd id="member-count">1,234</dd>"#,
        "yoga (1,234)",
        r#"Spend of the week: <strong id="cost">$1,234.56</strong>"#,
    ] {
        assert!(en.contains(want), "missing {want} in {en}");
    }
    assert!(!en.contains("4,2") && !en.contains(" :"));

    // A French gym's report mailed to an English reader, and the other way round.
    let link = "https://jarvis.example/app/gyms/g/reports/r";
    let to_en = reports::email(&reader(Locale::En), &big_week(Locale::Fr), link);
    assert!(
        to_en.text.contains("- Conversations: 1,234")
            && to_en.text.contains("- Average satisfaction: 4.2 / 5")
            && to_en.text.contains("(1 Jun 2026 – 7 Jun 2026)"),
        "{}",
        to_en.text
    );
    let to_fr = reports::email(&reader(Locale::Fr), &big_week(Locale::En), link);
    assert!(
        to_fr.text.contains("- Conversations\u{a0}: 1\u{202f}234")
            && to_fr.text.contains("- Satisfaction moyenne\u{a0}: 4,2 / 5")
            && to_fr.text.contains("(1 juin 2026 – 7 juin 2026)"),
        "{}",
        to_fr.text
    );
}

mod cases {
    use super::*;

    pub async fn churn_job_orders_members_by_risk(db: &TestDb) {
        let s = db.store();
        let now = OffsetDateTime::now_utc();
        let (g, f, scope) = gym(&s, "Churn job").await;
        let steady = member(&s, &scope, g, "Steady").await;
        let fading = member(&s, &scope, g, "Fading").await;
        let leaving = member(&s, &scope, g, "Leaving").await;
        visits(db, g, f, steady, now, &[2, 9, 16, 23, 31, 38, 45, 52]).await;
        visits(db, g, f, fading, now, &[25, 33, 40, 47, 54]).await;
        visits(db, g, f, leaving, now, &[50, 55]).await;
        talk(
            db,
            g,
            f,
            Talk {
                sentiment_score: -0.9,
                cancel: true,
                ..default_talk(leaving, now - Duration::days(5))
            },
        )
        .await;
        let run = churn::score_all(s.as_ref(), now, || false).await.unwrap();
        assert_eq!(run.members, 3);
        assert_eq!(run.high, 1);
        let list = churn::list(
            s.as_ref(),
            &scope,
            g,
            None,
            Default::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
        let order: Vec<MemberId> = list.items.iter().map(|e| e.churn.member_id).collect();
        assert_eq!(order, vec![leaving, fading, steady], "{list:?}");
        let top = &list.items[0].churn;
        assert_eq!(top.level, ChurnLevel::High);
        let intent = top
            .factors
            .iter()
            .find(|f| f.name == ChurnFactorName::CancellationIntent)
            .unwrap();
        assert_eq!(intent.contribution, 25);
        // The job runs daily: a rerun replaces each member's row.
        let again = churn::score_all(s.as_ref(), now + Duration::hours(24), || false)
            .await
            .unwrap();
        assert_eq!(again.members, 3);
        let list = churn::list(
            s.as_ref(),
            &scope,
            g,
            None,
            Default::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
        assert_eq!(list.total, 3);
    }

    pub async fn weekly_report_holds_the_weeks_numbers(db: &TestDb) {
        let s = db.store();
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let week = Week::previous(now);
        let mid = week.starts_at() + Duration::days(2) + Duration::hours(10);
        let (g, f, scope) = gym(&s, "Salle <Test>").await;
        // A gym created now has no previous week to report: this one opened a month ago.
        let (_, _, young) = gym(&s, "Young").await;
        db.exec(&format!(
            "UPDATE gyms SET created_at = {} WHERE id = '{g}';",
            TestDb::ts(now - Duration::days(30))
        ))
        .await
        .unwrap();
        let a = member(&s, &scope, g, "Ann").await;
        let b = member(&s, &scope, g, "Bob").await;
        let kiosk = uuid::Uuid::now_v7();
        let seen = TestDb::ts(now - Duration::minutes(3));
        db.exec(&format!(
            "INSERT INTO kiosks (id, gym_id, franchise_id, name, status, device_token_hash, \
             last_seen_at, created_at, updated_at) VALUES ('{kiosk}', '{g}', '{f}', 'Entrée', \
             'paired', 'tok-{kiosk}', {seen}, {seen}, {seen});"
        ))
        .await
        .unwrap();
        // In the week: 3 conversations of 2 members (60, 120, 180 s) through the kiosk on two
        // days, satisfaction 4/5/3, sentiment 0.5/0.1/-0.3, plus a failed start.
        for (m, day, secs, sat, score, topics) in [
            (a, 0, 60, 4, 0.5, r#"["Yoga","parking"]"#),
            (a, 0, 120, 5, 0.1, r#"["yoga"]"#),
            (b, 3, 180, 3, -0.3, r#"["price"]"#),
        ] {
            talk(
                db,
                g,
                f,
                Talk {
                    kiosk: Some(kiosk),
                    secs,
                    satisfaction: sat,
                    sentiment_score: score,
                    topics,
                    ..default_talk(m, mid + Duration::days(day))
                },
            )
            .await;
        }
        talk(
            db,
            g,
            f,
            Talk {
                end_reason: "start_failed",
                secs: 0,
                ..default_talk(b, mid)
            },
        )
        .await;
        // Outside it: the week before and the current week.
        for at in [
            week.starts_at() - Duration::hours(1),
            week.ends_at() + Duration::minutes(1),
        ] {
            talk(
                db,
                g,
                f,
                Talk {
                    kiosk: Some(kiosk),
                    secs: 900,
                    satisfaction: 1,
                    sentiment_score: -1.0,
                    topics: r#"["outside-topic"]"#,
                    ..default_talk(b, at)
                },
            )
            .await;
        }
        let day_in = week.monday + Duration::days(2);
        let day_out = week.monday - Duration::days(1);
        let up = TestDb::ts(now);
        db.exec(&format!(
            "INSERT INTO cost_daily (franchise_id, gym_id, day, cost_pico, updated_at) VALUES \
             ('{f}', '{g}', '{day_in}', 2500000000000, {up}), \
             ('{f}', '{g}', '{day_out}', 9000000000000, {up});"
        ))
        .await
        .unwrap();
        s.put_churn_scores(
            &scope,
            g,
            now,
            &[NewChurnScore {
                member_id: b,
                assessment: ChurnAssessment {
                    score: 88,
                    level: ChurnLevel::High,
                    factors: vec![],
                },
            }],
        )
        .await
        .unwrap();
        // A manager (English, a name to escape) and a staff member (no e-mail).
        let manager = s
            .create_user(
                &Actor::cli(),
                NewUser {
                    email: "boss@example.com".into(),
                    display_name: "<Boss>".into(),
                    locale: Locale::En,
                    password_hash: None,
                }
                .validate()
                .unwrap(),
                Some((Role::GymManager, MembershipTarget::Gym(f, g))),
            )
            .await
            .unwrap();
        s.create_user(
            &Actor::cli(),
            NewUser {
                email: "staff@example.com".into(),
                display_name: "Staff".into(),
                locale: Locale::Fr,
                password_hash: None,
            }
            .validate()
            .unwrap(),
            Some((Role::GymStaff, MembershipTarget::Gym(f, g))),
        )
        .await
        .unwrap();

        let master = MasterKey::generate();
        let deps = ReportDeps {
            store: s.clone(),
            objects: Objects::local(dir.path()).unwrap(),
            master: master.clone(),
            public_base: "https://jarvis.example".into(),
        };
        let run = reports::run_weekly(&deps, now, || false).await.unwrap();
        assert_eq!((run.created, run.existing, run.emails), (1, 0, 1));

        let row = s
            .report_of_week(&scope, g, &week.label())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.object_key, format!("reports/{g}/{}.html", week.label()));
        assert_eq!(row.starts_at, week.starts_at());
        let html = deps.objects.get(&row.object_key).await.unwrap();
        assert_eq!(row.size_bytes, html.len() as u64);
        let html = String::from_utf8(html.to_vec()).unwrap();
        for want in [
            "Rapport hebdomadaire",
            "Salle &#60;Test&#62;",
            &week.label(),
            r#"<dd id="conversation-count">3</dd>"#,
            r#"<dd id="member-count">2</dd>"#,
            r#"<dd id="avg-duration">2:00</dd>"#,
            // The gym is French: so are its report's numbers.
            r#"<dd id="satisfaction">4,0 / 5</dd>"#,
            r#"<dd id="sentiment">+0,10</dd>"#,
            "yoga (2)",
            "parking (1)",
            "Bob Test",
            "Dépense de la semaine\u{a0}: <strong id=\"cost\">2,50\u{a0}$</strong>",
            "Entrée",
            "2/7",
        ] {
            assert!(html.contains(want), "missing {want} in {html}");
        }
        assert!(!html.contains("Salle <Test>"));
        assert!(!html.contains("outside-topic"));
        assert!(!html.contains("Weekly report"));

        let mails = s.emails_to("boss@example.com", 10).await.unwrap();
        assert_eq!(mails.len(), 1);
        let opened = outbox::open(&master, &mails[0]).unwrap();
        assert_eq!(opened.kind, "weekly_report");
        assert!(opened.subject.contains(&week.label()));
        assert!(
            opened.text.contains("- Conversations: 3"),
            "{}",
            opened.text
        );
        // The manager reads English: the e-mail's numbers are English ones.
        assert!(opened.text.contains("$2.50") && opened.text.contains("4.0 / 5"));
        let link = format!("https://jarvis.example/app/gyms/{g}/reports/{}", row.id);
        assert!(opened.text.contains(&link) && opened.html.contains(&link));
        assert!(opened.html.contains("&lt;Boss&gt;") && !opened.html.contains("<Boss>"));
        assert!(opened.html.contains("Salle &lt;Test&gt;"));
        assert!(
            s.emails_to("staff@example.com", 10)
                .await
                .unwrap()
                .is_empty()
        );
        let _ = manager;

        // A rerun (the job retried, or another instance) finds the week done.
        let again = reports::run_weekly(&deps, now, || false).await.unwrap();
        assert_eq!((again.created, again.existing, again.emails), (0, 1, 0));
        assert_eq!(s.emails_to("boss@example.com", 10).await.unwrap().len(), 1);
        let list = reports::list(
            s.as_ref(),
            &scope,
            g,
            Default::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
        assert_eq!(list.total, 1);
        // The report opens in its gym's scope, and is not found from another gym.
        let (r, body) = reports::open(s.as_ref(), &deps.objects, &scope, g, row.id)
            .await
            .unwrap();
        assert_eq!((r.id, body.len() as u64), (row.id, row.size_bytes));
        assert!(
            reports::open(s.as_ref(), &deps.objects, &young, g, row.id)
                .await
                .is_err()
        );
    }

    /// The demo seed backdates its gyms to the start of the history it seeds, so the weekly
    /// job's first run on a fresh demo reports last week for both demo gyms (a gym created
    /// today is still skipped); a second seed moves nothing.
    pub async fn fresh_demo_gets_last_weeks_reports(db: &TestDb) {
        use jarvis_app::demo;
        let s = db.store();
        let dir = tempfile::tempdir().unwrap();
        let first = demo::seed(s.as_ref()).await.unwrap();
        assert_eq!((first.gyms_created, first.gyms_backdated), (2, 2));
        let again = demo::seed(s.as_ref()).await.unwrap();
        assert_eq!((again.gyms_created, again.gyms_backdated), (0, 0));
        let start = OffsetDateTime::now_utc().date().midnight().assume_utc()
            - Duration::days(demo::HISTORY_DAYS);
        let demo_gyms = s
            .list_gyms(
                &Scope::Platform,
                &GymFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap()
            .items;
        assert_eq!(demo_gyms.len(), 2);
        for g in &demo_gyms {
            // Seeded today (or yesterday, when the test runs across midnight).
            assert!(
                start - Duration::days(1) <= g.created_at && g.created_at <= start,
                "{} created {}",
                g.name,
                g.created_at
            );
        }
        let (fresh, _, _) = gym(&s, "Fresh").await;

        let now = OffsetDateTime::now_utc();
        let deps = ReportDeps {
            store: s.clone(),
            objects: Objects::local(dir.path()).unwrap(),
            master: MasterKey::generate(),
            public_base: "https://jarvis.example".into(),
        };
        let run = reports::run_weekly(&deps, now, || false).await.unwrap();
        assert_eq!((run.created, run.existing), (2, 0));
        let week = Week::previous(now).label();
        for g in &demo_gyms {
            let scope = Scope::Gym {
                franchise: g.franchise_id,
                gym: g.id,
            };
            let r = s.report_of_week(&scope, g.id, &week).await.unwrap();
            assert!(r.is_some(), "{} has the report of {week}", g.name);
        }
        let gyms = s
            .list_gyms(
                &Scope::Platform,
                &GymFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap();
        let f = gyms.items.iter().find(|g| g.id == fresh).unwrap();
        let scope = Scope::Gym {
            franchise: f.franchise_id,
            gym: fresh,
        };
        assert!(
            s.report_of_week(&scope, fresh, &week)
                .await
                .unwrap()
                .is_none()
        );
    }
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::postgres().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
    };
}

both_backends!(
    churn_job_orders_members_by_risk,
    weekly_report_holds_the_weeks_numbers,
    fresh_demo_gets_last_weeks_reports,
);
