//! Running child processes from a bench (stdout and stderr drained as they run, killed when
//! dropped unwaited, passwords masked when shown) and stopping cleanly on Ctrl-C or SIGTERM.
//! Shared by the benches that drive the dbtwin binary; each uses its part.
#![allow(dead_code, reason = "shared by several benches, each using a part of it")]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The processes running now, for the signal handler.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// Set by Ctrl-C or SIGTERM.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn children() -> MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A child process, its stdout and stderr read as it runs; killed if dropped unwaited.
pub struct Running {
    child: Option<Child>,
    shown: String,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Result<Running, String> {
        let shown = show(cmd);
        if interrupted() {
            return Err("interrupted".into());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("failed to run {shown}: {e}"))?;
        children().push(child.id());
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = child.stdout.take().map(|p| drain(Box::new(p)));
        let stderr = child.stderr.take().map(|p| drain(Box::new(p)));
        Ok(Running { child: Some(child), shown, stdout, stderr })
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether it has exited.
    pub fn finished(&mut self) -> Result<bool, String> {
        let child = self.child.as_mut().expect("running until waited");
        child
            .try_wait()
            .map(|s| s.is_some())
            .map_err(|e| format!("failed to run {}: {e}", self.shown))
    }

    /// Waits for it to end: its stdout, or an error with its command and the tail of its stderr.
    pub fn wait(mut self) -> Result<String, String> {
        let mut child = self.child.take().expect("waited once");
        let status = child.wait();
        children().retain(|c| *c != child.id());
        let collect = |h: Option<JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok()).map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let (stdout, stderr) = (collect(self.stdout.take()), collect(self.stderr.take()));
        let status = status.map_err(|e| format!("failed to run {}: {e}", self.shown))?;
        if !status.success() {
            let stderr = stderr.unwrap_or_default();
            let tail: Vec<&str> = stderr.trim_end().lines().rev().take(30).collect();
            let tail: Vec<String> = tail.into_iter().rev().map(|l| format!("    {l}")).collect();
            return Err(format!("`{}` failed ({status})\n{}", self.shown, tail.join("\n")));
        }
        Ok(stdout.unwrap_or_default().trim().to_string())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            children().retain(|c| *c != child.id());
        }
    }
}

/// Runs a command to the end: its stdout, or an error with its stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    Running::spawn(cmd)?.wait()
}

/// A command as it would be typed, its passwords masked (the URLs hold them).
pub fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| mask(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn mask(arg: &str) -> String {
    match (arg.find("://"), arg.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &arg[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &arg[..scheme + 3], &arg[at..]),
                None => arg.to_string(),
            }
        }
        _ => arg.to_string(),
    }
}

/// On Ctrl-C or SIGTERM: stops the processes running now, so the step fails and the bench
/// unwinds through its guards, bringing its environments down. If it has not within a minute,
/// the handler runs `teardown` itself and exits.
pub fn catch_interrupts(teardown: fn()) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the signal handler: {e}"))?;
    let (mut int, mut term) = rt
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })
        .map_err(|e| format!("failed to handle signals: {e}"))?;
    std::thread::spawn(move || {
        rt.block_on(async {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        });
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("interrupted: stopping and tearing down");
        for pid in children().iter() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("the bench did not stop in time; bringing its environments down");
        teardown();
        std::process::exit(130);
    });
    Ok(())
}
