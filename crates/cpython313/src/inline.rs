//! Rust versions of the CPython 3.13 inline functions and macros jitsaw needs
//! (`Py_INCREF`, `_PyLong_IsCompact`, `DK_UNICODE_ENTRIES`, ...). The headers
//! define them `static inline`, so they are not exported; each one here
//! follows the 3.13 header it names.
//!
//! All take raw pointers and are `unsafe`: callers guarantee the objects are
//! live and of the stated type. Nothing here may panic (stencils use it).

use crate::consts;
use crate::ffi;
use crate::layout::*;
use crate::off;

/// `Py_TYPE(o)`.
#[inline(always)]
pub unsafe fn ob_type(o: *mut PyObject) -> *mut PyTypeObject {
    (*o).ob_type
}

/// `Py_SIZE(o)`.
#[inline(always)]
pub unsafe fn ob_size(o: *mut PyObject) -> isize {
    (*o.cast::<PyVarObject>()).ob_size
}

/// `_Py_IsImmortal(o)`: the low 32 bits of the refcount are negative.
#[inline(always)]
pub unsafe fn is_immortal(o: *mut PyObject) -> bool {
    ((*o).ob_refcnt as i32) < 0
}

/// Whether releasing `o` (a reference to it, the last or not) can run no
/// code: it is immortal, or an exact int, float or `str`, whose freeing
/// releases nothing else.
#[inline(always)]
pub unsafe fn releases_quietly(o: *mut PyObject) -> bool {
    is_immortal(o) || is_int(o) || is_float(o) || is_str(o)
}

/// `Py_INCREF(o)`: a saturating add on the low half, as in 3.13's object.h.
#[inline(always)]
pub unsafe fn incref(o: *mut PyObject) {
    let low = o.cast::<u32>();
    let new = (*low).wrapping_add(1);
    if new != 0 {
        *low = new;
    }
}

/// `Py_XINCREF(o)`.
#[inline(always)]
pub unsafe fn xincref(o: *mut PyObject) {
    if !o.is_null() {
        incref(o);
    }
}

/// `Py_NewRef(o)`.
#[inline(always)]
pub unsafe fn new_ref(o: *mut PyObject) -> *mut PyObject {
    incref(o);
    o
}

/// `Py_DECREF(o)`.
#[inline(always)]
pub unsafe fn decref(o: *mut PyObject) {
    if is_immortal(o) {
        return;
    }
    let rc = (*o).ob_refcnt - 1;
    (*o).ob_refcnt = rc;
    if rc == 0 {
        ffi::_Py_Dealloc(o);
    }
}

/// `Py_XDECREF(o)`.
#[inline(always)]
pub unsafe fn xdecref(o: *mut PyObject) {
    if !o.is_null() {
        decref(o);
    }
}

/// `_Py_DECREF_NO_DEALLOC(o)`: the caller knows another reference remains.
#[inline(always)]
pub unsafe fn decref_no_dealloc(o: *mut PyObject) {
    if !is_immortal(o) {
        (*o).ob_refcnt -= 1;
    }
}

/// `Py_REFCNT(o)`.
#[inline(always)]
pub unsafe fn refcnt(o: *mut PyObject) -> isize {
    (*o).ob_refcnt
}

/// `Py_None`.
#[inline(always)]
pub fn none() -> *mut PyObject {
    &raw mut ffi::_Py_NoneStruct
}

/// `Py_NotImplemented`.
#[inline(always)]
pub fn not_implemented() -> *mut PyObject {
    &raw mut ffi::_Py_NotImplementedStruct
}

/// `Py_True`.
#[inline(always)]
pub fn py_true() -> *mut PyObject {
    &raw mut ffi::_Py_TrueStruct
}

/// `Py_False`.
#[inline(always)]
pub fn py_false() -> *mut PyObject {
    &raw mut ffi::_Py_FalseStruct
}

/// `b ? Py_True : Py_False` (both immortal: no reference to take).
#[inline(always)]
pub fn py_bool(b: bool) -> *mut PyObject {
    if b {
        py_true()
    } else {
        py_false()
    }
}

/// Reads a field of an opaque structure at a generated offset.
#[inline(always)]
pub unsafe fn field<T: Copy>(base: *const u8, offset: usize) -> T {
    base.add(offset).cast::<T>().read()
}

/// Address of a field of an opaque structure at a generated offset.
#[inline(always)]
pub unsafe fn field_ptr<T>(base: *mut u8, offset: usize) -> *mut T {
    base.add(offset).cast::<T>()
}

/// `tp_flags` of a type.
#[inline(always)]
pub unsafe fn type_flags(t: *mut PyTypeObject) -> u64 {
    field::<u64>(t.cast(), off::TYPE_TP_FLAGS)
}

/// `tp_version_tag` of a type.
#[inline(always)]
pub unsafe fn type_version(t: *mut PyTypeObject) -> u32 {
    field::<u32>(t.cast(), off::TYPE_TP_VERSION_TAG)
}

/// `PyType_HasFeature(Py_TYPE(o), flag)`.
#[inline(always)]
pub unsafe fn type_has(o: *mut PyObject, flag: u64) -> bool {
    type_flags(ob_type(o)) & flag != 0
}

/// `Py_IS_TYPE(o, t)`.
#[inline(always)]
pub unsafe fn is_type(o: *mut PyObject, t: *mut PyTypeObject) -> bool {
    (*o).ob_type == t
}

/// Whether a generator or coroutine has finished (returned or raised):
/// its frame state is `FRAME_COMPLETED` or later.
#[inline(always)]
pub unsafe fn gen_finished(gen: *mut PyObject) -> bool {
    field::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE) as i64 >= crate::consts::FRAME_COMPLETED
}

/// `PyLong_CheckExact(o)`.
#[inline(always)]
pub unsafe fn is_int(o: *mut PyObject) -> bool {
    is_type(o, &raw mut ffi::PyLong_Type)
}

/// `PyFloat_CheckExact(o)`.
#[inline(always)]
pub unsafe fn is_float(o: *mut PyObject) -> bool {
    is_type(o, &raw mut ffi::PyFloat_Type)
}

/// `PyUnicode_CheckExact(o)`.
#[inline(always)]
pub unsafe fn is_str(o: *mut PyObject) -> bool {
    is_type(o, &raw mut ffi::PyUnicode_Type)
}

/// `PyList_CheckExact(o)`.
#[inline(always)]
pub unsafe fn is_list(o: *mut PyObject) -> bool {
    is_type(o, &raw mut ffi::PyList_Type)
}

/// `PyTuple_CheckExact(o)`.
#[inline(always)]
pub unsafe fn is_tuple(o: *mut PyObject) -> bool {
    is_type(o, &raw mut ffi::PyTuple_Type)
}

/// `PyDict_CheckExact(o)`.
#[inline(always)]
pub unsafe fn is_dict(o: *mut PyObject) -> bool {
    is_type(o, &raw mut ffi::PyDict_Type)
}

/// `_PyLong_IsCompact(o)`: at most one digit.
#[inline(always)]
pub unsafe fn long_is_compact(o: *mut PyObject) -> bool {
    (*o.cast::<PyLongObject>()).lv_tag < (2 << consts_long::NON_SIZE_BITS)
}

/// `_PyLong_IsNonNegativeCompact(o)`.
#[inline(always)]
pub unsafe fn long_is_nonneg_compact(o: *mut PyObject) -> bool {
    (*o.cast::<PyLongObject>()).lv_tag <= (1 << consts_long::NON_SIZE_BITS)
}

/// `_PyLong_CompactValue(o)` for a compact int.
#[inline(always)]
pub unsafe fn long_compact_value(o: *mut PyObject) -> isize {
    let l = o.cast::<PyLongObject>();
    let sign = 1 - ((*l).lv_tag & consts_long::SIGN_MASK) as isize;
    sign * (*l).ob_digit[0] as isize
}

/// `ob_digit[0]` of a non-negative compact int: its value.
#[inline(always)]
pub unsafe fn long_digit0(o: *mut PyObject) -> usize {
    (*o.cast::<PyLongObject>()).ob_digit.as_ptr().read() as usize
}

/// `_PyLong_IsZero(o)`.
#[inline(always)]
pub unsafe fn long_is_zero(o: *mut PyObject) -> bool {
    ((*o.cast::<PyLongObject>()).lv_tag & consts_long::SIGN_MASK) == consts_long::SIGN_ZERO
}

/// Whether `v` is one of CPython's small-int singletons (`_PY_IS_SMALL_INT`).
#[inline(always)]
pub fn is_small_int(v: i64) -> bool {
    v >= -off::NSMALLNEGINTS && v < off::NSMALLPOSINTS
}

/// How many 30-bit digits a magnitude below 2^63 takes beyond the first
/// (0 to 2): `ndigits - 1`.
#[inline(always)]
pub fn long_extra_digits(magnitude: u64) -> usize {
    let shift = off::LONG_SHIFT as u64;
    (magnitude >= 1 << shift) as usize + (magnitude >= 1 << (2 * shift)) as usize
}

/// Writes `v` (|v| < 2^63, not small) into the int `o`, which has room
/// for its `ndigits` digits, as `PyLong_FromLongLong` lays it out.
#[inline(always)]
pub unsafe fn long_write(o: *mut PyObject, ndigits: usize, v: i64) {
    let magnitude = v.unsigned_abs();
    let shift = off::LONG_SHIFT as u64;
    let l = o.cast::<PyLongObject>();
    (*l).lv_tag = ndigits << off::LONG_NON_SIZE_BITS | if v < 0 { 2 } else { 0 };
    // Unrolled: a loop costs more than the stores.
    let digits = (*l).ob_digit.as_mut_ptr();
    let mask = (1u64 << shift) - 1;
    *digits = (magnitude & mask) as u32;
    if ndigits > 1 {
        *digits.add(1) = ((magnitude >> shift) & mask) as u32;
        if ndigits > 2 {
            *digits.add(2) = (magnitude >> (2 * shift)) as u32;
        }
    }
}

/// Whether `tp` is a class (a heap type), which alone can define methods in
/// Python.
#[inline(always)]
pub unsafe fn is_class(tp: *mut PyTypeObject) -> bool {
    type_flags(tp) & consts::TPFLAGS_HEAPTYPE != 0
}

/// The slot at byte offset `at` of the method table (`tp_as_number`,
/// `tp_as_sequence`, `tp_as_mapping`) at byte offset `table` of `o`'s
/// type; 0 when the type has no such table.
#[inline(always)]
pub unsafe fn type_slot(o: *mut PyObject, table: usize, at: usize) -> usize {
    let methods = field::<*mut u8>(ob_type(o).cast(), table);
    if methods.is_null() {
        0
    } else {
        field::<usize>(methods, at)
    }
}

/// `_PyLong_IsNegative(o)`.
#[inline(always)]
pub unsafe fn long_is_negative(o: *mut PyObject) -> bool {
    ((*o.cast::<PyLongObject>()).lv_tag & consts_long::SIGN_MASK) == consts_long::SIGN_NEGATIVE
}

mod consts_long {
    use crate::off;
    pub const NON_SIZE_BITS: usize = off::LONG_NON_SIZE_BITS as usize;
    pub const SIGN_MASK: usize = off::LONG_SIGN_MASK as usize;
    pub const SIGN_ZERO: usize = off::LONG_SIGN_ZERO as usize;
    pub const SIGN_NEGATIVE: usize = off::LONG_SIGN_NEGATIVE as usize;
}

/// `PyFloat_AS_DOUBLE(o)`.
#[inline(always)]
pub unsafe fn float_value(o: *mut PyObject) -> f64 {
    (*o.cast::<PyFloatObject>()).ob_fval
}

/// `&PyTuple_GET_ITEM(t, 0)`.
#[inline(always)]
pub unsafe fn tuple_items(t: *mut PyObject) -> *mut *mut PyObject {
    (*t.cast::<PyTupleObject>()).ob_item.as_mut_ptr()
}

/// `PyTuple_GET_ITEM(t, i)`.
#[inline(always)]
pub unsafe fn tuple_item(t: *mut PyObject, i: usize) -> *mut PyObject {
    *tuple_items(t).add(i)
}

/// `_PyList_ITEMS(l)`.
#[inline(always)]
pub unsafe fn list_items(l: *mut PyObject) -> *mut *mut PyObject {
    (*l.cast::<PyListObject>()).ob_item
}

/// The items of an exact tuple or list; NULL for any other object, and for
/// a list that has none allocated.
#[inline(always)]
pub unsafe fn tuple_or_list_items(o: *mut PyObject) -> *mut *mut PyObject {
    if is_tuple(o) {
        tuple_items(o)
    } else if is_list(o) {
        list_items(o)
    } else {
        core::ptr::null_mut()
    }
}

/// `_PyList_AppendTakeRef(list, item)`.
#[inline(always)]
pub unsafe fn list_append_take_ref(list: *mut PyObject, item: *mut PyObject) -> i32 {
    let l = list.cast::<PyListObject>();
    let len = (*l).ob_base.ob_size;
    if (*l).allocated > len {
        *(*l).ob_item.add(len as usize) = item;
        (*l).ob_base.ob_size = len + 1;
        return 0;
    }
    ffi::_PyList_AppendTakeRefListResize(list, item)
}

/// The frame's code object (`_PyFrame_GetCode`).
#[inline(always)]
pub unsafe fn frame_code(f: *mut Frame) -> *mut PyCodeObject {
    (*f).f_executable.cast()
}

/// `&frame->localsplus[i]`.
#[inline(always)]
pub unsafe fn frame_local(f: *mut Frame, i: usize) -> *mut *mut PyObject {
    (*f).localsplus.as_mut_ptr().add(i)
}

/// A `PyObject *` field of a code object.
#[inline(always)]
pub unsafe fn code_obj_field(code: *mut PyCodeObject, offset: usize) -> *mut PyObject {
    field::<*mut PyObject>(code.cast(), offset)
}

/// `co_consts[i]` of the frame's code.
#[inline(always)]
pub unsafe fn frame_const(f: *mut Frame, i: usize) -> *mut PyObject {
    tuple_item(code_obj_field(frame_code(f), off::CODE_CO_CONSTS), i)
}

/// `co_names[i]` of the frame's code.
#[inline(always)]
pub unsafe fn frame_name(f: *mut Frame, i: usize) -> *mut PyObject {
    tuple_item(code_obj_field(frame_code(f), off::CODE_CO_NAMES), i)
}

/// `_PyCode_CODE(code)`: the first code unit.
#[inline(always)]
pub unsafe fn code_units(code: *mut PyCodeObject) -> *mut u16 {
    code.cast::<u8>().add(off::CODE_CO_CODE_ADAPTIVE).cast()
}

/// `tstate->eval_breaker`.
#[inline(always)]
pub unsafe fn eval_breaker(tstate: *mut PyThreadState) -> u64 {
    core::ptr::read_volatile(field_ptr::<u64>(tstate.cast(), off::TSTATE_EVAL_BREAKER))
}

/// The instrumentation version: `tstate->eval_breaker` without its event
/// bits. Compiled code is valid under the version it was compiled for.
#[inline(always)]
pub unsafe fn instrumentation_version(tstate: *mut PyThreadState) -> u64 {
    eval_breaker(tstate) & !consts::EVAL_EVENTS_MASK
}

/// `tstate->interp`.
#[inline(always)]
pub unsafe fn interp(tstate: *mut PyThreadState) -> *mut PyInterpreterState {
    field::<*mut PyInterpreterState>(tstate.cast(), off::TSTATE_INTERP)
}

/// `&tstate->c_recursion_remaining`.
#[inline(always)]
pub unsafe fn c_recursion_remaining(tstate: *mut PyThreadState) -> *mut i32 {
    field_ptr(tstate.cast(), off::TSTATE_C_RECURSION_REMAINING)
}

/// `&tstate->py_recursion_remaining`.
#[inline(always)]
pub unsafe fn py_recursion_remaining(tstate: *mut PyThreadState) -> *mut i32 {
    field_ptr(tstate.cast(), off::TSTATE_PY_RECURSION_REMAINING)
}

/// `&tstate->current_frame`.
#[inline(always)]
pub unsafe fn current_frame(tstate: *mut PyThreadState) -> *mut *mut Frame {
    field_ptr(tstate.cast(), off::TSTATE_CURRENT_FRAME)
}

/// `DK_UNICODE_ENTRIES(keys)`.
#[inline(always)]
pub unsafe fn dict_unicode_entries(keys: *mut DictKeys) -> *mut DictUnicodeEntry {
    let indices = (*keys).dk_indices.as_mut_ptr();
    indices.add(1usize << (*keys).dk_log2_index_bytes).cast()
}

/// `DK_ENTRIES(keys)` for general (non-unicode) key tables.
#[inline(always)]
pub unsafe fn dict_entries(keys: *mut DictKeys) -> *mut DictKeyEntry {
    let indices = (*keys).dk_indices.as_mut_ptr();
    indices.add(1usize << (*keys).dk_log2_index_bytes).cast()
}

/// `DK_IS_UNICODE(keys)`.
#[inline(always)]
pub unsafe fn dict_keys_is_unicode(keys: *mut DictKeys) -> bool {
    (*keys).dk_kind as i64 != off::DICT_KEYS_GENERAL
}

/// `PERTURB_SHIFT` of `Objects/dictobject.c` (not in the headers): how a
/// lookup's probe sequence moves on past a slot that did not answer.
pub const DICT_PERTURB_SHIFT: u32 = 5;

/// `dictkeys_get_index(keys, i)`: the entry index in slot `i` of the
/// index table (its width set by the table's size), or `DKIX_EMPTY` or
/// `DKIX_DUMMY`.
#[inline(always)]
pub unsafe fn dict_keys_index(keys: *mut DictKeys, i: usize) -> isize {
    let indices = (*keys).dk_indices.as_ptr();
    match (*keys).dk_log2_size {
        0..8 => *indices.cast::<i8>().add(i) as isize,
        8..16 => *indices.cast::<i16>().add(i) as isize,
        16..32 => *indices.cast::<i32>().add(i) as isize,
        _ => *indices.cast::<i64>().add(i) as isize,
    }
}

/// Whether `dict` certainly has no key equal to `name` (an exact `str`),
/// told without comparing strings, so without running code: its key table
/// holds only exact `str`s (unicode or split), and the slots
/// `unicodekeys_lookup_unicode` would probe for the name's hash, up to the
/// first empty one, hold only keys of other hashes. False (not known) when
/// a key of the same hash is there (the name itself, or one only a
/// comparison can tell), the table may hold other keys, or the name's hash
/// was never computed.
#[inline(always)]
pub unsafe fn dict_lacks_str(dict: *mut PyDictObject, name: *mut PyObject) -> bool {
    let keys = (*dict).ma_keys;
    let hash = field::<isize>(name.cast(), off::UNICODE_HASH);
    if !dict_keys_is_unicode(keys) || hash == -1 {
        return false;
    }
    let mask = (1usize << (*keys).dk_log2_size) - 1;
    let entries = dict_unicode_entries(keys);
    let mut perturb = hash as usize;
    let mut i = perturb & mask;
    // A table always has an empty slot (at most two thirds are used), so
    // the probe ends.
    loop {
        let ix = dict_keys_index(keys, i);
        if ix == off::DKIX_EMPTY as isize {
            return true;
        }
        if ix >= 0 {
            let key = (*entries.add(ix as usize)).me_key;
            if key == name || field::<isize>(key.cast(), off::UNICODE_HASH) == hash {
                return false;
            }
        }
        perturb >>= DICT_PERTURB_SHIFT;
        i = mask & i.wrapping_mul(5).wrapping_add(perturb).wrapping_add(1);
    }
}

/// `_PyObject_InlineValues(o)`: values stored after the object's basic
/// size, for an object whose type has `Py_TPFLAGS_INLINE_VALUES`. CPython
/// 3.13 gives a type that flag only when its basic size is a bare
/// `PyObject`'s (`type_ready_managed_dict`; `tests/test_attributes.py`
/// checks every live type), so the values start right after the header:
/// no load of the type's `tp_basicsize` on the way to them (the values'
/// address does not wait for the type's).
#[inline(always)]
pub unsafe fn inline_values(o: *mut PyObject) -> *mut DictValues {
    o.cast::<u8>().add(size_of::<PyObject>()).cast()
}

/// A module's `md_dict` (NULL for one not initialized).
#[inline(always)]
pub unsafe fn module_dict(module: *mut PyObject) -> *mut PyDictObject {
    field::<*mut PyDictObject>(module.cast(), off::MODULE_MD_DICT)
}

/// `_PyObject_GetManagedDict(o)`.
#[inline(always)]
pub unsafe fn managed_dict(o: *mut PyObject) -> *mut PyDictObject {
    *o.cast::<u8>()
        .offset(off::MANAGED_DICT_OFFSET as isize)
        .cast::<*mut PyDictObject>()
}

/// `_PyDictValues_AddToInsertionOrder(values, ix)`.
#[inline(always)]
pub unsafe fn dict_values_add_to_insertion_order(values: *mut DictValues, ix: usize) {
    let size = (*values).size;
    let order = (*values)
        .values
        .as_mut_ptr()
        .add((*values).capacity as usize)
        .cast::<u8>();
    *order.add(size as usize) = ix as u8;
    (*values).size = size + 1;
}

/// The value at entry `hint` of a `__dict__` with str keys, if its key is
/// `name` (an interned str, compared by identity as the interpreter's
/// `_LOAD_ATTR_WITH_HINT` does); borrowed, or NULL.
#[inline(always)]
pub unsafe fn dict_value_at_hint(
    dict: *mut PyDictObject,
    hint: usize,
    name: *mut PyObject,
) -> *mut PyObject {
    let keys = (*dict).ma_keys;
    if !dict_keys_is_unicode(keys) || hint >= (*keys).dk_nentries as usize {
        return core::ptr::null_mut();
    }
    let ep = dict_unicode_entries(keys).add(hint);
    if (*ep).me_key != name {
        return core::ptr::null_mut();
    }
    (*ep).me_value
}

/// `STORE_ATTR_WITH_HINT`'s store: replaces the value of key `name` (an
/// interned str) at entry `hint` of a `__dict__` with str keys by `value`,
/// whose reference the dict takes, as `insertdict` replaces an existing
/// key's value (the dict's version moves on) — only when no dict watcher
/// watches the dict and the GC already tracks it, so there is nothing to
/// notify or track. Returns the old value to release, or NULL if nothing
/// was done.
#[inline(always)]
pub unsafe fn dict_replace_at_hint(
    tstate: *mut PyThreadState,
    dict: *mut PyDictObject,
    hint: usize,
    name: *mut PyObject,
    value: *mut PyObject,
) -> *mut PyObject {
    let old = dict_value_at_hint(dict, hint, name);
    let tag = (*dict).ma_version_tag;
    // `_PyObject_GC_IS_TRACKED`: the GC header's `_gc_next` is set.
    let tracked = *dict.cast::<u8>().sub(off::GC_HEAD_SIZE).cast::<usize>() != 0;
    if old.is_null() || tag & consts::DICT_WATCHER_MASK != 0 || !tracked {
        return core::ptr::null_mut();
    }
    let entry = dict_unicode_entries((*dict).ma_keys).add(hint);
    (*entry).me_value = value;
    // `DICT_NEXT_VERSION(interp)`.
    let global = field_ptr::<u64>(interp(tstate).cast(), off::INTERP_DICT_GLOBAL_VERSION);
    *global += consts::DICT_VERSION_INCREMENT;
    (*dict).ma_version_tag = *global | (tag & consts::DICT_WATCHER_AND_MODIFICATION_MASK);
    old
}

/// Whether a reference tracer is set (`PyRefTracer_SetTracer`), which sees
/// every object made and freed.
#[inline(always)]
pub unsafe fn ref_tracer_set() -> bool {
    !field::<*const u8>(&raw mut ffi::_PyRuntime, off::RUNTIME_REF_TRACER_FUNC).is_null()
}

/// Whether a reference tracer or tracemalloc must see every allocation.
#[inline(always)]
pub unsafe fn allocations_watched() -> bool {
    ref_tracer_set()
        || field::<i32>(&raw mut ffi::_PyRuntime, off::RUNTIME_TRACEMALLOC_TRACING) != 0
}

/// The statically allocated empty string (`&_Py_STR(empty)`).
#[inline(always)]
pub unsafe fn empty_str() -> *mut PyObject {
    (&raw mut ffi::_PyRuntime)
        .add(off::RUNTIME_STR_EMPTY)
        .cast()
}

/// The statically allocated one-character string for ASCII `c` (< 128).
#[inline(always)]
pub unsafe fn ascii_char(c: usize) -> *mut PyObject {
    (&raw mut ffi::_PyRuntime)
        .add(off::RUNTIME_ASCII_STRINGS + c * off::ASCII_STRING_SIZE)
        .cast()
}

/// Whether `sys.monitoring` has local events active on this code object
/// (`code->_co_monitoring->active_monitors`); such events do not change the
/// global instrumentation version, so compiled code checks them itself.
#[inline(always)]
pub unsafe fn code_has_local_monitors(code: *mut PyCodeObject) -> bool {
    let data = field::<*mut u8>(code.cast(), off::CODE_MONITORING);
    if data.is_null() {
        return false;
    }
    let active = data.add(off::COMONITORING_ACTIVE_MONITORS);
    let mut i = 0;
    while i < off::MONITORING_LOCAL_EVENTS as usize {
        if *active.add(i) != 0 {
            return true;
        }
        i += 1;
    }
    false
}

/// [`code_has_local_monitors`], ignoring the tools whose bits are set in
/// `ignored`.
#[inline(always)]
pub unsafe fn code_has_local_monitors_except(code: *mut PyCodeObject, ignored: u8) -> bool {
    const _: () = assert!(off::MONITORING_LOCAL_EVENTS == 10);
    let data = field::<*mut u8>(code.cast(), off::CODE_MONITORING);
    if data.is_null() {
        return false;
    }
    // The ten per-event tool masks, read as eight bytes and two.
    let active = data.add(off::COMONITORING_ACTIVE_MONITORS);
    let keep = !(ignored as u64 * 0x0101_0101_0101_0101);
    let low = active.cast::<u64>().read_unaligned() & keep;
    let high = active.add(8).cast::<u16>().read_unaligned() & keep as u16;
    low | high as u64 != 0
}

/// Whether any `sys.monitoring` tool (including `sys.settrace` and
/// `sys.setprofile`, which are tools in 3.13) listens to a global event.
#[inline(always)]
pub unsafe fn interp_has_global_monitors(interp: *mut PyInterpreterState) -> bool {
    // The per-event tool masks, read as two overlapping words (every call
    // the hook does not run compiled asks).
    const EVENTS: usize = off::MONITORING_UNGROUPED_EVENTS as usize;
    const _: () = assert!(EVENTS > 8 && EVENTS <= 16);
    let tools = interp.cast::<u8>().add(off::INTERP_MONITORS);
    let low = tools.cast::<u64>().read_unaligned();
    let high = tools.add(EVENTS - 8).cast::<u64>().read_unaligned();
    low | high != 0
}

/// `_PyIntrinsics_UnaryFunctions[i].func`: the function `CALL_INTRINSIC_1`
/// with oparg `i` calls (the table's entries begin with it).
///
/// # Safety
/// `i` is at most `MAX_INTRINSIC_1`.
#[inline(always)]
pub unsafe fn unary_intrinsic(i: usize) -> crate::ffi::IntrinsicFunc1 {
    let table = (&raw const crate::ffi::_PyIntrinsics_UnaryFunctions).cast::<u8>();
    *table
        .add(i * off::INTRINSIC1_INFO_SIZE)
        .cast::<crate::ffi::IntrinsicFunc1>()
}

/// Whether freeing `asend`, an `asend` awaitable (`anext()`'s, `asend()`'s),
/// runs no Python code, given `leaf`, which says so of the value it holds:
/// it is done or being iterated (a new one warns that it was never
/// awaited), its generator lives on, and its value to send (NULL for
/// `anext()`'s) is a leaf.
///
/// # Safety
/// `asend` is a live awaitable whose layout the runtime has checked
/// ([`AsyncGenASend`](crate::layout::AsyncGenASend)).
#[inline(always)]
pub unsafe fn asend_frees_quietly(
    asend: *mut PyObject,
    leaf: impl Fn(*mut PyObject) -> bool,
) -> bool {
    let a = asend.cast::<crate::layout::AsyncGenASend>();
    (*a).ags_state != crate::layout::AWAITABLE_STATE_INIT
        && (*(*a).ags_gen).ob_refcnt > 1
        && leaf((*a).ags_sendval)
}

/// Whether the generator of `asend`, which compiled code resumed directly
/// for it (the awaitable still iterated, the generator running), has
/// finished: returned or raised, which the awaitable's `send` would see.
///
/// # Safety
/// As for [`asend_frees_quietly`].
#[inline(always)]
pub unsafe fn asend_generator_finished(asend: *mut PyObject) -> bool {
    let a = asend.cast::<crate::layout::AsyncGenASend>();
    let gen = (*a).ags_gen;
    (*a).ags_state == crate::layout::AWAITABLE_STATE_ITER
        && field::<i8>(gen.cast(), off::ASYNC_GEN_AG_RUNNING_ASYNC) != 0
        && gen_finished(gen)
}

/// `asend`'s awaitable is done, as `async_gen_asend_send` leaves it once
/// `async_gen_unwrap_value` has seen the generator's yield or its end: the
/// generator no longer running, and `closed` (its return, or a
/// `StopAsyncIteration` or `GeneratorExit` it raised) for good.
///
/// # Safety
/// As for [`asend_frees_quietly`].
#[inline(always)]
pub unsafe fn asend_done(asend: *mut PyObject, closed: bool) {
    let a = asend.cast::<crate::layout::AsyncGenASend>();
    let gen = (*a).ags_gen.cast::<u8>();
    if closed {
        *field_ptr::<i8>(gen, off::ASYNC_GEN_AG_CLOSED) = 1;
    }
    *field_ptr::<i8>(gen, off::ASYNC_GEN_AG_RUNNING_ASYNC) = 0;
    (*a).ags_state = crate::layout::AWAITABLE_STATE_CLOSED;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_monitors_are_seen_at_every_event_and_only_there() {
        const EVENTS: usize = off::MONITORING_UNGROUPED_EVENTS as usize;
        const SIZE: usize = off::INTERP_MONITORS as usize + EVENTS + 8;
        let mut interp = [0u8; SIZE];
        let at = |interp: &mut [u8; SIZE]| interp.as_mut_ptr().cast::<PyInterpreterState>();
        // SAFETY: the buffer spans the tool masks the function reads.
        assert!(!unsafe { interp_has_global_monitors(at(&mut interp)) });
        // The bytes either side of the masks are other fields.
        interp[off::INTERP_MONITORS as usize - 1] = 0xFF;
        interp[off::INTERP_MONITORS as usize + EVENTS] = 0xFF;
        // SAFETY: as above.
        assert!(!unsafe { interp_has_global_monitors(at(&mut interp)) });
        for event in 0..EVENTS {
            interp[off::INTERP_MONITORS as usize + event] = 1 << 3;
            // SAFETY: as above.
            assert!(
                unsafe { interp_has_global_monitors(at(&mut interp)) },
                "{event}"
            );
            interp[off::INTERP_MONITORS as usize + event] = 0;
        }
    }
}
