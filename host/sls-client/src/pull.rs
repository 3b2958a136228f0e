//! Decoding a PullLogs answer: the body decompressed as its headers say (LZ4, zstd or
//! none), checked against the size the server declares, and read as a `LogGroupList`.

use std::borrow::Cow;

use tracing::warn;

use crate::error::{BoxError, SlsError, Target};
use crate::proto;
use crate::proto::LogGroup;
use crate::request::Answer;

/// LZ4 cannot expand data more than about 255 times; a larger claim is corrupt and must not
/// make us allocate it.
const LZ4_MAX_RATIO: usize = 255;

/// The most a zstd body may expand to: far above what one PullLogs of 100 log groups
/// returns, far below what would exhaust memory (a guess, not a documented limit).
const ZSTD_MAX_RAW: usize = 1 << 30;

/// What one PullLogs returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullLogs {
    pub groups: Vec<LogGroup>,
    /// Where the next PullLogs starts. Equal to the request's cursor when there was nothing
    /// new (caught up).
    pub next_cursor: String,
    /// Log groups in the answer (`x-log-count`).
    pub count: u32,
    /// Size of the uncompressed body, bytes.
    pub raw_size: usize,
    /// A read-only shard has been read to its end (`x-log-end-of-cursor`): nothing more
    /// will ever come from it.
    pub end_of_cursor: bool,
}

/// Reads a PullLogs answer: decompresses by `x-log-compresstype` to `x-log-bodyrawsize`
/// bytes, then decodes the `LogGroupList`.
pub(super) fn decode_pull(
    target: &Target,
    cursor: &str,
    answer: &Answer,
) -> Result<PullLogs, SlsError> {
    let corrupt = |detail: String, source: Option<BoxError>| SlsError::Corrupt {
        target: Box::new(target.clone()),
        cursor: cursor.to_owned(),
        detail,
        request_id: answer.request_id.clone(),
        source,
    };
    let next = (answer.header("x-log-cursor"))
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let compression = answer
        .header("x-log-compresstype")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let declared: Option<usize> = answer
        .header("x-log-bodyrawsize")
        .and_then(|s| s.trim().parse().ok());
    let body = &answer.body[..];
    let raw = decompress(body, &compression, declared, &corrupt)?;
    let raw_bytes: &[u8] = &raw;
    if let Some(size) = declared
        && size != raw_bytes.len()
    {
        return Err(corrupt(
            format!(
                "it expands to {} bytes but `x-log-bodyrawsize` says {size}",
                raw_bytes.len()
            ),
            None,
        ));
    }
    let decoded = proto::decode_log_group_list(raw_bytes).map_err(|e| {
        corrupt(
            format!("{} bytes are not a protobuf LogGroupList", raw_bytes.len()),
            Some(Box::new(e)),
        )
    })?;
    if decoded.lossy > 0 {
        warn!(
            project = %target.project,
            logstore = target.logstore.as_deref(),
            shard = target.shard,
            cursor,
            values = decoded.lossy,
            "log values that are not UTF-8 were read with U+FFFD in place of the bad bytes"
        );
    }
    // No next cursor on an answer without logs: caught up at the request's cursor, as the
    // official consumer library takes it (aliyun-log-python-sdk `consumer/tasks.py`
    // `consumer_fetch_task`: `if not next_cursor`, the request's cursor goes on). With logs
    // there would be no telling where they end.
    let next_cursor = match next {
        Some(next) => next,
        None if decoded.groups.is_empty() => cursor.to_owned(),
        None => {
            return Err(SlsError::Response {
                op: "PullLogs",
                target: Box::new(target.clone()),
                detail: format!(
                    "it has {} log groups but no `x-log-cursor` header",
                    decoded.groups.len()
                ),
                request_id: answer.request_id.clone(),
                source: None,
            });
        }
    };
    let count = answer
        .header("x-log-count")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(decoded.groups.len() as u32);
    Ok(PullLogs {
        count,
        raw_size: raw_bytes.len(),
        end_of_cursor: answer.header("x-log-end-of-cursor") == Some("1"),
        groups: decoded.groups,
        next_cursor,
    })
}

/// The body as sent, or decompressed as `x-log-compresstype` says, never allocating more
/// than the body can expand to.
fn decompress<'b>(
    body: &'b [u8],
    compression: &str,
    declared: Option<usize>,
    corrupt: &dyn Fn(String, Option<BoxError>) -> SlsError,
) -> Result<Cow<'b, [u8]>, SlsError> {
    Ok(match compression {
        // A caught-up pull may answer 0 bytes, naming a compression all the same: every
        // official SDK skips decompressing when the raw size is 0.
        _ if declared == Some(0) && body.is_empty() => Cow::Borrowed(body),
        "" | "none" => Cow::Borrowed(body),
        "lz4" => {
            let size = declared.ok_or_else(|| {
                corrupt(
                    "an LZ4 body needs `x-log-bodyrawsize`, which is missing or not a number"
                        .to_owned(),
                    None,
                )
            })?;
            if size > body.len().saturating_mul(LZ4_MAX_RATIO) + 64 {
                return Err(corrupt(
                    format!(
                        "`x-log-bodyrawsize` {size} is more than LZ4 can expand {} bytes to",
                        body.len()
                    ),
                    None,
                ));
            }
            Cow::Owned(lz4_flex::block::decompress(body, size).map_err(|e| {
                corrupt(
                    format!("the LZ4 block of {} bytes does not decompress", body.len()),
                    Some(Box::new(e)),
                )
            })?)
        }
        "zstd" => {
            // Without a declared size, the frame header says how much to expect.
            let capacity = match declared {
                Some(size) => size,
                None => zstd::zstd_safe::get_frame_content_size(body)
                    .ok()
                    .flatten()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        corrupt(
                            "a zstd body without `x-log-bodyrawsize` nor a size in its frame"
                                .to_owned(),
                            None,
                        )
                    })?,
            };
            // Streamed, not into a buffer of the claimed size: a claim of 4 GiB must not be
            // an allocation of 4 GiB (found by the fuzz test below). The output grows as it
            // decompresses, up to the claim (one byte more tells a lying claim) and a cap.
            if capacity > ZSTD_MAX_RAW {
                return Err(corrupt(
                    format!(
                        "`x-log-bodyrawsize` {capacity} is more than the {ZSTD_MAX_RAW} bytes this client accepts from one pull"
                    ),
                    None,
                ));
            }
            let not_zstd = |e: std::io::Error| {
                corrupt(
                    format!("the zstd frame of {} bytes does not decompress", body.len()),
                    Some(Box::new(e)),
                )
            };
            let mut out = Vec::with_capacity(capacity.min(body.len().saturating_mul(8)));
            let decoder = zstd::stream::read::Decoder::new(body).map_err(not_zstd)?;
            std::io::Read::read_to_end(
                &mut std::io::Read::take(decoder, capacity as u64 + 1),
                &mut out,
            )
            .map_err(not_zstd)?;
            Cow::Owned(out)
        }
        other => {
            return Err(corrupt(
                format!("it is compressed with `{other}`, which this client cannot read"),
                None,
            ));
        }
    })
}

/// Fuzzing by property (`proptest`, stable Rust; `scripts/fuzz.sh` runs it long): any body
/// with any headers decodes or fails with a named error, never panics, and never allocates
/// more than the body can expand to, whatever `x-log-bodyrawsize` claims.
#[cfg(test)]
mod fuzz {
    use bytes::Bytes;
    use proptest::prelude::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    fn answer(compression: &str, size: Option<String>, body: Vec<u8>) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert("x-log-cursor", HeaderValue::from_static("MTIzNDU="));
        headers.insert(
            "x-log-compresstype",
            HeaderValue::from_str(compression).unwrap(),
        );
        if let Some(s) = size {
            headers.insert("x-log-bodyrawsize", HeaderValue::from_str(&s).unwrap());
        }
        Answer {
            headers,
            body: Bytes::from(body),
            request_id: "FUZZ".into(),
        }
    }

    /// A valid answer's body, compressed, then damaged.
    fn damaged(body: &[u8], codec: &str, cut: usize, flip: usize) -> Vec<u8> {
        let mut b = match codec {
            "lz4" => lz4_flex::block::compress(body),
            "zstd" => zstd::encode_all(body, 1).unwrap(),
            _ => body.to_vec(),
        };
        if !b.is_empty() {
            let i = flip % b.len();
            b[i] ^= 0x5a;
            b.truncate(b.len() - cut % b.len());
        }
        b
    }

    /// Found by the fuzz test: a zstd body claiming 4 GiB (or `usize::MAX`) raw bytes was
    /// an allocation of that size before a byte was decompressed.
    #[test]
    fn a_zstd_size_claim_is_not_an_allocation() {
        let target = Target {
            project: "p".into(),
            logstore: Some("l".into()),
            shard: Some(0),
            consumer_group: None,
        };
        let body = zstd::encode_all(&b"not a log group list"[..], 1).unwrap();
        for claim in ["4294967296", "18446744073709551615", "5"] {
            let e = decode_pull(
                &target,
                "c",
                &answer("zstd", Some(claim.into()), body.clone()),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("project `p`"), "{claim}: {e}");
        }
    }

    proptest! {
        #[test]
        fn pull_answers_never_panic(
            codec in prop::sample::select(vec!["lz4", "zstd", "", "none", "deflate", "LZ4"]),
            size in prop::option::of(prop_oneof![
                any::<u32>().prop_map(|n| n.to_string()),
                Just("4294967296".to_owned()),
                Just("18446744073709551615".to_owned()),
                Just("-1".to_owned()),
                Just("x".to_owned()),
            ]),
            body in prop::collection::vec(any::<u8>(), 0..2048),
            cut in any::<usize>(),
            flip in any::<usize>(),
            damage in any::<bool>(),
        ) {
            let target = Target {
                project: "p".into(),
                logstore: Some("l".into()),
                shard: Some(0),
                consumer_group: None,
            };
            let body = if damage { damaged(&body, codec, cut, flip) } else { body };
            let claimed = size.as_deref().and_then(|s| s.parse::<usize>().ok());
            match decode_pull(&target, "MTIzNDU=", &answer(codec, size.clone(), body.clone())) {
                Ok(p) => {
                    // What decodes is no larger than the body can expand to.
                    prop_assert!(p.raw_size <= body.len().saturating_mul(LZ4_MAX_RATIO) + 64
                        || codec != "lz4");
                    if let Some(c) = claimed { prop_assert_eq!(p.raw_size, c); }
                }
                Err(e) => {
                    let text = e.to_string();
                    // Errors name the shard they come from.
                    prop_assert!(text.contains("project `p`"), "{}", text);
                }
            }
        }
    }
}
