//! The SQLite ceiling for `bench/run`: the statements of one kiosk badge lookup or heartbeat,
//! exactly as the store runs them, in a tight loop through sqlx on a pool opened like the
//! store's own (same pragmas, same size) — no HTTP, no auth, no tenant checks in Rust.
//!
//! `cargo run --release -p jarvis-store --example sqlite_loop -- URL badge|heartbeat|heartbeat-write
//!  CONCURRENCY SECONDS TOKENS BADGES POOL`
//!
//! Tokens are `jk_bench_<1..=TOKENS>` (their SHA-256 is what the kiosks table holds) and badges
//! `BENCH-<000001..=BADGES>`, as `bench/run` seeds them. Prints one `RESULT {json}` line.

use sqlx::{AssertSqlSafe, Row, SqlitePool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const KIOSK_COLS: &str = "id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at";
const GYM_COLS: &str = "id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at, status_reason";
const MEMBER_COLS: &str = "id, gym_id, franchise_id, badge_id, first_name, last_name, email, phone, birth_date, preferred_language, membership_type, membership_status, membership_end_date, goals, limitations, consent_voice, consent_transcripts, visit_count, last_visit_at, created_at, updated_at";

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Badge,
    Heartbeat,
    HeartbeatWrite,
}

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// The token check (`kiosk_by_token`): kiosk by token hash, then its gym, in a read transaction.
async fn token_check(pool: &SqlitePool, hash: &str) -> sqlx::Result<(String, String, String)> {
    let mut tx = pool.begin().await?;
    let k = sqlx::query(AssertSqlSafe(format!(
        "SELECT {KIOSK_COLS} FROM kiosks WHERE device_token_hash = ?"
    )))
    .bind(hash)
    .fetch_one(&mut *tx)
    .await?;
    let (id, gym, franchise): (String, String, String) = (
        k.try_get("id")?,
        k.try_get("gym_id")?,
        k.try_get("franchise_id")?,
    );
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {GYM_COLS} FROM gyms WHERE id = ?"
    )))
    .bind(&gym)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, gym, franchise))
}

async fn badge(pool: &SqlitePool, hash: &str, badge: &str) -> sqlx::Result<()> {
    let (kiosk, gym, franchise) = token_check(pool, hash).await?;
    let mut tx = pool.begin().await?;
    let m = sqlx::query(AssertSqlSafe(format!("SELECT {MEMBER_COLS} FROM members WHERE gym_id = ? AND badge_id = ? AND franchise_id = ? AND gym_id = ?")))
        .bind(&gym).bind(badge).bind(&franchise).bind(&gym)
        .fetch_one(&mut *tx)
        .await?;
    let member: String = m.try_get("id")?;
    tx.commit().await?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(AssertSqlSafe(format!("SELECT {MEMBER_COLS} FROM members WHERE gym_id = ? AND id = ? AND franchise_id = ? AND gym_id = ?")))
        .bind(&gym).bind(&member).bind(&franchise).bind(&gym)
        .fetch_one(&mut *tx)
        .await?;
    let t = now();
    let done = sqlx::query("UPDATE members SET visit_count = visit_count + 1, last_visit_at = ? WHERE gym_id = ? AND id = ? AND (last_visit_at IS NULL OR last_visit_at <= ?) AND franchise_id = ? AND gym_id = ?")
        .bind(t).bind(&gym).bind(&member).bind(t - time::Duration::minutes(10)).bind(&franchise).bind(&gym)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 1 {
        sqlx::query("INSERT INTO member_visits (id, gym_id, franchise_id, member_id, kiosk_id, at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(uuid::Uuid::now_v7().hyphenated().to_string())
            .bind(&gym).bind(&franchise).bind(&member).bind(&kiosk).bind(t)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A heartbeat written per request (the shape before coalescing).
async fn heartbeat_write(pool: &SqlitePool, hash: &str) -> sqlx::Result<()> {
    let (kiosk, gym, franchise) = token_check(pool, hash).await?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE kiosks SET last_seen_at = ?, app_version = ?, uptime_secs = ?, mic_status = ?, network_quality = ? WHERE id = ? AND status = ? AND franchise_id = ? AND gym_id = ?")
        .bind(now()).bind("2.4.1").bind(86400_i64).bind("ok").bind("good")
        .bind(&kiosk).bind("paired").bind(&franchise).bind(&gym)
        .execute(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!("SELECT {KIOSK_COLS} FROM kiosks WHERE gym_id = ? AND id = ? AND franchise_id = ? AND gym_id = ?")))
        .bind(&gym).bind(&kiosk).bind(&franchise).bind(&gym)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> Result<T, String> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("argument {i} ({name}) missing or invalid"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url: String = arg(&args, 1, "URL")?;
    let op = match args.get(2).map(String::as_str) {
        Some("badge") => Op::Badge,
        Some("heartbeat") => Op::Heartbeat,
        Some("heartbeat-write") => Op::HeartbeatWrite,
        _ => return Err("operation: badge, heartbeat or heartbeat-write".into()),
    };
    let concurrency: usize = arg(&args, 3, "CONCURRENCY")?;
    let seconds: f64 = arg(&args, 4, "SECONDS")?;
    let tokens: usize = arg(&args, 5, "TOKENS")?;
    let badges: usize = arg(&args, 6, "BADGES")?;
    let mut opts = jarvis_store::ConnectOptions::new(url);
    opts.max_connections = arg(&args, 7, "POOL")?;
    let store = jarvis_store::SqliteStore::connect(&opts).await?;
    let pool = store.pool().clone();
    let hashes: Arc<Vec<String>> = Arc::new(
        (1..=tokens)
            .map(|i| sha256_hex(&format!("jk_bench_{i}")))
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (pool, hashes, stop) = (pool.clone(), hashes.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0_u64;
            let mut n = w;
            // A cheap deterministic spread over the badges (xorshift).
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1);
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let hash = &hashes[n % hashes.len()];
                let t0 = Instant::now();
                let r = match op {
                    Op::Badge => {
                        let b = format!("BENCH-{:06}", x % badges as u64 + 1);
                        badge(&pool, hash, &b).await
                    }
                    Op::Heartbeat => token_check(&pool, hash).await.map(|_| ()),
                    Op::HeartbeatWrite => heartbeat_write(&pool, hash).await,
                };
                lat.push(t0.elapsed());
                if let Err(e) = r {
                    errors += 1;
                    if errors == 1 {
                        eprintln!("worker {w}: {e}");
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "RESULT {{\"requests\":{},\"seconds\":{:.3},\"rps\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"non2xx\":{},\"socket_errors\":0}}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(all[all.len() - 1]),
        errors
    );
    Ok(())
}
