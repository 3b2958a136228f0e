//! Protocol frames: a type byte and an `i32` length, read from one side of the proxy and
//! written to the other unchanged unless a rule rewrites them.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// One message: its type byte and its body (without the length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub tag: u8,
    pub body: Bytes,
}

impl Frame {
    pub fn new(tag: u8, body: impl Into<Bytes>) -> Frame {
        Frame {
            tag,
            body: body.into(),
        }
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.tag);
        out.put_i32(self.body.len() as i32 + 4);
        out.extend_from_slice(&self.body);
    }
}

/// Frames read from a socket; reading is cancel-safe, so it can sit in a `select!`.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(16 * 1024),
        }
    }

    /// The next frame, `None` at the end of the stream.
    pub async fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if self.buf.len() >= 5 {
                let len = i32::from_be_bytes(self.buf[1..5].try_into().expect("4 bytes"));
                if len < 4 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("message length {len} below 4"),
                    ));
                }
                let total = 1 + len as usize;
                if self.buf.len() >= total {
                    let tag = self.buf[0];
                    self.buf.advance(5);
                    let body = self.buf.split_to(total - 5).freeze();
                    return Ok(Some(Frame { tag, body }));
                }
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// A startup-phase message, which has a length but no type byte.
    pub async fn untagged(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if self.buf.len() >= 4 {
                let len = i32::from_be_bytes(self.buf[0..4].try_into().expect("4 bytes"));
                if !(8..=1 << 20).contains(&len) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("startup length {len}"),
                    ));
                }
                if self.buf.len() >= len as usize {
                    self.buf.advance(4);
                    return Ok(Some(self.buf.split_to(len as usize - 4).freeze()));
                }
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Whether a frame is already waiting, so a writer may hold its output a little longer.
    pub fn has_buffered(&self) -> bool {
        self.buf.len() >= 5
    }
}

/// Frames written to a socket, buffered until [`FrameWriter::flush`].
pub struct FrameWriter<W> {
    inner: W,
    out: BytesMut,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(inner: W) -> Self {
        FrameWriter {
            inner,
            out: BytesMut::with_capacity(16 * 1024),
        }
    }

    pub fn push(&mut self, frame: &Frame) {
        frame.encode(&mut self.out);
    }

    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.inner.write_all(&self.out).await?;
            self.out.clear();
        }
        self.inner.flush().await
    }

    /// Flushes once the buffer is large, so a long result does not pile up.
    pub async fn flush_if_large(&mut self) -> io::Result<()> {
        if self.out.len() >= 64 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    pub async fn shutdown(&mut self) {
        let _ = self.inner.shutdown().await;
    }
}
