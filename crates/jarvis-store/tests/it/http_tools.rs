//! Conformance of `HttpToolStore` on both backends: create, list, update, rotate and delete
//! round-trip (the secret is only returned by `http_tool_secret`), names are unique per gym
//! (a conflict on `name`), and another gym's scope sees and changes nothing.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;

type S = Arc<dyn Store>;

async fn handle(db: &TestDb) -> S {
    jarvis_store::connect(&ConnectOptions {
        acquire_timeout: std::time::Duration::from_secs(120),
        ..ConnectOptions::new(db.url())
    })
    .await
    .unwrap()
}

async fn gym(s: &S, name: &str) -> (GymId, Scope) {
    let (g, scope) = jarvis_store::testing::active_gym(s.as_ref(), name, name).await;
    (g.id, scope)
}

fn tool(name: &str) -> ValidHttpTool {
    HttpToolInput {
        name: name.into(),
        description: "Checks the shop's stock".into(),
        parameters: serde_json::json!({"type": "object",
            "properties": {"item": {"type": "string", "maxLength": 40}}}),
        url: "https://shop.example.com/stock".into(),
        method: HttpToolMethod::Get,
        timeout_ms: Some(2_000),
        member_fields: vec![MemberField::FirstName, MemberField::MemberId],
        enabled: true,
    }
    .validate()
    .unwrap()
}

mod cases {
    use super::*;

    pub async fn tools_round_trip_and_are_scoped(db: &TestDb) {
        let s = handle(db).await;
        let a = Actor::cli();
        let (g, scope) = gym(&s, "Tools").await;
        let (g2, other) = gym(&s, "Other").await;
        let id = HttpToolId::new();
        let t = s
            .create_http_tool(&scope, &a, g, id, tool("check_stock"), "v1.sealed")
            .await
            .unwrap();
        assert_eq!(t.id, id);
        assert_eq!(t.method, HttpToolMethod::Get);
        assert_eq!(t.timeout_ms, 2_000);
        assert_eq!(
            t.member_fields,
            vec![MemberField::MemberId, MemberField::FirstName]
        );
        assert_eq!(t.parameters["properties"]["item"]["maxLength"], 40);
        assert_eq!(s.http_tool(&scope, g, id).await.unwrap(), t);
        assert_eq!(
            s.http_tool_secret(&scope, g, id).await.unwrap(),
            "v1.sealed"
        );

        // Names are unique per gym, not across gyms.
        let dup = s
            .create_http_tool(&scope, &a, g, HttpToolId::new(), tool("check_stock"), "x")
            .await
            .unwrap_err();
        assert!(
            matches!(&dup, StoreError::Conflict { field, .. } if *field == "name"),
            "{dup:?}"
        );
        s.create_http_tool(&other, &a, g2, HttpToolId::new(), tool("check_stock"), "x")
            .await
            .unwrap();

        let mut changed = tool("check_stock_v2");
        changed.enabled = false;
        changed.member_fields = vec![];
        let u = s
            .update_http_tool(&scope, &a, g, id, changed)
            .await
            .unwrap();
        assert_eq!(u.name, "check_stock_v2");
        assert!(!u.enabled);
        assert!(u.member_fields.is_empty());
        s.set_http_tool_secret(&scope, &a, g, id, "v1.rotated")
            .await
            .unwrap();
        assert_eq!(
            s.http_tool_secret(&scope, g, id).await.unwrap(),
            "v1.rotated"
        );
        assert_eq!(
            s.list_http_tools(&scope, g).await.unwrap(),
            vec![s.http_tool(&scope, g, id).await.unwrap()]
        );

        // Another gym's scope neither sees nor changes the tool.
        assert!(s.http_tool(&other, g, id).await.is_err());
        assert!(s.http_tool_secret(&other, g, id).await.is_err());
        assert!(
            s.list_http_tools(&other, g)
                .await
                .map_or(true, |v| v.is_empty())
        );
        assert!(s.delete_http_tool(&other, &a, g, id).await.is_err());
        assert!(
            s.set_http_tool_secret(&other, &a, g, id, "evil")
                .await
                .is_err()
        );
        assert_eq!(
            s.http_tool_secret(&scope, g, id).await.unwrap(),
            "v1.rotated"
        );

        s.delete_http_tool(&scope, &a, g, id).await.unwrap();
        assert!(matches!(
            s.http_tool(&scope, g, id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(db.find_text(&["v1.rotated"]).await.unwrap().is_empty());
    }
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::postgres().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
    };
}

both_backends!(tools_round_trip_and_are_scoped);
