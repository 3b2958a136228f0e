//! Sources: where records enter the pipeline.
//!
//! - [`csv`]: files and stdin;
//! - [`sls`]: Alibaba Cloud Log Service logstores (client, and the source built on it).

pub mod csv;
pub mod sls;
