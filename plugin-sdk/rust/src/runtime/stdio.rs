//! The process's stdout: the protocol takes a private copy, so nothing else can write into the
//! frame stream by accident.

use std::io::Write;

/// The stream frames are written to. With `redirect` (Unix), file descriptor 1 is
/// duplicated for the SDK and then pointed at stderr, so nothing else can write frames'
/// stdout by accident.
pub(crate) fn protocol_stdout(redirect: bool) -> Box<dyn Write + Send> {
    let _ = std::io::stdout().flush();
    #[cfg(unix)]
    if redirect {
        if let Some(f) = unix::take_stdout() {
            return Box::new(f);
        }
    }
    let _ = redirect;
    Box::new(std::io::stdout())
}

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::os::raw::c_int;
    use std::os::unix::io::FromRawFd;

    extern "C" {
        fn dup(fd: c_int) -> c_int;
        fn dup2(src: c_int, dst: c_int) -> c_int;
        fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
        fn close(fd: c_int) -> c_int;
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const F_DUPFD_CLOEXEC: c_int = 1030;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    const F_DUPFD_CLOEXEC: c_int = 67;
    #[cfg(target_os = "freebsd")]
    const F_DUPFD_CLOEXEC: c_int = 17;

    /// A private, close-on-exec copy of stdout; fd 1 then points at stderr.
    pub fn take_stdout() -> Option<File> {
        // SAFETY: plain fd syscalls on descriptors this process owns; the new descriptor is
        // owned by the returned File and nothing else.
        unsafe {
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd"
            ))]
            let fd = fcntl(1, F_DUPFD_CLOEXEC, 3 as c_int);
            #[cfg(not(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd"
            )))]
            let fd = {
                let _ = fcntl;
                dup(1)
            };
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd"
            ))]
            let _ = dup;
            if fd < 0 {
                return None;
            }
            if dup2(2, 1) < 0 {
                close(fd);
                return None;
            }
            Some(File::from_raw_fd(fd))
        }
    }
}
