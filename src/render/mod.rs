//! Everything written to stdout for received messages goes through here:
//! the format, colour, and when bytes actually leave the buffer.
//!
//! `--notify` hooks in here too: [`Printer::print`] offers every message
//! it prints to the [`Notifier`] (`crate::notify`), which decides what to
//! show and shows it elsewhere than stdout.

mod json;
mod line;
mod template;
mod toast;
mod wrap;

pub use template::Template;

use std::ffi::OsStr;
use std::io::{self, BufWriter, IsTerminal, Write};

use crate::message::Message;
use crate::notify::Notifier;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A small card per message (for terminals).
    Toast,
    /// One line per message: the body, CR/LF escaped, binary as hex.
    Line,
    /// NDJSON: one envelope object per line.
    Json,
    /// Each body byte-exact, then a newline.
    Raw,
}

/// What a printer writes for each message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One of `-o`'s formats.
    Format(Format),
    /// A line of `--format TEMPLATE`.
    Template(Template),
    /// Nothing: `--exec` without `-o` or `--format`, where the command's
    /// own output is what the user reads.
    Nothing,
}

impl From<Format> for Layout {
    fn from(format: Format) -> Layout {
        Layout::Format(format)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The user's choice, else `on_tty` on a terminal and line when piped.
pub fn resolve_format(choice: Option<Format>, stdout_is_tty: bool, on_tty: Format) -> Format {
    choice.unwrap_or(if stdout_is_tty { on_tty } else { Format::Line })
}

/// Colour only on a terminal, unless forced; `NO_COLOR` set to anything but
/// the empty string turns auto off (<https://no-color.org>).
pub fn use_color(choice: ColorChoice, stdout_is_tty: bool, no_color: Option<&OsStr>) -> bool {
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => stdout_is_tty && no_color.is_none_or(OsStr::is_empty),
    }
}

/// Buffers rendered messages; the caller decides when to flush (once per
/// burst), because a write per message costs several times the throughput.
pub struct Printer<W: Write> {
    out: BufWriter<W>,
    layout: Layout,
    color: bool,
    width: usize,
    /// Where the width comes from for each card, if not fixed: the
    /// terminal's, asked again per card (an ioctl, a microsecond) so that
    /// after a resize the next card fits the new width.
    measure: Option<fn() -> Option<usize>>,
    scratch: Vec<u8>,
    /// Writing to a terminal: `line` and `--format` output then show
    /// control characters (a server's escape sequences) as `\xNN` instead
    /// of sending them to the terminal to act on.
    terminal: bool,
    /// `--notify`: offered every message printed.
    notify: Option<Notifier>,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, layout: impl Into<Layout>, color: bool, width: usize) -> Self {
        if color {
            // `colored` otherwise second-guesses us from the environment;
            // the decision was made by `use_color`. Without colour the
            // renderers never call into `colored`, so this is the only switch.
            colored::control::set_override(true);
        }
        Printer {
            out: BufWriter::with_capacity(256 * 1024, out),
            layout: layout.into(),
            color,
            width,
            measure: None,
            scratch: Vec::new(),
            terminal: false,
            notify: None,
        }
    }

    /// Measure the width before each card with `measure` (the fixed width
    /// when it answers None).
    pub fn measured(mut self, measure: fn() -> Option<usize>) -> Self {
        self.measure = Some(measure);
        self
    }

    /// Output goes to a terminal (see `terminal`).
    pub fn on_terminal(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }

    /// Offer every message printed to `notifier` too.
    pub fn notifying(mut self, notifier: Option<Notifier>) -> Self {
        self.notify = notifier;
        self
    }

    /// Inlined into the receive loops: a call per message showed in the
    /// instruction count of `sub -o raw` (with `Subscriber::handle`, 8%).
    #[inline(always)]
    pub fn print(&mut self, msg: &Message) -> io::Result<()> {
        if let Some(notifier) = &self.notify {
            notifier.offer(msg);
        }
        match &self.layout {
            Layout::Format(Format::Raw) => line::raw(&mut self.out, msg),
            Layout::Format(Format::Line) => line::line(&mut self.out, msg, self.terminal),
            Layout::Format(Format::Json) => {
                self.scratch.clear();
                json::envelope(&mut self.scratch, msg);
                self.out.write_all(&self.scratch)
            }
            Layout::Format(Format::Toast) => self.card(msg),
            Layout::Template(template) => template.render(&mut self.out, msg, self.terminal),
            Layout::Nothing => Ok(()),
        }
    }

    /// Kept out of line: cards are for people, and `print` is inlined into
    /// every receive loop.
    #[inline(never)]
    fn card(&mut self, msg: &Message) -> io::Result<()> {
        let width = self.measure.and_then(|m| m()).unwrap_or(self.width);
        self.scratch.clear();
        toast::card(&mut self.scratch, msg, self.color, width);
        self.out.write_all(&self.scratch)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Printer<io::Stdout> {
    /// A printer on stdout, as wide as the terminal for each card (80 when
    /// unknown).
    pub fn stdout(layout: Layout, color: bool) -> Self {
        Printer::like_stdout(io::stdout(), layout, color)
    }
}

impl<W: Write> Printer<W> {
    /// A printer on `out` that ends on stdout's terminal by another way
    /// (`connect`'s line editor): measured and escaped as on stdout.
    pub fn like_stdout(out: W, layout: Layout, color: bool) -> Self {
        Printer::new(out, layout, color, 80)
            .measured(stdout_width)
            .on_terminal(io::stdout().is_terminal())
    }
}

fn stdout_width() -> Option<usize> {
    terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| usize::from(w.0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    pub fn msg(topic: &str, body: &[u8], binary: bool) -> Message {
        Message::new(
            Arc::from(topic),
            bytes::Bytes::copy_from_slice(body),
            binary,
            "ws",
        )
    }

    pub fn render(format: Format, color: bool, width: usize, m: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut p = Printer::new(&mut out, format, color, width);
            p.print(m).unwrap();
            p.flush().unwrap();
        }
        out
    }

    #[test]
    fn format_and_colour_choices() {
        assert_eq!(resolve_format(None, true, Format::Toast), Format::Toast);
        assert_eq!(resolve_format(None, true, Format::Line), Format::Line);
        assert_eq!(resolve_format(None, false, Format::Toast), Format::Line);
        assert_eq!(
            resolve_format(Some(Format::Json), true, Format::Toast),
            Format::Json
        );
        let one = OsStr::new("1");
        let empty = OsStr::new("");
        assert!(use_color(ColorChoice::Auto, true, None));
        assert!(use_color(ColorChoice::Auto, true, Some(empty)));
        assert!(!use_color(ColorChoice::Auto, true, Some(one)));
        assert!(!use_color(ColorChoice::Auto, false, None));
        assert!(use_color(ColorChoice::Always, false, Some(one)));
        assert!(!use_color(ColorChoice::Never, true, None));
    }

    #[test]
    fn each_card_takes_the_width_the_terminal_has_then() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static WIDTH: AtomicUsize = AtomicUsize::new(80);
        let m = msg("t", "word ".repeat(30).as_bytes(), false);
        let mut out = Vec::new();
        {
            let mut p = Printer::new(&mut out, Format::Toast, false, 80)
                .measured(|| Some(WIDTH.load(Ordering::Relaxed)));
            p.print(&m).unwrap();
            // The terminal is resized between two messages.
            WIDTH.store(30, Ordering::Relaxed);
            p.print(&m).unwrap();
            p.flush().unwrap();
        }
        let out = String::from_utf8(out).unwrap();
        let cards: Vec<&str> = out.split_inclusive("╰─\n").collect();
        let widest = |card: &str| card.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest(cards[0]) > 30, "{out}");
        assert!(widest(cards[1]) <= 30, "{out}");
    }

    #[test]
    fn machine_formats_never_carry_escape_codes() {
        for format in [Format::Line, Format::Json, Format::Raw] {
            for m in [
                msg("t", b"{\"a\":1}", false),
                msg("t", &[0x1b, 0, 255], true),
            ] {
                let out = render(format, true, 80, &m);
                assert!(
                    !out.contains(&0x1b) || format == Format::Raw && m.binary,
                    "{format:?}"
                );
            }
        }
    }
}
