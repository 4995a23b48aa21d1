//! What `_CONSUME_GENEXPR` recognizes besides the classes `list`, `tuple`
//! and `set`: the builtins `any`, `all`, `min`, `max` and `sorted` and the
//! method `str.join`, by their `PyMethodDef`s (static in libpython), which
//! no rebinding of a name can give another callable.

use jitsaw_cpython313::ffi::PyMethodDescr_Type;
use jitsaw_cpython313::inline::{field, is_type};
use jitsaw_cpython313::layout::PyObject;
use jitsaw_cpython313::off;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `jitsaw_consumers` for the stencils: the `PyMethodDef` addresses of
/// `any`, `all`, `str.join`, `min`, `max` and `sorted`, in that order (0
/// for one not found, which then goes the general way).
pub(super) static CONSUMERS: [AtomicUsize; 6] = [const { AtomicUsize::new(0) }; 6];

/// Finds [`CONSUMERS`]: the builtins in the method table of the
/// `builtins` module's definition (not its current attributes, which a
/// program may have rebound), `join` in `str`'s own dict (which no program
/// can change). Leaves the thread's exception state as it was.
///
/// # Safety
/// The GIL is held.
pub(super) unsafe fn find() {
    use pyo3::ffi;
    let saved = ffi::PyErr_GetRaisedException();
    // Looked up, not imported: set up during a compilation, this must run
    // no Python code (an import calls `builtins.__import__`, which a
    // program may have replaced).
    let name = ffi::PyUnicode_FromString(c"builtins".as_ptr());
    let builtins = if name.is_null() {
        name
    } else {
        let module = ffi::PyImport_GetModule(name);
        ffi::Py_DECREF(name);
        module
    };
    if !builtins.is_null() {
        let def = ffi::PyModule_GetDef(builtins);
        if !def.is_null()
            && !(*def).m_name.is_null()
            && CStr::from_ptr((*def).m_name) == c"builtins"
        {
            let mut m = (*def).m_methods;
            while !m.is_null() && !(*m).ml_name.is_null() {
                let slot = match CStr::from_ptr((*m).ml_name).to_bytes() {
                    b"any" => Some(0),
                    b"all" => Some(1),
                    b"min" => Some(3),
                    b"max" => Some(4),
                    b"sorted" => Some(5),
                    _ => None,
                };
                if let Some(k) = slot {
                    CONSUMERS[k].store(m as usize, Ordering::Relaxed);
                }
                m = m.add(1);
            }
        }
        ffi::Py_DECREF(builtins);
    }
    let join = ffi::PyObject_GetAttrString((&raw mut ffi::PyUnicode_Type).cast(), c"join".as_ptr());
    if !join.is_null() {
        let descr = join.cast::<PyObject>();
        if is_type(descr, &raw mut PyMethodDescr_Type) {
            CONSUMERS[2].store(
                field::<usize>(descr.cast(), off::METHODDESCR_D_METHOD),
                Ordering::Relaxed,
            );
        }
        ffi::Py_DECREF(join);
    }
    ffi::PyErr_Clear();
    ffi::PyErr_SetRaisedException(saved);
}
