//! `jarvis simulate`: against the fake OpenAI in this process, a scenario file with a passing
//! and a failing scenario prints both verdicts and exits non-zero; one with only the passing
//! scenario exits zero; a bad file is refused before anything runs.

use jarvis_core::Scope;
use jarvis_core::model::*;
use jarvis_fake_openai::{ChatScript, FakeConfig, FakeOpenAi, Script, TEST_API_KEY, Turn};
use std::process::{Command, Output};

fn jarvis(dir: &std::path::Path, db: &str, openai: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jarvis"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("JARVIS_") {
            c.env_remove(k);
        }
    }
    c.env("JARVIS_LOG_LEVEL", "warn");
    c.env("JARVIS_DATABASE_URL", db);
    c.env("JARVIS_OPENAI_API_KEY", TEST_API_KEY);
    c.env("JARVIS_OPENAI_BASE_URL", openai);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn simulate_reports_each_scenario_and_fails_on_a_failing_one() {
    let fake = FakeOpenAi::start(FakeConfig {
        real_webrtc: false,
        script: Script {
            turns: vec![Turn::Say("Le yoga est à 18 h.".into())],
            repeat: true,
            ..Script::default()
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("j.db").display());
    let store = jarvis_store::connect(&jarvis_store::ConnectOptions::new(&db))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let f = store
        .create_franchise(
            &Scope::Platform,
            &Actor::cli(),
            NewFranchise { name: "F".into() },
        )
        .await
        .unwrap();
    let g = store
        .create_gym(
            &Scope::Platform,
            &Actor::cli(),
            NewGym {
                franchise_id: f.id,
                name: "G".into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::Fr,
                settings: serde_json::json!({}),
            },
            GymStatus::Active,
        )
        .await
        .unwrap();
    store.close().await;
    let passing = serde_json::json!({"name": "yoga", "persona": {"scripted": {"turns": ["Yoga ?"]}},
        "expect": {"must_mention": ["the yoga time"]}});
    let failing = serde_json::json!({"name": "cancel", "persona": {"scripted": {"turns": ["Je résilie."]}},
        "expect": {"must_call_tool": ["hand_off_to_staff"]}});
    let both = dir.path().join("both.json");
    std::fs::write(
        &both,
        serde_json::json!({"scenarios": [passing, failing]}).to_string(),
    )
    .unwrap();
    let verdict = serde_json::json!({"pass": true,
        "reasons": [{"expectation": 1, "met": true, "reason": "it said 18 h"}]});
    fake.handle.push_chat(ChatScript::Json(verdict.clone()));
    let gym = g.id.to_string();
    let base = fake.base_url();
    let out = jarvis(dir.path(), &db, &base)
        .args(["simulate", "--gym", &gym, "--scenarios"])
        .arg(&both)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("[1/2] yoga") && t.contains("[2/2] cancel"),
        "{t}"
    );
    assert!(t.contains("PASS") && t.contains("FAIL"), "{t}");
    assert!(
        t.contains("it said 18 h") && t.contains("never called"),
        "{t}"
    );
    assert!(t.contains("1/2 scenario(s) passed"), "{t}");

    let one = dir.path().join("one.json");
    std::fs::write(
        &one,
        serde_json::json!({"scenarios": [passing]}).to_string(),
    )
    .unwrap();
    fake.handle.push_chat(ChatScript::Json(verdict));
    let out = jarvis(dir.path(), &db, &base)
        .args(["simulate", "--gym", &gym, "--scenarios"])
        .arg(&one)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"scenarios": []}"#).unwrap();
    let out = jarvis(dir.path(), &db, &base)
        .args(["simulate", "--gym", &gym, "--scenarios"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a valid scenario file"),
        "{}",
        text(&out)
    );
}
