//! The Log Service `LogGroup` protobuf messages, declared once (by hand, with prost derive)
//! for the host's Log Service client and for the `sls-lite` test server.
//!
//! The definitions come from the service's official proto (proto2, package `sls`) as the Go
//! SDK ships it: `log.proto` in aliyun-log-go-sdk, generated as `log.pb.go`. Message names,
//! field numbers and kinds are the same; field names are snake_case.
//!
//! One deliberate difference: keys, values, topic, source and tags are `string` in
//! `log.proto` and `bytes` here. Both are a length-delimited field, so the encoding is the
//! same, but prost refuses a `string` that is not UTF-8, and each user needs its own policy:
//! the host reads such a value lossily (one bad value must not make a shard unreadable),
//! sls-lite refuses it as a proto `string` decoder would.
//!
//! Not declared: `SlsLogPackage` and `SlsLogPackageList`, which neither side uses.

/// One key/value pair of a log (`LogContent`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LogContent {
    #[prost(bytes = "vec", required, tag = "1")]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", required, tag = "2")]
    pub value: Vec<u8>,
}

/// One log: unix seconds, contents in order, and optionally the nanoseconds part of its time.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Log {
    #[prost(uint32, required, tag = "1")]
    pub time: u32,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<LogContent>,
    /// `TimeNs`: fixed32 on the wire.
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

impl Log {
    /// A log at `time` (unix seconds) with the given contents, in order, and no nanoseconds.
    pub fn new<K: Into<Vec<u8>>, V: Into<Vec<u8>>>(
        time: u32,
        contents: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Log {
            time,
            contents: contents
                .into_iter()
                .map(|(key, value)| LogContent {
                    key: key.into(),
                    value: value.into(),
                })
                .collect(),
            time_ns: None,
        }
    }
}

/// A tag shared by every log of a group (`__tag__:<key>` in queries).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LogTag {
    #[prost(bytes = "vec", required, tag = "1")]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", required, tag = "2")]
    pub value: Vec<u8>,
}

/// The unit of writing and reading: logs sharing topic, source and tags.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    /// Field 2: `Category` in today's `log.proto`, `Reserved` in older ones; unused.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub reserved: Option<Vec<u8>>,
    /// `__topic__`.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub topic: Option<Vec<u8>>,
    /// `__source__`.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub source: Option<Vec<u8>>,
    /// `MachineUUID`.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub machine_uuid: Option<Vec<u8>>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<LogTag>,
}

/// The body of a PullLogs answer (`LogGroups`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LogGroupList {
    #[prost(message, repeated, tag = "1")]
    pub log_groups: Vec<LogGroup>,
}
