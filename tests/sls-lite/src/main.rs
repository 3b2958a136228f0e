//! `sls-lite` binary: parses the command line and runs the server until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use sls_lite::{AccessKey, AutoSplit, Config, FaultRule, LogstoreSpec, Server};

/// An Alibaba Cloud Log Service compatible server for tests and demos.
///
/// Prints `listening on ADDR` as the first line on stdout once it accepts requests.
#[derive(Debug, Parser)]
#[command(name = "sls-lite", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A logstore to serve, PROJECT/LOGSTORE[:SHARDS] (default 2 shards); repeatable.
    #[arg(
        long = "logstore",
        value_name = "PROJECT/LOGSTORE:SHARDS",
        required = true
    )]
    logstores: Vec<LogstoreSpec>,
    /// An accepted access key, ID:SECRET; repeatable. Without any, give --anonymous.
    #[arg(
        long = "access-key",
        value_name = "ID:SECRET",
        env = "SLS_LITE_ACCESS_KEY",
        hide_env_values = true
    )]
    // Kept as text and parsed after clap, whose errors would echo the value (a secret).
    access_keys: Vec<String>,
    /// Serve unsigned requests, with no access key (the real service never does).
    #[arg(long, conflicts_with = "access_keys")]
    anonymous: bool,
    /// Directory keeping logs, shards and checkpoints across restarts (memory only without it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep log groups this many seconds after they are received, in every --logstore
    /// (forever without it); older ones are removed as requests reach the logstore.
    #[arg(long, value_name = "SECS")]
    ttl_secs: Option<u64>,
    /// Split a writable shard of every --logstore at the middle of its range once it has
    /// received LOG_GROUPS log groups, while fewer than MAX_SHARDS shards are writable.
    #[arg(long, value_name = "MAX_SHARDS:LOG_GROUPS")]
    auto_split: Option<AutoSplit>,
    /// A fault rule as JSON, e.g. '{"op":"put","error":"WriteQuotaExceed","times":3}'; repeatable.
    #[arg(long = "fault", value_name = "JSON", value_parser = parse_fault)]
    faults: Vec<FaultRule>,
}

fn parse_fault(text: &str) -> Result<FaultRule, String> {
    let rule: FaultRule = serde_json::from_str(text).map_err(|e| e.to_string())?;
    rule.validate().map_err(|e| e.to_string())?;
    Ok(rule)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(error) = run(args).await {
        eprintln!("sls-lite: {error:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Config {
        listen: args.listen,
        logstores: args
            .logstores
            .into_iter()
            .map(|spec| {
                let spec = match args.ttl_secs {
                    Some(secs) => spec.with_ttl_secs(secs),
                    None => spec,
                };
                match args.auto_split {
                    Some(a) => spec.with_auto_split(a.max_shards, a.log_groups),
                    None => spec,
                }
            })
            .collect(),
        access_keys: args
            .access_keys
            .iter()
            .map(|k| k.parse::<AccessKey>())
            .collect::<Result<_, _>>()
            .context("invalid --access-key")?,
        anonymous: args.anonymous,
        data_dir: args.data_dir,
        faults: args.faults,
    };
    let server = Server::start(config).await.context("could not start")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", server.addr())?;
    stdout.flush()?;
    server.run_until(shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
