//! Rejecting stencils the JIT could not patch or chain safely.

use crate::{is_helper, may_jump_indirect, may_return, HoleKind, HoleValue, Stencil};
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Mnemonic};
use std::collections::HashSet;

/// Which external symbols a stencil may reference.
pub struct SymbolPolicy {
    /// The symbols libpython exports, when it could be read; `None` accepts
    /// any `Py*`/`_Py*` name (the dynamic linker still resolves each when
    /// the extension loads: a missing one fails its import).
    pub cpython: Option<HashSet<String>>,
}

impl SymbolPolicy {
    fn allows(&self, name: &str) -> bool {
        if is_helper(name) {
            return true;
        }
        match &self.cpython {
            Some(exported) => exported.contains(name),
            None => name.starts_with("Py") || name.starts_with("_Py"),
        }
    }
}

/// Checks every stencil; returns all problems found, one per line.
///
/// A continuation must be reached by `jmp`/`jcc` (a `call` would grow the
/// machine stack on every micro-op); 64-bit holes must be `movabs`
/// immediates; only the stencils that leave compiled code may `ret`; no
/// indirect jumps (jump tables), traps, or symbols outside the policy.
pub fn check(stencils: &[Stencil], policy: &SymbolPolicy) -> Result<(), String> {
    let mut problems = Vec::new();
    for s in stencils {
        check_one(s, policy, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn check_one(s: &Stencil, policy: &SymbolPolicy, problems: &mut Vec<String>) {
    let name = &s.name;
    for hole in &s.holes {
        if let HoleValue::Symbol(sym) = &hole.value {
            if sym.starts_with("_JIT_") {
                problems.push(format!("{name}: unknown hole `{sym}`"));
            } else if !policy.allows(sym) {
                problems.push(format!(
                    "{name}: references `{sym}`, which is neither a hole, a jitsaw_* helper, \
                     nor exported by libpython (a panic or an unexpected library call?)"
                ));
            }
        }
    }
    let mut decoder = Decoder::with_ip(64, &s.code, 0, DecoderOptions::NONE);
    for insn in &mut decoder {
        let (start, end) = (insn.ip() as usize, insn.next_ip() as usize);
        if insn.is_invalid() {
            problems.push(format!("{name}+{start:#x}: undecodable bytes"));
            continue;
        }
        let flow = insn.flow_control();
        if flow == FlowControl::Return && !may_return(name) {
            problems.push(format!(
                "{name}+{start:#x}: `ret` in a stencil that must chain"
            ));
        }
        if flow == FlowControl::IndirectBranch && !may_jump_indirect(name) {
            problems.push(format!("{name}+{start:#x}: indirect jump (a jump table?)"));
        }
        if matches!(insn.mnemonic(), Mnemonic::Ud2 | Mnemonic::Int3) {
            problems.push(format!(
                "{name}+{start:#x}: trap instruction (an unreachable path?)"
            ));
        }
        for hole in s.holes.iter().filter(|h| (start..end).contains(&h.offset)) {
            let is_jump = matches!(
                flow,
                FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
            );
            match hole.kind {
                HoleKind::Rel32 if hole.value.is_continuation() && !is_jump => {
                    problems.push(format!(
                        "{name}+{start:#x}: reaches {:?} by `{:?}` instead of a jump \
                         (a tail call the compiler did not guarantee; use `become`)",
                        hole.value,
                        insn.mnemonic()
                    ));
                }
                HoleKind::Rel32 if !is_jump && flow != FlowControl::Call => {
                    problems.push(format!(
                        "{name}+{start:#x}: 32-bit relative data reference to {:?}",
                        hole.value
                    ));
                }
                HoleKind::Abs32
                    if insn.code() != Code::Mov_r32_imm32
                        || !matches!(
                            hole.value,
                            HoleValue::Oparg | HoleValue::Operand | HoleValue::OperandLow32
                        ) =>
                {
                    problems.push(format!(
                        "{name}+{start:#x}: 32-bit hole {:?} outside a `mov r32, imm32` \
                         (only opargs and 32-bit operands may be 32-bit)",
                        hole.value
                    ));
                }
                HoleKind::Abs64 if insn.code() != Code::Mov_r64_imm64 => {
                    problems.push(format!(
                        "{name}+{start:#x}: 64-bit hole {:?} outside a movabs",
                        hole.value
                    ));
                }
                _ => {}
            }
        }
    }
}
