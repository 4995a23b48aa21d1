//! The build-time half of jitsaw's copy-and-patch JIT.
//!
//! [`compile`] runs rustc on the stencils crate with the flags that make each
//! function a patchable template; [`parse`] reads the object file into
//! [`Stencil`]s (code bytes plus [`Hole`]s); [`relax`] shortens their
//! branches and splits off their cold part; [`check`] rejects anything the
//! JIT could not patch safely; [`emit`] writes the Rust tables embedded in the
//! extension, with each stencil's disassembly as a comment for review.
//!
//! Nothing here runs when the JIT compiles Python code: the installed
//! extension needs only the emitted tables.

mod check;
mod compile;
mod emit;
mod parse;
mod relax;

pub use check::{check, SymbolPolicy};
pub use compile::{compile, CompileOptions};
pub use emit::emit;
pub use parse::parse;
pub use relax::relax;

/// How a hole's bytes are computed from its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleKind {
    /// `value + addend` as 8 little-endian bytes (`R_X86_64_64`).
    Abs64,
    /// `value + addend` as 4 little-endian bytes, zero-extended when used
    /// (`R_X86_64_32`): operands known to fit in 32 bits, which the JIT
    /// checks when patching.
    Abs32,
    /// `value + addend - address_of_hole` as 4 bytes (`R_X86_64_PC32/PLT32`).
    Rel32,
}

/// What a hole is filled with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoleValue {
    /// The micro-op's oparg.
    Oparg,
    /// The micro-op's 64-bit operand.
    Operand,
    /// The low 32 bits of the micro-op's operand (an instruction address
    /// whose high half `frame->instr_ptr` already holds).
    OperandLow32,
    /// The next micro-op.
    Continue,
    /// The micro-op's jump target.
    JumpTarget,
    /// The deopt stub of the micro-op's instruction.
    Exit,
    /// The error stub of the micro-op's instruction.
    Error,
    /// The address of the next micro-op, as data (where a call returns).
    Resume,
    /// This stencil's hot part, where it is copied (a branch from the cold
    /// part back into it, the addend holding the offset; or, as data, the
    /// micro-op's own address: `_JIT_HERE`).
    Hot,
    /// This stencil's cold part, where it is copied (a branch from the hot
    /// part into it).
    Cold,
    /// The address of an external function or datum (CPython or a helper).
    Symbol(String),
}

impl HoleValue {
    /// The value a `_JIT_*` symbol names, if it is a hole.
    pub fn from_hole_symbol(name: &str) -> Option<HoleValue> {
        Some(match name {
            "_JIT_OPARG" => HoleValue::Oparg,
            "_JIT_OPERAND" => HoleValue::Operand,
            "_JIT_OPERAND_LOW32" => HoleValue::OperandLow32,
            "_JIT_CONTINUE" => HoleValue::Continue,
            "_JIT_JUMP_TARGET" => HoleValue::JumpTarget,
            "_JIT_EXIT" => HoleValue::Exit,
            "_JIT_ERROR" => HoleValue::Error,
            "_JIT_RESUME" => HoleValue::Resume,
            // The stencil's own address, as data: a continuation that comes
            // back to the same micro-op (`here_address` in the stencils).
            "_JIT_HERE" => HoleValue::Hot,
            _ => return None,
        })
    }

    /// Whether the hole is another piece of JIT code (reached by a jump).
    pub fn is_continuation(&self) -> bool {
        matches!(
            self,
            HoleValue::Continue
                | HoleValue::JumpTarget
                | HoleValue::Exit
                | HoleValue::Error
                | HoleValue::Hot
                | HoleValue::Cold
        )
    }
}

/// A place in a stencil to patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hole {
    /// Byte offset of the patched field in the stencil's code.
    pub offset: usize,
    /// How the field is computed.
    pub kind: HoleKind,
    /// What it refers to.
    pub value: HoleValue,
    /// Constant added to the value (e.g. -4 for a rel32 at the end of a jump).
    pub addend: i64,
}

/// One micro-op's machine-code template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stencil {
    /// The micro-op's name (the function's symbol).
    pub name: String,
    /// The machine code, holes zeroed: the hot part, then the cold part.
    pub code: Vec<u8>,
    /// Length of the hot part (all of `code` when there is no cold part):
    /// the code copied in line, where the cold part goes after the
    /// function's main code.
    pub hot_len: usize,
    /// The places to patch, by offset.
    pub holes: Vec<Hole>,
}

/// Whether a stencil may end with `ret` (it leaves compiled code).
pub fn may_return(name: &str) -> bool {
    matches!(
        name,
        "_JIT_ENTRY"
            | "_DEOPT"
            | "_DEOPT_TAIL"
            | "_ERROR_TAIL"
            | "_POP_FRAME"
            | "_RERAISE"
            | "_RAISE_VARARGS"
            | "_YIELD_VALUE"
            | "_CLEANUP_THROW"
            | "_END_ASYNC_FOR"
    )
}

/// Whether a stencil may jump through a register: into another function's
/// compiled code (a call) or back to a caller's (a return).
pub fn may_jump_indirect(name: &str) -> bool {
    matches!(
        name,
        "_CALL"
            | "_LOAD_ATTR_CACHED"
            | "_LOAD_ATTR_CACHED_BORROWED"
            | "_CALL_KW"
            | "_CALL_FUNCTION_EX"
            | "_CALL_ALLOC_AND_ENTER_INIT"
            | "_FOR_ITER"
            | "_CONSUME_GENEXPR"
            | "_CONSUME_GENEXPR_NEXT"
            | "_SEND"
            | "_SEND_ASYNC_FOR"
            | "_POP_FRAME"
            | "_YIELD_VALUE"
            | "_INIT_RETURN"
    )
}

/// Whether a defined function symbol names a stencil (CPython-style
/// micro-op names such as `_LOAD_FAST`, plus `_JIT_ENTRY`).
pub fn is_stencil_name(name: &str) -> bool {
    name.len() > 1
        && name.starts_with('_')
        && name[1..].starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Whether an external symbol is one of the runtime's `jitsaw_*` helpers,
/// which the extension supplies at run time; every other is CPython's.
pub fn is_helper(name: &str) -> bool {
    name.starts_with("jitsaw_")
}
