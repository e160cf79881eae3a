//! `search_knowledge` in a real call: the model's call returns the gym's passages with their
//! entry titles (a paraphrase found through the question's embedding, metered against the
//! gym), and a failing embeddings call falls back to full-text search instead of an error.

use crate::*;
use jarvis_fake_openai::{Endpoint, Fault, ScriptedCall, Turn};
use serde_json::{Value, json};

pub async fn search_knowledge_cites_titles_and_falls_back_to_full_text(db: TestDb) {
    let script = Script::new(vec![
        Turn::Call {
            preamble: None,
            calls: vec![ScriptedCall::new(
                "search_knowledge",
                json!({"query": "Can I bring my dog?"}),
            )],
        },
        Turn::Say("Non, désolé.".into()),
        Turn::Call {
            preamble: None,
            calls: vec![ScriptedCall::new(
                "search_knowledge",
                json!({"query": "abonnement"}),
            )],
        },
        Turn::Say("Voilà.".into()),
    ]);
    let h = H::new(db, script).await;
    let fx = h.gym(json!({})).await;
    let s = h.store.as_ref();
    for (title, body) in [
        ("Animaux", "Les animaux de compagnie ne sont pas admis."),
        ("Formules", "Nos abonnements sont sans engagement."),
    ] {
        let new = NewKnowledgeEntry {
            title: title.into(),
            body: body.into(),
            tags: vec![],
            language: "fr".into(),
        };
        jarvis_app::knowledge::create(s, &fx.scope, &Actor::cli(), fx.gym.id, &new)
            .await
            .unwrap();
    }
    jarvis_app::knowledge::embed_gym(s, &h.client, &fx.scope, fx.gym.id, "text-embedding-3-small")
        .await
        .unwrap();
    let before = s.knowledge_usage(&fx.scope, fx.gym.id).await.unwrap();

    let (_, call_id) = h.start(&fx, "B-1").await;
    h.fake
        .handle
        .say(&call_id, "Je peux venir avec mon chien ?", 1.0);
    h.responses(2).await;
    let outputs = h.fake.handle.function_outputs(&call_id);
    let out: Value = serde_json::from_str(&outputs[0].1).unwrap();
    assert_eq!(out["results"][0]["title"], "Animaux", "{out}");
    let after = s.knowledge_usage(&fx.scope, fx.gym.id).await.unwrap();
    assert_eq!(
        after.calls,
        before.calls + 1,
        "the question's embedding is metered"
    );

    // The embeddings endpoint fails: full-text results, not an error.
    h.fake
        .handle
        .inject_n(Endpoint::Embeddings, Fault::ServerError, 5);
    h.fake.handle.say(&call_id, "Et les abonnements ?", 1.0);
    h.responses(4).await;
    let outputs = h.fake.handle.function_outputs(&call_id);
    let out: Value = serde_json::from_str(&outputs[1].1).unwrap();
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(out["results"][0]["title"], "Formules", "{out}");
}
