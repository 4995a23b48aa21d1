//! Statistics: what was compiled, what was refused and why, what ran.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Compilation counters (exits and frame counts live in the runtime).
#[derive(Default, Clone, Debug)]
pub struct CompileStats {
    /// Code objects compiled (recompilations included).
    pub compiled: u64,
    /// Code objects refused, by reason.
    pub refused: BTreeMap<String, u64>,
    /// Micro-ops compiled.
    pub uops: u64,
    /// Bytes of machine code generated.
    pub code_bytes: u64,
    /// Time spent compiling, in nanoseconds.
    pub compile_ns: u64,
    /// Bytecode instructions compiled.
    pub instructions: u64,
    /// Instructions compiled as a plain exit to the interpreter, by opcode.
    pub unsupported: BTreeMap<String, u64>,
    /// Calls compiled with their callee inlined (`optimize::inline`).
    pub calls_inlined: u64,
    /// Bytecode instructions of the callees inlined, compiled in their
    /// callers' code (besides `instructions`, the code's own).
    pub instructions_inlined: u64,
}

/// The process's compilation counters.
pub static COMPILE: Mutex<CompileStats> = Mutex::new(CompileStats {
    compiled: 0,
    refused: BTreeMap::new(),
    uops: 0,
    code_bytes: 0,
    compile_ns: 0,
    instructions: 0,
    unsupported: BTreeMap::new(),
    calls_inlined: 0,
    instructions_inlined: 0,
});

/// Records a refusal.
pub fn refused(reason: &str) {
    *COMPILE
        .lock()
        .unwrap()
        .refused
        .entry(reason.to_string())
        .or_default() += 1;
}
