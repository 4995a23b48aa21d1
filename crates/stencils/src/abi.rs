//! The stencil calling convention, its holes, and the macros that keep every
//! stencil's shape identical.

pub use crate::objects::{
    compact_pair, decref, decref_quietly, float_decref, float_new, float_reusable, int_decref,
    int_new, int_result, int_value, xdecref,
};
pub use jitsaw_cpython313::inline::*;
pub use jitsaw_cpython313::layout::PyObject;
use jitsaw_cpython313::layout::{Frame as FrameT, PyThreadState};

/// The frame being executed (r12).
pub type Frame = *mut FrameT;
/// The value-stack pointer: one past the top of stack, as in CPython (r13).
pub type Sp = *mut *mut PyObject;
/// The thread state (r14).
pub type Ts = *mut PyThreadState;
/// What the chain returns to the entry trampoline: a status or the result.
pub type Ret = *mut PyObject;

/// Returned when an exception is set; the frame holds `instr_ptr` and depth.
pub const STATUS_ERROR: Ret = jitsaw_cpython313::shared::STATUS_ERROR as Ret;
/// Returned when the interpreter should resume at `frame->instr_ptr`.
pub const STATUS_DEOPT: Ret = jitsaw_cpython313::shared::STATUS_DEOPT as Ret;

/// Returned when the frame re-raises (see `shared::STATUS_RERAISE`).
pub const STATUS_RERAISE: Ret = jitsaw_cpython313::shared::STATUS_RERAISE as Ret;

/// Returned when a generator frame yields (see `shared::STATUS_YIELD`).
pub const STATUS_YIELD: Ret = jitsaw_cpython313::shared::STATUS_YIELD as Ret;

/// A continuation, called or jumped to through a pointer.
pub type Continuation = unsafe extern "rust-preserve-none" fn(Frame, Sp, Ts) -> Ret;

extern "rust-preserve-none" {
    /// The next micro-op.
    pub fn _JIT_CONTINUE(f: Frame, sp: Sp, ts: Ts) -> Ret;
    /// The target of a jump.
    pub fn _JIT_JUMP_TARGET(f: Frame, sp: Sp, ts: Ts) -> Ret;
    /// Back to the interpreter at this instruction, stack as it is (deopt).
    pub fn _JIT_EXIT(f: Frame, sp: Sp, ts: Ts) -> Ret;
    /// Leave with an exception set; `sp` already excludes consumed inputs.
    pub fn _JIT_ERROR(f: Frame, sp: Sp, ts: Ts) -> Ret;
}

extern "C" {
    static _JIT_OPERAND: u8;
    static _JIT_RESUME: u8;
    static _JIT_HERE: u8;
}

/// A hole's value. The empty `asm!` keeps the optimizer from assuming a hole's
/// address differs from every other symbol's (it would fold comparisons).
#[inline(always)]
fn launder(p: *const u8) -> u64 {
    let mut v = p as u64;
    // SAFETY: an empty asm block with no memory access; it only hides `v`.
    unsafe {
        core::arch::asm!("/* {0} */", inout(reg) v, options(pure, nomem, nostack, preserves_flags))
    };
    v
}

/// A 32-bit immediate hole (`mov r32, imm32`, zero-extended): half the
/// bytes of a 64-bit one, for values the JIT checks fit when patching.
macro_rules! imm32 {
    ($symbol:literal) => {{
        // Writing the 32-bit register clears the upper half: the 64-bit
        // value is the zero-extended immediate, with no extra `mov`.
        let v: u64;
        // SAFETY: moves an immediate into a register; no memory access.
        unsafe {
            core::arch::asm!(
                concat!("mov {0:e}, offset ", $symbol),
                out(reg) v,
                options(pure, nomem, nostack, preserves_flags)
            )
        };
        v
    }};
}

/// The micro-op's oparg (32 bits at most, `EXTENDED_ARG`s included).
#[inline(always)]
pub fn oparg() -> usize {
    imm32!("_JIT_OPARG") as usize
}

/// The micro-op's operand, where it is a 32-bit value (a version, an index,
/// an offset), zero-extended: a smaller hole than [`operand`]'s.
#[inline(always)]
pub fn operand32() -> u64 {
    imm32!("_JIT_OPERAND")
}

/// The micro-op's 64-bit operand.
#[inline(always)]
pub fn operand() -> u64 {
    launder(&raw const _JIT_OPERAND)
}

/// Sets `frame->instr_ptr` to the instruction at the operand by writing its
/// low 32 bits only: the pointer already points into the same code (at its
/// start, if nothing else), and the JIT compiles only code whose
/// instructions share their high 32 address bits.
#[inline(always)]
pub unsafe fn set_instr_ptr(f: Frame) {
    (&raw mut (*f).instr_ptr)
        .cast::<u32>()
        .write(imm32!("_JIT_OPERAND_LOW32") as u32);
}

/// The address of the next micro-op, where a call made here returns.
#[inline(always)]
pub fn resume_address() -> u64 {
    launder(&raw const _JIT_RESUME)
}

/// This micro-op's own address, as data: where a call made here comes back
/// to run the same micro-op again (a loop within one micro-op).
#[inline(always)]
pub fn here_address() -> u64 {
    launder(&raw const _JIT_HERE)
}

/// Defines a stencil with the shared signature.
macro_rules! stencil {
    ($(#[$m:meta])* fn $name:ident($f:ident, $sp:ident, $ts:ident) $body:block) => {
        $(#[$m])*
        #[no_mangle]
        pub unsafe extern "rust-preserve-none" fn $name(
            $f: $crate::abi::Frame,
            $sp: $crate::abi::Sp,
            $ts: $crate::abi::Ts,
        ) -> $crate::abi::Ret $body
    };
}

/// Defines a stencil and copies of it for some opargs, each exported under
/// the micro-op's name and its oparg (`_SWAP__2`: `_SWAP` with oparg 2),
/// which the JIT copies instead when the micro-op has that oparg. With the
/// oparg a constant, the compiler folds it into the addressing (`mov rax,
/// [r13-16]`) where the hole costs a `mov` and an index computation (five
/// instructions for a stack slot). Stores to locals get copies up to the
/// last whose slot a one-byte displacement reaches (local 6: 0x48 + 6 * 8;
/// further out a copy is a byte longer), loads up to local 15 (one
/// instruction and two bytes shorter even with a four-byte one). Copies
/// listed as `$oparg & 1 in [0, 1]` are exported as `__LOW0` and `__LOW1`
/// and serve every oparg with that low bit (an attribute load's
/// method-call bit, tested at run time otherwise): their body must read
/// nothing of the oparg but that bit. `$oparg` names the oparg in the body,
/// which calls it (`$oparg()`), as in every stencil.
macro_rules! replicated_stencil {
    ($(#[$m:meta])* fn $name:ident($f:ident, $sp:ident, $ts:ident)
     $oparg:ident in [$($k:literal),+] $body:block) => {
        replicated_stencil!(@copies $(#[$m])* fn $name($f, $sp, $ts) $oparg "" [$($k),+] $body);
    };
    ($(#[$m:meta])* fn $name:ident($f:ident, $sp:ident, $ts:ident)
     $oparg:ident & 1 in [$($k:literal),+] $body:block) => {
        replicated_stencil!(@copies $(#[$m])* fn $name($f, $sp, $ts) $oparg "LOW" [$($k),+] $body);
    };
    (@copies $(#[$m:meta])* fn $name:ident($f:ident, $sp:ident, $ts:ident)
     $oparg:ident $prefix:literal [$($k:literal),+] $body:block) => {
        stencil!($(#[$m])* fn $name($f, $sp, $ts) $body);
        $(
            // One scope per copy: each defines `copy`, exported by name.
            const _: () = {
                #[export_name = concat!(stringify!($name), "__", $prefix, $k)]
                unsafe extern "rust-preserve-none" fn copy(
                    $f: $crate::abi::Frame,
                    $sp: $crate::abi::Sp,
                    $ts: $crate::abi::Ts,
                ) -> $crate::abi::Ret {
                    let $oparg = || -> usize { $k };
                    $body
                }
            };
        )+
    };
}

/// The shape of every binary operation that calls a C function and owns
/// neither input afterwards.
macro_rules! binary_call {
    ($f:ident, $sp:ident, $ts:ident, $call:expr) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let res = $call(left, right);
        decref(left);
        decref(right);
        if res.is_null() {
            error!($f, $sp.sub(2), $ts)
        }
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

/// Continues with the next micro-op.
macro_rules! next {
    ($f:expr, $sp:expr, $ts:expr) => {
        become $crate::abi::_JIT_CONTINUE($f, $sp, $ts)
    };
}

/// Jumps to the micro-op's jump target.
macro_rules! jump {
    ($f:expr, $sp:expr, $ts:expr) => {
        become $crate::abi::_JIT_JUMP_TARGET($f, $sp, $ts)
    };
}

/// Leaves for the interpreter, which re-executes the instruction.
macro_rules! deopt {
    ($f:expr, $sp:expr, $ts:expr) => {
        become $crate::abi::_JIT_EXIT($f, $sp, $ts)
    };
}

/// Leaves for the interpreter as `deopt!`, first giving a reference to each
/// input `$v` whose `$borrowed` holds: one pushed without a reference
/// (`optimize::borrow`), which whoever the exit leads to (the interpreter,
/// the generic fallback) owns as it owns the rest of the stack.
macro_rules! deopt_borrowed {
    ($f:expr, $sp:expr, $ts:expr; $($borrowed:expr => $v:expr),+) => {{
        $(
            if $borrowed {
                incref($v);
            }
        )+
        deopt!($f, $sp, $ts)
    }};
}

/// Leaves with the exception set; `sp` must exclude the inputs consumed.
macro_rules! error {
    ($f:expr, $sp:expr, $ts:expr) => {
        become $crate::abi::_JIT_ERROR($f, $sp, $ts)
    };
}

/// Continues in the compiled code of a frame a helper entered directly (an
/// `Inline` with a frame); otherwise evaluates to the `Inline`.
macro_rules! enter_if_inline {
    ($inline:expr, $ts:expr) => {{
        let inline = $inline;
        if !inline.frame.is_null() {
            let callee = inline.frame;
            let entry = core::mem::transmute::<usize, $crate::abi::Continuation>(inline.entry);
            become entry(
                callee,
                frame_local(callee, (*callee).stacktop as usize),
                $ts,
            )
        }
        inline
    }};
}

/// Hands `value` to a compiled caller that entered a frame directly and
/// waits at the resume address on top of its stack: the value takes the
/// address's slot and the caller continues there.
macro_rules! back_to_caller {
    ($caller:expr, $value:expr, $ts:expr) => {{
        let caller = $caller;
        let slot = frame_local(caller, (*caller).stacktop as usize);
        let resume = core::mem::transmute::<*mut PyObject, $crate::abi::Continuation>(*slot);
        *slot = $value;
        become resume(caller, slot.add(1), $ts)
    }};
}

/// `stack_pointer[-n]`.
#[inline(always)]
pub unsafe fn peek(sp: Sp, n: usize) -> *mut PyObject {
    *sp.sub(n)
}

/// `stack_pointer[-n] = v`.
#[inline(always)]
pub unsafe fn poke(sp: Sp, n: usize, v: *mut PyObject) {
    *sp.sub(n) = v;
}
