//! The startup message: the client's user, database and options, rewritten for the backend
//! (the owned database, Hologres's session time zone, the imitated version).

use bytes::{BufMut, Bytes, BytesMut};

/// Protocol 3.0.
pub const PROTOCOL_3: i32 = 196_608;
pub const SSL_REQUEST: i32 = 80_877_103;
pub const GSSENC_REQUEST: i32 = 80_877_104;
pub const CANCEL_REQUEST: i32 = 80_877_102;

/// A `StartupMessage`'s parameters, in order.
#[derive(Debug, Clone)]
pub struct Startup {
    pub params: Vec<(String, String)>,
}

impl Startup {
    /// Reads the body after the protocol number.
    pub fn read(body: &[u8]) -> Startup {
        let mut params = Vec::new();
        let mut parts = body
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned());
        while let Some(k) = parts.next() {
            if k.is_empty() {
                break;
            }
            params.push((k, parts.next().unwrap_or_default()));
        }
        Startup { params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: String) {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }

    /// The full message with its length, ready to send.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i32(PROTOCOL_3);
        for (k, v) in &self.params {
            b.extend_from_slice(k.as_bytes());
            b.put_u8(0);
            b.extend_from_slice(v.as_bytes());
            b.put_u8(0);
        }
        b.put_u8(0);
        let len = b.len() as i32;
        b[0..4].copy_from_slice(&len.to_be_bytes());
        b.freeze()
    }
}
