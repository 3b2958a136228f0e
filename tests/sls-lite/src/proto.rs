//! Log Service protobuf messages (proto2 `LogGroup` family), declared by hand with prost derive.
//!
//! Field numbers and kinds follow the service's `sls_logs.proto`; content values are strings on
//! the wire (UTF-8 bytes), so decoding fails on a value that is not UTF-8.

use bytes::{Buf, BufMut};
use prost::Message;

/// One key/value pair of a log.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct LogContent {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// One log: a time in unix seconds and its contents.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Log {
    #[prost(uint32, required, tag = "1")]
    pub time: u32,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<LogContent>,
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

/// A tag shared by every log of a group (`__tag__:<key>` in queries).
#[derive(Clone, PartialEq, Eq, Message)]
pub struct LogTag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// The unit of writing and reading: logs sharing topic, source and tags.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    #[prost(string, optional, tag = "2")]
    pub reserved: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub topic: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub source: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub machine_uuid: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<LogTag>,
}

/// The body of a PullLogs response.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct LogGroupList {
    #[prost(message, repeated, tag = "1")]
    pub log_groups: Vec<LogGroup>,
}

impl Log {
    /// A log at `time` (unix seconds) with the given contents, in order.
    pub fn new<K: Into<String>, V: Into<String>>(
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

    /// The value of the first content named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.contents
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.value.as_str())
    }
}

impl LogGroup {
    /// The value of the first tag named `key` (without the `__tag__:` prefix).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.log_tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
}

/// Appends one `LogTags` entry to an encoded `LogGroup`: repeated fields may arrive in any
/// order, so the stored bytes stay exactly what the client sent plus the server's tags.
pub fn append_tag(encoded: &mut Vec<u8>, key: &str, value: &str) {
    let tag = LogTag {
        key: key.to_owned(),
        value: value.to_owned(),
    };
    prost::encoding::message::encode(6, &tag, encoded);
}

/// Writes encoded log groups as one `LogGroupList` without decoding them again.
pub fn encode_group_list<'a>(groups: impl IntoIterator<Item = &'a [u8]>, out: &mut impl BufMut) {
    for group in groups {
        prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, out);
        prost::encoding::encode_varint(group.len() as u64, out);
        out.put_slice(group);
    }
}

/// Decodes a `LogGroupList` body.
pub fn decode_group_list(body: impl Buf) -> Result<LogGroupList, prost::DecodeError> {
    LogGroupList::decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LogGroup {
        LogGroup {
            logs: vec![Log::new(
                1_700_000_000,
                [("book_name", "嫌われる勇気"), ("id", "1")],
            )],
            topic: Some("orders".into()),
            source: Some("10.0.0.1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn appended_tag_decodes_as_part_of_the_group() {
        let mut bytes = sample().encode_to_vec();
        append_tag(&mut bytes, "__receive_time__", "1700000001");
        let group = LogGroup::decode(bytes.as_slice()).unwrap();
        assert_eq!(group.tag("__receive_time__"), Some("1700000001"));
        assert_eq!(group.logs[0].get("book_name"), Some("嫌われる勇気"));
        assert_eq!(group.topic.as_deref(), Some("orders"));
    }

    #[test]
    fn group_list_encoding_matches_prost() {
        let a = sample().encode_to_vec();
        let mut second = sample();
        second.topic = Some("other".into());
        let b = second.encode_to_vec();
        let mut out = Vec::new();
        encode_group_list([a.as_slice(), b.as_slice()], &mut out);
        let expected = LogGroupList {
            log_groups: vec![sample(), second],
        }
        .encode_to_vec();
        assert_eq!(out, expected);
        assert_eq!(
            decode_group_list(out.as_slice()).unwrap().log_groups.len(),
            2
        );
    }
}
