//! The `smart-routing` binary: parse, set up logging, run the chosen subcommand.

use clap::Parser;
use smart_routing::cli::{serve_config, Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server's config names the OTLP endpoint, so it is read before logging starts.
    let config = match &cli.command {
        Command::Serve(args) => Some(serve_config(args)?),
        _ => None,
    };
    let otlp = config.as_ref().map_or("", |c| c.otlp_endpoint.as_str());
    // Outside any async runtime: the exporter's client runs its own. Flushes when dropped.
    let _telemetry = smart_routing::telemetry::init(&cli.log_format, otlp)?;
    match cli.command {
        Command::Serve(_) => {
            let config = config.ok_or_else(|| anyhow::anyhow!("serve without a config"))?;
            actix_web::rt::System::new().block_on(async move {
                let running = smart_routing::server::start(config).await?;
                // Scripts and tests read this line for the real port.
                println!("listening on http://{}", running.addr);
                running.server.await?;
                anyhow::Ok(())
            })
        }
        Command::Worker(args) => smart_routing::cli::run_worker(args),
        Command::Bench(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            print!("{}", runtime.block_on(smart_routing::bench::run(&args))?);
            Ok(())
        }
        Command::Simulate(args) => {
            print!("{}", smart_routing::sim::run(&args)?);
            Ok(())
        }
    }
}
