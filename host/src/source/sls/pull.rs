//! Decoding a PullLogs answer: the body decompressed as its headers say (LZ4, zstd or
//! none), checked against the size the server declares, and read as a `LogGroupList`.

use std::borrow::Cow;

use tracing::warn;

use super::error::{BoxError, SlsError, Target};
use super::proto;
use super::proto::LogGroup;
use super::request::Answer;

/// LZ4 cannot expand data more than about 255 times; a larger claim is corrupt and must not
/// make us allocate it.
const LZ4_MAX_RATIO: usize = 255;

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
    let next_cursor = answer
        .header("x-log-cursor")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| SlsError::Response {
            op: "PullLogs",
            target: Box::new(target.clone()),
            detail: "it has no `x-log-cursor` header".to_owned(),
            request_id: answer.request_id.clone(),
            source: None,
        })?
        .to_owned();
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
            Cow::Owned(zstd::bulk::decompress(body, capacity).map_err(|e| {
                corrupt(
                    format!("the zstd frame of {} bytes does not decompress", body.len()),
                    Some(Box::new(e)),
                )
            })?)
        }
        other => {
            return Err(corrupt(
                format!("it is compressed with `{other}`, which this client cannot read"),
                None,
            ));
        }
    })
}
