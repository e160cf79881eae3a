//! The knowledge base over HTTP on both backends, with the in-process fake OpenAI (demo mode):
//! the API's CRUD with errors naming the field, an import that writes nothing and names the bad
//! rows, search with each score, another gym's manager seeing nothing; the pages' empty state,
//! form errors by field, search, import errors by row and delete confirmation, in French.

use crate::common;

use crate::web::{get, hidden, post, web_login};
use common::{Backend, TestApp, send};
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::{Value, json};

async fn start(backend: Backend) -> Option<TestApp> {
    // No key: demo mode, the fake OpenAI answers the embeddings calls.
    TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await
}

async fn gym(app: &TestApp, name: &str) -> (FranchiseId, GymId) {
    let (s, f) = app
        .post("/api/v1/franchises", json!({ "name": name }))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap().to_string();
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({ "franchise_id": fid, "name": format!("{name} Gym"), "timezone": "Europe/Paris" }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    (
        fid.parse().unwrap(),
        g["id"].as_str().unwrap().parse().unwrap(),
    )
}

fn fields(v: &Value) -> Vec<String> {
    v["error"]["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn api_crud_import_search(backend: Backend) {
    let Some(app) = start(backend).await else {
        return;
    };
    let (_, g) = gym(&app, "Know").await;
    let (fb, gb) = gym(&app, "Other").await;
    let base = format!("/api/v1/gyms/{g}/knowledge");

    let (s, v) = app
        .post(
            &base,
            json!({ "title": " ", "body": "x", "language": "de" }),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(fields(&v), vec!["title", "language"], "{v}");

    let (s, e) = app
        .post(
            &base,
            json!({ "title": "Nos formules", "body": "Tous nos abonnements sont sans engagement.", "tags": ["Tarifs"], "language": "fr" }),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["tags"], json!(["tarifs"]));
    let id = e["id"].as_str().unwrap().to_string();
    let (s, v) = app.get(&format!("{base}/{id}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["chunks"], 1);

    // An import with one bad row writes nothing and names the row.
    let r = app
        .req(reqwest::Method::POST, &format!("{base}/import?format=csv"))
        .header("content-type", "text/csv")
        .body("title,body,tags,language\nParking,Gratuit,,fr\n,Sans titre,,fr\n")
        .send()
        .await
        .unwrap();
    let (s, v) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_eq!(s, 422, "{v}");
    assert_eq!(fields(&v), vec!["rows.3.title"]);
    let (_, list) = app.get(&base).await;
    assert_eq!(list["total"], 1);
    let r = app
        .req(
            reqwest::Method::POST,
            &format!("{base}/import?format=markdown&language=en"),
        )
        .body("# Pets\nDogs are not allowed inside.\n\n# Parking\nFree parking behind the building.\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let (_, list) = app.get(&format!("{base}?q=park")).await;
    assert_eq!(list["total"], 1, "{list}");

    // Search: the inflected French word by full text, each score reported. The embeddings job
    // may not have run yet: vectors then simply do not rank.
    let (s, r) = app
        .post(
            &format!("{base}/search"),
            json!({ "question": "Comment s'abonner ?" }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["hits"][0]["title"], "Nos formules", "{r}");
    assert_eq!(r["hits"][0]["fts_rank"], 1);
    assert!(r["hits"][0]["fused_score"].as_f64().unwrap() > 0.0);
    let (s, v) = app
        .post(&format!("{base}/search"), json!({ "question": "" }))
        .await;
    assert_eq!(s, 422);
    assert_eq!(fields(&v), vec!["question"]);

    // Another gym's manager sees nothing of it.
    let other = app
        .as_role(
            "know-b@example.com",
            Role::GymManager,
            MembershipTarget::Gym(fb, gb),
        )
        .await;
    for (m, p) in [
        (reqwest::Method::GET, base.clone()),
        (reqwest::Method::GET, format!("{base}/{id}")),
        (reqwest::Method::DELETE, format!("{base}/{id}")),
    ] {
        let (s, _) = send(app.req_as(&other.token, m, &p)).await;
        assert_eq!(s, 404, "{p}");
    }
    let (s, _) = send(
        app.req_as(
            &other.token,
            reqwest::Method::POST,
            &format!("{base}/search"),
        )
        .json(&json!({ "question": "abonnement" })),
    )
    .await;
    assert_eq!(s, 404);

    let (s, v) = send(
        app.req(reqwest::Method::PUT, &format!("{base}/{id}"))
            .json(&json!({ "title": "Formules", "body": "Sans engagement.", "language": "fr" })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = send(app.req(reqwest::Method::DELETE, &format!("{base}/{id}"))).await;
    assert_eq!(s, 204);
    let (s, _) = app.get(&format!("{base}/{id}")).await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn sqlite_knowledge_api() {
    api_crud_import_search(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_knowledge_api() {
    api_crud_import_search(Backend::Postgres).await;
}

async fn pages(backend: Backend) {
    let Some(app) = start(backend).await else {
        return;
    };
    let (f, g) = gym(&app, "Pages").await;
    let manager = app
        .as_role(
            "know-page@example.com",
            Role::GymManager,
            MembershipTarget::Gym(f, g),
        )
        .await;
    // A French page (the language cookie the switch sets).
    let session = format!(
        "{}; jarvis_lang=fr",
        web_login(&app, &manager.email, manager.totp.as_deref()).await
    );
    let path = format!("/app/gyms/{g}/knowledge");
    let (s, html) = get(&app, &session, &path).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"knowledge-empty\""), "{html}");
    assert!(html.contains("Base de connaissances"));
    assert!(
        html.contains(&format!("href=\"{path}\"")),
        "the gym navigation links the area"
    );
    let csrf = hidden(&html, "csrf");

    // The form shows errors by field.
    let (s, html) = post(
        &app,
        &session,
        &path,
        &crate::web::form(&[
            ("csrf", &csrf),
            ("title", ""),
            ("body", "Texte"),
            ("language", "fr"),
        ]),
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("id=\"error-title\""), "{html}");
    assert!(html.contains("obligatoire"), "French message: {html}");
    let (s, _) = post(
        &app,
        &session,
        &path,
        &crate::web::form(&[
            ("csrf", &csrf),
            ("title", "Animaux"),
            ("body", "Les animaux de compagnie ne sont pas admis."),
            ("tags", "règles"),
            ("language", "fr"),
        ]),
    )
    .await;
    assert_eq!(s, 303);
    let (_, html) = get(&app, &session, &path).await;
    assert!(html.contains("Animaux") && html.contains("règles"));

    // Import errors by row; nothing written.
    let (s, html) = post(
        &app,
        &session,
        &format!("{path}/import"),
        &crate::web::form(&[
            ("csrf", &csrf),
            ("format", "csv"),
            ("language", "fr"),
            ("content", "title,body\nOK,Texte\n,Sans titre\n"),
        ]),
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("id=\"import-errors\""), "{html}");
    assert!(html.contains("ligne 3"), "{html}");
    assert!(!html.contains(">OK<"));

    // The server's knowledge.embed job embeds the new entry (the fake's embeddings).
    let mut embedded = false;
    for _ in 0..100 {
        let (_, list) = app.get(&format!("/api/v1/gyms/{g}/knowledge")).await;
        if list["items"][0]["embedded_chunks"] == 1 {
            embedded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(embedded, "the embedding job ran");

    // "Try a question": the ranked passages with each score (a paraphrase: vectors only).
    let (s, html) = post(
        &app,
        &session,
        &format!("{path}/search"),
        &crate::web::form(&[("csrf", &csrf), ("question", "Can I bring my dog?")]),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("id=\"hits\""), "{html}");
    assert!(html.contains("Score fusionné"));
    assert!(html.contains("Animaux"));
    assert!(!html.contains("id=\"vector-failed\""));

    // Delete asks first.
    let (_, list) = app.get(&format!("/api/v1/gyms/{g}/knowledge")).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let (s, html) = get(&app, &session, &format!("{path}/{id}/delete")).await;
    assert_eq!(s, 200);
    assert!(html.contains("Supprimer cette entrée"));
    let (s, _) = post(
        &app,
        &session,
        &format!("{path}/{id}/delete"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(s, 303);
    let (_, list) = app.get(&format!("/api/v1/gyms/{g}/knowledge")).await;
    assert_eq!(list["total"], 0);
    app.stop().await;
}

#[tokio::test]
async fn sqlite_knowledge_pages() {
    pages(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_knowledge_pages() {
    pages(Backend::Postgres).await;
}
