//! Optimizer: micro-ops → better micro-ops. Each pass is a small function
//! from `Program` to `Program` with its own tests; later passes (type
//! propagation, guard removal, refcount elision, unboxing) join here.

use crate::uops::{Program, Uop, UopInst};

/// Runs every pass in order.
pub fn optimize(program: Program) -> Program {
    let program = inline_constants(program);
    remove_nops(program)
}

/// `_LOAD_CONST` reads `co_consts` at run time; the constant is known when
/// compiling, so push it directly, and without touching its refcount when it
/// is immortal (`None`, small ints, interned strings...).
pub fn inline_constants(mut program: Program) -> Program {
    for u in &mut program.uops {
        if u.op == Uop::_LOAD_CONST {
            let (address, immortal) = program.consts[u.oparg as usize];
            u.op = if immortal {
                Uop::_LOAD_CONST_INLINE_BORROW
            } else {
                Uop::_LOAD_CONST_INLINE
            };
            u.operand = address;
        }
    }
    program
}

/// Drops `_NOP`s (instructions keep their labels, which then point at the
/// next micro-op).
pub fn remove_nops(program: Program) -> Program {
    retain(program, |u| u.op != Uop::_NOP)
}

/// Keeps the micro-ops `keep` accepts, fixing each instruction's ranges.
fn retain(mut program: Program, keep: impl Fn(&UopInst) -> bool) -> Program {
    let mut uops = Vec::with_capacity(program.uops.len());
    for inst in &mut program.insts {
        let old = &program.uops[inst.first as usize..(inst.first + inst.count) as usize];
        inst.first = uops.len() as u32;
        uops.extend(old.iter().filter(|u| keep(u)).copied());
        inst.count = uops.len() as u32 - inst.first;
    }
    for inst in &mut program.insts {
        let old =
            &program.uops[inst.fallback as usize..(inst.fallback + inst.fallback_count) as usize];
        inst.fallback = uops.len() as u32;
        uops.extend(old.iter().filter(|u| keep(u)).copied());
        inst.fallback_count = uops.len() as u32 - inst.fallback;
    }
    program.uops = uops;
    program
}
