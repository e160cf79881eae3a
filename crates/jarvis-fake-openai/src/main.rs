//! `jarvis-fake-openai --listen ADDR [--demo]`: the fake as a standalone server.

use std::net::SocketAddr;

use jarvis_fake_openai::{FakeConfig, FakeOpenAi};

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
            "-h" | "--help" => {
                println!("usage: jarvis-fake-openai [--listen 127.0.0.1:0] [--demo]");
                return;
            }
            other => {
                eprintln!("unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let cfg = if demo {
        FakeConfig::demo()
    } else {
        FakeConfig::default()
    };
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
