//! The Python side of the comparisons (issue 9, parts 4 and 5): the bench venv that
//! `benches/python/setup.sh` makes (pinned llama-cpp-python and Glances), and
//! llama-cpp-python kept loaded in a child process (`benches/python/prototype.py`), driven the
//! way the prototype drove it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::sidebyside::Sample;

/// The one command that sets the comparison stacks up.
pub const SETUP_COMMAND: &str = "bash benches/python/setup.sh";

/// The bench venv: `--venv`, else `$MAC_STATUS_BENCH_VENV`, else
/// `${XDG_CACHE_HOME:-~/.cache}/mac-status/bench-venv` (where `setup.sh` puts it).
pub fn venv_dir(arg: Option<&Path>) -> PathBuf {
    if let Some(p) = arg {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("MAC_STATUS_BENCH_VENV") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("mac-status").join("bench-venv")
}

/// What `setup.sh` wrote once the venv was complete.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VenvInfo {
    pub python: String,
    pub llama_cpp_python: String,
    pub glances: String,
    pub cmake_args: String,
    /// `name==version` of everything in the venv.
    #[serde(default)]
    pub packages: Vec<String>,
}

/// The venv's versions; `None` when `setup.sh` has not finished there.
pub fn venv_info(dir: &Path) -> Option<VenvInfo> {
    if !dir.join("bin/python").is_file() {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("mac-status-bench.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// llama-cpp-python, kept loaded in a child process.
pub struct Prototype {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub system_info: String,
    pub load_ms: f64,
}

#[derive(Deserialize)]
struct PyAnswer {
    error: Option<String>,
    #[serde(default)]
    ttft_ms: f64,
    #[serde(default)]
    tokens: u32,
    #[serde(default)]
    tokens_per_s: f64,
    #[serde(default)]
    total_ms: f64,
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    reused_tokens: u32,
    #[serde(default)]
    threads: u32,
}

impl Prototype {
    pub fn start(
        venv: &Path,
        model: &Path,
        n_ctx: u32,
        n_batch: u32,
        threads: u32,
    ) -> Result<Self> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/prototype.py");
        let mut child = Command::new(venv.join("bin/python"))
            .arg(&script)
            .arg("--model")
            .arg(model)
            .args(["--n-ctx", &n_ctx.to_string()])
            .args(["--n-batch", &n_batch.to_string()])
            .args(["--threads", &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?;
        let stdin = child.stdin.take().context("child stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("child stdout")?);
        let mut p = Prototype {
            child,
            stdin,
            stdout,
            system_info: String::new(),
            load_ms: 0.0,
        };
        let ready: serde_json::Value = serde_json::from_str(&p.line()?)?;
        p.system_info = ready["system_info"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned();
        p.load_ms = ready["load_ms"].as_f64().unwrap_or(f64::NAN);
        Ok(p)
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!(
                "llama-cpp-python's process ended ({:?})",
                self.child.try_wait()
            );
        }
        Ok(line)
    }

    pub fn ask(
        &mut self,
        prompt: &str,
        max_tokens: u32,
        temperature: f32,
        threads: u32,
    ) -> Result<Sample> {
        let req = serde_json::json!({
            "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
            "threads": threads,
        });
        writeln!(self.stdin, "{req}")?;
        self.stdin.flush()?;
        let a: PyAnswer = serde_json::from_str(&self.line()?)?;
        if let Some(e) = a.error {
            bail!("llama-cpp-python: {e}");
        }
        Ok(Sample {
            ttft_ms: a.ttft_ms,
            tokens_per_s: (a.tokens > 1).then_some(a.tokens_per_s),
            total_ms: a.total_ms,
            tokens: a.tokens,
            prompt_tokens: a.prompt_tokens,
            reused_tokens: a.reused_tokens,
            threads: a.threads,
            engine_ttft_ms: None,
        })
    }
}

impl Drop for Prototype {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_venv_is_ready_only_once_setup_finished() {
        let dir = std::env::temp_dir().join(format!("mac-status-venv-{}", std::process::id()));
        assert_eq!(venv_dir(Some(&dir)), dir, "--venv wins");
        assert!(
            venv_dir(None).ends_with("mac-status/bench-venv")
                || std::env::var_os("MAC_STATUS_BENCH_VENV").is_some()
        );
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/python"), "").unwrap();
        assert!(venv_info(&dir).is_none(), "no mac-status-bench.json yet");
        std::fs::write(
            dir.join("mac-status-bench.json"),
            r#"{"python":"3.11.7","llama_cpp_python":"0.3.36","glances":"4.5.8","cmake_args":"-DGGML_NATIVE=OFF"}"#,
        )
        .unwrap();
        let info = venv_info(&dir).expect("ready");
        assert_eq!(
            (info.llama_cpp_python.as_str(), info.glances.as_str()),
            ("0.3.36", "4.5.8")
        );
        assert!(info.packages.is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
