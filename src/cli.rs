//! The command line: `serve`, `worker`, `bench`, `simulate`. Parses flags, builds the
//! configuration and hands over to the library; prints what a person reads. A root: it
//! may depend on every layer.

use std::path::PathBuf;
use std::rc::Rc;

use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::config::{Config, ConfigError, FLAGS};
use crate::sim::SimulateArgs;
use crate::worker::{self, Onnx, Simulated, WorkerOptions};

#[derive(Debug, Parser)]
#[command(
    name = "smart-routing",
    version,
    about = "A model-aware task router for pools of ML inference workers"
)]
pub struct Cli {
    /// Log format on stderr: pretty or json (also SMART_ROUTING_LOG_FORMAT).
    #[arg(
        long,
        global = true,
        env = "SMART_ROUTING_LOG_FORMAT",
        default_value = "pretty"
    )]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dispatcher: HTTP API, worker WebSocket, optional local ONNX workers.
    Serve(ServeArgs),
    /// Run a remote worker that connects to a dispatcher.
    Worker(WorkerArgs),
    /// Load a running server like the original benchmark and report.
    Bench(BenchArgs),
    /// Run the routing core in virtual time on a workload, every policy side by side.
    Simulate(SimulateArgs),
}

/// `serve`'s flags: `--config`, and the settings `config::FLAGS` declares as flags.
#[derive(Debug, Clone, Default)]
pub struct ServeArgs {
    /// Config file (TOML); see config/default.toml for every setting.
    pub config: Option<PathBuf>,
    /// The settings given as flags, as (setting, value), in the order of `FLAGS`.
    pub settings: Vec<(&'static str, String)>,
}

impl Args for ServeArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.arg(
            Arg::new("config")
                .long("config")
                .value_name("CONFIG")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Config file (TOML); see config/default.toml for every setting"),
        );
        FLAGS.iter().fold(cmd, |cmd, flag| {
            cmd.arg(
                Arg::new(flag.long)
                    .long(flag.long)
                    .value_name(flag.long.replace('-', "_").to_ascii_uppercase())
                    .help(flag.help),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(config) = matches.get_one::<PathBuf>("config") {
            self.config = Some(config.clone());
        }
        for flag in FLAGS {
            if let Some(value) = matches.get_one::<String>(flag.long) {
                self.settings.push((flag.key, value.clone()));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The dispatcher's worker endpoint, e.g. ws://127.0.0.1:8080/worker-listen
    /// (wss://... when it serves TLS).
    #[arg(long)]
    pub dispatcher: String,
    /// PEM CA certificate(s) to trust for wss:// besides the webpki roots (a private or
    /// self-signed CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    #[arg(long)]
    pub worker_id: String,
    /// K: labels held at once.
    #[arg(long, default_value_t = 2)]
    pub max_labels: u32,
    /// Tasks run concurrently.
    #[arg(long, default_value_t = 1)]
    pub slots: u32,
    /// Run the original benchmark's simulated tasks.
    #[arg(long, conflicts_with = "models", required_unless_present = "models")]
    pub simulate: bool,
    /// Multiply every simulated duration by this, from 0 to 1000 (0: never sleep, a no-op
    /// worker).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Task types to announce (comma-separated); default: all the executor runs.
    #[arg(long, value_delimiter = ',')]
    pub task_types: Vec<String>,
    /// Model repository: run ONNX models with ort instead of simulating.
    #[arg(long)]
    pub models: Option<PathBuf>,
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Token the dispatcher requires of workers (also SMART_ROUTING_WORKER_TOKEN).
    #[arg(long, env = "SMART_ROUTING_WORKER_TOKEN")]
    pub token: Option<String>,
    /// Exit after this many failed connection attempts in a row (default: retry forever).
    #[arg(long)]
    pub max_retries: Option<u32>,
}

/// Builds the server configuration: file < env < flags.
pub fn serve_config(args: &ServeArgs) -> Result<Config, ConfigError> {
    let default = PathBuf::from("config/default.toml");
    let path = args
        .config
        .clone()
        .or_else(|| default.exists().then_some(default));
    let mut config = Config::load(path.as_deref(), std::env::vars())?;
    for (key, value) in &args.settings {
        config.set(key, value)?;
    }
    config.validate()?;
    Ok(config)
}

/// Checks the worker's flags before anything starts; the error is the user's.
pub fn check_worker_args(args: &WorkerArgs) -> Result<(), String> {
    if !(0.0..=crate::workload::MAX_TIME_SCALE).contains(&args.time_scale) {
        return Err(
            "--time-scale must be a number from 0 to 1000 (0: no sleeping at all)".to_owned(),
        );
    }
    if let Some(ca) = &args.ca_cert {
        crate::tls::client_config(Some(ca)).map_err(|e| format!("--ca-cert: {e}"))?;
    }
    if let Some(models) = &args.models {
        if !models.is_dir() {
            return Err(format!("--models {}: not a directory", models.display()));
        }
    }
    Ok(())
}

pub fn run_worker(args: WorkerArgs) -> anyhow::Result<()> {
    check_worker_args(&args).map_err(anyhow::Error::msg)?;
    let options = WorkerOptions {
        url: args.dispatcher.clone(),
        worker_id: args.worker_id.clone(),
        max_labels: args.max_labels,
        slots: args.slots,
        token: args.token.clone(),
        max_retries: args.max_retries,
        ca_cert: args.ca_cert.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    if let Some(models) = args.models {
        let library = crate::engine::init_runtime(args.ort_lib.as_deref())?;
        tracing::info!(library = %library.display(), "ONNX Runtime loaded");
        let executor = Rc::new(Onnx::start(models, &args.worker_id, args.task_types)?);
        return local.block_on(&runtime, async move {
            Ok(worker::run(options, executor).await?)
        });
    }
    let executor = Rc::new(Simulated::new(args.time_scale, args.seed, args.task_types));
    local.block_on(&runtime, async move {
        Ok(worker::run(options, executor).await?)
    })
}
