//! `--format TEMPLATE`: one line per message, built from a template of
//! placeholders, for people and for scripts that want only some fields.
//!
//! The template is parsed once, at startup ([`Template::parse`], a pure
//! function: a bad template is a usage error before anything connects),
//! into literal text and placeholders; rendering a message only walks
//! that list. What a placeholder stands for is escaped as `-o line`
//! escapes a body (line breaks always, other control characters on a
//! terminal; binary as hex), so a message stays one line and a server's
//! bytes never drive the terminal. The template's own text, `\n` and `\t`
//! included, is the user's and is written as it is.

use std::io::{self, Write};

use serde_json::Value;

use super::{json, line};
use crate::message::Message;

/// A parsed `--format` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// The template's own text, escapes resolved.
    Text(String),
    Topic,
    Id,
    Event,
    Time,
    Body,
    /// `{body_json}` (the whole body, no steps) or `{body_json.a.0.b}`.
    BodyJson(Vec<String>),
    /// `{headers.NAME}`.
    Header(String),
}

const PLACEHOLDERS: &str = "{topic} {id} {event} {time} {body} {body_json.PATH} {headers.NAME}";

impl Template {
    /// Parse a template: placeholders in braces, `\n`, `\t` and `\\`
    /// escapes, `{{` and `}}` for literal braces. The error is one line
    /// that says what is wrong and where (a column, counted in
    /// characters from 1).
    pub fn parse(template: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let column = |at: usize| template[..at].chars().count() + 1;
        let mut chars = template.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 't')) => text.push('\t'),
                    Some((_, '\\')) => text.push('\\'),
                    Some((_, other)) => {
                        return Err(format!(
                            "unknown escape \\{other} at column {}: the escapes are \\n, \\t and \\\\",
                            column(at)
                        ));
                    }
                    None => {
                        return Err(
                            "the template ends in a lone \\ (write \\\\ for a backslash)".into(),
                        );
                    }
                },
                '{' | '}' if chars.peek().is_some_and(|&(_, next)| next == c) => {
                    chars.next();
                    text.push(c);
                }
                '}' => {
                    return Err(format!(
                        "a lone }} at column {} (write }}}} for a brace)",
                        column(at)
                    ));
                }
                '{' => {
                    let end = loop {
                        match chars.next() {
                            Some((end, '}')) => break end,
                            Some((_, '{')) | None => {
                                return Err(format!(
                                    "the {{ at column {} is not closed (write {{{{ for a brace)",
                                    column(at)
                                ));
                            }
                            Some(_) => {}
                        }
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(placeholder(&template[at + 1..end])?);
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// The line for `msg`, newline included. On a `terminal`, control
    /// characters in what the placeholders stand for are shown as `\xNN`.
    /// Kept out of line, as cards are: `Printer::print` is inlined into
    /// every receive loop.
    #[inline(never)]
    pub fn render(&self, out: &mut impl Write, msg: &Message, terminal: bool) -> io::Result<()> {
        // Parsed at most once per message, and only when asked for.
        let mut parsed: Option<Option<Value>> = None;
        for part in &self.parts {
            match part {
                Part::Text(text) => out.write_all(text.as_bytes())?,
                Part::Topic => line::text(out, msg.topic.as_bytes(), terminal)?,
                Part::Id => field(out, msg.id.as_deref(), terminal)?,
                Part::Event => field(out, msg.event.as_deref(), terminal)?,
                Part::Time => out.write_all(json::timestamp(msg.received_at).as_bytes())?,
                Part::Body if msg.binary => line::write_hex(out, &msg.body)?,
                Part::Body => line::text(out, &msg.body, terminal)?,
                Part::BodyJson(path) => {
                    let body = parsed.get_or_insert_with(|| json::parse_body(&msg.body));
                    match body.as_ref().and_then(|v| lookup(v, path)) {
                        Some(Value::String(s)) => line::text(out, s.as_bytes(), terminal)?,
                        // Compact JSON has no line break or control
                        // character outside a string, and serde_json
                        // escapes those inside.
                        Some(v) => serde_json::to_writer(&mut *out, v)?,
                        None => {}
                    }
                }
                Part::Header(name) => {
                    let value = msg
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_str());
                    field(out, value, terminal)?;
                }
            }
        }
        out.write_all(b"\n")
    }
}

fn placeholder(name: &str) -> Result<Part, String> {
    Ok(match name {
        "topic" => Part::Topic,
        "id" => Part::Id,
        "event" => Part::Event,
        "time" => Part::Time,
        "body" => Part::Body,
        "body_json" => Part::BodyJson(Vec::new()),
        _ => {
            if let Some(path) = name.strip_prefix("body_json.") {
                let steps: Vec<String> = path.split('.').map(String::from).collect();
                if steps.iter().any(String::is_empty) {
                    return Err(format!(
                        "{{{name}}} has an empty step: a path is keys and array indices joined by single dots, like {{body_json.items.0.name}}"
                    ));
                }
                Part::BodyJson(steps)
            } else if let Some(header) = name.strip_prefix("headers.")
                && !header.is_empty()
            {
                Part::Header(header.to_string())
            } else {
                return Err(format!(
                    "unknown placeholder {{{name}}}: the placeholders are {PLACEHOLDERS} (write {{{{ for a brace)"
                ));
            }
        }
    })
}

/// An optional field: nothing when the message has none.
fn field(out: &mut impl Write, value: Option<&str>, terminal: bool) -> io::Result<()> {
    match value {
        Some(v) => line::text(out, v.as_bytes(), terminal),
        None => Ok(()),
    }
}

/// Follow `path` into `value`: an object by key, an array by index.
fn lookup<'v>(mut value: &'v Value, path: &[String]) -> Option<&'v Value> {
    for step in path {
        value = match value {
            Value::Object(map) => map.get(step)?,
            Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::msg;

    fn render(template: &str, m: &Message, terminal: bool) -> String {
        let mut out = Vec::new();
        Template::parse(template)
            .unwrap()
            .render(&mut out, m, terminal)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_escapes_and_placeholders_parse() {
        assert_eq!(
            Template::parse("a{topic}\\n{{x}}\\t\\\\{body_json.items.0.name}{headers.Ack}")
                .unwrap(),
            Template {
                parts: vec![
                    Part::Text("a".into()),
                    Part::Topic,
                    Part::Text("\n{x}\t\\".into()),
                    Part::BodyJson(vec!["items".into(), "0".into(), "name".into()]),
                    Part::Header("Ack".into()),
                ]
            }
        );
        assert_eq!(Template::parse("").unwrap(), Template { parts: vec![] });
        assert_eq!(
            Template::parse("{body_json}é").unwrap().parts,
            vec![Part::BodyJson(vec![]), Part::Text("é".into())]
        );
    }

    #[test]
    fn bad_templates_are_one_line_errors_that_say_where() {
        for (template, says) in [
            (
                "{nope}",
                "unknown placeholder {nope}: the placeholders are {topic}",
            ),
            ("{}", "unknown placeholder {}"),
            ("{ topic }", "unknown placeholder { topic }"),
            ("{headers.}", "unknown placeholder {headers.}"),
            ("{body_json.}", "{body_json.} has an empty step"),
            ("{body_json.a..b}", "{body_json.a..b} has an empty step"),
            ("ab{body", "the { at column 3 is not closed"),
            ("{a{b}", "the { at column 1 is not closed"),
            ("é}x", "a lone } at column 2"),
            ("x\\q", "unknown escape \\q at column 2"),
            ("x\\", "ends in a lone \\"),
        ] {
            let err = Template::parse(template).unwrap_err();
            assert!(err.contains(says), "{template}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn each_placeholder_renders_its_field_and_a_missing_one_nothing() {
        let mut m = msg(
            "news",
            br#"{"status":"ok","items":[{"name":"a\nb"},{"n":1.5}],"nil":null}"#,
            false,
        );
        m.id = Some("7".into());
        m.headers = vec![("Content-Type".into(), "text/x".into())];
        let t = "{topic}|{id}|{event}|{body_json.status}|{body_json.items.0.name}|{body_json.items.1}|{body_json.nil}|{body_json.items.9}|{body_json.status.x}|{headers.content-type}|{headers.none}";
        assert_eq!(
            render(t, &m, false),
            "news|7||ok|a\\nb|{\"n\":1.5}|null|||text/x|\n"
        );
        assert_eq!(
            render("{body_json}", &m, false),
            "{\"status\":\"ok\",\"items\":[{\"name\":\"a\\nb\"},{\"n\":1.5}],\"nil\":null}\n"
        );
        // Not JSON: every path is missing; the body is the text.
        let m = msg("t", b"not json\r\n", false);
        assert_eq!(
            render("[{body_json}][{body}]", &m, false),
            "[][not json\\r\\n]\n"
        );
    }

    #[test]
    fn time_is_the_json_envelopes_received_at() {
        let m = msg("t", b"", false);
        let at = render("{time}", &m, false);
        assert_eq!(at.trim_end(), json::timestamp(m.received_at));
        assert!(at.ends_with("Z\n") && at.len() == "2026-11-22T14:05:46.123Z\n".len());
    }

    #[test]
    fn binary_bodies_are_hex_as_in_line_output() {
        let m = msg("t", &[0, 0xab, b'{'], true);
        assert_eq!(render("<{body}>", &m, false), "<00ab7b>\n");
    }

    #[test]
    fn control_characters_reach_a_terminal_only_as_escapes() {
        let m = msg("t\x1b]0;x\x07", b"{\"k\":\"\\u001b[2J\"}", false);
        assert_eq!(
            render("{topic} {body_json.k} {body}", &m, true),
            "t\\x1b]0;x\\x07 \\x1b[2J {\"k\":\"\\u001b[2J\"}\n"
        );
        // Piped, only line breaks are escaped (as -o line does).
        assert_eq!(render("{body_json.k}", &m, false), "\x1b[2J\n");
    }
}
