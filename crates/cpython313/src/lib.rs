//! Every CPython 3.13 fact jitsaw relies on, in one place.
//!
//! The numbers (struct offsets, constants, opcode and micro-op tables) are
//! generated at build time by `probe.c`, compiled against the headers of the
//! interpreter jitsaw is built for. The `#[repr(C)]` mirrors in [`layout`]
//! are written by hand for readability and checked field by field against
//! those generated offsets at compile time, so a layout mistake cannot build.
//!
//! This crate is `no_std` because the stencils (machine-code templates) are
//! compiled against it too.
#![no_std]
#![allow(non_upper_case_globals, clippy::all)]

/// A name in one of the generated tables: a span of the table's `NAMES`
/// (`opcode::NAMES`, `uop::NAMES`), not a `&str`, so that the tables hold no
/// pointer for the dynamic linker to relocate when the extension loads.
#[derive(Clone, Copy, Debug)]
pub struct Name {
    at: u16,
    len: u16,
}

impl Name {
    const fn new(at: u16, len: u16) -> Name {
        Name { at, len }
    }

    fn of(self, names: &'static str) -> &'static str {
        &names[self.at as usize..(self.at + self.len) as usize]
    }
}

/// One entry of the interpreter's per-opcode metadata.
#[derive(Clone, Copy, Debug)]
pub struct OpcodeInfo {
    /// The opcode's name (`""` for unused numbers): see [`OpcodeInfo::name`].
    name: Name,
    /// Number of inline cache code units after the instruction.
    pub caches: u8,
    /// The generic instruction a specialized one belongs to (`_PyOpcode_Deopt`).
    pub deopt: u8,
    /// `HAS_*_FLAG` bits.
    pub flags: u32,
    /// Whether the interpreter defines this opcode.
    pub valid: bool,
}

/// An instruction's expansion into micro-ops (`_PyOpcode_macro_expansion`).
#[derive(Clone, Copy, Debug)]
pub struct Expansion {
    /// Number of micro-ops (0: the instruction has no expansion).
    pub nuops: i32,
    /// `(uop, size, offset)`: size is an `OPARG_*` code; offset is in cache units.
    pub uops: [(i16, i8, i8); 8],
}

/// One entry of the interpreter's micro-op metadata.
#[derive(Clone, Copy, Debug)]
pub struct UopInfo {
    /// The micro-op's name (`""` for unused numbers): see [`UopInfo::name`].
    name: Name,
    /// `HAS_*_FLAG` bits (`_PyUop_Flags`).
    pub flags: u16,
    /// `_PyUop_num_popped(uop, oparg)` for oparg in `0..opcode::OPARG_SAMPLES`.
    pub popped: [i16; 20],
}

include!(concat!(env!("OUT_DIR"), "/cpython313_gen.rs"));

impl OpcodeInfo {
    /// The opcode's name (`""` for unused numbers).
    pub fn name(&self) -> &'static str {
        self.name.of(opcode::NAMES)
    }
}

impl UopInfo {
    /// The micro-op's name (`""` for unused numbers).
    pub fn name(&self) -> &'static str {
        self.name.of(uop::NAMES)
    }
}

pub mod exception_table;
pub mod ffi;
pub mod inline;
pub mod layout;
pub mod shared;

/// Inline cache entries of `opcode` (0 for invalid opcodes).
pub const fn caches(op: u8) -> usize {
    opcode::OPCODE_INFO[op as usize].caches as usize
}

/// The generic instruction a (possibly specialized) opcode belongs to.
pub const fn deopt(op: u8) -> u8 {
    opcode::OPCODE_INFO[op as usize].deopt
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each table entry's name span reads its own name out of `NAMES`.
    #[test]
    fn names_read_their_own_spans() {
        assert_eq!(
            opcode::OPCODE_INFO[opcode::BINARY_OP as usize].name(),
            "BINARY_OP"
        );
        assert_eq!(opcode::OPCODE_INFO[0].name(), "CACHE");
        assert_eq!(
            uop::UOP_INFO[uop::_BINARY_OP_ADD_INT as usize].name(),
            "_BINARY_OP_ADD_INT"
        );
        let total: usize = opcode::OPCODE_INFO.iter().map(|i| i.name().len()).sum();
        assert_eq!(total, opcode::NAMES.len());
        let total: usize = uop::UOP_INFO.iter().map(|i| i.name().len()).sum();
        assert_eq!(total, uop::NAMES.len());
    }
}
