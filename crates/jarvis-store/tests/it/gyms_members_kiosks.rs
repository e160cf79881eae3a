//! Issue 5 storage cases (gym workflow, kiosk pairing and tokens, visits, facts, schedules, bulk
//! import, GDPR erasure), each run on SQLite and on PostgreSQL.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use time::OffsetDateTime;

type S = Arc<dyn Store>;

fn page(limit: u32, offset: u64) -> PageRequest {
    PageRequest::new(Some(limit), Some(offset)).unwrap()
}

async fn setup(s: &S, status: GymStatus) -> (Gym, Gym) {
    let a = Actor::cli();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: "F".into() })
        .await
        .unwrap();
    let mk = |n: &str| {
        NewGym {
            franchise_id: f.id,
            name: n.into(),
            address: None,
            timezone: "Europe/Paris".into(),
            locale: Locale::Fr,
            settings: serde_json::json!({}),
        }
        .validate()
        .unwrap()
    };
    let g1 = s
        .create_gym(&Scope::Platform, &a, mk("G1"), status)
        .await
        .unwrap();
    let g2 = s
        .create_gym(&Scope::Platform, &a, mk("G2"), GymStatus::Active)
        .await
        .unwrap();
    (g1, g2)
}

fn scope(g: &Gym) -> Scope {
    Scope::Gym {
        franchise: g.franchise_id,
        gym: g.id,
    }
}

fn member(badge: &str) -> NewMember {
    NewMember {
        badge_id: badge.into(),
        first_name: "Zoéquux".into(),
        last_name: "Marqueurnom".into(),
        email: Some("zoe.marker@example.com".into()),
        phone: Some("+33 6 99 88 77 66".into()),
        birth_date: time::Date::from_calendar_date(1991, time::Month::May, 17).ok(),
        preferred_language: Locale::En,
        membership_type: "premium".into(),
        membership_status: MembershipStatus::Active,
        membership_end_date: None,
        goals: vec!["marathon-marker-goal".into()],
        limitations: Some("knee-marker-note".into()),
        consent_voice: true,
        consent_transcripts: true,
    }
    .validate()
    .unwrap()
}

mod cases {
    use super::*;

    pub async fn gym_approval_workflow(s: S) {
        let a = Actor::cli();
        let (g, _) = setup(&s, GymStatus::Pending).await;
        let no_reason = s
            .review_gym(
                &Scope::Platform,
                &a,
                g.id,
                GymStatus::Pending,
                GymStatus::Rejected,
                None,
            )
            .await;
        assert!(
            matches!(
                no_reason,
                Err(StoreError::Invalid {
                    field: "reason",
                    ..
                })
            ),
            "{no_reason:?}"
        );
        let r = s
            .review_gym(
                &Scope::Platform,
                &a,
                g.id,
                GymStatus::Pending,
                GymStatus::Rejected,
                Some("missing insurance".into()),
            )
            .await
            .unwrap();
        assert_eq!(r.status, GymStatus::Rejected);
        assert_eq!(r.status_reason.as_deref(), Some("missing insurance"));
        let skip = s
            .review_gym(
                &Scope::Platform,
                &a,
                g.id,
                GymStatus::Rejected,
                GymStatus::Active,
                None,
            )
            .await;
        assert!(
            matches!(
                skip,
                Err(StoreError::Invalid {
                    field: "status",
                    ..
                })
            ),
            "a rejected gym must be resubmitted before approval: {skip:?}"
        );
        s.review_gym(
            &Scope::Platform,
            &a,
            g.id,
            GymStatus::Rejected,
            GymStatus::Pending,
            None,
        )
        .await
        .unwrap();
        let ok = s
            .review_gym(
                &Scope::Platform,
                &a,
                g.id,
                GymStatus::Pending,
                GymStatus::Active,
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            (ok.status, ok.status_reason.clone()),
            (GymStatus::Active, None)
        );
        assert_eq!(
            s.gym(&Scope::Platform, g.id).await.unwrap(),
            ok,
            "read back"
        );
        let audit = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter {
                    action: Some("gym.status".into()),
                    ..Default::default()
                },
                page(50, 0),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 3);
    }

    pub async fn kiosk_pairing_is_single_use_expiring_and_revocable(s: S) {
        let a = Actor::cli();
        let (g, other) = setup(&s, GymStatus::Active).await;
        let sc = scope(&g);
        let k = s
            .create_kiosk(
                &sc,
                &a,
                g.id,
                NewKiosk {
                    name: "Entrée".into(),
                },
            )
            .await
            .unwrap();
        let soon = OffsetDateTime::now_utc() + time::Duration::minutes(15);
        s.set_pairing_code(&sc, &a, g.id, k.id, "code-hash-1", soon)
            .await
            .unwrap();
        assert!(matches!(
            s.pair_kiosk("wrong-hash", "token-hash-1").await,
            Err(StoreError::NotFound(_))
        ));
        let id = s.pair_kiosk("code-hash-1", "token-hash-1").await.unwrap();
        assert_eq!((id.kiosk.id, id.gym.id), (k.id, g.id));
        assert_eq!(id.kiosk.status, KioskStatus::Paired);
        assert!(
            matches!(
                s.pair_kiosk("code-hash-1", "token-hash-2").await,
                Err(StoreError::NotFound(_))
            ),
            "a code works once"
        );
        assert_eq!(
            s.kiosk_by_token("token-hash-1").await.unwrap().kiosk.id,
            k.id
        );

        // Expired codes are refused (and cleared).
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        s.set_pairing_code(&sc, &a, g.id, k.id, "code-hash-old", past)
            .await
            .unwrap();
        assert!(matches!(
            s.pair_kiosk("code-hash-old", "token-hash-3").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.kiosk_by_token("token-hash-1").await.unwrap().kiosk.id,
            k.id,
            "a failed exchange leaves the paired device alone"
        );

        // Heartbeat, seen from the dashboard.
        let hb = Heartbeat {
            app_version: "1.2.3".into(),
            uptime_secs: 42,
            mic_status: MicStatus::Ok,
            network_quality: NetworkQuality::Good,
            voice_latency_ms: None,
        };
        let after = s.record_heartbeat(&id, hb.clone()).await.unwrap();
        assert_eq!(after.app_version.as_deref(), Some("1.2.3"));
        assert_eq!(after.mic_status, Some(MicStatus::Ok));
        assert!(after.last_seen_at.is_some());

        // Re-pairing replaces the token: the old one dies at once.
        s.set_pairing_code(&sc, &a, g.id, k.id, "code-hash-2", soon)
            .await
            .unwrap();
        s.pair_kiosk("code-hash-2", "token-hash-4").await.unwrap();
        assert!(matches!(
            s.kiosk_by_token("token-hash-1").await,
            Err(StoreError::NotFound(_))
        ));
        // Revocation takes effect on the next lookup.
        let r = s.revoke_kiosk(&sc, &a, g.id, k.id).await.unwrap();
        assert_eq!(r.status, KioskStatus::Revoked);
        assert!(matches!(
            s.kiosk_by_token("token-hash-4").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            s.record_heartbeat(&id, hb).await.is_err(),
            "a revoked kiosk cannot heartbeat"
        );
        // Another gym's scope cannot touch this kiosk.
        assert!(matches!(
            s.revoke_kiosk(&scope(&other), &a, g.id, k.id).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn batched_heartbeats_only_move_presence_forward(s: S) {
        let a = Actor::cli();
        let (g, other) = setup(&s, GymStatus::Active).await;
        let paired = |gym: Gym, name: &'static str, token: &'static str| {
            let s = s.clone();
            let a = a.clone();
            async move {
                let sc = scope(&gym);
                let k = s
                    .create_kiosk(&sc, &a, gym.id, NewKiosk { name: name.into() })
                    .await
                    .unwrap();
                let soon = OffsetDateTime::now_utc() + time::Duration::minutes(15);
                let code = format!("code-{token}");
                s.set_pairing_code(&sc, &a, gym.id, k.id, &code, soon)
                    .await
                    .unwrap();
                s.pair_kiosk(&code, token).await.unwrap().kiosk
            }
        };
        let k1 = paired(g.clone(), "K1", "hb-token-1").await;
        let k2 = paired(other.clone(), "K2", "hb-token-2").await;
        let k3 = paired(g.clone(), "K3", "hb-token-3").await;
        s.revoke_kiosk(&scope(&g), &a, g.id, k3.id).await.unwrap();
        let hb = |v: &str| Heartbeat {
            app_version: v.into(),
            uptime_secs: 7,
            mic_status: MicStatus::Ok,
            network_quality: NetworkQuality::Fair,
            voice_latency_ms: None,
        };
        let pending = |k: &Kiosk, v: &str, at: OffsetDateTime| PendingHeartbeat {
            kiosk: k.id,
            gym: k.gym_id,
            franchise: k.franchise_id,
            heartbeat: hb(v),
            received_at: at,
            heard_latency: vec![],
        };
        // A whole second and half a second later: SQLite compares them as text.
        let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let t1 = t0 + time::Duration::milliseconds(500);
        let seen = |k: Kiosk| {
            let s = s.clone();
            async move { s.kiosk(&Scope::Platform, k.gym_id, k.id).await.unwrap() }
        };

        // One batch across two gyms (two tenant contexts in one transaction); the revoked
        // kiosk is skipped without failing the others.
        let n = s
            .record_heartbeats(&[
                pending(&k1, "1.0", t1),
                pending(&k3, "1.0", t1),
                pending(&k2, "1.0", t1),
            ])
            .await
            .unwrap();
        assert_eq!(n, 2);
        let v1 = seen(k1.clone()).await;
        assert_eq!(v1.last_seen_at, Some(t1));
        assert_eq!(v1.app_version.as_deref(), Some("1.0"));
        assert_eq!(v1.network_quality, Some(NetworkQuality::Fair));
        assert_eq!(seen(k2.clone()).await.last_seen_at, Some(t1));
        assert_eq!(seen(k3.clone()).await.last_seen_at, None);

        // Another instance flushing an older heartbeat later: latest wins.
        assert_eq!(
            s.record_heartbeats(&[pending(&k1, "0.9", t0)])
                .await
                .unwrap(),
            0
        );
        let v1 = seen(k1.clone()).await;
        assert_eq!(
            (v1.last_seen_at, v1.app_version.as_deref()),
            (Some(t1), Some("1.0"))
        );
        let t2 = t1 + time::Duration::seconds(30);
        assert_eq!(
            s.record_heartbeats(&[pending(&k1, "1.1", t2)])
                .await
                .unwrap(),
            1
        );
        assert_eq!(seen(k1.clone()).await.last_seen_at, Some(t2));

        // A heartbeat claiming another gym than its kiosk's writes nothing.
        let mut wrong = pending(&k2, "x", t2);
        wrong.gym = g.id;
        assert_eq!(s.record_heartbeats(&[wrong]).await.unwrap(), 0);
        assert_eq!(seen(k2).await.last_seen_at, Some(t1));
        assert_eq!(s.record_heartbeats(&[]).await.unwrap(), 0);
    }

    pub async fn pairing_never_activates_a_gym(s: S) {
        let a = Actor::cli();
        let (g, _) = setup(&s, GymStatus::Pending).await;
        let sc = scope(&g);
        let k = s
            .create_kiosk(&sc, &a, g.id, NewKiosk { name: "K".into() })
            .await
            .unwrap();
        let soon = OffsetDateTime::now_utc() + time::Duration::minutes(15);
        s.set_pairing_code(&sc, &a, g.id, k.id, "pending-code", soon)
            .await
            .unwrap();
        let r = s.pair_kiosk("pending-code", "t").await;
        assert!(
            matches!(
                r,
                Err(StoreError::Invalid {
                    field: "gym_inactive",
                    ..
                })
            ),
            "{r:?}"
        );
        assert_eq!(
            s.gym(&Scope::Platform, g.id).await.unwrap().status,
            GymStatus::Pending,
            "provisioning never approves a gym"
        );
        s.review_gym(
            &Scope::Platform,
            &a,
            g.id,
            GymStatus::Pending,
            GymStatus::Active,
            None,
        )
        .await
        .unwrap();
        s.pair_kiosk("pending-code", "t")
            .await
            .expect("the unused code works once the gym is approved");
    }

    pub async fn kiosks_move_and_rename_within_the_franchise(s: S) {
        let a = Actor::cli();
        let (g, g2) = setup(&s, GymStatus::Active).await;
        let k = s
            .create_kiosk(&Scope::Platform, &a, g.id, NewKiosk { name: "A".into() })
            .await
            .unwrap();
        let moved = s
            .update_kiosk(
                &Scope::Platform,
                &a,
                g.id,
                k.id,
                KioskPatch {
                    name: Some("Accueil".into()),
                    gym_id: Some(g2.id),
                },
            )
            .await
            .unwrap();
        assert_eq!((moved.name.as_str(), moved.gym_id), ("Accueil", g2.id));
        assert!(s.kiosk(&Scope::Platform, g.id, k.id).await.is_err());
        assert_eq!(
            s.kiosk(&Scope::Platform, g2.id, k.id).await.unwrap().name,
            "Accueil"
        );
        let f2 = s
            .create_franchise(&Scope::Platform, &a, NewFranchise { name: "F2".into() })
            .await
            .unwrap();
        let foreign = s
            .create_gym(
                &Scope::Platform,
                &a,
                NewGym {
                    franchise_id: f2.id,
                    name: "X".into(),
                    address: None,
                    timezone: "UTC".into(),
                    locale: Locale::En,
                    settings: serde_json::json!({}),
                },
                GymStatus::Active,
            )
            .await
            .unwrap();
        let r = s
            .update_kiosk(
                &Scope::Platform,
                &a,
                g2.id,
                k.id,
                KioskPatch {
                    name: None,
                    gym_id: Some(foreign.id),
                },
            )
            .await;
        assert!(
            matches!(
                r,
                Err(StoreError::Invalid {
                    field: "gym_id",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    pub async fn members_by_ids_reads_one_gyms_members(s: S) {
        let a = Actor::cli();
        let (g, other) = setup(&s, GymStatus::Active).await;
        let (sc, osc) = (scope(&g), scope(&other));
        let m1 = s.create_member(&sc, &a, g.id, member("B1")).await.unwrap();
        let m2 = s.create_member(&sc, &a, g.id, member("B2")).await.unwrap();
        let theirs = s
            .create_member(&osc, &a, other.id, member("B1"))
            .await
            .unwrap();
        let mut got: Vec<MemberId> = s
            .members_by_ids(&sc, g.id, &[m2.id, m1.id, m2.id, theirs.id])
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        got.sort();
        let mut want = vec![m1.id, m2.id];
        want.sort();
        assert_eq!(
            got, want,
            "duplicates read once, another gym's member left out"
        );
        assert!(s.members_by_ids(&sc, g.id, &[]).await.unwrap().is_empty());
        // Another gym's scope reads none of this gym's members, even by id.
        assert!(
            s.members_by_ids(&osc, g.id, &[m1.id])
                .await
                .map(|v| v.is_empty())
                .unwrap_or(true)
        );
        // More ids than one statement binds.
        let many: Vec<MemberId> = (0..1200).map(|_| MemberId::new()).chain([m1.id]).collect();
        let found = s.members_by_ids(&sc, g.id, &many).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].badge_id, "B1");
    }

    pub async fn visits_and_facts(s: S) {
        let a = Actor::cli();
        let (g, other) = setup(&s, GymStatus::Active).await;
        let sc = scope(&g);
        let m = s.create_member(&sc, &a, g.id, member("V1")).await.unwrap();
        s.record_visit(&sc, g.id, m.id, None).await.unwrap();
        s.record_visit(&sc, g.id, m.id, None).await.unwrap();
        let after = s.member(&sc, g.id, m.id).await.unwrap();
        assert_eq!(after.visit_count, 2);
        assert!(after.last_visit_at.is_some());
        let visits = s.list_visits(&sc, g.id, m.id, page(10, 0)).await.unwrap();
        assert_eq!(visits.total, 2);
        assert!(
            s.record_visit(&scope(&other), g.id, m.id, None)
                .await
                .is_err(),
            "no visits across gyms"
        );

        let f = s
            .add_fact(
                &sc,
                &a,
                g.id,
                m.id,
                NewMemberFact {
                    note: "prefers mornings".into(),
                    source: FactSource::Assistant,
                }
                .validate()
                .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(f.source, FactSource::Assistant);
        let facts = s.list_facts(&sc, g.id, m.id, page(10, 0)).await.unwrap();
        assert_eq!(facts.items, vec![f.clone()]);
        assert!(matches!(
            s.list_facts(&scope(&other), g.id, m.id, page(10, 0)).await,
            Err(StoreError::NotFound(_))
        ));
        s.delete_fact(&sc, &a, g.id, m.id, f.id).await.unwrap();
        assert!(matches!(
            s.delete_fact(&sc, &a, g.id, m.id, f.id).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn class_schedules_crud(s: S) {
        let a = Actor::cli();
        let (g, other) = setup(&s, GymStatus::Active).await;
        let sc = scope(&g);
        let mk = |name: &str, day: Weekday, at: &str| {
            NewClassSchedule {
                name: name.into(),
                coach: Some("Léa".into()),
                room: Some("Studio 1".into()),
                weekday: Some(day),
                date: None,
                start_time: at.into(),
                duration_minutes: 45,
                capacity: 12,
                recurring: true,
            }
            .validate()
            .unwrap()
        };
        let wed = s
            .create_class(&sc, &a, g.id, mk("Pilates", Weekday::Wed, "09:00"))
            .await
            .unwrap();
        let mon = s
            .create_class(&sc, &a, g.id, mk("Yoga", Weekday::Mon, "18:30"))
            .await
            .unwrap();
        let list = s.list_classes(&sc, g.id, None, page(50, 0)).await.unwrap();
        let names: Vec<&str> = list.items.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Yoga", "Pilates"], "Monday first");
        assert_eq!(s.class(&sc, g.id, mon.id).await.unwrap(), mon);
        let only_wed = s
            .list_classes(&sc, g.id, Some(Weekday::Wed), page(50, 0))
            .await
            .unwrap();
        assert_eq!(only_wed.total, 1);
        let once = NewClassSchedule {
            recurring: false,
            weekday: None,
            date: time::Date::from_calendar_date(2026, time::Month::December, 24).ok(),
            ..mk("Xmas HIIT", Weekday::Mon, "10:00")
        };
        let updated = s
            .update_class(&sc, &a, g.id, wed.id, once.validate().unwrap())
            .await
            .unwrap();
        assert_eq!(
            (updated.recurring, updated.weekday, updated.name.as_str()),
            (false, None, "Xmas HIIT")
        );
        assert!(matches!(
            s.class(&scope(&other), g.id, mon.id).await,
            Err(StoreError::NotFound(_))
        ));
        s.delete_class(&sc, &a, g.id, mon.id).await.unwrap();
        assert_eq!(
            s.list_classes(&sc, g.id, None, page(50, 0))
                .await
                .unwrap()
                .total,
            1
        );
    }

    pub async fn bulk_import_is_all_or_nothing_and_fast(s: S) {
        let a = Actor::cli();
        let (g, _) = setup(&s, GymStatus::Active).await;
        let sc = scope(&g);
        s.create_member(&sc, &a, g.id, member("TAKEN"))
            .await
            .unwrap();
        let rows: Vec<NewMember> = (0..100_000)
            .map(|i| NewMember {
                email: Some(format!("m{i}@example.com")),
                ..member(&format!("B{i:06}"))
            })
            .collect();
        // One conflicting badge at the very end: nothing of the 100k may stay.
        let mut bad = rows[..2000].to_vec();
        bad.push(member("TAKEN"));
        let noop = |_: u64| {};
        let r = s
            .insert_members_bulk(&sc, &a, g.id, None, &bad, &noop)
            .await;
        assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
        assert_eq!(s.member_badges(&sc, g.id).await.unwrap().len(), 1);

        let seen = std::sync::atomic::AtomicU64::new(0);
        let progress = |n: u64| seen.store(n, std::sync::atomic::Ordering::Relaxed);
        let started = std::time::Instant::now();
        let n = s
            .insert_members_bulk(&sc, &a, g.id, None, &rows, &progress)
            .await
            .unwrap();
        let took = started.elapsed();
        eprintln!(
            "bulk insert of 100000 members took {took:?} on {:?}",
            s.backend()
        );
        assert_eq!(n, 100_000);
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 100_000);
        let listed = s
            .list_members(
                &sc,
                g.id,
                &MemberFilter {
                    q: Some("m99999@".into()),
                    ..Default::default()
                },
                page(10, 0),
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 1);
        assert_eq!(listed.items[0].badge_id, "B099999");
        assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    }

    pub async fn gdpr_erase_leaves_no_personal_data_anywhere(db: &TestDb) {
        let s = db.store();
        let a = Actor::cli();
        let (g, _) = setup(&s, GymStatus::Active).await;
        let sc = scope(&g);
        let m = s
            .create_member(&sc, &a, g.id, member("GDPR-BADGE-7"))
            .await
            .unwrap();
        let keep = s
            .create_member(
                &sc,
                &a,
                g.id,
                NewMember {
                    first_name: "Keeper".into(),
                    last_name: "Other".into(),
                    email: None,
                    phone: None,
                    birth_date: None,
                    goals: vec![],
                    limitations: None,
                    ..member("KEEP-1")
                },
            )
            .await
            .unwrap();
        s.record_visit(&sc, g.id, m.id, None).await.unwrap();
        s.record_visit(&sc, g.id, keep.id, None).await.unwrap();
        s.add_fact(
            &sc,
            &a,
            g.id,
            m.id,
            NewMemberFact {
                note: "fact-marker-secret".into(),
                source: FactSource::Staff,
            },
        )
        .await
        .unwrap();
        s.update_member(
            &sc,
            &a,
            g.id,
            m.id,
            MemberPatch {
                last_name: Some("Marqueurnom".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

        // Voice data: a conversation with the member's words, a tool call whose arguments and
        // result hold their data, a follow-up and an analysis naming them; and a conversation of
        // the kept member, which must survive.
        let me = InstanceId::new();
        let now = OffsetDateTime::now_utc();
        let new_session = |member: MemberId| NewVoiceSession {
            member_id: member,
            kiosk_id: None,
            owner: me,
            lease: time::Duration::minutes(1),
            model: "gpt-realtime-2.1-mini".into(),
            transcription_model: None,
            language: Locale::Fr,
            max_duration_secs: 600,
        };
        let v = s
            .start_session(&sc, g.id, new_session(m.id))
            .await
            .unwrap()
            .unwrap();
        s.activate(&sc, v.id, me, "rtc_gdpr").await.unwrap();
        s.record_transcription(
            &sc,
            v.id,
            TranscriptionUsage {
                at: now,
                billing: TranscriptionBilling::Duration { millis: 2_000 },
                cost_pico: 200_000_000,
            },
            Some(NewTurn::new(
                StorageLevel::Full,
                TurnRole::Member,
                "Je suis Zoéquux Marqueurnom, zoe.marker@example.com, turn-marker-secret",
                now,
            )),
        )
        .await
        .unwrap();
        s.record_response(
            &sc,
            v.id,
            ResponseUsage {
                response_id: "resp_gdpr".into(),
                at: now,
                usage: jarvis_core::cost::TokenUsage::default(),
                cost_pico: 1_000_000,
            },
            Some(NewTurn::new(
                StorageLevel::Full,
                TurnRole::Assistant,
                "Bonjour Zoéquux !",
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
                "call_gdpr",
                "add_member_fact",
                serde_json::json!({"note": "tool-marker-arg", "phone": "+33 6 99 88 77 66"}),
                Ok(serde_json::json!({"member": "Marqueurnom"})),
                5,
                now,
            ),
        )
        .await
        .unwrap();
        s.create_follow_up(
            &sc,
            &Actor::system(),
            g.id,
            NewFollowUp {
                member_id: Some(m.id),
                session_id: Some(v.id),
                reason: "followup-marker: call Zoéquux back".into(),
            },
        )
        .await
        .unwrap();
        s.put_session_analysis(
            &sc,
            v.id,
            NewSessionAnalysis {
                summary: "analysis-marker about Marqueurnom".into(),
                sentiment: Sentiment::Positive,
                topics: vec!["marathon-marker-goal".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.end_session(&sc, v.id, EndReason::MemberEnded, now)
            .await
            .unwrap();
        let kept = s
            .start_session(&sc, g.id, new_session(keep.id))
            .await
            .unwrap()
            .unwrap();
        s.record_turn(
            &sc,
            kept.id,
            NewTurn::new(StorageLevel::Full, TurnRole::Member, "Keeper talks", now),
        )
        .await
        .unwrap();

        let export = s.export_member(&sc, &a, g.id, m.id).await.unwrap();
        assert_eq!(export.member.id, m.id);
        assert_eq!(export.facts.len(), 1);
        assert_eq!(export.visits.len(), 1);
        assert_eq!(
            export
                .voice_sessions
                .iter()
                .map(|x| x.id)
                .collect::<Vec<_>>(),
            [v.id]
        );
        assert_eq!(export.turns.len(), 2);
        assert!(export.turns.iter().all(|t| t.session_id == v.id));
        assert_eq!(export.tool_calls.len(), 1);
        assert_eq!(export.analyses.len(), 1);
        assert_eq!(export.follow_ups.len(), 1);

        let erased = s.erase_member(&sc, &a, g.id, m.id).await.unwrap();
        assert_eq!((erased.facts_deleted, erased.visits_anonymized), (1, 1));
        assert_eq!(
            (
                erased.sessions_anonymized,
                erased.turns_deleted,
                erased.tool_calls_deleted,
                erased.analyses_deleted,
                erased.follow_ups_deleted
            ),
            (1, 2, 1, 1, 1)
        );
        // The session stays for cost accounting, without the person and without any text.
        let anon = s.voice_session(&sc, v.id).await.unwrap();
        assert_eq!(anon.member_id, None);
        assert_eq!(anon.cost_pico, 201_000_000);
        assert_eq!(s.turns(&sc, v.id, page(10, 0)).await.unwrap().total, 0);
        assert!(s.tool_calls(&sc, v.id).await.unwrap().is_empty());
        assert_eq!(
            s.month_to_date(&sc, g.id, jarvis_core::cost::BudgetPeriod::of(now))
                .await
                .unwrap()
                .cost_pico,
            201_000_000,
            "the spend stays"
        );
        assert_eq!(
            s.turns(&sc, kept.id, page(10, 0)).await.unwrap().total,
            1,
            "others' conversations untouched"
        );
        assert!(matches!(
            s.member(&sc, g.id, m.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.member(&sc, g.id, keep.id).await.unwrap().visit_count,
            1,
            "others untouched"
        );

        let markers = [
            "Zoéquux",
            "Marqueurnom",
            "zoe.marker@example.com",
            "99 88 77 66",
            "1991-05-17",
            "GDPR-BADGE-7",
            "marathon-marker-goal",
            "knee-marker-note",
            "fact-marker-secret",
            "turn-marker-secret",
            "tool-marker-arg",
            "followup-marker",
            "analysis-marker",
        ];
        let hits = db.find_text(&markers).await.unwrap();
        assert!(hits.is_empty(), "personal data left behind: {hits:?}");
        // The scan itself must be able to fail: the kept member's name is found.
        let control = db.find_text(&["Keeper"]).await.unwrap();
        assert!(
            control.iter().any(|h| h.starts_with("members.")),
            "{control:?}"
        );
        assert!(
            control.iter().any(|h| h.starts_with("conversation_turns.")),
            "{control:?}"
        );
        // Deleting a member (not an erasure request) takes their conversations too: nothing
        // would find them afterwards. The session stays, unlinked, for costs.
        s.delete_member(&sc, &a, g.id, keep.id).await.unwrap();
        let control = db.find_text(&["Keeper"]).await.unwrap();
        assert!(control.is_empty(), "{control:?}");
        assert_eq!(s.voice_session(&sc, kept.id).await.unwrap().member_id, None);
        let audit = s
            .list_audit(
                &sc,
                &AuditFilter {
                    action: Some("member.gdpr_erase".into()),
                    ..Default::default()
                },
                page(5, 0),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 1, "erasure is audited");
    }
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(db.store()).await;
                }
            )*
            #[tokio::test]
            async fn gdpr_erase_leaves_no_personal_data_anywhere() {
                let db = super::TestDb::sqlite().await.unwrap();
                super::cases::gdpr_erase_leaves_no_personal_data_anywhere(&db).await;
            }
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::cases::$case(db.store()).await;
                }
            )*
            #[tokio::test]
            async fn gdpr_erase_leaves_no_personal_data_anywhere() {
                let Some(db) = super::TestDb::postgres().await else { return };
                super::cases::gdpr_erase_leaves_no_personal_data_anywhere(&db).await;
            }
        }
    };
}

cases!(
    gym_approval_workflow,
    kiosk_pairing_is_single_use_expiring_and_revocable,
    batched_heartbeats_only_move_presence_forward,
    pairing_never_activates_a_gym,
    kiosks_move_and_rename_within_the_franchise,
    visits_and_facts,
    members_by_ids_reads_one_gyms_members,
    class_schedules_crud,
    bulk_import_is_all_or_nothing_and_fast,
);
