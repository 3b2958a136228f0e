//! The `hologres-lite` command: serve until killed, printing the address first.

use anyhow::Context;
use clap::Parser;
use hologres_lite::{Config, Server};

/// A PostgreSQL proxy that behaves as Alibaba Cloud Hologres, for tests.
#[derive(Parser)]
struct Args {
    /// libpq URL of a superuser on the backend PostgreSQL.
    #[arg(long)]
    backend: String,
    /// The backend database to own (created if missing).
    #[arg(long, default_value = "hologres_lite")]
    database: String,
    /// The Hologres version to imitate.
    #[arg(long, default_value = "2.1.5")]
    version: String,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Refuse COPY sent through Parse/Bind/Execute.
    #[arg(long)]
    refuse_copy_on_extended_protocol: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = Config::new(args.backend, args.database, args.version);
    config.listen = args.listen;
    config.copy_on_extended_protocol = !args.refuse_copy_on_extended_protocol;
    let server = Server::start(config).context("cannot start hologres-lite")?;
    println!("listening on 127.0.0.1:{}", server.port());
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arguments_are_consistent() {
        use clap::CommandFactory;
        super::Args::command().debug_assert();
    }
}
