//! Transcripts of both sides are stored at the gym's storage level: verbatim (HTML and script
//! included: escaping is the renderer's job), redacted, or not at all; a member who did not
//! consent to transcripts gets metadata only.

use crate::*;
use jarvis_fake_openai::Turn;
use serde_json::json;

const SAID: &str = "<script>alert('x')</script> écrivez-moi à camille@example.test";
const REPLY: &str = "<img src=x onerror=alert(1)> Bienvenue & à bientôt";

async fn one_call(h: &H, fx: &Fx, badge: &str, n: u64) -> Vec<ConversationTurn> {
    let (st, call) = h.start(fx, badge).await;
    h.fake.handle.say(&call, SAID, 1.0);
    h.responses(n).await;
    let b = h.broker.clone();
    eventually("transcription", || {
        let b = b.clone();
        async move { b.metrics().snapshot().transcriptions_metered >= n }
    })
    .await;
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    h.ended(fx, st.session_id).await;
    h.store
        .turns(
            &fx.scope,
            st.session_id,
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap()
        .items
}

fn text(turns: &[ConversationTurn], role: TurnRole) -> Option<String> {
    let t = turns.iter().find(|t| t.role == role).expect("turn stored");
    t.text.clone()
}

pub async fn transcripts_are_stored_at_the_gym_level_html_verbatim(db: TestDb) {
    let script = Script {
        turns: vec![Turn::Say(REPLY.into())],
        repeat: true,
        ..Script::default()
    };
    let h = H::new(db, script).await;

    let full = h.gym(json!({"voice": {"storage": "full"}})).await;
    let turns = one_call(&h, &full, "B-1", 1).await;
    assert_eq!(text(&turns, TurnRole::Member).as_deref(), Some(SAID));
    assert_eq!(text(&turns, TurnRole::Assistant).as_deref(), Some(REPLY));
    assert!(turns.iter().all(|t| !t.redacted));

    let redacted = h.gym(json!({})).await;
    let turns = one_call(&h, &redacted, "B-1", 2).await;
    assert_eq!(
        text(&turns, TurnRole::Member).as_deref(),
        Some("<script>alert('x')</script> écrivez-moi à [email]")
    );
    assert_eq!(text(&turns, TurnRole::Assistant).as_deref(), Some(REPLY));
    assert!(turns.iter().all(|t| t.redacted));

    let meta = h.gym(json!({"voice": {"storage": "metadata"}})).await;
    let turns = one_call(&h, &meta, "B-1", 3).await;
    assert_eq!(turns.len(), 2, "who and when are kept");
    assert!(turns.iter().all(|t| t.text.is_none()));

    // No consent to transcripts: metadata only, even in a gym that keeps everything.
    h.member(&full.scope, &full.gym, "B-2", |m| {
        m.consent_transcripts = false
    })
    .await;
    let turns = one_call(&h, &full, "B-2", 4).await;
    assert!(turns.iter().all(|t| t.text.is_none()));
    assert!(
        h.db.find_text(&["camille@example.test"])
            .await
            .unwrap()
            .iter()
            .all(|hit| hit.starts_with("conversation_turns")),
        "the address is only in the full-level transcript"
    );
}
