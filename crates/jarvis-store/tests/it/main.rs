//! Integration tests of the storage layer: one binary, one module per subject, each case on
//! SQLite and (in a `postgres` module) on PostgreSQL through `jarvis_store::testing::TestDb`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod analytics;
mod conformance;
mod crash;
mod dump;
mod gyms_members_kiosks;
mod hardening_gyms;
mod http_tools;
mod jobs;
mod leads;
mod list_sorts;
mod migrate_concurrently;
mod retention;
mod rls;
mod rls_accounts;
mod testing_guard;
mod voice;

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
