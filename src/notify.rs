//! `--notify KIND` of `subscribe` and `tail`: a notification for each
//! message, the topic as its title and the body's first line as its text,
//! at most one a second.
//!
//! What is shown is pure and unit-tested: [`Note`] (a message's title and
//! line, cleaned of anything a terminal would act on), [`escape`] (the
//! bytes of each terminal's escape, wrapped for tmux), [`detect`] (which
//! escape `auto` picks from the environment) and [`Gate`] (the rate limit,
//! on a clock it is given). Showing it is [`Notifier`]'s: the printer
//! offers it every message ([`crate::render::Printer::print`]), and a
//! thread of its own holds the terminal (`/dev/tty`, opened once, so that
//! stdout stays the messages') or the desktop's notification service,
//! wakes when a quiet second ends with messages counted in it, and shows,
//! so that a terminal that does not take what is written (stopped with
//! Ctrl-S) or a slow D-Bus never holds the stream up.
//!
//! The rate limit: a message that comes when nothing was shown for a second
//! is shown at once. Those of the quiet second after it are counted, and
//! summed up as that second ends ("4 new messages"; a single one is shown
//! as itself) whether or not more come, which starts the next quiet second.
//! At exit, what was counted is summed up at once.

use std::fs::File;
use std::io::Write;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use regex::bytes::Regex;

use crate::error::Result;
use crate::message::Message;
use crate::{verbose, warn};

/// At most one notification in this long.
pub const QUIET: Duration = Duration::from_secs(1);

/// The longest title (the topic) and text (the body's first line) shown,
/// in characters; longer ones are cut with an ellipsis. A notification is
/// a glance, and terminals bound the length of an escape.
const TITLE_MAX: usize = 100;
const TEXT_MAX: usize = 200;

/// Distinct topics told apart in a summary ("on 3 topics"); past this,
/// "on 64+ topics".
const TOPICS_KEPT: usize = 64;

/// How long pubcat waits at exit for the last notification to be shown:
/// a terminal that does not take it, or a desktop service that does not
/// answer, must not hold pubcat up.
const EXIT_WAIT: Duration = Duration::from_secs(1);

/// `--notify KIND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyKind {
    /// The escape this terminal shows (see the README's matrix); the bell
    /// where pubcat cannot tell.
    Auto,
    /// OSC 777 (foot, WezTerm, Ghostty, Windows Terminal).
    Osc777,
    /// OSC 9 (iTerm2, VS Code).
    Osc9,
    /// OSC 99 (kitty).
    Osc99,
    /// The desktop's notification service (D-Bus, macOS, Windows), not the
    /// terminal.
    Desktop,
    /// The terminal bell.
    Bell,
}

/// A terminal's way of showing a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// `ESC ] 777 ; notify ; TITLE ; TEXT BEL`, rxvt-unicode's.
    Osc777,
    /// `ESC ] 9 ; TEXT BEL`, iTerm2's (text only: `TITLE: TEXT`).
    Osc9,
    /// kitty's `ESC ] 99 ; META ; PAYLOAD ST`, title and text in two chunks.
    Osc99,
    /// `BEL`: the terminal decides (a sound, a flash, an urgent window).
    Bell,
}

impl Escape {
    fn name(self) -> &'static str {
        match self {
            Escape::Osc777 => "OSC 777",
            Escape::Osc9 => "OSC 9",
            Escape::Osc99 => "OSC 99",
            Escape::Bell => "the bell",
        }
    }
}

/// The escape `auto` picks, and why: first the terminal's own name
/// (`TERM_PROGRAM`, then `TERM`), then the variables a terminal sets for
/// what runs in it, which outlive tmux (it puts its own name in
/// `TERM_PROGRAM` and `TERM`) and, for `LC_TERMINAL`, cross SSH; the bell
/// when none says anything, as every terminal takes it and none misreads it.
pub fn detect(var: impl Fn(&str) -> Option<String>) -> (Escape, &'static str) {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    match var("TERM_PROGRAM").as_deref() {
        Some("WezTerm") => return (Escape::Osc777, "TERM_PROGRAM=WezTerm"),
        Some("ghostty") => return (Escape::Osc777, "TERM_PROGRAM=ghostty"),
        Some("iTerm.app") => return (Escape::Osc9, "TERM_PROGRAM=iTerm.app"),
        Some("vscode") => return (Escape::Osc9, "TERM_PROGRAM=vscode"),
        _ => {}
    }
    match var("TERM").as_deref() {
        Some("xterm-kitty") => return (Escape::Osc99, "TERM=xterm-kitty"),
        Some("xterm-ghostty") => return (Escape::Osc777, "TERM=xterm-ghostty"),
        Some("wezterm") => return (Escape::Osc777, "TERM=wezterm"),
        Some(t) if t == "foot" || t.starts_with("foot-") => return (Escape::Osc777, "TERM=foot"),
        _ => {}
    }
    let markers = [
        ("KITTY_WINDOW_ID", Escape::Osc99),
        ("WEZTERM_PANE", Escape::Osc777),
        ("GHOSTTY_RESOURCES_DIR", Escape::Osc777),
        ("WT_SESSION", Escape::Osc777),
        ("ITERM_SESSION_ID", Escape::Osc9),
    ];
    if let Some((name, escape)) = markers.into_iter().find(|(name, _)| var(name).is_some()) {
        return (escape, name);
    }
    if var("LC_TERMINAL").as_deref() == Some("iTerm2") {
        return (Escape::Osc9, "LC_TERMINAL=iTerm2");
    }
    (Escape::Bell, "no terminal that pubcat knows")
}

/// pubcat runs inside tmux, which drops escapes it does not know unless
/// they come wrapped for passthrough.
pub fn in_tmux(var: impl Fn(&str) -> Option<String>) -> bool {
    var("TMUX").is_some_and(|v| !v.is_empty())
}

/// What a notification says, cleaned: no control characters (C0, DEL, C1:
/// a server's ESC, BEL or CSI), no bidirectional overrides, one line, cut
/// to a length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub title: String,
    pub text: String,
}

impl Note {
    /// A message's: its topic, and its body's first line that is not blank
    /// (`(empty)` and `binary, N bytes` as a card says them).
    pub fn of(m: &Message) -> Note {
        let text = if m.binary {
            format!("binary, {} bytes", m.body.len())
        } else {
            m.body
                .split(|&b| b == b'\n' || b == b'\r')
                .map(|line| clean(decode(line), TEXT_MAX))
                .find(|line| !line.is_empty())
                .unwrap_or_else(|| "(empty)".to_string())
        };
        Note {
            title: clean(m.topic.chars(), TITLE_MAX),
            text,
        }
    }
}

/// The characters of `bytes` as UTF-8, each invalid sequence one U+FFFD,
/// decoded only as far as they are read.
fn decode(bytes: &[u8]) -> impl Iterator<Item = char> + '_ {
    bytes.utf8_chunks().flat_map(|chunk| {
        let bad = (!chunk.invalid().is_empty()).then_some(char::REPLACEMENT_CHARACTER);
        chunk.valid().chars().chain(bad)
    })
}

/// `chars` fit to show: control and bidirectional-formatting characters
/// dropped, tabs and line separators as spaces, trimmed, and at most `max`
/// characters (then an ellipsis).
fn clean(chars: impl Iterator<Item = char>, max: usize) -> String {
    let mut out = String::new();
    let shown = chars
        .filter_map(|c| match c {
            '\t' | '\u{2028}' | '\u{2029}' => Some(' '),
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .skip_while(|c| c.is_whitespace());
    for (kept, c) in shown.enumerate() {
        if kept == max {
            out.truncate(out.trim_end().len());
            out.push('…');
            return out;
        }
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out
}

/// The marks that reorder text when shown (an override makes `exe.txt`
/// of `txt.exe`): ALM, LRM, RLM, the embeddings and overrides, the isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The bytes that show `note` on a terminal that takes `escape`; `id`
/// names the notification where the escape has ids (OSC 99). Inside tmux
/// (`tmux`) an OSC goes wrapped for passthrough; a bell does not need it
/// (tmux passes bells on by itself).
pub fn escape(escape: Escape, note: &Note, id: &str, tmux: bool) -> Vec<u8> {
    let sequence = match escape {
        Escape::Bell => return vec![0x07],
        // `;` separates the fields: one in the title or text would move
        // the rest into the wrong field, or out of the notification.
        Escape::Osc777 => format!(
            "\x1b]777;notify;{};{}\x07",
            note.title.replace(';', ","),
            note.text.replace(';', ",")
        ),
        Escape::Osc9 => format!("\x1b]9;{}\x07", osc9_text(note)),
        // Base64 (e=1): the payload can then hold anything, `;` too.
        Escape::Osc99 => {
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            format!(
                "\x1b]99;i={id}:d=0:e=1;{}\x1b\\\x1b]99;i={id}:p=body:e=1;{}\x1b\\",
                b64(&note.title),
                b64(&note.text)
            )
        }
    };
    if tmux {
        passthrough(sequence.as_bytes())
    } else {
        sequence.into_bytes()
    }
}

/// OSC 9's one text: `TITLE: TEXT`. ConEmu and Windows Terminal read
/// `OSC 9 ; NUMBER ; …` as commands of their own (a progress bar, "wait
/// for Enter"), so a text that starts with a digit starts with an
/// invisible word joiner instead.
fn osc9_text(note: &Note) -> String {
    let text = format!("{}: {}", note.title, note.text);
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        format!("\u{2060}{text}")
    } else {
        text
    }
}

/// tmux's passthrough: `ESC P tmux; SEQUENCE ESC \`, every ESC inside
/// doubled. tmux 3.3 and later pass it on only with `allow-passthrough on`.
fn passthrough(sequence: &[u8]) -> Vec<u8> {
    let mut out = b"\x1bPtmux;".to_vec();
    for &b in sequence {
        if b == 0x1b {
            out.push(0x1b);
        }
        out.push(b);
    }
    out.extend_from_slice(b"\x1b\\");
    out
}

/// The rate limit: when the next notification may be shown, and what
/// came meanwhile. Time is given, so that it is tested without waiting.
#[derive(Debug, Default)]
pub struct Gate {
    /// When the next notification may be shown; None: now.
    next: Option<Instant>,
    /// A message to show now, not yet taken by [`Gate::due`].
    ready: Option<Note>,
    /// The messages of the quiet time, to sum up when it ends.
    counted: u64,
    /// The first of them: shown as itself when it stays the only one.
    single: Option<Note>,
    topics: Vec<Arc<str>>,
    /// More topics than [`TOPICS_KEPT`].
    more_topics: bool,
}

impl Gate {
    /// A message came at `now`: shown at once when nothing was shown in
    /// the last [`QUIET`], else counted. True when the thread that shows
    /// must wake (something to show, or a quiet time to time).
    pub fn offer(&mut self, m: &Message, now: Instant) -> bool {
        if self.ready.is_none() && self.counted == 0 && self.next.is_none_or(|t| now >= t) {
            self.ready = Some(Note::of(m));
            self.next = Some(now + QUIET);
            return true;
        }
        self.counted += 1;
        if self.counted == 1 {
            self.single = Some(Note::of(m));
        }
        self.count_topic(&m.topic);
        self.counted == 1
    }

    fn count_topic(&mut self, topic: &Arc<str>) {
        // The last first: a burst is mostly of one topic. (Arc's `==`
        // compares pointers before text.)
        if self.topics.iter().rev().any(|t| t == topic) {
            return;
        }
        if self.topics.len() < TOPICS_KEPT {
            self.topics.push(topic.clone());
        } else {
            self.more_topics = true;
        }
    }

    /// What is to be shown at `now`: a message offered, or the sum of a
    /// quiet time that is over (at once when `closing`). Showing a sum
    /// starts the next quiet time.
    pub fn due(&mut self, now: Instant, closing: bool) -> Option<Note> {
        if let Some(note) = self.ready.take() {
            return Some(note);
        }
        if self.counted == 0 || !(closing || self.next.is_none_or(|t| now >= t)) {
            return None;
        }
        let note = match self.single.take() {
            Some(single) if self.counted == 1 => single,
            _ => self.summary(),
        };
        self.counted = 0;
        self.single = None;
        self.topics.clear();
        self.more_topics = false;
        self.next = Some(now + QUIET);
        Some(note)
    }

    /// `4 new messages`, with the topic as title; over several topics,
    /// `pubcat` as title and `4 new messages on 2 topics`.
    fn summary(&self) -> Note {
        let messages = format!("{} new messages", self.counted);
        match &self.topics[..] {
            [topic] if !self.more_topics => Note {
                title: clean(topic.chars(), TITLE_MAX),
                text: messages,
            },
            topics => Note {
                title: "pubcat".to_string(),
                text: format!(
                    "{messages} on {}{} topics",
                    topics.len(),
                    if self.more_topics { "+" } else { "" }
                ),
            },
        }
    }

    /// When the thread must look again, with nothing offered meanwhile:
    /// as the quiet time ends, when it holds messages.
    pub fn wake_at(&self) -> Option<Instant> {
        (self.counted > 0).then(|| self.next.unwrap_or_else(Instant::now))
    }
}

/// `--notify`: offered every message printed; shows them on a thread of
/// its own (see the module's doc). Dropping it sums up what was counted
/// and waits, at most [`EXIT_WAIT`], for that to be shown.
pub struct Notifier {
    when: Option<Regex>,
    shared: Arc<Shared>,
    /// Closed when the thread ends.
    ended: Receiver<()>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    gate: Gate,
    closing: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Notifier {
    /// Start showing notifications as `kind` says, for messages whose body
    /// matches `when`. None when there is nothing to show them on (no
    /// terminal: said on stderr once); an error when `desktop` was asked of
    /// a pubcat built without it.
    pub fn start(kind: NotifyKind, when: Option<Regex>) -> Result<Option<Notifier>> {
        let var = |name: &str| std::env::var(name).ok();
        let (escape, why) = match kind {
            NotifyKind::Desktop => return Ok(Notifier::spawn(Sink::desktop()?, when)),
            NotifyKind::Auto => detect(var),
            NotifyKind::Osc777 => (Escape::Osc777, "as asked"),
            NotifyKind::Osc9 => (Escape::Osc9, "as asked"),
            NotifyKind::Osc99 => (Escape::Osc99, "as asked"),
            NotifyKind::Bell => (Escape::Bell, "as asked"),
        };
        let tmux = in_tmux(var) && escape != Escape::Bell;
        let wrapped = if tmux { ", wrapped for tmux" } else { "" };
        verbose!("--notify: {}{wrapped} ({why})", escape.name());
        match open_terminal() {
            Ok(tty) => {
                let sink = Sink::Terminal {
                    tty,
                    escape,
                    tmux,
                    shown: 0,
                };
                Ok(Notifier::spawn(sink, when))
            }
            Err(e) => {
                warn!(
                    "--notify: no terminal to show notifications on ({TERMINAL}: {e}); going on without them"
                );
                Ok(None)
            }
        }
    }

    /// The thread that shows on `sink`, and its handle.
    fn spawn(sink: Sink, when: Option<Regex>) -> Option<Notifier> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                gate: Gate::default(),
                closing: false,
            }),
            wake: Condvar::new(),
        });
        let (ended_tx, ended) = mpsc::channel::<()>();
        let theirs = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || {
                show_until_closed(&theirs, sink);
                drop(ended_tx);
            });
        if let Err(e) = spawned {
            warn!("--notify: cannot start its thread ({e}); going on without notifications");
            return None;
        }
        Some(Notifier {
            when,
            shared,
            ended,
        })
    }

    /// A message was printed.
    pub fn offer(&self, m: &Message) {
        if self.when.as_ref().is_some_and(|re| !re.is_match(&m.body)) {
            return;
        }
        let wake = self.shared.lock().gate.offer(m, Instant::now());
        if wake {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        let _ = self.ended.recv_timeout(EXIT_WAIT);
    }
}

/// The thread's loop: show what is due, sleep until the next quiet time
/// ends or a message wakes it, and at closing show what is left.
fn show_until_closed(shared: &Shared, mut sink: Sink) {
    let mut state = shared.lock();
    loop {
        let now = Instant::now();
        let closing = state.closing;
        if let Some(note) = state.gate.due(now, closing) {
            drop(state);
            sink.show(&note);
            state = shared.lock();
            continue;
        }
        if closing {
            return;
        }
        state = match state.gate.wake_at() {
            Some(at) => {
                let wait = at.saturating_duration_since(now);
                match shared.wake.wait_timeout(state, wait) {
                    Ok((state, _)) => state,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
            None => shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

/// Where notifications are shown.
enum Sink {
    Terminal {
        tty: File,
        escape: Escape,
        tmux: bool,
        /// Notifications shown: with the pid, OSC 99's id.
        shown: u64,
    },
    #[cfg(feature = "desktop-notify")]
    Desktop,
    /// Showing failed (said once on stderr): the rest are dropped.
    Gone,
}

impl Sink {
    fn show(&mut self, note: &Note) {
        let shown = match self {
            Sink::Terminal {
                tty,
                escape: kind,
                tmux,
                shown,
            } => {
                *shown += 1;
                let id = format!("pubcat-{}-{shown}", std::process::id());
                tty.write_all(&escape(*kind, note, &id, *tmux))
                    .map_err(|e| format!("writing to {TERMINAL}: {e}"))
            }
            #[cfg(feature = "desktop-notify")]
            Sink::Desktop => desktop::show(note),
            Sink::Gone => return,
        };
        if let Err(why) = shown {
            warn!("--notify: {why}; going on without notifications");
            *self = Sink::Gone;
        }
    }

    #[cfg(feature = "desktop-notify")]
    fn desktop() -> Result<Sink> {
        Ok(Sink::Desktop)
    }

    #[cfg(not(feature = "desktop-notify"))]
    fn desktop() -> Result<Sink> {
        Err(crate::error::Error::usage(
            "--notify desktop: this pubcat was built without desktop notifications (the cargo feature desktop-notify); a terminal's own are --notify auto",
        ))
    }
}

/// The controlling terminal, whatever stdout and stderr are.
#[cfg(unix)]
const TERMINAL: &str = "/dev/tty";
#[cfg(not(unix))]
const TERMINAL: &str = "CONOUT$";

fn open_terminal() -> std::io::Result<File> {
    std::fs::OpenOptions::new().write(true).open(TERMINAL)
}

#[cfg(feature = "desktop-notify")]
mod desktop {
    use super::Note;

    /// One notification through notify-rust: D-Bus (org.freedesktop.Notifications)
    /// on Linux and the BSDs, the notification centre on macOS, toasts on
    /// Windows.
    pub fn show(note: &Note) -> Result<(), String> {
        notify_rust::Notification::new()
            .appname("pubcat")
            .summary(&note.title)
            .body(&body(&note.text))
            .show()
            .map(drop)
            .map_err(|e| format!("the desktop's notification service did not show it ({e})"))
    }

    /// The freedesktop servers read the body as markup (`<a href>`,
    /// `<img src>`): a server's text is escaped so that it shows as sent.
    #[cfg(all(unix, not(target_os = "macos")))]
    fn body(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    #[cfg(not(all(unix, not(target_os = "macos"))))]
    fn body(text: &str) -> String {
        text.to_string()
    }

    #[cfg(all(test, unix, not(target_os = "macos")))]
    #[test]
    fn a_server_cannot_put_markup_in_a_freedesktop_notification() {
        assert_eq!(
            body("<a href=\"file:///etc\">x</a> & <img src=y>"),
            "&lt;a href=\"file:///etc\"&gt;x&lt;/a&gt; &amp; &lt;img src=y&gt;"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::msg;

    fn note(title: &str, text: &str) -> Note {
        Note {
            title: title.into(),
            text: text.into(),
        }
    }

    fn shown(e: Escape, n: &Note, tmux: bool) -> String {
        String::from_utf8(escape(e, n, "pubcat-7-1", tmux)).unwrap()
    }

    #[test]
    fn each_escape_as_its_terminal_reads_it_and_inside_tmux_wrapped() {
        let n = note("alerts", "disk full");
        // kitty: the title chunk (not done), then the body; base64.
        let kitty = "\x1b]99;i=pubcat-7-1:d=0:e=1;YWxlcnRz\x1b\\\x1b]99;i=pubcat-7-1:p=body:e=1;ZGlzayBmdWxs\x1b\\";
        let cases = [
            (Escape::Osc777, "\x1b]777;notify;alerts;disk full\x07"),
            (Escape::Osc9, "\x1b]9;alerts: disk full\x07"),
            (Escape::Osc99, kitty),
            (Escape::Bell, "\x07"),
        ];
        for (kind, expected) in cases {
            assert_eq!(shown(kind, &n, false), expected, "{kind:?}");
            // tmux: ESC P tmux; with every ESC doubled, then ST; a bell
            // goes as it is.
            let wrapped = match kind {
                Escape::Bell => expected.to_string(),
                _ => format!("\x1bPtmux;{}\x1b\\", expected.replace('\x1b', "\x1b\x1b")),
            };
            assert_eq!(shown(kind, &n, true), wrapped, "{kind:?}");
        }
        assert_eq!(
            shown(Escape::Osc777, &n, true),
            "\x1bPtmux;\x1b\x1b]777;notify;alerts;disk full\x07\x1b\\"
        );
    }

    #[test]
    fn separators_and_leading_digits_cannot_change_what_an_escape_means() {
        let n = note("a;b", "x; y");
        assert_eq!(
            shown(Escape::Osc777, &n, false),
            "\x1b]777;notify;a,b;x, y\x07"
        );
        // OSC 9's text is all one field; a digit first is ConEmu's command.
        assert_eq!(shown(Escape::Osc9, &n, false), "\x1b]9;a;b: x; y\x07");
        assert_eq!(
            shown(Escape::Osc9, &note("4;3", "50"), false),
            "\x1b]9;\u{2060}4;3: 50\x07"
        );
        let b64 = shown(Escape::Osc99, &n, false);
        assert!(
            b64.contains(";YTti\x1b\\") && b64.contains(";eDsgeQ==\x1b\\"),
            "{b64:?}"
        );
    }

    #[test]
    fn a_hostile_body_loses_every_control_character() {
        let body = "evil\x1b]0;pwned\x07 \u{9b}31m\u{7f}\u{202e}txt.exe\r\nsecond line";
        let n = Note::of(&msg("t\x1b[2J", body.as_bytes(), false));
        assert_eq!(n, note("t[2J", "evil]0;pwned 31mtxt.exe"));
        for kind in [Escape::Osc777, Escape::Osc9, Escape::Osc99] {
            for tmux in [false, true] {
                let bytes = escape(kind, &n, "pubcat-1-1", tmux);
                // The payload holds no control byte: the only ones are the
                // escape's own framing (ESC, BEL), at its known places.
                let framing = match (kind, tmux) {
                    (Escape::Osc777 | Escape::Osc9, false) => 2,
                    (Escape::Osc777 | Escape::Osc9, true) => 5,
                    (Escape::Osc99, false) => 4,
                    (Escape::Osc99, true) => 10,
                    (Escape::Bell, _) => unreachable!(),
                };
                let controls = bytes.iter().filter(|&&b| b < 0x20 || b == 0x7f).count();
                assert_eq!(controls, framing, "{kind:?} {tmux}: {bytes:?}");
                // No C1 either, raw or UTF-8 encoded.
                let text = String::from_utf8(bytes).unwrap();
                assert!(!text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)));
            }
        }
        // Invalid UTF-8 (a raw 0x9b is C1's CSI in 8-bit terminals) is
        // replaced, not passed on.
        let raw = Note::of(&msg("t", b"a\x9b31mb", false));
        assert_eq!(raw.text, "a\u{fffd}31mb");
    }

    #[test]
    fn the_text_is_the_first_line_with_something_on_it_cut_at_a_character() {
        let text = |body: &[u8]| Note::of(&msg("t", body, false)).text;
        assert_eq!(text(b"\n \t\r\n  first\tline  \nsecond"), "first line");
        assert_eq!(text(b""), "(empty)");
        assert_eq!(text(b"\x1b\x07\n"), "(empty)");
        assert_eq!(
            Note::of(&msg("t", &[0, 1, 2], true)).text,
            "binary, 3 bytes"
        );
        // 200 characters of three bytes each, then an ellipsis.
        let long = "山".repeat(500);
        let cut = text(long.as_bytes());
        assert_eq!(cut.chars().count(), TEXT_MAX + 1);
        assert!(cut.ends_with("山…"), "{cut}");
        assert_eq!(
            text("山".repeat(TEXT_MAX).as_bytes()).chars().count(),
            TEXT_MAX
        );
        let title = Note::of(&msg(&"t".repeat(300), b"x", false)).title;
        assert_eq!(title.chars().count(), TITLE_MAX + 1);
    }

    #[test]
    fn auto_picks_by_the_terminals_name_then_by_what_it_leaves_in_the_environment() {
        let pick = |vars: &[(&str, &str)]| {
            detect(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            })
            .0
        };
        use Escape::*;
        assert_eq!(pick(&[("TERM_PROGRAM", "WezTerm")]), Osc777);
        assert_eq!(pick(&[("TERM_PROGRAM", "ghostty")]), Osc777);
        assert_eq!(pick(&[("TERM_PROGRAM", "iTerm.app")]), Osc9);
        assert_eq!(pick(&[("TERM_PROGRAM", "vscode")]), Osc9);
        assert_eq!(pick(&[("TERM", "xterm-kitty")]), Osc99);
        assert_eq!(pick(&[("TERM", "foot")]), Osc777);
        assert_eq!(pick(&[("TERM", "foot-extra")]), Osc777);
        assert_eq!(pick(&[("TERM", "xterm-ghostty")]), Osc777);
        assert_eq!(pick(&[("WT_SESSION", "4b1c")]), Osc777);
        // Over SSH, only TERM and LC_* come along.
        assert_eq!(pick(&[("LC_TERMINAL", "iTerm2")]), Osc9);
        // Inside tmux, which names itself: the outer terminal's variables.
        let tmux = [("TERM_PROGRAM", "tmux"), ("TERM", "tmux-256color")];
        assert_eq!(
            pick(&[&tmux[..], &[("KITTY_WINDOW_ID", "1")]].concat()),
            Osc99
        );
        assert_eq!(
            pick(&[&tmux[..], &[("WEZTERM_PANE", "0")]].concat()),
            Osc777
        );
        assert_eq!(pick(&tmux), Bell);
        // The terminal's own name before what an outer one left behind
        // (WezTerm started from a kitty window).
        let nested = [("TERM_PROGRAM", "WezTerm"), ("KITTY_WINDOW_ID", "1")];
        assert_eq!(pick(&nested), Osc777);
        // Unknown, or nothing: the bell; empty is nothing.
        assert_eq!(pick(&[("TERM", "xterm-256color")]), Bell);
        assert_eq!(pick(&[("TERM_PROGRAM", "Apple_Terminal")]), Bell);
        assert_eq!(pick(&[("KITTY_WINDOW_ID", "")]), Bell);
        assert_eq!(pick(&[]), Bell);
        assert!(in_tmux(
            |n| (n == "TMUX").then(|| "/tmp/tmux-0/default,1,0".into())
        ));
        assert!(!in_tmux(|n| (n == "TMUX").then(String::new)));
        assert!(!in_tmux(|_| None));
    }

    #[test]
    fn one_a_second_and_a_burst_is_summed_up_when_its_second_ends() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut gate = Gate::default();
        let m = |body: &str| msg("jobs", body.as_bytes(), false);
        assert!(gate.offer(&m("one"), at(0)));
        assert_eq!(gate.due(at(0), false), Some(note("jobs", "one")));
        assert_eq!(gate.due(at(0), false), None);
        assert_eq!(gate.wake_at(), None);
        // Four in the quiet second: counted, the thread woken by the first.
        assert!(gate.offer(&m("two"), at(100)));
        for (ms, body) in [(200, "three"), (300, "four"), (999, "five")] {
            assert!(!gate.offer(&m(body), at(ms)));
        }
        assert_eq!(gate.wake_at(), Some(at(1000)));
        assert_eq!(gate.due(at(999), false), None);
        assert_eq!(
            gate.due(at(1000), false),
            Some(note("jobs", "4 new messages"))
        );
        assert_eq!(gate.wake_at(), None);
        // The sum started a quiet second of its own: one message in it is
        // shown as itself when it ends.
        assert!(gate.offer(&m("six"), at(1500)));
        assert_eq!(gate.due(at(1999), false), None);
        assert_eq!(gate.due(at(2000), false), Some(note("jobs", "six")));
        // After a quiet second with nothing, a message is shown at once.
        assert!(gate.offer(&m("seven"), at(3000)));
        assert_eq!(gate.due(at(3000), false), Some(note("jobs", "seven")));
    }

    #[test]
    fn a_sum_over_several_topics_says_how_many_and_closing_sums_up_at_once() {
        let t0 = Instant::now();
        let mut gate = Gate::default();
        gate.offer(&msg("a", b"1", false), t0);
        gate.due(t0, false);
        for topic in ["a", "b", "a", "c"] {
            gate.offer(&msg(topic, b"x", false), t0);
        }
        assert_eq!(gate.due(t0, false), None);
        assert_eq!(
            gate.due(t0, true),
            Some(note("pubcat", "4 new messages on 3 topics"))
        );
        // Past the topics kept: "64+".
        let later = t0 + QUIET * 2;
        gate.offer(&msg("x", b"1", false), later);
        gate.due(later, false);
        for n in 0..100 {
            gate.offer(&msg(&format!("t{n}"), b"x", false), later);
        }
        let sum = gate.due(later, true).unwrap();
        assert_eq!(sum.text, "100 new messages on 64+ topics");
        assert_eq!(gate.due(later, true), None);
    }
}
