//! The wasm-split step of `scripts/build-site --release`, as `cargo leptos
//! build --release --split` runs it, for builds made with cargo alone:
//!
//! ```text
//! split-wasm split INPUT.wasm PKG_DIR MAIN_OUT.wasm NAME
//! split-wasm name PKG_DIR NAME
//! ```
//!
//! `split` cuts the wasm cargo built (linked with `--emit-relocs`) at its
//! `#[lazy]` functions (`app::lazy`): each lazily loaded page, and the code
//! only it uses, becomes a chunk in `PKG_DIR`; code several of them share, a
//! chunk of its own. What is left, `MAIN_OUT`, goes on to wasm-bindgen. It
//! writes the loader the chunks are fetched through
//! (`__wasm_split.<placeholder>.js`) and the manifest Leptos reads to
//! preload a server-rendered page's chunks (`__wasm_split_manifest.json`).
//!
//! `name`, run once wasm-bindgen and wasm-opt are done, gives every file of
//! the bundle (`NAME.js`, `NAME.wasm`, the loader, the chunks) one content
//! hash of them all, `NAME.<hash>.js` and so on, and rewrites the names
//! they call each other by; it prints the hash, for `hash.txt`. The files
//! are served `immutable`, and each names the others: a change to any one
//! renames them all, so a browser never mixes files of two builds.
//! (cargo-leptos hashes each file on its own, then patches the loader's
//! name into files already named by their old contents.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sha2::{Digest, Sha256};

/// The loader's name until `name` hashes it: as long as a hash, so that the
/// wasm files' import of it can be renamed in place.
const PLACEHOLDER: &str = "______________________";
const MANIFEST: &str = "__wasm_split_manifest.json";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["split", input, pkg, main_out, name] => split(input.as_ref(), pkg.as_ref(), main_out.as_ref(), name),
        ["name", pkg, name] => {
            println!("{}", hash_names(pkg.as_ref(), name)?);
            Ok(())
        }
        _ => Err("usage: split-wasm split INPUT.wasm PKG_DIR MAIN_OUT.wasm NAME | split-wasm name PKG_DIR NAME".into()),
    }
}

fn split(input: &Path, pkg: &Path, main_out: &Path, name: &str) -> Result<()> {
    let wasm = fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let link_name = format!("./{}", loader(PLACEHOLDER));
    let main_module = format!("./{name}.js");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&wasm);
        options.output_dir = pkg;
        options.main_out_path = main_out;
        options.main_module = &main_module;
        options.link_name = &link_name;
        options
    })
    .map_err(|e| format!("wasm-split: {e}"))?;
    fs::write(pkg.join(MANIFEST), serde_json::to_string_pretty(&split.prefetch_map)?)?;
    Ok(())
}

fn loader(hash: &str) -> String {
    format!("__wasm_split.{hash}.js")
}

/// Renames the bundle's files to `<stem>.<hash>.<ext>` and rewrites their
/// references to each other; returns the hash.
fn hash_names(pkg: &Path, name: &str) -> Result<String> {
    let (main_js, main_wasm) = (pkg.join(format!("{name}.js")), pkg.join(format!("{name}.wasm")));
    let old_loader = pkg.join(loader(PLACEHOLDER));
    let chunks: Vec<String> = fs::read_dir(pkg)?
        .map(|entry| Ok(entry?.path()))
        .collect::<Result<Vec<PathBuf>>>()?
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm") && *path != main_wasm)
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect();

    let mut files: Vec<PathBuf> = vec![main_js.clone(), main_wasm.clone(), old_loader.clone()];
    files.extend(chunks.iter().map(|chunk| pkg.join(format!("{chunk}.wasm"))));
    files.sort();
    let mut digest = Sha256::new();
    for file in &files {
        digest.update(file.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
        digest.update(fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    let hash: String = digest.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    let hash = hash[..PLACEHOLDER.len()].to_owned();

    // Every wasm file and the main JS import the loader by name.
    for file in files.iter().filter(|file| **file != old_loader) {
        let bytes = fs::read(file)?;
        fs::write(file, replace(&bytes, &loader(PLACEHOLDER), &loader(&hash)))?;
    }
    // The loader imports the main JS and fetches the chunks by name.
    let mut text = fs::read_to_string(&old_loader)?;
    text = text.replace(&format!("\"./{name}.js\""), &format!("\"./{name}.{hash}.js\""));
    for chunk in &chunks {
        text = text.replace(&format!("\"./{chunk}.wasm\""), &format!("\"./{chunk}.{hash}.wasm\""));
    }
    fs::write(&old_loader, text)?;
    // The manifest names chunks without their extension.
    let manifest: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&fs::read(pkg.join(MANIFEST))?)?;
    let manifest: BTreeMap<String, Vec<String>> = manifest
        .into_iter()
        .map(|(lazy, chunks)| {
            (lazy, chunks.into_iter().map(|chunk| format!("{chunk}.{hash}")).collect())
        })
        .collect();
    fs::write(pkg.join(MANIFEST), serde_json::to_string_pretty(&manifest)?)?;

    for file in &files {
        let renamed = if *file == old_loader {
            pkg.join(loader(&hash))
        } else {
            let stem = file.file_stem().and_then(|s| s.to_str()).ok_or("bad file name")?;
            let ext = file.extension().and_then(|s| s.to_str()).ok_or("bad file name")?;
            pkg.join(format!("{stem}.{hash}.{ext}"))
        };
        fs::rename(file, renamed)?;
    }
    Ok(hash)
}

/// `bytes` with every `from` replaced by `to`.
fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_swaps_every_occurrence_and_keeps_the_rest() {
        assert_eq!(replace(b"a__b__c", "__", "+"), b"a+b+c");
        assert_eq!(replace(b"abc", "x", "yy"), b"abc");
    }
}
