//! The progress bar of a file load, drawn on stderr when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use super::Summary;

/// A progress bar on stderr for sources of known size, drawn only on a terminal.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(enabled: bool, total: Option<u64>) -> Self {
        let bar = match total {
            Some(t) if enabled && std::io::stderr().is_terminal() => {
                let bar = indicatif::ProgressBar::new(t);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
                    )
                    .expect("valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            _ => None,
        };
        Progress { bar }
    }

    pub fn update(&self, bytes: u64, summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(format!(
                "{} written, {} dead-lettered",
                summary.written, summary.dead_lettered
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
