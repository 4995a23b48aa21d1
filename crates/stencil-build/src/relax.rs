//! Shrinking stencils after compiling them.
//!
//! rustc lays each stencil out as a function on its own, so every branch to
//! a hole (`_JIT_CONTINUE`, an exit, a call) is a 32-bit relative one, and
//! loops get alignment padding. In the copied code, the next micro-op
//! starts right where the stencil's final `jmp _JIT_CONTINUE` is (the code
//! generator drops that jump): a branch to the continuation can go to that
//! final jump instead, inside the stencil, and an internal branch can take
//! the 2-byte short form. Re-encoding the stencil with iced's block encoder
//! picks the short forms; every other instruction is copied byte for byte,
//! holes and all, and alignment padding is dropped (a stencil is copied to
//! any offset anyway).

use crate::{Hole, HoleKind, HoleValue, Stencil};
use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Decoder, DecoderOptions, FlowControl, Instruction,
    InstructionBlock, Mnemonic, OpKind,
};

/// Where a branch to a hole's target is pointed while encoding: out of
/// short reach, so the encoder keeps the 32-bit form the hole needs.
const EXTERNAL: u64 = 0x4000_0000;

/// How an instruction of the relaxed stencil came about.
enum Origin {
    /// Copied byte for byte from this original offset (its holes move
    /// with it).
    Copied(usize),
    /// A branch to this hole, whose displacement ends the instruction.
    ToHole(Hole),
    /// A branch within the stencil.
    Internal,
}

/// The stencil with internal branches (continuations included) in their
/// shortest form and alignment padding dropped.
pub fn relax(s: &Stencil) -> Result<Stencil, String> {
    let fail = |what: String| format!("stencil {}: cannot relax: {what}", s.name);
    let n = s.code.len();
    // The final `jmp _JIT_CONTINUE`, which continuation branches can reach.
    let last_jump = (n >= 5
        && s.code[n - 5] == 0xE9
        && s.holes.iter().any(|h| {
            h.offset == n - 4 && h.value == HoleValue::Continue && h.kind == HoleKind::Rel32
        }))
    .then_some(n - 5);
    let insns: Vec<Instruction> = Decoder::with_ip(64, &s.code, 0, DecoderOptions::NONE)
        .into_iter()
        .collect();
    let holes_in = |insn: &Instruction| -> Vec<&Hole> {
        let (start, end) = (insn.ip() as usize, insn.next_ip() as usize);
        s.holes
            .iter()
            .filter(|h| (start..end).contains(&h.offset))
            .collect()
    };
    let padding =
        |insn: &Instruction| insn.mnemonic() == Mnemonic::Nop && holes_in(insn).is_empty();
    // A branch to dropped padding goes to what follows it.
    let kept: Vec<u64> = insns
        .iter()
        .filter(|i| !padding(i))
        .map(|i| i.ip())
        .collect();
    let landing = |target: u64| -> Result<u64, String> {
        let k = kept.partition_point(|&ip| ip < target);
        kept.get(k)
            .copied()
            .ok_or_else(|| fail(format!("a branch to {target:#x}, past the code")))
    };
    let mut block = Vec::new();
    let mut origins = Vec::new();
    for &insn in &insns {
        let (start, end) = (insn.ip() as usize, insn.next_ip() as usize);
        if insn.is_invalid() {
            return Err(fail(format!("undecodable bytes at {start:#x}")));
        }
        let holes = holes_in(&insn);
        if padding(&insn) {
            continue;
        }
        let relative = matches!(
            insn.flow_control(),
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch | FlowControl::Call
        ) && insn.op0_kind() == OpKind::NearBranch64;
        if !relative {
            let mut copy = Instruction::with_declare_byte(&s.code[start..end])
                .map_err(|e| fail(e.to_string()))?;
            copy.set_ip(start as u64);
            block.push(copy);
            origins.push(Origin::Copied(start));
            continue;
        }
        let mut branch = insn;
        match holes.as_slice() {
            [] => {
                branch.set_near_branch64(landing(insn.near_branch_target())?);
                origins.push(Origin::Internal);
            }
            [h] if h.kind == HoleKind::Rel32 && h.offset + 4 == end => match last_jump {
                Some(last) if h.value == HoleValue::Continue && start != last => {
                    branch.set_near_branch64(last as u64);
                    origins.push(Origin::Internal);
                }
                _ => {
                    branch.set_near_branch64(EXTERNAL);
                    origins.push(Origin::ToHole((*h).clone()));
                }
            },
            _ => {
                return Err(fail(format!(
                    "unexpected holes in the branch at {start:#x}"
                )))
            }
        }
        block.push(branch);
    }
    let encoded = BlockEncoder::encode(
        64,
        InstructionBlock::new(&block, 0),
        BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut code = encoded.code_buffer;
    let offsets = &encoded.new_instruction_offsets;
    let mut holes = Vec::with_capacity(s.holes.len());
    for (k, origin) in origins.iter().enumerate() {
        let at = offsets[k] as usize;
        let end = offsets.get(k + 1).map_or(code.len(), |&o| o as usize);
        match origin {
            Origin::Copied(start) => {
                for h in s
                    .holes
                    .iter()
                    .filter(|h| (*start..start + (end - at)).contains(&h.offset))
                {
                    holes.push(Hole {
                        offset: at + h.offset - start,
                        ..h.clone()
                    });
                }
            }
            Origin::ToHole(h) => {
                if end - at < 5 {
                    return Err(fail(format!("branch to {:?} lost its rel32", h.value)));
                }
                code[end - 4..end].fill(0);
                holes.push(Hole {
                    offset: end - 4,
                    ..h.clone()
                });
            }
            Origin::Internal => {}
        }
    }
    if last_jump.is_some() {
        let m = code.len();
        let kept = m >= 5
            && code[m - 5] == 0xE9
            && holes
                .iter()
                .any(|h| h.offset == m - 4 && h.value == HoleValue::Continue);
        if !kept {
            return Err(fail("the final jump moved".into()));
        }
    }
    holes.sort_by_key(|h| h.offset);
    Ok(Stencil {
        name: s.name.clone(),
        code,
        holes,
    })
}
