//! One client connection: the startup handshake with the backend, then each simple query
//! or extended-protocol batch (up to its `Sync`) rewritten by the Hologres rules, sent on,
//! and its replies relayed back rewritten, until `ReadyForQuery`. One batch at a time, so
//! each reply is matched to the statement it answers.

use crate::faults::AdminOutcome;
use crate::kind::Kind;
use crate::kit::PG_COMPAT;
use crate::logged::Protocol;
use crate::policy::{self, Decision, Send};
use crate::refusal::Refusal;
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::Shared;
use crate::sql::{Statement, lexer};
use crate::txn::Txn;
use crate::wire::messages::{self, cstr};
use crate::wire::startup::{CANCEL_REQUEST, GSSENC_REQUEST, PROTOCOL_3, SSL_REQUEST};
use crate::wire::{Frame, FrameReader, FrameWriter, Startup};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

type Reader = FrameReader<OwnedReadHalf>;
type Writer = FrameWriter<OwnedWriteHalf>;

/// Serves one client until it leaves, a fault closes it, or the server stops.
pub async fn serve(shared: Arc<Shared>, socket: TcpStream) {
    let mut close = shared.faults.subscribe();
    tokio::select! {
        r = run(shared.clone(), socket) => match r {
            Ok(()) => tracing::debug!("connection ended"),
            Err(e) => tracing::debug!(error = %e, "connection ended"),
        },
        _ = close.recv() => tracing::debug!("connection closed by the server"),
    }
}

async fn run(shared: Arc<Shared>, socket: TcpStream) -> io::Result<()> {
    let _ = socket.set_nodelay(true);
    let (r, w) = socket.into_split();
    let mut client_r = FrameReader::new(r);
    let mut client_w = FrameWriter::new(w);
    let startup = loop {
        let Some(body) = client_r.untagged().await? else {
            return Ok(());
        };
        let code = i32::from_be_bytes(body[0..4].try_into().expect("startup length checked"));
        match code {
            SSL_REQUEST | GSSENC_REQUEST => {
                client_w.push_raw(b"N");
                client_w.flush().await?;
            }
            CANCEL_REQUEST => {
                let mut backend =
                    TcpStream::connect((shared.backend_host.as_str(), shared.backend_port)).await?;
                let mut msg = (body.len() as i32 + 4).to_be_bytes().to_vec();
                msg.extend_from_slice(&body);
                backend.write_all(&msg).await?;
                return Ok(());
            }
            PROTOCOL_3 => break Startup::read(&body[4..]),
            other => {
                client_w.push(&messages::error(
                    "FATAL",
                    "0A000",
                    &format!("unsupported frontend protocol {other}"),
                ));
                client_w.flush().await?;
                return Ok(());
            }
        }
    };
    if shared.faults.in_failover() {
        client_w.push(&Refusal::failover_connect().frame("FATAL"));
        client_w.flush().await?;
        return Ok(());
    }
    let backend =
        match TcpStream::connect((shared.backend_host.as_str(), shared.backend_port)).await {
            Ok(b) => b,
            Err(e) => {
                client_w.push(&messages::error(
                    "FATAL",
                    "08006",
                    &format!("hologres-lite cannot reach its backend: {e}"),
                ));
                client_w.flush().await?;
                return Err(e);
            }
        };
    let _ = backend.set_nodelay(true);
    let (br, bw) = backend.into_split();
    let mut conn = Connection {
        shared,
        client_r,
        client_w,
        backend_r: FrameReader::new(br),
        backend_w: FrameWriter::new(bw),
        session: Session::default(),
    };
    if !conn.handshake(startup).await? {
        return Ok(());
    }
    conn.serve().await
}

struct Connection {
    shared: Arc<Shared>,
    client_r: Reader,
    client_w: Writer,
    backend_r: Reader,
    backend_w: Writer,
    session: Session,
}

/// A message from either side while a COPY's data flows.
enum Side {
    Client(Option<Frame>),
    Backend(Option<Frame>),
}

fn closed(who: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{who} closed the connection"),
    )
}

impl Connection {
    /// The backend's next message; its closing the connection is an error.
    async fn backend_frame(&mut self) -> io::Result<Frame> {
        self.backend_r
            .next()
            .await?
            .ok_or_else(|| closed("backend"))
    }

    /// Sends the rewritten startup message and relays authentication; `false` when the
    /// backend refused the client.
    async fn handshake(&mut self, mut startup: Startup) -> io::Result<bool> {
        let config = &self.shared.config;
        startup.set("database", config.database.clone());
        let mut options = startup.get("options").unwrap_or_default().to_owned();
        let has_tz = startup
            .params
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("timezone"))
            || options.to_ascii_lowercase().contains("timezone");
        // Hologres sessions default to UTC+8.
        if !has_tz {
            options.push_str(" -c TimeZone=Asia/Shanghai");
        }
        options.push_str(&format!(
            " -c hologres_lite.version={}",
            self.shared.version
        ));
        startup.set("options", options.trim().to_owned());
        self.backend_w.push_raw(&startup.encode());
        self.backend_w.flush().await?;
        loop {
            let f = self.backend_frame().await?;
            match f.tag {
                b'R' => {
                    let code = f
                        .body
                        .get(0..4)
                        .map_or(0, |b| i32::from_be_bytes(b.try_into().expect("4 bytes")));
                    self.client_w.push(&f);
                    // Cleartext, MD5, SASL and SASL continue want an answer.
                    if matches!(code, 3 | 5 | 10 | 11) {
                        self.client_w.flush().await?;
                        let answer = self
                            .client_r
                            .next()
                            .await?
                            .ok_or_else(|| closed("client"))?;
                        self.backend_w.push(&answer);
                        self.backend_w.flush().await?;
                    }
                }
                b'S' => self.client_w.push(&parameter(f)),
                b'E' => {
                    self.client_w.push(&f);
                    self.client_w.flush().await?;
                    return Ok(false);
                }
                b'Z' => {
                    let status = self.session.ready(f.body.first().copied().unwrap_or(b'I'));
                    self.client_w.push(&messages::ready(status));
                    self.client_w.flush().await?;
                    return Ok(true);
                }
                _ => self.client_w.push(&f),
            }
        }
    }

    async fn serve(&mut self) -> io::Result<()> {
        let mut group: Vec<Frame> = Vec::new();
        loop {
            let Some(f) = self.client_r.next().await? else {
                return Ok(());
            };
            let keep = match f.tag {
                b'Q' => self.simple(&f).await?,
                b'P' | b'B' | b'D' | b'E' | b'C' | b'H' => {
                    group.push(f);
                    true
                }
                b'S' => {
                    group.push(f);
                    self.extended(std::mem::take(&mut group)).await?
                }
                b'X' => {
                    self.backend_w.push(&f);
                    self.backend_w.flush().await?;
                    return Ok(());
                }
                _ => {
                    // Stray COPY data after a failed COPY: the backend ignores it.
                    self.backend_w.push(&f);
                    self.backend_w.flush().await?;
                    true
                }
            };
            if !keep {
                self.client_w.shutdown().await;
                return Ok(());
            }
        }
    }

    /// A simple `Query`: each statement decided in turn, the survivors sent as one query.
    async fn simple(&mut self, f: &Frame) -> io::Result<bool> {
        let sql = cstr(&f.body, 0).map(|(s, _)| s).unwrap_or_default();
        let statements: Vec<Statement> =
            lexer::split(&sql).into_iter().map(Statement::new).collect();
        for s in &statements {
            self.shared.log.record(s.text(), Protocol::Simple, s.kind());
        }
        if statements.iter().any(|s| s.kind() == Kind::Admin) {
            return self.admin(&statements).await;
        }
        if statements.is_empty() {
            self.backend_w.push(f);
            self.backend_w.flush().await?;
            return self.relay(VecDeque::new(), false).await;
        }
        let mut txn = self.session.txn();
        let mut pieces = Vec::new();
        let mut replies = VecDeque::new();
        for s in &statements {
            let d = self.decide_live(s, txn, true).await;
            let text = match &d.send {
                Send::Same => s.text().to_owned(),
                Send::Sql(x) => x.clone(),
                Send::Refuse(r) => r.raising_sql(),
                Send::FixedCopy(_) => unreachable!("staged by decide_live"),
            };
            if d.begin_first {
                pieces.push("BEGIN".to_owned());
                replies.push_back(Reply {
                    swallow: true,
                    ..Reply::default()
                });
            }
            pieces.push(text);
            replies.push_back(d.reply);
            txn = d.next;
        }
        self.backend_w.push(&messages::query(&pieces.join(";\n")));
        self.backend_w.flush().await?;
        self.relay(replies, false).await
    }

    /// `HOLOGRES_LITE …` statements, answered here.
    async fn admin(&mut self, statements: &[Statement]) -> io::Result<bool> {
        let mut failover = None;
        if statements.iter().any(|s| s.kind() != Kind::Admin) {
            self.client_w.push(
                &Refusal::admin("HOLOGRES_LITE statements must be sent alone").frame("ERROR"),
            );
        } else {
            for s in statements {
                match self.shared.faults.run_admin(s.text()) {
                    Ok(outcome) => {
                        if let AdminOutcome::Failover(d) = outcome {
                            failover = Some(d);
                        }
                        self.client_w
                            .push(&messages::command_complete("HOLOGRES_LITE"));
                    }
                    Err(m) => {
                        self.client_w.push(&Refusal::admin(m).frame("ERROR"));
                        break;
                    }
                }
            }
        }
        self.client_w.push(&messages::ready(self.session.status()));
        self.client_w.flush().await?;
        if let Some(d) = failover {
            self.shared.faults.failover(d);
        }
        Ok(true)
    }

    /// An extended-protocol batch up to its `Sync`.
    async fn extended(&mut self, group: Vec<Frame>) -> io::Result<bool> {
        let mut txn = self.session.txn();
        let mut replies = VecDeque::new();
        let mut begin_first = false;
        let mut out = Vec::with_capacity(group.len());
        for f in group {
            match f.tag {
                b'P' => {
                    let Some((name, sql, rest)) = messages::read_parse(&f.body) else {
                        out.push(f);
                        continue;
                    };
                    let s = Statement::new(&sql);
                    self.shared.log.record(&sql, Protocol::Extended, s.kind());
                    let text = self.parse_text(&s, txn).await;
                    self.session.prepare(&name, s);
                    out.push(match text {
                        None => f,
                        Some(t) => messages::parse(&name, &t, &rest),
                    });
                }
                b'B' => {
                    if let Some((portal, statement)) = messages::read_bind(&f.body) {
                        self.session.bind(&portal, &statement);
                        let bound = self.session.portal_statement(&portal);
                        if let (Some(s), Some(n)) = (bound, messages::bind_parameters(&f.body)) {
                            self.shared.log.executed(s.text(), n);
                        }
                    }
                    out.push(f);
                }
                b'C' => {
                    if let Some((which, name)) = messages::read_target(&f.body) {
                        self.session.close(which, &name);
                    }
                    out.push(f);
                }
                b'E' => {
                    let portal = cstr(&f.body, 0).map(|(p, _)| p).unwrap_or_default();
                    let Some(s) = self.session.portal_statement(&portal).cloned() else {
                        replies.push_back(Reply::default());
                        out.push(f);
                        continue;
                    };
                    let d = self.decide_live(&s, txn, false).await;
                    if let Send::Refuse(r) = d.send {
                        // Fails at once, and the backend skips to Sync as Hologres would.
                        let marker = self.session.refusal_marker(r);
                        out.push(messages::parse("", &marker, &[]));
                    } else {
                        begin_first |= d.begin_first;
                        txn = d.next;
                        replies.push_back(d.reply);
                        out.push(f);
                    }
                }
                _ => out.push(f),
            }
        }
        if begin_first {
            self.private("BEGIN").await?;
        }
        for f in &out {
            self.backend_w.push(f);
        }
        self.backend_w.flush().await?;
        self.relay(replies, true).await
    }

    /// The text a `Parse` carries to the backend, `None` for the client's own.
    async fn parse_text(&mut self, s: &Statement, txn: Txn) -> Option<String> {
        let shared = self.shared.clone();
        let send = if s.kind() == Kind::Admin {
            Send::Refuse(Refusal::admin(
                "HOLOGRES_LITE statements go through the simple query protocol",
            ))
        } else {
            policy::decide(s, txn, self.session.settings(), shared.version).send
        };
        match send {
            Send::Same => None,
            Send::Sql(x) => Some(x),
            Send::Refuse(r) => Some(self.session.refusal_marker(r)),
            Send::FixedCopy(_) if !shared.config.copy_on_extended_protocol => Some(
                self.session
                    .refusal_marker(Refusal::copy_on_extended_protocol()),
            ),
            Send::FixedCopy(c) => match shared.staging.rewrite(&c, shared.version).await {
                Ok(x) => Some(x),
                Err(r) => Some(self.session.refusal_marker(r)),
            },
        }
    }

    /// The decision for a statement about to run: faults first, then the Hologres rules;
    /// `stage` resolves a Fixed Copy to its staging COPY.
    async fn decide_live(&mut self, s: &Statement, txn: Txn, stage: bool) -> Decision {
        let shared = self.shared.clone();
        if shared.faults.in_failover() {
            return policy::refused(Refusal::recovering(), txn);
        }
        if shared.faults.take_fail(s.text()) {
            return policy::refused(Refusal::busy(), txn);
        }
        let mut d = policy::decide(s, txn, self.session.settings(), shared.version);
        if let Send::FixedCopy(c) = &d.send {
            d.send = if !stage {
                Send::Same
            } else {
                match shared.staging.rewrite(c, shared.version).await {
                    Ok(sql) => Send::Sql(sql),
                    Err(r) => return policy::refused(r, txn),
                }
            };
        }
        if !matches!(d.send, Send::Refuse(_)) {
            d.reply.lose = shared.faults.take_lose(s.text());
        }
        d
    }

    /// Runs `sql` on the backend for the proxy's own sake; its replies are dropped.
    async fn private(&mut self, sql: &str) -> io::Result<()> {
        self.backend_w.push(&messages::query(sql));
        self.backend_w.flush().await?;
        loop {
            let f = self.backend_frame().await?;
            match f.tag {
                b'E' => tracing::warn!(sql, "a statement of the proxy's own failed"),
                b'Z' => return Ok(()),
                _ => {}
            }
        }
    }

    /// Relays the backend's replies until `ReadyForQuery`, treating each statement's
    /// completion by its [`Reply`] and feeding COPY data from the client meanwhile.
    /// `false` when the client's connection is to close.
    async fn relay(&mut self, mut replies: VecDeque<Reply>, extended: bool) -> io::Result<bool> {
        let losing = replies.iter().any(|r| r.lose);
        // A lost reply is lost from the statement's completion on: what comes before (parse
        // and bind completions, a COPY's start) still reaches the client, which must send
        // a COPY's rows for it to be applied.
        let mut lost = false;
        let mut copying = false;
        let mut copy_done = false;
        loop {
            let side = if copying {
                tokio::select! {
                    f = self.backend_r.next() => Side::Backend(f?),
                    f = self.client_r.next() => Side::Client(f?),
                }
            } else {
                Side::Backend(self.backend_r.next().await?)
            };
            let f = match side {
                Side::Client(None) => return Err(closed("client")),
                Side::Client(Some(f)) => {
                    self.backend_w.push(&f);
                    match f.tag {
                        b'c' | b'f' if !extended => copying = false,
                        b'c' | b'f' => copy_done = true,
                        // The Sync after CopyDone: the backend answers it with ReadyForQuery.
                        b'S' if copy_done => copying = false,
                        _ => {}
                    }
                    if copying && self.client_r.has_buffered() {
                        self.backend_w.flush_if_large().await?;
                    } else {
                        self.backend_w.flush().await?;
                    }
                    continue;
                }
                Side::Backend(None) => return Err(closed("backend")),
                Side::Backend(Some(f)) => f,
            };
            lost |= losing && matches!(f.tag, b'C' | b'E' | b'Z');
            let out = match f.tag {
                b'C' => {
                    let reply = replies.pop_front().unwrap_or_default();
                    self.session.complete(&reply);
                    if reply.swallow {
                        None
                    } else {
                        let tag = match reply.tag {
                            Some(t) => t,
                            None => cstr(&f.body, 0).map(|(t, _)| t).unwrap_or_default(),
                        };
                        let tag = if self.session.hides_affected_rows() {
                            zero_count(&tag)
                        } else {
                            tag
                        };
                        Some(messages::command_complete(&tag))
                    }
                }
                b'I' | b's' => {
                    replies.pop_front();
                    Some(f)
                }
                b'E' => {
                    let fields = messages::read_fields(&f.body);
                    let message = fields
                        .iter()
                        .find(|(c, _)| *c == b'M')
                        .map(|(_, m)| m.as_str())
                        .unwrap_or("");
                    let out = if let Some(r) = self.session.take_refusal(message) {
                        r.frame("ERROR")
                    } else if replies.front().is_some_and(|r| r.refused) {
                        let kept: Vec<(u8, String)> = fields
                            .into_iter()
                            .filter(|(c, _)| matches!(c, b'S' | b'V' | b'C' | b'M'))
                            .collect();
                        messages::fields_frame(b'E', &kept)
                    } else {
                        f
                    };
                    replies.clear();
                    Some(out)
                }
                b'G' => {
                    copying = true;
                    Some(f)
                }
                b'S' => Some(parameter(f)),
                b'Z' => {
                    let status = self.session.ready(f.body.first().copied().unwrap_or(b'I'));
                    if losing {
                        tracing::debug!("reply lost on purpose: closing the client's connection");
                        return Ok(false);
                    }
                    self.client_w.push(&messages::ready(status));
                    self.client_w.flush().await?;
                    return Ok(true);
                }
                _ => Some(f),
            };
            if let Some(out) = out
                && !lost
            {
                self.client_w.push(&out);
            }
            if copying || !self.backend_r.has_buffered() {
                self.client_w.flush().await?;
            } else {
                self.client_w.flush_if_large().await?;
            }
        }
    }
}

/// A `ParameterStatus` as Hologres sends it: `server_version` is the PostgreSQL it is
/// compatible with (doc "HG_VERSION"; the exact value sent is a guess).
fn parameter(f: Frame) -> Frame {
    match cstr(&f.body, 0) {
        Some((name, _)) if name == "server_version" => messages::parameter_status(&name, PG_COMPAT),
        _ => f,
    }
}

/// `INSERT 0 5` → `INSERT 0 0`, and so for UPDATE, DELETE, COPY, MERGE.
fn zero_count(tag: &str) -> String {
    let mut words: Vec<&str> = tag.split(' ').collect();
    if words.len() >= 2 && matches!(words[0], "INSERT" | "UPDATE" | "DELETE" | "COPY" | "MERGE") {
        *words.last_mut().expect("two words") = "0";
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroes_counts() {
        assert_eq!(zero_count("INSERT 0 5"), "INSERT 0 0");
        assert_eq!(zero_count("COPY 12"), "COPY 0");
        assert_eq!(zero_count("SELECT 3"), "SELECT 3");
        assert_eq!(zero_count("BEGIN"), "BEGIN");
    }
}
