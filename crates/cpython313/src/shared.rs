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
/// `_CHECK_LOCAL_CLASS`'s oparg flag (above the local's index): the object
/// had its attributes as inline values.
pub const CLASS_CHECK_VALUES: u32 = 1 << 16;
/// `_CHECK_LOCAL_CLASS`'s oparg flag: the object had no `__dict__` of its
/// own (and inline values).
pub const CLASS_CHECK_NO_DICT: u32 = 1 << 17;
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
    /// The type's version tag; 0 in an unused entry, and in a `Generic`
    /// one for a type without a version (keyed by its address in `aux`).
    pub version: u32,
    /// What the entry knows.
    pub kind: AttrKind,
    /// How `Method`, `BoundMethod` and `ClassAttr` entries rule out an
    /// instance attribute.
    pub check: AttrCheck,
    /// The inline value's index ([`ATTR_NOT_SHARED`] if the shared keys lack
    /// the name), the slot's byte offset, the number of shared keys known
    /// not to be the name, or for `OfClass` how its `__get__` answers.
    pub index: u16,
    /// `Method`, `BoundMethod`, `ClassAttr`, `ValueOrClassAttr`, `OfClass`:
    /// the class attribute (`GetSet`: the descriptor), borrowed (the type holds
    /// it as long as its version is unchanged, what CPython's inline caches
    /// rely on too). `Value`, `DictValue`: where in the entries of an
    /// instance's `__dict__` the name was last found (a hint, checked).
    /// `Generic` of version 0: the type's address (never dereferenced).
    pub aux: usize,
}

impl AttrEntry {
    /// The class attribute of a `Method`, `BoundMethod`, `ClassAttr`,
    /// `ValueOrClassAttr` or `OfClass` entry.
    #[inline(always)]
    pub fn descr(&self) -> *mut crate::layout::PyObject {
        self.aux as *mut crate::layout::PyObject
    }

    /// For a `Value` or `DictValue` entry, the `__dict__` of `owner` (of the
    /// entry's type version) when the attribute lives there: the instance's
    /// inline values are no longer current, or its type has none. Null
    /// otherwise, or when the instance has no dict yet. (A `__dict__` that
    /// shares current inline values, made by `obj.__dict__` or `vars(obj)`,
    /// is left to the generic store, which in 3.13.0 writes the values
    /// without telling the dict's watchers, as `PyDict_SetItem` would.)
    ///
    /// # Safety
    /// `owner` is a live object of the entry's type version.
    #[inline(always)]
    pub unsafe fn instance_dict(
        &self,
        owner: *mut crate::layout::PyObject,
    ) -> *mut crate::layout::PyDictObject {
        use crate::inline::{field, inline_values, managed_dict};
        match self.kind {
            // Types of both kinds keep a managed `__dict__`.
            AttrKind::Value if (*inline_values(owner)).valid == 0 => managed_dict(owner),
            AttrKind::DictValue if self.check == AttrCheck::Offset => {
                field::<*mut crate::layout::PyDictObject>(owner.cast(), self.index as usize)
            }
            AttrKind::DictValue => managed_dict(owner),
            _ => core::ptr::null_mut(),
        }
    }

    /// The attribute of `owner` (of the entry's type version), borrowed,
    /// where reading it takes no lookup and runs no code: a `Value` entry's
    /// in current inline values, a `ValueOrClassAttr` entry's there or else
    /// its class attribute, a `Slot` entry's in its slot, a `ClassAttr`
    /// entry's class attribute where the instance cannot hide it. `None`
    /// for any other entry or a value missing there (which a `__dict__` may
    /// hold, or whose absence raises).
    ///
    /// # Safety
    /// `owner` is a live object of the entry's type version.
    #[inline(always)]
    pub unsafe fn plain_value(
        &self,
        owner: *mut crate::layout::PyObject,
    ) -> Option<*mut crate::layout::PyObject> {
        use crate::inline::{field, inline_values};
        let attr = match self.kind {
            AttrKind::Value | AttrKind::ValueOrClassAttr => {
                let values = inline_values(owner);
                if (*values).valid == 0 || self.index == ATTR_NOT_SHARED {
                    return None;
                }
                let value = *(*values).values.as_ptr().add(self.index as usize);
                if value.is_null() && self.kind == AttrKind::ValueOrClassAttr {
                    self.descr()
                } else {
                    value
                }
            }
            AttrKind::Slot => {
                field::<*mut crate::layout::PyObject>(owner.cast(), self.index as usize)
            }
            AttrKind::ClassAttr if self.instance_attr_ruled_out(owner) == Some(true) => {
                self.descr()
            }
            _ => return None,
        };
        (!attr.is_null()).then_some(attr)
    }

    /// For a `Method` or `ClassAttr` entry, whether `owner` (of the entry's
    /// type version) has no attribute of the name, when that can be told
    /// without its `__dict__`: its type gives instances no `__dict__`, or
    /// its inline values are current and the type's shared keys still end
    /// where they did when none was the name. `None` when only the
    /// `__dict__` can tell (its str keys may rule the name out without a
    /// lookup: `dict_lacks_str`); `Some(false)` (not ruled out here) for a
    /// `__dict__` at an offset ([`AttrCheck::Offset`]), which the runtime
    /// reads.
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
            // Not here: the runtime reads that `__dict__`.
            AttrCheck::Offset => Some(false),
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

/// Where in `_LOAD_ATTR_LOCAL_CACHED`'s site cache (two cache lines) its
/// attribute's name is, which the code generator puts there: past the
/// entries, at the start of the second line.
pub const LOCAL_CACHED_NAME: usize = 64;

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
    /// instance's managed `__dict__` (at entry `aux`, likely), or in the
    /// `__dict__` at an offset ([`AttrCheck::Offset`]).
    DictValue,
    /// A member slot (`__slots__`) at byte offset `index`.
    Slot,
    /// A method (`descr()`, a method descriptor) to call with the instance as
    /// self, unless the instance has an attribute of the name (`check`).
    Method,
    /// A class attribute (`descr()`) that is not a descriptor, unless the
    /// instance has an attribute of the name (`check`).
    ClassAttr,
    /// A `property` (`descr()`, exactly of that type) whose getter was a
    /// Python function when the entry was made (a non-method load): the
    /// getter's frame can be entered directly, as CPython's
    /// `LOAD_ATTR_PROPERTY` does (the getter is read again each time). In a
    /// store's cache, likewise its setter, which the runtime runs directly.
    Property,
    /// A load of an instance attribute that a class attribute (`descr()`,
    /// not a descriptor: a default such as `parent = None`) stands in for
    /// while instances lack it: the inline value at `index` while the values
    /// are current, else the class attribute. CPython does not specialize
    /// such loads (`SPEC_FAIL_ATTR_CLASS_ATTR_SIMPLE`, shadowed).
    ValueOrClassAttr,
    /// A load of `__class__` that finds `object`'s own descriptor: the
    /// instance's type.
    DunderClass,
    /// A load from a class whose metaclass is `type`, or one that leaves
    /// attribute lookup to `type` (the owner is the class): `descr()`, found
    /// on the class where the metaclass has no data descriptor of the name,
    /// either itself, or (`index` 1) what its `__get__` answers for the
    /// class, or (`index` 2: an instance of a mutable class) either, as its
    /// class has a `__get__` or not at the load. Keyed by the class's own
    /// version ([`AttrCheck::Class`]).
    OfClass,
    /// A method (`descr()`, whose type has `Py_TPFLAGS_METHOD_DESCRIPTOR`)
    /// loaded as a value (`append = items.append`), or another descriptor
    /// without `__set__` (a classmethod, a staticmethod) loaded either way,
    /// unless the instance has an attribute of the name (`check`): what its
    /// `__get__` answers for the instance, as the generic lookup would ask.
    BoundMethod,
    /// A load from a module (exactly `types.ModuleType`, which has no
    /// attribute of the name): the module's `__dict__` value (at entry
    /// `aux`, likely), else the generic path (the module's `__getattr__`,
    /// the error). CPython does not specialize loads from a module with a
    /// `__getattr__` (`ast`, pytest's assertion rewriting's `ast.Name`...),
    /// nor a site whose module's keys changed too often.
    ModuleAttr,
    /// A getter-setter descriptor (`descr()`, exactly a `getset_descriptor`
    /// with a getter: `frame.f_back`, an instance's `__dict__`, a class's
    /// `__name__` through `type`'s own): a data descriptor, so nothing on
    /// the instance hides it, and its getter, called directly, answers as
    /// the descriptor's `__get__` would. CPython does not specialize such
    /// loads (it takes the descriptor for a non-data one it cannot serve).
    GetSet,
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
    /// The `__dict__` at byte offset `index` of the instance
    /// (`tp_dictoffset`: a type of C with a `__dict__`, such as the `ast`
    /// nodes, or a class deriving from one, such as an exception's):
    /// loads leave it to the runtime; a store writes into it
    /// ([`AttrEntry::instance_dict`]) as into a managed one.
    Offset,
    /// None: the entry is for a class as the owner ([`AttrKind::OfClass`],
    /// or `Generic` for one), keyed by that class's own version, where the
    /// others are keyed by the owner's type's.
    Class,
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

    /// The resume point of a frame suspended at code unit `offset` (its
    /// machine code is at `base + label`), if what the cache learned still
    /// holds: the same epoch and instrumentation `version`, the frame's
    /// `globals` and `builtins`, and a resume point there. (The caller
    /// checks the rest: the code object, its monitoring data.)
    ///
    /// # Safety
    /// A nonzero epoch means `points` and `base` are a live compilation's.
    #[inline(always)]
    pub unsafe fn point(
        &self,
        epoch: u64,
        version: u64,
        globals: usize,
        builtins: usize,
        offset: u32,
    ) -> Option<&ResumePoint> {
        if self.epoch != epoch
            || self.version != version
            || self.globals != globals
            || self.builtins != builtins
        {
            return None;
        }
        let point = &*self.points.add(offset as usize & self.mask);
        (point.at == offset).then_some(point)
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
    /// For the `RESUME` after a `yield from`'s or `await`'s `YIELD_VALUE`
    /// (whose frame, resumed, sends the value on at once): the byte offset
    /// where its `SEND` site resumes (the micro-op after `_SEND`), else 0.
    pub send_resume: u32,
    /// The `SEND` site's `ResumeCache` (0 when `send_resume` is).
    pub send_cache: usize,
}
