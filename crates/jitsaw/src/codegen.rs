//! Code generator: micro-ops → machine code, by copy and patch.
//!
//! Each micro-op's stencil (its hot part) is copied after the previous one;
//! a stencil that ends by jumping to its continuation loses that jump, since
//! the next micro-op follows it. Guards and raising micro-ops get exit stubs
//! after the code (one `_DEOPT` per instruction and reason, one `_ERROR` per
//! raising micro-op), the stencils' cold parts go last, then holes are
//! patched and the memory turned executable.

use crate::arena::CodeMemory;
use crate::stencils::{HoleKind, HoleValue, Stencil};
use crate::uops::{KnownAttr, KnownGlobal, Program, Uop, UopInst};
use jitsaw_cpython313::exception_table::Handler;
use jitsaw_cpython313::shared::{ResumePoint, LOCAL_CACHED_NAME};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// What the code generator needs from the runtime.
pub struct Linker<'a> {
    /// Addresses of the external symbols, indexed like `stencils::symbol`.
    pub symbols: &'a [usize],
    /// The exit counter to bump for an exit reason.
    pub exit_counter: &'a mut dyn FnMut(ExitReason) -> u32,
    /// An address the code should be placed near (libpython's code).
    pub anchor: usize,
}

/// Why compiled code left, as counted in `stats()["exits"]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// A guard of this micro-op failed (`"deopt:_GUARD_BOTH_INT"`).
    Deopt(Uop),
    /// This micro-op raised (`"raise:_BINARY_OP"`).
    Raise(Uop),
    /// An instruction jitsaw does not compile (`"unsupported:SEND"`).
    Unsupported(u8),
    /// A specialized instruction's guard failed and its generic form ran
    /// (`"generic:LOAD_GLOBAL_MODULE"`).
    Generic(u8),
    /// A burned-in global changed: its load became a deopt
    /// (`"invalidated"`).
    Invalidated,
    /// An expression computed in machine words ran its own code instead
    /// (`"words:LOAD_FAST_LOAD_FAST"`, by its first instruction).
    Words(u8),
    /// An inlined body left after a side effect: its callee's frame was
    /// made and run in the interpreter (`"materialized"`).
    Materialized,
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitReason::Deopt(u) => write!(f, "deopt:{}", u.name()),
            ExitReason::Raise(u) => write!(f, "raise:{}", u.name()),
            ExitReason::Unsupported(op) => write!(f, "unsupported:{}", crate::frontend::name(*op)),
            ExitReason::Generic(op) => write!(f, "generic:{}", crate::frontend::name(*op)),
            ExitReason::Invalidated => write!(f, "invalidated"),
            ExitReason::Words(op) => write!(f, "words:{}", crate::frontend::name(*op)),
            ExitReason::Materialized => write!(f, "materialized"),
        }
    }
}

/// A copied stencil in the compiled code, for dumps and tests.
#[derive(Clone, Debug)]
pub struct Piece {
    /// Byte offset in the code.
    pub offset: u32,
    /// Bytes copied there (the stencil's hot part minus an elided trailing
    /// jump).
    pub len: u32,
    /// Byte offset of the stencil's cold part, if it has one (laid out
    /// after the main code, the fallbacks and the exits).
    pub cold: Option<u32>,
    /// The micro-op, with the arguments it was patched with.
    pub uop: UopInst,
    /// Its stencil (`uop.stencil()`, looked up once).
    pub stencil: &'static Stencil,
}

/// A compiled code object.
pub struct Compiled {
    /// The machine code.
    pub memory: CodeMemory,
    /// Byte offset of each bytecode instruction's code, by instruction index.
    pub labels: Vec<u32>,
    /// Code-unit offset where each instruction starts, by instruction index.
    pub starts: Vec<u32>,
    /// Code-unit offset of each instruction's opcode and the opcode found
    /// there when compiling, by instruction index.
    pub opcodes: Vec<(u32, u8)>,
    /// The exception table's entries, decoded ([`Program::exception_entries`]).
    pub exception_entries: Box<[(u32, u32, Handler)]>,
    /// Each handler's code-unit offset and instruction index, for an
    /// unwinding to find where to continue without a search of every
    /// instruction ([`Compiled::handler_inst`]).
    pub handler_insts: Box<[(u32, u32)]>,
    /// Start offsets of instructions compiled as a plain exit (unsupported).
    pub unsupported: Vec<u32>,
    /// Code-unit offsets of the adaptive instructions compiled without
    /// their fast paths (see `Program::cold`).
    pub cold: Vec<u32>,
    /// Start offsets of instructions that leave if the frame has a frame
    /// object (`_CHECK_NO_FRAME_OBJECT`).
    pub frame_checks: Vec<u32>,
    /// Start offsets of instructions that a fallback's check of a local's
    /// class leaves at (`_CHECK_LOCAL_CLASS`).
    pub class_checks: Vec<u32>,
    /// Code-unit offsets of the heads of loops kept in words
    /// (`optimize::loops`), whose fallbacks are their words leaving.
    pub words_heads: Vec<u32>,
    /// Code-unit offsets of calls whose inlined bodies compute ints in
    /// words of that kind only (`optimize::raw::words_in_body`).
    pub int_word_bodies: Vec<u32>,
    /// Where a suspended generator resumes (the instruction after
    /// `RETURN_GENERATOR` and after each `YIELD_VALUE`), in a table indexed
    /// by the code-unit offset's low bits (see [`resume_table`]), so that a
    /// resumption, as frequent as a call, finds its entry with one
    /// comparison (stencils too: `ResumeCache`).
    pub resumes: Box<[ResumePoint]>,
    /// The micro-ops' copied stencils (one per micro-op), for dumps and
    /// tests right after compiling (the hook drops them then: they take
    /// several times the memory of the code).
    pub pieces: Vec<Piece>,
    /// The exit stubs' and their tails' copied stencils, likewise.
    pub stubs: Vec<Piece>,
    /// The micro-op of each piece, kept for `code_state()`.
    pub uops: Box<[Uop]>,
    /// Bytes of machine code used (the block is rounded up to pages).
    pub size: usize,
    /// The instrumentation version the code assumes.
    pub version: u64,
    /// Runs of generic fallbacks: the total, then one per instruction
    /// (written by `_GENERIC` under the GIL).
    pub fallbacks: Box<[AtomicU32]>,
    /// The caches of the micro-ops that have one ([`Uop::has_site_cache`]),
    /// written by their helpers under the GIL.
    pub site_caches: Box<[SiteCache]>,
    /// The global loads burned in (see `optimize::globals`), for the
    /// runtime to watch their dicts.
    pub burned: Box<[KnownGlobal]>,
    /// The module and class attributes burned in with them, for the
    /// runtime to watch the modules' dicts too.
    pub burned_attrs: Box<[KnownAttr]>,
    /// Each burned load's code offset and that of its exit stub, a deopt at
    /// its instruction (for values an inlined body burned in, its entry's
    /// first check and the call's fallback): [`Compiled::invalidate`]
    /// writes a jump from the one to the other.
    pub patch_sites: Box<[(u32, u32)]>,
    /// The globals and builtins (0: none) the burned-in globals came from.
    namespace: Option<(u64, u64)>,
    /// Whether [`Compiled::invalidate`] ran.
    invalidated: AtomicBool,
    /// Address of the code object's first code unit.
    pub code_start: u64,
    /// Where each instruction's code (main path, then fallback) starts:
    /// byte offset and instruction index, by offset.
    locations: Box<[(u32, u32)]>,
    /// Whether the runtime can find the code by address
    /// (`runtime::location`), until it is dropped.
    pub(crate) located: bool,
    /// Whether `runtime::location`'s cache took a return address into the
    /// code, which it must forget when the code goes (most code is freed
    /// without: nothing it freed needed its instruction).
    pub(crate) returns_cached: AtomicBool,
}

impl Drop for Compiled {
    fn drop(&mut self) {
        if self.located {
            // SAFETY: located code is dropped with the GIL held (a code
            // object's state goes when the code object does).
            unsafe {
                crate::runtime::location::forget(
                    self.memory.address(),
                    self.returns_cached.load(Ordering::Relaxed),
                )
            };
        }
    }
}

/// Memory a micro-op's helper keeps what it learned at one site in (what
/// types it saw, where their attributes are); zeroed at first. The helper
/// defines the layout.
#[repr(C, align(64))]
pub struct SiteCache(pub std::cell::UnsafeCell<[u64; 8]>);

impl SiteCache {
    /// A zeroed cache.
    fn new() -> SiteCache {
        SiteCache(std::cell::UnsafeCell::new([0; 8]))
    }
}

impl Compiled {
    /// Every copied stencil, micro-ops first, then exit stubs (empty once
    /// the hook dropped them).
    pub fn all_pieces(&self) -> impl Iterator<Item = &Piece> {
        self.pieces.iter().chain(&self.stubs)
    }

    /// The address to enter the code at instruction `i`.
    pub fn entry(&self, i: usize) -> usize {
        self.memory.address() + self.labels[i] as usize
    }

    /// Whether a deopt at code unit `offset` came from a failed guard (a
    /// speculation that a recompile might get right) rather than from an
    /// instruction jitsaw does not compile.
    pub fn speculative_deopt(&self, offset: u32) -> bool {
        !self.unsupported.contains(&offset)
    }

    /// How many times generic fallbacks ran: in total, and per instruction.
    pub fn fallback_runs(&self) -> (u32, impl Iterator<Item = u32> + '_) {
        (
            self.fallbacks[0].load(Ordering::Relaxed),
            self.fallbacks[1..]
                .iter()
                .map(|c| c.load(Ordering::Relaxed)),
        )
    }

    /// Turns every burned-in global load into a deopt at its instruction,
    /// for good: one of their names is about to change. Frames running the
    /// code meet the deopt at their next such load, even one that code
    /// running now (a `__del__`, a callee) returns to.
    ///
    /// # Safety
    /// The GIL is held (no thread runs compiled code meanwhile).
    pub unsafe fn invalidate(&self) {
        if self.invalidated.swap(true, Ordering::Relaxed) {
            return;
        }
        let patches: Vec<(usize, [u8; 5])> = self
            .patch_sites
            .iter()
            .map(|&(site, stub)| {
                let mut jump = [0xE9, 0, 0, 0, 0];
                let delta = stub as i64 - (site as i64 + 5);
                jump[1..].copy_from_slice(&(delta as i32).to_le_bytes());
                (site as usize, jump)
            })
            .collect();
        // SAFETY: each site starts a burned load's piece or an inlined
        // body's entry check, at least 5 bytes long with no call in it
        // (checked when compiling), so no return
        // address points inside the bytes replaced; the GIL keeps every
        // thread out of compiled code while they change.
        unsafe { self.memory.rewrite(&patches) }
            .unwrap_or_else(|e| panic!("jitsaw: cannot invalidate code: {e}"));
    }

    /// Whether the code may run a frame with these globals and builtins:
    /// those its burned-in globals came from, if any (entering at the
    /// first instruction checks this itself: `_CHECK_GLOBALS`).
    #[inline]
    pub fn serves(&self, globals: u64, builtins: u64) -> bool {
        match self.namespace {
            None => true,
            Some((g, b)) => g == globals && (b == 0 || b == builtins),
        }
    }

    /// The `frame->instr_ptr` of the instruction whose machine code is at
    /// `address`.
    pub fn instr_ptr_at(&self, address: usize) -> Option<u64> {
        let offset = address.checked_sub(self.memory.address())?;
        let k = self
            .locations
            .partition_point(|&(at, _)| at as usize <= offset);
        let &(_, i) = self.locations.get(k.checked_sub(1)?)?;
        Some(self.code_start + 2 * self.opcodes[i as usize].0 as u64)
    }

    /// The handler for an exception raised at code unit `offset`, as
    /// `exception_table::handler_for` finds it in the table, by bisection
    /// of the decoded entries.
    pub fn handler_for(&self, offset: u32) -> Option<Handler> {
        let after = self
            .exception_entries
            .partition_point(|&(start, _, _)| start <= offset);
        let &(_, end, handler) = self.exception_entries.get(after.checked_sub(1)?)?;
        (offset < end).then_some(handler)
    }

    /// The index of the instruction of the handler at code unit `target`:
    /// a search of the handlers (a few, in a line or two of memory), where
    /// one of every instruction's start cost a pass through a parser's
    /// raises a cache miss or more.
    pub fn handler_inst(&self, target: u32) -> Option<usize> {
        match self
            .handler_insts
            .binary_search_by_key(&target, |&(at, _)| at)
        {
            Ok(k) => Some(self.handler_insts[k].1 as usize),
            Err(_) => self.inst_at(target),
        }
    }

    /// The index of the instruction starting at code unit `offset`.
    pub fn inst_at(&self, offset: u32) -> Option<usize> {
        self.starts.binary_search(&offset).ok()
    }

    /// [`Compiled::inst_at`] for a suspended generator's `instr_ptr`.
    #[inline]
    pub fn resume_at(&self, offset: u32) -> Option<usize> {
        let point = self.resumes[offset as usize & (self.resumes.len() - 1)];
        if point.at == offset {
            return Some(point.inst as usize);
        }
        self.inst_at(offset)
    }
}

/// Most slots of [`Compiled::resumes`].
const RESUME_SLOTS: usize = 256;

/// A slot of [`resume_table`] that holds no point.
const NO_RESUME_POINT: ResumePoint = ResumePoint {
    at: u32::MAX,
    inst: 0,
    label: 0,
    send_resume: 0,
    send_cache: 0,
};

/// A table of resume points indexed by their offset's low bits: the
/// smallest power of two of slots in which no two points collide, up to
/// [`RESUME_SLOTS`] (past that a point that lost its slot is found by
/// [`Compiled::inst_at`]). Empty slots hold an offset no instruction has.
fn resume_table(points: &[ResumePoint]) -> Box<[ResumePoint]> {
    let mut size = points.len().next_power_of_two();
    loop {
        let mut table = vec![NO_RESUME_POINT; size];
        let mut collided = false;
        for &point in points {
            let slot = &mut table[point.at as usize & (size - 1)];
            collided |= slot.at != u32::MAX;
            *slot = point;
        }
        if !collided || size >= RESUME_SLOTS {
            return table.into_boxed_slice();
        }
        size *= 2;
    }
}

/// The most bytes of hot code (main paths) a loop's code may span. A turn
/// of a loop runs through its body's code, which past the instruction
/// cache streams from L2 (2 MiB a core here) where the interpreter reads a
/// few bytes of bytecode per instruction: loops of attribute and int
/// statements ran 1.4x faster than the interpreter with ~215 KiB of hot
/// code, 1.2x with ~645 KiB, 1.1-1.5x with ~1.3 MiB and 0.98x with
/// ~2.6 MiB; `unpack_sequence`'s unpackings, which compiled code does
/// little faster, broke even at ~0.26 MB before they were fused.
pub const MAX_LOOP_CODE: usize = 1 << 20;

/// The hot code of the program's largest loop, in bytes (see
/// [`MAX_LOOP_CODE`]): its instructions' main micro-ops' hot parts, but
/// for stores that an operation into locals jumps past, which run only
/// after its fallback; `None` if the program has no loop.
pub fn largest_loop_code(program: &Program) -> Option<usize> {
    let n = program.insts.len();
    let mut skipped = vec![false; n];
    for u in &program.uops[..program.main_len()] {
        if let Some(past) = u.jump.filter(|_| u.op.jumps_past_stores()) {
            let stores = (u.inst as usize + 1).min(n)..(past as usize).min(n);
            skipped[stores].fill(true);
        }
    }
    let hot = |i: usize| -> usize {
        let uops = program.uops_of(i).iter();
        uops.map(|u| u.stencil().hot_len).sum()
    };
    crate::frontend::loops(&program.insts)
        .map(|l| l.filter(|&i| !skipped[i]).map(hot).sum())
        .max()
}

/// Why [`compile`] made no code.
#[derive(Debug)]
pub enum CodegenError {
    /// No code memory now (the address space or memory ran out): a later
    /// compilation may get some.
    OutOfMemory(String),
    /// The program cannot be laid out or patched, now or later.
    Unsupported(String),
}

impl From<String> for CodegenError {
    fn from(reason: String) -> Self {
        CodegenError::Unsupported(reason)
    }
}

impl From<&str> for CodegenError {
    fn from(reason: &str) -> Self {
        CodegenError::Unsupported(reason.into())
    }
}

/// Compiles a program into executable memory.
pub fn compile(program: &Program, linker: &mut Linker) -> Result<Compiled, CodegenError> {
    // Stencils set `frame->instr_ptr` by its low half (`set_instr_ptr`), so
    // the bytecode (with room for the last instruction's caches) must not
    // cross a 4 GiB boundary; the odds are about one in a million.
    let last = program.insts.last().map_or(0, |i| i.offset);
    if program.code_start >> 32 != program.unit_address(last + 16) >> 32 {
        return Err("bytecode crosses a 4 GiB boundary".into());
    }
    // 1. Lay out every micro-op.
    let mut pieces = Vec::with_capacity(program.uops.len());
    let mut offset = 0u32;
    for (k, u) in program.uops.iter().enumerate() {
        let stencil = u.stencil();
        let elide = stencil.ends_with_continue && k + 1 < program.uops.len();
        let len = stencil.hot_len as u32 - if elide { 5 } else { 0 };
        pieces.push(Piece {
            offset,
            len,
            cold: None,
            uop: *u,
            stencil,
        });
        offset += len;
    }
    let main_len = program
        .insts
        .iter()
        .map(|i| (i.first + i.count) as usize)
        .max()
        .unwrap_or(0);
    let end_of_main = pieces.get(main_len).map_or(offset, |p| p.offset);
    let labels: Vec<u32> = program
        .insts
        .iter()
        .map(|i| {
            pieces[..main_len]
                .get(i.first as usize)
                .map_or(end_of_main, |p| p.offset)
        })
        .collect();

    // 2. Lay out the exits the micro-ops refer to: a stub per instruction
    //    and exit, setting where the interpreter resumes (the pieces of an
    //    instruction are contiguous), then one shared tail per exit kind
    //    and reason, counting the exit and leaving.
    let inlined: Vec<bool> = (0..program.insts.len())
        .map(|i| {
            program
                .uops_of(i)
                .iter()
                .any(|u| matches!(u.op, Uop::_CHECK_CALLEE | Uop::_CHECK_KNOWN_CALLEE))
        })
        .collect();
    let mut exits: Vec<[u32; 2]> = Vec::with_capacity(pieces.len());
    // About an exit stub per instruction (growing them was a tenth of
    // laying the code out).
    let mut stub_pieces: Vec<Piece> = Vec::with_capacity(program.insts.len() + 16);
    // Per stub, the index of its tail in `tails`.
    let mut stub_tails: Vec<usize> = Vec::with_capacity(program.insts.len() + 16);
    let mut tails: Vec<UopInst> = Vec::new();
    let mut first_of_inst = 0;
    for (k, p) in pieces.iter().enumerate() {
        if k > 0 && pieces[k - 1].uop.inst != p.uop.inst {
            first_of_inst = stub_pieces.len();
        }
        let stencil = p.stencil;
        let inst = &program.insts[p.uop.inst as usize];
        let mut found = [u32::MAX; 2];
        if let Some(k) = program
            .labelled(&p.uop)
            .filter(|_| !stencil.has(HoleValue::JumpTarget))
        {
            found[0] = pieces[k].offset;
            // An inlined body's error leaves where its exit does, to have
            // the callee's frame materialized (`optimize::inline`), which
            // raises it there.
            if pieces[k].uop.op == Uop::_INLINE_EXIT_AT {
                found[1] = found[0];
            }
        } else if k < main_len && inst.fallback_count > 0 && !p.uop.op.exits_to_interpreter() {
            found[0] = pieces[inst.fallback as usize].offset;
            // An inlined body's failed allocation starts the call over too
            // (`optimize::inline`); a materialized frame's error is the
            // call's.
            if inlined[p.uop.inst as usize] && p.uop.op != Uop::_INLINE_MATERIALIZE {
                found[1] = found[0];
            }
        }
        for (slot, kind) in [(0, HoleValue::Exit), (1, HoleValue::Error)] {
            if !stencil.has(kind) || found[slot] != u32::MAX {
                continue;
            }
            let (tail_op, reason, address) = if slot == 0 {
                (Uop::_DEOPT_TAIL, ExitReason::Deopt(p.uop.op), inst.start)
            } else {
                (Uop::_ERROR_TAIL, ExitReason::Raise(p.uop.op), inst.offset)
            };
            let counter = (linker.exit_counter)(reason);
            let tail = tail_for(&mut tails, tail_op, counter, p.uop.inst);
            let operand = program.unit_address(address);
            let existing = (first_of_inst..stub_pieces.len())
                .find(|&i| stub_tails[i] == tail && stub_pieces[i].uop.operand == operand);
            found[slot] = match existing {
                Some(i) => stub_pieces[i].offset,
                None => {
                    stub_tails.push(tail);
                    exit_stub(&mut stub_pieces, &mut offset, operand, p.uop.inst)
                }
            };
        }
        exits.push(found);
    }
    // Burned-in global loads get a deopt stub each, which invalidation
    // jumps to from the load's first bytes. An inlined body's send the
    // call to its fallback from its entry's first check, where the body
    // has pushed nothing and changed nothing yet (`InlineBody::burned`).
    let mut patch_sites = Vec::with_capacity(program.burned.len());
    for b in &program.burned {
        let inst = &program.insts[b.inst as usize];
        if b.in_body {
            let k = (inst.first as usize..(inst.first + inst.count) as usize)
                .find(|&k| pieces[k].uop.op.enters_inlined_body())
                .ok_or("a body's burned-in global without its entry")?;
            if pieces[k].len < 5 || pieces[k].stencil.calls_out() || inst.fallback_count == 0 {
                return Err(format!("{} cannot be patched", pieces[k].uop.op.name()).into());
            }
            let site = (pieces[k].offset, pieces[inst.fallback as usize].offset);
            if !patch_sites.contains(&site) {
                patch_sites.push(site);
            }
            continue;
        }
        let k = (inst.first as usize..(inst.first + inst.count) as usize)
            .find(|&k| is_burned_load(pieces[k].uop.op))
            .ok_or("a burned-in global without its load")?;
        let stencil = pieces[k].stencil;
        if pieces[k].len < 5 || stencil.calls_out() {
            return Err(format!("{} cannot be patched", pieces[k].uop.op.name()).into());
        }
        let counter = (linker.exit_counter)(ExitReason::Invalidated);
        stub_tails.push(tail_for(&mut tails, Uop::_DEOPT_TAIL, counter, b.inst));
        let operand = program.unit_address(inst.start);
        let stub = exit_stub(&mut stub_pieces, &mut offset, operand, b.inst);
        patch_sites.push((pieces[k].offset, stub));
    }
    // A generic `_CALL` that enters a compiled `__init__` directly has it
    // return to `_INIT_RETURN` (see `jitsaw_call_any`): one for the code.
    let init_return = if pieces.iter().any(|p| p.uop.op == Uop::_CALL) {
        let counter = (linker.exit_counter)(ExitReason::Raise(Uop::_INIT_RETURN));
        let tail = tail_for(&mut tails, Uop::_ERROR_TAIL, counter, 0);
        let stencil = Uop::_INIT_RETURN.stencil();
        let len = stencil.hot_len as u32;
        stub_pieces.push(Piece {
            offset,
            len,
            cold: None,
            uop: UopInst {
                op: Uop::_INIT_RETURN,
                oparg: 0,
                operand: 0,
                inst: 0,
                jump: None,
            },
            stencil,
        });
        offset += len;
        Some((offset - len, tail))
    } else {
        None
    };
    let mut tail_offsets = Vec::with_capacity(tails.len());
    for uop in tails {
        let stencil = uop.stencil();
        let len = stencil.hot_len as u32;
        tail_offsets.push(offset);
        stub_pieces.push(Piece {
            offset,
            len,
            cold: None,
            uop,
            stencil,
        });
        offset += len;
    }
    for &tail in &stub_tails {
        exits.push([tail_offsets[tail], u32::MAX]);
    }
    if let Some((_, tail)) = init_return {
        exits.push([u32::MAX, tail_offsets[tail]]);
    }
    // An unsupported instruction is a `_DEOPT` in place, a fallback starts
    // with `_GENERIC`: give them their counters.
    // Instructions past the 16 bits `_GENERIC` has for them share the last.
    let fallbacks: Box<[AtomicU32]> = (0..=program.insts.len().min(0xFFFF))
        .map(|_| AtomicU32::new(0))
        .collect();
    let slots: usize = pieces.iter().map(|p| p.uop.op.site_cache_slots()).sum();
    let site_caches: Box<[SiteCache]> = (0..slots).map(|_| SiteCache::new()).collect();
    let mut next_cache = 0;
    // The `_GENERIC`s counting a materialized frame (`optimize::inline`).
    let materializing: Vec<bool> = (0..pieces.len())
        .map(|k| {
            pieces
                .get(k + 1)
                .is_some_and(|p| p.uop.op == Uop::_INLINE_MATERIALIZE)
        })
        .collect();
    for (k, p) in pieces.iter_mut().enumerate() {
        let opcode = program.insts[p.uop.inst as usize].opcode;
        if p.uop.op.has_site_cache() {
            let cache = site_caches[next_cache].0.get();
            if p.uop.op.caches_named_attribute() {
                // The name, at `LOCAL_CACHED_NAME`: the second cache's first
                // word (the caches are contiguous 64-byte lines).
                const _: () = assert!(LOCAL_CACHED_NAME == size_of::<SiteCache>());
                // SAFETY: the cache was just made and nothing else refers
                // to it yet.
                unsafe { (*site_caches[next_cache + 1].0.get())[0] = p.uop.operand };
            }
            p.uop.operand = cache as u64;
            next_cache += p.uop.op.site_cache_slots();
        }
        match p.uop.op {
            Uop::_DEOPT => p.uop.oparg = (linker.exit_counter)(ExitReason::Unsupported(opcode)),
            Uop::_GENERIC => {
                // (An inlined body's words leave as its call does.)
                let words = !inlined[p.uop.inst as usize]
                    && program
                        .uops_of(p.uop.inst as usize)
                        .iter()
                        .any(|u| u.op.computes_in_words());
                let reason = if materializing[k] {
                    ExitReason::Materialized
                } else if words {
                    ExitReason::Words(opcode)
                } else {
                    ExitReason::Generic(opcode)
                };
                let counter = (linker.exit_counter)(reason) & 0xFFFF;
                p.uop.oparg = counter | p.uop.inst.min(0xFFFE) << 16;
                p.uop.operand = fallbacks.as_ptr() as u64;
            }
            _ => continue,
        }
        // The copy of a stencil for its new oparg, if it has one.
        p.stencil = p.uop.stencil();
    }
    // The stencils' cold parts go last, in the order of their hot parts.
    for p in pieces.iter_mut().chain(&mut stub_pieces) {
        let cold = p.stencil.cold().len() as u32;
        if cold > 0 {
            p.cold = Some(offset);
            offset += cold;
        }
    }
    let code_size = offset as usize;

    // 3. Allocate with room for a trampoline per external function, in
    //    case the memory lands out of reach of some (page rounding usually
    //    makes that room free).
    let mut called = vec![false; linker.symbols.len()];
    for h in pieces
        .iter()
        .chain(&stub_pieces)
        .flat_map(|p| p.stencil.holes())
    {
        if let (HoleKind::Rel32, HoleValue::Symbol(s)) = (h.kind, h.value) {
            if let Some(c) = called.get_mut(s as usize) {
                *c = true;
            }
        }
    }
    let called = called.iter().filter(|&&c| c).count();
    let block = code_size + TRAMPOLINE_SIZE * called;
    if block > crate::arena::MAX_BLOCK {
        return Err(format!("{block} bytes of code, more than a block can hold").into());
    }
    let mut memory = CodeMemory::new(block, linker.anchor).map_err(CodegenError::OutOfMemory)?;
    let base = memory.address();
    if let Some((at, _)) = init_return {
        for p in pieces.iter().filter(|p| p.uop.op == Uop::_CALL) {
            // SAFETY: the operand of a `_CALL` is its site cache, allocated
            // above and not yet shared.
            unsafe {
                crate::runtime::prepare_call_site(p.uop.operand as *mut u8, base + at as usize)
            };
        }
    }
    let mut trampolines = Trampolines {
        next: code_size,
        slots: Vec::new(),
    };

    // 4. Copy and patch.
    let all: Vec<&Piece> = pieces.iter().chain(&stub_pieces).collect();
    let bytes = memory.bytes_mut();
    for (k, p) in all.iter().enumerate() {
        let stencil = p.stencil;
        let start = p.offset as usize;
        bytes[start..start + p.len as usize].copy_from_slice(&stencil.code()[..p.len as usize]);
        let hot = p.len as usize;
        let cold = p.cold.map(|at| {
            let at = at as usize;
            bytes[at..at + stencil.cold().len()].copy_from_slice(stencil.cold());
            at
        });
        let next = if k + 1 < pieces.len() {
            Some(base + all[k + 1].offset as usize)
        } else {
            None
        };
        for hole in stencil.holes() {
            let offset = hole.offset as usize;
            let at = match cold {
                _ if offset < hot => start + offset,
                Some(cold) if offset >= stencil.hot_len => cold + offset - stencil.hot_len,
                _ => continue, // in the elided jump
            };
            let target = match hole.value {
                HoleValue::Oparg => p.uop.oparg as usize,
                HoleValue::Operand => p.uop.operand as usize,
                HoleValue::OperandLow32 => p.uop.operand as u32 as usize,
                HoleValue::Continue | HoleValue::Resume => {
                    next.ok_or_else(|| format!("{} falls off the code", p.uop.op.name()))?
                }
                HoleValue::JumpTarget => {
                    let to = p
                        .uop
                        .jump
                        .ok_or_else(|| format!("{} without target", p.uop.op.name()))?;
                    base + match program.labelled(&p.uop) {
                        Some(k) => all[k].offset as usize,
                        None => labels[to as usize] as usize,
                    }
                }
                HoleValue::Exit => base + exits[k][0] as usize,
                HoleValue::Error => base + exits[k][1] as usize,
                HoleValue::Hot => base + start,
                HoleValue::Cold => base + cold.ok_or("a branch to a cold part not laid out")?,
                HoleValue::Symbol(s) => linker.symbols[s as usize],
            };
            let value = (target as i64).wrapping_add(hole.addend.into());
            match hole.kind {
                HoleKind::Abs64 => patch_abs64(bytes, at, value as u64),
                HoleKind::Abs32 => {
                    let value = u32::try_from(value).map_err(|_| {
                        format!(
                            "{}: {:?} {value:#x} does not fit its 32-bit hole",
                            p.uop.op.name(),
                            hole.value
                        )
                    })?;
                    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
                }
                HoleKind::Rel32 => {
                    let here = (base + at) as i64;
                    let mut delta = value - here;
                    if i32::try_from(delta).is_err() {
                        let HoleValue::Symbol(s) = hole.value else {
                            return Err(format!("jump out of range in {}", p.uop.op.name()).into());
                        };
                        let slot = trampolines.slot(bytes, s, target);
                        delta = (base + slot) as i64 + i64::from(hole.addend) - here;
                    }
                    patch_rel32(bytes, at, delta as i32);
                }
            }
        }
    }
    let size = trampolines.next;
    memory
        .make_executable()
        .map_err(CodegenError::OutOfMemory)?;
    let starts: Vec<u32> = program.insts.iter().map(|i| i.start).collect();
    let mut handler_insts: Vec<(u32, u32)> = program
        .exception_entries
        .iter()
        .filter_map(|&(_, _, h)| Some((h.target, starts.binary_search(&h.target).ok()? as u32)))
        .collect();
    handler_insts.sort_unstable();
    handler_insts.dedup();
    let opcodes = program.insts.iter().map(|i| (i.offset, i.opcode)).collect();
    // A `yield from`'s resume point knows its `SEND` site: the `_SEND`'s
    // cache and resume address (the next micro-op's).
    let send_site = |send: usize| {
        let p = &pieces[..main_len];
        let k = (0..p.len().saturating_sub(1)).find(|&k| {
            matches!(p[k].uop.op, Uop::_SEND | Uop::_SEND_ASYNC_FOR)
                && p[k].uop.inst as usize == send
        })?;
        Some((p[k + 1].offset, p[k].uop.operand as usize))
    };
    let resume_points: Vec<ResumePoint> = program
        .insts
        .windows(2)
        .zip(1u32..)
        .filter(|(w, _)| crate::frontend::resumes_after(w[0].opcode))
        .map(|(w, i)| {
            let (send_resume, send_cache) =
                crate::frontend::delegating_send(&program.insts, i as usize)
                    .and_then(send_site)
                    .unwrap_or((0, 0));
            ResumePoint {
                at: w[1].start,
                inst: i,
                label: labels[i as usize],
                send_resume,
                send_cache,
            }
        })
        .collect();
    let resumes = resume_table(&resume_points);
    let starts_of = |op: Uop| {
        let mut starts: Vec<u32> = program
            .uops
            .iter()
            .filter(|u| u.op == op)
            .map(|u| program.insts[u.inst as usize].start)
            .collect();
        starts.dedup();
        starts
    };
    let unsupported = starts_of(Uop::_DEOPT);
    let frame_checks = starts_of(Uop::_CHECK_NO_FRAME_OBJECT);
    let class_checks = starts_of(Uop::_CHECK_LOCAL_CLASS);
    let words_heads = (0..program.insts.len())
        .filter(|&i| {
            program
                .uops_of(i)
                .iter()
                .any(|u| u.op == Uop::_RAW_CHECK_EVAL_BREAKER)
        })
        .map(|i| program.insts[i].offset)
        .collect();
    let int_word_bodies = (0..program.insts.len())
        .filter(|&i| {
            let uops = program.uops_of(i);
            uops.iter()
                .any(|u| matches!(u.op, Uop::_CHECK_CALLEE | Uop::_CHECK_KNOWN_CALLEE))
                && uops.iter().any(|u| u.op.computes_ints_in_words())
        })
        .map(|i| program.insts[i].offset)
        .collect();
    let mut locations: Vec<(u32, u32)> = Vec::with_capacity(program.insts.len() + 16);
    for p in &pieces {
        if locations.last().is_none_or(|&(_, i)| i != p.uop.inst) {
            locations.push((p.offset, p.uop.inst));
        }
    }
    // A call from a cold part returns there: it maps to its instruction too.
    let mut last = None;
    for p in pieces.iter().chain(&stub_pieces) {
        if let Some(at) = p.cold {
            if last != Some(p.uop.inst) {
                locations.push((at, p.uop.inst));
                last = Some(p.uop.inst);
            }
        }
    }
    Ok(Compiled {
        memory,
        labels,
        starts,
        opcodes,
        exception_entries: program.exception_entries.as_slice().into(),
        handler_insts: handler_insts.into(),
        unsupported,
        cold: program.cold.clone(),
        frame_checks,
        class_checks,
        words_heads,
        int_word_bodies,
        resumes,
        uops: pieces
            .iter()
            .chain(&stub_pieces)
            .map(|p| p.uop.op)
            .collect(),
        pieces,
        stubs: stub_pieces,
        size,
        version: program.version,
        fallbacks,
        site_caches,
        burned: program.burned.iter().map(|b| b.global).collect(),
        burned_attrs: program.burned_attrs.iter().copied().collect(),
        namespace: program.burned_namespace(),
        patch_sites: patch_sites.into(),
        invalidated: AtomicBool::new(false),
        code_start: program.code_start,
        locations: locations.into(),
        located: false,
        returns_cached: AtomicBool::new(false),
    })
}

/// Whether `op` pushes a burned-in global.
fn is_burned_load(op: Uop) -> bool {
    matches!(
        op,
        Uop::_LOAD_CONST_INLINE
            | Uop::_LOAD_CONST_INLINE_BORROW
            | Uop::_LOAD_CONST_INLINE_WITH_NULL
            | Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL
    )
}

/// Lays out an exit stub (`_EXIT_IP`: where the interpreter resumes) for
/// instruction `inst` at `offset`, which it advances; returns the stub's
/// offset.
fn exit_stub(stubs: &mut Vec<Piece>, offset: &mut u32, operand: u64, inst: u32) -> u32 {
    let at = *offset;
    let stencil = Uop::_EXIT_IP.stencil();
    let len = stencil.hot_len as u32;
    stubs.push(Piece {
        offset: at,
        len,
        cold: None,
        uop: UopInst {
            op: Uop::_EXIT_IP,
            oparg: 0,
            operand,
            inst,
            jump: None,
        },
        stencil,
    });
    *offset += len;
    at
}

/// The index in `tails` of the exit tail `op` counting with `counter`,
/// added if new.
fn tail_for(tails: &mut Vec<UopInst>, op: Uop, counter: u32, inst: u32) -> usize {
    if let Some(t) = tails.iter().position(|t| t.op == op && t.oparg == counter) {
        return t;
    }
    tails.push(UopInst {
        op,
        oparg: counter,
        operand: 0,
        inst,
        jump: None,
    });
    tails.len() - 1
}

/// Writes an 8-byte little-endian value.
pub fn patch_abs64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Writes a 4-byte little-endian displacement.
pub fn patch_rel32(bytes: &mut [u8], at: usize, delta: i32) {
    bytes[at..at + 4].copy_from_slice(&delta.to_le_bytes());
}

/// `jmp [rip+0]` followed by the 8-byte target.
const TRAMPOLINE_SIZE: usize = 14;

/// Indirect jumps to functions a 32-bit displacement cannot reach.
struct Trampolines {
    next: usize,
    /// (symbol, offset) of each trampoline written.
    slots: Vec<(u16, usize)>,
}

impl Trampolines {
    /// The offset of the trampoline to `target`, writing it on first use.
    fn slot(&mut self, bytes: &mut [u8], symbol: u16, target: usize) -> usize {
        if let Some(&(_, at)) = self.slots.iter().find(|(s, _)| *s == symbol) {
            return at;
        }
        let at = self.next;
        bytes[at..at + 6].copy_from_slice(&[0xFF, 0x25, 0, 0, 0, 0]);
        patch_abs64(bytes, at + 6, target as u64);
        self.next += TRAMPOLINE_SIZE;
        self.slots.push((symbol, at));
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stencils::SYMBOL_COUNT;
    use crate::uops::Inst;

    #[test]
    fn patch_helpers_write_little_endian() {
        let mut b = [0u8; 12];
        patch_abs64(&mut b, 2, 0x1122_3344_5566_7788);
        assert_eq!(
            b,
            [0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0, 0]
        );
        patch_rel32(&mut b, 8, -2);
        assert_eq!(&b[8..], &[0xFE, 0xFF, 0xFF, 0xFF]);
    }

    fn inst(start: u32, first: u32, count: u32) -> Inst {
        Inst {
            start,
            offset: start,
            opcode: jitsaw_cpython313::opcode::NOP,
            oparg: 0,
            first,
            count,
            fallback: first + count,
            fallback_count: 0,
        }
    }

    fn uop(op: Uop, oparg: u32, operand: u64, inst: u32, jump: Option<u32>) -> UopInst {
        UopInst {
            op,
            oparg,
            operand,
            inst,
            jump,
        }
    }

    /// Micro-ops for `n` instructions of one each: `_NOP`s, then a return.
    fn nops_then_return(n: u32) -> Vec<UopInst> {
        (0..n)
            .map(|k| {
                let op = if k + 1 < n {
                    Uop::_NOP
                } else {
                    Uop::_POP_FRAME
                };
                uop(op, 0, 0, k, None)
            })
            .collect()
    }

    /// Compiles `program` with every external symbol at one far address.
    fn compile_far(program: &Program) -> Compiled {
        try_compile_far(program).unwrap()
    }

    fn try_compile_far(program: &Program) -> Result<Compiled, CodegenError> {
        let symbols = vec![0x7100_0000_0000; SYMBOL_COUNT];
        let mut counter = |_: ExitReason| 0u32;
        let mut linker = Linker {
            symbols: &symbols,
            exit_counter: &mut counter,
            anchor: symbols[0],
        };
        compile(program, &mut linker)
    }

    /// Code memory that cannot be had now is not the program's fault: the
    /// hook compiles it later instead of never (`BuildError::NoMemory`).
    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn code_memory_running_out_is_not_a_refusal() {
        let _arena = crate::arena::arena_test_lock();
        let program = Program {
            insts: (0..3).map(|k| inst(k, k, 1)).collect(),
            uops: nops_then_return(3),
            code_start: 0x5555_0000,
            ..Program::default()
        };
        crate::arena::fail_next_allocation();
        assert!(matches!(
            try_compile_far(&program),
            Err(CodegenError::OutOfMemory(_))
        ));
        assert!(try_compile_far(&program).is_ok());
        let broken = Program {
            code_start: 0xFFFF_FFF0,
            ..program
        };
        assert!(matches!(
            try_compile_far(&broken),
            Err(CodegenError::Unsupported(_))
        ));
    }

    /// Compiles a small program whose external symbols all lie out of rel32
    /// reach, then recomputes every hole from the program and compares.
    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn every_hole_is_patched_byte_exactly() {
        let _arena = crate::arena::arena_test_lock();
        let program = Program {
            insts: vec![inst(0, 0, 2), inst(1, 2, 2), inst(2, 4, 1), inst(3, 5, 1)],
            uops: vec![
                uop(Uop::_LOAD_FAST, 5, 0, 0, None),
                uop(Uop::_GUARD_TOS_INT, 0, 0, 0, None),
                uop(Uop::_LOAD_CONST_INLINE_BORROW, 0, 0xDEAD_BEEF_F00D, 1, None),
                uop(Uop::_UNARY_NEGATIVE, 0, 0, 1, None),
                uop(Uop::_POP_JUMP_IF_TRUE, 0, 0, 2, Some(0)),
                uop(Uop::_POP_FRAME, 0, 0, 3, None),
            ],
            code_start: 0x5555_0000,
            ..Program::default()
        };
        let symbols: Vec<usize> = (0..SYMBOL_COUNT)
            .map(|i| 0x7100_0000_0000 + 0x100 * i)
            .collect();
        let mut counter = |_: ExitReason| 42u32;
        let anchor = every_hole_is_patched_byte_exactly as *const () as usize;
        let mut linker = Linker {
            symbols: &symbols,
            exit_counter: &mut counter,
            anchor,
        };
        let c = compile(&program, &mut linker).unwrap();
        let base = c.memory.address();
        let bytes = c.memory.bytes();
        let all: Vec<&Piece> = c.all_pieces().collect();
        let uop_pieces = &c.pieces[..program.uops.len()];
        assert_eq!(
            c.labels,
            vec![
                uop_pieces[0].offset,
                uop_pieces[2].offset,
                uop_pieces[4].offset,
                uop_pieces[5].offset
            ]
        );
        let read64 = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let read32 = |at: usize| i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert!(
            all.iter().any(|p| p.cold.is_some()),
            "the program has a stencil with a cold part"
        );
        for (k, p) in all.iter().enumerate() {
            let stencil = p.uop.stencil();
            // Where each part was copied, from which stencil offset, how long.
            let mut copies = vec![(p.offset as usize, 0, p.len as usize)];
            if let Some(at) = p.cold {
                copies.push((at as usize, stencil.hot_len, stencil.cold().len()));
            }
            assert_eq!(p.cold.is_some(), !stencil.cold().is_empty());
            for &(to, from, len) in &copies {
                // Any byte of a micro-op's code maps to its instruction.
                if k < program.uops.len() {
                    let ip = program.unit_address(program.insts[p.uop.inst as usize].offset);
                    for at in [to, to + len - 1] {
                        assert_eq!(c.instr_ptr_at(base + at), Some(ip));
                    }
                }
                // Holes aside, the copy is the stencil.
                let mut expected = stencil.code()[from..from + len].to_vec();
                for h in stencil.holes().iter() {
                    let h_at = h.offset as usize;
                    if (from..from + len).contains(&h_at) {
                        let w = if h.kind == HoleKind::Abs64 { 8 } else { 4 };
                        let at = to + h_at - from;
                        expected[h_at - from..h_at - from + w].copy_from_slice(&bytes[at..at + w]);
                    }
                }
                assert_eq!(&bytes[to..to + len], &expected[..]);
            }
            if (p.len as usize) < stencil.hot_len {
                assert_eq!(
                    all[k + 1].offset,
                    p.offset + p.len,
                    "an elided jump falls through"
                );
            }
            let placed = stencil.holes().iter().filter_map(|h| {
                let h_at = h.offset as usize;
                copies
                    .iter()
                    .find(|&&(_, from, len)| (from..from + len).contains(&h_at))
                    .map(|&(to, from, _)| (h, to + h_at - from))
            });
            for (h, at) in placed {
                let target = match h.value {
                    HoleValue::Oparg => p.uop.oparg as u64,
                    HoleValue::Operand => p.uop.operand,
                    HoleValue::OperandLow32 => p.uop.operand & 0xFFFF_FFFF,
                    HoleValue::Continue | HoleValue::Resume => {
                        (base + all[k + 1].offset as usize) as u64
                    }
                    HoleValue::JumpTarget => {
                        (base + c.labels[p.uop.jump.unwrap() as usize] as usize) as u64
                    }
                    // Checked with the exit that uses the stub.
                    HoleValue::Exit if p.uop.op == Uop::_EXIT_IP => {
                        ((base + at) as i64 + read32(at) as i64 - i64::from(h.addend)) as u64
                    }
                    HoleValue::Exit | HoleValue::Error => {
                        // An exit goes to a stub setting where the
                        // interpreter resumes, then to a tail of its kind
                        // counting the exit.
                        let jumps_to = |at: usize| {
                            let dest = (base + at) as i64 + read32(at) as i64 - i64::from(h.addend);
                            all.iter()
                                .find(|t| (base + t.offset as usize) as i64 == dest)
                                .expect("an exit jumps to a piece")
                        };
                        let stub = jumps_to(at);
                        assert_eq!(stub.uop.op, Uop::_EXIT_IP);
                        assert_eq!(stub.uop.inst, p.uop.inst);
                        let inst = &program.insts[p.uop.inst as usize];
                        let (resume, tail_op) = if h.value == HoleValue::Exit {
                            (inst.start, Uop::_DEOPT_TAIL)
                        } else {
                            (inst.offset, Uop::_ERROR_TAIL)
                        };
                        assert_eq!(stub.uop.operand, program.unit_address(resume));
                        let holes = &Uop::_EXIT_IP.stencil().holes();
                        let exit = holes.iter().rfind(|e| e.value == HoleValue::Exit).unwrap();
                        let tail = jumps_to(stub.offset as usize + exit.offset as usize);
                        assert_eq!(tail.uop.op, tail_op);
                        assert_eq!(tail.uop.oparg, 42, "the tail counts its exit");
                        (base + stub.offset as usize) as u64
                    }
                    HoleValue::Hot => (base + p.offset as usize) as u64,
                    HoleValue::Cold => (base + p.cold.unwrap() as usize) as u64,
                    HoleValue::Symbol(s) => symbols[s as usize] as u64,
                };
                match h.kind {
                    HoleKind::Abs64 => {
                        assert_eq!(read64(at), target.wrapping_add(i64::from(h.addend) as u64))
                    }
                    HoleKind::Abs32 => {
                        assert_eq!(
                            read32(at) as u32 as u64,
                            target.wrapping_add(i64::from(h.addend) as u64)
                        )
                    }
                    HoleKind::Rel32 => {
                        let dest = (base + at) as i64 + read32(at) as i64 - i64::from(h.addend);
                        let symbol = match h.value {
                            HoleValue::Symbol(s) => Some(symbols[s as usize]),
                            _ => None,
                        };
                        // Out of reach (where the code landed decides):
                        // through `jmp [rip+0]; .quad target`.
                        if let Some(s) = symbol.filter(|&s| dest as usize != s) {
                            let t = (dest as usize) - base;
                            assert_eq!(&bytes[t..t + 6], &[0xFF, 0x25, 0, 0, 0, 0]);
                            assert_eq!(read64(t + 6), s as u64);
                        } else {
                            assert_eq!(dest as u64, target);
                        }
                    }
                }
            }
        }
    }

    /// Every instruction after a yield is found where the generator
    /// resumes, also when two such points share a slot of the table.
    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn resume_points_are_found_in_and_out_of_their_slots() {
        use jitsaw_cpython313::opcode::{RETURN_GENERATOR, YIELD_VALUE};
        // Instruction k starts at code unit 4k: every resume point after
        // the first two falls in a slot taken already.
        let n = 3 * RESUME_SLOTS as u32;
        let insts: Vec<Inst> = (0..n)
            .map(|k| Inst {
                opcode: match k {
                    0 => RETURN_GENERATOR,
                    k if k % 3 == 0 => YIELD_VALUE,
                    _ => jitsaw_cpython313::opcode::NOP,
                },
                ..inst(4 * k, k, 1)
            })
            .collect();
        let program = Program {
            uops: nops_then_return(n),
            insts,
            code_start: 0x5555_0000,
            ..Program::default()
        };
        let c = compile_far(&program);
        for k in 0..n {
            assert_eq!(c.resume_at(4 * k), Some(k as usize));
            assert_eq!(c.resume_at(4 * k + 1), None, "not an instruction start");
        }
        let cached = c.resumes.iter().filter(|r| r.at != u32::MAX).count();
        assert!(
            cached > 1 && cached < RESUME_SLOTS,
            "slots shared: {cached}"
        );
    }

    /// The compiled code's search of its decoded exception table finds for
    /// every offset what the search of the table's bytes finds.
    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn decoded_exception_entries_give_each_offset_its_handler() {
        use jitsaw_cpython313::exception_table::{entries, handler_for};
        // Entries (start, size, target, depth << 1 | lasti) with gaps and
        // adjacent ranges, encoded as CPython's assembler does.
        let mut table = Vec::new();
        let mut put = |value: u32, first: bool| {
            let mut groups = vec![value & 63];
            let mut v = value >> 6;
            while v != 0 {
                groups.push(v & 63);
                v >>= 6;
            }
            for (j, &g) in groups.iter().enumerate().rev() {
                let more = if j > 0 { 64 } else { 0 };
                let mark = if first && j == groups.len() - 1 {
                    128
                } else {
                    0
                };
                table.push((g | more | mark) as u8);
            }
        };
        let mut at = 3;
        for k in 0..40u32 {
            let size = 1 + k * 5 % 23;
            for (i, v) in [at, size, 400 + k, ((k % 4) << 1) | (k % 2)]
                .into_iter()
                .enumerate()
            {
                put(v, i == 0);
            }
            at += size + k % 3;
        }
        // Instructions at code units 0 and 400..420: half the handlers
        // (targets 400..440) start one.
        let starts: Vec<u32> = std::iter::once(0).chain(400..420).collect();
        let n = starts.len() as u32;
        let program = Program {
            uops: nops_then_return(n),
            insts: starts
                .iter()
                .zip(0..)
                .map(|(&at, k)| inst(at, k, 1))
                .collect(),
            exception_entries: entries(&table).filter(|&(s, e, _)| s < e).collect(),
            ..Program::default()
        };
        let c = compile_far(&program);
        assert_eq!(c.exception_entries.len(), 40);
        // Each handler at an instruction's start is found without a search.
        assert_eq!(c.handler_insts.len(), 20);
        for target in 380..450 {
            assert_eq!(c.handler_inst(target), c.inst_at(target), "{target}");
        }
        assert_eq!(c.handler_inst(405), Some(6));
        for offset in 0..at + 5 {
            assert_eq!(
                c.handler_for(offset),
                handler_for(&table, offset),
                "{offset}"
            );
        }
    }

    /// A few resume points (a generator with two `yield from`s and a
    /// `yield`, whose offsets collide modulo 8 and 16) each get a slot of
    /// their own.
    #[test]
    fn few_resume_points_get_a_slot_each() {
        let points = [(1, 1), (36, 13), (52, 20), (87, 33)].map(|(at, inst)| ResumePoint {
            at,
            inst,
            label: 8 * inst,
            ..NO_RESUME_POINT
        });
        let table = resume_table(&points);
        assert_eq!(table.len(), 32);
        for point in points {
            assert_eq!(table[point.at as usize & (table.len() - 1)], point);
        }
        assert_eq!(&*resume_table(&[]), &[NO_RESUME_POINT]);
    }
}
