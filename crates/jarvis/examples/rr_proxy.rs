//! A tiny round-robin TCP balancer for the scale-out figure of `bench/run` (issue 15, target 8):
//! each accepted connection goes to the next backend in turn and bytes are copied both ways.
//! wrk keeps its connections open, so with N backends each serves 1/N of them.
//!
//!     rr_proxy LISTEN_ADDR BACKEND_ADDR [BACKEND_ADDR…]
//!
//! Bench tool only: no health checks, no retries, loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), backends) = (args.next(), args.collect::<Vec<_>>()) else {
        eprintln!("usage: rr_proxy LISTEN_ADDR BACKEND_ADDR [BACKEND_ADDR…]");
        std::process::exit(2);
    };
    if backends.is_empty() {
        eprintln!("rr_proxy: name at least one backend");
        std::process::exit(2);
    }
    let backends = Arc::new(backends);
    let next = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind(&listen).await?;
    loop {
        let (mut client, _) = listener.accept().await?;
        let _ = client.set_nodelay(true);
        let backend = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()].clone();
        tokio::spawn(async move {
            match TcpStream::connect(&backend).await {
                Ok(mut server) => {
                    let _ = server.set_nodelay(true);
                    // Ends when either side closes; errors are a closed connection to wrk.
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
                Err(e) => eprintln!("rr_proxy: {backend}: {e}"),
            }
        });
    }
}
