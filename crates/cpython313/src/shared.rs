//! Conventions shared by jitsaw's stencils and its runtime (not CPython
//! facts, but this is the one crate both are built against).

/// What compiled code returns when an exception is set.
pub const STATUS_ERROR: usize = 0;
/// What compiled code returns to be resumed by the interpreter at
/// `frame->instr_ptr`.
pub const STATUS_DEOPT: usize = 1;
/// `return_offset` of a frame that compiled code entered directly from a
/// compiled caller: its return jumps back into the caller, whose resume
/// address waits in the caller's first free stack slot.
pub const INLINE_RETURN: u16 = 0xFFFF;
/// Words of storage for the stencils' int freelist: four list heads, then
/// four counts.
pub const INT_FREELIST_WORDS: usize = 8;
/// Blocks kept per int freelist class.
pub const INT_FREELIST_MAX: u64 = 64;
/// What compiled code returns when it re-raises (`RERAISE`, bare `raise`):
/// the exception is set and the frame's stack, `instr_ptr` at the raising
/// instruction, is unwound without adding a traceback entry.
pub const STATUS_RERAISE: usize = 2;
/// What compiled code returns when a generator frame yields: the frame is
/// suspended (`instr_ptr` at the next instruction, the generator's state
/// set) and the value yielded lies just above its stack top.
pub const STATUS_YIELD: usize = 3;
