//! Shared helpers: start a fake and a client pointed at it.

#![allow(dead_code)]

use std::time::Duration;

use jarvis_fake_openai::{FakeConfig, FakeOpenAi, TEST_API_KEY};
use jarvis_openai::{ApiKey, ManualClock, OpenAiClient, OpenAiConfig, RetryPolicy};

pub async fn fake() -> FakeOpenAi {
    fake_with(FakeConfig {
        // Client tests use hand-written SDP; the real peer is covered by the WebRTC tests.
        real_webrtc: false,
        ..FakeConfig::default()
    })
    .await
}

pub async fn fake_with(cfg: FakeConfig) -> FakeOpenAi {
    FakeOpenAi::start(cfg).await.expect("fake starts")
}

pub fn config(fake: &FakeOpenAi) -> OpenAiConfig {
    let mut cfg = OpenAiConfig::new(fake.base_url(), ApiKey::new(TEST_API_KEY)).unwrap();
    cfg.request_timeout = Duration::from_secs(5);
    cfg
}

/// A client whose back-off sleeps go to a manual clock that also advances the fake's clock.
pub fn client(fake: &FakeOpenAi) -> (OpenAiClient, ManualClock) {
    client_with(fake, RetryPolicy::default())
}

pub fn client_with(fake: &FakeOpenAi, retry: RetryPolicy) -> (OpenAiClient, ManualClock) {
    let mut cfg = config(fake);
    cfg.retry = retry;
    let h = fake.handle.clone();
    // Wall time follows the fake's clock, so HTTP-date Retry-After values mean the same to both.
    let wall =
        std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(fake.handle.now_unix()).unwrap());
    let clock = ManualClock::new()
        .with_hook(move |d| h.advance(d))
        .with_wall_clock(wall);
    let client = OpenAiClient::new(cfg).unwrap().with_clock(clock.clone());
    (client, clock)
}

/// A minimal SDP offer with an audio and a data-channel m-line.
pub const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n";
