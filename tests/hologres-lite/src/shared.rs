//! What every connection of one server shares: its settings, faults, statement log and
//! Fixed Copy staging.

use crate::config::Config;
use crate::faults::Faults;
use crate::staging::Staging;
use crate::statement_log::StatementLog;
use crate::version::Version;

pub struct Shared {
    pub config: Config,
    pub version: Version,
    /// The backend's address.
    pub backend_host: String,
    pub backend_port: u16,
    pub faults: Faults,
    pub log: StatementLog,
    pub staging: Staging,
}
