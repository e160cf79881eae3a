//! Schema fuzz: schemathesis runs every operation of the served `/api/v1/openapi.json` against
//! the real app on a fresh database, signed in as a gym manager and as a super admin, with the
//! checks `not_a_server_error`, `status_code_conformance`, `content_type_conformance`,
//! `response_schema_conformance` and `negative_data_rejection`, and must report 0 failures.
//!
//! `scripts/test-all.sh` installs a pinned schemathesis in `.venv-test/` and points
//! `JARVIS_SCHEMATHESIS` at its `st`. Without it the test is skipped loudly, and fails in CI.

use crate::common;

use common::{Backend, TestApp, TestUser};
use jarvis_core::Role;
use jarvis_core::model::MembershipTarget;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The checks the issue asks for.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection";

/// Wall-clock cap of one schemathesis run; past it the run is killed and the test fails. The run
/// is bounded by its example count; this only catches a hang, so it leaves room for a loaded
/// 2-core machine (a run takes about 90 s alone, over 200 s beside parallel builds).
const WALL_CLOCK: Duration = Duration::from_secs(540);

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The `st` executable, or `None` (after a loud notice) when it is not installed outside CI.
fn schemathesis() -> Option<PathBuf> {
    match std::env::var_os("JARVIS_SCHEMATHESIS") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        other => {
            let why = match other {
                Some(p) => format!("JARVIS_SCHEMATHESIS={} is not a file", p.to_string_lossy()),
                None => "JARVIS_SCHEMATHESIS is not set".to_string(),
            };
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{why}: the schema fuzz is mandatory in CI (scripts/test-all.sh installs it)"
                );
            }
            eprintln!(
                "\n*** SKIPPED: schema fuzz: {why}; run scripts/test-all.sh or set it to a schemathesis `st` ***\n"
            );
            None
        }
    }
}

/// Ids of the seeded tenant, and the device token of a paired kiosk.
struct Seed {
    franchise: String,
    gym: String,
    device_token: String,
    /// Fixed path parameters for every operation: (name, value).
    common: Vec<(&'static str, String)>,
    /// Fixed path parameters of one operation: (operation, name, value). Operations that
    /// delete, archive or revoke get a resource of their own, so the others keep theirs.
    per_operation: Vec<(&'static str, &'static str, String)>,
}

async fn created(app: &TestApp, path: &str, body: Value) -> String {
    let (s, v) = app.post(path, body).await;
    assert!(s == 201 || s == 200, "POST {path}: {s} {v}");
    v["id"].as_str().unwrap().to_string()
}

async fn seed(app: &TestApp) -> Seed {
    let franchise = created(app, "/api/v1/franchises", json!({ "name": "Fuzz" })).await;
    let spare_franchise = created(app, "/api/v1/franchises", json!({ "name": "Spare" })).await;
    let gym_in =
        |name: &str| json!({ "franchise_id": franchise, "name": name, "timezone": "Europe/Paris" });
    let gym = created(app, "/api/v1/gyms", gym_in("Fuzz Gym")).await;
    let spare_gym = created(app, "/api/v1/gyms", gym_in("Spare Gym")).await;
    let g = format!("/api/v1/gyms/{gym}");
    let member = |badge: &str| json!({ "badge_id": badge, "first_name": "Ann", "last_name": "Lee", "email": "ann@fuzz.example", "consent_voice": true });
    let m = created(app, &format!("{g}/members"), member("F1")).await;
    let deleted_member = created(app, &format!("{g}/members"), member("F2")).await;
    let erased_member = created(app, &format!("{g}/members"), member("F3")).await;
    let kiosk = created(app, &format!("{g}/kiosks"), json!({ "name": "Door" })).await;
    let revoked_kiosk = created(app, &format!("{g}/kiosks"), json!({ "name": "Gate" })).await;
    let device = created(app, &format!("{g}/kiosks"), json!({ "name": "Desk" })).await;
    let (s, code) = app
        .post(&format!("{g}/kiosks/{device}/pairing-code"), json!({}))
        .await;
    assert_eq!(s, 201, "{code}");
    let (s, paired) = common::send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code["code"] })),
    )
    .await;
    assert_eq!(s, 200, "{paired}");
    let class_body = json!({ "name": "Yoga", "weekday": "mon", "start_time": "18:00", "duration_minutes": 60, "capacity": 12, "recurring": true });
    let class = created(app, &format!("{g}/classes"), class_body.clone()).await;
    let deleted_class = created(app, &format!("{g}/classes"), class_body).await;
    let fact_body = json!({ "note": "prefers mornings" });
    let fact = created(app, &format!("{g}/members/{m}/facts"), fact_body.clone()).await;
    let deleted_fact = created(app, &format!("{g}/members/{m}/facts"), fact_body).await;
    let resp = app
        .req(
            reqwest::Method::POST,
            &format!("{g}/members/import?dry_run=true"),
        )
        .header("content-type", "text/csv")
        .body("badge_id,first_name,last_name\nF9,Bo,Ng\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let import = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let invite = |email: &str| json!({ "email": email, "display_name": "Invitee", "role": "gym_staff", "gym_id": gym });
    let invitation = created(app, "/api/v1/invitations", invite("a@fuzz.example")).await;
    let revoked_invitation = created(app, "/api/v1/invitations", invite("b@fuzz.example")).await;
    Seed {
        common: vec![
            ("gym_id", gym.clone()),
            ("member_id", m.clone()),
            ("kiosk_id", kiosk),
            ("class_id", class),
            ("fact_id", fact),
            ("import_id", import),
            ("badge", "F1".into()),
        ],
        per_operation: vec![
            ("GET /api/v1/franchises/{id}", "id", franchise.clone()),
            ("PATCH /api/v1/franchises/{id}", "id", franchise.clone()),
            ("DELETE /api/v1/franchises/{id}", "id", spare_franchise),
            ("GET /api/v1/gyms/{id}", "id", gym.clone()),
            ("PATCH /api/v1/gyms/{id}", "id", gym.clone()),
            ("DELETE /api/v1/gyms/{id}", "id", spare_gym.clone()),
            ("POST /api/v1/gyms/{id}/status", "id", spare_gym),
            (
                "DELETE /api/v1/gyms/{gym_id}/members/{member_id}",
                "member_id",
                deleted_member,
            ),
            (
                "POST /api/v1/gyms/{gym_id}/members/{member_id}/erase",
                "member_id",
                erased_member,
            ),
            (
                "POST /api/v1/gyms/{gym_id}/kiosks/{kiosk_id}/revoke",
                "kiosk_id",
                revoked_kiosk,
            ),
            (
                "DELETE /api/v1/gyms/{gym_id}/classes/{class_id}",
                "class_id",
                deleted_class,
            ),
            (
                "DELETE /api/v1/gyms/{gym_id}/members/{member_id}/facts/{fact_id}",
                "fact_id",
                deleted_fact,
            ),
            ("POST /api/v1/invitations/{id}/resend", "id", invitation),
            ("DELETE /api/v1/invitations/{id}", "id", revoked_invitation),
        ],
        franchise,
        gym,
        device_token: paired["device_token"].as_str().unwrap().to_string(),
    }
}

/// The schemathesis configuration: real ids for path parameters (so requests get past the 404
/// of a random id into the handlers), the device token for the kiosk device API, and for the
/// two operations that would end the run's own session, a session or a user of their own.
fn config(seed: &Seed, spare_session: &str, throwaway_token: &str) -> String {
    let mut c = String::from("[parameters]\n");
    for (name, value) in &seed.common {
        c += &format!("\"path.{name}\" = \"{value}\"\n");
    }
    let mut per_operation: Vec<(&str, String)> = seed
        .per_operation
        .iter()
        .map(|(op, name, value)| {
            (
                *op,
                format!("parameters = {{ \"path.{name}\" = \"{value}\" }}"),
            )
        })
        .collect();
    per_operation.push((
        "DELETE /api/v1/auth/sessions/{id}",
        format!("parameters = {{ \"path.id\" = \"{spare_session}\" }}"),
    ));
    per_operation.push((
        "POST /api/v1/auth/logout",
        format!("headers = {{ Authorization = \"Bearer {throwaway_token}\" }}"),
    ));
    for op in [
        "POST /api/v1/kiosk/heartbeat",
        "GET /api/v1/kiosk/config",
        "GET /api/v1/kiosk/members/by-badge/{badge}",
    ] {
        per_operation.push((
            op,
            format!(
                "headers = {{ Authorization = \"Bearer {}\" }}",
                seed.device_token
            ),
        ));
    }
    for (op, body) in per_operation {
        c += &format!("\n[[operations]]\ninclude-name = \"{op}\"\n{body}\n");
    }
    c
}

/// Runs schemathesis once for `who`; returns its output, or why it failed.
fn run_schemathesis(
    st: &Path,
    base: &str,
    who: &str,
    token: &str,
    dir: &Path,
) -> Result<String, String> {
    let out_path = dir.join(format!("{who}.log"));
    let out = std::fs::File::create(&out_path).unwrap();
    let started = Instant::now();
    let mut child = Command::new(st)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["--config-file", "schemathesis.toml"])
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--url", base])
        .args(["--checks", CHECKS])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--max-examples",
            &env_or("JARVIS_SCHEMATHESIS_EXAMPLES", "10"),
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        // A fixed seed keeps CI reproducible; set another to explore further locally.
        .args(["--seed", &env_or("JARVIS_SCHEMATHESIS_SEED", "7")])
        .args(["--generation-database", "none"])
        // One worker: Hypothesis' lambda descriptions race in CPython's `ast` across threads
        // ("AST constructor recursion depth mismatch"); the two roles run in parallel anyway.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .arg("--no-color")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("schemathesis starts");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > WALL_CLOCK {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = std::fs::read_to_string(&out_path).unwrap_or_default();
    eprintln!("schemathesis as {who}: {:.1?}", started.elapsed());
    match status {
        Some(s) if s.success() => Ok(log),
        Some(s) => Err(format!("schemathesis as {who} exited with {s}:\n{log}")),
        None => Err(format!(
            "schemathesis as {who} ran over {WALL_CLOCK:?} and was stopped:\n{log}"
        )),
    }
}

async fn fuzz(b: Backend, role: Role) {
    let Some(st) = schemathesis() else {
        return;
    };
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let seed = seed(&app).await;
    let (f, g) = (
        seed.franchise.parse::<uuid::Uuid>().unwrap().into(),
        seed.gym.parse::<uuid::Uuid>().unwrap().into(),
    );
    let user: TestUser = match role {
        Role::SuperAdmin => app.admin.clone(),
        Role::GymManager => {
            app.as_role(
                "manager@fuzz.local",
                Role::GymManager,
                MembershipTarget::Gym(f, g),
            )
            .await
        }
        other => panic!("no fuzz run for {other}"),
    };
    // A second session of the same user, for DELETE /api/v1/auth/sessions/{id}.
    let (s, _) = app.login(&user.email, common::PASSWORD).await;
    assert_eq!(s, 200);
    let (s, sessions) =
        common::send(app.req_as(&user.token, reqwest::Method::GET, "/api/v1/auth/sessions")).await;
    assert_eq!(s, 200, "{sessions}");
    let spare = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .expect("a second session");
    let throwaway = app
        .as_role(
            "logout@fuzz.local",
            Role::GymStaff,
            MembershipTarget::Gym(f, g),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        config(&seed, &spare, &throwaway.token),
    )
    .unwrap();
    let base = app.base.clone();
    let who = role.to_string();
    let dir_path = dir.path().to_path_buf();
    let token = user.token.clone();
    let result =
        tokio::task::spawn_blocking(move || run_schemathesis(&st, &base, &who, &token, &dir_path))
            .await
            .unwrap();
    app.stop().await;
    match result {
        Ok(log) => eprintln!("{log}"),
        Err(e) => panic!("{e}"),
    }
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn schemathesis_as_gym_manager() {
        fuzz(Backend::Sqlite, Role::GymManager).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn schemathesis_as_super_admin() {
        fuzz(Backend::Sqlite, Role::SuperAdmin).await;
    }
}

/// A run against PostgreSQL takes about three times as long as against SQLite here, so it runs
/// once, as the role that reaches every operation: the fuzz stays within its time budget and
/// still meets what only PostgreSQL refuses (NUL bytes in text, its integer ranges).
mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn schemathesis_as_super_admin() {
        fuzz(Backend::Postgres, Role::SuperAdmin).await;
    }
}
