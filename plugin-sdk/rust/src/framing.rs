//! Content-Length framing (the LSP base protocol), as docs/protocol.md §1 defines it.
//!
//! The parser is strict, like the daemon's: every frame must start with a header block
//! that has a `Content-Length`, header names are case-insensitive, a `Content-Type` may
//! name only the `utf-8` charset, and anything else on the stream is a fatal error (a
//! broken stream cannot be resynchronised). A body that is not valid JSON is reported
//! but is not fatal: the length already told where the next frame starts.

use serde_json::Value;
use std::fmt;

/// The largest header block accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 4096;
/// The daemon's default frame limit (64 MiB); the parser's default too.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// What went wrong while parsing the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameErrorKind {
    /// The header block is malformed or missing. Fatal.
    Header,
    /// The frame's Content-Length is over the limit. Fatal.
    TooLarge,
    /// The body is not valid JSON (or not UTF-8). Not fatal.
    Json,
}

/// A framing failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub kind: FrameErrorKind,
    pub message: String,
}

impl FrameError {
    fn new(kind: FrameErrorKind, message: impl Into<String>) -> Self {
        FrameError { kind, message: message.into() }
    }
    /// Whether the stream is dead after this error.
    pub fn is_fatal(&self) -> bool {
        self.kind != FrameErrorKind::Json
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FrameError {}

/// Turns a byte stream into JSON values. Push bytes with [`FrameParser::push`], then take
/// messages with [`FrameParser::next_message`] until it returns `None`. After a fatal error
/// the parser is dead: it ignores further input and returns `None`.
#[derive(Debug)]
pub struct FrameParser {
    buf: Vec<u8>,
    /// Where unconsumed bytes start in `buf`.
    pos: usize,
    /// The body length of the frame whose header has been read, if any.
    expected: Option<usize>,
    dead: bool,
    max_message_bytes: usize,
}

impl Default for FrameParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

impl FrameParser {
    /// A parser that refuses frames whose body is larger than `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        FrameParser { buf: Vec::new(), pos: 0, expected: None, dead: false, max_message_bytes }
    }

    /// Whether a fatal error has been seen.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Bytes received but not yet consumed as a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.dead {
            return;
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if let Some(n) = self.expected {
            // Reserve the whole body at once so an 8 MiB frame is not grown chunk by chunk.
            let want = n.saturating_sub(self.buffered());
            if want > chunk.len() {
                self.buf.reserve(want);
            }
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete message, a framing error, or `None` when more bytes are needed.
    pub fn next_message(&mut self) -> Option<Result<Value, FrameError>> {
        if self.dead {
            return None;
        }
        if self.expected.is_none() {
            let avail = &self.buf[self.pos..];
            let window = &avail[..avail.len().min(MAX_HEADER_BYTES + 4)];
            match find_crlfcrlf(window) {
                None => {
                    if avail.len() > MAX_HEADER_BYTES {
                        return Some(Err(self.fail(
                            FrameErrorKind::Header,
                            format!("header block is longer than {MAX_HEADER_BYTES} bytes"),
                        )));
                    }
                    if !looks_like_header_start(avail) {
                        let msg = format!("expected a \"Content-Length:\" header, got {}", preview(avail));
                        return Some(Err(self.fail(FrameErrorKind::Header, msg)));
                    }
                    return None;
                }
                Some(end) => {
                    if end > MAX_HEADER_BYTES {
                        return Some(Err(self.fail(
                            FrameErrorKind::Header,
                            format!("header block is longer than {MAX_HEADER_BYTES} bytes"),
                        )));
                    }
                    let parsed = parse_headers(&avail[..end]);
                    let length = match parsed {
                        Ok(n) => n,
                        Err(msg) => return Some(Err(self.fail(FrameErrorKind::Header, msg))),
                    };
                    if length > self.max_message_bytes {
                        let msg =
                            format!("message of {length} bytes is over the limit of {} bytes", self.max_message_bytes);
                        return Some(Err(self.fail(FrameErrorKind::TooLarge, msg)));
                    }
                    self.pos += end + 4;
                    self.expected = Some(length);
                }
            }
        }
        let n = self.expected?;
        if self.buffered() < n {
            return None;
        }
        let body = &self.buf[self.pos..self.pos + n];
        let parsed = serde_json::from_slice::<Value>(body);
        self.pos += n;
        self.expected = None;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        Some(parsed.map_err(|e| FrameError::new(FrameErrorKind::Json, format!("invalid JSON: {e}"))))
    }

    fn fail(&mut self, kind: FrameErrorKind, message: String) -> FrameError {
        self.dead = true;
        self.buf = Vec::new();
        self.pos = 0;
        self.expected = None;
        FrameError::new(kind, message)
    }
}

fn find_crlfcrlf(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

const HEADER_PREFIX: &[u8] = b"content-";

/// While a header block is incomplete, whether what has arrived could still be one.
fn looks_like_header_start(b: &[u8]) -> bool {
    b.iter().zip(HEADER_PREFIX).all(|(c, p)| c.to_ascii_lowercase() == *p)
}

/// The Content-Length of a header block (without its final CRLFCRLF), or what is wrong with it.
fn parse_headers(block: &[u8]) -> Result<usize, String> {
    let text = std::str::from_utf8(block).map_err(|_| "header block is not ASCII".to_string())?;
    if !text.is_ascii() {
        return Err("header block is not ASCII".into());
    }
    let mut length: Option<usize> = None;
    for line in text.split("\r\n") {
        let colon = match line.find(':') {
            Some(c) if c > 0 => c,
            _ => return Err(format!("malformed header line {:?}", truncate(line, 80))),
        };
        let key = line[..colon].trim().to_ascii_lowercase();
        let value = line[colon + 1..].trim();
        match key.as_str() {
            "content-length" => {
                if value.is_empty() || !value.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(format!("Content-Length is not a number: {:?}", truncate(value, 40)));
                }
                let n: usize =
                    value.parse().map_err(|_| format!("Content-Length is too large: {:?}", truncate(value, 40)))?;
                if let Some(prev) = length {
                    if prev != n {
                        return Err(format!("two different Content-Length headers ({prev} and {n})"));
                    }
                }
                length = Some(n);
            }
            "content-type" => {
                let lower = value.to_ascii_lowercase();
                if let Some(i) = lower.find("charset=") {
                    let cs = lower[i + 8..].split(';').next().unwrap_or("").trim().trim_matches('"');
                    if cs != "utf-8" && cs != "utf8" {
                        return Err(format!("unsupported charset in {value:?}; only utf-8 is spoken"));
                    }
                }
            }
            _ => {}
        }
    }
    length.ok_or_else(|| "header block has no Content-Length".to_string())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn preview(b: &[u8]) -> String {
    let end = b.len().min(60);
    format!("{:?}", String::from_utf8_lossy(&b[..end]))
}

/// Encodes one message as a frame: header and body in one buffer.
pub fn encode_frame(msg: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(msg).expect("a serde_json::Value always serializes");
    encode_body(&body)
}

/// Frames an already serialized JSON body.
pub fn encode_body(body: &[u8]) -> Vec<u8> {
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    let mut out = Vec::with_capacity(header.len() + body.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(p: &mut FrameParser) -> Vec<Result<Value, FrameError>> {
        std::iter::from_fn(|| p.next_message()).collect()
    }

    #[test]
    fn parses_one_frame() {
        let mut p = FrameParser::default();
        p.push(&encode_frame(&json!({"jsonrpc":"2.0","id":1,"method":"x"})));
        assert_eq!(all(&mut p), vec![Ok(json!({"jsonrpc":"2.0","id":1,"method":"x"}))]);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn parses_several_frames_in_one_chunk() {
        let mut p = FrameParser::default();
        let mut bytes = encode_frame(&json!(1));
        bytes.extend(encode_frame(&json!("two")));
        bytes.extend(encode_frame(&json!({"three":3})));
        p.push(&bytes);
        assert_eq!(all(&mut p), vec![Ok(json!(1)), Ok(json!("two")), Ok(json!({"three":3}))]);
    }

    #[test]
    fn parses_byte_by_byte() {
        let msg = json!({"text":"héllo → 世界 🎉"});
        let mut bytes = encode_frame(&msg);
        bytes.extend(encode_frame(&msg));
        let mut p = FrameParser::default();
        let mut got = vec![];
        for b in bytes {
            p.push(&[b]);
            got.extend(all(&mut p));
            assert!(!p.is_dead());
        }
        assert_eq!(got, vec![Ok(msg.clone()), Ok(msg)]);
    }

    #[test]
    fn content_length_counts_bytes_not_chars() {
        let body = r#""é🎉""#; // 1 + 2 + 4 + 1 bytes
        let frame = format!("Content-Length: {}\r\n\r\n{}", body.len(), body);
        assert_eq!(body.len(), 8);
        let mut p = FrameParser::default();
        p.push(frame.as_bytes());
        assert_eq!(all(&mut p), vec![Ok(json!("é🎉"))]);
    }

    #[test]
    fn header_names_are_case_insensitive_and_content_type_allowed() {
        let mut p = FrameParser::default();
        p.push(b"content-type: application/vscode-jsonrpc; charset=UTF-8\r\nCONTENT-LENGTH:  2\r\n\r\n{}");
        p.push(b"cOnTeNt-LeNgTh:1\r\n\r\n7");
        assert_eq!(all(&mut p), vec![Ok(json!({})), Ok(json!(7))]);
    }

    #[test]
    fn rejects_garbage_at_once() {
        let mut p = FrameParser::default();
        p.push(b"hello");
        let r = all(&mut p);
        assert_eq!(r.len(), 1);
        let e = r[0].clone().unwrap_err();
        assert_eq!(e.kind, FrameErrorKind::Header);
        assert!(e.is_fatal());
        assert!(p.is_dead());
        // Dead parsers ignore everything after.
        p.push(&encode_frame(&json!(1)));
        assert!(p.next_message().is_none());
    }

    #[test]
    fn rejects_garbage_after_a_frame() {
        let mut p = FrameParser::default();
        let mut bytes = encode_frame(&json!(1));
        bytes.extend_from_slice(b"{\"not\":\"framed\"}");
        p.push(&bytes);
        let r = all(&mut p);
        assert_eq!(r[0], Ok(json!(1)));
        assert_eq!(r[1].as_ref().unwrap_err().kind, FrameErrorKind::Header);
    }

    #[test]
    fn waits_for_a_partial_header() {
        let mut p = FrameParser::default();
        p.push(b"Content-Len");
        assert!(p.next_message().is_none());
        p.push(b"gth: 4\r\n");
        assert!(p.next_message().is_none());
        p.push(b"\r\nnu");
        assert!(p.next_message().is_none());
        p.push(b"ll");
        assert_eq!(p.next_message(), Some(Ok(Value::Null)));
    }

    #[test]
    fn rejects_missing_or_bad_content_length() {
        for bad in [
            &b"Content-Type: application/json\r\n\r\n{}"[..],
            b"Content-Length: -1\r\n\r\n",
            b"Content-Length: 1x\r\n\r\n",
            b"Content-Length: \r\n\r\n",
            b"Content-Length: 99999999999999999999999999\r\n\r\n",
            b"Content-Length: 2\r\nbroken line\r\n\r\n{}",
            b"Content-Length: 2\r\n: nameless\r\n\r\n{}",
            b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            b"Content-Length: 2\r\nContent-Type: application/json; charset=latin1\r\n\r\n{}",
        ] {
            let mut p = FrameParser::default();
            p.push(bad);
            let r = p.next_message();
            match r {
                Some(Err(e)) => assert_eq!(e.kind, FrameErrorKind::Header, "{:?}", String::from_utf8_lossy(bad)),
                other => panic!("{:?} gave {:?}", String::from_utf8_lossy(bad), other),
            }
        }
    }

    #[test]
    fn rejects_an_endless_header() {
        let mut p = FrameParser::default();
        let mut long = b"Content-Length: 1\r\nContent-Type: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES + 10));
        p.push(&long);
        assert_eq!(p.next_message().unwrap().unwrap_err().kind, FrameErrorKind::Header);
    }

    #[test]
    fn rejects_frames_over_the_limit() {
        let mut p = FrameParser::new(10);
        p.push(b"Content-Length: 11\r\n\r\n");
        assert_eq!(p.next_message().unwrap().unwrap_err().kind, FrameErrorKind::TooLarge);
        let mut p = FrameParser::new(10);
        p.push(b"Content-Length: 10\r\n\r\n\"12345678\"");
        assert_eq!(p.next_message(), Some(Ok(json!("12345678"))));
    }

    #[test]
    fn bad_json_is_not_fatal() {
        let mut p = FrameParser::default();
        p.push(b"Content-Length: 5\r\n\r\n{oops");
        p.push(&encode_frame(&json!(true)));
        let r = all(&mut p);
        assert_eq!(r[0].as_ref().unwrap_err().kind, FrameErrorKind::Json);
        assert!(!r[0].as_ref().unwrap_err().is_fatal());
        assert_eq!(r[1], Ok(json!(true)));
    }

    #[test]
    fn invalid_utf8_body_is_a_json_error() {
        let mut p = FrameParser::default();
        p.push(b"Content-Length: 4\r\n\r\n\"\xff\xfe\"");
        assert_eq!(p.next_message().unwrap().unwrap_err().kind, FrameErrorKind::Json);
    }

    #[test]
    fn large_frame_in_chunks() {
        let blob = "x".repeat(8 * 1024 * 1024);
        let bytes = encode_frame(&json!({ "blob": blob }));
        let mut p = FrameParser::default();
        let mut got = vec![];
        for chunk in bytes.chunks(64 * 1024) {
            p.push(chunk);
            got.extend(all(&mut p));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap()["blob"].as_str().unwrap().len(), 8 * 1024 * 1024);
    }

    #[test]
    fn encode_frame_counts_bytes() {
        let f = encode_frame(&json!("é"));
        assert_eq!(f, "Content-Length: 4\r\n\r\n\"é\"".as_bytes());
    }
}
