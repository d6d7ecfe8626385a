//! `embed_texts` benchmark on all-MiniLM-L6-v2: ONNX Runtime called directly through the
//! engine (the ceiling) against the full path HTTP → dispatcher → local worker, side by side
//! in one process and one run, with dynamic batching on, off, and on without waiting; where
//! the time goes; and the memory one loaded model takes. Prints a markdown report.
//!
//! ```text
//! scripts/setup.sh
//! cargo run --release --example embed_bench -- [--sentences 1024] [--reps 3] [--json]
//! ```
//! `bench/embed.sh` runs it and, with `--save`, writes `bench/results/embed.md`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use smart_routing::config::{Config, LocalSection};
use smart_routing::engine::{init_runtime, parse_params, LoadedModel, TaskInput, EMBED_TEXTS};
use smart_routing::repository::{CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE};
use smart_routing::tasks::{RawJson, Status, TaskView, Timings};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

#[derive(Parser, Debug)]
#[command(about = "embed_texts: direct ort ceiling vs. the full HTTP path, and memory")]
struct Args {
    /// The model repository holding the label (what scripts/setup.sh fills).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    #[arg(long, default_value = "all-MiniLM-L6-v2")]
    label: String,
    /// Sentences per measurement (rounded up to whole requests).
    #[arg(long, default_value_t = 1024)]
    sentences: usize,
    /// Distinct generated sentences, cycled through.
    #[arg(long, default_value_t = 256)]
    distinct: usize,
    /// Repetitions of every measurement; the report gives medians.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// ONNX Runtime intra-op threads of every session.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Concurrent single-text clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// `max_queue_delay_us` with dynamic batching on.
    #[arg(long, default_value_t = 2000)]
    delay_us: u64,
    /// Print the report as JSON instead of markdown.
    #[arg(long)]
    json: bool,
}

const BATCHES: [usize; 3] = [1, 8, 32];
/// `max_batch_size` with dynamic batching on.
const MAX_BATCH: usize = 32;
/// MiniLM's embedding width.
const DIM: usize = 384;

/// How a server's model folder batches (`max_batch_size`, `max_queue_delay_us`).
#[derive(Clone, Copy)]
struct Mode {
    name: &'static str,
    max_batch: usize,
    delay_us: u64,
}

fn modes(delay_us: u64) -> [Mode; 3] {
    let mode = |name, max_batch, delay_us| Mode {
        name,
        max_batch,
        delay_us,
    };
    [
        mode("on", MAX_BATCH, delay_us),
        mode("off", 1, 0),
        mode("on, no wait", MAX_BATCH, 0),
    ]
}

/// One measurement's shape.
#[derive(Clone, Copy, PartialEq)]
enum Workload {
    /// `LoadedModel::run_batch` with `batch` texts per call.
    Direct { batch: usize },
    /// POST /run-task with `batch` texts per request from `clients` concurrent clients, to
    /// the server of `modes[mode]`.
    Http {
        mode: usize,
        batch: usize,
        clients: usize,
    },
}

/// One repetition of one workload.
struct Sample {
    secs: f64,
    sentences: usize,
    latencies_ms: Vec<f64>,
    engine: EngineLog,
}

/// A workload's medians over repetitions.
#[derive(Serialize)]
struct Row {
    path: &'static str,
    batching: String,
    texts_per_request: usize,
    clients: usize,
    sentences_per_s: f64,
    sentences_per_s_min: f64,
    sentences_per_s_max: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Sentences/s over the direct ceiling at the same batch size (batch 32 for many
    /// single-text clients).
    vs_ceiling: Option<f64>,
    /// Share of wall time the engine spent in `run_batch` (tokenise, session, pool).
    engine_busy: f64,
    /// Texts per `run_batch` call, as the batcher formed them.
    texts_per_run_batch: f64,
    /// Mean time of one `run_batch` call.
    run_batch_ms: f64,
}

// ---- engine activity, from the engine's own "ran batch" debug events ----

#[derive(Default, Clone, Copy)]
struct EngineLog {
    calls: u64,
    items: u64,
    busy_us: u64,
}

static ENGINE_LOG: Mutex<EngineLog> = Mutex::new(EngineLog {
    calls: 0,
    items: 0,
    busy_us: 0,
});

/// Adds every event of `engine::batch` (its "ran batch" line) to `ENGINE_LOG`.
struct BatchCounter;

#[derive(Default)]
struct BatchFields {
    items: u64,
    elapsed_us: u64,
}

impl Visit for BatchFields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "items" => self.items = value,
            "elapsed_us" => self.elapsed_us = value,
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for BatchCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BatchFields::default();
        event.record(&mut fields);
        let mut log = ENGINE_LOG.lock().unwrap_or_else(|e| e.into_inner());
        log.calls += 1;
        log.items += fields.items;
        log.busy_us += fields.elapsed_us;
    }
}

fn take_engine_log() -> EngineLog {
    std::mem::take(&mut *ENGINE_LOG.lock().unwrap_or_else(|e| e.into_inner()))
}

// ---- inputs ----

/// `n` distinct English sentences of 8 to 20 words, the same on every run.
fn sentences(n: usize) -> Vec<String> {
    let list = |s: &'static str| s.split('|').collect::<Vec<_>>();
    let subjects = list(
        "the old engineer|my younger sister|a tired nurse|the new manager|our neighbour|\
         the quiet student|a local farmer|the city council|every morning the baker|\
         the small team|a famous writer|the hotel guest",
    );
    let verbs = list(
        "repaired|painted|carried|ordered|described|found|sold|photographed|cleaned|\
         borrowed|designed|forgot",
    );
    let objects = list(
        "a broken bicycle|the wooden fence|three heavy boxes|a cup of coffee|\
         the annual report|an old map of the coast|the blue car|a bag of apples|\
         the kitchen window|some fresh bread|the garden gate|a long letter",
    );
    let adjuncts = list(
        "near the river|before the storm arrived|with great care|on a cold morning|\
         after a long day at work|in the crowded market|for the first time|\
         without saying a word|while the children slept|at the edge of town|\
         during the summer holidays|under the bright lights|because it was raining|\
         next to the train station|despite the late hour",
    );
    let mut state = 0u64;
    let mut next = |m: usize| {
        // SplitMix64 with a fixed start: the same sentences on every machine.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % m as u64) as usize
    };
    let words = |s: &str| s.split(' ').count();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let target = 8 + next(13);
        let pick = |list: &[&'static str], i: usize| list[i % list.len()];
        let mut parts = vec![
            pick(&subjects, next(99)),
            pick(&verbs, next(99)),
            pick(&objects, next(99)),
        ];
        let mut count: usize = parts.iter().map(|p| words(p)).sum();
        for _ in 0..8 {
            let adjunct = pick(&adjuncts, next(99));
            if count < target && count + words(adjunct) <= 20 && !parts.contains(&adjunct) {
                count += words(adjunct);
                parts.push(adjunct);
            }
        }
        if !(8..=20).contains(&count) {
            continue;
        }
        let mut text = parts.join(" ") + ".";
        text[..1].make_ascii_uppercase();
        if seen.insert(text.clone()) {
            out.push(text);
        }
    }
    out
}

/// The texts of request `r` of `client` when `clients` clients each send `batch` texts per
/// request: sentence k of the run is `texts[k % len]`.
fn request_texts(
    texts: &[String],
    client: usize,
    clients: usize,
    r: usize,
    batch: usize,
) -> Vec<String> {
    let first = (r * clients + client) * batch;
    (first..first + batch)
        .map(|k| texts[k % texts.len()].clone())
        .collect()
}

/// Copies (hard-links) the model files into `repository/label/` with the source's
/// `model.toml`, but batching as `mode` says and running `threads` intra-op threads.
fn model_folder(
    src: &Path,
    repository: &Path,
    label: &str,
    mode: Mode,
    threads: usize,
) -> std::io::Result<PathBuf> {
    let dir = repository.join(label);
    std::fs::create_dir_all(&dir)?;
    for file in [MODEL_FILE, TOKENIZER_FILE] {
        if std::fs::hard_link(src.join(file), dir.join(file)).is_err() {
            std::fs::copy(src.join(file), dir.join(file))?;
        }
    }
    let keys = ["max_batch_size", "max_queue_delay_us", "intra_op_threads"];
    let original = std::fs::read_to_string(src.join(CONFIG_FILE)).unwrap_or_default();
    let mut toml: Vec<String> = original
        .lines()
        .filter(|line| !keys.iter().any(|k| line.trim_start().starts_with(k)))
        .map(str::to_owned)
        .collect();
    toml.push(format!("max_batch_size = {}", mode.max_batch));
    toml.push(format!("max_queue_delay_us = {}", mode.delay_us));
    toml.push(format!("intra_op_threads = {threads}"));
    std::fs::write(dir.join(CONFIG_FILE), toml.join("\n") + "\n")?;
    Ok(dir)
}

// ---- measuring ----

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn median(values: Vec<f64>) -> f64 {
    percentile(&sorted(values), 0.5)
}

fn direct(model: &mut LoadedModel, inputs: &[TaskInput]) -> Sample {
    take_engine_log();
    let mut latencies_ms = Vec::with_capacity(inputs.len());
    let started = Instant::now();
    for input in inputs {
        let t = Instant::now();
        let result = model.run_batch(EMBED_TEXTS, std::slice::from_ref(input));
        latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(Err(e)) = result.first() {
            panic!("direct run failed: {e}");
        }
    }
    Sample {
        secs: started.elapsed().as_secs_f64(),
        sentences: inputs.iter().map(TaskInput::len).sum(),
        latencies_ms,
        engine: take_engine_log(),
    }
}

/// The part of `/run-task`'s answer a client reads.
#[derive(Deserialize)]
struct View {
    status: String,
    result: Option<Embeddings>,
}

#[derive(Deserialize)]
struct Embeddings {
    embeddings: Vec<Vec<f32>>,
    dim: usize,
}

fn run_task_body(task_id: &str, label: &str, texts: &[String]) -> String {
    let params = json!({ "texts": texts }).to_string();
    let body = json!({
        "task_id": task_id, "task_type": EMBED_TEXTS, "label": label, "parameters_json": params,
    });
    body.to_string()
}

/// Request bodies with their text counts for `clients` clients, `batch` texts each, about
/// `total` sentences in all.
fn http_requests(
    texts: &[String],
    label: &str,
    tag: &str,
    total: usize,
    batch: usize,
    clients: usize,
) -> Vec<Vec<(String, usize)>> {
    let per_client = total.div_ceil(batch * clients);
    let request = |c, r| {
        let chunk = request_texts(texts, c, clients, r, batch);
        (
            run_task_body(&format!("{tag}-{c}-{r}"), label, &chunk),
            batch,
        )
    };
    (0..clients)
        .map(|c| (0..per_client).map(|r| request(c, r)).collect())
        .collect()
}

/// Sends one request and reads the embeddings as a client would; its latency.
async fn post(client: &reqwest::Client, url: &str, body: String, texts: usize) -> Duration {
    let started = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let bytes = response.bytes().await.expect("the server sends a body");
    let view: Result<View, _> = serde_json::from_slice(&bytes);
    let elapsed = started.elapsed();
    let ok = view.is_ok_and(|v| {
        v.status == "completed"
            && v.result
                .is_some_and(|r| r.embeddings.len() == texts && r.dim == DIM)
    });
    assert!(ok, "{status}: {}", String::from_utf8_lossy(&bytes));
    elapsed
}

/// Runs each client's requests in turn, the clients concurrently.
async fn http(
    client: &reqwest::Client,
    url: &str,
    per_client: Vec<Vec<(String, usize)>>,
) -> Sample {
    take_engine_log();
    let sentences = per_client.iter().flatten().map(|(_, n)| n).sum();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for requests in per_client {
        let (client, url) = (client.clone(), url.to_owned());
        set.spawn(async move {
            let mut latencies = Vec::with_capacity(requests.len());
            for (body, texts) in requests {
                latencies.push(post(&client, &url, body, texts).await.as_secs_f64() * 1e3);
            }
            latencies
        });
    }
    let mut latencies_ms = Vec::new();
    while let Some(done) = set.join_next().await {
        latencies_ms.extend(done.expect("a client task"));
    }
    Sample {
        secs: started.elapsed().as_secs_f64(),
        sentences,
        latencies_ms,
        engine: take_engine_log(),
    }
}

// ---- servers ----

/// Starts one server per repository (one local worker, 32 slots) in an actix system on a
/// thread of its own; their base URLs.
fn start_servers(repositories: Vec<PathBuf>, log_root: &Path) -> Vec<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let count = repositories.len();
    let log_root = log_root.to_owned();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            for (i, repository) in repositories.into_iter().enumerate() {
                let mut config = Config {
                    local: LocalSection {
                        models: Some(repository),
                        workers: 1,
                        slots: 32,
                        ..LocalSection::default()
                    },
                    ..Config::default()
                };
                config.server.bind = "127.0.0.1:0".parse().expect("a literal address");
                config.log.log_dir = log_root.join(format!("logs-{i}"));
                config.store.data_dir = log_root.join(format!("data-{i}"));
                // Results stay readable at GET /tasks; bound them so memory stays flat.
                config.tasks.max_finished_tasks = 1000;
                let running = smart_routing::server::start(config)
                    .await
                    .expect("server starts");
                tx.send(format!("http://{}", running.addr))
                    .expect("main waits");
                // A server accepts only while its future is polled.
                actix_web::rt::spawn(running.server);
            }
            std::future::pending::<()>().await;
        });
    });
    rx.iter().take(count).collect()
}

async fn wait_worker(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/workers")).send().await {
            let workers: Value = response.json().await.unwrap_or(Value::Null);
            if workers["workers"].as_array().is_some_and(|w| !w.is_empty()) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the local worker of {base} never joined");
}

// ---- where the time goes ----

/// Mean µs per request of each step, for `texts` texts per request.
#[derive(Serialize)]
struct Profile {
    texts: usize,
    tokenize_us: f64,
    /// Tokenise, session call, pool, the result's vectors.
    run_batch_us: f64,
    /// The worker: the result to JSON text (f32 text).
    worker_encode_us: f64,
    /// The dispatcher: that text checked to be JSON (kept as raw JSON, no tree built).
    dispatcher_parse_us: f64,
    /// The HTTP handler: the task view, with the raw result, to text.
    http_encode_us: f64,
    /// The client: the answer parsed into `Vec<Vec<f32>>`.
    client_parse_us: f64,
    /// `parse_params` on the request; the HTTP layer and the worker each run it.
    params_parse_us: f64,
    response_kib: f64,
    /// The same embeddings written as f32 (shortest f32 text), and the time to write them.
    f32_text_kib: f64,
    f32_encode_us: f64,
}

fn mean_us(iterations: usize, mut f: impl FnMut(usize)) -> f64 {
    let started = Instant::now();
    (0..iterations).for_each(&mut f);
    started.elapsed().as_secs_f64() * 1e6 / iterations as f64
}

/// The model's tokenizer set up as the engine sets it up.
fn tokenizer(dir: &Path, max_length: usize) -> Tokenizer {
    let mut tokenizer = Tokenizer::from_file(dir.join(TOKENIZER_FILE)).expect("tokenizer loads");
    let padding = PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..tokenizer.get_padding().cloned().unwrap_or_default()
    };
    tokenizer.with_padding(Some(padding));
    let truncation = TruncationParams {
        max_length,
        ..tokenizer.get_truncation().cloned().unwrap_or_default()
    };
    tokenizer
        .with_truncation(Some(truncation))
        .expect("truncation applies");
    tokenizer
}

fn profile(model: &mut LoadedModel, dir: &Path, texts: &[String], batch: usize) -> Profile {
    let tokenizer = tokenizer(dir, model.config().max_length);
    let calls = (256 / batch).max(8);
    let chunks: Vec<Vec<String>> = (0..calls)
        .map(|r| request_texts(texts, 0, 1, r, batch))
        .collect();
    let tokenize_us = mean_us(calls, |i| {
        let input: Vec<&str> = chunks[i].iter().map(String::as_str).collect();
        tokenizer.encode_batch(input, true).expect("tokenizes");
    });
    let inputs: Vec<TaskInput> = chunks.iter().map(|c| TaskInput::Texts(c.clone())).collect();
    let mut results = Vec::new();
    let run_batch_us = mean_us(calls, |i| {
        results = model.run_batch(EMBED_TEXTS, std::slice::from_ref(&inputs[i]));
    });
    let result = results
        .pop()
        .and_then(Result::ok)
        .expect("an embedding result");

    // The result's way back: worker → dispatcher → HTTP → client, as the server does it:
    // the worker writes f32 text, the dispatcher checks it is JSON without building a
    // tree (the copies it checks are made before the clock starts), the handler writes the
    // view with the result as it is.
    let reps = (512 / batch).max(16);
    let text = result.to_json();
    let worker_encode_us = mean_us(reps, |_| drop(result.to_json()));
    let mut copies: Vec<String> = (0..reps).map(|_| text.clone()).collect();
    let dispatcher_parse_us = mean_us(reps, |i| {
        drop(RawJson::parse(std::mem::take(&mut copies[i])).expect("valid JSON"))
    });
    let view = TaskView {
        task_id: "r0-w3-0-0".into(),
        status: Status::Completed,
        label: "all-MiniLM-L6-v2".into(),
        task_type: EMBED_TEXTS.into(),
        tenant: "anonymous".into(),
        worker: Some("local-1".into()),
        label_miss: false,
        attempts: 1,
        result: Some(RawJson::parse(text.clone()).expect("valid JSON")),
        error: None,
        timings: Timings {
            queue_ms: 0,
            load_ms: 0,
            run_ms: 1,
            total_ms: 1,
        },
    };
    let body = serde_json::to_vec(&view).expect("serialises");
    let http_encode_us = mean_us(reps, |_| drop(serde_json::to_vec(&view)));
    let client_parse_us = mean_us(reps, |_| drop(serde_json::from_slice::<View>(&body)));
    let params = json!({ "texts": chunks[0] }).to_string();
    let params_parse_us = mean_us(reps, |_| drop(parse_params(EMBED_TEXTS, &params)));
    let vectors: Vec<Vec<f32>> =
        serde_json::from_value(result.to_value()["embeddings"].clone()).expect("f32");
    let f32_text = serde_json::to_string(&vectors).expect("serialises");
    let f32_encode_us = mean_us(reps, |_| drop(serde_json::to_string(&vectors)));
    Profile {
        texts: batch,
        tokenize_us,
        run_batch_us,
        worker_encode_us,
        dispatcher_parse_us,
        http_encode_us,
        client_parse_us,
        params_parse_us,
        response_kib: body.len() as f64 / 1024.0,
        f32_text_kib: f32_text.len() as f64 / 1024.0,
        f32_encode_us,
    }
}

// ---- the run ----

/// VmRSS growth, MiB.
#[derive(Serialize)]
struct Memory {
    model_file_mib: f64,
    runtime_mib: f64,
    first_session_mib: f64,
    first_session_after_runs_mib: f64,
    second_session_mib: f64,
    second_session_after_runs_mib: f64,
    process_end_mib: f64,
}

#[derive(Serialize)]
struct Report {
    threads: usize,
    sentences_per_measurement: usize,
    reps: usize,
    clients: usize,
    rows: Vec<Row>,
    memory: Memory,
    profile: Vec<Profile>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Loads the runtime, then one session, then a second one, running each at batch 32;
/// VmRSS after each step. Returns the first session for the direct measurements.
fn memory(dir: &Path, texts: &[String]) -> (LoadedModel, Memory) {
    let model_bytes = std::fs::metadata(dir.join(MODEL_FILE)).map_or(0, |m| m.len());
    let warm = TaskInput::Texts(request_texts(texts, 0, 1, 0, MAX_BATCH));
    let load_and_run = || {
        let mut model = LoadedModel::load(dir).expect("MiniLM loads");
        let loaded = rss_kib();
        for _ in 0..3 {
            model.run_batch(EMBED_TEXTS, std::slice::from_ref(&warm));
        }
        (model, loaded, rss_kib())
    };
    let start = rss_kib();
    init_runtime(None).expect("ONNX Runtime loads (run scripts/setup.sh)");
    let runtime = rss_kib();
    let (first, first_loaded, first_run) = load_and_run();
    let (second, second_loaded, second_run) = load_and_run();
    drop(second);
    let memory = Memory {
        model_file_mib: model_bytes as f64 / (1024.0 * 1024.0),
        runtime_mib: mib(runtime.saturating_sub(start)),
        first_session_mib: mib(first_loaded.saturating_sub(runtime)),
        first_session_after_runs_mib: mib(first_run.saturating_sub(runtime)),
        second_session_mib: mib(second_loaded.saturating_sub(first_run)),
        second_session_after_runs_mib: mib(second_run.saturating_sub(first_run)),
        process_end_mib: 0.0,
    };
    (first, memory)
}

fn main() {
    let args = Args::parse();
    let engine_events = tracing_subscriber::filter::Targets::new()
        .with_target("smart_routing::engine::batch", tracing::Level::DEBUG);
    let subscriber = tracing_subscriber::registry().with(BatchCounter.with_filter(engine_events));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let src = args.models.join(&args.label);
    let missing = format!(
        "{} is missing: run scripts/setup.sh",
        src.join(MODEL_FILE).display()
    );
    assert!(src.join(MODEL_FILE).is_file(), "{missing}");
    let root = std::env::temp_dir().join(format!("embed-bench-{}", std::process::id()));
    let modes = modes(args.delay_us);
    let repositories: Vec<PathBuf> = (0..modes.len())
        .map(|i| root.join(format!("repo-{i}")))
        .collect();
    for (mode, repository) in modes.iter().zip(&repositories) {
        model_folder(&src, repository, &args.label, *mode, args.threads).expect("model folder");
    }
    // The direct session batches as the "on" server's does: up to 32 texts per call.
    let direct_dir = repositories[0].join(&args.label);
    let texts = sentences(args.distinct);
    let (mut model, mut memory) = memory(&direct_dir, &texts);

    let urls = start_servers(repositories, &root);
    let run_urls: Vec<String> = urls.iter().map(|u| format!("{u}/run-task")).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2 * args.clients)
        // Below the server's 5 s keep-alive: the runtime sleeps during the direct runs, so
        // the client would not see the server close idle connections and would reuse them.
        .pool_idle_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(300))
        .build()
        .expect("an HTTP client");

    // Warm up: the direct session at every batch size; each server loads its model.
    for batch in BATCHES {
        let input = TaskInput::Texts(request_texts(&texts, 0, 1, 1, batch));
        for _ in 0..3 {
            model.run_batch(EMBED_TEXTS, std::slice::from_ref(&input));
        }
    }
    runtime.block_on(async {
        for (m, (base, url)) in urls.iter().zip(&run_urls).enumerate() {
            wait_worker(&client, base).await;
            for (batch, clients) in [(MAX_BATCH, 1), (1, args.clients), (8, 1)] {
                let tag = format!("warm-{m}-{batch}");
                let requests = http_requests(&texts, &args.label, &tag, 64, batch, clients);
                http(&client, url, requests).await;
            }
        }
    });

    let mut workloads: Vec<Workload> = BATCHES.map(|batch| Workload::Direct { batch }).to_vec();
    for mode in 0..modes.len() {
        workloads.extend(BATCHES.map(|batch| Workload::Http {
            mode,
            batch,
            clients: 1,
        }));
        workloads.push(Workload::Http {
            mode,
            batch: 1,
            clients: args.clients,
        });
    }
    // Every repetition runs every workload, so a slow moment of the machine hits all alike.
    let mut samples: Vec<Vec<Sample>> = workloads.iter().map(|_| Vec::new()).collect();
    for rep in 0..args.reps {
        for (w, workload) in workloads.iter().enumerate() {
            let sample = match *workload {
                Workload::Direct { batch } => {
                    let calls = args.sentences.div_ceil(batch);
                    let input = |r| TaskInput::Texts(request_texts(&texts, 0, 1, r, batch));
                    let inputs: Vec<TaskInput> = (0..calls).map(input).collect();
                    direct(&mut model, &inputs)
                }
                Workload::Http {
                    mode,
                    batch,
                    clients,
                } => {
                    let (tag, total) = (format!("r{rep}-w{w}"), args.sentences);
                    let requests = http_requests(&texts, &args.label, &tag, total, batch, clients);
                    runtime.block_on(http(&client, &run_urls[mode], requests))
                }
            };
            let rate = sample.sentences as f64 / sample.secs;
            eprintln!("rep {rep} workload {w}: {rate:.1} sentences/s");
            samples[w].push(sample);
        }
    }

    let profile: Vec<Profile> = BATCHES
        .map(|b| profile(&mut model, &direct_dir, &texts, b))
        .into();
    memory.process_end_mib = mib(rss_kib());
    let report = Report {
        threads: args.threads,
        sentences_per_measurement: args.sentences,
        reps: args.reps,
        clients: args.clients,
        rows: summarise(&workloads, &samples, &modes),
        memory,
        profile,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialises")
        );
    } else {
        print!("{}", markdown(&report));
    }
    let _ = std::fs::remove_dir_all(&root);
    // The servers' thread never ends on its own.
    std::process::exit(0);
}

fn summarise(workloads: &[Workload], samples: &[Vec<Sample>], modes: &[Mode]) -> Vec<Row> {
    let rate = |s: &Sample| s.sentences as f64 / s.secs;
    let ceiling = |batch: usize| {
        let i = workloads
            .iter()
            .position(|w| *w == Workload::Direct { batch });
        i.map(|i| median(samples[i].iter().map(rate).collect()))
    };
    let per_rep =
        |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    let row = |workload: &Workload, samples: &[Sample]| {
        let (path, batching, batch, clients) = match *workload {
            Workload::Direct { batch } => ("direct", "–".to_owned(), batch, 1),
            Workload::Http {
                mode,
                batch,
                clients,
            } => {
                let m = modes[mode];
                let batching = format!("{} (max {}, {} µs)", m.name, m.max_batch, m.delay_us);
                ("HTTP", batching, batch, clients)
            }
        };
        let rates = sorted(samples.iter().map(rate).collect());
        let sentences_per_s = percentile(&rates, 0.5);
        let vs_ceiling = match workload {
            Workload::Direct { .. } => None,
            Workload::Http { .. } => {
                let at = if clients > 1 { MAX_BATCH } else { batch };
                ceiling(at).map(|c| sentences_per_s / c)
            }
        };
        let latency = |q| move |s: &Sample| percentile(&sorted(s.latencies_ms.clone()), q);
        let calls = |s: &Sample| s.engine.calls.max(1) as f64;
        Row {
            path,
            batching,
            texts_per_request: batch,
            clients,
            sentences_per_s,
            sentences_per_s_min: rates[0],
            sentences_per_s_max: rates[rates.len() - 1],
            p50_ms: per_rep(samples, &latency(0.5)),
            p99_ms: per_rep(samples, &latency(0.99)),
            vs_ceiling,
            engine_busy: per_rep(samples, &|s| s.engine.busy_us as f64 / 1e6 / s.secs),
            texts_per_run_batch: per_rep(samples, &|s| s.engine.items as f64 / calls(s)),
            run_batch_ms: per_rep(samples, &|s| s.engine.busy_us as f64 / 1e3 / calls(s)),
        }
    };
    workloads
        .iter()
        .zip(samples)
        .map(|(w, s)| row(w, s))
        .collect()
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let mut line = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    line(&format!(
        "MiniLM (int8), {} intra-op threads per session; {} sentences of 8–20 words per \
         measurement; medians of {} repetitions (sentences/s: median, min–max). HTTP: one \
         server per batching mode in this process, 1 local worker with 32 slots; \
         `{} clients` = that many concurrent clients sending one text per request.\n",
        report.threads, report.sentences_per_measurement, report.reps, report.clients
    ));
    line(
        "| path | dynamic batching | texts/request | clients | sentences/s | p50 ms | p99 ms \
         | vs direct ceiling | engine busy | texts/run_batch | ms/run_batch |",
    );
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &report.rows {
        let at = if r.clients > 1 {
            MAX_BATCH
        } else {
            r.texts_per_request
        };
        let vs = r.vs_ceiling.map_or("(ceiling)".to_owned(), |v| {
            format!("{:.0}% of b{at}", v * 100.0)
        });
        line(&format!(
            "| {} | {} | {} | {} | {:.1} ({:.0}–{:.0}) | {:.1} | {:.1} | {} | {:.0}% | {:.1} | {:.1} |",
            r.path,
            r.batching,
            r.texts_per_request,
            r.clients,
            r.sentences_per_s,
            r.sentences_per_s_min,
            r.sentences_per_s_max,
            r.p50_ms,
            r.p99_ms,
            vs,
            r.engine_busy * 100.0,
            r.texts_per_run_batch,
            r.run_batch_ms,
        ));
    }
    line(
        "\nengine busy: share of the wall time spent in `run_batch` (tokenise, session call, \
         pool), from the engine's `ran batch` events. texts/run_batch: texts per batcher call; \
         `run_batch` cuts them into session calls of at most `max_batch_size` (1 when off).\n",
    );
    let m = &report.memory;
    line("Memory (VmRSS growth, MiB):\n");
    line(
        "| model.onnx | ONNX Runtime library | 1st session loaded | 1st after batch-32 runs \
         | 2nd session loaded | 2nd after batch-32 runs | whole process at the end |",
    );
    line("|---:|---:|---:|---:|---:|---:|---:|");
    line(&format!(
        "| {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        m.model_file_mib,
        m.runtime_mib,
        m.first_session_mib,
        m.first_session_after_runs_mib,
        m.second_session_mib,
        m.second_session_after_runs_mib,
        m.process_end_mib,
    ));
    line("Where the time goes per request (µs, mean, measured in-process after the runs):\n");
    line(
        "| texts | tokenize | run_batch (all) | worker: result to JSON | dispatcher: parse \
         | HTTP: view to JSON | client: parse | params parse ×2 | response KiB \
         | as f32 text: KiB / µs |",
    );
    line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &report.profile {
        line(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} / {:.0} |",
            p.texts,
            p.tokenize_us,
            p.run_batch_us,
            p.worker_encode_us,
            p.dispatcher_parse_us,
            p.http_encode_us,
            p.client_parse_us,
            2.0 * p.params_parse_us,
            p.response_kib,
            p.f32_text_kib,
            p.f32_encode_us,
        ));
    }
    out
}
