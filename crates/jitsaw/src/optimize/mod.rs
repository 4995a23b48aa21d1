//! Optimizer: micro-ops → better micro-ops. Each pass is a small function
//! from `Program` to `Program` with its own tests; later passes (refcount
//! elision, unboxing) join here.

pub mod borrow;
pub mod classes;
pub mod depth;
pub mod fuse;
pub mod globals;
pub mod inline;
pub mod loops;
pub mod raw;
pub mod types;

use crate::uops::{Program, Uop, UopInst};

/// An optimizer pass.
type Pass = fn(Program) -> Program;

/// Runs every pass in order.
pub fn optimize(program: Program) -> Program {
    optimize_traced(program, &mut |_, _| {})
}

/// Runs every pass in order, showing `trace` the program after each (by
/// the pass's name), for dumps.
pub fn optimize_traced(program: Program, trace: &mut dyn FnMut(&str, &Program)) -> Program {
    let passes: [(&str, Pass); 13] = [
        ("inline_constants", inline_constants),
        ("burn_globals", globals::burn_globals),
        ("remove_guards", types::remove_guards),
        ("cache_attributes", cache_attributes),
        ("remove_nops", remove_nops),
        ("borrow_operands", borrow::borrow_operands),
        (
            "remove_repeated_class_guards",
            classes::remove_repeated_class_guards,
        ),
        ("fuse_local_operands", fuse::fuse_local_operands),
        ("mask_comparisons", mask_comparisons),
        ("compute_in_words", raw::compute_in_words),
        ("keep_loops_in_words", loops::keep_loops_in_words),
        ("unpack_into_locals", fuse::unpack_into_locals),
        ("inline_calls", inline::inline_calls),
    ];
    passes.into_iter().fold(program, |program, (name, pass)| {
        let program = pass(program);
        trace(name, &program);
        program
    })
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

/// Generic attribute loads and stores (instructions the interpreter did not
/// specialize, or whose specialization stopped fitting: the fallback of a
/// specialized one) get a per-site cache of the types they see, so that a
/// site serving several classes, or a class whose instances gained
/// attributes since the bytecode was specialized, finds attributes without
/// a full lookup (the interpreter would re-specialize for one type). A hit
/// on an inline value runs no Python code, so it jumps to the next
/// instruction, past the validity check the escaping instruction is given
/// (`frontend::lower`), which only the full lookup needs.
pub fn cache_attributes(mut program: Program) -> Program {
    for u in &mut program.uops {
        let cached = match u.op {
            // A method call's load has paths of its own.
            Uop::_LOAD_ATTR if u.oparg & 1 != 0 => Uop::_LOAD_ATTR_CACHED_METHOD,
            Uop::_LOAD_ATTR => Uop::_LOAD_ATTR_CACHED,
            Uop::_STORE_ATTR => Uop::_STORE_ATTR_CACHED,
            _ => continue,
        };
        u.op = cached;
        u.jump = Some(u.inst + 1);
    }
    program
}

/// A specialized int or float comparison reads only its oparg's low four
/// bits (which outcomes are true: less, greater, equal, unordered); the
/// rest (the operator, the to-bool bit) would only keep the JIT from
/// copying the stencil compiled for that mask (`_COMPARE_OP_INT__2` is
/// `<`, see `replicated_stencil!`).
pub fn mask_comparisons(mut program: Program) -> Program {
    for u in &mut program.uops {
        if compares_by_mask(u.op) {
            u.oparg &= 15;
        }
    }
    program
}

/// Whether `op` is an int or float comparison reading only its oparg's
/// mask of true outcomes.
pub(super) fn compares_by_mask(op: Uop) -> bool {
    matches!(
        op,
        Uop::_COMPARE_OP_INT
            | Uop::_COMPARE_OP_INT_BORROWED
            | Uop::_COMPARE_OP_INT_BORROWED_RIGHT
            | Uop::_COMPARE_OP_FLOAT
            | Uop::_COMPARE_OP_FLOAT_BORROWED
            | Uop::_COMPARE_OP_FLOAT_BORROWED_RIGHT
    )
}

/// The local that instruction `i` stores to when its code is one store
/// to a local (`_STORE_FAST` or its int and float forms) without a
/// fallback, and an instruction follows it: where an operation that writes
/// its result into that local's object goes on, past the store.
fn lone_store(program: &Program, i: usize) -> Option<u32> {
    let [u] = program.uops_of(i) else {
        return None;
    };
    let stores = matches!(
        u.op,
        Uop::_STORE_FAST | Uop::_STORE_FAST_FLOAT | Uop::_STORE_FAST_INT
    );
    (stores && program.insts[i].fallback_count == 0 && i + 1 < program.insts.len())
        .then_some(u.oparg)
}

/// Counting mode: counts each micro-op's runs, in `counters[op]` (the
/// address of a `u64` array indexed by micro-op number), with a `_COUNT_RUN`
/// before it.
pub fn count_uops(program: Program, counters: u64) -> Program {
    rewrite(program, |u, out| {
        if u.op != Uop::_COUNT_RUN {
            out.push(UopInst {
                op: Uop::_COUNT_RUN,
                oparg: 0,
                operand: counters + 8 * u.op as u64,
                inst: u.inst,
                jump: None,
            });
        }
        out.push(*u);
    })
}

/// Drops `_NOP`s (instructions keep their labels, which then point at the
/// next micro-op).
pub fn remove_nops(program: Program) -> Program {
    rewrite(program, |u, out| {
        if u.op != Uop::_NOP {
            out.push(*u);
        }
    })
}

/// Replaces each micro-op by what `f` pushes for it, fixing each
/// instruction's ranges (its main micro-ops, then its generic fallback).
fn rewrite(program: Program, mut f: impl FnMut(&UopInst, &mut Vec<UopInst>)) -> Program {
    rewrite_ranges(program, |_, _, uops, out| {
        uops.iter().for_each(|u| f(u, out))
    })
}

/// Replaces each instruction's micro-ops, then each one's fallback, by what
/// `f` pushes for them (called with the instruction's index and whether
/// these are its fallback's), fixing the ranges.
fn rewrite_ranges(
    mut program: Program,
    mut f: impl FnMut(usize, bool, &[UopInst], &mut Vec<UopInst>),
) -> Program {
    let mut uops = Vec::with_capacity(program.uops.len());
    for (i, inst) in program.insts.iter_mut().enumerate() {
        let old = &program.uops[inst.first as usize..(inst.first + inst.count) as usize];
        inst.first = uops.len() as u32;
        f(i, false, old, &mut uops);
        inst.count = uops.len() as u32 - inst.first;
    }
    for (i, inst) in program.insts.iter_mut().enumerate() {
        let old =
            &program.uops[inst.fallback as usize..(inst.fallback + inst.fallback_count) as usize];
        inst.fallback = uops.len() as u32;
        f(i, true, old, &mut uops);
        inst.fallback_count = uops.len() as u32 - inst.fallback;
    }
    program.uops = uops;
    program
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::uops::Inst;

    /// A micro-op of instruction `inst`, without operand or jump.
    pub(crate) fn uop(op: Uop, oparg: u32, inst: u32) -> UopInst {
        UopInst {
            op,
            oparg,
            operand: 0,
            inst,
            jump: None,
        }
    }

    /// Every micro-op of the program, main paths and fallbacks, in order.
    pub(crate) fn all_ops(p: &Program) -> Vec<Uop> {
        p.uops.iter().map(|u| u.op).collect()
    }

    /// One instruction per group, in order (code units two apart), its
    /// micro-ops made by `uop_of` from the group's items and the
    /// instruction's index; no fallbacks.
    pub(crate) fn program_of<T: Copy>(
        groups: &[&[T]],
        uop_of: impl Fn(T, u32) -> UopInst,
    ) -> Program {
        let mut p = Program::default();
        for (i, group) in groups.iter().enumerate() {
            p.insts.push(Inst {
                start: 2 * i as u32,
                offset: 2 * i as u32,
                ..inst(p.uops.len() as u32, group.len() as u32, 0, 0)
            });
            p.uops
                .extend(group.iter().map(|&item| uop_of(item, i as u32)));
        }
        let end = p.uops.len() as u32;
        for inst in &mut p.insts {
            inst.fallback = end;
        }
        p
    }

    /// An instruction whose micro-ops are `count` from `first` and whose
    /// fallback `fallback_count` from `fallback`.
    pub(crate) fn inst(first: u32, count: u32, fallback: u32, fallback_count: u32) -> Inst {
        Inst {
            start: 0,
            offset: 0,
            opcode: 0,
            oparg: 0,
            first,
            count,
            fallback,
            fallback_count,
        }
    }

    /// Two instructions: `LOAD_CONST 0` (with a `_NOP` before it) and a
    /// `LOAD_CONST 1` whose fallback is one `_LOAD_CONST`.
    fn program() -> Program {
        Program {
            insts: vec![inst(0, 2, 3, 0), inst(2, 1, 3, 1)],
            uops: vec![
                uop(Uop::_NOP, 0, 0),
                uop(Uop::_LOAD_CONST, 0, 0),
                uop(Uop::_LOAD_CONST, 1, 1),
                uop(Uop::_LOAD_CONST, 1, 1),
            ],
            consts: vec![(0x1000, true), (0x2000, false)],
            ..Program::default()
        }
    }

    fn ops(p: &Program, i: usize) -> Vec<Uop> {
        p.uops_of(i).iter().map(|u| u.op).collect()
    }

    #[test]
    fn comparisons_keep_only_their_mask() {
        // `if a < b` (operator 0, to-bool 16, less 2), `a != b` (operator
        // 3, unordered, less or greater 7), a generic `==`.
        let (lt, ne, eq) = (16 | 2, (3 << 5) | 7, (2 << 5) | 16 | 8);
        let p = mask_comparisons(Program {
            uops: vec![
                uop(Uop::_COMPARE_OP_INT_BORROWED, lt, 0),
                uop(Uop::_COMPARE_OP_FLOAT, ne, 0),
                uop(Uop::_COMPARE_OP, eq, 0),
            ],
            ..Program::default()
        });
        let opargs: Vec<u32> = p.uops.iter().map(|u| u.oparg).collect();
        assert_eq!(opargs, [2, 7, eq]);
    }

    #[test]
    fn constants_are_burned_in_and_immortals_borrowed() {
        let p = inline_constants(program());
        assert_eq!(p.uops[1].op, Uop::_LOAD_CONST_INLINE_BORROW);
        assert_eq!(p.uops[1].operand, 0x1000);
        assert_eq!(p.uops[2].op, Uop::_LOAD_CONST_INLINE);
        assert_eq!(p.uops[2].operand, 0x2000);
        assert_eq!(p.fallback_of(1)[0].op, Uop::_LOAD_CONST_INLINE);
    }

    #[test]
    fn attribute_accesses_get_caches_in_place() {
        let mut p = program();
        p.uops[2].op = Uop::_LOAD_ATTR;
        p.uops[2].oparg = 2;
        p.uops[3].op = Uop::_STORE_ATTR;
        let method = {
            let mut p = program();
            p.uops[2].op = Uop::_LOAD_ATTR;
            p.uops[2].oparg = 3;
            cache_attributes(p).uops[2].op
        };
        assert_eq!(method, Uop::_LOAD_ATTR_CACHED_METHOD);
        let p = cache_attributes(p);
        let ops: Vec<Uop> = p.uops.iter().map(|u| u.op).collect();
        assert_eq!(
            ops,
            [
                Uop::_NOP,
                Uop::_LOAD_CONST,
                Uop::_LOAD_ATTR_CACHED,
                Uop::_STORE_ATTR_CACHED
            ]
        );
        assert!(ops.iter().all(|&op| op.has_site_cache()
            == matches!(op, Uop::_LOAD_ATTR_CACHED | Uop::_STORE_ATTR_CACHED)));
        assert!(method.has_site_cache());
        // A hit goes on at the next instruction.
        for u in &p.uops[2..] {
            assert_eq!(u.jump, Some(u.inst + 1));
        }
        assert_eq!(p.uops[1].jump, None);
        // Same stack effects as what they replace.
        for (new, old) in [
            (Uop::_LOAD_ATTR_CACHED, Uop::_LOAD_ATTR),
            (Uop::_LOAD_ATTR_CACHED_METHOD, Uop::_LOAD_ATTR),
            (Uop::_STORE_ATTR_CACHED, Uop::_STORE_ATTR),
        ] {
            for oparg in 0..4 {
                assert_eq!((new.def().effect)(oparg), (old.def().effect)(oparg));
            }
        }
    }

    #[test]
    fn nops_go_and_ranges_follow() {
        let p = remove_nops(program());
        assert_eq!(ops(&p, 0), [Uop::_LOAD_CONST]);
        assert_eq!(ops(&p, 1), [Uop::_LOAD_CONST]);
        assert_eq!(p.fallback_of(1).len(), 1);
        assert_eq!(p.uops.len(), 3);
    }

    #[test]
    fn every_uop_gets_its_counter() {
        let p = count_uops(remove_nops(program()), 0x8000);
        assert_eq!(ops(&p, 0), [Uop::_COUNT_RUN, Uop::_LOAD_CONST]);
        let counter = p.uops_of(0)[0].operand;
        assert_eq!(counter, 0x8000 + 8 * Uop::_LOAD_CONST as u64);
        assert_eq!(p.fallback_of(1).len(), 2);
        // Counting twice does not count the counters.
        let again = count_uops(p.clone(), 0x8000);
        assert_eq!(again.uops.len(), p.uops.len() + 3);
    }
}
