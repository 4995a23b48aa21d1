//! Dump mode (`JITSAW_DUMP=uops,asm`): shows a human what was compiled.

use crate::codegen::Compiled;
use crate::frontend;
use crate::stencils::{HoleValue, Stencil, STENCILS};
use crate::uops::Program;
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use std::fmt::Write;

/// Each instruction with the micro-ops it became.
pub fn uops(program: &Program) -> String {
    let mut out = String::new();
    for (i, inst) in program.insts.iter().enumerate() {
        writeln!(
            out,
            "  {:5} {} {}",
            inst.offset * 2,
            frontend::name(inst.opcode),
            inst.oparg
        )
        .unwrap();
        for u in program.uops_of(i) {
            uop_line(&mut out, program, u, "");
        }
        for u in program.fallback_of(i) {
            uop_line(&mut out, program, u, "generic: ");
        }
    }
    out
}

fn uop_line(out: &mut String, program: &Program, u: &crate::uops::UopInst, prefix: &str) {
    write!(out, "          {prefix}{} {}", u.op.name(), u.oparg).unwrap();
    if u.operand != 0 {
        write!(out, " operand={:#x}", u.operand).unwrap();
    }
    if let Some(l) = u.label() {
        write!(out, " -> +{l}").unwrap();
    } else if let Some(t) = u.jump {
        write!(out, " -> {}", program.insts[t as usize].start * 2).unwrap();
    }
    out.push('\n');
}

/// The machine code, with a header at each copied stencil.
pub fn asm(compiled: &Compiled) -> String {
    let mut out = String::new();
    let base = compiled.memory.address() as u64;
    let bytes = compiled.memory.bytes();
    for p in compiled.all_pieces() {
        writeln!(
            out,
            "  ; {} {} (inst {})",
            p.uop.op.name(),
            p.uop.oparg,
            p.uop.inst
        )
        .unwrap();
        let code = &bytes[p.offset as usize..(p.offset + p.len) as usize];
        disassemble(&mut out, code, base + p.offset as u64, |_| None);
    }
    for p in compiled.all_pieces() {
        let Some(at) = p.cold else { continue };
        writeln!(
            out,
            "  ; {} {} (inst {}), cold part",
            p.uop.op.name(),
            p.uop.oparg,
            p.uop.inst
        )
        .unwrap();
        let len = p.stencil.cold().len();
        let code = &bytes[at as usize..at as usize + len];
        disassemble(&mut out, code, base + at as u64, |_| None);
    }
    out
}

/// Every stencil with its disassembly and holes (`python -m jitsaw --stencils`).
pub fn stencils() -> String {
    let mut out = String::new();
    for s in &STENCILS {
        writeln!(
            out,
            "{} ({} bytes, {} holes)",
            s.name(),
            s.code().len(),
            s.holes().len()
        )
        .unwrap();
        disassemble(&mut out, s.hot(), 0, |range| holes_in(s, range));
        if !s.cold().is_empty() {
            out.push_str("  cold part:\n");
            let hot = s.hot_len;
            disassemble(&mut out, s.cold(), hot as u64, |r| {
                holes_in(s, r.start + hot..r.end + hot)
            });
        }
        out.push('\n');
    }
    out
}

fn holes_in(s: &Stencil, range: std::ops::Range<usize>) -> Option<String> {
    let names: Vec<String> = s
        .holes()
        .iter()
        .filter(|h| range.contains(&(h.offset as usize)))
        .map(|h| match h.value {
            HoleValue::Symbol(i) => format!(
                "{:?} {}{:+}",
                h.kind,
                crate::stencils::symbol(i as usize),
                h.addend
            ),
            v => format!("{:?} {v:?}{:+}", h.kind, h.addend),
        })
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn disassemble(
    out: &mut String,
    code: &[u8],
    ip: u64,
    note: impl Fn(std::ops::Range<usize>) -> Option<String>,
) {
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut text = String::new();
    for insn in &mut decoder {
        text.clear();
        formatter.format(&insn, &mut text);
        let start = (insn.ip() - ip) as usize;
        let end = start + insn.len();
        let hex: String = code[start..end]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        write!(out, "    {:#x}  {hex:<24} {text}", insn.ip()).unwrap();
        if let Some(n) = note(start..end) {
            write!(out, "    ; hole: {n}").unwrap();
        }
        out.push('\n');
    }
}
