//! Generates `cpython313_gen.rs` by compiling `probe.c` against the target
//! interpreter's headers and running it. Refuses, with a clear message, any
//! interpreter jitsaw does not support.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The interpreter jitsaw is built for, found the way PyO3 finds it, so the
/// probe and the extension always agree.
fn python() -> String {
    if let Ok(p) = env::var("PYO3_PYTHON") {
        return p;
    }
    if let Ok(venv) = env::var("VIRTUAL_ENV") {
        let p = Path::new(&venv).join("bin/python");
        if p.exists() {
            return p.display().to_string();
        }
    }
    "python3".to_string()
}

const QUERY: &str = r#"
import sys, sysconfig
print(sys.implementation.name)
print("%d.%d.%d" % sys.version_info[:3])
print(sysconfig.get_paths()["include"])
print(int(bool(sysconfig.get_config_var("Py_DEBUG"))))
print(int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))
print(sysconfig.get_config_var("LIBDIR") or "")
print(sysconfig.get_config_var("LDLIBRARY") or "")
print(sys.executable)
"#;

/// Lists every micro-op defined in `pycore_uop_ids.h` as `UOP(name)` lines for
/// the probe: the header is the only complete list (the name table omits
/// tier-1-only micro-ops such as `_POP_JUMP_IF_FALSE`).
fn write_uop_list(include: &Path, out_dir: &Path) {
    let header = include.join("internal/pycore_uop_ids.h");
    let text = std::fs::read_to_string(&header)
        .unwrap_or_else(|e| panic!("jitsaw: cannot read {}: {e}", header.display()));
    let mut list = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some("#define"), Some(name)) = (words.next(), words.next()) {
            if name.starts_with('_') && name != "Py_CORE_UOP_IDS_H" {
                list.push_str(&format!("UOP({name})\n"));
            }
        }
    }
    assert!(
        list.len() > 1000,
        "jitsaw: no micro-ops found in {}",
        header.display()
    );
    std::fs::write(out_dir.join("uop_list.h"), list).unwrap();
}

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-env-changed=VIRTUAL_ENV");
    println!("cargo:rerun-if-changed=probe.c");
    let python = python();
    let out = Command::new(&python)
        .args(["-c", QUERY])
        .output()
        .unwrap_or_else(|e| panic!("jitsaw: cannot run the Python interpreter `{python}`: {e}"));
    assert!(
        out.status.success(),
        "jitsaw: `{python}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 from python");
    let lines: Vec<&str> = text.lines().collect();
    let (implementation, version, include) = (lines[0], lines[1], lines[2]);
    let (debug, free_threaded) = (lines[3] == "1", lines[4] == "1");
    if implementation != "cpython" || !version.starts_with("3.13.") {
        panic!(
            "\n\njitsaw supports CPython 3.13 only; `{python}` is {implementation} {version}.\n\
             Build with a 3.13 interpreter, e.g. PYO3_PYTHON=python3.13.\n\n"
        );
    }
    if debug || free_threaded {
        panic!(
            "\n\njitsaw supports the default (release, GIL) build of CPython 3.13; \
             `{python}` is a {} build.\n\n",
            if debug { "debug" } else { "free-threaded" }
        );
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    write_uop_list(Path::new(include), &out_dir);
    let exe = out_dir.join("probe");
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let status = compiler
        .to_command()
        .arg(format!("-I{include}"))
        .arg(format!("-I{include}/internal"))
        .arg(format!("-I{}", out_dir.display()))
        .arg("-o")
        .arg(&exe)
        .arg("probe.c")
        .status()
        .expect("jitsaw: cannot run the C compiler for probe.c");
    assert!(
        status.success(),
        "jitsaw: probe.c failed to compile against {include}"
    );
    let gen = Command::new(&exe)
        .output()
        .expect("jitsaw: cannot run probe");
    assert!(gen.status.success(), "jitsaw: probe failed");
    std::fs::write(out_dir.join("cpython313_gen.rs"), gen.stdout).unwrap();

    // For dependents' build scripts (DEP_JITSAW_CPYTHON313_*).
    println!("cargo:gen_dir={}", out_dir.display());
    println!("cargo:python={python}");
    println!("cargo:include={include}");
    println!("cargo:libdir={}", lines[5]);
    println!("cargo:ldlibrary={}", lines[6]);
    println!("cargo:version={version}");
}
