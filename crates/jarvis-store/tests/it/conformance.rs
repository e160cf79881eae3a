//! One conformance suite, generic over the storage traits, run against SQLite and PostgreSQL.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;

type S = Arc<dyn Store>;

fn actor() -> Actor {
    Actor::cli()
}

fn page(limit: u32, offset: u64) -> PageRequest {
    PageRequest::new(Some(limit), Some(offset)).unwrap()
}

async fn franchise(s: &S, name: &str) -> Franchise {
    s.create_franchise(
        &Scope::Platform,
        &actor(),
        NewFranchise { name: name.into() }.validate().unwrap(),
    )
    .await
    .unwrap()
}

async fn gym(s: &S, f: FranchiseId, name: &str) -> Gym {
    let new = NewGym {
        franchise_id: f,
        name: name.into(),
        address: Some("1 rue du Sport".into()),
        timezone: "Europe/Paris".into(),
        locale: Locale::Fr,
        settings: serde_json::json!({"voice_session_cap": 3}),
    };
    s.create_gym(
        &Scope::Platform,
        &actor(),
        new.validate().unwrap(),
        GymStatus::Active,
    )
    .await
    .unwrap()
}

fn new_member(badge: &str, first: &str, last: &str) -> NewMember {
    NewMember {
        badge_id: badge.into(),
        first_name: first.into(),
        last_name: last.into(),
        email: Some(format!(
            "{}.{}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        phone: None,
        birth_date: None,
        preferred_language: Locale::Fr,
        membership_type: "standard".into(),
        membership_status: MembershipStatus::Active,
        membership_end_date: None,
        goals: vec!["run 10k".into()],
        limitations: None,
        consent_voice: true,
        consent_transcripts: false,
    }
}

fn gym_scope(g: &Gym) -> Scope {
    Scope::Gym {
        franchise: g.franchise_id,
        gym: g.id,
    }
}

mod cases {
    use super::*;

    pub async fn migrations_are_current(s: S) {
        let all = s.migrations().await.unwrap();
        assert!(!all.is_empty());
        assert!(all.iter().all(|m| m.applied), "{all:?}");
        assert!(
            s.migrate().await.unwrap().is_empty(),
            "a second migrate applies nothing"
        );
        s.ping().await.unwrap();
    }

    pub async fn franchise_crud(s: S) {
        let f = franchise(&s, "Atlas Fitness").await;
        assert_eq!(
            s.franchise(&Scope::Platform, f.id).await.unwrap(),
            f,
            "read back equals written"
        );
        let dup = s
            .create_franchise(
                &Scope::Platform,
                &actor(),
                NewFranchise {
                    name: "Atlas Fitness".into(),
                },
            )
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict { field: "name", .. })),
            "{dup:?}"
        );
        franchise(&s, "Zen Gyms").await;
        let found = s
            .list_franchises(
                &Scope::Platform,
                &FranchiseFilter {
                    q: Some("atlas".into()),
                    ..Default::default()
                },
                page(10, 0),
            )
            .await
            .unwrap();
        assert_eq!(found.total, 1);
        assert_eq!(found.items[0].id, f.id);
        let renamed = s
            .update_franchise(
                &Scope::Platform,
                &actor(),
                f.id,
                FranchisePatch {
                    name: Some("Atlas Group".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(renamed.name, "Atlas Group");
        s.archive_franchise(&Scope::Platform, &actor(), f.id)
            .await
            .unwrap();
        let listed = s
            .list_franchises(&Scope::Platform, &FranchiseFilter::default(), page(10, 0))
            .await
            .unwrap();
        assert_eq!(listed.total, 1, "archived franchises are hidden by default");
        let with_archived = s
            .list_franchises(
                &Scope::Platform,
                &FranchiseFilter {
                    include_archived: true,
                    ..Default::default()
                },
                page(10, 0),
            )
            .await
            .unwrap();
        assert_eq!(with_archived.total, 2);
        // Only the platform creates franchises.
        let scoped = Scope::Franchise { franchise: f.id };
        let denied = s
            .create_franchise(
                &scoped,
                &actor(),
                NewFranchise {
                    name: "Sneaky".into(),
                },
            )
            .await;
        assert!(matches!(denied, Err(StoreError::OutOfScope)));
    }

    pub async fn gyms_stay_in_their_franchise(s: S) {
        let fa = franchise(&s, "A").await;
        let fb = franchise(&s, "B").await;
        let a1 = gym(&s, fa.id, "A One").await;
        let _a2 = gym(&s, fa.id, "A Two").await;
        let b1 = gym(&s, fb.id, "B One").await;
        assert_eq!(a1.settings["voice_session_cap"], 3);
        let sa = Scope::Franchise { franchise: fa.id };
        let listed = s
            .list_gyms(&sa, &GymFilter::default(), page(50, 0))
            .await
            .unwrap();
        assert_eq!(listed.total, 2);
        assert!(listed.items.iter().all(|g| g.franchise_id == fa.id));
        assert!(matches!(
            s.gym(&sa, b1.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.gym(&gym_scope(&a1), b1.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.list_gyms(&gym_scope(&a1), &GymFilter::default(), page(50, 0))
                .await
                .unwrap()
                .total,
            1
        );
        // A franchise owner cannot create a gym in another franchise.
        let foreign = NewGym {
            franchise_id: fb.id,
            name: "Mine now".into(),
            address: None,
            timezone: "UTC".into(),
            locale: Locale::En,
            settings: serde_json::json!({}),
        };
        assert!(matches!(
            s.create_gym(&sa, &actor(), foreign.clone(), GymStatus::Pending)
                .await,
            Err(StoreError::OutOfScope)
        ));
        let unknown = NewGym {
            franchise_id: FranchiseId::new(),
            ..foreign.clone()
        };
        assert!(matches!(
            s.create_gym(&Scope::Platform, &actor(), unknown, GymStatus::Active)
                .await,
            Err(StoreError::Invalid {
                field: "franchise_id",
                ..
            })
        ));
        let dup = NewGym {
            franchise_id: fa.id,
            name: "A One".into(),
            ..foreign
        };
        assert!(matches!(
            s.create_gym(&Scope::Platform, &actor(), dup, GymStatus::Active)
                .await,
            Err(StoreError::Conflict { field: "name", .. })
        ));
        // Updates and status changes are scoped too.
        let patch = GymPatch {
            name: Some("A Uno".into()),
            address: Some(None),
            ..Default::default()
        };
        let updated = s
            .update_gym(&sa, &actor(), a1.id, patch.clone())
            .await
            .unwrap();
        assert_eq!(updated.name, "A Uno");
        assert_eq!(updated.address, None);
        assert!(matches!(
            s.update_gym(&sa, &actor(), b1.id, patch).await,
            Err(StoreError::NotFound(_))
        ));
        let archived = s
            .set_gym_status(&Scope::Platform, &actor(), b1.id, GymStatus::Archived)
            .await
            .unwrap();
        assert_eq!(archived.status, GymStatus::Archived);
        assert_eq!(
            s.list_gyms(&Scope::Platform, &GymFilter::default(), page(50, 0))
                .await
                .unwrap()
                .total,
            2
        );
        let only_archived = GymFilter {
            status: Some(GymStatus::Archived),
            ..Default::default()
        };
        assert_eq!(
            s.list_gyms(&Scope::Platform, &only_archived, page(50, 0))
                .await
                .unwrap()
                .total,
            1
        );
    }

    pub async fn member_crud_and_badges(s: S) {
        let f = franchise(&s, "F").await;
        let g1 = gym(&s, f.id, "G1").await;
        let g2 = gym(&s, f.id, "G2").await;
        let sc = gym_scope(&g1);
        let m = s
            .create_member(
                &sc,
                &actor(),
                g1.id,
                new_member("B-001", "Élodie", "Martin").validate().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(m.gym_id, g1.id);
        assert_eq!(m.franchise_id, f.id);
        assert_eq!(m.first_name, "Élodie");
        assert_eq!(m.goals, vec!["run 10k".to_string()]);
        assert_eq!(
            s.member(&sc, g1.id, m.id).await.unwrap(),
            m,
            "read back equals written"
        );
        assert_eq!(
            s.member_by_badge(&sc, g1.id, "B-001").await.unwrap().id,
            m.id
        );

        let dup = s
            .create_member(&sc, &actor(), g1.id, new_member("B-001", "Paul", "Durand"))
            .await;
        match dup {
            Err(StoreError::Conflict { field, message, .. }) => {
                assert_eq!(field, "badge_id");
                assert!(
                    message.contains("B-001"),
                    "the message names the badge: {message}"
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        // The same badge is fine in another gym.
        s.create_member(
            &gym_scope(&g2),
            &actor(),
            g2.id,
            new_member("B-001", "Paul", "Durand"),
        )
        .await
        .unwrap();

        let patch: MemberPatch = serde_json::from_value(serde_json::json!({
            "email": null, "membership_status": "frozen", "goals": ["swim"], "limitations": "knee"
        }))
        .unwrap();
        let u = s
            .update_member(&sc, &actor(), g1.id, m.id, patch.validate().unwrap())
            .await
            .unwrap();
        assert_eq!(u.email, None);
        assert_eq!(u.membership_status, MembershipStatus::Frozen);
        assert_eq!(u.goals, vec!["swim".to_string()]);
        assert_eq!(u.limitations.as_deref(), Some("knee"));
        assert_eq!(u.first_name, "Élodie", "absent fields stay");
        assert_eq!(s.member(&sc, g1.id, m.id).await.unwrap(), u);

        let other = s
            .create_member(&sc, &actor(), g1.id, new_member("B-002", "Luc", "Petit"))
            .await
            .unwrap();
        let steal = MemberPatch {
            badge_id: Some("B-001".into()),
            ..Default::default()
        };
        assert!(matches!(
            s.update_member(&sc, &actor(), g1.id, other.id, steal).await,
            Err(StoreError::Conflict {
                field: "badge_id",
                ..
            })
        ));
        s.delete_member(&sc, &actor(), g1.id, m.id).await.unwrap();
        assert!(matches!(
            s.member(&sc, g1.id, m.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.delete_member(&sc, &actor(), g1.id, m.id).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn member_lists_filter_sort_and_page(s: S) {
        let f = franchise(&s, "F").await;
        let g = gym(&s, f.id, "G").await;
        let sc = gym_scope(&g);
        for i in 0..25 {
            let mut n = new_member(
                &format!("BADGE-{i:03}"),
                &format!("First{i}"),
                &format!("Last{:02}", 24 - i),
            );
            if i % 5 == 0 {
                n.membership_status = MembershipStatus::Expired;
                n.membership_type = "premium".into();
            }
            s.create_member(&sc, &actor(), g.id, n).await.unwrap();
        }
        let all = s
            .list_members(&sc, g.id, &MemberFilter::default(), page(10, 0))
            .await
            .unwrap();
        assert_eq!(all.total, 25);
        assert_eq!(all.items.len(), 10);
        assert_eq!(all.items[0].last_name, "Last00", "sorted by last name");
        let last_page = s
            .list_members(&sc, g.id, &MemberFilter::default(), page(10, 20))
            .await
            .unwrap();
        assert_eq!(last_page.items.len(), 5);
        let expired = MemberFilter {
            status: Some(MembershipStatus::Expired),
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &expired, page(50, 0))
                .await
                .unwrap()
                .total,
            5
        );
        let premium = MemberFilter {
            membership_type: Some("PREMIUM".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &premium, page(50, 0))
                .await
                .unwrap()
                .total,
            5
        );
        let by_badge = MemberFilter {
            q: Some("badge-01".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &by_badge, page(50, 0))
                .await
                .unwrap()
                .total,
            10
        );
        let full_name = MemberFilter {
            q: Some("first3 last21".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &full_name, page(50, 0))
                .await
                .unwrap()
                .total,
            1
        );
        let by_email = MemberFilter {
            q: Some("first7.last17@".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &by_email, page(50, 0))
                .await
                .unwrap()
                .total,
            1
        );
        // LIKE wildcards in the search are literal.
        let wildcard = MemberFilter {
            q: Some("%".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &wildcard, page(50, 0))
                .await
                .unwrap()
                .total,
            0
        );
        let newest = MemberFilter {
            sort: MemberSort::CreatedDesc,
            ..Default::default()
        };
        let items = s
            .list_members(&sc, g.id, &newest, page(1, 0))
            .await
            .unwrap()
            .items;
        assert_eq!(items[0].badge_id, "BADGE-024");
        let badge_sort = MemberFilter {
            sort: MemberSort::Badge,
            ..Default::default()
        };
        assert_eq!(
            s.list_members(&sc, g.id, &badge_sort, page(1, 0))
                .await
                .unwrap()
                .items[0]
                .badge_id,
            "BADGE-000"
        );
    }

    pub async fn members_never_cross_tenants(s: S) {
        let fa = franchise(&s, "A").await;
        let fb = franchise(&s, "B").await;
        let ga = gym(&s, fa.id, "GA").await;
        let ga2 = gym(&s, fa.id, "GA2").await;
        let gb = gym(&s, fb.id, "GB").await;
        let mb = s
            .create_member(
                &gym_scope(&gb),
                &actor(),
                gb.id,
                new_member("X1", "Bob", "B"),
            )
            .await
            .unwrap();
        let ma2 = s
            .create_member(
                &gym_scope(&ga2),
                &actor(),
                ga2.id,
                new_member("X2", "Ann", "A"),
            )
            .await
            .unwrap();
        let sa = gym_scope(&ga);
        // Another franchise's gym, read by id or through the wrong gym.
        assert!(matches!(
            s.member(&sa, gb.id, mb.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.member(&sa, ga.id, mb.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.member_by_badge(&sa, gb.id, "X1").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.list_members(&sa, gb.id, &MemberFilter::default(), page(10, 0))
                .await,
            Err(StoreError::NotFound(_))
        ));
        // A sibling gym of the same franchise is still foreign to a gym scope.
        assert!(matches!(
            s.member(&sa, ga2.id, ma2.id).await,
            Err(StoreError::NotFound(_))
        ));
        let patch = MemberPatch {
            first_name: Some("Hacked".into()),
            ..Default::default()
        };
        assert!(matches!(
            s.update_member(&sa, &actor(), gb.id, mb.id, patch).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.delete_member(&sa, &actor(), gb.id, mb.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.create_member(&sa, &actor(), gb.id, new_member("X9", "Eve", "E"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.member(&gym_scope(&gb), gb.id, mb.id)
                .await
                .unwrap()
                .first_name,
            "Bob",
            "nothing changed"
        );
        // The franchise scope reaches every gym of its franchise and nothing else.
        let fs = Scope::Franchise { franchise: fa.id };
        assert_eq!(s.member(&fs, ga2.id, ma2.id).await.unwrap().id, ma2.id);
        assert!(matches!(
            s.member(&fs, gb.id, mb.id).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn kiosks_per_gym(s: S) {
        let f = franchise(&s, "F").await;
        let g = gym(&s, f.id, "G").await;
        let other = gym(&s, franchise(&s, "O").await.id, "O").await;
        let sc = gym_scope(&g);
        let k = s
            .create_kiosk(
                &sc,
                &actor(),
                g.id,
                NewKiosk {
                    name: "Entrance".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(k.status, KioskStatus::Unpaired);
        assert_eq!(s.kiosk(&sc, g.id, k.id).await.unwrap(), k);
        assert!(matches!(
            s.create_kiosk(
                &sc,
                &actor(),
                g.id,
                NewKiosk {
                    name: "Entrance".into()
                }
            )
            .await,
            Err(StoreError::Conflict { field: "name", .. })
        ));
        assert_eq!(
            s.list_kiosks(&sc, g.id, page(10, 0)).await.unwrap().total,
            1
        );
        assert!(matches!(
            s.kiosk(&gym_scope(&other), g.id, k.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.list_kiosks(&gym_scope(&other), g.id, page(10, 0)).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn users_and_memberships(s: S) {
        let f = franchise(&s, "F").await;
        let g = gym(&s, f.id, "G").await;
        let other = franchise(&s, "Other").await;
        let new = NewUser {
            email: " Boss@Example.com ".into(),
            display_name: "Boss".into(),
            locale: Locale::En,
            password_hash: Some("$argon2id$x".into()),
        };
        let u = s
            .create_user(&actor(), new.clone().validate().unwrap(), None)
            .await
            .unwrap();
        assert_eq!(u.email, "boss@example.com");
        let (found, hash) = s.user_by_email("BOSS@example.com").await.unwrap().unwrap();
        assert_eq!(found, u);
        assert_eq!(hash.as_deref(), Some("$argon2id$x"));
        assert!(
            s.user_by_email("nobody@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            s.create_user(&actor(), new.validate().unwrap(), None).await,
            Err(StoreError::Conflict { field: "email", .. })
        ));
        // A user created with a grant that cannot be made is not created at all.
        let half = NewUser {
            email: "half@example.com".into(),
            display_name: "Half".into(),
            locale: Locale::Fr,
            password_hash: None,
        };
        let bad_grant = Some((Role::GymManager, MembershipTarget::Gym(other.id, g.id)));
        assert!(
            s.create_user(&actor(), half.clone(), bad_grant)
                .await
                .is_err()
        );
        assert!(
            s.user_by_email("half@example.com").await.unwrap().is_none(),
            "nothing half-written"
        );
        let admin = s
            .create_user(
                &actor(),
                half,
                Some((Role::SuperAdmin, MembershipTarget::Platform)),
            )
            .await
            .unwrap();
        assert_eq!(
            s.memberships_of_user(admin.id).await.unwrap()[0].role,
            Role::SuperAdmin
        );

        s.add_membership(
            &Scope::Platform,
            &actor(),
            u.id,
            Role::FranchiseOwner,
            MembershipTarget::Franchise(f.id),
        )
        .await
        .unwrap();
        let fs = Scope::Franchise { franchise: f.id };
        s.add_membership(
            &fs,
            &actor(),
            u.id,
            Role::GymManager,
            MembershipTarget::Gym(f.id, g.id),
        )
        .await
        .unwrap();
        assert!(matches!(
            s.add_membership(
                &fs,
                &actor(),
                u.id,
                Role::GymManager,
                MembershipTarget::Gym(f.id, g.id)
            )
            .await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            s.add_membership(
                &fs,
                &actor(),
                u.id,
                Role::FranchiseOwner,
                MembershipTarget::Franchise(other.id)
            )
            .await,
            Err(StoreError::OutOfScope)
        ));
        assert!(matches!(
            s.add_membership(
                &fs,
                &actor(),
                u.id,
                Role::SuperAdmin,
                MembershipTarget::Platform
            )
            .await,
            Err(StoreError::OutOfScope)
        ));
        assert!(matches!(
            s.add_membership(
                &Scope::Platform,
                &actor(),
                u.id,
                Role::GymStaff,
                MembershipTarget::Franchise(f.id)
            )
            .await,
            Err(StoreError::Invalid { field: "role", .. })
        ));
        let ms = s.memberships_of_user(u.id).await.unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].role, Role::FranchiseOwner);
        assert_eq!(ms[1].gym_id, Some(g.id));
        assert_eq!(s.user(u.id).await.unwrap(), u);
    }

    pub async fn writes_are_audited_atomically(s: S) {
        let f = franchise(&s, "F").await;
        let g = gym(&s, f.id, "G").await;
        let other = gym(&s, franchise(&s, "O").await.id, "O").await;
        let sc = gym_scope(&g);
        let who = Actor {
            kind: "user",
            user_id: Some(UserId::new()),
            ip: Some("203.0.113.9".into()),
            user_agent: Some("test".into()),
        };
        let m = s
            .create_member(&sc, &who, g.id, new_member("A1", "Al", "Bert"))
            .await
            .unwrap();
        // A failed write leaves no trace, audit included.
        assert!(
            s.create_member(&sc, &who, g.id, new_member("A1", "Dup", "Licate"))
                .await
                .is_err()
        );
        s.create_member(
            &gym_scope(&other),
            &actor(),
            other.id,
            new_member("Z1", "Zed", "Z"),
        )
        .await
        .unwrap();

        let mine = s
            .list_audit(&sc, &AuditFilter::default(), page(50, 0))
            .await
            .unwrap();
        let actions: Vec<&str> = mine.items.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["member.create", "gym.create"],
            "newest first, own gym only"
        );
        let e = &mine.items[0];
        assert_eq!(e.target_id.as_deref(), Some(m.id.to_string().as_str()));
        assert_eq!(e.actor_user_id, who.user_id);
        assert_eq!(e.ip.as_deref(), Some("203.0.113.9"));
        let filtered = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter {
                    action: Some("member.create".into()),
                    ..Default::default()
                },
                page(50, 0),
            )
            .await
            .unwrap();
        assert_eq!(filtered.total, 2);
        let platform = s
            .list_audit(&Scope::Platform, &AuditFilter::default(), page(50, 0))
            .await
            .unwrap();
        assert!(
            platform
                .items
                .iter()
                .any(|e| e.action == "franchise.create")
        );
        assert!(
            !mine.items.iter().any(|e| e.action == "franchise.create"),
            "franchise-level rows stay above a gym"
        );
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(db.store()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::cases::$case(db.store()).await;
                }
            )*
        }
    };
}

conformance!(
    migrations_are_current,
    franchise_crud,
    gyms_stay_in_their_franchise,
    member_crud_and_badges,
    member_lists_filter_sort_and_page,
    members_never_cross_tenants,
    kiosks_per_gym,
    users_and_memberships,
    writes_are_audited_atomically,
);

/// The big lists count at most their cap for the pager's total (`fetch_page_capped`): past it
/// the total is the cap and marked as a lower bound, at or under it the total is exact; the page
/// itself is unaffected. A cap of 3 stands in for 10,000.
async fn capped_totals_mark_a_lower_bound(db: TestDb) {
    let s = db.store_with_count_cap(3);
    let f = franchise(&s, "Capped").await;
    let g = gym(&s, f.id, "Capped gym").await;
    let sc = gym_scope(&g);
    for i in 0..5 {
        s.create_member(
            &sc,
            &actor(),
            g.id,
            new_member(&format!("CAP-{i}"), &format!("First{i}"), "Capped"),
        )
        .await
        .unwrap();
    }
    let all = MemberFilter::default();
    let p = s.list_members(&sc, g.id, &all, page(2, 0)).await.unwrap();
    assert_eq!((p.total, p.total_capped, p.items.len()), (3, true, 2));
    // The rows past the cap are still there to page through.
    let last = s.list_members(&sc, g.id, &all, page(2, 4)).await.unwrap();
    assert_eq!((last.total_capped, last.items.len()), (true, 1));
    // A filtered list is capped the same way, and exact under the cap.
    let five = MemberFilter {
        q: Some("first".into()),
        ..Default::default()
    };
    let p = s.list_members(&sc, g.id, &five, page(50, 0)).await.unwrap();
    assert_eq!((p.total, p.total_capped, p.items.len()), (3, true, 5));
    let one = MemberFilter {
        q: Some("first4".into()),
        ..Default::default()
    };
    let p = s.list_members(&sc, g.id, &one, page(50, 0)).await.unwrap();
    assert_eq!((p.total, p.total_capped, p.items.len()), (1, false, 1));
    // The audit log (gym creation and five member creations) is capped the same way.
    let audit = s
        .list_audit(&sc, &AuditFilter::default(), page(50, 0))
        .await
        .unwrap();
    assert_eq!((audit.total, audit.total_capped), (3, true));
    assert!(audit.items.len() >= 5);
    // The same database through the default cap: exact totals.
    let exact = db
        .store()
        .list_members(&sc, g.id, &all, page(2, 0))
        .await
        .unwrap();
    assert_eq!((exact.total, exact.total_capped), (5, false));
    // Exactly at the cap is not capped.
    let at_cap = db.store_with_count_cap(5);
    let p = at_cap
        .list_members(&sc, g.id, &all, page(2, 0))
        .await
        .unwrap();
    assert_eq!((p.total, p.total_capped), (5, false));
}

mod capped_count {
    #[tokio::test]
    async fn sqlite() {
        super::capped_totals_mark_a_lower_bound(super::TestDb::sqlite().await.unwrap()).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = super::TestDb::postgres().await else {
            return;
        };
        super::capped_totals_mark_a_lower_bound(db).await;
    }
}
