//! The `smart-routing` binary: parse, set up logging, run the chosen subcommand.
//! A mistake of the user's (a bad flag, config file or data directory) is one line on
//! stderr and exit status 2; a failure while running is exit status 1.

use std::process::ExitCode;

use clap::Parser;
use smart_routing::cli::{serve_config, Cli, Command};
use smart_routing::config::Config;

/// jemalloc rather than the system's: a task makes many small allocations freed on
/// other threads, where glibc's malloc took about a fifth of the server's CPU.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Why the program stopped early.
enum Failure {
    /// The user's to fix: exit 2.
    Usage(String),
    /// Something failed while running: exit 1.
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Runtime(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Runtime(error.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server's config names the OTLP endpoint, so it is read before logging starts.
    let config = match &cli.command {
        Command::Serve(args) => match serve_config(args) {
            Ok(config) => Some(config),
            Err(e) => return usage(e.to_string()),
        },
        _ => None,
    };
    let otlp = config
        .as_ref()
        .map_or("", |c| c.telemetry.otlp_endpoint.as_str());
    // Outside any async runtime: the exporter's client runs its own. Flushes when dropped.
    let _telemetry = match smart_routing::telemetry::init(&cli.log_format, otlp) {
        Ok(telemetry) => telemetry,
        Err(e) => return usage(format!("{e:#}")),
    };
    match run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => usage(message),
        Err(Failure::Runtime(error)) => {
            // `{:#}` prints the causes on one line and never a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A mistake of the user's: one line, exit 2.
fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn run(cli: Cli, config: Option<Config>) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(_) => {
            let config = config.ok_or_else(|| anyhow::anyhow!("serve without a config"))?;
            actix_web::rt::System::new().block_on(serve(config))
        }
        Command::Worker(args) => {
            smart_routing::cli::check_worker_args(&args).map_err(Failure::Usage)?;
            Ok(smart_routing::cli::run_worker(args)?)
        }
        Command::Bench(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let result = runtime.block_on(smart_routing::bench::run(&args));
            print_report(result, smart_routing::bench::BenchError::is_usage)
        }
        Command::Simulate(args) => print_report(
            smart_routing::sim::run(&args),
            smart_routing::sim::SimError::is_usage,
        ),
    }
}

/// Prints a report on stdout, or sorts its error into the user's mistake or a failure.
fn print_report<E>(result: Result<String, E>, is_usage: fn(&E) -> bool) -> Result<(), Failure>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(report) => {
            print!("{report}");
            Ok(())
        }
        Err(e) if is_usage(&e) => Err(Failure::Usage(e.to_string())),
        Err(e) => Err(Failure::Runtime(e.into())),
    }
}

async fn serve(config: Config) -> Result<(), Failure> {
    let running = smart_routing::server::start(config)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    // Scripts and tests read this line for the real port (and the scheme).
    let scheme = if running.tls { "https" } else { "http" };
    println!("listening on {scheme}://{}", running.addr);
    if running.tls {
        let grpc = running.grpc_addr.is_some();
        tracing::info!(addr = %running.addr, grpc, "TLS on: HTTPS, and WSS for workers");
    }
    if let Some(addr) = running.grpc_addr {
        println!("grpc listening on {addr}");
    }
    let handle = running.server.handle();
    let drainer = running.drainer.clone();
    actix_web::rt::spawn(async move {
        let signal = smart_routing::shutdown::signal().await;
        tracing::info!(signal, "stopping: draining first");
        drainer.run().await;
        handle.stop(true).await;
    });
    running.server.await?;
    Ok(())
}
