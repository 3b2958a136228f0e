//! Alibaba Cloud Log Service (SLS): a client for the read path and consumer groups.
//!
//! - [`client`]: the HTTP calls (ListShards, GetCursor, PullLogs, consumer groups);
//! - [`sign`]: request signing (v1);
//! - [`proto`]: the protobuf messages (`LogGroup`, `LogGroupList`).
