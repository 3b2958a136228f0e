//! The Log Service protobuf messages (the `LogGroupList` family, from the `sls-proto` crate)
//! decoded to the owned [`LogGroup`] / [`Log`] the client hands out.
//!
//! Keys and values are read as bytes rather than proto `string`s: the service stores what
//! producers sent, and one value that is not UTF-8 must not make a whole shard unreadable.
//! Such a value is converted lossily (U+FFFD) and counted, so the caller can say so.

use prost::Message;
use sls_proto as wire;

/// One log as read from a shard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Log {
    /// Unix seconds (`__time__`).
    pub time: u32,
    /// Nanoseconds within that second, when the producer sent them.
    pub time_ns: Option<u32>,
    /// Key/value pairs in the order they were written (a key may repeat).
    pub contents: Vec<(String, String)>,
}

impl Log {
    /// The value of the first content named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.contents
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Logs written together: they share topic, source and tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogGroup {
    pub logs: Vec<Log>,
    /// `__topic__`.
    pub topic: Option<String>,
    /// `__source__`.
    pub source: Option<String>,
    /// `__tag__:<key>` pairs, e.g. `__receive_time__` added by the service.
    pub tags: Vec<(String, String)>,
}

impl LogGroup {
    /// The value of the first tag named `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The protobuf encoding of this group (the body of a PutLogs request).
    pub fn encode_to_vec(&self) -> Vec<u8> {
        self.to_wire().encode_to_vec()
    }

    fn to_wire(&self) -> wire::LogGroup {
        let bytes = |s: &String| s.clone().into_bytes();
        wire::LogGroup {
            logs: self
                .logs
                .iter()
                .map(|log| wire::Log {
                    time: log.time,
                    time_ns: log.time_ns,
                    contents: log
                        .contents
                        .iter()
                        .map(|(k, v)| wire::LogContent {
                            key: bytes(k),
                            value: bytes(v),
                        })
                        .collect(),
                })
                .collect(),
            reserved: None,
            topic: self.topic.as_ref().map(bytes),
            source: self.source.as_ref().map(bytes),
            machine_uuid: None,
            log_tags: self
                .tags
                .iter()
                .map(|(k, v)| wire::LogTag {
                    key: bytes(k),
                    value: bytes(v),
                })
                .collect(),
        }
    }
}

/// Log groups decoded from a `LogGroupList`, and how many strings were not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    pub groups: Vec<LogGroup>,
    /// Keys, values, topics, sources and tags that were not UTF-8 and were read lossily.
    pub lossy: usize,
}

/// Decodes the (uncompressed) body of a PullLogs answer.
pub fn decode_log_group_list(raw: &[u8]) -> Result<Decoded, prost::DecodeError> {
    let list = wire::LogGroupList::decode(raw)?;
    let mut lossy = 0;
    let mut text = |bytes: Vec<u8>| match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            lossy += 1;
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    let groups = list
        .log_groups
        .into_iter()
        .map(|g| LogGroup {
            logs: g
                .logs
                .into_iter()
                .map(|log| Log {
                    time: log.time,
                    time_ns: log.time_ns,
                    contents: log
                        .contents
                        .into_iter()
                        .map(|c| (text(c.key), text(c.value)))
                        .collect(),
                })
                .collect(),
            topic: g.topic.map(&mut text),
            source: g.source.map(&mut text),
            tags: g
                .log_tags
                .into_iter()
                .map(|t| (text(t.key), text(t.value)))
                .collect(),
        })
        .collect();
    Ok(Decoded { groups, lossy })
}

/// Encodes groups as a `LogGroupList` (what a PullLogs answer carries), for tests' answers.
#[cfg(test)]
pub(crate) fn encode_log_group_list(groups: &[LogGroup]) -> Vec<u8> {
    wire::LogGroupList {
        log_groups: groups.iter().map(LogGroup::to_wire).collect(),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LogGroup {
        LogGroup {
            logs: vec![
                Log {
                    time: 1_700_000_000,
                    time_ns: Some(123_456_789),
                    contents: vec![
                        ("id".into(), "1".into()),
                        (
                            "name".into(),
                            "色彩を持たない多崎つくると彼の巡礼の年".into(),
                        ),
                    ],
                },
                Log {
                    time: 1_700_000_001,
                    time_ns: None,
                    contents: vec![("empty".into(), String::new())],
                },
            ],
            topic: Some("orders".into()),
            source: Some("10.0.0.1".into()),
            tags: vec![("__receive_time__".into(), "1700000002".into())],
        }
    }

    #[test]
    fn round_trip_through_the_wire_format() {
        let groups = vec![sample(), LogGroup::default()];
        let decoded = decode_log_group_list(&encode_log_group_list(&groups)).unwrap();
        assert_eq!(decoded.groups, groups);
        assert_eq!(decoded.lossy, 0);
        assert_eq!(
            decoded.groups[0].logs[0].get("name"),
            Some("色彩を持たない多崎つくると彼の巡礼の年")
        );
        assert_eq!(
            decoded.groups[0].tag("__receive_time__"),
            Some("1700000002")
        );
    }

    #[test]
    fn known_bytes_decode_as_the_service_writes_them() {
        // LogGroupList { LogGroup { Log { Time: 1, Contents: [k=v] }, Topic: "t" } }, encoded
        // by hand from the proto definition.
        let raw = [
            0x0a, 0x0f, // LogGroupList.LogGroups, 15 bytes
            0x0a, 0x0a, // LogGroup.Logs, 10 bytes
            0x08, 0x01, // Log.Time = 1
            0x12, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v', // Log.Contents {k, v}
            0x1a, 0x01, b't', // LogGroup.Topic = "t"
        ];
        let decoded = decode_log_group_list(&raw).unwrap();
        assert_eq!(
            decoded.groups,
            vec![LogGroup {
                logs: vec![Log {
                    time: 1,
                    time_ns: None,
                    contents: vec![("k".into(), "v".into())],
                }],
                topic: Some("t".into()),
                ..Default::default()
            }]
        );
        // Time_ns is fixed32 (wire type 5): tag 4 → 0x25.
        let with_ns = wire::Log {
            time: 1,
            contents: vec![],
            time_ns: Some(7),
        }
        .encode_to_vec();
        assert_eq!(with_ns, [0x08, 0x01, 0x25, 0x07, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn value_that_is_not_utf8_is_read_lossily_and_counted() {
        let list = wire::LogGroupList {
            log_groups: vec![wire::LogGroup {
                logs: vec![wire::Log {
                    time: 1,
                    contents: vec![wire::LogContent {
                        key: b"k".to_vec(),
                        value: vec![b'a', 0xff, b'b'],
                    }],
                    time_ns: None,
                }],
                ..Default::default()
            }],
        };
        let decoded = decode_log_group_list(&list.encode_to_vec()).unwrap();
        assert_eq!(decoded.lossy, 1);
        assert_eq!(decoded.groups[0].logs[0].get("k"), Some("a\u{fffd}b"));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(decode_log_group_list(&[0x0a, 0x05, 0x01]).is_err());
        // Wire type 7 does not exist.
        assert!(decode_log_group_list(&[0x0f, 0x00]).is_err());
    }
}
