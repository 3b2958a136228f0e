//! hologres-lite: a PostgreSQL wire-protocol proxy in front of a throwaway PostgreSQL that
//! behaves as Alibaba Cloud Hologres does wherever a client can see the difference: its
//! version function, session time zone and settings, transactions, Fixed Copy, refused
//! statements, affected-row counts, failovers. A test double, written from holo-client and
//! the Hologres documentation (see the README's table).
//!
//! ```no_run
//! use hologres_lite::{Config, Server};
//! let server = Server::start(Config::new(
//!     "postgres://postgres@127.0.0.1:5432/postgres", "hologres_lite", "2.1.5",
//! ))?;
//! println!("connect to {}", server.dsn());
//! server.faults().fail_next(1, "INSERT");
//! # Ok::<(), hologres_lite::StartError>(())
//! ```
//!
//! # Layout
//! - [`server`]: the thread, runtime and listener; [`connection`]: one client, relayed
//!   batch by batch; [`wire`]: the protocol's frames and messages.
//! - [`policy`]: the Hologres rules for one statement; [`refusal`]: the errors it raises;
//!   [`session`], [`txn`], [`settings`]: what a session carries; [`reply`]: how a
//!   statement's completion is rewritten.
//! - [`sql`]: splitting and classifying statements ([`kind`]), the Fixed Copy command;
//!   [`staging`]: Fixed Copy on PostgreSQL; [`kit`]: what is installed in the backend.
//! - [`faults`]: failovers, transient errors, lost replies; [`statement_log`], [`logged`]:
//!   the statements received.

pub mod config;
pub mod connection;
pub mod error;
pub mod faults;
pub mod kind;
pub mod kit;
pub mod logged;
pub mod policy;
pub mod refusal;
pub mod reply;
pub mod server;
pub mod session;
pub mod settings;
pub mod shared;
pub mod sql;
pub mod staging;
pub mod statement_log;
pub mod txn;
pub mod version;
pub mod wire;

pub use config::Config;
pub use error::StartError;
pub use faults::Faults;
pub use kind::Kind;
pub use logged::{Executed, Logged, Protocol};
pub use server::{RunningServer, Server};
pub use version::Version;
