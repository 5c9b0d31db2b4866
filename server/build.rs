//! Renders the app icons (PWA 192/512, maskable, Apple touch) from the one source image,
//! `public/icon.svg`, so no size is ever drawn by hand. The PNGs are embedded in the binary.

use std::path::{Path, PathBuf};

fn main() {
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
