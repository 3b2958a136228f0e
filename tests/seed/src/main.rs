//! `holo-seed`: writes the seed tutorials' data files for demos.
//!
//! `holo-seed orders [ROWS] [SEED]` prints an orders CSV, `holo-seed ratings [ROWS]` a
//! ratings CSV, `holo-seed books` the headerless books file.

use std::io::Write;
use std::process::ExitCode;

/// The date the tutorial generated its data on, as a default seed.
const SEED: u64 = 20_210_712;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.first().map(String::as_str) {
        Some("orders") => {
            let rows = args.get(1).map_or(Ok(10_000), |s| s.parse());
            let seed = args.get(2).map_or(Ok(SEED), |s| s.parse());
            match (rows, seed) {
                (Ok(rows), Ok(seed)) => holo_seed::orders_csv(rows, seed),
                _ => return usage("ROWS and SEED must be numbers"),
            }
        }
        Some("ratings") => match args.get(1).map_or(Ok(2_000), |s| s.parse()) {
            Ok(rows) => holo_seed::ratings_csv(rows, SEED),
            Err(_) => return usage("ROWS must be a number"),
        },
        Some("books") => holo_seed::books_csv(),
        _ => return usage("unknown command"),
    };
    if let Err(e) = std::io::stdout().lock().write_all(out.as_bytes()) {
        eprintln!("holo-seed: cannot write to stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage(why: &str) -> ExitCode {
    eprintln!(
        "holo-seed: {why}\nusage: holo-seed orders [ROWS] [SEED] | holo-seed ratings [ROWS] | holo-seed books"
    );
    ExitCode::from(2)
}
