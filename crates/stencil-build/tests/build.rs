//! The build pipeline on fixture stencils: what `parse` finds and what
//! `check` rejects, compiled with the real flags.

use iced_x86::{Decoder, DecoderOptions, FlowControl, OpKind};
use jitsaw_stencil_build::{check, parse, relax, HoleKind, HoleValue, Stencil, SymbolPolicy};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const FIXTURE: &str = include_str!("fixtures/stencils.rs");

/// Compiles `source` (saved as `<name>.rs`) to an object file, with the
/// stencil flags, and returns its bytes.
fn compile(name: &str, source: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let (src, out) = (dir.join("stencils.rs"), dir.join("stencils.o"));
    std::fs::write(&src, source).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "--edition=2021",
            "-Copt-level=3",
            "-Cpanic=abort",
            "-Crelocation-model=static",
        ])
        .args([
            "-Ccode-model=medium",
            "-Cjump-tables=no",
            "-Cforce-unwind-tables=no",
        ])
        .args(["-Ccodegen-units=1", "--crate-type=lib", "--emit=obj", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&out).unwrap()
}

/// The fixture without `_READS_RODATA` (which `parse` rejects outright).
fn parsed() -> &'static [Stencil] {
    static STENCILS: OnceLock<Vec<Stencil>> = OnceLock::new();
    STENCILS.get_or_init(|| {
        let cut = FIXTURE.find("static TABLE").unwrap();
        parse(&compile("trimmed", &FIXTURE[..cut])).unwrap()
    })
}

fn only(name: &str) -> Vec<Stencil> {
    parsed()
        .iter()
        .filter(|s| s.name == name)
        .cloned()
        .collect()
}

fn policy() -> SymbolPolicy {
    SymbolPolicy {
        cpython: Some(["PyNumber_Add".to_string(), "store_result".to_string()].into()),
    }
}

#[test]
fn rodata_references_are_rejected_when_parsing() {
    let err = parse(&compile("whole", FIXTURE)).unwrap_err();
    assert!(
        err.contains("_READS_RODATA") && err.contains("self-contained"),
        "{err}"
    );
}

#[test]
fn parse_finds_every_hole_kind() {
    let good = &only("_GOOD")[0];
    let has = |kind: HoleKind, value: HoleValue| {
        good.holes
            .iter()
            .any(|h| h.kind == kind && h.value == value)
    };
    assert!(has(HoleKind::Abs64, HoleValue::Oparg), "{:?}", good.holes);
    assert!(has(HoleKind::Abs32, HoleValue::Operand), "{:?}", good.holes);
    assert!(has(HoleKind::Rel32, HoleValue::Continue));
    assert!(has(HoleKind::Rel32, HoleValue::Exit));
    assert!(has(
        HoleKind::Rel32,
        HoleValue::Symbol("PyNumber_Add".into())
    ));
    for h in &good.holes {
        let width = if h.kind == HoleKind::Abs64 { 8 } else { 4 };
        assert!(h.offset + width <= good.code.len());
        assert!(
            good.code[h.offset..h.offset + width]
                .iter()
                .all(|&b| b == 0),
            "holes are zeroed"
        );
        if h.kind == HoleKind::Rel32 {
            assert_eq!(h.addend, -4, "a rel32 is the last field of its instruction");
        }
    }
    assert_eq!(
        good.code[good.code.len() - 5],
        0xE9,
        "ends with `jmp _JIT_CONTINUE`"
    );
}

#[test]
fn check_accepts_good_and_rejects_bad_stencils() {
    assert_eq!(check(&only("_GOOD"), &policy()), Ok(()));
    let err = check(&only("_CALLS_CONTINUATION"), &policy()).unwrap_err();
    assert!(err.contains("instead of a jump"), "{err}");
    let err = check(&only("_UNKNOWN_SYMBOL"), &policy()).unwrap_err();
    assert!(err.contains("not_allowed_anywhere"), "{err}");
    let err = check(&only("_TRUNCATES_ADDRESS"), &policy()).unwrap_err();
    assert!(err.contains("32-bit hole"), "{err}");
}

/// Relaxing keeps every hole but the continuation branches it made
/// internal, zeroed; every branch without a hole lands on an instruction of
/// its part, every branch between the parts on one of the other; each part
/// ends with a jump to the continuation; the hot part is no longer than the
/// function.
#[test]
fn relaxing_shortens_branches_and_keeps_holes() {
    for name in ["_GOOD", "_LOOPS", "_SPLITS"] {
        let before = &only(name)[0];
        let after = relax(before).unwrap();
        // (Branches between the parts take 32 bits: only the hot part is
        // sure not to grow.)
        assert!(after.hot_len <= before.code.len(), "{name} grew");
        let kinds = |s: &Stencil| {
            let mut v: Vec<String> = s
                .holes
                .iter()
                .filter(|h| {
                    !matches!(
                        h.value,
                        HoleValue::Continue | HoleValue::Hot | HoleValue::Cold
                    )
                })
                .map(|h| format!("{:?} {:?} {}", h.kind, h.value, h.addend))
                .collect();
            v.sort();
            v
        };
        assert_eq!(kinds(&after), kinds(before), "{name}'s holes");
        let parts = [(0, after.hot_len), (after.hot_len, after.code.len())];
        let starts: Vec<Vec<u64>> = parts
            .iter()
            .map(|&(from, to)| {
                Decoder::with_ip(64, &after.code[from..to], from as u64, DecoderOptions::NONE)
                    .into_iter()
                    .map(|i| i.ip())
                    .collect()
            })
            .collect();
        for (part, &(from, to)) in parts.iter().enumerate() {
            let code = &after.code[from..to];
            for i in Decoder::with_ip(64, code, from as u64, DecoderOptions::NONE) {
                assert!(!i.is_invalid(), "{name}: undecodable at {:#x}", i.ip());
                let branch = matches!(
                    i.flow_control(),
                    FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
                ) && i.op0_kind() == OpKind::NearBranch64;
                let holes: Vec<_> = after
                    .holes
                    .iter()
                    .filter(|h| (i.ip() as usize..i.next_ip() as usize).contains(&h.offset))
                    .collect();
                if branch && holes.is_empty() {
                    assert!(
                        starts[part].contains(&i.near_branch_target()),
                        "{name}: branch at {:#x} lands inside an instruction",
                        i.ip()
                    );
                }
                for h in holes {
                    let other = match h.value {
                        HoleValue::Hot => 0,
                        HoleValue::Cold => 1,
                        _ => continue,
                    };
                    assert_ne!(other, part, "{name}: a branch to its own part by a hole");
                    let target = (parts[other].0 as i64 + h.addend + 4) as u64;
                    assert!(
                        starts[other].contains(&target),
                        "{name}: branch at {:#x} to the other part lands inside an instruction",
                        i.ip()
                    );
                }
            }
            if from == to {
                continue;
            }
            assert_eq!(
                after.code[to - 5],
                0xE9,
                "{name}: part {part} ends with a jump"
            );
            assert!(after
                .holes
                .iter()
                .any(|h| h.offset == to - 4 && h.value == HoleValue::Continue));
        }
        for h in &after.holes {
            let width = if h.kind == HoleKind::Abs64 { 8 } else { 4 };
            assert!(after.code[h.offset..h.offset + width]
                .iter()
                .all(|&b| b == 0));
        }
    }
    // `_LOOPS` reaches its continuation from the middle: one hole fewer.
    let continues = |s: &Stencil| {
        s.holes
            .iter()
            .filter(|h| h.value == HoleValue::Continue)
            .count()
    };
    let loops = &only("_LOOPS")[0];
    assert!(continues(loops) > 1);
    assert_eq!(continues(&relax(loops).unwrap()), 1);
    // `_SPLITS`' likely path alone is hot, and branches to its cold part.
    let splits = relax(&only("_SPLITS")[0]).unwrap();
    assert!(splits.hot_len < splits.code.len() / 2, "{}", splits.hot_len);
    assert!(splits
        .holes
        .iter()
        .any(|h| h.value == HoleValue::Cold && h.offset < splits.hot_len));
    assert!(check(&[splits], &policy()).is_ok());
}
