//! Execution profiles for `jitsaw.report()` (`JITSAW_PROFILE=1`).
//!
//! Per code object and per instruction: runs in compiled code and in its
//! generic fallback (counted by `_COUNT_RUN` in the compiled code itself),
//! deopts and raise exits there (counted by the runtime), the micro-ops it
//! was compiled to, and, read from the bytecode, whether the interpreter ran
//! it and specialized it. Interpreted runs are not counted one by one:
//! `sys.monitoring` would undo CPython's specializations, which the report
//! shows. A report covers the whole run, so a profile outlives its code
//! object: it keeps a snapshot taken when the code dies, and the counters
//! are never freed (profiling is a diagnosis mode).

use crate::uops::Program;
use jitsaw_cpython313::inline::{code_obj_field, code_units, field, ob_size};
use jitsaw_cpython313::layout::PyCodeObject;
use jitsaw_cpython313::off;
use jitsaw_cpython313::opcode::{
    EXTENDED_ARG, JUMP_BACKWARD, MIN_INSTRUMENTED_OPCODE, OPCODE_INFO, POP_JUMP_IF_FALSE,
    POP_JUMP_IF_NONE, POP_JUMP_IF_NOT_NONE, POP_JUMP_IF_TRUE,
};
use jitsaw_cpython313::{caches, deopt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Whether profiles are recorded (`JITSAW_PROFILE=1`).
pub static PROFILING: AtomicBool = AtomicBool::new(false);

/// Whether profiles are recorded.
pub fn enabled() -> bool {
    PROFILING.load(Ordering::Relaxed)
}

/// One code object's profile. Counters are indexed by code unit (the
/// instruction's offset in `co_code`, in units of two bytes).
pub struct Profile {
    /// The live code object, or 0 once it died (then `snapshot` is set).
    code: usize,
    /// Runs of each instruction in compiled code.
    runs: Box<[u64]>,
    /// Runs of each instruction's generic form after a failed guard.
    generic: Box<[u64]>,
    /// Deopts at each instruction (the interpreter took the frame there).
    deopts: Box<[u64]>,
    /// Exceptions raised at each instruction in compiled code.
    raises: Box<[u64]>,
    /// The newest compilation's micro-ops, per instruction offset (sorted).
    uops: Vec<(u32, String)>,
    /// Compilations of the code object.
    compiles: u32,
    /// Machine code bytes of the newest compilation.
    code_bytes: u64,
    /// Calls that reached jitsaw (at death; live code asks its state).
    calls: u64,
    snapshot: Option<Snapshot>,
}

/// What the code object told about itself.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// `co_filename`.
    pub filename: String,
    /// `co_qualname`.
    pub qualname: String,
    /// `co_firstlineno`.
    pub firstlineno: i32,
    /// Its instructions.
    pub insts: Vec<InstInfo>,
}

/// One instruction as the bytecode shows it.
#[derive(Clone, Debug)]
pub struct InstInfo {
    /// Offset in code units.
    pub offset: u32,
    /// Source line (`None` for instructions without one).
    pub line: Option<i32>,
    /// The opcode's name now (a specialized name if the interpreter
    /// specialized it).
    pub opname: &'static str,
    /// The interpreter has run it (its inline cache moved from its initial
    /// value; known only for instructions with a cache).
    pub ran: bool,
    /// The interpreter specialized it.
    pub specialized: bool,
}

/// A profile and everything known about it, for the report.
#[derive(Clone, Debug)]
pub struct Report {
    /// The code object's identity and instructions.
    pub snapshot: Snapshot,
    /// Calls that reached jitsaw.
    pub calls: u64,
    /// Compilations.
    pub compiles: u32,
    /// Machine code bytes of the newest compilation.
    pub code_bytes: u64,
    /// Per instruction (same order as `snapshot.insts`): runs compiled,
    /// runs of the generic form, deopts, raises, micro-ops.
    pub counts: Vec<(u64, u64, u64, u64, String)>,
}

/// Every profile made, live or dead (pointers from `Box::into_raw`, never
/// freed: compiled code of dead code objects may be the last to write).
static PROFILES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Makes the profile of `code`.
///
/// # Safety
/// The GIL is held and `code` is a live code object.
pub unsafe fn new(code: *mut PyCodeObject) -> *mut Profile {
    let units = ob_size(code.cast()) as usize;
    let zeros = || vec![0u64; units].into_boxed_slice();
    let p = Box::into_raw(Box::new(Profile {
        code: code as usize,
        runs: zeros(),
        generic: zeros(),
        deopts: zeros(),
        raises: zeros(),
        uops: Vec::new(),
        compiles: 0,
        code_bytes: 0,
        calls: 0,
        snapshot: None,
    }));
    PROFILES.lock().unwrap().push(p as usize);
    p
}

impl Profile {
    /// Addresses of the run counters, for `CodeInput::run_counters`.
    pub fn run_counters(&mut self) -> (u64, u64) {
        (
            self.runs.as_mut_ptr() as u64,
            self.generic.as_mut_ptr() as u64,
        )
    }

    /// Records a compilation.
    pub fn compiled(&mut self, program: &Program, code_bytes: usize) {
        self.compiles += 1;
        self.code_bytes = code_bytes as u64;
        self.uops = program
            .insts
            .iter()
            .map(|inst| {
                let range = inst.first as usize..(inst.first + inst.count) as usize;
                let names: Vec<&str> = program.uops[range]
                    .iter()
                    .map(|u| u.op.name())
                    .filter(|n| *n != "_COUNT_RUN")
                    .collect();
                (inst.offset, names.join(" "))
            })
            .collect();
    }

    /// Counts a deopt (or, with `raise`, a raise exit) at code unit `at`.
    pub fn exit(&mut self, at: u32, raise: bool) {
        let counters = if raise {
            &mut self.raises
        } else {
            &mut self.deopts
        };
        if let Some(c) = counters.get_mut(at as usize) {
            *c += 1;
        }
    }

    /// Takes the final snapshot of a code object about to die.
    ///
    /// # Safety
    /// The GIL is held and the profile's code object is still valid.
    pub unsafe fn retire(&mut self, calls: u64) {
        if self.code != 0 {
            self.snapshot = Some(snapshot(self.code as *mut PyCodeObject));
            self.calls = calls;
            self.code = 0;
        }
    }

    /// The profile with a current snapshot; `calls` gives live code's calls.
    ///
    /// # Safety
    /// The GIL is held; a nonzero `code` is a live code object.
    unsafe fn report(&self, calls: impl Fn(usize) -> u64) -> Report {
        let (snapshot, calls) = match &self.snapshot {
            Some(s) => (s.clone(), self.calls),
            None => (snapshot(self.code as *mut PyCodeObject), calls(self.code)),
        };
        let at = |v: &[u64], i: u32| v.get(i as usize).copied().unwrap_or(0);
        let counts = snapshot
            .insts
            .iter()
            .map(|i| {
                // `uops` is in bytecode order, as instructions are.
                let uops = self
                    .uops
                    .binary_search_by_key(&i.offset, |(o, _)| *o)
                    .map_or(String::new(), |k| self.uops[k].1.clone());
                (
                    at(&self.runs, i.offset),
                    at(&self.generic, i.offset),
                    at(&self.deopts, i.offset),
                    at(&self.raises, i.offset),
                    uops,
                )
            })
            .collect();
        Report {
            snapshot,
            calls,
            compiles: self.compiles,
            code_bytes: self.code_bytes,
            counts,
        }
    }
}

/// Every profile, with current snapshots of live code objects.
///
/// # Safety
/// The GIL is held; the live profiles' code objects are alive (their
/// watcher retires them before they die).
pub unsafe fn reports(calls: impl Fn(usize) -> u64) -> Vec<Report> {
    let profiles = PROFILES.lock().unwrap().clone();
    profiles
        .into_iter()
        .map(|p| (*(p as *const Profile)).report(&calls))
        .collect()
}

/// The initial value of an instruction's first cache entry
/// (`_PyCode_Quicken`), which any run of it changes.
fn initial_cache(op: u8) -> u16 {
    match op {
        // `initial_jump_backoff_counter()`: value 16, backoff 4.
        JUMP_BACKWARD => 16 << 4 | 4,
        // Branch history: alternating bits.
        POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE | POP_JUMP_IF_NONE | POP_JUMP_IF_NOT_NONE => 0x5555,
        // `adaptive_counter_warmup()`: value 1, backoff 1.
        _ => 1 << 4 | 1,
    }
}

/// Reads a code object's identity and instructions.
///
/// # Safety
/// The GIL is held and `code` is a valid code object.
unsafe fn snapshot(code: *mut PyCodeObject) -> Snapshot {
    let units = std::slice::from_raw_parts(code_units(code), ob_size(code.cast()) as usize);
    // Instrumented bytecode (a debugger, coverage) hides the interpreter's
    // own opcodes: then only lines are known.
    let instrumented = units
        .iter()
        .any(|u| (u & 0xFF) as u8 >= MIN_INSTRUMENTED_OPCODE);
    let mut insts = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let op = (units[i] & 0xFF) as u8;
        let base = deopt(op);
        if !instrumented && base == EXTENDED_ARG {
            // Counted as part of the instruction it extends.
            i += 1;
            continue;
        }
        let n = if instrumented { 0 } else { caches(base) };
        let line = pyo3::ffi::PyCode_Addr2Line(code.cast(), 2 * i as i32);
        let cache = units.get(i + 1).copied();
        insts.push(InstInfo {
            offset: i as u32,
            line: (line >= 0).then_some(line),
            opname: if instrumented {
                ""
            } else {
                OPCODE_INFO[op as usize].name()
            },
            ran: !instrumented
                && (op != base || (n > 0 && cache.is_some_and(|c| c != initial_cache(base)))),
            specialized: !instrumented && op != base,
        });
        i += 1 + n;
    }
    Snapshot {
        filename: crate::hook::text(code_obj_field(code, off::CODE_CO_FILENAME)),
        qualname: crate::hook::text(code_obj_field(code, off::CODE_CO_QUALNAME)),
        firstlineno: field::<i32>(code.cast(), off::CODE_CO_FIRSTLINENO),
        insts,
    }
}
