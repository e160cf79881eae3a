//! `jarvis-fake-openai --listen ADDR [--demo] [--accept-any-key] [--canned-sdp]`: the fake as a standalone server.

use std::net::SocketAddr;

use jarvis_fake_openai::{FakeConfig, FakeOpenAi, TEST_ADMIN_KEY, TEST_API_KEY};

/// The `--help` text; built from the key constants so it cannot drift from what the fake accepts.
fn help() -> String {
    format!(
        "usage: jarvis-fake-openai [--listen 127.0.0.1:0] [--demo] [--accept-any-key] [--canned-sdp]

A fake of the OpenAI API (GA Realtime, Chat Completions, Embeddings) for tests and offline demos.
Prints `JARVIS_FAKE_OPENAI_LISTENING base_url=http://ADDR/v1` once it listens.

Options:
  --listen ADDR      address to bind (default 127.0.0.1:0, a free port)
  --demo             bilingual scripted gym assistant, clock at real time, live audio over
                     WebRTC (hears the microphone, answers with tones; needs PCMU in the offer);
                     implies --accept-any-key
  --accept-any-key   accept any standard key that starts with `sk-`
  --canned-sdp       answer call offers with a canned SDP answer instead of a WebRTC peer
                     (load tests: hundreds of calls; the media never passes through JARVIS)
  -h, --help         this text

API keys accepted (Authorization: Bearer KEY):
  standard   {TEST_API_KEY}   every /v1 endpoint except /v1/organization/*
  admin      {TEST_ADMIN_KEY}   /v1/organization/costs only (never replaced by --accept-any-key)
  ephemeral  ek_... minted by POST /v1/realtime/client_secrets, for POST /v1/realtime/calls
Any other key gets 401 invalid_api_key. To accept any `sk-` key, pass --accept-any-key (or --demo);
the client can then use e.g. JARVIS_OPENAI_API_KEY=sk-anything.
"
    )
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut demo = false;
    let mut any_key = false;
    let mut canned_sdp = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => match args.next().map(|s| s.parse::<SocketAddr>()) {
                Some(Ok(addr)) => listen = addr,
                _ => {
                    eprintln!("--listen needs an address like 127.0.0.1:8089");
                    std::process::exit(2);
                }
            },
            "--demo" => demo = true,
            "--accept-any-key" => any_key = true,
            "--canned-sdp" => canned_sdp = true,
            "-h" | "--help" => {
                print!("{}", help());
                return;
            }
            other => {
                eprintln!("unknown argument {other:?} (see --help)");
                std::process::exit(2);
            }
        }
    }
    let mut cfg = if demo {
        FakeConfig::demo()
    } else {
        FakeConfig::default()
    };
    cfg.accept_any_key |= any_key;
    if canned_sdp {
        cfg.real_webrtc = false;
    }
    let fake = match FakeOpenAi::start_on(listen, cfg).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    // One parseable line on stdout: tests and scripts read the bound address from it.
    println!("JARVIS_FAKE_OPENAI_LISTENING base_url={}", fake.base_url());
    tokio::select! {
        _ = fake.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
