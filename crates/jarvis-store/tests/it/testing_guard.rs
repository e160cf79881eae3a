//! The test helpers refuse a PostgreSQL test whose path does not say `postgres`: that name is
//! what `scripts/test-all.sh` filters on to report such tests as skipped (not passed) when no
//! server runs locally. Needs no server: the name is checked before connecting.

use jarvis_store::testing::TestDb;

#[tokio::test]
#[should_panic(expected = "`postgres` is not in its path")]
async fn a_database_test_must_name_its_backend() {
    let _ = TestDb::postgres().await;
}
