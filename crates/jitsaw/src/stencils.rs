//! The stencil table generated at build time (see `build.rs`) and the types
//! it is written in.

/// How a hole's bytes are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleKind {
    /// `value + addend`, 8 bytes.
    Abs64,
    /// `value + addend`, 4 bytes (a zero-extended 32-bit immediate): the
    /// value must fit.
    Abs32,
    /// `value + addend - address of the hole`, 4 bytes.
    Rel32,
}

/// What a hole is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleValue {
    /// The micro-op's oparg.
    Oparg,
    /// The micro-op's operand.
    Operand,
    /// The low 32 bits of the micro-op's operand (see `set_instr_ptr` in
    /// the stencils).
    OperandLow32,
    /// The next micro-op.
    Continue,
    /// The micro-op's jump target.
    JumpTarget,
    /// The deopt stub for the micro-op's instruction.
    Exit,
    /// The error stub for the micro-op's instruction.
    Error,
    /// The next micro-op's address, as data.
    Resume,
    /// Where this stencil's hot part was copied (a branch back from its
    /// cold part).
    Hot,
    /// Where this stencil's cold part was copied (a branch from its hot
    /// part).
    Cold,
    /// An external symbol: an index into [`SYMBOLS`].
    Symbol(u16),
}

/// A place to patch.
#[derive(Clone, Copy, Debug)]
pub struct Hole {
    /// Byte offset in the stencil.
    pub offset: u32,
    /// How to compute the bytes.
    pub kind: HoleKind,
    /// What to compute them from.
    pub value: HoleValue,
    /// Constant added to the value.
    pub addend: i64,
}

/// One micro-op's machine-code template.
#[derive(Debug)]
pub struct Stencil {
    /// The micro-op's name.
    pub name: &'static str,
    /// Machine code with zeroed holes: the hot part, copied in line, then
    /// the cold part, copied after the main code (see `relax` in
    /// `jitsaw-stencil-build`).
    pub code: &'static [u8],
    /// Length of the hot part.
    pub hot_len: usize,
    /// Places to patch, by offset.
    pub holes: &'static [Hole],
    /// Whether it calls through a pointer (a type slot, a vectorcall
    /// function), which no hole names.
    pub calls_indirectly: bool,
}

include!(concat!(env!("OUT_DIR"), "/stencils_gen.rs"));

/// The stencil of a micro-op, by name.
pub fn by_name(name: &str) -> Option<&'static Stencil> {
    STENCILS
        .binary_search_by(|s| s.name.cmp(name))
        .ok()
        .map(|i| &STENCILS[i])
}

impl Stencil {
    /// Whether the stencil ends with `jmp _JIT_CONTINUE`, which can be
    /// dropped when the next micro-op is laid out right after it.
    pub fn ends_with_continue(&self) -> bool {
        let n = self.hot_len;
        n >= 5
            && self.code[n - 5] == 0xE9
            && self.holes.iter().any(|h| {
                h.offset as usize == n - 4
                    && h.value == HoleValue::Continue
                    && h.kind == HoleKind::Rel32
            })
    }

    /// The code copied in line.
    pub fn hot(&self) -> &'static [u8] {
        &self.code[..self.hot_len]
    }

    /// The code copied after the main code (empty if none).
    pub fn cold(&self) -> &'static [u8] {
        &self.code[self.hot_len..]
    }

    /// Whether any hole refers to `value`.
    pub fn has(&self, value: HoleValue) -> bool {
        self.holes.iter().any(|h| h.value == value)
    }

    /// Whether the stencil calls an external function (C code that may run
    /// Python code, so `frame->instr_ptr` must be current).
    pub fn calls_out(&self) -> bool {
        self.calls_out_except(&[])
    }

    /// Whether the stencil calls an external function other than `these`
    /// (any call through a pointer counts).
    pub fn calls_out_except(&self, these: &[&str]) -> bool {
        self.calls_indirectly
            || self.holes.iter().any(|h| match h.value {
                HoleValue::Symbol(s) => {
                    h.kind == HoleKind::Rel32 && !these.contains(&SYMBOLS[s as usize])
                }
                _ => false,
            })
    }
}
