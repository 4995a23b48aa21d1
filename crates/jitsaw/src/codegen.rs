//! Code generator: micro-ops → machine code, by copy and patch.
//!
//! Each micro-op's stencil is copied after the previous one; a stencil that
//! ends by jumping to its continuation loses that jump, since the next
//! micro-op follows it. Guards and raising micro-ops get exit stubs after the
//! code (one `_DEOPT` per instruction and reason, one `_ERROR` per raising
//! micro-op), then holes are patched and the memory turned executable.

use crate::arena::CodeMemory;
use crate::stencils::{HoleKind, HoleValue};
use crate::uops::{Program, Uop, UopInst};
use std::collections::HashMap;

/// What the code generator needs from the runtime.
pub struct Linker<'a> {
    /// Addresses of the external symbols, indexed like `stencils::SYMBOLS`.
    pub symbols: &'a [usize],
    /// The exit counter to bump for an exit reason (`"deopt:_GUARD_BOTH_INT"`).
    pub exit_counter: &'a mut dyn FnMut(&str) -> u32,
    /// An address the code should be placed near (libpython's code).
    pub anchor: usize,
}

/// A copied stencil in the compiled code, for dumps and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Byte offset in the code.
    pub offset: u32,
    /// Bytes copied (the stencil minus an elided trailing jump).
    pub len: u32,
    /// The micro-op, with the arguments it was patched with.
    pub uop: UopInst,
}

/// A compiled code object.
pub struct Compiled {
    /// The machine code.
    pub memory: CodeMemory,
    /// Byte offset of each bytecode instruction's code, by instruction index.
    pub labels: Vec<u32>,
    /// Code-unit offset where each instruction starts, by instruction index.
    pub starts: Vec<u32>,
    /// Start offsets of instructions compiled as a plain exit (unsupported).
    pub unsupported: Vec<u32>,
    /// Every copied stencil, micro-ops first, then exit stubs.
    pub pieces: Vec<Piece>,
    /// Bytes of machine code used (the block is rounded up to pages).
    pub size: usize,
    /// The instrumentation version the code assumes.
    pub version: u64,
}

impl Compiled {
    /// The address to enter the code at instruction `i`.
    pub fn entry(&self, i: usize) -> usize {
        self.memory.address() + self.labels[i] as usize
    }

    /// Whether a deopt at code unit `offset` came from a failed guard (a
    /// speculation that a recompile might get right) rather than from an
    /// instruction jitsaw does not compile.
    pub fn speculative_deopt(&self, offset: u32) -> bool {
        !self.unsupported.contains(&offset)
    }

    /// The index of the instruction starting at code unit `offset`.
    pub fn inst_at(&self, offset: u32) -> Option<usize> {
        self.starts.binary_search(&offset).ok()
    }
}

/// Where each exit stub sits, keyed by what it does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum StubKey {
    /// Back to the interpreter at this instruction, for this reason.
    Deopt { inst: u32, reason: Uop },
    /// Raise from this instruction's micro-op.
    Error { inst: u32, reason: Uop },
}

/// Compiles a program into executable memory.
pub fn compile(program: &Program, linker: &mut Linker) -> Result<Compiled, String> {
    // 1. Lay out every micro-op.
    let mut pieces = Vec::with_capacity(program.uops.len());
    let mut offset = 0u32;
    for (k, u) in program.uops.iter().enumerate() {
        let stencil = u.op.stencil();
        let elide = stencil.ends_with_continue() && k + 1 < program.uops.len();
        let len = stencil.code.len() as u32 - if elide { 5 } else { 0 };
        pieces.push(Piece {
            offset,
            len,
            uop: *u,
        });
        offset += len;
    }
    let end_of_uops = offset;
    let labels: Vec<u32> = program
        .insts
        .iter()
        .map(|i| {
            pieces
                .get(i.first as usize)
                .map_or(end_of_uops, |p| p.offset)
        })
        .collect();

    // 2. Lay out the exit stubs the micro-ops refer to.
    let mut stubs: HashMap<StubKey, u32> = HashMap::new();
    let mut stub_pieces = Vec::new();
    for p in &pieces {
        let stencil = p.uop.op.stencil();
        let inst = &program.insts[p.uop.inst as usize];
        let mut keys = Vec::new();
        if stencil.has(HoleValue::Exit) {
            keys.push(StubKey::Deopt {
                inst: p.uop.inst,
                reason: p.uop.op,
            });
        }
        if stencil.has(HoleValue::Error) {
            keys.push(StubKey::Error {
                inst: p.uop.inst,
                reason: p.uop.op,
            });
        }
        for key in keys {
            if stubs.contains_key(&key) {
                continue;
            }
            let (op, reason, address) = match key {
                StubKey::Deopt { .. } => (Uop::_DEOPT, "deopt", program.unit_address(inst.start)),
                StubKey::Error { .. } => (Uop::_ERROR, "raise", program.unit_address(inst.offset)),
            };
            let counter = (linker.exit_counter)(&format!("{reason}:{}", p.uop.op.name()));
            let uop = UopInst {
                op,
                oparg: counter,
                operand: address,
                inst: p.uop.inst,
                jump: None,
            };
            stubs.insert(key, offset);
            let len = op.stencil().code.len() as u32;
            stub_pieces.push(Piece { offset, len, uop });
            offset += len;
        }
    }
    // An unsupported instruction is a `_DEOPT` in place: give it its counter.
    for p in &mut pieces {
        if p.uop.op == Uop::_DEOPT {
            let opcode = program.insts[p.uop.inst as usize].opcode;
            p.uop.oparg =
                (linker.exit_counter)(&format!("unsupported:{}", crate::frontend::name(opcode)));
        }
    }
    let code_size = offset as usize;

    // 3. Allocate with room for a trampoline per external function, in
    //    case the memory lands out of reach of some (page rounding usually
    //    makes that room free).
    let mut called: Vec<u16> = pieces
        .iter()
        .chain(&stub_pieces)
        .flat_map(|p| p.uop.op.stencil().holes)
        .filter_map(|h| match (h.kind, h.value) {
            (HoleKind::Rel32, HoleValue::Symbol(s)) => Some(s),
            _ => None,
        })
        .collect();
    called.sort_unstable();
    called.dedup();
    let mut memory = CodeMemory::new(code_size + TRAMPOLINE_SIZE * called.len(), linker.anchor)?;
    let base = memory.address();
    let mut trampolines = Trampolines {
        next: code_size,
        slots: HashMap::new(),
    };

    // 4. Copy and patch.
    let all: Vec<&Piece> = pieces.iter().chain(&stub_pieces).collect();
    let bytes = memory.bytes_mut();
    for (k, p) in all.iter().enumerate() {
        let stencil = p.uop.op.stencil();
        let start = p.offset as usize;
        bytes[start..start + p.len as usize].copy_from_slice(&stencil.code[..p.len as usize]);
        let next = if k + 1 < pieces.len() {
            Some(base + all[k + 1].offset as usize)
        } else {
            None
        };
        for hole in stencil.holes.iter().filter(|h| h.offset < p.len) {
            let at = start + hole.offset as usize;
            let target = match hole.value {
                HoleValue::Oparg => p.uop.oparg as usize,
                HoleValue::Operand => p.uop.operand as usize,
                HoleValue::Continue | HoleValue::Resume => {
                    next.ok_or_else(|| format!("{} falls off the code", p.uop.op.name()))?
                }
                HoleValue::JumpTarget => {
                    let to = p
                        .uop
                        .jump
                        .ok_or_else(|| format!("{} without target", p.uop.op.name()))?;
                    base + labels[to as usize] as usize
                }
                HoleValue::Exit => {
                    base + stubs[&StubKey::Deopt {
                        inst: p.uop.inst,
                        reason: p.uop.op,
                    }] as usize
                }
                HoleValue::Error => {
                    base + stubs[&StubKey::Error {
                        inst: p.uop.inst,
                        reason: p.uop.op,
                    }] as usize
                }
                HoleValue::Symbol(s) => linker.symbols[s as usize],
            };
            let value = (target as i64).wrapping_add(hole.addend);
            match hole.kind {
                HoleKind::Abs64 => patch_abs64(bytes, at, value as u64),
                HoleKind::Rel32 => {
                    let here = (base + at) as i64;
                    let mut delta = value - here;
                    if i32::try_from(delta).is_err() {
                        let HoleValue::Symbol(s) = hole.value else {
                            return Err(format!("jump out of range in {}", p.uop.op.name()));
                        };
                        let slot = trampolines.slot(bytes, s, target);
                        delta = (base + slot) as i64 + hole.addend - here;
                    }
                    patch_rel32(bytes, at, delta as i32);
                }
            }
        }
    }
    let size = trampolines.next;
    memory.make_executable()?;
    let mut all_pieces = pieces;
    all_pieces.extend(stub_pieces);
    let starts = program.insts.iter().map(|i| i.start).collect();
    let unsupported = program
        .uops
        .iter()
        .filter(|u| u.op == Uop::_DEOPT)
        .map(|u| program.insts[u.inst as usize].start)
        .collect();
    Ok(Compiled {
        memory,
        labels,
        starts,
        unsupported,
        pieces: all_pieces,
        size,
        version: program.version,
    })
}

/// Writes an 8-byte little-endian value.
pub fn patch_abs64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Writes a 4-byte little-endian displacement.
pub fn patch_rel32(bytes: &mut [u8], at: usize, delta: i32) {
    bytes[at..at + 4].copy_from_slice(&delta.to_le_bytes());
}

/// `jmp [rip+0]` followed by the 8-byte target.
const TRAMPOLINE_SIZE: usize = 14;

/// Indirect jumps to functions a 32-bit displacement cannot reach.
struct Trampolines {
    next: usize,
    slots: HashMap<u16, usize>,
}

impl Trampolines {
    /// The offset of the trampoline to `target`, writing it on first use.
    fn slot(&mut self, bytes: &mut [u8], symbol: u16, target: usize) -> usize {
        *self.slots.entry(symbol).or_insert_with(|| {
            let at = self.next;
            bytes[at..at + 6].copy_from_slice(&[0xFF, 0x25, 0, 0, 0, 0]);
            patch_abs64(bytes, at + 6, target as u64);
            self.next += TRAMPOLINE_SIZE;
            at
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stencils::SYMBOLS;
    use crate::uops::Inst;

    #[test]
    fn patch_helpers_write_little_endian() {
        let mut b = [0u8; 12];
        patch_abs64(&mut b, 2, 0x1122_3344_5566_7788);
        assert_eq!(
            b,
            [0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0, 0]
        );
        patch_rel32(&mut b, 8, -2);
        assert_eq!(&b[8..], &[0xFE, 0xFF, 0xFF, 0xFF]);
    }

    fn inst(start: u32, first: u32, count: u32) -> Inst {
        Inst {
            start,
            offset: start,
            opcode: jitsaw_cpython313::opcode::NOP,
            oparg: 0,
            first,
            count,
        }
    }

    fn uop(op: Uop, oparg: u32, operand: u64, inst: u32, jump: Option<u32>) -> UopInst {
        UopInst {
            op,
            oparg,
            operand,
            inst,
            jump,
        }
    }

    /// Compiles a small program whose external symbols all lie out of rel32
    /// reach, then recomputes every hole from the program and compares.
    #[test]
    fn every_hole_is_patched_byte_exactly() {
        let program = Program {
            insts: vec![inst(0, 0, 2), inst(1, 2, 2), inst(2, 4, 1), inst(3, 5, 1)],
            uops: vec![
                uop(Uop::_LOAD_FAST, 5, 0, 0, None),
                uop(Uop::_GUARD_TOS_INT, 0, 0, 0, None),
                uop(Uop::_LOAD_CONST_INLINE_BORROW, 0, 0xDEAD_BEEF_F00D, 1, None),
                uop(Uop::_UNARY_NEGATIVE, 0, 0, 1, None),
                uop(Uop::_POP_JUMP_IF_TRUE, 0, 0, 2, Some(0)),
                uop(Uop::_POP_FRAME, 0, 0, 3, None),
            ],
            code_start: 0x5555_0000,
            version: 0,
            consts: vec![],
        };
        let symbols: Vec<usize> = (0..SYMBOLS.len())
            .map(|i| 0x7100_0000_0000 + 0x100 * i)
            .collect();
        let mut counter = |_: &str| 42u32;
        let anchor = every_hole_is_patched_byte_exactly as *const () as usize;
        let mut linker = Linker {
            symbols: &symbols,
            exit_counter: &mut counter,
            anchor,
        };
        let c = compile(&program, &mut linker).unwrap();
        let base = c.memory.address();
        let bytes = c.memory.bytes();
        let uop_pieces = &c.pieces[..program.uops.len()];
        assert_eq!(
            c.labels,
            vec![
                uop_pieces[0].offset,
                uop_pieces[2].offset,
                uop_pieces[4].offset,
                uop_pieces[5].offset
            ]
        );
        let read64 = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let read32 = |at: usize| i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        for (k, p) in c.pieces.iter().enumerate() {
            let stencil = p.uop.op.stencil();
            // Holes aside, the copy is the stencil.
            let mut expected = stencil.code[..p.len as usize].to_vec();
            for h in stencil.holes.iter().filter(|h| h.offset < p.len) {
                let w = if h.kind == HoleKind::Abs64 { 8 } else { 4 };
                let at = (p.offset + h.offset) as usize;
                expected[h.offset as usize..h.offset as usize + w]
                    .copy_from_slice(&bytes[at..at + w]);
            }
            assert_eq!(
                &bytes[p.offset as usize..(p.offset + p.len) as usize],
                &expected[..]
            );
            if (p.len as usize) < stencil.code.len() {
                assert_eq!(
                    c.pieces[k + 1].offset,
                    p.offset + p.len,
                    "an elided jump falls through"
                );
            }
            for h in stencil.holes.iter().filter(|h| h.offset < p.len) {
                let at = (p.offset + h.offset) as usize;
                let target = match h.value {
                    HoleValue::Oparg => p.uop.oparg as u64,
                    HoleValue::Operand => p.uop.operand,
                    HoleValue::Continue | HoleValue::Resume => {
                        (base + c.pieces[k + 1].offset as usize) as u64
                    }
                    HoleValue::JumpTarget => {
                        (base + c.labels[p.uop.jump.unwrap() as usize] as usize) as u64
                    }
                    HoleValue::Exit | HoleValue::Error => {
                        let want = if h.value == HoleValue::Exit {
                            Uop::_DEOPT
                        } else {
                            Uop::_ERROR
                        };
                        let stub = c
                            .pieces
                            .iter()
                            .find(|s| s.uop.op == want && s.uop.inst == p.uop.inst)
                            .unwrap();
                        assert_eq!(stub.uop.oparg, 42, "the stub counts its exit");
                        let inst = &program.insts[p.uop.inst as usize];
                        let resume = if want == Uop::_DEOPT {
                            inst.start
                        } else {
                            inst.offset
                        };
                        assert_eq!(stub.uop.operand, program.unit_address(resume));
                        (base + stub.offset as usize) as u64
                    }
                    HoleValue::Symbol(s) => symbols[s as usize] as u64,
                };
                match h.kind {
                    HoleKind::Abs64 => assert_eq!(read64(at), target.wrapping_add(h.addend as u64)),
                    HoleKind::Rel32 => {
                        let dest = (base + at) as i64 + read32(at) as i64 - h.addend;
                        if let HoleValue::Symbol(s) = h.value {
                            // Out of reach: through `jmp [rip+0]; .quad target`.
                            let t = (dest as usize) - base;
                            assert_eq!(&bytes[t..t + 6], &[0xFF, 0x25, 0, 0, 0, 0]);
                            assert_eq!(read64(t + 6), symbols[s as usize] as u64);
                        } else {
                            assert_eq!(dest as u64, target);
                        }
                    }
                }
            }
        }
    }
}
