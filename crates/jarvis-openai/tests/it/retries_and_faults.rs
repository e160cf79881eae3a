//! Retry timing with the manual clock, and every HTTP fault the fake can inject.

use crate::common;

use std::time::Duration;

use common::*;
use jarvis_fake_openai::{Endpoint, Fault, LimitKind};
use jarvis_openai::realtime::{ClientSecretRequest, SessionConfig};
use jarvis_openai::{EmbeddingsRequest, OpenAiClient, OpenAiError, RateLimitKind, RetryPolicy};

fn no_jitter() -> RetryPolicy {
    RetryPolicy {
        jitter: false,
        ..RetryPolicy::default()
    }
}

fn secret_req() -> ClientSecretRequest {
    ClientSecretRequest::new(SessionConfig::realtime("gpt-realtime-mini"), 60)
}

fn emb() -> EmbeddingsRequest {
    EmbeddingsRequest::new("text-embedding-3-small", vec!["x".into()])
}

#[tokio::test]
async fn rate_limit_requests_honours_retry_after_exactly() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject_n(
        Endpoint::ClientSecrets,
        Fault::RateLimited {
            kind: LimitKind::Requests,
            retry_after: Some(Duration::from_secs(2)),
        },
        2,
    );
    let t0 = fake.handle.now_unix();
    client.create_client_secret(&secret_req()).await.unwrap();
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(2), Duration::from_secs(2)]
    );
    assert_eq!(
        fake.handle.requests_to("/v1/realtime/client_secrets").len(),
        3
    );
    // The sleeps advanced the fake's clock in lock-step.
    assert_eq!(fake.handle.now_unix() - t0, 4);
}

#[tokio::test]
async fn rate_limit_tokens_prefers_retry_after_ms() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::RateLimited {
            kind: LimitKind::Tokens,
            retry_after: Some(Duration::from_millis(1500)),
        },
    );
    client.embeddings(&emb()).await.unwrap();
    // Retry-After says 2 (rounded up), retry-after-ms says 1500: the precise one wins.
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(1500)]);
}

#[tokio::test]
async fn rate_limit_error_is_typed_when_retries_run_out() {
    let fake = fake().await;
    let (client, clock) = client_with(
        &fake,
        RetryPolicy {
            max_retries: 1,
            ..no_jitter()
        },
    );
    fake.handle.inject_n(
        Endpoint::Chat,
        Fault::RateLimited {
            kind: LimitKind::Tokens,
            retry_after: Some(Duration::from_millis(165)),
        },
        5,
    );
    let req = jarvis_openai::ChatRequest::new(
        "gpt-4o-mini",
        vec![jarvis_openai::ChatMessage::user("hi")],
    );
    let err = client.chat_completion(&req).await.unwrap_err();
    match err {
        OpenAiError::RateLimited {
            kind, retry_after, ..
        } => {
            assert_eq!(kind, RateLimitKind::Tokens);
            assert_eq!(retry_after, Some(Duration::from_millis(165)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(165)]);
    assert_eq!(
        fake.handle.pending_faults(Endpoint::Chat),
        3,
        "exactly 2 attempts"
    );
}

#[tokio::test]
async fn quota_exhaustion_is_never_retried() {
    let fake = fake().await;
    let (client, clock) = client(&fake);
    fake.handle
        .inject_n(Endpoint::ClientSecrets, Fault::InsufficientQuota, 3);
    let err = client
        .create_client_secret(&secret_req())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAiError::QuotaExhausted { ref code, .. } if code == "insufficient_quota"),
        "{err:?}"
    );
    assert!(clock.sleeps().is_empty());
    assert_eq!(
        fake.handle.requests_to("/v1/realtime/client_secrets").len(),
        1
    );
    assert_eq!(fake.handle.pending_faults(Endpoint::ClientSecrets), 2);
}

#[tokio::test]
async fn server_errors_back_off_exponentially_then_succeed() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject(Endpoint::Embeddings, Fault::ServerError);
    fake.handle.inject(Endpoint::Embeddings, Fault::Unavailable);
    client.embeddings(&emb()).await.unwrap();
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_millis(500), Duration::from_millis(1000)]
    );
}

#[tokio::test]
async fn jittered_backoff_stays_within_bounds() {
    let fake = fake().await;
    let (client, clock) = client(&fake);
    fake.handle
        .inject_n(Endpoint::Embeddings, Fault::Unavailable, 3);
    client.embeddings(&emb()).await.unwrap();
    let s = clock.sleeps();
    assert_eq!(s.len(), 3);
    for (i, d) in s.iter().enumerate() {
        let base = Duration::from_millis(500 * (1 << i));
        assert!(*d <= base && *d >= base.mul_f64(0.75), "retry {i}: {d:?}");
    }
}

#[tokio::test]
async fn retries_are_bounded_in_count() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle
        .inject_n(Endpoint::Embeddings, Fault::Unavailable, 10);
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(
        matches!(err, OpenAiError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(
        clock.sleeps(),
        vec![
            Duration::from_millis(500),
            Duration::from_secs(1),
            Duration::from_secs(2)
        ]
    );
    assert_eq!(
        fake.handle.pending_faults(Endpoint::Embeddings),
        6,
        "1 try + 3 retries"
    );
}

#[tokio::test]
async fn retries_are_bounded_in_total_time() {
    let fake = fake().await;
    let (client, clock) = client_with(
        &fake,
        RetryPolicy {
            max_retries: 10,
            max_elapsed: Duration::from_secs(10),
            ..no_jitter()
        },
    );
    fake.handle.inject_n(
        Endpoint::Embeddings,
        Fault::RateLimited {
            kind: LimitKind::Requests,
            retry_after: Some(Duration::from_secs(4)),
        },
        10,
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(matches!(err, OpenAiError::RateLimited { .. }));
    // 4 s + 4 s = 8 s fits in 10 s; a third 4 s wait would not.
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(4), Duration::from_secs(4)]
    );
}

#[tokio::test]
async fn retry_after_beyond_the_cap_ends_the_retries() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    // The SDK rule (openai-python since 2026-07): a hint above 120 s is not shortened, the
    // call fails at once and the caller gets the hint.
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::RateLimited {
            kind: LimitKind::Requests,
            retry_after: Some(Duration::from_secs(3600)),
        },
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(3600)),
        "{err:?}"
    );
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::Unavailable.with_retry_after(Duration::from_secs(121)),
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(
        matches!(err, OpenAiError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert!(clock.sleeps().is_empty());
    assert_eq!(fake.handle.requests_to("/v1/embeddings").len(), 2);
    // Exactly the cap is obeyed.
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::Unavailable.with_retry_after(Duration::from_secs(120)),
    );
    client.embeddings(&emb()).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(120)]);
}

#[tokio::test]
async fn x_should_retry_false_stops_a_retryable_500() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject_n(
        Endpoint::Embeddings,
        Fault::ServerError.with_should_retry(false),
        2,
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(
        matches!(err, OpenAiError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    assert_eq!(fake.handle.requests_to("/v1/embeddings").len(), 1);
    assert_eq!(fake.handle.pending_faults(Endpoint::Embeddings), 1);
    fake.handle.inject(Endpoint::Embeddings, Fault::ServerError);
    // The next call meets the second header fault (not retried), the one after that a plain
    // 500 (retried).
    assert!(client.embeddings(&emb()).await.is_err());
    assert!(clock.sleeps().is_empty());
    client.embeddings(&emb()).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(500)]);
    // The same on a 429 rate limit, even with a Retry-After.
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::RateLimited {
            kind: LimitKind::Requests,
            retry_after: Some(Duration::from_secs(1)),
        }
        .with_should_retry(false),
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(matches!(err, OpenAiError::RateLimited { .. }), "{err:?}");
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn x_should_retry_true_retries_a_400_but_never_a_quota_error() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::Status(400).with_should_retry(true),
    );
    client.embeddings(&emb()).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(500)]);
    // Without the header a 400 is final.
    fake.handle.inject(Endpoint::Embeddings, Fault::Status(400));
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(
        matches!(err, OpenAiError::InvalidRequest { status: 400, .. }),
        "{err:?}"
    );
    // 408 and 409 are retried like the SDKs do.
    fake.handle.inject(Endpoint::Embeddings, Fault::Status(408));
    fake.handle.inject(Endpoint::Embeddings, Fault::Status(409));
    client.embeddings(&emb()).await.unwrap();
    assert_eq!(clock.sleeps().len(), 3);
    // Quota exhaustion is never retried, whatever the server's header says.
    fake.handle.inject_n(
        Endpoint::Embeddings,
        Fault::InsufficientQuota.with_should_retry(true),
        2,
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(matches!(err, OpenAiError::QuotaExhausted { .. }), "{err:?}");
    assert_eq!(clock.sleeps().len(), 3);
    assert_eq!(fake.handle.pending_faults(Endpoint::Embeddings), 1);
}

#[tokio::test]
async fn server_errors_wait_for_the_servers_hint() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    // 500 with retry-after-ms only, 503 with both headers (ms wins), 502 with an HTTP-date.
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::ServerError.with_header("retry-after-ms", "2500"),
    );
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::Unavailable.with_retry_after(Duration::from_millis(1250)),
    );
    let at = std::time::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(fake.handle.now_unix()).unwrap() + 10);
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::Status(502).with_header("retry-after", &httpdate::fmt_http_date(at)),
    );
    client.embeddings(&emb()).await.unwrap();
    // The date is 10 s after the start; 2.5 s + 1.25 s have passed when the 502 arrives.
    assert_eq!(
        clock.sleeps(),
        vec![
            Duration::from_millis(2500),
            Duration::from_millis(1250),
            Duration::from_millis(6250)
        ]
    );
    // The hint also reaches the caller when retries are off.
    let (client, _) = client_with(&fake, RetryPolicy::none());
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::ServerError.with_retry_after(Duration::from_secs(9)),
    );
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(9)), "{err:?}");
}

#[tokio::test]
async fn rate_limit_without_retry_after_uses_backoff() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::RateLimited {
            kind: LimitKind::Requests,
            retry_after: None,
        },
    );
    client.embeddings(&emb()).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(500)]);
}

#[tokio::test]
async fn connection_drop_mid_response_is_retried() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle
        .inject(Endpoint::ClientSecrets, Fault::DropConnection);
    let s = client.create_client_secret(&secret_req()).await.unwrap();
    assert!(s.value.expose().starts_with("ek_"));
    assert_eq!(clock.sleeps().len(), 1);
    assert_eq!(
        fake.handle.requests_to("/v1/realtime/client_secrets").len(),
        2
    );
    // Without retries the drop surfaces as a connection error.
    let (client, _) = client_with(&fake, RetryPolicy::none());
    fake.handle
        .inject(Endpoint::ClientSecrets, Fault::DropConnection);
    let err = client
        .create_client_secret(&secret_req())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::Connection(_)), "{err:?}");
}

#[tokio::test]
async fn hang_times_out_and_latency_is_tolerated() {
    let fake = fake().await;
    let mut cfg = config(&fake);
    cfg.request_timeout = Duration::from_millis(300);
    cfg.retry = RetryPolicy::none();
    let client = OpenAiClient::new(cfg).unwrap();
    fake.handle.inject(Endpoint::Embeddings, Fault::Hang);
    let err = client.embeddings(&emb()).await.unwrap_err();
    assert!(matches!(err, OpenAiError::Timeout), "{err:?}");
    fake.handle.inject(
        Endpoint::Embeddings,
        Fault::Latency(Duration::from_millis(100)),
    );
    let started = std::time::Instant::now();
    client.embeddings(&emb()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    // A hang is retryable (timeouts are): with retries the second attempt succeeds.
    let (client, clock) = {
        let mut cfg = config(&fake);
        cfg.request_timeout = Duration::from_millis(300);
        cfg.retry = no_jitter();
        let clock = jarvis_openai::ManualClock::new();
        (
            OpenAiClient::new(cfg).unwrap().with_clock(clock.clone()),
            clock,
        )
    };
    fake.handle.inject(Endpoint::Hangup, Fault::Hang);
    let call = client
        .create_call(OFFER, &SessionConfig::realtime("gpt-realtime"))
        .await
        .unwrap();
    client.hangup(&call.call_id).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(500)]);
}

#[tokio::test]
async fn faults_on_calls_and_sideband_endpoints() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject(Endpoint::Calls, Fault::ServerError);
    let call = client
        .create_call(OFFER, &SessionConfig::realtime("gpt-realtime"))
        .await
        .unwrap();
    assert_eq!(
        clock.sleeps().len(),
        1,
        "multipart body rebuilt for the retry"
    );
    fake.handle
        .inject(Endpoint::Realtime, Fault::InsufficientQuota);
    let err = client.connect_sideband(&call.call_id).await.unwrap_err();
    assert!(matches!(err, OpenAiError::QuotaExhausted { .. }), "{err:?}");
    assert!(client.connect_sideband(&call.call_id).await.is_ok());
    let err = client.connect_sideband("rtc_unknown").await.unwrap_err();
    assert!(matches!(err, OpenAiError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn sideband_handshake_429_and_503_are_retried_after_their_hint() {
    let fake = fake().await;
    let (client, clock) = client_with(&fake, no_jitter());
    let call = client
        .create_call(OFFER, &SessionConfig::realtime("gpt-realtime"))
        .await
        .unwrap();
    fake.handle.inject(
        Endpoint::Realtime,
        Fault::RateLimited {
            kind: LimitKind::Requests,
            retry_after: Some(Duration::from_secs(2)),
        },
    );
    fake.handle.inject(
        Endpoint::Realtime,
        Fault::Unavailable.with_retry_after(Duration::from_secs(3)),
    );
    let mut sb = client.connect_sideband(&call.call_id).await.unwrap();
    assert!(matches!(
        sb.next_event_timeout(Duration::from_secs(5)).await.unwrap(),
        Some(jarvis_openai::realtime::ServerEvent::SessionCreated { .. })
    ));
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(2), Duration::from_secs(3)]
    );
    assert_eq!(fake.handle.requests_to("/v1/realtime").len(), 3);
    // With retries off, the refused upgrade still tells the caller how long to wait.
    let (client, _) = client_with(&fake, RetryPolicy::none());
    fake.handle.inject(
        Endpoint::Realtime,
        Fault::Unavailable.with_retry_after(Duration::from_secs(4)),
    );
    let err = client.connect_sideband(&call.call_id).await.unwrap_err();
    assert!(
        matches!(err, OpenAiError::Server { status: 503, retry_after: Some(d), .. } if d == Duration::from_secs(4)),
        "{err:?}"
    );
    // x-should-retry: false on the upgrade is obeyed too.
    let (client, clock) = client_with(&fake, no_jitter());
    fake.handle.inject(
        Endpoint::Realtime,
        Fault::Unavailable.with_should_retry(false),
    );
    assert!(client.connect_sideband(&call.call_id).await.is_err());
    assert!(clock.sleeps().is_empty());
}
