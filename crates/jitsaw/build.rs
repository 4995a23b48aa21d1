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
    static_unwinder(&out_dir);
}

/// Links GCC's unwinder statically (`libgcc_eh.a`) where Rust's standard
/// library asks for `libgcc_s.so.1`: loading that library is about half of
/// the extension's `dlopen` on a VM (its constructor,
/// `__cpu_indicator_init`, runs `cpuid`, which traps to the hypervisor),
/// 0.2 ms of every `JITSAW=1` start-up. A directory searched before the
/// system's holds `libgcc_s.a`, a link to the C compiler's `libgcc_eh.a`
/// (position-independent, what `gcc -shared -static-libgcc` links), so
/// `-lgcc_s` finds it first. Without that archive the link is as before.
fn static_unwinder(out_dir: &Path) {
    println!("cargo:rerun-if-env-changed=CC");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = std::process::Command::new(&cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !archive.is_absolute() || !archive.exists() {
        return;
    }
    let dir = out_dir.join("unwinder");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("libgcc_s.a");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&archive, &link).unwrap();
    println!("cargo:rustc-link-search=native={}", dir.display());
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
