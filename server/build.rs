//! Renders the app icons (PWA 192/512, maskable, Apple touch) from the one source image,
//! `public/icon.svg`, so no size is ever drawn by hand. The PNGs are embedded in the binary.
//! Also stamps the build for `mac-status --version`: the git commit and the llama.cpp bindings.

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

fn main() {
    stamp();
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
