//! The "my Mac is slow" condition: busy cores kept busy by children of this benchmark.
//!
//! Each child is this binary re-run with the hidden `--burn` flag: a spin loop that also
//! exits on its own once its parent is gone, so even a Ctrl-C or a `kill -9` of the bench
//! leaves no spinning process behind; [`Burners`] kills them on every ordinary exit path
//! (return, `?`, panic) through `Drop`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Spinning children; killed and reaped on drop.
pub struct Burners(Vec<Child>);

impl Burners {
    /// Starts `n` spinning processes (each keeps one core busy).
    pub fn start(n: usize) -> Result<Burners> {
        let exe = std::env::current_exe().context("the bench's own path")?;
        let mut burners = Burners(Vec::with_capacity(n));
        for _ in 0..n {
            let child = Command::new(&exe)
                .arg("--burn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .context("starting a burner")?;
            burners.0.push(child);
        }
        // Let the scheduler see them as busy before anything is timed.
        std::thread::sleep(Duration::from_millis(500));
        Ok(burners)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The child's side of `--burn`: spin until the parent that started us is gone.
pub fn burn() -> ! {
    let parent = std::os::unix::process::parent_id();
    let mut x: u64 = 1;
    let mut checked = Instant::now();
    loop {
        // Busy arithmetic the optimizer cannot drop.
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        if checked.elapsed() > Duration::from_millis(200) {
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
            checked = Instant::now();
        }
    }
}
