//! The PostgreSQL wire protocol, version 3: frames ([`frame`]), the messages the proxy reads
//! or writes ([`messages`]) and the startup message ([`startup`]).

pub mod frame;
pub mod messages;
pub mod startup;

pub use frame::{Frame, FrameReader, FrameWriter};
pub use startup::Startup;
