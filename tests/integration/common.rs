//! The shared harness: the real binary as server and workers on loopback, an HTTP client,
//! and a raw WebSocket client speaking the protobuf protocol.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use smart_routing::protocol::{self, FromWorker, Registration, WorkerCommand};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

pub const BIN: &str = env!("CARGO_BIN_EXE_smart-routing");

/// A loopback port nothing listens on: bound, noted, released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Server {
    /// Kept for its `Drop`: the server stops with the test.
    pub _proc: Proc,
    pub url: String,
    pub port: u16,
    pub log_dir: std::path::PathBuf,
    pub http: reqwest::Client,
}

/// Starts `smart-routing serve --bind 127.0.0.1:0` with extra args and env vars.
pub fn serve(args: &[&str], env: &[(&str, &str)]) -> Server {
    serve_at("127.0.0.1:0", args, env)
}

/// Starts `smart-routing serve` on `bind`.
pub fn serve_at(bind: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    spawn_server(bind, args, env, Stdio::inherit())
}

/// Starts `smart-routing serve --bind 127.0.0.1:0` with its log (stderr) going to `stderr`.
pub fn serve_logging_to(args: &[&str], env: &[(&str, &str)], stderr: std::fs::File) -> Server {
    spawn_server("127.0.0.1:0", args, env, Stdio::from(stderr))
}

fn spawn_server(bind: &str, args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Server {
    let log_dir = std::env::temp_dir().join(format!("sr-test-{}-{}", std::process::id(), unique()));
    // Each server its own store, unless the test names one (a restart on the same data).
    let data_dir = log_dir.join("data");
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--bind", bind, "--log-dir"])
        .arg(&log_dir);
    if !args.contains(&"--data-dir") {
        command.arg("--data-dir").arg(&data_dir);
    }
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read serve output");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
        .to_owned();
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    Server {
        _proc: Proc(child),
        url,
        port,
        log_dir,
        http: reqwest::Client::new(),
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Server {
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/worker-listen", self.port)
    }

    /// Starts `smart-routing worker --simulate` connected to this server.
    pub fn sim_worker(&self, id: &str, max_labels: u32, time_scale: f64) -> Proc {
        let child = Command::new(BIN)
            .args([
                "worker",
                "--dispatcher",
                &self.ws_url(),
                "--worker-id",
                id,
                "--simulate",
            ])
            .args([
                "--max-labels",
                &max_labels.to_string(),
                "--time-scale",
                &time_scale.to_string(),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn worker");
        Proc(child)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(None, path).await
    }

    /// A GET with `token` as the bearer, when given.
    pub async fn get_as(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self.http.get(format!("{}/metrics", self.url)).send().await;
        response.unwrap().text().await.unwrap()
    }

    /// The value of the unlabelled series `name` in `/metrics`, if exported.
    pub async fn metric(&self, name: &str) -> Option<String> {
        let text = self.metrics().await;
        let prefix = format!("{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn workers(&self) -> Vec<String> {
        let (_, body) = self.get("/workers").await;
        serde_json::from_value(body["workers"].clone()).unwrap()
    }

    /// Waits until exactly these many workers are connected.
    pub async fn wait_workers(&self, n: usize) {
        for _ in 0..200 {
            if self.workers().await.len() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} workers, have {:?}", self.workers().await);
    }

    /// Polls `/tasks/{id}` until its status is final.
    pub async fn wait_final(&self, task_id: &str) -> Value {
        self.wait_final_as(None, task_id).await
    }

    /// [`Server::wait_final`], reading the task with `token` as the bearer.
    pub async fn wait_final_as(&self, token: Option<&str>, task_id: &str) -> Value {
        for _ in 0..400 {
            let (_, view) = self.get_as(token, &format!("/tasks/{task_id}")).await;
            if matches!(
                view["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("task {task_id} never finished");
    }
}

pub fn task(task_id: &str, task_type: &str, label: &str) -> Value {
    json!({ "task_id": task_id, "task_type": task_type, "label": label, "parameters_json": "{}" })
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A hand-driven worker connection, to send exactly the frames a test wants.
pub struct RawWorker {
    pub ws: Ws,
}

impl RawWorker {
    pub async fn connect(
        server: &Server,
        id: &str,
    ) -> Result<RawWorker, tokio_tungstenite::tungstenite::Error> {
        Self::connect_with_token(server, id, None).await
    }

    /// Connects as `id`, presenting `token` (`Authorization: Bearer`) if given.
    pub async fn connect_with_token(
        server: &Server,
        id: &str,
        token: Option<&str>,
    ) -> Result<RawWorker, tokio_tungstenite::tungstenite::Error> {
        let mut request = server.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Worker-Id", HeaderValue::from_str(id).unwrap());
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
            request.headers_mut().insert("Authorization", value);
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(RawWorker { ws })
    }

    pub async fn send(&mut self, message: &FromWorker) {
        let frame = protocol::encode_from_worker(message);
        self.ws.send(Message::Binary(frame.into())).await.unwrap();
    }

    pub async fn register(&mut self, id: &str, task_types: &[&str], labels: &[&str]) {
        self.send(&FromWorker::Register(Registration {
            worker_id: id.to_owned(),
            max_labels: 2,
            slots: 1,
            task_types: task_types.iter().map(|t| (*t).to_owned()).collect(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            catalog: None,
        }))
        .await;
    }

    /// Registers with exactly these settings.
    pub async fn register_as(&mut self, registration: Registration) {
        self.send(&FromWorker::Register(registration)).await;
    }

    /// The next command from the dispatcher (skipping pings), or `Err(close reason)`.
    pub async fn next_command(&mut self) -> Result<WorkerCommand, String> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .map_err(|_| "timed out".to_owned())?;
            match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    return protocol::decode_command(&bytes).map_err(|e| e.to_string())
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map(|f| f.reason.to_string()).unwrap_or_default());
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("error: {e}")),
                None => return Err("ended".to_owned()),
            }
        }
    }
}
