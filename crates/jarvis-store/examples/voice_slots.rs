//! Times voice slot acquisition (`start_session`: both caps checked and the session inserted in
//! one serialized step) on a fresh database, alone and with 100 concurrent acquirers.
//!
//! `cargo run --release -p jarvis-store --example voice_slots -- sqlite|postgres [N]`
//! (PostgreSQL: the test server of `jarvis_store::testing`, `JARVIS_TEST_PG_ADMIN_URL`).

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn summary(label: &str, mut d: Vec<Duration>) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let pct = |p: usize| d[(d.len() * p / 100).min(d.len() - 1)];
    let mean = d.iter().sum::<Duration>() / u32::try_from(d.len()).unwrap_or(1);
    println!(
        "{label}: {} starts; mean {:.3} ms, p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        d.len(),
        ms(mean),
        ms(pct(50)),
        ms(pct(95)),
        ms(d[d.len() - 1])
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(500);
    let db = match backend.as_str() {
        "sqlite" => TestDb::sqlite().await?,
        "postgres" => TestDb::postgres()
            .await
            .ok_or("no PostgreSQL test server")?,
        other => return Err(format!("unknown backend {other}").into()),
    };
    let s: Arc<dyn Store> = jarvis_store::connect(&ConnectOptions {
        max_connections: 20,
        acquire_timeout: Duration::from_secs(120),
        ..ConnectOptions::new(db.url())
    })
    .await?;
    let a = Actor::cli();
    s.set_platform_settings(
        &Scope::Platform,
        &a,
        PlatformSettings {
            voice_session_cap: 1000,
            ..PlatformSettings::default()
        },
    )
    .await?;
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: "F".into() })
        .await?;
    let mut gyms = Vec::new();
    for i in 0..4 {
        let g = s
            .create_gym(
                &Scope::Platform,
                &a,
                NewGym {
                    franchise_id: f.id,
                    name: format!("G{i}"),
                    address: None,
                    timezone: "UTC".into(),
                    locale: Locale::Fr,
                    settings: serde_json::json!({ "voice_session_cap": 50 }),
                }
                .validate()
                .map_err(|e| format!("{e:?}"))?,
                GymStatus::Active,
            )
            .await?;
        let scope = Scope::Gym {
            franchise: f.id,
            gym: g.id,
        };
        let m = s
            .create_member(
                &scope,
                &a,
                g.id,
                NewMember {
                    badge_id: format!("B{i}"),
                    first_name: "A".into(),
                    last_name: "B".into(),
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
            .await?;
        gyms.push((scope, g.id, m.id));
    }
    let me = InstanceId::new();
    let new = |member: MemberId| NewVoiceSession {
        member_id: member,
        kiosk_id: None,
        owner: me,
        lease: time::Duration::minutes(1),
        model: "gpt-realtime-2.1-mini".into(),
        transcription_model: None,
        language: Locale::Fr,
        max_duration_secs: 600,
    };
    // One acquirer: start then end, N times (ends keep the slots free).
    let (scope, gym, member) = gyms[0];
    for _ in 0..20 {
        if let Ok(v) = s.start_session(&scope, gym, new(member)).await? {
            s.end_session(
                &scope,
                v.id,
                EndReason::MemberEnded,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
        }
    }
    let mut alone = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let v = s
            .start_session(&scope, gym, new(member))
            .await?
            .map_err(|r| format!("refused: {r:?}"))?;
        alone.push(t0.elapsed());
        s.end_session(
            &scope,
            v.id,
            EndReason::MemberEnded,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
    }
    summary(&format!("{backend}, 1 acquirer"), alone);

    // 100 concurrent acquirers (25 per gym, caps not reached), each N/10 start+end cycles.
    let per = (n / 10).max(1);
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = s.clone();
            let (scope, gym, member) = gyms[i % 4];
            let req = new(member);
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per);
                let mut refused = 0_u32;
                for _ in 0..per {
                    let t = Instant::now();
                    match s.start_session(&scope, gym, req.clone()).await {
                        Ok(Ok(v)) => {
                            times.push(t.elapsed());
                            let _ = s
                                .end_session(
                                    &scope,
                                    v.id,
                                    EndReason::MemberEnded,
                                    time::OffsetDateTime::now_utc(),
                                )
                                .await;
                        }
                        Ok(Err(_)) | Err(_) => refused += 1,
                    }
                }
                (times, refused)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (times, r) = t.await?;
        all.extend(times);
        refused += r;
    }
    let wall = t0.elapsed();
    let count = all.len();
    summary(&format!("{backend}, 100 concurrent acquirers"), all);
    println!(
        "  {count} starts (+ends) in {:.2} s = {:.0} starts/s; {refused} refused or failed",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64()
    );
    Ok(())
}
