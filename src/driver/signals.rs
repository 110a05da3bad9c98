//! SIGTERM / SIGINT / SIGHUP as readable events of the poll loop, through a `signalfd`.
//!
//! The signals are blocked for the process and read from a file descriptor registered with mio,
//! so a signal is handled between two loop iterations like any other event: no handler runs in
//! the middle of a state machine, and nothing needs to be async-signal-safe.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT: finish in-flight work up to a deadline, write state, exit.
    Stop,
    /// SIGHUP: reload the configuration.
    Reload,
}

pub struct Signals {
    fd: OwnedFd,
}

impl Signals {
    /// Blocks SIGTERM, SIGINT and SIGHUP for this (single-threaded) process and opens a
    /// non-blocking signalfd for them.
    pub fn new() -> io::Result<Signals> {
        // SAFETY: plain libc calls on a zeroed, locally owned sigset; the returned fd is checked
        // and immediately owned by an OwnedFd.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGHUP);
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Signals {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// Reads one pending signal, if any.
    pub fn read(&self) -> io::Result<Option<Signal>> {
        loop {
            // SAFETY: reading into a zeroed signalfd_siginfo of exactly the size the kernel writes.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(e),
                };
            }
            if n as usize != size {
                return Ok(None);
            }
            return Ok(match info.ssi_signo as i32 {
                libc::SIGHUP => Some(Signal::Reload),
                libc::SIGTERM | libc::SIGINT => Some(Signal::Stop),
                _ => None,
            });
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_sighup_is_read_as_reload() {
        let s = Signals::new().unwrap();
        // SAFETY: raising a signal that is blocked for this thread only queues it.
        // (The test harness runs tests on threads; the mask is per thread, and raise() targets
        // the calling thread, so this does not disturb other tests.)
        unsafe { libc::raise(libc::SIGHUP) };
        assert_eq!(s.read().unwrap(), Some(Signal::Reload));
        assert_eq!(s.read().unwrap(), None);
    }
}
