//! `pubcat completions SHELL` and the hidden `pubcat man`.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};

pub fn run(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "pubcat", &mut out);
    write_stdout(&out)
}

/// pubcat(1), or `command`'s own page, pubcat-COMMAND(1), from the same
/// definitions as `--help`.
pub fn man(command: Option<&str>) -> Result<()> {
    let mut cli = Cli::command();
    // Built, so that each subcommand has its global flags and its
    // `pubcat-NAME` display name.
    cli.build();
    let page = match command {
        None => cli,
        // Every subcommand the help lists has a page (`man` itself not).
        Some(name) => match cli.find_subcommand(name).filter(|s| !s.is_hide_set()) {
            Some(sub) => sub.clone(),
            None => {
                let pages: Vec<&str> = cli
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(|s| s.get_name())
                    .collect();
                let pages = pages.join(", ");
                return Err(Error::usage(format!(
                    "no man page for `{name}`: there are {pages}"
                )));
            }
        },
    };
    // clap_mangen fills the examples like prose (and garbles their
    // columns): they go in a section of their own, as written.
    let examples = page
        .get_after_long_help()
        .or_else(|| page.get_after_help())
        .map(|text| text.to_string());
    let page = page.after_help(None::<&str>).after_long_help(None::<&str>);
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .source(concat!("pubcat ", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| Error::local(format!("rendering the man page: {e}")))?;
    if let Some(text) = examples {
        out.extend_from_slice(verbatim_section(&text).as_bytes());
    }
    write_stdout(&out)
}

/// `text` (the examples and exit codes after `--help`) as a roff section
/// printed line for line: the examples under EXAMPLES, the paragraphs
/// after them as they are.
fn verbatim_section(text: &str) -> String {
    let mut roff = String::from(".SH EXAMPLES\n.nf\n");
    for line in text.lines() {
        if line == "Examples:" || line == "Example:" {
            continue;
        }
        let line = line
            .trim_start_matches("  ")
            .replace('\\', "\\e")
            .replace('-', "\\-");
        if line.starts_with(['.', '\'']) {
            roff.push_str("\\&");
        }
        roff.push_str(&line);
        roff.push('\n');
    }
    roff.push_str(".fi\n");
    roff
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::local(format!("writing to stdout: {e}")))
}
