//! Conformance of the accounts storage on SQLite and PostgreSQL: refresh-token rotation and
//! family revocation, the TOTP replay guard, recovery codes, lockout with back-off, single-use
//! reset tokens, invitations (scope, single use, revocation), auth events, outbox, signing keys.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

type S = Arc<dyn Store>;

async fn user(s: &S, email: &str, grant: Option<(Role, MembershipTarget)>) -> User {
    s.create_user(
        &Actor::cli(),
        NewUser {
            email: email.into(),
            display_name: "Test".into(),
            locale: Locale::En,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$x$y".into()),
        }
        .validate()
        .unwrap(),
        grant,
    )
    .await
    .unwrap()
}

async fn tenant(s: &S, name: &str) -> (FranchiseId, GymId) {
    let f = s
        .create_franchise(
            &Scope::Platform,
            &Actor::cli(),
            NewFranchise { name: name.into() }.validate().unwrap(),
        )
        .await
        .unwrap();
    let g = s
        .create_gym(
            &Scope::Platform,
            &Actor::cli(),
            NewGym {
                franchise_id: f.id,
                name: format!("{name} gym"),
                address: None,
                timezone: "Europe/Paris".into(),
                locale: Locale::Fr,
                settings: serde_json::json!({}),
            }
            .validate()
            .unwrap(),
            GymStatus::Active,
        )
        .await
        .unwrap();
    (f.id, g.id)
}

fn api_session(u: UserId, refresh: &str) -> NewSession {
    NewSession {
        user_id: u,
        kind: SessionKind::Api,
        aal: 1,
        expires_at: OffsetDateTime::now_utc() + Duration::days(7),
        token_hash: None,
        refresh_hash: Some(refresh.into()),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("test".into()),
    }
}

mod cases {
    use super::*;

    pub async fn refresh_rotation_and_reuse(s: S) {
        let u = user(&s, "a@x.test", None).await;
        let sess = s.create_session(api_session(u.id, "h1")).await.unwrap();
        let idle = Duration::hours(1);
        let r = s
            .rotate_refresh_token("h1", "h2", idle, Duration::ZERO)
            .await
            .unwrap();
        assert!(matches!(r, RefreshOutcome::Rotated(ref x) if x.id == sess.id));
        let r = s
            .rotate_refresh_token("h2", "h3", idle, Duration::ZERO)
            .await
            .unwrap();
        assert!(matches!(r, RefreshOutcome::Rotated(_)));
        // h1 again: reuse, the family is revoked, and even the current token stops.
        let r = s
            .rotate_refresh_token("h1", "h4", idle, Duration::ZERO)
            .await
            .unwrap();
        assert!(matches!(r, RefreshOutcome::Reused(_)));
        assert_eq!(
            s.rotate_refresh_token("h3", "h5", idle, Duration::ZERO)
                .await
                .unwrap(),
            RefreshOutcome::Invalid
        );
        let after = s.session(u.id, sess.id).await.unwrap().unwrap();
        assert_eq!(after.revoked_reason.as_deref(), Some("reuse"));
        assert_eq!(
            s.rotate_refresh_token("unknown", "h6", idle, Duration::ZERO)
                .await
                .unwrap(),
            RefreshOutcome::Invalid
        );
        // An idle session cannot be refreshed.
        let s2 = s.create_session(api_session(u.id, "k1")).await.unwrap();
        assert_eq!(
            s.rotate_refresh_token("k1", "k2", Duration::ZERO, Duration::ZERO)
                .await
                .unwrap(),
            RefreshOutcome::Invalid
        );
        assert!(
            s.session(u.id, s2.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_none()
        );
    }

    pub async fn concurrent_refresh_within_grace_gets_a_sibling(s: S) {
        let u = user(&s, "g@x.test", None).await;
        s.create_session(api_session(u.id, "p1")).await.unwrap();
        let (idle, grace) = (Duration::hours(1), Duration::seconds(10));
        assert!(matches!(
            s.rotate_refresh_token("p1", "c1", idle, grace)
                .await
                .unwrap(),
            RefreshOutcome::Rotated(_)
        ));
        // The second tab presents the same parent a moment later: a sibling, no revocation.
        assert!(matches!(
            s.rotate_refresh_token("p1", "c2", idle, grace)
                .await
                .unwrap(),
            RefreshOutcome::Rotated(_)
        ));
        assert!(matches!(
            s.rotate_refresh_token("c1", "d1", idle, grace)
                .await
                .unwrap(),
            RefreshOutcome::Rotated(_)
        ));
        assert!(matches!(
            s.rotate_refresh_token("c2", "d2", idle, grace)
                .await
                .unwrap(),
            RefreshOutcome::Rotated(_)
        ));
        // Without a grace window, the same reuse revokes the family.
        assert!(matches!(
            s.rotate_refresh_token("c1", "e1", idle, Duration::ZERO)
                .await
                .unwrap(),
            RefreshOutcome::Reused(_)
        ));
        assert_eq!(
            s.rotate_refresh_token("d2", "e2", idle, grace)
                .await
                .unwrap(),
            RefreshOutcome::Invalid
        );
    }

    pub async fn purge_removes_only_what_ended(s: S) {
        let u = user(&s, "p@x.test", None).await;
        let live = s.create_session(api_session(u.id, "live")).await.unwrap();
        let old = s
            .create_session(NewSession {
                expires_at: OffsetDateTime::now_utc() - Duration::days(10),
                ..api_session(u.id, "old")
            })
            .await
            .unwrap();
        let revoked = s.create_session(api_session(u.id, "rev")).await.unwrap();
        s.revoke_session(u.id, revoked.id, "user").await.unwrap();
        s.create_password_reset(
            u.id,
            "expired",
            OffsetDateTime::now_utc() - Duration::days(10),
        )
        .await
        .unwrap();
        s.create_password_reset(
            u.id,
            "fresh",
            OffsetDateTime::now_utc() + Duration::hours(1),
        )
        .await
        .unwrap();
        // A week ago: the expired session and reset go; the just-revoked session stays (recent).
        let n = s
            .purge_expired(OffsetDateTime::now_utc() - Duration::days(7))
            .await
            .unwrap();
        assert!(n >= 3, "{n}");
        assert!(s.session(u.id, old.id).await.unwrap().is_none());
        assert!(s.session(u.id, revoked.id).await.unwrap().is_some());
        assert!(s.session(u.id, live.id).await.unwrap().is_some());
        assert!(
            s.rotate_refresh_token("live", "live2", Duration::hours(1), Duration::ZERO)
                .await
                .unwrap()
                .is_rotated()
        );
        // Everything that ended before now goes, live things stay.
        s.purge_expired(OffsetDateTime::now_utc() + Duration::seconds(1))
            .await
            .unwrap();
        assert!(s.session(u.id, revoked.id).await.unwrap().is_none());
        assert!(s.session(u.id, live.id).await.unwrap().is_some());
        assert_eq!(
            s.consume_password_reset("fresh", "h".into()).await.unwrap(),
            Some(u.id)
        );
    }

    pub async fn sessions_list_and_revoke(s: S) {
        let u = user(&s, "b@x.test", None).await;
        let other = user(&s, "c@x.test", None).await;
        let a = s.create_session(api_session(u.id, "a")).await.unwrap();
        let b = s.create_session(api_session(u.id, "b")).await.unwrap();
        let web = s
            .create_session(NewSession {
                kind: SessionKind::Web,
                token_hash: Some("cookie-hash".into()),
                refresh_hash: None,
                ..api_session(u.id, "")
            })
            .await
            .unwrap();
        assert_eq!(s.list_sessions(u.id).await.unwrap().len(), 3);
        assert!(
            s.session(other.id, a.id).await.unwrap().is_none(),
            "another user's session is not found"
        );
        s.elevate_session(other.id, b.id, None).await.unwrap();
        s.touch_session(other.id, b.id).await.unwrap();
        let b_now = s.session(u.id, b.id).await.unwrap().unwrap();
        assert_eq!(b_now.aal, 1, "only its owner elevates a session");
        assert_eq!(b_now.last_seen_at, b.last_seen_at, "nor touches it");
        assert_eq!(
            s.session_by_token_hash("cookie-hash")
                .await
                .unwrap()
                .map(|x| x.id),
            Some(web.id)
        );
        // Elevation changes the cookie hash: the old one no longer finds the session.
        s.elevate_session(u.id, web.id, Some("cookie-hash-2".into()))
            .await
            .unwrap();
        assert!(
            s.session_by_token_hash("cookie-hash")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            s.session_by_token_hash("cookie-hash-2")
                .await
                .unwrap()
                .map(|x| x.aal),
            Some(2)
        );
        assert!(
            !s.revoke_session(other.id, a.id, "user").await.unwrap(),
            "not theirs"
        );
        assert!(s.revoke_session(u.id, a.id, "user").await.unwrap());
        assert!(
            !s.revoke_session(u.id, a.id, "user").await.unwrap(),
            "already revoked"
        );
        assert_eq!(
            s.revoke_user_sessions(u.id, Some(b.id), "password_change")
                .await
                .unwrap(),
            1
        );
        let live: Vec<_> = s
            .list_sessions(u.id)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.id)
            .collect();
        assert_eq!(live, vec![b.id]);
    }

    pub async fn totp_replay_guard_and_recovery_codes(s: S) {
        let u = user(&s, "d@x.test", None).await;
        s.begin_totp(u.id, "sealed-1".into()).await.unwrap();
        // Unconfirmed factors cannot be used to sign in.
        assert!(
            !s.accept_totp_step(&Actor::cli(), u.id, 100, None)
                .await
                .unwrap()
        );
        let codes: Vec<String> = (0..10).map(|i| format!("code-hash-{i}")).collect();
        assert!(
            s.accept_totp_step(&Actor::cli(), u.id, 100, Some(codes))
                .await
                .unwrap()
        );
        let f = s.totp_factor(u.id).await.unwrap().unwrap();
        assert!(f.confirmed_at.is_some());
        assert_eq!(f.last_used_step, Some(100));
        // Replays and older steps are refused; a newer step is accepted once.
        assert!(
            !s.accept_totp_step(&Actor::cli(), u.id, 100, None)
                .await
                .unwrap()
        );
        assert!(
            !s.accept_totp_step(&Actor::cli(), u.id, 99, None)
                .await
                .unwrap()
        );
        assert!(
            s.accept_totp_step(&Actor::cli(), u.id, 101, None)
                .await
                .unwrap()
        );
        assert!(
            !s.accept_totp_step(&Actor::cli(), u.id, 101, None)
                .await
                .unwrap()
        );
        // Re-enrolment over a confirmed factor is a conflict.
        assert!(matches!(
            s.begin_totp(u.id, "sealed-2".into()).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 10);
        assert!(s.use_recovery_code(u.id, "code-hash-3").await.unwrap());
        assert!(!s.use_recovery_code(u.id, "code-hash-3").await.unwrap());
        assert!(!s.use_recovery_code(u.id, "nope").await.unwrap());
        assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 9);
        s.remove_totp(&Actor::cli(), u.id).await.unwrap();
        assert!(s.totp_factor(u.id).await.unwrap().is_none());
        assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 0);
    }

    pub async fn lockout_with_back_off(s: S) {
        let p = LockoutPolicy {
            max_failures: 3,
            base_lock: Duration::minutes(1),
            max_lock: Duration::minutes(10),
            window: Duration::hours(1),
        };
        assert!(s.throttle_failure("k", &p).await.unwrap().is_none());
        assert!(s.throttle_failure("k", &p).await.unwrap().is_none());
        let first = s.throttle_failure("k", &p).await.unwrap().unwrap();
        assert!(s.throttle_locked_until("k").await.unwrap().is_some());
        let second = s.throttle_failure("k", &p).await.unwrap().unwrap();
        // Each further failure doubles the lock.
        assert!(second - first > Duration::seconds(50), "{first} → {second}");
        for _ in 0..10 {
            s.throttle_failure("k", &p).await.unwrap();
        }
        let capped = s.throttle_locked_until("k").await.unwrap().unwrap();
        assert!(capped - OffsetDateTime::now_utc() <= Duration::minutes(10) + Duration::seconds(1));
        assert!(s.throttle_locked_until("other").await.unwrap().is_none());
        s.throttle_clear("k").await.unwrap();
        assert!(s.throttle_locked_until("k").await.unwrap().is_none());
    }

    pub async fn password_reset_single_use(s: S) {
        let u = user(&s, "e@x.test", None).await;
        let soon = OffsetDateTime::now_utc() + Duration::hours(1);
        s.create_password_reset(u.id, "r1", soon).await.unwrap();
        s.create_password_reset(u.id, "r2", soon).await.unwrap();
        s.create_password_reset(
            u.id,
            "old",
            OffsetDateTime::now_utc() - Duration::seconds(1),
        )
        .await
        .unwrap();
        assert_eq!(
            s.consume_password_reset("old", "h".into()).await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            s.consume_password_reset("r1", "new-hash".into())
                .await
                .unwrap(),
            Some(u.id)
        );
        assert_eq!(
            s.consume_password_reset("r1", "x".into()).await.unwrap(),
            None,
            "single use"
        );
        assert_eq!(
            s.consume_password_reset("r2", "x".into()).await.unwrap(),
            None,
            "siblings die too"
        );
        let (_, hash) = s.user_by_email("e@x.test").await.unwrap().unwrap();
        assert_eq!(hash.as_deref(), Some("new-hash"));
    }

    pub async fn invitations_scope_and_single_use(s: S) {
        let (f1, g1) = tenant(&s, "One").await;
        let (f2, g2) = tenant(&s, "Two").await;
        let gym1 = Scope::Gym {
            franchise: f1,
            gym: g1,
        };
        let mgr = Actor::cli();
        let new = |email: &str, hash: &str, target: MembershipTarget, role: Role| NewInvitation {
            email: email.into(),
            display_name: "New".into(),
            role,
            target,
            token_hash: hash.into(),
            expires_at: OffsetDateTime::now_utc() + Duration::days(7),
        };
        let inv = s
            .create_invitation(
                &gym1,
                &mgr,
                new(
                    "New@X.test",
                    "t1",
                    MembershipTarget::Gym(f1, g1),
                    Role::GymStaff,
                ),
            )
            .await
            .unwrap();
        assert_eq!(inv.email, "new@x.test");
        // Out of scope: another gym, or a shape that does not fit the role.
        assert!(
            s.create_invitation(
                &gym1,
                &mgr,
                new(
                    "z@x.test",
                    "t2",
                    MembershipTarget::Gym(f2, g2),
                    Role::GymStaff
                )
            )
            .await
            .is_err()
        );
        assert!(
            s.create_invitation(
                &gym1,
                &mgr,
                new(
                    "z@x.test",
                    "t3",
                    MembershipTarget::Gym(f1, g1),
                    Role::FranchiseOwner
                )
            )
            .await
            .is_err()
        );
        let gym2 = Scope::Gym {
            franchise: f2,
            gym: g2,
        };
        assert_eq!(
            s.list_invitations(&gym2, true, PageRequest::default())
                .await
                .unwrap()
                .total,
            0
        );
        assert!(matches!(
            s.invitation(&gym2, inv.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.revoke_invitation(&gym2, &mgr, inv.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.list_invitations(&gym1, true, PageRequest::default())
                .await
                .unwrap()
                .total,
            1
        );
        // Renewal replaces the token.
        s.renew_invitation(
            &gym1,
            &mgr,
            inv.id,
            "t1b",
            OffsetDateTime::now_utc() + Duration::days(7),
        )
        .await
        .unwrap();
        assert!(s.invitation_by_token_hash("t1").await.unwrap().is_none());
        let u = s
            .accept_invitation(&Actor::cli(), "t1b", "pw-hash".into(), Locale::Fr)
            .await
            .unwrap();
        assert_eq!(u.email, "new@x.test");
        let ms = s.memberships_of_user(u.id).await.unwrap();
        assert_eq!(
            (ms.len(), ms[0].role, ms[0].gym_id),
            (1, Role::GymStaff, Some(g1))
        );
        assert!(matches!(
            s.accept_invitation(&Actor::cli(), "t1b", "pw".into(), Locale::Fr)
                .await,
            Err(StoreError::NotFound(_))
        ));
        // Revoked invitations cannot be accepted.
        let inv2 = s
            .create_invitation(
                &gym1,
                &mgr,
                new(
                    "r@x.test",
                    "t4",
                    MembershipTarget::Gym(f1, g1),
                    Role::GymStaff,
                ),
            )
            .await
            .unwrap();
        s.revoke_invitation(&gym1, &mgr, inv2.id).await.unwrap();
        assert!(s.invitation_by_token_hash("t4").await.unwrap().is_none());
        assert!(matches!(
            s.revoke_invitation(&gym1, &mgr, inv2.id).await,
            Err(StoreError::Conflict { .. })
        ));
        let audit = s
            .list_audit(
                &gym1,
                &AuditFilter {
                    action: Some("invitation.accept".into()),
                    ..Default::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 1);
    }

    /// Inviting someone to a role they already hold is harmless: accepting succeeds, the
    /// membership is not duplicated and the invitation is used up (on PostgreSQL too, where a
    /// failed statement would otherwise abort the whole transaction).
    pub async fn accepting_an_invitation_to_a_held_role(s: S) {
        let (f1, g1) = tenant(&s, "One").await;
        let existing = user(
            &s,
            "held@x.test",
            Some((Role::GymStaff, MembershipTarget::Gym(f1, g1))),
        )
        .await;
        let gym1 = Scope::Gym {
            franchise: f1,
            gym: g1,
        };
        s.create_invitation(
            &gym1,
            &Actor::cli(),
            NewInvitation {
                email: "held@x.test".into(),
                display_name: "Held".into(),
                role: Role::GymStaff,
                target: MembershipTarget::Gym(f1, g1),
                token_hash: "held-token".into(),
                expires_at: OffsetDateTime::now_utc() + Duration::days(7),
            },
        )
        .await
        .unwrap();
        let u = s
            .accept_invitation(&Actor::cli(), "held-token", "pw".into(), Locale::Fr)
            .await
            .unwrap();
        assert_eq!(u.id, existing.id);
        assert_eq!(s.memberships_of_user(u.id).await.unwrap().len(), 1);
        assert!(
            s.invitation_by_token_hash("held-token")
                .await
                .unwrap()
                .is_none(),
            "the invitation is used up"
        );
    }

    pub async fn team_lists_and_offboarding(s: S) {
        let (fa, ga) = tenant(&s, "A").await;
        let (fb, gb) = tenant(&s, "B").await;
        let gym_a = MembershipTarget::Gym(fa, ga);
        let staff = user(&s, "staff@x.test", Some((Role::GymStaff, gym_a))).await;
        let owner = user(
            &s,
            "owner@x.test",
            Some((Role::FranchiseOwner, MembershipTarget::Franchise(fa))),
        )
        .await;
        let both = user(&s, "both@x.test", Some((Role::GymStaff, gym_a))).await;
        let in_b = s
            .add_membership(
                &Scope::Platform,
                &Actor::cli(),
                both.id,
                Role::GymManager,
                MembershipTarget::Gym(fb, gb),
            )
            .await
            .unwrap();
        let foreign = user(
            &s,
            "foreign@x.test",
            Some((Role::GymStaff, MembershipTarget::Gym(fb, gb))),
        )
        .await;
        let sa = Scope::Gym {
            franchise: fa,
            gym: ga,
        };
        let fs = Scope::Franchise { franchise: fa };
        let emails = |p: &Page<TeamMember>| -> Vec<String> {
            p.items.iter().map(|m| m.user.email.clone()).collect()
        };
        let all = UserFilter::default();
        let gym_team = s
            .list_users(&sa, &all, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(emails(&gym_team), ["both@x.test", "staff@x.test"]);
        // Only the memberships inside the scope are shown.
        assert_eq!(gym_team.items[0].memberships.len(), 1);
        assert_eq!(gym_team.items[0].memberships[0].gym_id, Some(ga));
        let franchise_team = s
            .list_users(&fs, &all, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(
            emails(&franchise_team),
            ["both@x.test", "owner@x.test", "staff@x.test"]
        );
        let found = s
            .list_users(
                &Scope::Platform,
                &UserFilter {
                    q: Some("FOREIGN".into()),
                    ..Default::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(emails(&found), ["foreign@x.test"]);
        assert_eq!(
            s.team_member(&sa, staff.id).await.unwrap().user.id,
            staff.id
        );
        for id in [foreign.id, owner.id] {
            assert!(matches!(
                s.team_member(&sa, id).await,
                Err(StoreError::NotFound(_))
            ));
            assert!(matches!(
                s.set_user_disabled(&sa, &Actor::cli(), id, true).await,
                Err(StoreError::NotFound(_))
            ));
        }

        // Disabling ends every session (API refresh families and cookies) in the same step.
        let api = s
            .create_session(api_session(staff.id, "st-1"))
            .await
            .unwrap();
        s.create_session(NewSession {
            kind: SessionKind::Web,
            token_hash: Some("st-cookie".into()),
            refresh_hash: None,
            ..api_session(staff.id, "")
        })
        .await
        .unwrap();
        let off = s
            .set_user_disabled(&sa, &Actor::cli(), staff.id, true)
            .await
            .unwrap();
        assert!(off.disabled_at.is_some());
        assert!(s.user(staff.id).await.unwrap().disabled_at.is_some());
        assert!(s.list_sessions(staff.id).await.unwrap().is_empty());
        assert_eq!(
            s.session(staff.id, api.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_reason
                .as_deref(),
            Some("user_disabled")
        );
        assert_eq!(
            s.rotate_refresh_token("st-1", "st-2", Duration::hours(1), Duration::ZERO)
                .await
                .unwrap(),
            RefreshOutcome::Invalid
        );
        let cookie = s.session_by_token_hash("st-cookie").await.unwrap().unwrap();
        assert!(cookie.revoked_at.is_some());
        // Again: nothing changes, nothing more is audited.
        s.set_user_disabled(&sa, &Actor::cli(), staff.id, true)
            .await
            .unwrap();
        let audited = |action: &'static str| {
            let s = s.clone();
            async move {
                s.list_audit(
                    &sa,
                    &AuditFilter {
                        action: Some(action.into()),
                        ..Default::default()
                    },
                    PageRequest::default(),
                )
                .await
                .unwrap()
                .total
            }
        };
        assert_eq!(audited("user.disable").await, 1, "audited in the gym");
        let on = s
            .set_user_disabled(&sa, &Actor::cli(), staff.id, false)
            .await
            .unwrap();
        assert!(on.disabled_at.is_none());
        assert_eq!(audited("user.enable").await, 1);

        // Revoking: only a membership the scope sees; the user's sessions end too.
        let live = s
            .create_session(api_session(both.id, "both-1"))
            .await
            .unwrap();
        assert!(matches!(
            s.revoke_membership(&sa, &Actor::cli(), both.id, in_b.id)
                .await,
            Err(StoreError::NotFound(_))
        ));
        let in_a = s.memberships_of_user(both.id).await.unwrap()[0].clone();
        assert_eq!(in_a.gym_id, Some(ga));
        assert!(
            matches!(
                s.revoke_membership(&sa, &Actor::cli(), staff.id, in_a.id)
                    .await,
                Err(StoreError::NotFound(_))
            ),
            "a membership of someone else"
        );
        s.revoke_membership(&sa, &Actor::cli(), both.id, in_a.id)
            .await
            .unwrap();
        assert_eq!(s.memberships_of_user(both.id).await.unwrap(), vec![in_b]);
        assert!(
            s.session(both.id, live.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
        assert_eq!(audited("membership.revoke").await, 1);
        assert!(matches!(
            s.team_member(&sa, both.id).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn the_last_super_admin_stays(s: S) {
        let root = user(
            &s,
            "root@x.test",
            Some((Role::SuperAdmin, MembershipTarget::Platform)),
        )
        .await;
        let last = |r: StoreResult<_>| {
            matches!(
                r,
                Err(StoreError::Conflict {
                    constraint: "last_super_admin",
                    ..
                })
            )
        };
        let p = Scope::Platform;
        let a = Actor::cli();
        assert!(last(
            s.set_user_disabled(&p, &a, root.id, true).await.map(|_| ())
        ));
        let role = s.memberships_of_user(root.id).await.unwrap()[0].id;
        assert!(last(
            s.revoke_membership(&p, &a, root.id, role).await.map(|_| ())
        ));
        let second = user(
            &s,
            "second@x.test",
            Some((Role::SuperAdmin, MembershipTarget::Platform)),
        )
        .await;
        s.set_user_disabled(&p, &a, root.id, true).await.unwrap();
        assert!(last(
            s.set_user_disabled(&p, &a, second.id, true)
                .await
                .map(|_| ())
        ));
        // A disabled super admin does not count: their role may go.
        s.revoke_membership(&p, &a, root.id, role).await.unwrap();
        assert!(s.memberships_of_user(root.id).await.unwrap().is_empty());

        // Two super admins disabling each other at once: exactly one of them stays.
        let mut survivor = second.id;
        for round in 0..8 {
            let x = user(
                &s,
                &format!("x{round}@x.test"),
                Some((Role::SuperAdmin, MembershipTarget::Platform)),
            )
            .await;
            let y = user(
                &s,
                &format!("y{round}@x.test"),
                Some((Role::SuperAdmin, MembershipTarget::Platform)),
            )
            .await;
            s.set_user_disabled(&p, &a, survivor, true).await.unwrap();
            let (rx, ry) = tokio::join!(
                s.set_user_disabled(&p, &a, x.id, true),
                s.set_user_disabled(&p, &a, y.id, true)
            );
            match (rx, ry) {
                (Ok(_), r) => {
                    assert!(
                        last(r.map(|_| ())),
                        "round {round}: both super admins disabled"
                    );
                    survivor = y.id;
                }
                (r, Ok(_)) => {
                    assert!(last(r.map(|_| ())), "round {round}");
                    survivor = x.id;
                }
                (Err(e1), Err(e2)) => panic!("round {round}: {e1} / {e2}"),
            }
        }
    }

    pub async fn auth_events_outbox_and_keys(s: S) {
        let (f1, g1) = tenant(&s, "Ev").await;
        s.record_auth_event(NewAuthEvent {
            event: "login.failure".into(),
            email: Some("x@x.test".into()),
            ..Default::default()
        })
        .await
        .unwrap();
        s.record_auth_event(NewAuthEvent {
            event: "invitation.accepted".into(),
            franchise_id: Some(f1),
            gym_id: Some(g1),
            ..Default::default()
        })
        .await
        .unwrap();
        let all = s
            .list_auth_events(
                &Scope::Platform,
                &AuthEventFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(all.total, 2);
        let gym = s
            .list_auth_events(
                &Scope::Gym {
                    franchise: f1,
                    gym: g1,
                },
                &AuthEventFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(gym.total, 1, "tenants see only their tagged events");
        let only = s
            .list_auth_events(
                &Scope::Platform,
                &AuthEventFilter {
                    event: Some("login.failure".into()),
                    user_id: None,
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(only.total, 1);

        let id = s
            .enqueue_email(NewEmail {
                id: uuid::Uuid::now_v7(),
                to_address: "To@X.test".into(),
                subject: "s".into(),
                body_text: "t".into(),
                body_html: "<p>t</p>".into(),
                kind: "test".into(),
            })
            .await
            .unwrap();
        assert_eq!(s.pending_emails(10).await.unwrap().len(), 1);
        s.mark_email_sent(id).await.unwrap();
        assert!(s.pending_emails(10).await.unwrap().is_empty());
        let sent = s.emails_to("to@x.test", 10).await.unwrap();
        assert_eq!(sent.len(), 1);
        // Sending wipes the bodies and keeps the metadata.
        assert_eq!(
            (sent[0].body_text.as_str(), sent[0].body_html.as_str()),
            ("", "")
        );
        assert_eq!(
            (sent[0].id, sent[0].subject.as_str(), sent[0].kind.as_str()),
            (id, "s", "test")
        );
        assert!(sent[0].sent_at.is_some());

        // Failed deliveries: a retry waits for its time; a given-up e-mail is wiped and never
        // taken again; both keep the attempt count and the error.
        let mail = |to: &str| NewEmail {
            id: uuid::Uuid::now_v7(),
            to_address: to.into(),
            subject: "s".into(),
            body_text: "t".into(),
            body_html: "h".into(),
            kind: "test".into(),
        };
        let retry = s.enqueue_email(mail("retry@x.test")).await.unwrap();
        let refused = s.enqueue_email(mail("refused@x.test")).await.unwrap();
        let owner = uuid::Uuid::now_v7();
        assert_eq!(
            s.claim_emails(owner, 10, Duration::minutes(2))
                .await
                .unwrap()
                .len(),
            2
        );
        let later = OffsetDateTime::now_utc() + Duration::minutes(5);
        s.mark_email_failed(retry, "451 try later", Some(later))
            .await
            .unwrap();
        s.mark_email_failed(refused, "550 no such mailbox", None)
            .await
            .unwrap();
        assert!(
            s.claim_emails(owner, 10, Duration::minutes(2))
                .await
                .unwrap()
                .is_empty(),
            "neither is claimable now"
        );
        let r = s.emails_to("retry@x.test", 1).await.unwrap().remove(0);
        assert_eq!(
            (r.attempts, r.last_error.as_deref(), r.failed_at),
            (1, Some("451 try later"), None)
        );
        assert_eq!(r.body_text, "t", "kept for the retry");
        let f = s.emails_to("refused@x.test", 1).await.unwrap().remove(0);
        assert!(f.failed_at.is_some() && f.sent_at.is_none());
        assert_eq!((f.body_text.as_str(), f.body_html.as_str()), ("", ""));
        assert_eq!(f.last_error.as_deref(), Some("550 no such mailbox"));
        let pending: Vec<_> = s
            .pending_emails(10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(pending, [retry], "a given-up e-mail is not pending");
        // Once its time has come, the retry is claimable again.
        let past = OffsetDateTime::now_utc() - Duration::seconds(1);
        s.mark_email_failed(retry, "451 again", Some(past))
            .await
            .unwrap();
        let again = s
            .claim_emails(owner, 10, Duration::minutes(2))
            .await
            .unwrap();
        assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [retry]);
        assert_eq!(again[0].attempts, 2);

        let key = |kid: &str| SigningKeyRecord {
            kid: kid.into(),
            algorithm: "RS256".into(),
            private_key_enc: "v1.sealed".into(),
            public_n: "n".into(),
            public_e: "AQAB".into(),
            created_at: OffsetDateTime::now_utc(),
            retired_at: None,
        };
        s.add_signing_key(&Actor::cli(), key("k1")).await.unwrap();
        s.add_signing_key(&Actor::cli(), key("k2")).await.unwrap();
        let keys = s
            .signing_keys(OffsetDateTime::now_utc() - Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(
            keys.iter().filter(|k| k.retired_at.is_none()).count(),
            1,
            "one active key"
        );
        assert_eq!(keys.len(), 2, "the retired key is still there to verify");
        let later = s
            .signing_keys(OffsetDateTime::now_utc() + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(later.len(), 1, "old keys drop out after their window");
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
    refresh_rotation_and_reuse,
    concurrent_refresh_within_grace_gets_a_sibling,
    purge_removes_only_what_ended,
    sessions_list_and_revoke,
    totp_replay_guard_and_recovery_codes,
    lockout_with_back_off,
    password_reset_single_use,
    invitations_scope_and_single_use,
    accepting_an_invitation_to_a_held_role,
    auth_events_outbox_and_keys,
    team_lists_and_offboarding,
    the_last_super_admin_stays,
);
