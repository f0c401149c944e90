//! The `pubcat` binary: all of it is in the library (`pubcat::app`).

fn main() -> std::process::ExitCode {
    pubcat::app::main()
}
