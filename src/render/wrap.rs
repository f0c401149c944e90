//! Display columns and word wrapping, for cards.
//!
//! A terminal moves its cursor by display columns, not by `char`s: a CJK
//! ideograph or an emoji takes two, a combining mark or a zero-width joiner
//! none. Counting `char`s let CJK and emoji lines run past the edge, where
//! the terminal wrapped them onto the next row without the card's border.
//! Here text is cut into *clusters* (what a terminal draws as one glyph, or
//! a few side by side), each measured with unicode-width, and laid out in
//! rows of at most the width, broken at spaces where a word fits, inside a
//! word only when it is longer than a whole row. A row that continues a
//! line starts further in than the line (a hanging indent), so a wrapped
//! line is not mistaken for a new one.
//!
//! Control characters never reach the terminal: they are shown as `\xNN`
//! (as `-o line` shows them on a terminal), and tabs become spaces up to
//! the next tab stop, so every column is accounted for.

use std::fmt::Write;
use std::ops::Range;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Tab stops every 8 columns, as terminals set them.
const TAB: usize = 8;

const ZWJ: char = '\u{200d}';

/// A styled piece of text. The style is the caller's (the card's colours).
pub type Piece<S> = (String, S);

/// One row of output: `indent` spaces, then the pieces.
#[derive(Debug, PartialEq)]
pub struct Row<S> {
    pub indent: usize,
    pub pieces: Vec<Piece<S>>,
}

/// The display columns of `s`, as rows are measured (see [`cluster_width`]).
/// `s` must hold no control characters or tabs (JSON text, escaped).
pub fn width(s: &str) -> usize {
    clusters(s).map(cluster_width).sum()
}

/// Lay a line of styled pieces out in rows of at most `width` columns.
/// Continuation rows start `hang` columns further in than the line's own
/// leading spaces, but never past half the width. Spaces where a row breaks
/// are dropped, and so are those at the end of the line.
pub fn wrap<S: Copy + PartialEq>(line: &[Piece<S>], width: usize, hang: usize) -> Vec<Row<S>> {
    let width = width.max(1);
    let mut text = String::new();
    // No cluster is wider than a continuation row has room for (half the
    // width at least): a longer one is split into its characters.
    let atoms = atoms(line, width / 2, &mut text);
    let lead = atoms.iter().take_while(|a| a.space).count();
    let hang = (lead + hang).min(width / 2);

    let mut rows = Vec::new();
    let mut row = Building::new(0);
    let mut i = 0;
    while i < atoms.len() {
        // A run of spaces, then a word.
        let spaces = i;
        while i < atoms.len() && atoms[i].space {
            i += 1;
        }
        let word = i;
        while i < atoms.len() && !atoms[i].space {
            i += 1;
        }
        if word == i {
            break;
        }
        let gap = word - spaces;
        let ww: usize = atoms[word..i].iter().map(|a| a.width).sum();
        if row.used + gap + ww <= width {
            row.push(&atoms, spaces..i);
        } else if row.ink && ww <= width - hang {
            rows.push(row.done());
            row = Building::new(hang);
            row.push(&atoms, word..i);
        } else if !row.ink && ww <= width.saturating_sub(row.used) {
            // The line's own indent leaves no room for its first word:
            // keep as much of the indent as does.
            let keep = gap.min(width.saturating_sub(row.used + ww));
            row.push(&atoms, word - keep..i);
        } else {
            // Longer than a row: start it here, break it where rows end.
            if row.used + gap < width {
                row.push(&atoms, spaces..word);
            }
            for a in word..i {
                if row.ink && row.used + atoms[a].width > width {
                    rows.push(row.done());
                    row = Building::new(hang);
                }
                row.push(&atoms, a..a + 1);
            }
        }
    }
    rows.push(row.done());
    rows.into_iter()
        .map(|(indent, atoms)| Row {
            indent,
            pieces: pieces(&text, atoms),
        })
        .collect()
}

/// A cluster, a space or an escaped control character: a range of the
/// laid-out text and the columns it takes.
struct Atom<S> {
    text: Range<usize>,
    width: usize,
    style: S,
    space: bool,
}

/// A row being filled.
struct Building<'a, S> {
    indent: usize,
    used: usize,
    /// Something other than spaces is on the row.
    ink: bool,
    atoms: Vec<&'a Atom<S>>,
}

impl<'a, S> Building<'a, S> {
    fn new(indent: usize) -> Self {
        Building {
            indent,
            used: indent,
            ink: false,
            atoms: Vec::new(),
        }
    }

    fn push(&mut self, atoms: &'a [Atom<S>], range: Range<usize>) {
        for a in &atoms[range] {
            self.used += a.width;
            self.ink |= !a.space;
            self.atoms.push(a);
        }
    }

    fn done(self) -> (usize, Vec<&'a Atom<S>>) {
        (self.indent, self.atoms)
    }
}

/// Adjacent atoms of one style joined into one piece.
fn pieces<S: Copy + PartialEq>(text: &str, atoms: Vec<&Atom<S>>) -> Vec<Piece<S>> {
    let mut out: Vec<Piece<S>> = Vec::new();
    for a in atoms {
        let s = &text[a.text.clone()];
        match out.last_mut() {
            Some((last, style)) if *style == a.style => last.push_str(s),
            _ => out.push((s.to_string(), a.style)),
        }
    }
    out
}

/// Cut the line into atoms, writing what is shown (tabs expanded, control
/// characters escaped) into `text`.
fn atoms<S: Copy>(line: &[Piece<S>], widest: usize, text: &mut String) -> Vec<Atom<S>> {
    let mut out = Atoms {
        text,
        atoms: Vec::new(),
        column: 0,
    };
    for (piece, style) in line {
        let mut rest = piece.as_str();
        while let Some(c) = rest.chars().next() {
            if c == ' ' || c == '\t' {
                // Tab stops count from the start of the line.
                let n = if c == ' ' { 1 } else { TAB - out.column % TAB };
                for _ in 0..n {
                    out.push(" ", 1, *style, true);
                }
                rest = &rest[1..];
            } else if c.is_control() {
                let mut escaped = String::with_capacity(4);
                let _ = write!(escaped, "\\x{:02x}", c as u32);
                out.push(&escaped, escaped.len(), *style, false);
                rest = &rest[c.len_utf8()..];
            } else {
                let end = rest
                    .find(|c: char| c == ' ' || c == '\t' || c.is_control())
                    .unwrap_or(rest.len());
                for cluster in clusters(&rest[..end]) {
                    let w = cluster_width(cluster);
                    if w <= widest {
                        out.push(cluster, w, *style, false);
                    } else {
                        for c in cluster.chars() {
                            let mut buf = [0; 4];
                            let w = c.width().unwrap_or(0);
                            out.push(c.encode_utf8(&mut buf), w, *style, false);
                        }
                    }
                }
                rest = &rest[end..];
            }
        }
    }
    out.atoms
}

struct Atoms<'t, S> {
    text: &'t mut String,
    atoms: Vec<Atom<S>>,
    /// Where the next atom starts, from the start of the line.
    column: usize,
}

impl<S> Atoms<'_, S> {
    fn push(&mut self, s: &str, width: usize, style: S, space: bool) {
        let start = self.text.len();
        self.text.push_str(s);
        self.atoms.push(Atom {
            text: start..self.text.len(),
            width,
            style,
            space,
        });
        self.column += width;
    }
}

/// Split text into clusters: a character with what joins it, which no row
/// may break apart: marks and other zero-width characters (combining
/// accents, variation selectors, tags), an emoji's skin-tone modifier, what
/// follows a zero-width joiner, and the second regional indicator of a
/// flag. A rule-of-thumb segmentation rather than all of UAX #29: it only
/// has to keep a break from falling inside what a terminal draws together.
fn clusters(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let mut chars = rest.char_indices();
        let (_, first) = chars.next()?;
        let mut prev = first;
        let mut indicators = usize::from(is_regional_indicator(first));
        let mut end = rest.len();
        for (i, c) in chars {
            let flag = is_regional_indicator(c) && indicators == 1;
            let joins = prev == ZWJ || c.width() == Some(0) || is_emoji_modifier(c) || flag;
            if !joins {
                end = i;
                break;
            }
            indicators += usize::from(is_regional_indicator(c));
            prev = c;
        }
        let (cluster, tail) = rest.split_at(end);
        rest = tail;
        Some(cluster)
    })
}

/// The columns a cluster may take: unicode-width's answer for the whole
/// sequence or the sum of its characters', whichever is larger. Terminals
/// disagree on sequences: a ZWJ family is one 2-column glyph in one, its
/// three people side by side (6 columns) in another (tmux among them); an
/// emoji presentation sequence (`❤️`) is 2 columns here and 1 there.
/// Counting the larger never runs past the edge; where the terminal draws
/// less, the row just ends a little early.
fn cluster_width(cluster: &str) -> usize {
    let sum: usize = cluster.chars().map(|c| c.width().unwrap_or(0)).sum();
    sum.max(cluster.width())
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1f1e6}'..='\u{1f1ff}').contains(&c)
}

fn is_emoji_modifier(c: char) -> bool {
    ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Vec<Piece<()>> {
        vec![(s.to_string(), ())]
    }

    /// Each row as text, its indent included.
    fn rows(s: &str, width: usize, hang: usize) -> Vec<String> {
        wrap(&plain(s), width, hang)
            .into_iter()
            .map(|r| {
                let text: String = r.pieces.into_iter().map(|(t, ())| t).collect();
                " ".repeat(r.indent) + &text
            })
            .collect()
    }

    #[test]
    fn widths_are_display_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本語"), 6);
        assert_eq!(width("e\u{301}"), 1, "a combining accent takes no column");
        assert_eq!(width("🇫🇷"), 2, "a flag is one glyph");
        assert_eq!(width("👍🏽"), 4, "skin tone: 2 where drawn together, 4 apart");
        // A ZWJ family: 2 columns where the terminal joins it, 6 where it
        // does not; the larger is counted.
        assert_eq!(width("👨\u{200d}👩\u{200d}👧"), 6);
        assert_eq!(width("❤\u{fe0f}"), 2, "emoji presentation");
    }

    #[test]
    fn sequences_are_never_split() {
        assert_eq!(
            clusters("a👨\u{200d}👩🇫🇷🇩🇪e\u{301}").collect::<Vec<_>>(),
            ["a", "👨\u{200d}👩", "🇫🇷", "🇩🇪", "e\u{301}"]
        );
    }

    #[test]
    fn words_wrap_at_spaces_with_a_hanging_indent() {
        assert_eq!(
            rows("the quick brown fox jumps over", 12, 2),
            ["the quick", "  brown fox", "  jumps over"]
        );
        // The line's own indent, plus the hang.
        assert_eq!(rows("  one two three", 10, 2), ["  one two", "    three"]);
    }

    #[test]
    fn a_word_longer_than_a_row_is_broken_inside() {
        assert_eq!(rows("ab cdefghijkl", 6, 2), ["ab cde", "  fghi", "  jkl"]);
        assert_eq!(rows("日本語日本語", 5, 0), ["日本", "語日", "本語"]);
    }

    #[test]
    fn tabs_go_to_the_next_stop_and_controls_are_escaped() {
        assert_eq!(rows("a\tb", 40, 2), ["a       b"]);
        assert_eq!(rows("ab\t\tc", 40, 2), ["ab              c"]);
        assert_eq!(rows("\x1b[31mred\x07", 40, 2), ["\\x1b[31mred\\x07"]);
        assert_eq!(rows("\u{9b}2J", 40, 2), ["\\x9b2J"]);
    }

    #[test]
    fn a_deep_indent_gives_way_to_the_word() {
        assert_eq!(rows("        abcdefgh", 10, 2), ["  abcdefgh"]);
    }

    #[test]
    fn styles_survive_a_break() {
        let line = vec![("key ".to_string(), 1), ("a long value".to_string(), 2)];
        let out = wrap(&line, 9, 2);
        assert_eq!(
            out,
            [
                Row {
                    indent: 0,
                    pieces: vec![("key ".into(), 1), ("a".into(), 2)]
                },
                Row {
                    indent: 2,
                    pieces: vec![("long".into(), 2)]
                },
                Row {
                    indent: 2,
                    pieces: vec![("value".into(), 2)]
                },
            ]
        );
    }
}
