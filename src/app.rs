//! The program: parse the command line, run the command, map the result to
//! an exit code. `main.rs` only calls [`main`], so that everything else can
//! stay private to the crate and the compiler reports what is dead.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::commands;
use crate::error::{Error, Kind, Outcome};
use crate::shutdown::Interrupt;

/// Run pubcat with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse_args();
    crate::log::set_level(if cli.global.quiet {
        -1
    } else {
        cli.global.verbose.min(2) as i8
    });

    // A client is one connection: a single-threaded runtime is the fastest
    // for it. The broker serves many and bench drives many, so they get
    // every core.
    let runtime = match &cli.command {
        Command::Serve(_) | Command::Bench(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            return fail(&Error::local(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for the stdin reader thread, which may sit in a read.
    runtime.shutdown_background();
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(Kind::Interrupted.code()),
        Err(e) if e.kind == Kind::Interrupted => ExitCode::from(Kind::Interrupted.code()),
        Err(e) if e.kind == Kind::OutputClosed => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn run(cli: Cli) -> Result<Outcome, Error> {
    let global = cli.global;
    match cli.command {
        Command::Publish(args) => commands::publish::run(&global, args, Interrupt::install()).await,
        Command::Subscribe(args) => {
            commands::subscribe::run(&global, args, Interrupt::install()).await
        }
        Command::Serve(args) => {
            commands::serve::run(args, &global, Interrupt::install_with_hangup()).await
        }
        Command::Connect(args) => commands::connect::run(&global, args, Interrupt::install()).await,
        Command::Request(args) => {
            commands::request::request(&global, args, Interrupt::install()).await
        }
        Command::Reply(args) => commands::request::reply(&global, args, Interrupt::install()).await,
        Command::Tail(args) => commands::tail::run(&global, args, Interrupt::install()).await,
        Command::Bench(args) => commands::bench::run(&global, *args, Interrupt::install()).await,
        Command::Completions(args) => commands::completions::run(&args).map(|()| Outcome::Done),
        Command::Man { command } => {
            commands::completions::man(command.as_deref()).map(|()| Outcome::Done)
        }
    }
}

fn fail(e: &Error) -> ExitCode {
    crate::log::line(format_args!("pubcat: error: {e}"));
    e.exit_code()
}
