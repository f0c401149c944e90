//! A pseudo-terminal for the child's stderr (or stdout), so tests can see
//! what pubcat writes only to a terminal; [`controlling`] makes it the
//! child's controlling terminal too, its `/dev/tty`. libc's posix_openpt,
//! as the tests already use libc: no crate for twenty lines, and no
//! `script(1)`, whose flags differ between util-linux and the BSDs and
//! which would put the child's stdout and stderr on the one terminal.

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A terminal: give [`Pty::take_terminal`] to the child, read what it
/// wrote with [`Pty::text`].
pub struct Pty {
    terminal: Option<File>,
    /// The controller side, to type on.
    keyboard: File,
    written: Arc<Mutex<Written>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// What the child wrote, and when each piece of it was read.
#[derive(Default)]
struct Written {
    bytes: Vec<u8>,
    /// The length of `bytes` after each read, and when that read returned.
    reads: Vec<(usize, Instant)>,
}

impl Pty {
    pub fn open() -> Pty {
        // SAFETY: plain calls on a descriptor we own; the name is read
        // into a buffer we own, NUL-terminated by ptsname_r on success.
        let (controller, path) = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            assert_eq!(libc::grantpt(fd), 0, "grantpt");
            assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            let path = CStr::from_ptr(name.as_ptr()).to_str().unwrap().to_owned();
            (File::from_raw_fd(fd), path)
        };
        let terminal = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)
            .unwrap();
        // 80x24, as a terminal window: a size of 0 is none at all.
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the winsize we own.
        unsafe { libc::ioctl(controller.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        let keyboard = controller.try_clone().unwrap();
        let written = Arc::new(Mutex::new(Written::default()));
        let sink = written.clone();
        let reader = std::thread::spawn(move || {
            let mut controller = controller;
            let mut buf = [0u8; 4096];
            // Ends with EIO once every copy of the terminal side is closed.
            while let Ok(n @ 1..) = controller.read(&mut buf) {
                let mut written = sink.lock().unwrap();
                written.bytes.extend_from_slice(&buf[..n]);
                let len = written.bytes.len();
                written.reads.push((len, Instant::now()));
            }
        });
        Pty {
            terminal: Some(terminal),
            keyboard,
            written,
            reader: Some(reader),
        }
    }

    /// The terminal side, to hand to a child (`Stdio::from`). Drop the
    /// `Command` after spawning it, so that the child holds the last copy.
    pub fn take_terminal(&mut self) -> File {
        self.terminal
            .take()
            .expect("the terminal was taken already")
    }

    /// Type `keys` at the terminal (\r is Enter, \x04 Ctrl-D).
    pub fn type_keys(&self, keys: &str) {
        (&self.keyboard).write_all(keys.as_bytes()).unwrap();
    }

    /// What was written to the terminal so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.written.lock().unwrap().bytes).to_string()
    }

    /// Wait (bounded) until the terminal shows `needle`: false if it
    /// never does, so the caller can stop its child before failing.
    pub fn shows(&self, needle: &str) -> bool {
        self.shown_at(needle).is_some()
    }

    /// [`Pty::shows`], answering when the read that brought the end of
    /// `needle`'s first appearance returned: the time it was written, give
    /// or take the reader thread's wake-up, whenever this is asked.
    pub fn shown_at(&self, needle: &str) -> Option<Instant> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let written = self.written.lock().unwrap();
                if let Some(at) = find(&written.bytes, needle.as_bytes()) {
                    let end = at + needle.len();
                    let read = written.reads.iter().find(|(len, _)| *len >= end);
                    return read.map(|(_, when)| *when);
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything written, once the child that had the terminal exited.
    pub fn finish(mut self) -> String {
        drop(self.terminal.take());
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.text()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Make the terminal `cmd`'s controlling terminal, so that `/dev/tty` is
/// it: the child starts a session of its own (setsid), then takes its
/// stderr, which must be the terminal, as the session's (TIOCSCTTY).
pub fn controlling(cmd: &mut Command) {
    // SAFETY: only setsid(2) and ioctl(2) run between fork and exec, both
    // async-signal-safe, on the child's own descriptor.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(2, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Start `cmd` in a session of its own with no controlling terminal (as
/// under CI, or a service): `/dev/tty` cannot be opened.
pub fn without_terminal(cmd: &mut Command) {
    // SAFETY: only setsid(2) runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
