//! The `smart-routing` binary: parse, set up logging, run the chosen subcommand.

use clap::Parser;
use smart_routing::cli::{serve_config, Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli.command {
        Command::Serve(args) => {
            let config = serve_config(&args)?;
            actix_web::rt::System::new().block_on(async move {
                let running = smart_routing::server::start(config).await?;
                // Scripts and tests read this line for the real port.
                println!("listening on http://{}", running.addr);
                if let Some(addr) = running.grpc_addr {
                    println!("grpc listening on {addr}");
                }
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
