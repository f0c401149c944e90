//! `json`: one NDJSON envelope per message, keys in a fixed order.

use base64::Engine;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::message::Message;

/// `{"topic","event","id","headers","body","body_base64"?,"json"?,"received_at","transport"}`.
/// `body` is the text (invalid UTF-8 replaced) or null for binary bodies,
/// which come as `body_base64`. `json` is the body parsed, when it is JSON
/// (`jq .json.status` then needs no `fromjson`); `body` stays as it was,
/// for the scripts that read it. Headers are an object; a repeated header
/// name keeps its first value, as STOMP 1.2 says a receiver must.
pub fn envelope(out: &mut Vec<u8>, msg: &Message) {
    let mut headers = serde_json::Map::new();
    for (k, v) in &msg.headers {
        headers
            .entry(k.clone())
            .or_insert_with(|| Value::String(v.clone()));
    }
    out.extend_from_slice(b"{\"topic\":");
    push(out, &Value::from(&*msg.topic));
    out.extend_from_slice(b",\"event\":");
    push(out, &msg.event.as_deref().map_or(Value::Null, Value::from));
    out.extend_from_slice(b",\"id\":");
    push(out, &msg.id.as_deref().map_or(Value::Null, Value::from));
    out.extend_from_slice(b",\"headers\":");
    push(out, &Value::Object(headers));
    out.extend_from_slice(b",\"body\":");
    if msg.binary {
        out.extend_from_slice(b"null,\"body_base64\":");
        push(
            out,
            &Value::from(base64::engine::general_purpose::STANDARD.encode(&msg.body)),
        );
    } else {
        push(out, &Value::from(String::from_utf8_lossy(&msg.body)));
    }
    if let Some(parsed) = parse_body(&msg.body) {
        out.extend_from_slice(b",\"json\":");
        push(out, &parsed);
    }
    out.extend_from_slice(b",\"received_at\":");
    push(out, &Value::from(timestamp(msg.received_at)));
    out.extend_from_slice(b",\"transport\":");
    push(out, &Value::from(msg.transport));
    out.extend_from_slice(b"}\n");
}

/// When a message was received, as `received_at` and `{time}` show it:
/// RFC 3339 in UTC, to the millisecond.
pub fn timestamp(at: SystemTime) -> String {
    let at: DateTime<Utc> = at.into();
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The body as a JSON value, when it is one (whether it came in a text or a
/// binary frame: JSON is JSON). Most bodies that are not JSON are told by
/// their first byte, without a parse.
pub fn parse_body(body: &[u8]) -> Option<Value> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(
        first,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    ) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

fn push(out: &mut Vec<u8>, v: &Value) {
    // Serialising a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

#[cfg(test)]
mod tests {
    use crate::render::Format;
    use crate::render::tests::{msg, render};

    #[test]
    fn envelope_round_trips() {
        let mut m = msg("news/eu", b"hello \"x\"\n", false);
        m.id = Some("7".into());
        m.headers = vec![("a".into(), "1".into()), ("a".into(), "2".into())];
        let out = render(Format::Json, true, 80, &m);
        assert!(out.ends_with(b"}\n") && out.iter().filter(|&&b| b == b'\n').count() == 1);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["topic"], "news/eu");
        assert_eq!(v["event"], serde_json::Value::Null);
        assert_eq!(v["id"], "7");
        assert_eq!(v["headers"]["a"], "1");
        assert_eq!(v["body"], "hello \"x\"\n");
        assert!(v.get("body_base64").is_none());
        assert!(v.get("json").is_none(), "not JSON: no json field");
        assert_eq!(v["transport"], "ws");
        let at = v["received_at"].as_str().unwrap();
        assert!(
            at.ends_with('Z') && at.len() == "2026-11-22T14:05:46.123Z".len(),
            "{at}"
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 7);
    }

    #[test]
    fn a_json_body_is_also_there_parsed() {
        for (body, parsed) in [
            (
                &b"{\"status\": \"ready\",\n \"n\": [1, 2.5]}"[..],
                r#"{"status":"ready","n":[1,2.5]}"#,
            ),
            (b" 42 ", "42"),
            (b"\"s\"", r#""s""#),
            (b"null", "null"),
            (b"[]", "[]"),
        ] {
            let out = render(Format::Json, false, 80, &msg("t", body, false));
            // Still one line: a pretty-printed body is parsed, not copied.
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["json"].to_string(), parsed);
            assert_eq!(
                v["body"].as_str().unwrap().as_bytes(),
                body,
                "body as before"
            );
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys[5], "json", "after body: {keys:?}");
        }
        for body in [
            &b"not json"[..],
            b"{\"a\":",
            b"",
            b"  ",
            b"nul",
            b"1 2",
            b"\xff",
        ] {
            let out = render(Format::Json, false, 80, &msg("t", body, false));
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert!(v.get("json").is_none(), "{body:?}");
        }
        // JSON that came as a binary frame is JSON too.
        let out = render(Format::Json, false, 80, &msg("t", b"{\"a\":1}", true));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["body"], serde_json::Value::Null);
        assert_eq!(v["json"]["a"], 1);
    }

    #[test]
    fn binary_goes_as_base64() {
        let out = render(Format::Json, false, 80, &msg("t", &[0, 1, 2, 255], true));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["body"], serde_json::Value::Null);
        assert_eq!(v["body_base64"], "AAEC/w==");
    }
}
