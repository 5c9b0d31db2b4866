//! `cargo xtask build`: the release site and host, as `cargo leptos build --release --precompress`
//! makes them, from the same `[[workspace.metadata.leptos]]` settings, but with the tools setup
//! installs anyway (`wasm-bindgen`, `wasm-opt`) instead of cargo-leptos, which alone took 22 of
//! the 36 minutes from a fresh machine to a running dashboard. `cargo leptos watch` stays the way
//! to develop (`scripts/setup.sh --dev` installs it).
//!
//! Steps: the app's WASM (`--features hydrate`, the `wasm-release` profile, `target/front` as
//! cargo-leptos uses, so their caches are shared) → `wasm-bindgen --target web` → `wasm-opt -Oz`
//! → `terser` on the JS glue → `pkg/{name}.js|wasm|css` and the assets in the site root → a
//! brotli and a gzip copy of every file → the host binary.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

/// The settings cargo-leptos reads, under the names it reads them by.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Leptos {
    output_name: String,
    site_root: PathBuf,
    site_pkg_dir: PathBuf,
    style_file: PathBuf,
    assets_dir: PathBuf,
    lib_package: String,
    bin_package: String,
    #[serde(default)]
    lib_features: Vec<String>,
    #[serde(default)]
    lib_default_features: bool,
    #[serde(default = "release")]
    lib_profile_release: String,
}

fn release() -> String {
    "release".into()
}

#[derive(Deserialize)]
struct Manifest {
    workspace: Workspace,
}

#[derive(Deserialize)]
struct Workspace {
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    leptos: Vec<Leptos>,
}

/// The workspace root: where this crate's parent folder is.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn settings(root: &Path) -> Result<Leptos> {
    let text = fs::read_to_string(root.join("Cargo.toml"))?;
    let manifest: Manifest = toml::from_str(&text).context("[[workspace.metadata.leptos]]")?;
    manifest
        .workspace
        .metadata
        .leptos
        .into_iter()
        .next()
        .context("no [[workspace.metadata.leptos]] entry")
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown} (run scripts/setup.sh first)"))?;
    ensure!(status.success(), "{shown} failed: {status}");
    Ok(())
}

fn step(what: &str, t: Instant) {
    eprintln!("xtask: {what} ({:.1} s)", t.elapsed().as_secs_f64());
}

/// The WASM, its JS glue, the CSS and the assets, in the site folder.
fn site(root: &Path, s: &Leptos) -> Result<()> {
    let t = Instant::now();
    let site = root.join(&s.site_root);
    let pkg = site.join(&s.site_pkg_dir);
    let front = root.join("target/front");
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(root)
        .args(["build", "--package", &s.lib_package, "--lib"])
        .args(["--target", "wasm32-unknown-unknown"])
        .arg(format!("--profile={}", s.lib_profile_release))
        .arg("--target-dir")
        .arg(&front);
    if !s.lib_default_features {
        cargo.arg("--no-default-features");
    }
    if !s.lib_features.is_empty() {
        cargo.arg(format!("--features={}", s.lib_features.join(",")));
    }
    run(&mut cargo)?;
    step("WASM built", t);

    let wasm_in = front
        .join("wasm32-unknown-unknown")
        .join(&s.lib_profile_release)
        .join(format!("{}.wasm", s.lib_package.replace('-', "_")));
    // Files of an older build (another tool's, or renamed ones) must not linger and be served.
    if pkg.exists() {
        fs::remove_dir_all(&pkg)?;
    }
    fs::create_dir_all(&pkg)?;
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-name"])
        .arg(&s.output_name)
        .arg("--out-dir")
        .arg(&pkg)
        .arg(&wasm_in))?;
    // As cargo-leptos names it: the page loads `/pkg/{name}.wasm`.
    let wasm = pkg.join(format!("{}.wasm", s.output_name));
    fs::rename(pkg.join(format!("{}_bg.wasm", s.output_name)), &wasm)?;
    step("wasm-bindgen", t);
    run(Command::new("wasm-opt")
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
        ])
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))?;
    step("wasm-opt -Oz", t);
    minify(&pkg.join(format!("{}.js", s.output_name)))?;
    step("terser", t);

    fs::copy(
        root.join(&s.style_file),
        pkg.join(format!("{}.css", s.output_name)),
    )?;
    copy_dir(&root.join(&s.assets_dir), &site)?;
    let (files, raw, br) = precompress(&site)?;
    step(
        &format!(
            "{files} files precompressed: {:.0} KB, {:.0} KB as brotli",
            raw as f64 / 1e3,
            br as f64 / 1e3
        ),
        t,
    );
    Ok(())
}

/// Minifies the JS glue in place (`terser`, which `scripts/setup.sh` installs): a quarter of its
/// brotli size. The exports keep their names (`--module`). Without terser it stays as it is.
fn minify(js: &Path) -> Result<()> {
    let mut cmd = Command::new("terser");
    cmd.arg(js)
        .args(["--module", "--compress", "--mangle", "--output"])
        .arg(js);
    match cmd.status() {
        Ok(status) => {
            ensure!(status.success(), "{cmd:?} failed: {status}");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("xtask: terser not found (scripts/setup.sh installs it): the JS glue is left unminified");
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("cannot start {cmd:?}")),
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Writes `F.br` and `F.gz` beside every file `F` of `dir` (the host serves them as they are);
/// stale copies of a file that changed are replaced. Returns (files, bytes, brotli bytes).
fn precompress(dir: &Path) -> Result<(usize, u64, u64)> {
    let mut totals = (0, 0, 0);
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            let (f, r, b) = precompress(&path)?;
            totals = (totals.0 + f, totals.1 + r, totals.2 + b);
            continue;
        }
        if matches!(path.extension().and_then(OsStr::to_str), Some("br" | "gz")) {
            continue;
        }
        let data = fs::read(&path)?;
        let mut br = Vec::new();
        {
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params)?;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data)?;
        let gz = gz.finish()?;
        let with = |ext: &str| {
            let mut p = path.clone().into_os_string();
            p.push(ext);
            PathBuf::from(p)
        };
        fs::write(with(".br"), &br)?;
        fs::write(with(".gz"), &gz)?;
        totals = (
            totals.0 + 1,
            totals.1 + data.len() as u64,
            totals.2 + br.len() as u64,
        );
    }
    Ok(totals)
}

/// The host binary, with the site just built inside it: server/build.rs embeds the workspace's
/// `target/site` by default (no `MAC_STATUS_SITE` here, so a later `cargo test` does not rerun
/// the build script and rebuild the host for a changed variable).
fn host(root: &Path, s: &Leptos) -> Result<()> {
    let t = Instant::now();
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(root)
            .args(["build", "--release", "--package", &s.bin_package]),
    )?;
    step("host built", t);
    Ok(())
}

fn main() -> Result<()> {
    let root = root();
    let s = settings(&root)?;
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "site" => site(&root, &s),
        "build" => {
            site(&root, &s)?;
            host(&root, &s)
        }
        _ => bail!(
            "usage: cargo xtask build   (the release site in {} and the host)\n       \
             cargo xtask site    (the site only)",
            s.site_root.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_settings_cargo_leptos_reads() {
        let s = settings(&root()).unwrap();
        assert_eq!(s.output_name, "mac-status");
        assert_eq!(s.lib_package, "app");
        assert_eq!(s.bin_package, "mac-status");
        assert_eq!(s.lib_features, ["hydrate"]);
        assert!(!s.lib_default_features);
        assert_eq!(s.lib_profile_release, "wasm-release");
        assert!(root().join(&s.style_file).is_file());
        assert!(root().join(&s.assets_dir).is_dir());
    }

    #[test]
    fn precompressed_copies_decompress_to_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("pkg")).unwrap();
        let body = "body { color: red }\n".repeat(200);
        fs::write(dir.join("pkg/a.css"), &body).unwrap();
        let (files, raw, br) = precompress(&dir).unwrap();
        assert_eq!((files, raw), (1, body.len() as u64));
        assert!(br < raw / 10, "repetitive text compresses: {br}");
        let mut out = Vec::new();
        brotli::BrotliDecompress(
            &mut fs::read(dir.join("pkg/a.css.br")).unwrap().as_slice(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, body.as_bytes());
        let mut gz = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(fs::File::open(dir.join("pkg/a.css.gz")).unwrap()),
            &mut gz,
        )
        .unwrap();
        assert_eq!(gz, body);
        // Run again: the copies are not compressed themselves.
        assert_eq!(precompress(&dir).unwrap().0, 1);
        fs::remove_dir_all(dir).unwrap();
    }
}
