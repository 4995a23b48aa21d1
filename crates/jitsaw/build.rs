//! Builds the stencils (machine-code templates) and embeds them: compiles
//! `crates/stencils` with rustc, parses and checks the object file, and
//! writes `stencils_gen.rs` into `OUT_DIR`.

use jitsaw_stencil_build::{check, compile, emit, parse, relax, CompileOptions, SymbolPolicy};
use object::{Object, ObjectSymbol};
use std::collections::HashSet;
use std::env;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let crates = manifest.parent().unwrap();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let gen_dir = PathBuf::from(env::var("DEP_JITSAW_CPYTHON313_GEN_DIR").unwrap());
    let rustc = PathBuf::from(env::var("RUSTC").unwrap_or_else(|_| "rustc".into()));
    println!(
        "cargo:rerun-if-changed={}",
        crates.join("stencils/src").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        crates.join("cpython313/src").display()
    );

    let obj = compile(&CompileOptions {
        rustc: &rustc,
        stencils: &crates.join("stencils/src/lib.rs"),
        cpython313: &crates.join("cpython313/src/lib.rs"),
        cpython313_gen_dir: &gen_dir,
        out_dir: &out_dir,
    })
    .unwrap_or_else(|e| panic!("\n{e}\n"));
    let stencils = parse(&obj).unwrap_or_else(|e| panic!("\njitsaw: bad stencil object: {e}\n"));
    let stencils: Vec<_> = stencils
        .iter()
        .map(|s| relax(s).unwrap_or_else(|e| panic!("\njitsaw: {e}\n")))
        .collect();
    let policy = SymbolPolicy {
        cpython: libpython_symbols(),
    };
    if let Err(problems) = check(&stencils, &policy) {
        panic!("\njitsaw: stencils rejected:\n{problems}\n");
    }
    std::fs::write(out_dir.join("stencils_gen.rs"), emit(&stencils)).unwrap();
}

/// The dynamic symbols of the libpython jitsaw is built for, so a stencil
/// referencing a private (unexported) CPython function fails the build.
fn libpython_symbols() -> Option<HashSet<String>> {
    let libdir = env::var("DEP_JITSAW_CPYTHON313_LIBDIR").ok()?;
    let ldlibrary = env::var("DEP_JITSAW_CPYTHON313_LDLIBRARY").ok()?;
    let path = Path::new(&libdir).join(&ldlibrary);
    if !ldlibrary.ends_with(".so") && !ldlibrary.contains(".so.") {
        return None; // a static libpython: the executable exports the API
    }
    let data = std::fs::read(&path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    let symbols: HashSet<String> = file
        .dynamic_symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect();
    (!symbols.is_empty()).then_some(symbols)
}
