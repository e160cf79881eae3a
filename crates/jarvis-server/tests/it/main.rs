//! Integration tests of the HTTP layer: one binary, one module per subject (the real app on
//! 127.0.0.1:0 over HTTP, on SQLite and PostgreSQL through `common`'s `both_backends!`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// First, so its macros (`both_backends!`) are in scope in every module below.
#[macro_use]
mod common;

mod admin_area;
mod analysis_pages;
mod analytics_pages;
mod auth;
mod authz_matrix;
mod demo_page;
mod demo_scale;
mod gyms_members_kiosks;
mod hardening_gyms;
mod http_api;
mod kiosk_heartbeats;
mod kiosk_pair_limit;
mod kiosk_token_cache;
mod kiosk_voice;
mod knowledge;
mod leads;
mod list_pages;
mod metrics;
mod navigation;
mod openapi_doc;
mod openapi_fuzz;
mod ops_errors_page;
mod ops_jobs_page;
mod page_dates;
mod sentry_report;
mod team_invite;
mod tools;
mod usage_pages;
mod users;
mod voice_pages;
mod web;
mod web_perf;

/// Every integration test of this crate is a module of this one binary (one link instead of one
/// per file): a file left directly under `tests/` would build as a binary of its own, and a file
/// under `tests/it/` that is not declared above would silently never run.
#[test]
fn integration_tests_are_modules_of_this_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&tests),
        ["it"],
        "move these into tests/it/ as modules of main.rs"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).unwrap();
    for name in names(&tests.join("it")) {
        let module = name.strip_suffix(".rs").unwrap_or(&name);
        if module != "main" {
            assert!(
                main.contains(&format!("mod {module};")),
                "tests/it/{name} is not declared in tests/it/main.rs"
            );
        }
    }
}
