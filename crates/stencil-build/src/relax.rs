//! Shrinking stencils after compiling them, and splitting off their cold
//! part.
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
//!
//! The compiler lays the path it expects most out first, ending with a
//! jump to the continuation, and the rest after it (slow paths,
//! allocation, deallocation, errors). Everything after the first
//! `jmp _JIT_CONTINUE` is the stencil's cold part: the code generator
//! copies it after the function's main code, so that the main code holds
//! only the paths that run, and the hot part's last jump is dropped as a
//! whole stencil's is. In the stencils of [`JUMP_ENDS_HOT`], whose usual
//! way ends at the jump target, the first jump there ends the hot part
//! instead (and stays). In the stencils of [`BRANCH_ENDS_HOT`], whose
//! usual way is a conditional branch to the continuation (rustc folds the
//! jump into the branch, and the rare way follows it in line), that branch
//! is turned around to go to the rare way, which becomes the cold part,
//! and a `jmp _JIT_CONTINUE` ends the hot part. Branches between the two
//! parts go through the [`HoleValue::Hot`] and [`HoleValue::Cold`] holes.

use crate::{Hole, HoleKind, HoleValue, Stencil};
use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, FlowControl, Instruction,
    InstructionBlock, Mnemonic, OpKind,
};
use std::collections::HashMap;

/// Where a branch to a hole's target is pointed while encoding: out of
/// short reach, so the encoder keeps the 32-bit form the hole needs.
const EXTERNAL: u64 = 0x4000_0000;

/// Where the cold part is encoded: out of short reach of the hot part and
/// of [`EXTERNAL`], so branches between the parts keep a 32-bit field.
const COLD: u64 = 0x2000_0000;

/// Stencils whose usual way ends with a jump to the jump target (an
/// attribute read or stored where nothing ran, past the validity check),
/// laid out first: that jump ends their hot part, and the rest (other kinds of
/// cache entry, the runtime's fallback) goes with the cold part.
const JUMP_ENDS_HOT: &[&str] = &[
    "_LOAD_ATTR_CACHED",
    "_LOAD_ATTR_CACHED_BORROWED",
    "_LOAD_ATTR_CACHED_METHOD",
    "_STORE_ATTR_CACHED",
    "_STORE_ATTR_CACHED_BORROWED",
];

/// Stencils whose usual way leaves by a conditional branch to the
/// continuation, with a rare way (one that calls out) after it in line: a
/// pending event after a call, a long loop's count running out, a range or
/// generator loop ending. The last such branch before the stencil's first
/// call or jump ends their hot part (see [`relax`]), so that only a test
/// and a branch stay in line.
const BRANCH_ENDS_HOT: &[&str] = &[
    "_CHECK_PERIODIC",
    "_CHECK_LONG_LOOP",
    "_ITER_JUMP_RANGE",
    "_FOR_ITER_GEN_RETURNED",
];

/// How an instruction of the relaxed stencil came about.
enum Origin {
    /// Copied byte for byte from this original offset (its holes move
    /// with it).
    Copied(usize),
    /// A branch to this hole, whose displacement ends the instruction.
    ToHole(Hole),
    /// A branch within its part.
    Internal,
    /// A branch to the instruction at this original offset, in the other
    /// part.
    Across(u64),
}

/// The stencil with internal branches (continuations included) in their
/// shortest form, alignment padding dropped, and what follows its first
/// `jmp _JIT_CONTINUE` (or, in [`JUMP_ENDS_HOT`], its first jump to the jump
/// target) split off as its cold part.
pub fn relax(s: &Stencil) -> Result<Stencil, String> {
    let fail = |what: String| format!("stencil {}: cannot relax: {what}", s.name);
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
    // Whether the instruction ends with a 32-bit displacement to `value`
    // (a branch there).
    let branches_to = |insn: &Instruction, value: HoleValue| {
        holes_in(insn).iter().any(|h| {
            h.offset + 4 == insn.next_ip() as usize && h.value == value && h.kind == HoleKind::Rel32
        })
    };
    let continue_jump = |insn: &Instruction| {
        insn.code() == Code::Jmp_rel32_64 && branches_to(insn, HoleValue::Continue)
    };
    // The hot part ends with the first `jmp _JIT_CONTINUE`, which the
    // hot part's continuation branches can reach (or, in the stencils whose
    // usual way ends at the jump target, `JUMP_ENDS_HOT`, the first jump
    // there).
    let target_jump = |insn: &Instruction| {
        JUMP_ENDS_HOT.contains(&s.name.as_str())
            && insn.code() == Code::Jmp_rel32_64
            && branches_to(insn, HoleValue::JumpTarget)
    };
    // In `BRANCH_ENDS_HOT`, the last conditional branch to the
    // continuation before the first call or jump, which is turned around.
    let turned = if BRANCH_ENDS_HOT.contains(&s.name.as_str()) {
        let first_out = insns
            .iter()
            .position(|i| {
                matches!(
                    i.flow_control(),
                    FlowControl::Call
                        | FlowControl::UnconditionalBranch
                        | FlowControl::IndirectBranch
                        | FlowControl::Return
                )
            })
            .unwrap_or(insns.len());
        let branch = insns[..first_out].iter().rposition(|i| {
            i.flow_control() == FlowControl::ConditionalBranch
                && branches_to(i, HoleValue::Continue)
        });
        Some(branch.ok_or_else(|| fail("no conditional branch to the continuation".into()))?)
    } else {
        None
    };
    let split = turned.or_else(|| {
        insns
            .iter()
            .position(|i| continue_jump(i) || target_jump(i))
    });
    let hot_end = split.map_or(insns.len(), |k| k + 1);
    // The jump that ends a turned-around stencil's hot part: an address
    // inside the turned branch, which no instruction starts at.
    let turned_jump = turned.map(|k| insns[k].ip() + 1);
    // Continuation branches in the hot part are pointed at its last jump
    // when that goes to the continuation.
    let last_continue = turned_jump.or_else(|| {
        split
            .filter(|&k| continue_jump(&insns[k]))
            .map(|k| insns[k].ip())
    });
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
    let hot_limit = insns.get(hot_end).map_or(u64::MAX, |i| i.ip());
    let mut parts: [(Vec<Instruction>, Vec<Origin>); 2] = Default::default();
    for (k, &insn) in insns.iter().enumerate() {
        let (start, end) = (insn.ip() as usize, insn.next_ip() as usize);
        if insn.is_invalid() {
            return Err(fail(format!("undecodable bytes at {start:#x}")));
        }
        if padding(&insn) {
            continue;
        }
        let cold = k >= hot_end;
        let (block, origins) = &mut parts[cold as usize];
        let holes = holes_in(&insn);
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
        if turned == Some(k) {
            // Turned around: to the rare way, now the cold part's start,
            // then the hot part's final jump to the continuation.
            let rare = insns
                .get(k + 1)
                .ok_or_else(|| fail("nothing after the turned branch".into()))?;
            let rare = landing(rare.ip())?;
            branch.negate_condition_code();
            branch.set_near_branch64(rare);
            origins.push(Origin::Across(rare));
            block.push(branch);
            let mut jump = Instruction::with_branch(Code::Jmp_rel32_64, EXTERNAL)
                .map_err(|e| fail(e.to_string()))?;
            jump.set_ip(turned_jump.expect("set with turned"));
            block.push(jump);
            origins.push(Origin::ToHole(Hole {
                offset: 0,
                kind: HoleKind::Rel32,
                value: HoleValue::Continue,
                addend: -4,
            }));
            continue;
        }
        match holes.as_slice() {
            [] => {
                let target = landing(insn.near_branch_target())?;
                branch.set_near_branch64(target);
                origins.push(if (target >= hot_limit) == cold {
                    Origin::Internal
                } else {
                    Origin::Across(target)
                });
            }
            [h] if h.kind == HoleKind::Rel32 && h.offset + 4 == end => match last_continue {
                Some(last) if h.value == HoleValue::Continue && !cold && start as u64 != last => {
                    branch.set_near_branch64(last);
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
    let blocks = [
        InstructionBlock::new(&parts[0].0, 0),
        InstructionBlock::new(&parts[1].0, COLD),
    ];
    let encoded = BlockEncoder::encode_slice(
        64,
        &blocks[..if parts[1].0.is_empty() { 1 } else { 2 }],
        BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
    )
    .map_err(|e| fail(e.to_string()))?;
    // Where each kept instruction went: its part and offset there.
    let mut placed: HashMap<u64, (usize, u32)> = HashMap::new();
    for (part, result) in encoded.iter().enumerate() {
        for (insn, &at) in parts[part].0.iter().zip(&result.new_instruction_offsets) {
            placed.insert(insn.ip(), (part, at));
        }
    }
    let hot_len = encoded[0].code_buffer.len();
    let mut code = Vec::new();
    let mut holes = Vec::with_capacity(s.holes.len());
    for (part, result) in encoded.iter().enumerate() {
        let base = code.len();
        code.extend_from_slice(&result.code_buffer);
        let offsets = &result.new_instruction_offsets;
        for (k, origin) in parts[part].1.iter().enumerate() {
            let at = base + offsets[k] as usize;
            let end = base
                + offsets
                    .get(k + 1)
                    .map_or(result.code_buffer.len(), |&o| o as usize);
            let mut branch_hole = |value: HoleValue, addend: i64| -> Result<(), String> {
                if end - at < 5 {
                    return Err(fail(format!("branch to {value:?} lost its rel32")));
                }
                code[end - 4..end].fill(0);
                holes.push(Hole {
                    offset: end - 4,
                    kind: HoleKind::Rel32,
                    value,
                    addend,
                });
                Ok(())
            };
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
                Origin::ToHole(h) => branch_hole(h.value.clone(), h.addend)?,
                Origin::Across(target) => {
                    let &(to, offset) = placed
                        .get(target)
                        .ok_or_else(|| fail(format!("a branch to {target:#x} went nowhere")))?;
                    let value = if to == 0 {
                        HoleValue::Hot
                    } else {
                        HoleValue::Cold
                    };
                    branch_hole(value, offset as i64 - 4)?
                }
                Origin::Internal => {}
            }
        }
    }
    if split.is_some() {
        let m = hot_len;
        let kept = m >= 5
            && code[m - 5] == 0xE9
            && holes.iter().any(|h| {
                h.offset == m - 4
                    && (h.value == HoleValue::Continue
                        || h.value == HoleValue::JumpTarget && last_continue.is_none())
            });
        if !kept {
            return Err(fail("the hot part's final jump moved".into()));
        }
    }
    holes.sort_by_key(|h| h.offset);
    Ok(Stencil {
        name: s.name.clone(),
        code,
        hot_len,
        holes,
    })
}
