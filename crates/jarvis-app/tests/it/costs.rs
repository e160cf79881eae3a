//! Cost reconciliation against the fake's costs endpoint, on both backends: the billed amounts
//! are stored per day, compared with the metered ones, a day over the margin alerts the super
//! admins once (not the days within it), a rerun changes nothing, and the pages of the
//! endpoint are all followed.

use super::usage::{call, member, tenant, user};
use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::costs::{ReconcilePolicy, difference_micros, over_margin, reconcile};
use jarvis_core::cost::TokenUsage;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_fake_openai::{
    FakeConfig, FakeOpenAi, LedgerEntry, LedgerKind, TEST_ADMIN_KEY, TEST_API_KEY,
};
use jarvis_openai::{ApiKey, OpenAiClient, OpenAiConfig};
use jarvis_store::testing::TestDb;
use time::{Duration, OffsetDateTime};

const USD: u64 = 1_000_000_000_000;

fn charge(at: OffsetDateTime, pico: u64) -> LedgerEntry {
    LedgerEntry {
        at_unix: at.unix_timestamp(),
        kind: LedgerKind::RealtimeResponse,
        model: "gpt-realtime-2.1-mini".into(),
        call_id: None,
        response_id: None,
        usage: TokenUsage::default(),
        audio_ms: 0,
        cost_pico: pico,
    }
}

async fn case(db: &TestDb) {
    let s = db.store();
    let s = s.as_ref();
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let client =
        OpenAiClient::new(OpenAiConfig::new(fake.base_url(), ApiKey::new(TEST_API_KEY)).unwrap())
            .unwrap();
    let admin = ApiKey::new(TEST_ADMIN_KEY);
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let noon = |days_ago: i64| {
        (today - Duration::days(days_ago))
            .with_time(time::macros::time!(12:00))
            .assume_utc()
    };

    // Billed: $1 yesterday, $2 two days ago, $0.50 three days ago, $4 45 days ago (outside).
    for (ago, pico) in [(1, USD), (2, 2 * USD), (3, USD / 2), (45, 4 * USD)] {
        fake.handle.book(charge(noon(ago), pico));
    }
    // Metered: $0.95 yesterday (within 10 %), $1 two days ago (half the bill), $0.50 three
    // days ago (exact).
    let t = tenant(s, "Gamma").await;
    let m = member(s, &t, "G-1").await;
    call(s, &t, &m, 30, USD * 95 / 100, noon(1)).await;
    call(s, &t, &m, 30, USD, noon(2)).await;
    call(s, &t, &m, 30, USD / 2, noon(3)).await;
    user(
        s,
        "root@x.test",
        Role::SuperAdmin,
        MembershipTarget::Platform,
    )
    .await;

    let master = MasterKey::generate();
    // 40 days: two pages of the endpoint (31 buckets, then 9).
    let policy = ReconcilePolicy {
        days: 40,
        margin_percent: 10,
    };
    let r = reconcile(
        s,
        &client,
        &admin,
        policy,
        (&master, "http://jarvis.test"),
        now,
    )
    .await
    .unwrap();
    let pages = fake
        .handle
        .requests()
        .into_iter()
        .filter(|q| q.path.ends_with("/organization/costs"))
        .count();
    assert_eq!(pages, 2, "every page followed");
    assert_eq!(r.days_billed, 40);
    assert_eq!((r.over_margin, r.alerts), (1, 1));

    let days = s
        .cost_days(&Scope::Platform, today - Duration::days(3), today)
        .await
        .unwrap();
    let billed: Vec<Option<u64>> = days.iter().map(|d| d.billed_micros).collect();
    assert_eq!(billed, [Some(500_000), Some(2_000_000), Some(1_000_000)]);
    assert_eq!(difference_micros(&days[1]), Some(-1_000_000));
    assert_eq!(difference_micros(&days[2]), Some(-50_000));
    let over: Vec<bool> = days.iter().map(|d| over_margin(d, 10)).collect();
    assert_eq!(over, [false, true, false]);
    assert!(days[1].alerted && !days[0].alerted && !days[2].alerted);
    let mails = s.emails_to("root@x.test", 10).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].kind, "cost_alert");
    assert!(
        mails[0]
            .subject
            .contains(&(today - Duration::days(2)).to_string()),
        "{}",
        mails[0].subject
    );

    // A rerun reads the same bill: same figures, no second alert or e-mail.
    let r = reconcile(
        s,
        &client,
        &admin,
        policy,
        (&master, "http://jarvis.test"),
        now,
    )
    .await
    .unwrap();
    assert_eq!((r.days_billed, r.over_margin, r.alerts), (40, 1, 0));
    let again = s
        .cost_days(&Scope::Platform, today - Duration::days(3), today)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|d| d.billed_micros).collect::<Vec<_>>(),
        billed
    );
    assert_eq!(s.emails_to("root@x.test", 10).await.unwrap().len(), 1);

    // A late charge on yesterday's bill: replaced on the next read, and now over the margin.
    fake.handle.book(charge(noon(1), USD / 2));
    let r = reconcile(
        s,
        &client,
        &admin,
        policy,
        (&master, "http://jarvis.test"),
        now,
    )
    .await
    .unwrap();
    assert_eq!((r.over_margin, r.alerts), (2, 1));
    let y = s
        .cost_days(&Scope::Platform, today - Duration::days(1), today)
        .await
        .unwrap();
    assert_eq!(y[0].billed_micros, Some(1_500_000));

    // Tenants never read the bill.
    assert!(
        s.cost_days(&t.scope, today - Duration::days(1), today)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sqlite_billed_costs_are_reconciled_with_the_meter() {
    case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_billed_costs_are_reconciled_with_the_meter() {
    case(&TestDb::postgres().await.unwrap()).await;
}
