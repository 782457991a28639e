//! W3C Trace Context (`traceparent`) as a plugin sees it: [`Context::trace`](crate::Context::trace).
//!
//! The value is `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. One that breaks the rules
//! (uppercase hex, all-zero ids, version ff, too long) is ignored: `ctx.trace()` is `None`.

/// Longer than any real value: ignored.
pub const MAX_TRACEPARENT_LENGTH: usize = 512;

/// A call's trace: `span_id` is the daemon's span for the call being served, so the calls a
/// handler makes become its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub trace_id: String,
    pub span_id: String,
    pub traceparent: String,
    pub sampled: bool,
}

fn lower_hex(s: &[u8]) -> bool {
    s.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The trace of a `traceparent` value, or `None` when it is malformed or oversized.
pub fn parse_traceparent(value: &str) -> Option<Trace> {
    let b = value.as_bytes();
    if b.len() < 55 || b.len() > MAX_TRACEPARENT_LENGTH {
        return None;
    }
    let dashes = b[2] == b'-' && b[35] == b'-' && b[52] == b'-';
    if !dashes || !lower_hex(&b[0..2]) || !lower_hex(&b[3..35]) || !lower_hex(&b[36..52]) || !lower_hex(&b[53..55]) {
        return None;
    }
    let version = &value[0..2];
    if version == "ff" {
        return None;
    }
    let rest_ok = if version == "00" { b.len() == 55 } else { b.len() == 55 || b[55] == b'-' };
    let (trace_id, span_id) = (&value[3..35], &value[36..52]);
    if !rest_ok || trace_id.bytes().all(|c| c == b'0') || span_id.bytes().all(|c| c == b'0') {
        return None;
    }
    let flags = u8::from_str_radix(&value[53..55], 16).ok()?;
    Some(Trace {
        trace_id: trace_id.to_owned(),
        span_id: span_id.to_owned(),
        traceparent: value.to_owned(),
        sampled: flags & 1 == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_a_valid_value() {
        let t = parse_traceparent(TP).unwrap();
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.span_id, "00f067aa0ba902b7");
        assert!(t.sampled);
        assert!(!parse_traceparent(&TP.replace("-01", "-00")).unwrap().sampled);
        // a later version is read by its version-00 prefix
        assert!(parse_traceparent(&format!("01{}-extra", &TP[2..])).is_some());
    }

    #[test]
    fn ignores_malformed_values() {
        for bad in [
            TP.to_uppercase(),
            TP[..54].to_owned(),
            format!("{TP}-x"),
            format!("ff{}", &TP[2..]),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01".to_owned(),
            "x".repeat(10_000),
        ] {
            assert!(parse_traceparent(&bad).is_none(), "{bad}");
        }
    }
}
