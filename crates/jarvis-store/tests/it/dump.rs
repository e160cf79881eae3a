//! The whole-database dump: the column kinds the portable format relies on match PostgreSQL's
//! types, the tables the migrations fill are the ones the import treats as reference data, and
//! a dump's load order puts referenced tables first (both backends).

use jarvis_store::dump::{ColumnKind, SEEDED_TABLES, column_kind};
use jarvis_store::testing::TestDb;
use jarvis_store::*;

async fn nonempty_tables(store: &dyn Store) -> Vec<String> {
    let mut loader = store.dump_loader().await.unwrap();
    let mut out = Vec::new();
    for t in loader.tables().await.unwrap() {
        if loader.count(&t.name).await.unwrap() > 0 {
            out.push(t.name);
        }
    }
    out
}

#[tokio::test]
async fn fresh_sqlite_holds_only_the_seeded_reference_tables() {
    let db = TestDb::sqlite().await.unwrap();
    assert_eq!(nonempty_tables(db.store().as_ref()).await, SEEDED_TABLES);
}

#[tokio::test]
async fn column_kinds_match_postgres_types_postgres() {
    let db = TestDb::postgres().await.unwrap();
    assert_eq!(nonempty_tables(db.store().as_ref()).await, SEEDED_TABLES);
    let pool = db.pg().unwrap().pool();
    let cols: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(cols.len() > 100);
    let mut wrong = Vec::new();
    for (t, c, ty) in &cols {
        let expected = match ty.as_str() {
            "timestamp with time zone" => ColumnKind::Time,
            "boolean" => ColumnKind::Bool,
            "jsonb" | "json" => ColumnKind::Json,
            "bytea" => ColumnKind::Bytes,
            "double precision" => ColumnKind::Float,
            "text" | "uuid" | "date" | "integer" | "bigint" | "smallint" | "character varying" => {
                ColumnKind::Plain
            }
            other => {
                wrong.push(format!("{t}.{c}: type {other} has no portable form yet"));
                continue;
            }
        };
        if column_kind(c) != expected {
            wrong.push(format!(
                "{t}.{c} is {ty} but column_kind says {:?}",
                column_kind(c)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "rename the column or extend jarvis_store::dump::column_kind: {wrong:#?}"
    );
}

#[tokio::test]
async fn load_order_puts_referenced_tables_first() {
    let db = TestDb::sqlite().await.unwrap();
    let mut r = db.store().dump_reader().await.unwrap();
    let names: Vec<String> = r
        .tables()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(pos("franchises") < pos("gyms"));
    assert!(pos("gyms") < pos("members"));
    assert!(pos("members") < pos("member_visits"));
    assert!(pos("voice_sessions") < pos("conversation_turns"));
    assert!(pos("jobs") < pos("job_runs"));
    assert!(!names.iter().any(|n| n == "_sqlx_migrations"));
    r.finish().await.unwrap();
}
