//! Demo mode: the in-process fake with the bilingual scripted assistant that uses tools.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use common::OFFER;
use jarvis_fake_openai::{DEMO_API_KEY, FakeOpenAi};
use jarvis_openai::realtime::{ClientEvent, ClientSecretRequest, ServerEvent, SessionConfig};
use jarvis_openai::{ApiKey, OpenAiClient, OpenAiConfig};

#[tokio::test]
async fn demo_fake_greets_in_french_and_english_and_calls_tools() {
    let fake = FakeOpenAi::start_demo(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    // Hand-written SDP here; the real peer is exercised by the browser test.
    fake.handle.configure(|c| c.real_webrtc = false);
    let client =
        OpenAiClient::new(OpenAiConfig::new(fake.base_url(), ApiKey::new(DEMO_API_KEY)).unwrap())
            .unwrap();
    let secret = client
        .create_client_secret(&ClientSecretRequest::new(
            SessionConfig::realtime("gpt-realtime-mini"),
            60,
        ))
        .await
        .unwrap();
    assert!(secret.session.instructions.unwrap().contains("JARVIS"));
    let call = client
        .create_call(OFFER, &SessionConfig::realtime("gpt-realtime-mini"))
        .await
        .unwrap();
    let mut sb = client.connect_sideband(&call.call_id).await.unwrap();
    let t = Duration::from_secs(5);
    let mut transcripts = Vec::new();
    let mut tool_calls = Vec::new();
    fake.handle.say(&call.call_id, "Bonjour !", 1.0);
    // Drive three responses: greeting, schedule tool call, answer using the tool result.
    let mut responses = 0;
    for _ in 0..300 {
        let ev = sb.next_event_timeout(t).await.unwrap().unwrap();
        match ev {
            ServerEvent::OutputAudioTranscriptDone { transcript, .. } => {
                transcripts.push(transcript)
            }
            ServerEvent::ResponseDone { response } => {
                responses += 1;
                let calls: Vec<(String, String)> = response
                    .function_calls()
                    .map(|(c, n, _)| (c.to_owned(), n.to_owned()))
                    .collect();
                for (cid, name) in &calls {
                    sb.send(&ClientEvent::function_output(
                        cid.clone(),
                        r#"{"classes":["yoga 18h"]}"#,
                    ))
                    .await
                    .unwrap();
                    tool_calls.push(name.clone());
                }
                if responses == 3 {
                    break;
                }
                sb.send(&ClientEvent::response_create()).await.unwrap();
            }
            _ => {}
        }
    }
    assert_eq!(responses, 3);
    assert!(
        transcripts[0].contains("Bonjour") && transcripts[0].contains("Hello"),
        "{transcripts:?}"
    );
    assert_eq!(tool_calls, vec!["get_class_schedule"]);
    assert!(transcripts.iter().any(|t| t.contains("yoga")));
    assert!(fake.handle.ledger_total_pico() > 0);
}
