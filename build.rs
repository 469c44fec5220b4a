//! Embeds the built site (wasm, js, css and `public/`) into a release server binary, so the
//! binary runs alone.
//!
//! With `hash-files = true` in Cargo.toml, `cargo leptos build --release` builds the front
//! end first, renames the files under `pkg/` to content-hashed names, and only then builds
//! the server, with `LEPTOS_SITE_ROOT` set. This script then writes a table of every site
//! file with `include_bytes!`, plus brotli and gzip forms it compresses here. Debug builds
//! (`cargo leptos watch`, `cargo test`) embed nothing and serve the site folder from disk, so
//! live reload keeps working.

use std::{
    env,
    fmt::Write as _,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=LEPTOS_SITE_ROOT");
    println!("cargo::rerun-if-env-changed=LEPTOS_SITE_PKG_DIR");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());

    let server = env::var_os("CARGO_FEATURE_SSR").is_some();
    let release = env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let root = env::var("LEPTOS_SITE_ROOT")
        .ok()
        .map(|root| Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(root));
    let pkg = env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".to_owned());

    let mut files = Vec::new();
    if let (true, true, Some(root)) = (server, release, root) {
        println!("cargo::rerun-if-changed={}", root.display());
        collect(&root, &root, &mut files);
    }
    files.sort();

    let mut code = String::from(
        "// Written by build.rs: the site embedded in this binary.\n\
         pub static EMBEDDED: &[EmbeddedFile] = &[\n",
    );
    for (index, (relative, path)) in files.iter().enumerate() {
        let Ok(body) = fs::read(path) else {
            println!("cargo::error=could not read {}", path.display());
            return;
        };
        let digest = Sha256::digest(&body);
        let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let hashed_dir = relative.starts_with(&format!("{pkg}/"));
        // Files cargo-leptos has already named by content keep their names.
        let (url, original) = match (hashed_dir, strip_leptos_hash(relative)) {
            (true, Some(original)) => (relative.clone(), original),
            (true, None) => (hashed_name(relative, &tag), relative.clone()),
            (false, _) => (relative.clone(), relative.clone()),
        };
        let brotli = out_dir.join(format!("site-{index}.br"));
        let gzip = out_dir.join(format!("site-{index}.gz"));
        if let Err(err) = compress(&body, &brotli, &gzip) {
            println!("cargo::error=could not compress {}: {err}", path.display());
            return;
        }
        let _ = writeln!(
            code,
            "    EmbeddedFile {{ url: {url:?}, original: {original:?}, etag: {etag:?}, \
             immutable: {hashed_dir}, body: include_bytes!({body:?}), \
             brotli: Some(include_bytes!({brotli:?})), gzip: Some(include_bytes!({gzip:?})) }},",
            url = format!("/{url}"),
            original = format!("/{original}"),
            etag = format!("\"{tag}\""),
            body = path.display().to_string(),
            brotli = brotli.display().to_string(),
            gzip = gzip.display().to_string(),
        );
    }
    code.push_str("];\n");
    let out = out_dir.join("embedded_site.rs");
    if let Err(err) = fs::write(&out, code) {
        println!("cargo::error=could not write {}: {err}", out.display());
    }
}

/// Every file under `dir` that a browser may ask for, as (path relative to `root` with `/`
/// separators, full path). Precompressed copies and TypeScript declarations stay out.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if [".br", ".gz", ".ts"].iter().any(|ext| name.ends_with(ext)) {
            continue;
        }
        if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, path));
        }
    }
}

/// `pkg/app.js` with tag `ab12` becomes `pkg/app.ab12.js`.
fn hashed_name(relative: &str, tag: &str) -> String {
    match relative.rsplit_once('.') {
        Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{tag}.{ext}"),
        _ => format!("{relative}.{tag}"),
    }
}

/// The name before cargo-leptos added its hash (22 characters of URL-safe base64 before the
/// extension): `pkg/app.AbC…xyz.js` gives `pkg/app.js`.
fn strip_leptos_hash(relative: &str) -> Option<String> {
    let (rest, ext) = relative.rsplit_once('.')?;
    let (stem, hash) = rest.rsplit_once('.')?;
    let looks_hashed = hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    looks_hashed.then(|| format!("{stem}.{ext}"))
}

fn compress(body: &[u8], brotli_path: &Path, gzip_path: &Path) -> std::io::Result<()> {
    let mut brotli_out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut brotli_out, 4096, 11, 22);
        writer.write_all(body)?;
    }
    fs::write(brotli_path, brotli_out)?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(body)?;
    fs::write(gzip_path, gzip.finish()?)
}
