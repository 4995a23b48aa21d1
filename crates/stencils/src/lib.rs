//! jitsaw's stencils: one function per micro-op, compiled once at build time
//! into machine code with holes.
//!
//! Every stencil has the same signature: the frame, the stack pointer and the
//! thread state arrive in registers (`extern "rust-preserve-none"` puts them in
//! r12, r13, r14, which survive calls into C) and the stencil ends by jumping
//! to a continuation with `become` (a guaranteed tail call). The continuations
//! and constants are *holes*: undefined symbols that `crates/jitsaw/build.rs`
//! finds in the relocations and the JIT patches when it copies the stencil:
//!
//! | hole                | patched with                                        |
//! |---------------------|-----------------------------------------------------|
//! | `_JIT_OPARG`        | the micro-op's oparg (a 32-bit immediate)           |
//! | `_JIT_OPERAND`      | its operand (64 bits, or 32 through `operand32`)    |
//! | `_JIT_CONTINUE`     | the next micro-op                                   |
//! | `_JIT_JUMP_TARGET`  | the code of the instruction a jump goes to          |
//! | `_JIT_EXIT`         | a stub returning to the interpreter (deopt)         |
//! | `_JIT_ERROR`        | a stub leaving with the exception set (raise)       |
//!
//! Any other undefined symbol must be a CPython API function or data, or a
//! `jitsaw_*` helper from the extension. The build rejects anything else, and
//! any continuation reached by `call` instead of `jmp`.
//!
//! Stencils must not panic: no slice indexing, no arithmetic that can
//! overflow-check, no formatting. Cold paths with data (error messages) live
//! in the runtime helpers (`crates/jitsaw/src/runtime.rs`).
#![no_std]
#![feature(cold_path, explicit_tail_calls, likely_unlikely, rust_preserve_none_cc)]
#![allow(incomplete_features, non_snake_case, clippy::missing_safety_doc)]

#[macro_use]
mod abi;
mod helpers;
mod objects;
mod ops;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Never linked into a stencil: any path reaching it would reference
    // `rust_begin_unwind` and fail the build's symbol check.
    loop {}
}
