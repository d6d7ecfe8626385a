//! The ceiling of this architecture: the trip a `/run-task` makes with nothing of ours in
//! it. An actix-web handler passes each request body as one binary WebSocket frame to an
//! echo peer in another process (tokio-tungstenite) and answers with the reply: HTTP in,
//! a frame out, a frame back, HTTP out. No queue, no routing, no store, no JSON.
//!
//! ```text
//! cargo run --release --example ceiling -- peer --bind 127.0.0.1:0     # prints ws://ADDR
//! cargo run --release --example ceiling -- serve --bind 127.0.0.1:0 --peer ws://ADDR ...
//! ```
//! `bench/ceiling.sh` starts four peers and the server, and runs wrk as
//! `bench/overhead.sh` does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{web, App, HttpResponse, HttpServer};
use bytes::{BufMut, Bytes, BytesMut};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(about = "HTTP → one WebSocket frame → echo peer → HTTP: the ceiling")]
struct Args {
    #[command(subcommand)]
    command: Role,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// Echo every binary frame back on the connection it came from.
    Peer {
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
    },
    /// Answer `POST /run-task` (any path) with the body echoed by a peer, round robin.
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
        /// A peer's address (ws://host:port), once per peer.
        #[arg(long, required = true)]
        peer: Vec<String>,
        /// HTTP worker threads (the server's own setting is 2).
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
}

/// One request for a peer: the body, and where its echo goes.
struct Trip {
    body: Bytes,
    reply: oneshot::Sender<Bytes>,
}

/// The peers' connections, taken in turn.
struct Peers {
    links: Vec<mpsc::UnboundedSender<Trip>>,
    next: AtomicUsize,
}

fn main() -> std::io::Result<()> {
    match Args::parse().command {
        Role::Peer { bind } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(peer(&bind)),
        Role::Serve {
            bind,
            peer,
            workers,
        } => actix_web::rt::System::new().block_on(serve(&bind, peer, workers)),
    }
}

async fn peer(bind: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Binary(frame) = message {
                    if ws.send(Message::Binary(frame)).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

async fn serve(bind: &str, peers: Vec<String>, workers: usize) -> std::io::Result<()> {
    let mut links = Vec::new();
    for url in peers {
        // disable_nagle, as the server's sockets: the ceiling measures the trip, not
        // Nagle's algorithm waiting for delayed ACKs.
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true)
            .await
            .map_err(std::io::Error::other)?;
        let (tx, rx) = mpsc::unbounded_channel();
        actix_web::rt::spawn(link(ws, rx));
        links.push(tx);
    }
    let peers = web::Data::new(Peers {
        links,
        next: AtomicUsize::new(0),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(peers.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .default_service(web::to(trip))
    })
    .workers(workers)
    .tcp_nodelay(true)
    .bind(bind)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}

/// The handler: the body to the next peer as one frame, its echo as the answer.
async fn trip(body: Bytes, peers: web::Data<Peers>) -> HttpResponse {
    let n = peers.next.fetch_add(1, Ordering::Relaxed) % peers.links.len();
    let (reply, echoed) = oneshot::channel();
    if peers.links[n].send(Trip { body, reply }).is_err() {
        return HttpResponse::ServiceUnavailable().finish();
    }
    match echoed.await {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One peer connection: frames out carry an 8-byte id before the body, so echoes that
/// come back find their request.
async fn link(ws: Ws, mut trips: mpsc::UnboundedReceiver<Trip>) {
    let (mut sink, mut stream) = ws.split();
    let mut waiting: HashMap<u64, oneshot::Sender<Bytes>> = HashMap::new();
    let mut next_id = 0u64;
    loop {
        tokio::select! {
            trip = trips.recv() => {
                let Some(trip) = trip else { return };
                next_id += 1;
                let mut frame = BytesMut::with_capacity(8 + trip.body.len());
                frame.put_u64(next_id);
                frame.put_slice(&trip.body);
                waiting.insert(next_id, trip.reply);
                if sink.send(Message::Binary(frame.freeze())).await.is_err() {
                    return;
                }
            }
            echo = stream.next() => {
                let mut frame = match echo {
                    Some(Ok(Message::Binary(frame))) if frame.len() >= 8 => frame,
                    Some(Ok(_)) => continue, // pings and the like
                    _ => return,
                };
                let id = u64::from_be_bytes(frame[..8].try_into().unwrap_or_default());
                let body = frame.split_off(8);
                if let Some(reply) = waiting.remove(&id) {
                    let _ = reply.send(body); // the client may be gone
                }
            }
        }
    }
}
