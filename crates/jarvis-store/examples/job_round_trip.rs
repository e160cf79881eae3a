//! Times the job queue's hot path on a fresh database: enqueue, claim one, complete it.
//!
//! `cargo run --release -p jarvis-store --example job_round_trip -- sqlite|postgres [N]`
//! (PostgreSQL: the test server of `jarvis_store::testing`, `JARVIS_TEST_PG_ADMIN_URL`).

use jarvis_core::InstanceId;
use jarvis_core::model::NewJob;
use jarvis_store::testing::TestDb;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(500);
    let db = match backend.as_str() {
        "sqlite" => TestDb::sqlite().await?,
        "postgres" => TestDb::postgres()
            .await
            .ok_or("no PostgreSQL test server")?,
        other => return Err(format!("unknown backend {other}").into()),
    };
    let s = db.store();
    let me = InstanceId::new();
    let lease = time::Duration::minutes(1);
    // Warm the pool and the statement caches.
    for _ in 0..20 {
        s.enqueue(NewJob::new("bench", serde_json::json!({})))
            .await?;
        for c in s.claim(me, &["bench"], 1, lease).await? {
            s.complete(&c.claim).await?;
        }
    }
    let (mut enqueue, mut claim, mut complete) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for i in 0..n {
        let t0 = Instant::now();
        s.enqueue(NewJob::new("bench", serde_json::json!({ "i": i })))
            .await?;
        let t1 = Instant::now();
        let got = s.claim(me, &["bench"], 1, lease).await?;
        let t2 = Instant::now();
        for c in &got {
            s.complete(&c.claim).await?;
        }
        let t3 = Instant::now();
        if got.len() != 1 {
            return Err("claim returned no job".into());
        }
        enqueue += t1 - t0;
        claim += t2 - t1;
        complete += t3 - t2;
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(n);
    println!(
        "{backend}: {n} jobs; per job: enqueue {:.3} ms, claim {:.3} ms, complete {:.3} ms, \
         claim→complete {:.3} ms",
        per(enqueue),
        per(claim),
        per(complete),
        per(claim + complete)
    );
    Ok(())
}
