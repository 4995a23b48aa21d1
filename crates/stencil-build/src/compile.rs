//! Running rustc on the stencils crate.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Inputs of [`compile`].
pub struct CompileOptions<'a> {
    /// The rustc to run (`$RUSTC` in a build script).
    pub rustc: &'a Path,
    /// `lib.rs` of the stencils crate.
    pub stencils: &'a Path,
    /// `lib.rs` of the `jitsaw-cpython313` crate, compiled alongside.
    pub cpython313: &'a Path,
    /// Where `cpython313_gen.rs` lives (that crate's `OUT_DIR`).
    pub cpython313_gen_dir: &'a Path,
    /// Where to write the rlib and the object file.
    pub out_dir: &'a Path,
}

/// Flags that turn each function into a template the JIT can copy and patch
/// (see `shared/ARCHITECTURE.md`, "measured facts about rustc"):
/// `code-model=medium` keeps 64-bit holes 64-bit (`small` truncates them),
/// `relocation-model=static` avoids the GOT, `jump-tables=no` avoids data
/// tables, one codegen unit gives one object file, and no unwind tables or
/// overflow checks means no extra sections or panics.
const FLAGS: &[&str] = &[
    "--edition=2021",
    "-Copt-level=3",
    "-Cpanic=abort",
    "-Crelocation-model=static",
    "-Ccode-model=medium",
    "-Cjump-tables=no",
    "-Cforce-unwind-tables=no",
    "-Coverflow-checks=off",
    "-Cdebug-assertions=off",
    "-Ccodegen-units=1",
    "-Cdebuginfo=0",
];

/// Compiles the stencils into an object file and returns its bytes.
///
/// The stencils use two unstable features (`explicit_tail_calls` for `become`
/// and `rust_preserve_none_cc` for the calling convention), so this one rustc
/// invocation runs with `RUSTC_BOOTSTRAP=1`, as the Linux kernel builds its
/// Rust code; the rest of jitsaw builds on stable Rust.
pub fn compile(opts: &CompileOptions) -> Result<Vec<u8>, String> {
    let rlib = opts.out_dir.join("libjitsaw_cpython313.rlib");
    run(Command::new(opts.rustc)
        .env("OUT_DIR", opts.cpython313_gen_dir)
        .args(FLAGS)
        .args([
            "--crate-name",
            "jitsaw_cpython313",
            "--crate-type",
            "rlib",
            "-o",
        ])
        .arg(&rlib)
        .arg(opts.cpython313))?;
    let obj: PathBuf = opts.out_dir.join("stencils.o");
    run(Command::new(opts.rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(FLAGS)
        .args([
            "--crate-name",
            "jitsaw_stencils",
            "--crate-type",
            "lib",
            "--emit=obj",
        ])
        .arg(format!("--extern=jitsaw_cpython313={}", rlib.display()))
        .arg("-o")
        .arg(&obj)
        .arg(opts.stencils))?;
    std::fs::read(&obj).map_err(|e| format!("cannot read {}: {e}", obj.display()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "stencil compilation failed: {cmd:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
