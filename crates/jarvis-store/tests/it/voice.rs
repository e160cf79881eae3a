//! Conformance of voice-session storage on SQLite and PostgreSQL: slots acquired atomically
//! against the gym's and the global cap by two store handles (two instances) on one database,
//! leases that free capacity when they expire, ends that happen exactly once, exact metering
//! into sessions and daily rollups, budget alerts that fire once, prices by effective date,
//! turns, tool calls, follow-ups, analyses and transcript retention.

use jarvis_core::cost::{
    BudgetPeriod, BudgetThreshold, ModelPrice, PriceTable, TokenUsage, cost_pico,
};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

type S = Arc<dyn Store>;

const LEASE: Duration = Duration::minutes(2);
/// A lease that has already expired when granted: loses the slot without sleeping.
const EXPIRED: Duration = Duration::seconds(-1);

fn page(limit: u32) -> PageRequest {
    PageRequest::new(Some(limit), None).unwrap()
}

/// A second handle on the same database: what another instance would hold. Long pool waits:
/// hundreds of concurrent acquisitions queue for connections.
async fn handle(db: &TestDb) -> S {
    jarvis_store::connect(&ConnectOptions {
        acquire_timeout: std::time::Duration::from_secs(120),
        ..ConnectOptions::new(db.url())
    })
    .await
    .unwrap()
}

struct Gym1 {
    gym: Gym,
    scope: Scope,
    member: Member,
    kiosk: Kiosk,
}

async fn franchise(s: &S) -> FranchiseId {
    s.create_franchise(
        &Scope::Platform,
        &Actor::cli(),
        NewFranchise {
            name: format!("F{}", uuid::Uuid::now_v7()),
        },
    )
    .await
    .unwrap()
    .id
}

async fn gym_with_cap(s: &S, f: FranchiseId, name: &str, cap: u32) -> Gym1 {
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
                locale: Locale::Fr,
                settings: serde_json::json!({ "voice_session_cap": cap }),
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
    let member = s
        .create_member(
            &scope,
            &a,
            gym.id,
            NewMember {
                badge_id: format!("B-{name}"),
                first_name: "Camille".into(),
                last_name: "Martin".into(),
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
            },
        )
        .await
        .unwrap();
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
    Gym1 {
        gym,
        scope,
        member,
        kiosk,
    }
}

fn new_session(g: &Gym1, owner: InstanceId, lease: Duration) -> NewVoiceSession {
    NewVoiceSession {
        member_id: g.member.id,
        kiosk_id: Some(g.kiosk.id),
        owner,
        lease,
        model: "gpt-realtime-2.1-mini".into(),
        transcription_model: Some("gpt-4o-mini-transcribe".into()),
        language: Locale::Fr,
        max_duration_secs: 600,
    }
}

async fn start(
    s: &S,
    g: &Gym1,
    owner: InstanceId,
    lease: Duration,
) -> Result<VoiceSession, CapRefusal> {
    s.start_session(&g.scope, g.gym.id, new_session(g, owner, lease))
        .await
        .unwrap()
}

async fn set_global_cap(s: &S, cap: u32) {
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

/// Sessions holding a slot, counted by the store (the cap's own count).
async fn global_live(s: &S, g: &Gym1) -> u32 {
    s.slot_usage(&g.scope, g.gym.id).await.unwrap().global_live
}

mod cases {
    use super::*;

    pub async fn global_cap_holds_across_two_instances(db: &TestDb) {
        let one = handle(db).await;
        let two = handle(db).await;
        set_global_cap(&one, 100).await;
        let f = franchise(&one).await;
        // Ten gyms of cap 50 with 50 attempts each: only the global cap of 100 can refuse.
        let mut gyms = Vec::new();
        for i in 0..10 {
            gyms.push(Arc::new(gym_with_cap(&one, f, &format!("G{i}"), 50).await));
        }
        let instances = [InstanceId::new(), InstanceId::new()];
        let attempts: Vec<_> = (0..500)
            .map(|i| {
                let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                let g = gyms[i % 10].clone();
                let owner = instances[i % 2];
                tokio::spawn(async move { start(&h, &g, owner, LEASE).await })
            })
            .collect();
        let mut admitted = Vec::new();
        let mut refused = 0;
        for a in attempts {
            match a.await.unwrap() {
                Ok(s) => admitted.push(s),
                Err(r) => {
                    assert_eq!(r.cap, Cap::Global, "{r:?}");
                    assert_eq!((r.limit, r.live), (100, 100), "{r:?}");
                    refused += 1;
                }
            }
        }
        assert_eq!(admitted.len(), 100, "exactly the global cap is admitted");
        assert_eq!(refused, 400);
        let ids: BTreeSet<_> = admitted.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), 100);
        assert_eq!(global_live(&two, &gyms[0]).await, 100);
        for g in gyms.iter() {
            let live = one.live_voice_sessions(&g.scope, g.gym.id).await.unwrap();
            assert!(live.len() <= 50, "gym cap held: {}", live.len());
        }
        // A refused start stored nothing.
        let stored: u64 = {
            let mut n = 0;
            for g in gyms.iter() {
                n += one
                    .list_voice_sessions(&g.scope, g.gym.id, &SessionFilter::default(), page(1))
                    .await
                    .unwrap()
                    .total;
            }
            n
        };
        assert_eq!(stored, 100);

        // Every one ends (from either instance): no slot leaks.
        let ends: Vec<_> = admitted
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                let (scope, id) = (s.scope(), s.id);
                tokio::spawn(async move {
                    h.end_session(
                        &scope,
                        id,
                        EndReason::MemberEnded,
                        OffsetDateTime::now_utc(),
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        for e in ends {
            assert!(e.await.unwrap());
        }
        assert_eq!(global_live(&one, &gyms[0]).await, 0, "no slot leaked");

        // Churn: sessions end while others start; a watcher never sees more than the cap.
        set_global_cap(&one, 20).await;
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = {
            let (h, g, done) = (two.clone(), gyms[0].clone(), done.clone());
            tokio::spawn(async move {
                let mut max = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    max = max.max(global_live(&h, &g).await);
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                max
            })
        };
        let churn: Vec<_> = (0..200)
            .map(|i| {
                let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                let g = gyms[i % 10].clone();
                let owner = instances[i % 2];
                tokio::spawn(async move {
                    match start(&h, &g, owner, LEASE).await {
                        Ok(s) => {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                            assert!(
                                h.end_session(
                                    &g.scope,
                                    s.id,
                                    EndReason::Idle,
                                    OffsetDateTime::now_utc()
                                )
                                .await
                                .unwrap()
                            );
                            true
                        }
                        Err(_) => false,
                    }
                })
            })
            .collect();
        let mut churned = 0;
        for c in churn {
            churned += usize::from(c.await.unwrap());
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let max = watcher.await.unwrap();
        assert!(max <= 20, "{max} slots held at once with a cap of 20");
        assert!(churned >= 20, "freed slots are reused: {churned} admitted");
        assert_eq!(global_live(&one, &gyms[0]).await, 0);
    }

    pub async fn gym_cap_refuses_first_and_caps_are_reported(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let a = gym_with_cap(&s, f, "A", 2).await;
        let b = gym_with_cap(&s, f, "B", 5).await;
        let me = InstanceId::new();
        let first = start(&s, &a, me, LEASE).await.unwrap();
        assert_eq!(first.status, SessionStatus::Starting);
        assert_eq!(first.member_id, Some(a.member.id));
        assert_eq!(first.owner_instance_id, me);
        start(&s, &a, me, LEASE).await.unwrap();
        let refused = start(&s, &a, me, LEASE).await.unwrap_err();
        assert_eq!(
            refused,
            CapRefusal {
                cap: Cap::Gym,
                limit: 2,
                live: 2
            }
        );
        assert_eq!(CapRefusal::CODE, "capacity_reached");
        // Another gym is not limited by A's cap.
        start(&s, &b, me, LEASE).await.unwrap();
        // The global cap counts every gym: 3 held, cap 3.
        set_global_cap(&s, 3).await;
        let refused = start(&s, &b, me, LEASE).await.unwrap_err();
        assert_eq!(
            refused,
            CapRefusal {
                cap: Cap::Global,
                limit: 3,
                live: 3
            }
        );
        assert_eq!(
            s.slot_usage(&a.scope, a.gym.id).await.unwrap(),
            SlotUsage {
                gym_live: 2,
                gym_cap: 2,
                global_live: 3,
                global_cap: 3
            }
        );
        // Ending frees the slot at once.
        assert!(
            s.end_session(
                &a.scope,
                first.id,
                EndReason::MemberEnded,
                OffsetDateTime::now_utc()
            )
            .await
            .unwrap()
        );
        start(&s, &b, me, LEASE).await.unwrap();

        // The member and kiosk must be the gym's; the gym must be in scope.
        let mut foreign = new_session(&a, me, LEASE);
        foreign.member_id = b.member.id;
        assert!(matches!(
            s.start_session(&a.scope, a.gym.id, foreign).await,
            Err(StoreError::NotFound("member"))
        ));
        let mut foreign = new_session(&a, me, LEASE);
        foreign.kiosk_id = Some(b.kiosk.id);
        assert!(matches!(
            s.start_session(&a.scope, a.gym.id, foreign).await,
            Err(StoreError::NotFound("kiosk"))
        ));
        assert!(matches!(
            s.start_session(&b.scope, a.gym.id, new_session(&a, me, LEASE))
                .await,
            Err(StoreError::NotFound(_))
        ));
        let mut bad = new_session(&a, me, LEASE);
        bad.max_duration_secs = 3600;
        assert!(matches!(
            s.start_session(&a.scope, a.gym.id, bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }

    pub async fn expired_leases_free_capacity_without_a_reaper(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym_with_cap(&s, f, "A", 1).await;
        let (me, other) = (InstanceId::new(), InstanceId::new());
        // Born expired: holds no slot.
        let lost = start(&s, &g, me, EXPIRED).await.unwrap();
        let holder = start(&s, &g, other, Duration::seconds(2)).await.unwrap();
        // A renewal cannot revive the expired lease (its slot is taken), nor activate it.
        assert_eq!(
            s.renew_lease(&g.scope, lost.id, me, LEASE).await.unwrap(),
            Renewal::Lost
        );
        assert!(!s.activate(&g.scope, lost.id, me, "rtc_lost").await.unwrap());
        // The reaper sees it; it is still live until ended.
        let expired = s.expired_leases(100).await.unwrap();
        assert_eq!(expired.iter().map(|x| x.id).collect::<Vec<_>>(), [lost.id]);
        assert!(
            s.end_session(
                &g.scope,
                lost.id,
                EndReason::Reaped,
                OffsetDateTime::now_utc()
            )
            .await
            .unwrap()
        );
        assert!(s.expired_leases(100).await.unwrap().is_empty());

        // A held lease blocks the gym; renewing it keeps it, only for its owner.
        assert_eq!(start(&s, &g, me, LEASE).await.unwrap_err().cap, Cap::Gym);
        assert_eq!(
            s.renew_lease(&g.scope, holder.id, me, LEASE).await.unwrap(),
            Renewal::Lost,
            "not the owner"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        assert_eq!(
            s.renew_lease(&g.scope, holder.id, other, Duration::seconds(2))
                .await
                .unwrap(),
            Renewal::Renewed
        );
        let renewed = s.voice_session(&g.scope, holder.id).await.unwrap();
        assert!(renewed.lease_expires_at > holder.lease_expires_at);
        // Left to expire: the slot frees by itself.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let next = start(&s, &g, me, LEASE).await.unwrap();
        assert_eq!(
            s.renew_lease(&g.scope, holder.id, other, LEASE)
                .await
                .unwrap(),
            Renewal::Lost,
            "an expired lease stays lost"
        );
        assert_eq!(
            s.live_voice_sessions(&g.scope, g.gym.id)
                .await
                .unwrap()
                .iter()
                .map(|x| x.id)
                .collect::<Vec<_>>(),
            [next.id]
        );
        // The reaper's other view: live sessions of given (dead) instances.
        let of_other = s.sessions_of_instances(&[other]).await.unwrap();
        assert_eq!(
            of_other.iter().map(|x| x.id).collect::<Vec<_>>(),
            [holder.id]
        );
        assert!(s.sessions_of_instances(&[]).await.unwrap().is_empty());
        assert!(
            s.end_session(
                &g.scope,
                holder.id,
                EndReason::Reaped,
                OffsetDateTime::now_utc()
            )
            .await
            .unwrap()
        );
        assert!(s.sessions_of_instances(&[other]).await.unwrap().is_empty());
        let gone = s.voice_session(&g.scope, holder.id).await.unwrap();
        assert_eq!(gone.end_reason, Some(EndReason::Reaped));
    }

    pub async fn end_happens_exactly_once_under_concurrent_ends(db: &TestDb) {
        let one = db.store();
        let two = handle(db).await;
        let f = franchise(&one).await;
        let g = Arc::new(gym_with_cap(&one, f, "A", 50).await);
        let me = InstanceId::new();
        for round in 0..5 {
            let s = start(&one, &g, me, LEASE).await.unwrap();
            let ends: Vec<_> = EndReason::ALL
                .iter()
                .take(10)
                .enumerate()
                .map(|(i, r)| {
                    let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                    let (scope, id, r) = (g.scope, s.id, *r);
                    tokio::spawn(async move {
                        let won = h
                            .end_session(&scope, id, r, OffsetDateTime::now_utc())
                            .await
                            .unwrap();
                        (r, won)
                    })
                })
                .collect();
            let mut winners = Vec::new();
            for e in ends {
                let (r, won) = e.await.unwrap();
                if won {
                    winners.push(r);
                }
            }
            assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
            let ended = one.voice_session(&g.scope, s.id).await.unwrap();
            assert_eq!(ended.status, SessionStatus::Ended);
            assert_eq!(
                ended.end_reason,
                Some(winners[0]),
                "the winner's reason is kept"
            );
            assert!(ended.ended_at.is_some_and(|t| t >= ended.started_at));
            assert!(
                !one.end_session(
                    &g.scope,
                    s.id,
                    EndReason::Shutdown,
                    OffsetDateTime::now_utc()
                )
                .await
                .unwrap()
            );
            assert_eq!(
                one.voice_session(&g.scope, s.id).await.unwrap().end_reason,
                Some(winners[0])
            );
            assert_eq!(
                one.renew_lease(&g.scope, s.id, me, LEASE).await.unwrap(),
                Renewal::Lost
            );
        }
        // An end dated before the start (another clock) never precedes the start.
        let s = start(&one, &g, me, LEASE).await.unwrap();
        one.end_session(
            &g.scope,
            s.id,
            EndReason::Idle,
            s.started_at - Duration::minutes(5),
        )
        .await
        .unwrap();
        let ended = one.voice_session(&g.scope, s.id).await.unwrap();
        assert_eq!(ended.ended_at, Some(ended.started_at));
        assert_eq!(global_live(&one, &g).await, 0);
        // Unknown or foreign sessions are not found.
        assert!(matches!(
            one.end_session(
                &g.scope,
                VoiceSessionId::new(),
                EndReason::Idle,
                OffsetDateTime::now_utc()
            )
            .await,
            Err(StoreError::NotFound(_))
        ));
    }

    /// A public demo call (`/demo`) is flagged in its own scope only and its cost is summed
    /// apart from members' calls, month by month.
    pub async fn demo_sessions_are_costed_apart(db: &TestDb) {
        let one = db.store();
        let f = franchise(&one).await;
        let g = gym_with_cap(&one, f, "A", 10).await;
        let other = gym_with_cap(&one, f, "B", 10).await;
        let me = InstanceId::new();
        let member_call = start(&one, &g, me, LEASE).await.unwrap();
        let demo_call = start(&one, &g, me, LEASE).await.unwrap();
        assert!(matches!(
            one.mark_demo_session(&other.scope, demo_call.id).await,
            Err(StoreError::NotFound(_))
        ));
        one.mark_demo_session(&g.scope, demo_call.id).await.unwrap();
        let now = OffsetDateTime::now_utc();
        for (id, cost) in [(member_call.id, 1_000_000_u64), (demo_call.id, 250_000)] {
            one.record_response(
                &g.scope,
                id,
                ResponseUsage {
                    response_id: format!("r{cost}"),
                    at: now,
                    usage: TokenUsage::default(),
                    cost_pico: cost,
                },
                None,
            )
            .await
            .unwrap();
        }
        let period = BudgetPeriod::of(now);
        let demo = one.demo_month_to_date(period).await.unwrap();
        assert_eq!((demo.sessions, demo.cost_pico), (1, 250_000));
        let last_month = period.first_day().midnight().assume_utc() - Duration::hours(1);
        let before = one
            .demo_month_to_date(BudgetPeriod::of(last_month))
            .await
            .unwrap();
        assert_eq!((before.sessions, before.cost_pico), (0, 0));
        // Every call still costs the gym.
        let month = one.month_to_date(&g.scope, g.gym.id, period).await.unwrap();
        assert_eq!(month.cost_pico, 1_250_000);
    }

    pub async fn metering_adds_exactly(db: &TestDb) {
        let one = db.store();
        let two = handle(db).await;
        let f = franchise(&one).await;
        let g = Arc::new(gym_with_cap(&one, f, "A", 10).await);
        let other = gym_with_cap(&one, f, "B", 10).await;
        let me = InstanceId::new();
        let s = start(&one, &g, me, LEASE).await.unwrap();
        // Priced with a table that differs from the default.
        let mut table = PriceTable::new();
        table.set(
            "gpt-realtime-2.1-mini",
            ModelPrice::new(
                700_001, 70_003, 2_400_007, 10_000_011, 300_013, 20_000_017, 800_019, 80_023,
            ),
        );
        let price = *table.get("gpt-realtime-2.1-mini").unwrap();
        let now = OffsetDateTime::now_utc();
        let usage_of = |i: u64| TokenUsage {
            input_text: 100 + i * 7,
            input_audio: 50 + i * 13,
            input_image: i % 3,
            cached_text: i * 5,
            cached_audio: i * 3,
            cached_image: 0,
            output_text: 20 + i,
            output_audio: 60 + i * 11,
        };
        let tasks: Vec<_> = (0..200_u64)
            .map(|i| {
                let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                let g = g.clone();
                let usage = usage_of(i);
                let cost = cost_pico(&usage, &price);
                tokio::spawn(async move {
                    let turn = (i % 2 == 0).then(|| {
                        NewTurn::new(
                            StorageLevel::Full,
                            TurnRole::Assistant,
                            &format!("réponse {i}"),
                            now,
                        )
                        .with_latency_ms(300 + i as u32)
                    });
                    h.record_response(
                        &g.scope,
                        s.id,
                        ResponseUsage {
                            response_id: format!("resp_{i}"),
                            at: now,
                            usage,
                            cost_pico: cost,
                        },
                        turn,
                    )
                    .await
                    .unwrap();
                    (cost, usage)
                })
            })
            .collect();
        let transcriptions: Vec<_> = (0..50_u64)
            .map(|i| {
                let h = if i % 2 == 0 { two.clone() } else { one.clone() };
                let g = g.clone();
                tokio::spawn(async move {
                    let billing = if i % 2 == 0 {
                        TranscriptionBilling::Tokens(TokenUsage {
                            input_audio: 10 + i,
                            output_text: 5,
                            ..Default::default()
                        })
                    } else {
                        TranscriptionBilling::Duration { millis: 1000 + i }
                    };
                    let cost = 1_000_003 * (i + 1);
                    let turn = (i % 5 == 0).then(|| {
                        NewTurn::new(
                            StorageLevel::Redacted,
                            TurnRole::Member,
                            "mon 06 12 34 56 78",
                            now,
                        )
                    });
                    h.record_transcription(
                        &g.scope,
                        s.id,
                        TranscriptionUsage {
                            at: now,
                            billing,
                            cost_pico: cost,
                        },
                        turn,
                    )
                    .await
                    .unwrap();
                    (cost, billing)
                })
            })
            .collect();
        let mut total = 0_u64;
        let mut turn_costs = 0_u64;
        let mut usage = TokenUsage::default();
        for (i, t) in tasks.into_iter().enumerate() {
            let (cost, u) = t.await.unwrap();
            total += cost;
            usage.add(&u);
            if i % 2 == 0 {
                turn_costs += cost;
            }
        }
        let mut transcription_total = 0_u64;
        let (mut t_tokens, mut t_ms) = (0_u64, 0_u64);
        for t in transcriptions {
            let (cost, billing) = t.await.unwrap();
            transcription_total += cost;
            match billing {
                TranscriptionBilling::Tokens(u) => t_tokens += u.total(),
                TranscriptionBilling::Duration { millis } => t_ms += millis,
            }
        }
        let grand = total + transcription_total;
        let got = one.voice_session(&g.scope, s.id).await.unwrap();
        assert_eq!(
            got.cost_pico, grand,
            "session total = sum of recorded costs"
        );
        assert_eq!(got.transcription_cost_pico, transcription_total);
        assert_eq!(got.usage, usage);
        assert_eq!(
            (got.transcription_tokens, got.transcription_ms),
            (t_tokens, t_ms)
        );
        assert_eq!(got.responses, 200);
        assert_eq!(got.turn_count, 100 + 10);
        // Turns are numbered 1..=n without gaps or repeats, and carry their response's cost.
        let turns = one.turns(&g.scope, s.id, page(200)).await.unwrap();
        assert_eq!(turns.total, 110);
        assert_eq!(
            turns.items.iter().map(|t| t.seq).collect::<Vec<_>>(),
            (1..=110).collect::<Vec<_>>()
        );
        let summed: u64 = turns.items.iter().filter_map(|t| t.cost_pico).sum();
        assert_eq!(summed, turn_costs);
        for t in &turns.items {
            match t.role {
                TurnRole::Assistant => {
                    let i: u64 = t.response_id.as_deref().unwrap()[5..].parse().unwrap();
                    assert_eq!(t.usage, Some(usage_of(i)));
                    assert_eq!(t.cost_pico, Some(cost_pico(&usage_of(i), &price)));
                    assert_eq!(t.latency_ms, Some(300 + i as u32));
                    assert_eq!(t.text.as_deref(), Some(format!("réponse {i}").as_str()));
                }
                TurnRole::Member => {
                    assert_eq!(t.text.as_deref(), Some("mon [phone]"));
                    assert!(t.redacted);
                    assert_eq!((t.usage, t.cost_pico), (None, None));
                }
            }
        }
        // Per-turn responsiveness for the dashboard: latencies 300..=499 ms on even responses,
        // kept by the daily rollup in 10 ms buckets (each percentile is its bucket's floor).
        let (d0, d1) = (
            (now - Duration::days(1)).date(),
            (now + Duration::days(1)).date(),
        );
        let lat = one
            .latency(&g.scope, g.gym.id, LatencySource::Turn, d0, d1)
            .await
            .unwrap();
        let want: Vec<u32> = (0..200)
            .filter(|i| i % 2 == 0)
            .map(|i| latency_bucket(300 + i))
            .collect();
        assert_eq!(lat, LatencyStats::from_samples(want));
        assert_eq!(
            (lat.count, lat.p50_ms, lat.p95_ms),
            (100, Some(390), Some(480))
        );
        // Nothing heard at a kiosk; another gym's scope sees none of it.
        let heard = one.latency(&g.scope, g.gym.id, LatencySource::Heard, d0, d1);
        assert_eq!(heard.await.unwrap().count, 0);
        assert_eq!(
            one.latency(&other.scope, other.gym.id, LatencySource::Turn, d0, d1)
                .await
                .unwrap()
                .count,
            0
        );
        assert_eq!(
            one.latency(&other.scope, g.gym.id, LatencySource::Turn, d0, d1)
                .await
                .unwrap()
                .count,
            0,
            "a gym scope reads no other gym's rollup"
        );
        // The rollups add up to the same: the gym's month, the platform's month, the day.
        let period = BudgetPeriod::of(now);
        let month = one.month_to_date(&g.scope, g.gym.id, period).await.unwrap();
        assert_eq!(month.cost_pico, grand, "rollup total = session total");
        assert_eq!((month.responses, month.transcriptions), (200, 50));
        // Another gym's spend (and last month's) counts for the platform, not for this gym.
        let s2 = start(&one, &other, me, LEASE).await.unwrap();
        let last_month = period.first_day().midnight().assume_utc() - Duration::hours(1);
        for (at, cost) in [(now, 777_u64), (last_month, 1_000_000)] {
            one.record_response(
                &other.scope,
                s2.id,
                ResponseUsage {
                    response_id: format!("r{cost}"),
                    at,
                    usage: TokenUsage::default(),
                    cost_pico: cost,
                },
                None,
            )
            .await
            .unwrap();
        }
        assert_eq!(
            one.month_to_date(&g.scope, g.gym.id, period)
                .await
                .unwrap()
                .cost_pico,
            grand
        );
        assert_eq!(
            two.platform_month_to_date(period).await.unwrap().cost_pico,
            grand + 777
        );
        assert_eq!(
            two.platform_month_to_date(BudgetPeriod::of(last_month))
                .await
                .unwrap()
                .cost_pico,
            1_000_000
        );
        let days = one
            .daily_costs(&g.scope, g.gym.id, period.first_day(), period.end_day())
            .await
            .unwrap();
        assert_eq!(days.iter().map(|d| d.spend.cost_pico).sum::<u64>(), grand);
        assert_eq!(
            days.iter().map(|d| d.input_tokens).sum::<u64>(),
            usage.input_total() + (0..50).filter(|i| i % 2 == 0).map(|i| 10 + i).sum::<u64>()
        );
        // A foreign scope cannot meter into the session.
        assert!(matches!(
            one.record_response(
                &other.scope,
                s.id,
                ResponseUsage {
                    response_id: "x".into(),
                    at: now,
                    usage: TokenUsage::default(),
                    cost_pico: 1,
                },
                None,
            )
            .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            one.voice_session(&g.scope, s.id).await.unwrap().cost_pico,
            grand
        );
        // Billing goes on after the end (a response that was already under way).
        one.end_session(&g.scope, s.id, EndReason::MemberEnded, now)
            .await
            .unwrap();
        let late = one
            .record_response(
                &g.scope,
                s.id,
                ResponseUsage {
                    response_id: "late".into(),
                    at: now,
                    usage: TokenUsage::default(),
                    cost_pico: 5,
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(late.session.cost_pico, grand + 5);
    }

    pub async fn budget_alerts_fire_once_under_concurrency(db: &TestDb) {
        let one = db.store();
        let two = handle(db).await;
        let f = franchise(&one).await;
        let g = gym_with_cap(&one, f, "A", 3).await;
        let other = gym_with_cap(&one, f, "B", 3).await;
        let period = BudgetPeriod::parse("2026-11").unwrap();
        let fire = |h: S, scope: BudgetScope, threshold: BudgetThreshold, marker: String| {
            tokio::spawn(async move {
                h.budget_alert_once(
                    NewBudgetAlert {
                        scope,
                        period,
                        threshold,
                        spent_pico: 80_000_000_000_000,
                        budget_micros: 100_000_000,
                    },
                    vec![NewEmail {
                        id: uuid::Uuid::now_v7(),
                        to_address: "manager@gym.test".into(),
                        subject: marker.clone(),
                        body_text: marker.clone(),
                        body_html: marker,
                        kind: "budget_alert".into(),
                    }],
                )
                .await
                .unwrap()
            })
        };
        let gym_scope = BudgetScope::Gym {
            franchise: f,
            gym: g.gym.id,
        };
        for (scope, threshold, marker) in [
            (gym_scope, BudgetThreshold::Warn80, "alert-gym-80"),
            (gym_scope, BudgetThreshold::Exhausted, "alert-gym-100"),
            (
                BudgetScope::Platform,
                BudgetThreshold::Warn80,
                "alert-platform-80",
            ),
        ] {
            let tries: Vec<_> = (0..20)
                .map(|i| {
                    let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                    fire(h, scope, threshold, format!("{marker}-{i}"))
                })
                .collect();
            let mut fired = 0;
            for t in tries {
                fired += usize::from(t.await.unwrap());
            }
            assert_eq!(fired, 1, "{marker} fires once");
            // Exactly one e-mail went with it.
            let mails = db.find_text(&[marker]).await.unwrap();
            assert_eq!(
                mails
                    .iter()
                    .filter(|h| h.starts_with("email_outbox.subject"))
                    .count(),
                1,
                "{marker}: {mails:?}"
            );
        }
        // Another period fires again.
        assert!(
            !fire(
                one.clone(),
                gym_scope,
                BudgetThreshold::Warn80,
                "again".into()
            )
            .await
            .unwrap(),
            "already fired this period"
        );
        let dec = BudgetPeriod::parse("2026-12").unwrap();
        assert!(
            one.budget_alert_once(
                NewBudgetAlert {
                    scope: gym_scope,
                    period: dec,
                    threshold: BudgetThreshold::Warn80,
                    spent_pico: 1,
                    budget_micros: 1,
                },
                vec![],
            )
            .await
            .unwrap()
        );
        // A gym sees its alerts, not the platform's nor another gym's; the platform sees all.
        let seen = one.list_budget_alerts(&g.scope, page(50)).await.unwrap();
        assert_eq!(seen.total, 3);
        assert!(seen.items.iter().all(|a| a.scope == gym_scope));
        assert_eq!(
            one.list_budget_alerts(&other.scope, page(50))
                .await
                .unwrap()
                .total,
            0
        );
        let all = one
            .list_budget_alerts(&Scope::Platform, page(50))
            .await
            .unwrap();
        assert_eq!(all.total, 4);
        assert!(all.items.iter().any(|a| a.scope == BudgetScope::Platform
            && a.threshold == BudgetThreshold::Warn80
            && a.period == period));
    }

    pub async fn prices_apply_by_effective_date(db: &TestDb) {
        let s = db.store();
        // Seeded from the published table, nothing duplicated.
        let now = OffsetDateTime::now_utc();
        let seeded = s.price_table_at(now).await.unwrap();
        let default = PriceTable::default_2026();
        assert_eq!(seeded.iter().count(), default.iter().count());
        for (model, p) in default.iter() {
            assert_eq!(seeded.get(model), Some(p), "{model}");
        }
        let t1 = time::macros::datetime!(2027-01-01 0:00 UTC);
        let t2 = time::macros::datetime!(2027-02-01 0:00 UTC);
        let p1 = ModelPrice::text(1, 2, 3);
        let p2 = ModelPrice::text(10, 20, 30);
        let admin = Actor::cli();
        for (model, price, from) in [
            ("m-test", p1, t1),
            ("m-test", p2, t2),
            ("gpt-realtime-2.1-mini", p2, t2),
        ] {
            let e = s
                .set_model_price(
                    &Scope::Platform,
                    &admin,
                    NewModelPrice {
                        model: model.into(),
                        price,
                        effective_from: from,
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                (e.model.as_str(), e.price, e.effective_from),
                (model, price, from)
            );
        }
        let at = |t: OffsetDateTime| {
            let s = s.clone();
            async move { s.price_table_at(t).await.unwrap() }
        };
        assert_eq!(at(t1 - Duration::seconds(1)).await.get("m-test"), None);
        assert_eq!(at(t1).await.get("m-test"), Some(&p1));
        assert_eq!(
            at(t2 - Duration::microseconds(1)).await.get("m-test"),
            Some(&p1)
        );
        assert_eq!(at(t2).await.get("m-test"), Some(&p2));
        assert_eq!(at(t2 + Duration::days(400)).await.get("m-test"), Some(&p2));
        // A published price changes from its date only; dated snapshots follow their alias.
        assert_eq!(
            at(t2 - Duration::days(1))
                .await
                .get("gpt-realtime-2.1-mini"),
            default.get("gpt-realtime-2.1-mini")
        );
        assert_eq!(
            at(t2).await.get("gpt-realtime-2.1-mini-2027-01-15"),
            Some(&p2)
        );
        // Setting the same model and date again replaces it.
        let p3 = ModelPrice::per_minute(6_000_000_000);
        s.set_model_price(
            &Scope::Platform,
            &admin,
            NewModelPrice {
                model: "m-test".into(),
                price: p3,
                effective_from: t2,
            },
        )
        .await
        .unwrap();
        assert_eq!(at(t2).await.get("m-test"), Some(&p3));
        let listed = s.list_model_prices().await.unwrap();
        assert_eq!(
            listed.iter().filter(|e| e.model == "m-test").count(),
            2,
            "one row per model and date"
        );
        assert_eq!(
            listed.len(),
            default.iter().count() + 3,
            "seeded rows + m-test twice + one new date"
        );
        // Platform only, audited, validated.
        let f = franchise(&s).await;
        let g = gym_with_cap(&s, f, "A", 3).await;
        let tenant = s
            .set_model_price(
                &g.scope,
                &admin,
                NewModelPrice {
                    model: "m-test".into(),
                    price: p1,
                    effective_from: t1,
                },
            )
            .await;
        assert!(matches!(tenant, Err(StoreError::OutOfScope)), "{tenant:?}");
        let bad = s
            .set_model_price(
                &Scope::Platform,
                &admin,
                NewModelPrice {
                    model: "bad model".into(),
                    price: p1,
                    effective_from: t1,
                },
            )
            .await;
        assert!(
            matches!(bad, Err(StoreError::Invalid { field: "model", .. })),
            "{bad:?}"
        );
        let audit = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter {
                    action: Some("model_price.set".into()),
                    ..Default::default()
                },
                page(50),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 4);
    }

    pub async fn platform_settings_are_seeded_and_platform_only(db: &TestDb) {
        let s = db.store();
        assert_eq!(
            s.platform_settings().await.unwrap(),
            PlatformSettings::default()
        );
        let f = franchise(&s).await;
        let g = gym_with_cap(&s, f, "A", 3).await;
        let new = PlatformSettings {
            voice_session_cap: 7,
            monthly_budget_micros: 5_000_000,
            hard_stop: false,
            realtime_model: "gpt-realtime-2.1".into(),
            transcription_model: "whisper-1".into(),
        };
        assert!(matches!(
            s.set_platform_settings(&g.scope, &Actor::cli(), new.clone())
                .await,
            Err(StoreError::OutOfScope)
        ));
        assert_eq!(
            s.set_platform_settings(&Scope::Platform, &Actor::cli(), new.clone())
                .await
                .unwrap(),
            new
        );
        assert_eq!(s.platform_settings().await.unwrap(), new);
        assert_eq!(
            s.slot_usage(&g.scope, g.gym.id).await.unwrap().global_cap,
            7
        );
        let bad = s
            .set_platform_settings(
                &Scope::Platform,
                &Actor::cli(),
                PlatformSettings {
                    voice_session_cap: 0,
                    ..new.clone()
                },
            )
            .await;
        assert!(matches!(
            bad,
            Err(StoreError::Invalid {
                field: "voice_session_cap",
                ..
            })
        ));
        let audit = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter {
                    action: Some("platform_settings.update".into()),
                    ..Default::default()
                },
                page(5),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 1);
        assert_eq!(audit.items[0].details["after"]["voice_session_cap"], 7);
        // Migrating again keeps the edited settings and prices.
        s.migrate().await.unwrap();
        assert_eq!(s.platform_settings().await.unwrap(), new);
    }

    pub async fn lifecycle_turns_tool_calls_follow_ups_and_retention(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym_with_cap(&s, f, "A", 3).await;
        let b = gym_with_cap(&s, f, "B", 3).await;
        let me = InstanceId::new();
        let v = start(&s, &g, me, LEASE).await.unwrap();
        assert!(s.activate(&g.scope, v.id, me, "rtc_abc").await.unwrap());
        assert!(
            !s.activate(&g.scope, v.id, me, "rtc_abc").await.unwrap(),
            "once"
        );
        assert!(
            s.set_provider_session(&g.scope, v.id, "sess_1")
                .await
                .unwrap()
        );
        assert!(
            !s.set_provider_session(&g.scope, v.id, "sess_2")
                .await
                .unwrap()
        );
        let got = s.voice_session(&g.scope, v.id).await.unwrap();
        assert_eq!(got.status, SessionStatus::Active);
        assert_eq!(got.provider_call_id.as_deref(), Some("rtc_abc"));
        assert_eq!(got.provider_session_id.as_deref(), Some("sess_1"));
        // A provider call id belongs to one session.
        let v2 = start(&s, &g, me, LEASE).await.unwrap();
        assert!(matches!(
            s.activate(&g.scope, v2.id, me, "rtc_abc").await,
            Err(StoreError::Conflict {
                constraint: "voice_sessions_provider_call_id_key",
                ..
            })
        ));
        let month = BudgetPeriod::of(OffsetDateTime::now_utc());
        assert_eq!(
            s.month_to_date(&g.scope, g.gym.id, month)
                .await
                .unwrap()
                .sessions,
            1,
            "a session counts once it reached the provider"
        );

        // Hang-up from the dashboard reaches the owner on its next renewal.
        let staff = Actor::system();
        assert!(s.request_hangup(&g.scope, &staff, v.id).await.unwrap());
        assert_eq!(
            s.renew_lease(&g.scope, v.id, me, LEASE).await.unwrap(),
            Renewal::HangUpRequested
        );

        // Turns (HTML kept verbatim at `full`; escaping is the page's job) and tool calls.
        let t0 = OffsetDateTime::now_utc() - Duration::days(40);
        let html = "<script>alert('x')</script> & <b>bonjour</b>";
        let t = s
            .record_turn(
                &g.scope,
                v.id,
                NewTurn::new(StorageLevel::Full, TurnRole::Member, html, t0),
            )
            .await
            .unwrap();
        assert_eq!((t.seq, t.text.as_deref()), (1, Some(html)));
        let meta = s
            .record_turn(
                &g.scope,
                v.id,
                NewTurn::new(
                    StorageLevel::Metadata,
                    TurnRole::Member,
                    "secret",
                    OffsetDateTime::now_utc(),
                ),
            )
            .await
            .unwrap();
        assert_eq!((meta.seq, meta.text, meta.redacted), (2, None, false));
        let call = NewToolCall::new(
            StorageLevel::Full,
            "call_1",
            "get_class_schedule",
            serde_json::json!({"day": "monday"}),
            Ok(serde_json::json!({"classes": ["Yoga"]})),
            42,
            t0,
        );
        let tc = s
            .record_tool_call(&g.scope, v.id, call.clone())
            .await
            .unwrap();
        assert_eq!(
            (tc.name.as_str(), tc.duration_ms, tc.arguments.clone()),
            (
                "get_class_schedule",
                42,
                Some(serde_json::json!({"day": "monday"}))
            )
        );
        assert!(matches!(
            s.record_tool_call(&g.scope, v.id, call).await,
            Err(StoreError::Conflict {
                constraint: "tool_calls_session_call_key",
                ..
            })
        ));
        s.record_tool_call(
            &g.scope,
            v.id,
            NewToolCall::new(
                StorageLevel::Metadata,
                "call_2",
                "end_conversation",
                serde_json::json!({}),
                Err("already ending".into()),
                1,
                OffsetDateTime::now_utc(),
            ),
        )
        .await
        .unwrap();
        let calls = s.tool_calls(&g.scope, v.id).await.unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[1].arguments.clone(), calls[1].error.as_deref()),
            (None, Some("already ending"))
        );
        // Another gym sees none of it.
        assert!(matches!(
            s.voice_session(&b.scope, v.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.turns(&b.scope, v.id, page(10)).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.tool_calls(&b.scope, v.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.record_turn(
                &b.scope,
                v.id,
                NewTurn::new(StorageLevel::Full, TurnRole::Member, "x", t0)
            )
            .await,
            Err(StoreError::NotFound(_))
        ));

        // Retention: turns and tool calls older than the cut go, in bounded batches.
        let cut = OffsetDateTime::now_utc() - Duration::days(30);
        assert_eq!(
            s.purge_transcripts(&g.scope, g.gym.id, cut, 1)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            s.purge_transcripts(&g.scope, g.gym.id, cut, 1)
                .await
                .unwrap(),
            0
        );
        let left = s.turns(&g.scope, v.id, page(10)).await.unwrap();
        assert_eq!(left.items.iter().map(|t| t.seq).collect::<Vec<_>>(), [2]);
        assert_eq!(s.tool_calls(&g.scope, v.id).await.unwrap().len(), 1);

        // Follow-ups for staff.
        let fu = s
            .create_follow_up(
                &g.scope,
                &Actor::system(),
                g.gym.id,
                NewFollowUp {
                    member_id: Some(g.member.id),
                    session_id: Some(v.id),
                    reason: "  Rappeler pour l'abonnement  ".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (fu.status, fu.reason.as_str()),
            (FollowUpStatus::Open, "Rappeler pour l'abonnement")
        );
        assert!(matches!(
            s.create_follow_up(
                &b.scope,
                &Actor::system(),
                b.gym.id,
                NewFollowUp {
                    member_id: None,
                    session_id: Some(v.id),
                    reason: "x".into(),
                },
            )
            .await,
            Err(StoreError::NotFound(_))
        ));
        let open = s
            .list_follow_ups(&g.scope, g.gym.id, Some(FollowUpStatus::Open), page(10))
            .await
            .unwrap();
        assert_eq!(open.total, 1);
        let user = UserId::new();
        let done = s
            .resolve_follow_up(
                &g.scope,
                &Actor {
                    kind: "user",
                    user_id: Some(user),
                    ..Default::default()
                },
                g.gym.id,
                fu.id,
            )
            .await
            .unwrap();
        assert_eq!(
            (done.status, done.resolved_by),
            (FollowUpStatus::Done, Some(user))
        );
        assert!(done.resolved_at.is_some());
        let again = s
            .resolve_follow_up(&g.scope, &Actor::system(), g.gym.id, fu.id)
            .await
            .unwrap();
        assert_eq!(again, done, "resolving twice changes nothing");
        assert_eq!(
            s.list_follow_ups(&g.scope, g.gym.id, Some(FollowUpStatus::Open), page(10))
                .await
                .unwrap()
                .total,
            0
        );

        // Analyses: the last conversation's summary.
        assert_eq!(
            s.last_summary(&g.scope, g.gym.id, g.member.id)
                .await
                .unwrap(),
            None
        );
        s.put_session_analysis(
            &g.scope,
            v.id,
            NewSessionAnalysis {
                summary: "Premier échange".into(),
                sentiment: Sentiment::Positive,
                topics: vec!["yoga".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.end_session(
            &g.scope,
            v2.id,
            EndReason::StartFailed,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let latest = s
            .put_session_analysis(
                &g.scope,
                v2.id,
                NewSessionAnalysis {
                    summary: "Deuxième échange".into(),
                    sentiment: Sentiment::Neutral,
                    topics: vec![],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            s.last_summary(&g.scope, g.gym.id, g.member.id)
                .await
                .unwrap(),
            Some(latest)
        );

        // History filters.
        s.end_session(
            &g.scope,
            v.id,
            EndReason::StaffEnded,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        let by_reason = s
            .list_voice_sessions(
                &g.scope,
                g.gym.id,
                &SessionFilter {
                    end_reason: Some(EndReason::StaffEnded),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(
            by_reason.items.iter().map(|x| x.id).collect::<Vec<_>>(),
            [v.id]
        );
        let by_member = s
            .list_voice_sessions(
                &g.scope,
                g.gym.id,
                &SessionFilter {
                    member_id: Some(g.member.id),
                    from: Some(v.started_at),
                    to: Some(OffsetDateTime::now_utc() + Duration::minutes(1)),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(
            by_member.items.iter().map(|x| x.id).collect::<Vec<_>>(),
            [v2.id, v.id],
            "newest first"
        );
        let none = s
            .list_voice_sessions(
                &g.scope,
                g.gym.id,
                &SessionFilter {
                    to: Some(v.started_at),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(none.total, 0);
        assert!(
            !s.request_hangup(&g.scope, &staff, v.id).await.unwrap(),
            "not live"
        );
        let audit = s
            .list_audit(
                &g.scope,
                &AuditFilter {
                    action: Some("voice_session.hangup".into()),
                    ..Default::default()
                },
                page(5),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 1);
    }

    /// The history's orders: newest first (default), oldest first, most expensive first, each
    /// with the id as tiebreak so pages of one row never repeat or skip a session.
    pub async fn history_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym_with_cap(&s, f, "A", 10).await;
        let me = InstanceId::new();
        let mut ids = Vec::new();
        for (i, cost) in [500_u64, 900, 500].into_iter().enumerate() {
            let v = start(&s, &g, me, LEASE).await.unwrap();
            s.record_response(
                &g.scope,
                v.id,
                ResponseUsage {
                    response_id: format!("resp_{i}"),
                    at: OffsetDateTime::now_utc(),
                    usage: TokenUsage::default(),
                    cost_pico: cost,
                },
                None,
            )
            .await
            .unwrap();
            ids.push(v.id);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let order = |sort: SessionSort| {
            let s = s.clone();
            let scope = g.scope;
            let gym = g.gym.id;
            async move {
                let mut out = Vec::new();
                for off in 0..4 {
                    let p = s
                        .list_voice_sessions(
                            &scope,
                            gym,
                            &SessionFilter {
                                sort,
                                ..Default::default()
                            },
                            PageRequest::new(Some(1), Some(off)).unwrap(),
                        )
                        .await
                        .unwrap();
                    assert_eq!(p.total, 3);
                    out.extend(p.items.into_iter().map(|x| x.id));
                }
                out
            }
        };
        assert_eq!(order(SessionSort::StartedDesc).await, [c, b, a]);
        assert_eq!(order(SessionSort::Started).await, [a, b, c]);
        let (hi, lo) = if c > a { (c, a) } else { (a, c) };
        assert_eq!(order(SessionSort::CostDesc).await, [b, hi, lo]);
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
    global_cap_holds_across_two_instances,
    gym_cap_refuses_first_and_caps_are_reported,
    expired_leases_free_capacity_without_a_reaper,
    end_happens_exactly_once_under_concurrent_ends,
    metering_adds_exactly,
    demo_sessions_are_costed_apart,
    budget_alerts_fire_once_under_concurrency,
    prices_apply_by_effective_date,
    platform_settings_are_seeded_and_platform_only,
    lifecycle_turns_tool_calls_follow_ups_and_retention,
    history_sorts_are_stable,
);

/// PostgreSQL only: the slot lock orders lease renewals after an acquisition in progress.
mod postgres_slot_lock {
    use super::*;

    /// An acquisition holds the slot lock (here: a raw transaction holding it) and has counted
    /// a lease as expired; a renewal arriving meanwhile must wait for it and then find the lease
    /// expired, not revive it behind the acquisition's back (the slot may already be reused).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_renewal_waits_for_an_acquisition_and_cannot_revive_its_count() {
        let db = TestDb::postgres().await.unwrap();
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym_with_cap(&s, f, "A", 1).await;
        let me = InstanceId::new();
        let v = start(&s, &g, me, Duration::milliseconds(800))
            .await
            .unwrap();
        let mut acquiring = db.pg().unwrap().pool().begin().await.unwrap();
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PgStore::VOICE_SLOT_LOCK)
            .execute(&mut *acquiring)
            .await
            .unwrap();
        let renewal = {
            let (s, scope) = (s.clone(), g.scope);
            tokio::spawn(async move { s.renew_lease(&scope, v.id, me, LEASE).await.unwrap() })
        };
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert!(
            !renewal.is_finished(),
            "the renewal waits for the acquisition"
        );
        acquiring.commit().await.unwrap();
        assert_eq!(renewal.await.unwrap(), Renewal::Lost);
    }
}
