//! The Log Service messages as sls-lite takes and serves them: the `LogGroup` family from the
//! `sls-proto` crate, read as text, and the encoding helpers the server needs.
//!
//! The messages carry keys and values as bytes, but the service's `log.proto` declares them
//! `string`: sls-lite accepts only UTF-8 ([`decode_group`] refuses anything else, as a proto
//! `string` decoder would) and so reads them back as `&str` ([`LogText`], [`LogGroupText`]).

use bytes::{Buf, BufMut};
use prost::Message;

pub use sls_proto::{Log, LogContent, LogGroup, LogGroupList, LogTag};

/// Why a body is not a log group (or list of them) sls-lite accepts.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Protobuf(#[from] prost::DecodeError),
    /// A field that `log.proto` declares `string` holds bytes that are not UTF-8.
    #[error("{0}: invalid string value: data is not UTF-8 encoded")]
    NotUtf8(&'static str),
}

/// A [`Log`]'s contents as text.
pub trait LogText {
    /// The value of the first content named `key` (`None` too if that value is not UTF-8).
    fn get(&self, key: &str) -> Option<&str>;
}

impl LogText for Log {
    fn get(&self, key: &str) -> Option<&str> {
        self.contents
            .iter()
            .find(|c| c.key == key.as_bytes())
            .and_then(|c| std::str::from_utf8(&c.value).ok())
    }
}

/// A [`LogGroup`]'s topic, source and tags as text (`None` too for one that is not UTF-8);
/// prost's own `topic()` and `source()` give the bytes.
pub trait LogGroupText {
    /// `__topic__`.
    fn topic_str(&self) -> Option<&str>;
    /// `__source__`.
    fn source_str(&self) -> Option<&str>;
    /// The value of the first tag named `key` (without the `__tag__:` prefix).
    fn tag(&self, key: &str) -> Option<&str>;
}

impl LogGroupText for LogGroup {
    fn topic_str(&self) -> Option<&str> {
        self.topic
            .as_deref()
            .and_then(|t| std::str::from_utf8(t).ok())
    }

    fn source_str(&self) -> Option<&str> {
        self.source
            .as_deref()
            .and_then(|s| std::str::from_utf8(s).ok())
    }

    fn tag(&self, key: &str) -> Option<&str> {
        self.log_tags
            .iter()
            .find(|t| t.key == key.as_bytes())
            .and_then(|t| std::str::from_utf8(&t.value).ok())
    }
}

/// Appends one `LogTags` entry to an encoded `LogGroup`: repeated fields may arrive in any
/// order, so the stored bytes stay exactly what the client sent plus the server's tags.
pub fn append_tag(encoded: &mut Vec<u8>, key: &str, value: &str) {
    let tag = LogTag {
        key: key.into(),
        value: value.into(),
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

/// Decodes a `LogGroup` body (what PutLogs carries) whose text is all UTF-8.
pub fn decode_group(body: impl Buf) -> Result<LogGroup, DecodeError> {
    let group = LogGroup::decode(body)?;
    check_text(&group)?;
    Ok(group)
}

/// Decodes a `LogGroupList` body (what PullLogs answers) whose text is all UTF-8.
pub fn decode_group_list(body: impl Buf) -> Result<LogGroupList, DecodeError> {
    let list = LogGroupList::decode(body)?;
    list.log_groups.iter().try_for_each(check_text)?;
    Ok(list)
}

/// Refuses a group with a `string` field (in `log.proto`) that is not UTF-8.
fn check_text(group: &LogGroup) -> Result<(), DecodeError> {
    let utf8 = |bytes: &[u8], field| match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(_) => Err(DecodeError::NotUtf8(field)),
    };
    for content in group.logs.iter().flat_map(|log| &log.contents) {
        utf8(&content.key, "LogContent.key")?;
        utf8(&content.value, "LogContent.value")?;
    }
    let optional = [
        (&group.reserved, "LogGroup.reserved"),
        (&group.topic, "LogGroup.topic"),
        (&group.source, "LogGroup.source"),
        (&group.machine_uuid, "LogGroup.machine_uuid"),
    ];
    for (value, field) in optional {
        if let Some(value) = value {
            utf8(value, field)?;
        }
    }
    for tag in &group.log_tags {
        utf8(&tag.key, "LogTag.key")?;
        utf8(&tag.value, "LogTag.value")?;
    }
    Ok(())
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
        assert_eq!(group.topic_str(), Some("orders"));
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

    #[test]
    fn text_that_is_not_utf8_is_refused_like_a_proto_string() {
        assert_eq!(
            decode_group(sample().encode_to_vec().as_slice()).unwrap(),
            sample()
        );
        let mut bad_value = sample();
        bad_value.logs[0].contents[1].value = vec![b'a', 0xff];
        let mut bad_topic = sample();
        bad_topic.topic = Some(vec![0xc3]);
        let mut bad_tag = sample();
        bad_tag.log_tags.push(LogTag {
            key: vec![0xfe],
            value: "v".into(),
        });
        for (group, field) in [
            (bad_value, "LogContent.value"),
            (bad_topic, "LogGroup.topic"),
            (bad_tag, "LogTag.key"),
        ] {
            let err = decode_group(group.encode_to_vec().as_slice()).unwrap_err();
            assert!(
                matches!(err, DecodeError::NotUtf8(f) if f == field),
                "{err}"
            );
            let list = LogGroupList {
                log_groups: vec![sample(), group],
            };
            assert!(decode_group_list(list.encode_to_vec().as_slice()).is_err());
        }
        assert!(matches!(
            decode_group([0x0f, 0x00].as_slice()),
            Err(DecodeError::Protobuf(_))
        ));
    }
}
