//! Renders the app icons (PWA 192/512, maskable, Apple touch) from the one source image,
//! `public/icon.svg`, so no size is ever drawn by hand. The PNGs are embedded in the binary.
//! Also stamps the build for `mac-status --version`: the git commit and the llama.cpp bindings,
//! and (feature `embed-site`) finds the built site the binary embeds (see [`site::site`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The commit built (`abc123456789`), or `unknown` outside a git checkout (a crate tarball).
/// Uncommitted changes are not flagged: the script reruns only when HEAD moves.
fn git_commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) if !hash.is_empty() => hash,
        _ => "unknown".into(),
    }
}

/// The version of `name` in the workspace's `Cargo.lock` (the llama.cpp it vendors).
fn locked_version(root: &Path, name: &str) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .map(|i| &lock[i + needle.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("unknown")
        .to_string()
}

fn stamp() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in [".git/HEAD", "Cargo.lock"] {
        if root.join(f).exists() {
            println!("cargo:rerun-if-changed={}", root.join(f).display());
        }
    }
    if let Ok(head) = std::fs::read_to_string(root.join(".git/HEAD")) {
        if let Some(r) = head.strip_prefix("ref: ") {
            println!(
                "cargo:rerun-if-changed={}",
                root.join(".git").join(r.trim()).display()
            );
        }
    }
    println!("cargo:rustc-env=MAC_STATUS_GIT={}", git_commit(&root));
    println!(
        "cargo:rustc-env=MAC_STATUS_LLAMA_SYS={}",
        locked_version(&root, "llama-cpp-sys-2")
    );
}

/// The built site to embed (feature `embed-site`).
#[cfg(feature = "embed-site")]
mod site {
    use std::ffi::OsStr;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The file that tells a folder holds a built site (what `cargo xtask site` writes).
    const SITE_MARK: &str = "pkg/mac-status.wasm";

    /// Where the site to embed is: `MAC_STATUS_SITE` (an absolute path: `cargo xtask build`
    /// sets it), else the workspace's `target/site` when built, else built here by the xtask,
    /// so that `cargo install --path server` (or `--git`) gives a complete binary from a bare
    /// checkout. That needs what `scripts/setup.sh` installs: the wasm32 target, the
    /// wasm-bindgen CLI, wasm-opt. Tells rustc the folder to embed as `MAC_STATUS_SITE_DIR`,
    /// with a `.br` and a `.gz` beside every file (made here when the site came without them).
    pub fn site(root: &Path) {
        println!("cargo:rerun-if-env-changed=MAC_STATUS_SITE");
        let site = match std::env::var_os("MAC_STATUS_SITE") {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                assert!(
                    dir.is_absolute() && dir.join(SITE_MARK).is_file(),
                    "MAC_STATUS_SITE={} is not an absolute path to a built site (no {SITE_MARK})",
                    dir.display()
                );
                dir
            }
            None => {
                let dir = root.join("target/site");
                if !dir.join(SITE_MARK).is_file() {
                    build_site(root);
                }
                dir
            }
        };
        println!("cargo:rerun-if-changed={}", site.display());
        let dir = if complete(&site) {
            site
        } else {
            let staged = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("site");
            if staged.exists() {
                std::fs::remove_dir_all(&staged).expect("clear the staged site");
            }
            stage(&site, &staged);
            staged
        };
        println!("cargo:rustc-env=MAC_STATUS_SITE_DIR={}", dir.display());
    }

    /// `cargo xtask site` in a target folder of its own under OUT_DIR (the outer build holds the
    /// lock of its own), without the outer build's flags (they may name another target).
    fn build_site(root: &Path) {
        let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        println!("cargo:warning=no built site in target/site: building it (cargo xtask site)");
        let status = Command::new(cargo)
            .current_dir(root)
            .args([
                "run",
                "--quiet",
                "--profile",
                "xtask",
                "--package",
                "xtask",
                "--",
                "site",
            ])
            .env("CARGO_TARGET_DIR", out.join("xtask-target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("cannot start cargo for the site build");
        assert!(
            status.success() && root.join("target/site").join(SITE_MARK).is_file(),
            "building the site failed ({status}): it needs the wasm32-unknown-unknown target, \
             the wasm-bindgen CLI and wasm-opt (scripts/setup.sh installs them); or set \
             MAC_STATUS_SITE to a built site, or build without the `embed-site` feature"
        );
    }

    fn is_copy(path: &Path) -> bool {
        matches!(path.extension().and_then(OsStr::to_str), Some("br" | "gz"))
    }

    fn with_ext(path: &Path, ext: &str) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    }

    /// Whether every file of `dir` has its `.br` and `.gz` copy beside it.
    fn complete(dir: &Path) -> bool {
        std::fs::read_dir(dir).expect("read the site").all(|e| {
            let path = e.expect("read the site").path();
            if path.is_dir() {
                complete(&path)
            } else {
                is_copy(&path)
                    || (with_ext(&path, ".br").is_file() && with_ext(&path, ".gz").is_file())
            }
        })
    }

    /// Copies the site's files to `to` with a brotli and a gzip copy of each, as the xtask writes.
    fn stage(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create the staged site");
        for entry in std::fs::read_dir(from).expect("read the site") {
            let path = entry.expect("read the site").path();
            let dest = to.join(path.file_name().expect("a file name"));
            if path.is_dir() {
                stage(&path, &dest);
                continue;
            }
            if is_copy(&path) {
                continue;
            }
            let data = std::fs::read(&path).expect("read a site file");
            let mut br = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params).expect("brotli");
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&data).expect("gzip");
            std::fs::write(with_ext(&dest, ".br"), br).expect("write .br");
            std::fs::write(with_ext(&dest, ".gz"), gz.finish().expect("gzip")).expect("write .gz");
            std::fs::write(&dest, data).expect("write a site file");
        }
    }
}

/// The embedded WASM is built with the workspace's `--cfg erase_components` (`.cargo/config.toml`),
/// and the host must render the same views or hydration fails in the browser. Cargo reads that
/// file from the working folder: a `cargo install --git` run elsewhere, or a `RUSTFLAGS` without
/// the flag, would build a host that silently breaks the page. Stop with the fix instead.
#[cfg(feature = "embed-site")]
fn same_views() {
    assert!(
        std::env::var_os("CARGO_CFG_ERASE_COMPONENTS").is_some(),
        "the host must be built with `--cfg erase_components`, as its embedded WASM is: run cargo \
         from the checkout (its .cargo/config.toml sets it), or add it to RUSTFLAGS, e.g. \
         RUSTFLAGS=\"--cfg erase_components\" cargo install --git …"
    );
}

fn main() {
    stamp();
    #[cfg(feature = "embed-site")]
    {
        same_views();
        site::site(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/icon.svg");
    println!("cargo:rerun-if-changed={}", src.display());
    let svg = std::fs::read(&src).expect("public/icon.svg");
    let tree = resvg::usvg::Tree::from_data(&svg, &resvg::usvg::Options::default())
        .expect("public/icon.svg is valid SVG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    // (file, size, inset): maskable icons keep the drawing inside the 80 % safe zone.
    for (name, size, inset) in [
        ("icon-192.png", 192u32, 0.0f32),
        ("icon-512.png", 512, 0.0),
        ("icon-maskable-512.png", 512, 0.1),
        ("apple-touch-icon.png", 180, 0.0),
    ] {
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size, size).expect("pixmap");
        if inset > 0.0 {
            // Full-bleed background, so any mask shape is filled.
            pixmap.fill(resvg::tiny_skia::Color::from_rgba8(0x0a, 0x4f, 0xb0, 0xff));
        }
        let scale = size as f32 * (1.0 - 2.0 * inset) / tree.size().width();
        let offset = size as f32 * inset;
        let transform =
            resvg::tiny_skia::Transform::from_scale(scale, scale).post_translate(offset, offset);
        resvg::render(&tree, transform, &mut pixmap.as_mut());
        pixmap.save_png(out.join(name)).expect("write png");
    }
}
