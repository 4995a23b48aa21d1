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
/// `_QUICKEN`'s oparg bit: when the counter is due, deopt so that the
/// interpreter specializes the instruction (code without loops).
pub const QUICKEN_DEOPT_WHEN_DUE: u32 = 0x100;
/// `_QUICKEN`'s oparg bit: when the counter of an instruction never tried
/// is due, tell the runtime (`jitsaw_quicken_due`), which lets the
/// interpreter run a later call (code with loops).
pub const QUICKEN_REPORT_WHEN_DUE: u32 = 0x200;
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

/// One entry of a per-site attribute cache (`_LOAD_ATTR_CACHED`,
/// `_STORE_ATTR_CACHED`): what the runtime learned about an attribute on
/// instances of one type version. The runtime fills entries; stencils read
/// the first one to answer the common kinds without a call.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct AttrEntry {
    /// The type's version tag (never 0 in a used entry).
    pub version: u32,
    /// What the entry knows.
    pub kind: AttrKind,
    /// How `Method` and `ClassAttr` entries rule out an instance attribute.
    pub check: AttrCheck,
    /// The inline value's index ([`ATTR_NOT_SHARED`] if the shared keys lack
    /// the name), the slot's byte offset, or the number of shared keys known
    /// not to be the name.
    pub index: u16,
    /// `Method`, `ClassAttr`: the class attribute, borrowed (the type holds
    /// it as long as its version is unchanged, what CPython's inline caches
    /// rely on too). `Value`, `DictValue`: where in the entries of an
    /// instance's `__dict__` the name was last found (a hint, checked).
    pub aux: usize,
}

impl AttrEntry {
    /// The class attribute of a `Method` or `ClassAttr` entry.
    #[inline(always)]
    pub fn descr(&self) -> *mut crate::layout::PyObject {
        self.aux as *mut crate::layout::PyObject
    }

    /// For a `Method` or `ClassAttr` entry, whether `owner` (of the entry's
    /// type version) has no attribute of the name, when that can be told
    /// without a `__dict__` lookup (which could run code): its type gives
    /// instances no `__dict__`, or its inline values are current and the
    /// type's shared keys still end where they did when none was the name.
    /// `None` when only the `__dict__` can tell.
    ///
    /// # Safety
    /// `owner` is a live object of the entry's type version.
    #[inline(always)]
    pub unsafe fn instance_attr_ruled_out(
        &self,
        owner: *mut crate::layout::PyObject,
    ) -> Option<bool> {
        use crate::inline::{field, inline_values, ob_type};
        match self.check {
            AttrCheck::NoDict => Some(true),
            AttrCheck::Values if (*inline_values(owner)).valid != 0 => {
                let keys = field::<*mut crate::layout::DictKeys>(
                    ob_type(owner).cast(),
                    crate::off::HEAPTYPE_HT_CACHED_KEYS,
                );
                Some(!keys.is_null() && (*keys).dk_nentries == self.index as isize)
            }
            _ => None,
        }
    }
}

/// Entries per site.
pub const ATTR_ENTRIES: usize = 4;

/// `index` of an [`AttrKind::Value`] whose name is not among the shared keys.
pub const ATTR_NOT_SHARED: u16 = u16::MAX;

/// What an [`AttrEntry`] knows about the attribute, for instances of one type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum AttrKind {
    /// An unused entry (a zeroed cache is all unused entries).
    Empty = 0,
    /// Nothing worth caching: the generic path, without asking again.
    Generic,
    /// An instance attribute (no class attribute of the name): in the
    /// inline values at `index` while they are current, else in the
    /// instance's `__dict__` (at entry `aux`, likely).
    Value,
    /// An instance attribute of a type without inline values, in the
    /// instance's managed `__dict__` (at entry `aux`, likely).
    DictValue,
    /// A member slot (`__slots__`) at byte offset `index`.
    Slot,
    /// A method (`descr()`, a method descriptor) to call with the instance as
    /// self, unless the instance has an attribute of the name (`check`).
    Method,
    /// A class attribute (`descr()`) that is not a descriptor, unless the
    /// instance has an attribute of the name (`check`).
    ClassAttr,
}

/// How [`AttrKind::Method`] and [`AttrKind::ClassAttr`] entries tell that the
/// instance has no attribute of the name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum AttrCheck {
    /// Instances have no `__dict__`.
    NoDict = 0,
    /// Inline values whose shared keys' first `index` entries are not the
    /// name (shared keys only grow), or else the `__dict__`.
    Values,
    /// The managed `__dict__` (a type without inline values).
    Dict,
}

/// What a site resuming generators directly (`_SEND`, `_FOR_ITER`) learned
/// when the runtime last resumed one there: its code object and that
/// code's compiled resume points. The stencil resumes a frame of the same
/// code without the runtime while nothing the entry depends on changed
/// since: no code object's status (the runtime's epoch, which also moves
/// when a compiled code object dies, so that `code` cannot come to name
/// another), the instrumentation version, the frame evaluator, and the
/// frame's namespace. Zeroed, it matches nothing (the epoch starts at 1).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct ResumeCache {
    /// The runtime's epoch then.
    pub epoch: u64,
    /// The interpreter's instrumentation version then.
    pub version: u64,
    /// The interpreter's frame evaluator then (jitsaw's).
    pub eval_frame: usize,
    /// The frame's globals.
    pub globals: usize,
    /// The frame's builtins.
    pub builtins: usize,
    /// The frame's code object.
    pub code: usize,
    /// Its compiled code's table of resume points (indexed by a code-unit
    /// offset's low bits, `mask`), owned by the compiled code.
    pub points: *const ResumePoint,
    /// The table's size minus one.
    pub mask: usize,
    /// The compiled code's address, to which `label`s are relative.
    pub base: usize,
}

impl ResumeCache {
    /// A cache that learned nothing (no epoch is 0).
    pub const EMPTY: ResumeCache = ResumeCache {
        epoch: 0,
        version: 0,
        eval_frame: 0,
        globals: 0,
        builtins: 0,
        code: 0,
        points: core::ptr::null(),
        mask: 0,
        base: 0,
    };

    /// Where a frame suspended at code unit `offset` resumes (its machine
    /// code's address), if what the cache learned still holds: the same
    /// epoch and instrumentation `version`, the frame's `globals` and
    /// `builtins`, and a resume point there. (The caller checks the rest:
    /// the code object, its monitoring data.)
    ///
    /// # Safety
    /// A nonzero epoch means `points` and `base` are a live compilation's.
    #[inline(always)]
    pub unsafe fn address(
        &self,
        epoch: u64,
        version: u64,
        globals: usize,
        builtins: usize,
        offset: u32,
    ) -> Option<usize> {
        if self.epoch != epoch
            || self.version != version
            || self.globals != globals
            || self.builtins != builtins
        {
            return None;
        }
        let point = *self.points.add(offset as usize & self.mask);
        (point.at == offset).then_some(self.base + point.label as usize)
    }
}

/// A resume point of compiled generator code: after `RETURN_GENERATOR` or
/// a `YIELD_VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ResumePoint {
    /// The code-unit offset a suspended frame's `instr_ptr` is at
    /// (`u32::MAX`: an empty slot).
    pub at: u32,
    /// The index of the instruction there.
    pub inst: u32,
    /// The byte offset of its machine code.
    pub label: u32,
}

/// A code object's call counts, kept by the runtime and bumped by a `_CALL`
/// site that enters the code the quick way ([`CallCache`]), as the runtime
/// would.
#[derive(Clone, Copy, Default, Debug)]
#[repr(C)]
pub struct CallCounts {
    /// Calls that reached jitsaw.
    pub calls: u32,
    /// Calls since the code was last compiled.
    pub since_compile: u32,
}

impl CallCounts {
    /// Counts a call.
    #[inline(always)]
    pub fn count(&mut self) {
        self.calls = self.calls.saturating_add(1);
        self.since_compile = self.since_compile.saturating_add(1);
    }

    /// Whether this call should look at the code's fallbacks first (which
    /// costs more than every other check together): every
    /// [`FALLBACK_CHECK_CALLS`]th call does, the way that decides.
    #[inline(always)]
    pub fn fallback_check_due(&self) -> bool {
        self.since_compile.is_multiple_of(FALLBACK_CHECK_CALLS)
    }
}

/// See [`CallCounts::fallback_check_due`].
pub const FALLBACK_CHECK_CALLS: u32 = 16;

/// What a call site remembers when it may enter compiled code directly: the
/// runtime's epoch and the interpreter's instrumentation version then.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct DirectTicket {
    /// The runtime's epoch (see [`ResumeCache`]).
    pub epoch: u64,
    /// The interpreter's instrumentation version.
    pub version: u64,
}

/// What a `CALL` site remembers of a compiled Python function it entered
/// directly or made a generator of, or of a class whose compiled
/// `__init__` it entered (zeroed: nothing), so that the next call to it
/// needs none of the lookups: the function's version vouches for its code
/// (CPython gives each code object its own, and resets a function's when
/// its code, defaults or vectorcall change), which keeps the code's state
/// and compiled code alive; the ticket, the frame evaluator and the code's
/// monitoring data vouch for the rest. The `_CALL` stencil enters a
/// function of the first entry itself; the runtime does everything else.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct CallCache {
    /// The function's version (a class's type version); 0 for none.
    pub version: u32,
    /// The arguments passed, counting `self`.
    pub nargs: u16,
    /// How many parameters of a function the call leaves to its defaults
    /// (its version vouches for them too).
    pub filled: u16,
    /// The code's call counts.
    pub counts: *mut CallCounts,
    /// The compiled code's entry; 0 for a generator function, whose call
    /// makes a generator.
    pub entry: usize,
    /// When the entry was learned.
    pub ticket: DirectTicket,
    /// The interpreter's frame evaluator then (jitsaw's).
    pub eval_frame: usize,
    /// For a class: its `__init__`, borrowed, as the version vouches for
    /// it; null for a function.
    pub init: *mut crate::layout::PyObject,
    /// Where a compiled `__init__` entered for a class returns: the code's
    /// `_INIT_RETURN` (written by the code generator; 0 for none).
    pub init_return: usize,
}

/// A `_CALL` site's cache: the entry it learned last, and the function
/// before, which a site calling two functions in turn keeps (deltablue's
/// and richards' method calls on objects of a few classes).
#[repr(C)]
pub struct CallSite {
    /// The entry learned last.
    pub first: CallCache,
    /// The function learned before it.
    pub second: CallCache,
}
