//! `#[repr(C)]` mirrors of the CPython 3.13 structures jitsaw reads and
//! writes, each field checked against the probe's offsets at compile time.
//!
//! Large structures (`PyThreadState`, `PyTypeObject`, `PyCodeObject`,
//! `PyInterpreterState`) are opaque: only a few fields are touched, through
//! the generated offsets in [`crate::off`].

use crate::off;
use core::mem::{offset_of, size_of};

/// Fails the build when a mirrored field is not where the headers put it.
macro_rules! check {
    ($ty:ty, $field:ident, $expected:expr) => {
        const _: () = assert!(offset_of!($ty, $field) == $expected);
    };
}

/// `PyObject`.
#[repr(C)]
pub struct PyObject {
    /// Reference count; immortal objects have a negative low half.
    pub ob_refcnt: isize,
    /// The object's type.
    pub ob_type: *mut PyTypeObject,
}
check!(PyObject, ob_refcnt, off::OB_REFCNT);
check!(PyObject, ob_type, off::OB_TYPE);
const _: () = assert!(size_of::<PyObject>() == off::PYOBJECT_SIZE);

/// `PyVarObject`.
#[repr(C)]
pub struct PyVarObject {
    /// Header.
    pub ob_base: PyObject,
    /// Number of items.
    pub ob_size: isize,
}
check!(PyVarObject, ob_size, off::OB_SIZE);
const _: () = assert!(size_of::<PyVarObject>() == off::PYVAROBJECT_SIZE);

/// `PyTypeObject` (opaque; see the `TYPE_*` offsets).
#[repr(C)]
pub struct PyTypeObject {
    _opaque: [u8; 0],
}

/// `PyCodeObject` (opaque; see the `CODE_*` offsets).
#[repr(C)]
pub struct PyCodeObject {
    _opaque: [u8; 0],
}

/// `PyThreadState` (opaque; see the `TSTATE_*` offsets).
#[repr(C)]
pub struct PyThreadState {
    _opaque: [u8; 0],
}

/// `PyInterpreterState` (opaque; see the `INTERP_*` offsets).
#[repr(C)]
pub struct PyInterpreterState {
    _opaque: [u8; 0],
}

/// `_PyInterpreterFrame`: the frame the interpreter and compiled code share.
#[repr(C)]
pub struct Frame {
    /// Strong reference to the code object.
    pub f_executable: *mut PyObject,
    /// The calling frame.
    pub previous: *mut Frame,
    /// Strong reference to the function.
    pub f_funcobj: *mut PyObject,
    /// Borrowed globals.
    pub f_globals: *mut PyObject,
    /// Borrowed builtins.
    pub f_builtins: *mut PyObject,
    /// Strong reference to the locals mapping, or NULL.
    pub f_locals: *mut PyObject,
    /// The frame object, if one was created.
    pub frame_obj: *mut PyObject,
    /// The instruction executing (or about to be executed).
    pub instr_ptr: *mut u16,
    /// Stack depth measured from `localsplus`.
    pub stacktop: i32,
    /// Where a call returns to, relative to the calling instruction.
    pub return_offset: u16,
    /// `FRAME_OWNED_BY_*`.
    pub owner: i8,
    /// Locals, cells, free variables, then the value stack.
    pub localsplus: [*mut PyObject; 0],
}
check!(Frame, f_executable, off::FRAME_F_EXECUTABLE);
check!(Frame, previous, off::FRAME_PREVIOUS);
check!(Frame, f_funcobj, off::FRAME_F_FUNCOBJ);
check!(Frame, f_globals, off::FRAME_F_GLOBALS);
check!(Frame, f_builtins, off::FRAME_F_BUILTINS);
check!(Frame, f_locals, off::FRAME_F_LOCALS);
check!(Frame, frame_obj, off::FRAME_FRAME_OBJ);
check!(Frame, instr_ptr, off::FRAME_INSTR_PTR);
check!(Frame, stacktop, off::FRAME_STACKTOP);
check!(Frame, return_offset, off::FRAME_RETURN_OFFSET);
check!(Frame, owner, off::FRAME_OWNER);
check!(Frame, localsplus, off::FRAME_LOCALSPLUS);

/// `PyLongObject`: only the compact (one-digit) representation is read.
#[repr(C)]
pub struct PyLongObject {
    /// Header.
    pub ob_base: PyObject,
    /// Digit count and sign.
    pub lv_tag: usize,
    /// First 30-bit digit.
    pub ob_digit: [u32; 1],
}
check!(PyLongObject, lv_tag, off::LONG_LV_TAG);
check!(PyLongObject, ob_digit, off::LONG_OB_DIGIT);

/// `PyFloatObject`.
#[repr(C)]
pub struct PyFloatObject {
    /// Header.
    pub ob_base: PyObject,
    /// The value.
    pub ob_fval: f64,
}
check!(PyFloatObject, ob_fval, off::FLOAT_OB_FVAL);

/// `PyListObject`.
#[repr(C)]
pub struct PyListObject {
    /// Header with the length.
    pub ob_base: PyVarObject,
    /// Item array.
    pub ob_item: *mut *mut PyObject,
    /// Allocated slots.
    pub allocated: isize,
}
check!(PyListObject, ob_item, off::LIST_OB_ITEM);
check!(PyListObject, allocated, off::LIST_ALLOCATED);

/// `PyTupleObject`.
#[repr(C)]
pub struct PyTupleObject {
    /// Header with the length.
    pub ob_base: PyVarObject,
    /// Items, inline.
    pub ob_item: [*mut PyObject; 0],
}
check!(PyTupleObject, ob_item, off::TUPLE_OB_ITEM);

/// `_PyRangeIterObject`.
#[repr(C)]
pub struct RangeIter {
    /// Header.
    pub ob_base: PyObject,
    /// Next value.
    pub start: i64,
    /// Increment.
    pub step: i64,
    /// Values left.
    pub len: i64,
}
check!(RangeIter, start, off::RANGEITER_START);
check!(RangeIter, step, off::RANGEITER_STEP);
check!(RangeIter, len, off::RANGEITER_LEN);

/// `_PyListIterObject`.
#[repr(C)]
pub struct ListIter {
    /// Header.
    pub ob_base: PyObject,
    /// Next index.
    pub it_index: isize,
    /// The list, NULL once exhausted.
    pub it_seq: *mut PyListObject,
}
check!(ListIter, it_index, off::LISTITER_INDEX);
check!(ListIter, it_seq, off::LISTITER_SEQ);

/// `_PyTupleIterObject`.
#[repr(C)]
pub struct TupleIter {
    /// Header.
    pub ob_base: PyObject,
    /// Next index.
    pub it_index: isize,
    /// The tuple, NULL once exhausted.
    pub it_seq: *mut PyTupleObject,
}
check!(TupleIter, it_index, off::TUPLEITER_INDEX);
check!(TupleIter, it_seq, off::TUPLEITER_SEQ);

/// `PyCellObject`.
#[repr(C)]
pub struct PyCellObject {
    /// Header.
    pub ob_base: PyObject,
    /// The content, or NULL.
    pub ob_ref: *mut PyObject,
}
check!(PyCellObject, ob_ref, off::CELL_OB_REF);

/// `PyModuleObject` (prefix).
#[repr(C)]
pub struct PyModuleObject {
    /// Header.
    pub ob_base: PyObject,
    /// The module's namespace.
    pub md_dict: *mut PyDictObject,
}
check!(PyModuleObject, md_dict, off::MODULE_MD_DICT);

/// `PyDictObject`.
#[repr(C)]
pub struct PyDictObject {
    /// Header.
    pub ob_base: PyObject,
    /// Number of items.
    pub ma_used: isize,
    /// Deprecated version tag.
    pub ma_version_tag: u64,
    /// The keys table.
    pub ma_keys: *mut DictKeys,
    /// Split-table values, or NULL.
    pub ma_values: *mut DictValues,
}
check!(PyDictObject, ma_used, off::DICT_MA_USED);
check!(PyDictObject, ma_version_tag, off::DICT_MA_VERSION_TAG);
check!(PyDictObject, ma_keys, off::DICT_MA_KEYS);
check!(PyDictObject, ma_values, off::DICT_MA_VALUES);

/// `PyDictKeysObject` header; entries follow the index table.
#[repr(C)]
pub struct DictKeys {
    /// Reference count of the keys table.
    pub dk_refcnt: isize,
    /// log2 of the hash table size.
    pub dk_log2_size: u8,
    /// log2 of the index table's size in bytes.
    pub dk_log2_index_bytes: u8,
    /// `DICT_KEYS_*`.
    pub dk_kind: u8,
    /// Version used by specializations, 0 if none assigned.
    pub dk_version: u32,
    /// Free slots.
    pub dk_usable: isize,
    /// Used entries.
    pub dk_nentries: isize,
    /// Index table, then entries.
    pub dk_indices: [u8; 0],
}
check!(DictKeys, dk_log2_size, off::DICTKEYS_DK_LOG2_SIZE);
check!(
    DictKeys,
    dk_log2_index_bytes,
    off::DICTKEYS_DK_LOG2_INDEX_BYTES
);
check!(DictKeys, dk_kind, off::DICTKEYS_DK_KIND);
check!(DictKeys, dk_version, off::DICTKEYS_DK_VERSION);
check!(DictKeys, dk_nentries, off::DICTKEYS_DK_NENTRIES);
check!(DictKeys, dk_indices, off::DICTKEYS_DK_INDICES);

/// `PyDictUnicodeEntry`.
#[repr(C)]
pub struct DictUnicodeEntry {
    /// The key (a str).
    pub me_key: *mut PyObject,
    /// The value, or NULL.
    pub me_value: *mut PyObject,
}
check!(DictUnicodeEntry, me_key, off::DICT_UNICODE_ENTRY_KEY);
check!(DictUnicodeEntry, me_value, off::DICT_UNICODE_ENTRY_VALUE);
const _: () = assert!(size_of::<DictUnicodeEntry>() == off::DICT_UNICODE_ENTRY_SIZE);

/// `PyDictKeyEntry`.
#[repr(C)]
pub struct DictKeyEntry {
    /// Cached hash.
    pub me_hash: isize,
    /// The key.
    pub me_key: *mut PyObject,
    /// The value, or NULL.
    pub me_value: *mut PyObject,
}
check!(DictKeyEntry, me_key, off::DICT_KEY_ENTRY_KEY);
check!(DictKeyEntry, me_value, off::DICT_KEY_ENTRY_VALUE);
const _: () = assert!(size_of::<DictKeyEntry>() == off::DICT_KEY_ENTRY_SIZE);

/// `PyDictValues`: an object's inline attribute values.
#[repr(C)]
pub struct DictValues {
    /// Slots available.
    pub capacity: u8,
    /// Slots used, in insertion order.
    pub size: u8,
    /// Whether the values live inside the object.
    pub embedded: u8,
    /// Whether the values are current (0 once a dict took them over).
    pub valid: u8,
    /// Values, then the insertion-order byte array.
    pub values: [*mut PyObject; 0],
}
check!(DictValues, capacity, off::DICTVALUES_CAPACITY);
check!(DictValues, size, off::DICTVALUES_SIZE);
check!(DictValues, valid, off::DICTVALUES_VALID);
check!(DictValues, values, off::DICTVALUES_VALUES);

/// `PyMethodObject` (prefix).
#[repr(C)]
pub struct PyMethodObject {
    /// Header.
    pub ob_base: PyObject,
    /// The function.
    pub im_func: *mut PyObject,
    /// The bound instance.
    pub im_self: *mut PyObject,
}
check!(PyMethodObject, im_func, off::METHOD_IM_FUNC);
check!(PyMethodObject, im_self, off::METHOD_IM_SELF);

/// `PyMethodDef`.
#[repr(C)]
pub struct PyMethodDef {
    /// Name.
    pub ml_name: *const u8,
    /// The C function.
    pub ml_meth: *const (),
    /// `METH_*`.
    pub ml_flags: i32,
    /// Docstring.
    pub ml_doc: *const u8,
}
check!(PyMethodDef, ml_meth, off::METHODDEF_ML_METH);
check!(PyMethodDef, ml_flags, off::METHODDEF_ML_FLAGS);

/// `PyCFunctionObject` (prefix).
#[repr(C)]
pub struct PyCFunctionObject {
    /// Header.
    pub ob_base: PyObject,
    /// The method definition.
    pub m_ml: *mut PyMethodDef,
    /// `self` passed to the C function.
    pub m_self: *mut PyObject,
}
check!(PyCFunctionObject, m_ml, off::CFUNC_M_ML);
check!(PyCFunctionObject, m_self, off::CFUNC_M_SELF);

/// `PyMethodDescrObject` (prefix).
#[repr(C)]
pub struct PyMethodDescrObject {
    /// Header.
    pub ob_base: PyObject,
    /// The type defining the method.
    pub d_type: *mut PyTypeObject,
    /// Name.
    pub d_name: *mut PyObject,
    /// Qualified name.
    pub d_qualname: *mut PyObject,
    /// The method definition.
    pub d_method: *mut PyMethodDef,
}
check!(PyMethodDescrObject, d_type, off::METHODDESCR_D_TYPE);
check!(PyMethodDescrObject, d_method, off::METHODDESCR_D_METHOD);

/// `PyAsyncGenASend`, the awaitable `anext()` and `asend()` return. It is
/// private to `Objects/genobject.c` (no header declares it), so this is
/// 3.13's source, and the runtime checks it against an object it makes
/// before compiled code reads one (`probe_async_gen` in the runtime).
#[repr(C)]
pub struct AsyncGenASend {
    /// Header.
    pub ob_base: PyObject,
    /// The async generator it resumes.
    pub ags_gen: *mut PyObject,
    /// The value a first `send(None)` sends instead (NULL: `None`).
    pub ags_sendval: *mut PyObject,
    /// An `AWAITABLE_STATE_*`.
    pub ags_state: i32,
}

/// `AwaitableState` of `Objects/genobject.c`: not iterated yet.
pub const AWAITABLE_STATE_INIT: i32 = 0;
/// Being iterated.
pub const AWAITABLE_STATE_ITER: i32 = 1;
/// Done.
pub const AWAITABLE_STATE_CLOSED: i32 = 2;

/// `_PyAsyncGenWrappedValue`: what an async generator's `yield` hands to
/// the `asend` that resumed it (`CALL_INTRINSIC_1 INTRINSIC_ASYNC_GEN_WRAP`),
/// to tell it from a value an `await` inside passes up. Private like
/// [`AsyncGenASend`], and checked the same way.
#[repr(C)]
pub struct AsyncGenWrappedValue {
    /// Header.
    pub ob_base: PyObject,
    /// The value yielded.
    pub agw_val: *mut PyObject,
}
