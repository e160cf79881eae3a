//! The knowledge base on SQLite and PostgreSQL, against the fake OpenAI: French inflections
//! and paraphrases are found, hybrid ranking beats full-text and vectors alone on the labelled
//! set (`knowledge_labelled.json`), gyms never see each other's entries, the embedding job
//! computes and recomputes on a model change with every call metered, imports write all or
//! nothing with errors by row, and a failing embeddings call leaves full-text search working.

use jarvis_app::jobs::JobCtx;
use jarvis_app::knowledge::{self, Embedder, ExactCosine, ImportFormat};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_fake_openai::{Endpoint, FakeConfig, FakeOpenAi, Fault, TEST_API_KEY};
use jarvis_openai::{ApiKey, OpenAiClient, OpenAiConfig, RetryPolicy};
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use std::time::Duration;

type S = Arc<dyn Store>;

const SMALL: &str = "text-embedding-3-small";
const LARGE: &str = "text-embedding-3-large";

struct H {
    store: S,
    fake: FakeOpenAi,
    client: Arc<OpenAiClient>,
}

impl H {
    async fn new(store: S) -> H {
        let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
        let mut cfg = OpenAiConfig::new(fake.base_url(), ApiKey::new(TEST_API_KEY)).unwrap();
        cfg.request_timeout = Duration::from_secs(3);
        cfg.retry = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        let client = Arc::new(OpenAiClient::new(cfg).unwrap());
        H {
            store,
            fake,
            client,
        }
    }

    async fn gym(&self, name: &str) -> (Scope, GymId) {
        let a = Actor::cli();
        let f = self
            .store
            .create_franchise(&Scope::Platform, &a, NewFranchise { name: name.into() })
            .await
            .unwrap();
        let new = NewGym {
            franchise_id: f.id,
            name: name.into(),
            address: None,
            timezone: "Europe/Paris".into(),
            locale: Locale::Fr,
            settings: serde_json::json!({}),
        }
        .validate()
        .unwrap();
        let g = self
            .store
            .create_gym(&Scope::Platform, &a, new, GymStatus::Active)
            .await
            .unwrap();
        (
            Scope::Gym {
                franchise: f.id,
                gym: g.id,
            },
            g.id,
        )
    }

    async fn add(&self, sc: &Scope, gym: GymId, title: &str, body: &str, lang: &str) {
        let new = NewKnowledgeEntry {
            title: title.into(),
            body: body.into(),
            tags: vec![],
            language: lang.into(),
        };
        knowledge::create(self.store.as_ref(), sc, &Actor::cli(), gym, &new)
            .await
            .unwrap();
    }

    async fn search(&self, sc: &Scope, gym: GymId, q: &str) -> knowledge::SearchResult {
        let index = ExactCosine::new(self.store.clone());
        knowledge::search(
            self.store.as_ref(),
            self.client.as_ref(),
            &index,
            sc,
            gym,
            SMALL,
            q,
            50,
        )
        .await
        .unwrap()
    }
}

async fn inflections_and_paraphrases(store: S) {
    let h = H::new(store).await;
    let (sc, gym) = h.gym("A").await;
    h.add(
        &sc,
        gym,
        "Nos formules",
        "Tous nos abonnements sont sans engagement.",
        "fr",
    )
    .await;
    h.add(
        &sc,
        gym,
        "Animaux",
        "Les animaux de compagnie ne sont pas admis.",
        "fr",
    )
    .await;
    h.add(
        &sc,
        gym,
        "Parking",
        "Free parking behind the building.",
        "en",
    )
    .await;
    knowledge::embed_gym(h.store.as_ref(), h.client.as_ref(), &sc, gym, SMALL)
        .await
        .unwrap();

    // A French inflection: the entry says "abonnements", the member says "s'abonner".
    for q in ["Comment s'abonner ?", "abonnement"] {
        let r = h.search(&sc, gym, q).await;
        let top = &r.hits[0];
        assert_eq!(top.title, "Nos formules", "{q}");
        assert_eq!(top.fts_rank, Some(1), "{q}: found by full-text");
    }
    // A paraphrase in another language: no shared stem, found by the vectors.
    let r = h.search(&sc, gym, "Can I bring my dog?").await;
    let top = &r.hits[0];
    assert_eq!(top.title, "Animaux");
    assert_eq!(top.fts_rank, None, "no shared stem");
    assert_eq!(top.vector_rank, Some(1));
    assert!(top.vector_score.unwrap() > 0.2);
}

#[tokio::test]
async fn sqlite_inflections_and_paraphrases_are_found() {
    inflections_and_paraphrases(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_inflections_and_paraphrases_are_found() {
    let db = TestDb::postgres().await.unwrap();
    inflections_and_paraphrases(db.store()).await;
}

#[derive(serde::Deserialize)]
struct Labelled {
    entries: Vec<NewKnowledgeEntry>,
    questions: Vec<LabelledQuestion>,
}

#[derive(serde::Deserialize)]
struct LabelledQuestion {
    question: String,
    expected: String,
}

/// Mean reciprocal rank of the expected entry, for each ordering of the hits.
async fn labelled(store: S) -> (f64, f64, f64) {
    let h = H::new(store).await;
    let (sc, gym) = h.gym("A").await;
    let set: Labelled = serde_json::from_str(include_str!("knowledge_labelled.json")).unwrap();
    for e in &set.entries {
        knowledge::create(h.store.as_ref(), &sc, &Actor::cli(), gym, e)
            .await
            .unwrap();
    }
    knowledge::embed_gym(h.store.as_ref(), h.client.as_ref(), &sc, gym, SMALL)
        .await
        .unwrap();
    let (mut fts, mut vec, mut hyb) = (0.0, 0.0, 0.0);
    let rr = |hits: &[&KnowledgeHit], want: &str| {
        hits.iter()
            .position(|h| h.title == want)
            .map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
    };
    for q in &set.questions {
        let r = h.search(&sc, gym, &q.question).await;
        assert!(r.vector_error.is_none());
        let mut by_fts: Vec<&KnowledgeHit> =
            r.hits.iter().filter(|h| h.fts_rank.is_some()).collect();
        by_fts.sort_by_key(|h| h.fts_rank);
        let mut by_vec: Vec<&KnowledgeHit> =
            r.hits.iter().filter(|h| h.vector_rank.is_some()).collect();
        by_vec.sort_by_key(|h| h.vector_rank);
        let fused: Vec<&KnowledgeHit> = r.hits.iter().collect();
        let (a, b, c) = (
            rr(&by_fts, &q.expected),
            rr(&by_vec, &q.expected),
            rr(&fused, &q.expected),
        );
        println!(
            "{:<45} fts {a:.2} vec {b:.2} hybrid {c:.2}  (top: {:?} / {:?} / {:?})",
            q.question,
            by_fts.first().map(|h| &h.title),
            by_vec.first().map(|h| &h.title),
            fused.first().map(|h| &h.title)
        );
        fts += a;
        vec += b;
        hyb += c;
    }
    let n = set.questions.len() as f64;
    (fts / n, vec / n, hyb / n)
}

async fn hybrid_beats_each_alone(store: S) {
    let (fts, vec, hybrid) = labelled(store).await;
    println!("MRR: full-text {fts:.3}, vector {vec:.3}, hybrid {hybrid:.3}");
    assert!(hybrid > fts, "hybrid {hybrid} vs full-text {fts}");
    assert!(hybrid > vec, "hybrid {hybrid} vs vector {vec}");
}

#[tokio::test]
async fn sqlite_hybrid_ranking_beats_full_text_and_vectors_alone() {
    hybrid_beats_each_alone(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_hybrid_ranking_beats_full_text_and_vectors_alone() {
    let db = TestDb::postgres().await.unwrap();
    hybrid_beats_each_alone(db.store()).await;
}

async fn tenant_isolation(store: S) {
    let h = H::new(store).await;
    let (sa, a) = h.gym("A").await;
    let (sb, b) = h.gym("B").await;
    h.add(&sa, a, "Sauna", "Le sauna est ouvert le soir.", "fr")
        .await;
    h.add(&sb, b, "Sauna B", "Le sauna de B est fermé.", "fr")
        .await;
    for (sc, g) in [(&sa, a), (&sb, b)] {
        knowledge::embed_gym(h.store.as_ref(), h.client.as_ref(), sc, g, SMALL)
            .await
            .unwrap();
    }
    let r = h.search(&sa, a, "sauna").await;
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].title, "Sauna");
    // Gym A's scope cannot reach B's entries, even naming B.
    let err = knowledge::list(
        h.store.as_ref(),
        &sa,
        b,
        None,
        SMALL,
        PageRequest::default(),
    )
    .await;
    assert!(err.is_err() || err.unwrap().items.is_empty());
    let listed = knowledge::list(
        h.store.as_ref(),
        &sa,
        a,
        None,
        SMALL,
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(listed.total, 1);
    let b_entry = knowledge::list(
        h.store.as_ref(),
        &sb,
        b,
        None,
        SMALL,
        PageRequest::default(),
    )
    .await
    .unwrap()
    .items[0]
        .id;
    assert!(
        knowledge::get(h.store.as_ref(), &sa, a, b_entry, SMALL)
            .await
            .is_err()
    );
    assert!(
        knowledge::delete(h.store.as_ref(), &sa, &Actor::cli(), a, b_entry)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sqlite_a_gym_never_gets_another_gyms_entries() {
    tenant_isolation(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_a_gym_never_gets_another_gyms_entries() {
    let db = TestDb::postgres().await.unwrap();
    tenant_isolation(db.store()).await;
}

async fn embedding_job(store: S) {
    let h = H::new(store).await;
    let (sc, gym) = h.gym("A").await;
    let long = "Une phrase sur les horaires du club. ".repeat(40);
    h.add(&sc, gym, "Horaires", &long, "fr").await;
    h.add(&sc, gym, "Parking", "Parking gratuit.", "fr").await;
    let e = knowledge::list(
        h.store.as_ref(),
        &sc,
        gym,
        None,
        SMALL,
        PageRequest::default(),
    )
    .await
    .unwrap();
    let chunks: u32 = e.items.iter().map(|e| e.chunks).sum();
    assert!(chunks >= 3, "the long body is cut: {chunks}");
    assert!(e.items.iter().all(|e| e.embedded_chunks == 0));

    // Creating an entry queued a knowledge.embed job for the gym: run it as the runner would.
    let jobs = h
        .store
        .list_jobs(
            &JobFilter {
                kind: Some("knowledge.embed".into()),
                gym_id: Some(gym),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(jobs.total >= 1);
    let job = jobs.items[0].clone();
    let embedder: Arc<dyn Embedder> = h.client.clone();
    knowledge::run_embed_job(
        h.store.clone(),
        embedder.clone(),
        SMALL.into(),
        JobCtx::detached(job.clone()),
        job.payload.clone(),
    )
    .await
    .unwrap();
    let e = knowledge::list(
        h.store.as_ref(),
        &sc,
        gym,
        None,
        SMALL,
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert!(e.items.iter().all(|e| e.embedded_chunks == e.chunks));
    let small = h.store.knowledge_vectors(&sc, gym, SMALL).await.unwrap();
    assert_eq!(small.len(), chunks as usize);
    assert_eq!(small[0].vector.len(), 1536 * 4, "f32 blobs");
    let usage = h.store.knowledge_usage(&sc, gym).await.unwrap();
    assert!(usage.calls >= 1 && usage.input_tokens > 0 && usage.cost_pico > 0);
    // Metered like every call: the gym's month-to-date spend includes it.
    let spend = h
        .store
        .month_to_date(
            &sc,
            gym,
            jarvis_core::cost::BudgetPeriod::of(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
    assert_eq!(spend.cost_pico, usage.cost_pico);
    // The fake's ledger saw the same calls.
    assert!(h.fake.handle.ledger().iter().any(|l| l.model == SMALL));

    // A second run has nothing left to do.
    assert_eq!(
        knowledge::embed_gym(h.store.as_ref(), h.client.as_ref(), &sc, gym, SMALL)
            .await
            .unwrap(),
        0
    );

    // The model setting changes: the sweep re-embeds every chunk with the new model.
    let n = knowledge::embed_all(h.store.as_ref(), h.client.as_ref(), LARGE)
        .await
        .unwrap();
    assert_eq!(n, u64::from(chunks));
    assert!(
        h.store
            .knowledge_vectors(&sc, gym, SMALL)
            .await
            .unwrap()
            .is_empty()
    );
    let large = h.store.knowledge_vectors(&sc, gym, LARGE).await.unwrap();
    assert_eq!(large.len(), chunks as usize);
    assert_eq!(large[0].vector.len(), 3072 * 4);

    // Editing an entry drops its embeddings until the job runs again.
    let id = e.items.iter().find(|e| e.title == "Parking").unwrap().id;
    let new = NewKnowledgeEntry {
        title: "Parking".into(),
        body: "Parking payant.".into(),
        tags: vec![],
        language: "fr".into(),
    };
    let after = knowledge::update(h.store.as_ref(), &sc, &Actor::cli(), gym, id, &new)
        .await
        .unwrap();
    assert_eq!(after.embedded_chunks, 0);
    assert_eq!(
        knowledge::embed_gym(h.store.as_ref(), h.client.as_ref(), &sc, gym, LARGE)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn sqlite_the_embedding_job_computes_and_recomputes_on_model_change() {
    embedding_job(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_the_embedding_job_computes_and_recomputes_on_model_change() {
    let db = TestDb::postgres().await.unwrap();
    embedding_job(db.store()).await;
}

async fn import_errors_by_row(store: S) {
    let h = H::new(store).await;
    let (sc, gym) = h.gym("A").await;
    let s = h.store.as_ref();
    let a = Actor::cli();
    let bad = "title,body,tags,language\nHoraires,Ouvert 6h-23h,horaires,fr\n,Sans titre,,fr\nParking,Gratuit,,de\n";
    let err = knowledge::import(
        s,
        &sc,
        &a,
        gym,
        ImportFormat::Csv,
        bad.as_bytes(),
        Locale::Fr,
    )
    .await
    .unwrap_err();
    let fields: Vec<String> = match err {
        jarvis_app::error::AppError::Invalid(e) => e.0.into_iter().map(|f| f.field).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields, vec!["rows.3.title", "rows.4.language"]);
    let none = knowledge::list(s, &sc, gym, None, SMALL, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(none.total, 0, "nothing half-written");

    let good = "title;body;tags;language\nHoraires;Ouvert 6h-23h;horaires, accueil;fr\nParking;\"Gratuit; 40 places\";;\n";
    let out = knowledge::import(
        s,
        &sc,
        &a,
        gym,
        ImportFormat::Csv,
        good.as_bytes(),
        Locale::En,
    )
    .await
    .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].tags, vec!["horaires", "accueil"]);
    assert_eq!(out[1].language, Locale::En);

    let md = "# Sauna\ntags: spa\n\nOuvert le soir.\n\n# \n\nSans titre.\n";
    let err = knowledge::import(
        s,
        &sc,
        &a,
        gym,
        ImportFormat::Markdown,
        md.as_bytes(),
        Locale::Fr,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, jarvis_app::error::AppError::Invalid(ref e) if e.0[0].field == "rows.6.title"),
        "{err:?}"
    );
    let md = "# Sauna\ntags: spa\n\nOuvert le soir.\n\n# Piscine\nlanguage: en\n\nOpen daily.\n";
    let out = knowledge::import(
        s,
        &sc,
        &a,
        gym,
        ImportFormat::Markdown,
        md.as_bytes(),
        Locale::Fr,
    )
    .await
    .unwrap();
    assert_eq!(out.len(), 2);
    let all = knowledge::list(s, &sc, gym, Some("SAUNA"), SMALL, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.total, 1);
}

#[tokio::test]
async fn sqlite_imports_write_all_or_nothing_with_errors_by_row() {
    import_errors_by_row(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_imports_write_all_or_nothing_with_errors_by_row() {
    let db = TestDb::postgres().await.unwrap();
    import_errors_by_row(db.store()).await;
}

#[tokio::test]
async fn a_failing_embeddings_call_leaves_full_text_search() {
    let db = TestDb::sqlite().await.unwrap();
    let h = H::new(db.store()).await;
    let (sc, gym) = h.gym("A").await;
    h.add(&sc, gym, "Sauna", "Le sauna est ouvert le soir.", "fr")
        .await;
    h.fake
        .handle
        .inject(Endpoint::Embeddings, Fault::ServerError);
    let r = h.search(&sc, gym, "sauna").await;
    assert!(r.vector_error.is_some());
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].vector_rank, None);
    assert_eq!(r.hits[0].fts_rank, Some(1));
    // The question's embedding is metered when it succeeds.
    let before = h.store.knowledge_usage(&sc, gym).await.unwrap().calls;
    h.search(&sc, gym, "sauna").await;
    assert_eq!(
        h.store.knowledge_usage(&sc, gym).await.unwrap().calls,
        before + 1
    );
}

/// The brute-force cost the performance guide quotes: exact cosine over 5,000 stored chunks of
/// 1,536 dimensions (blob decoding included), here in the test profile; the optimised number is
/// in docs/contributor/performance.md.
#[test]
fn exact_cosine_over_5000_chunks_of_1536_dims() {
    let (n, d) = (5000usize, 1536usize);
    let mut seed = 42u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed as f64 / u64::MAX as f64 * 2.0 - 1.0) as f32
    };
    let vectors: Vec<StoredVector> = (0..n)
        .map(|_| StoredVector {
            chunk_id: KnowledgeChunkId::new(),
            entry_id: KnowledgeEntryId::new(),
            vector: jarvis_core::knowledge::vector_to_blob(
                &(0..d).map(|_| rnd()).collect::<Vec<_>>(),
            ),
        })
        .collect();
    let target = &vectors[1234];
    let q = jarvis_core::knowledge::blob_to_vector(&target.vector).unwrap();
    let t = std::time::Instant::now();
    let top = knowledge::exact_nearest(&vectors, &q, 50);
    let took = t.elapsed();
    println!("exact cosine, {n} x {d}: {took:?} (test profile)");
    assert_eq!(top.len(), 50);
    assert_eq!(top[0].0, target.chunk_id);
    assert!((top[0].1 - 1.0).abs() < 1e-5);
}
