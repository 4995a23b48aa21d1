//! Declarations of the CPython 3.13 functions and data jitsaw calls, shared by
//! the stencils and the runtime. All are exported by libpython 3.13.0 (the
//! stencil build checks every reference against its dynamic symbol table).

use crate::layout::{Frame, PyObject, PyThreadState, PyTypeObject};

/// `binaryfunc`.
pub type BinaryFunc = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject;
/// `unaryfunc`.
pub type UnaryFunc = unsafe extern "C" fn(*mut PyObject) -> *mut PyObject;
/// `iternextfunc`.
pub type IterNextFunc = unsafe extern "C" fn(*mut PyObject) -> *mut PyObject;
/// `vectorcallfunc`.
pub type VectorcallFunc = unsafe extern "C" fn(
    *mut PyObject,
    *const *mut PyObject,
    usize,
    *mut PyObject,
) -> *mut PyObject;
/// `PyCFunction` (METH_O / METH_NOARGS).
pub type CFunction = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject;
/// `PyCFunctionFast`.
pub type CFunctionFast =
    unsafe extern "C" fn(*mut PyObject, *const *mut PyObject, isize) -> *mut PyObject;
/// `PyCFunctionFastWithKeywords`.
pub type CFunctionFastWithKeywords = unsafe extern "C" fn(
    *mut PyObject,
    *const *mut PyObject,
    isize,
    *mut PyObject,
) -> *mut PyObject;
/// `intrinsic_func1`.
pub type IntrinsicFunc1 = unsafe extern "C" fn(*mut PyThreadState, *mut PyObject) -> *mut PyObject;
/// `intrinsic_func2`.
pub type IntrinsicFunc2 =
    unsafe extern "C" fn(*mut PyThreadState, *mut PyObject, *mut PyObject) -> *mut PyObject;
/// `_PyFrameEvalFunction`.
pub type EvalFrameFunc = unsafe extern "C" fn(*mut PyThreadState, *mut Frame, i32) -> *mut PyObject;

extern "C" {
    // Singletons and types.
    pub static mut _Py_NoneStruct: PyObject;
    pub static mut _Py_TrueStruct: PyObject;
    pub static mut _Py_FalseStruct: PyObject;
    pub static mut _Py_NotImplementedStruct: PyObject;
    pub static mut _PyRuntime: u8;
    pub static mut PyLong_Type: PyTypeObject;
    pub static mut PyFloat_Type: PyTypeObject;
    pub static mut PyUnicode_Type: PyTypeObject;
    pub static mut PyBytes_Type: PyTypeObject;
    pub static mut PyMemberDescr_Type: PyTypeObject;
    pub static mut PyGetSetDescr_Type: PyTypeObject;
    pub static mut PyWrapperDescr_Type: PyTypeObject;
    pub static mut PyProperty_Type: PyTypeObject;
    pub static mut PyClassMethod_Type: PyTypeObject;
    pub static mut PyStaticMethod_Type: PyTypeObject;
    pub static mut PyBool_Type: PyTypeObject;
    pub static mut PyList_Type: PyTypeObject;
    pub static mut PyTuple_Type: PyTypeObject;
    pub static mut PySlice_Type: PyTypeObject;
    pub static mut PyDict_Type: PyTypeObject;
    pub static mut PySet_Type: PyTypeObject;
    pub static mut PyFrozenSet_Type: PyTypeObject;
    pub static mut PyModule_Type: PyTypeObject;
    pub static mut PyMethod_Type: PyTypeObject;
    pub static mut PyFunction_Type: PyTypeObject;
    pub static mut PyCFunction_Type: PyTypeObject;
    pub static mut PyMethodDescr_Type: PyTypeObject;
    pub static mut PyType_Type: PyTypeObject;
    pub static mut PyBaseObject_Type: PyTypeObject;
    pub static mut PyRangeIter_Type: PyTypeObject;
    pub static mut PyListIter_Type: PyTypeObject;
    pub static mut PyTupleIter_Type: PyTypeObject;
    pub static mut PyExc_StopIteration: *mut PyObject;
    pub static mut PyExc_StopAsyncIteration: *mut PyObject;
    pub static mut PyExc_TypeError: *mut PyObject;
    pub static mut PyExc_SystemError: *mut PyObject;
    pub static mut PyExc_NameError: *mut PyObject;
    pub static mut PyExc_UnboundLocalError: *mut PyObject;
    pub static mut PyExc_AttributeError: *mut PyObject;
    pub static mut PyExc_AssertionError: *mut PyObject;
    pub static mut PySuper_Type: PyTypeObject;
    pub static mut PyGen_Type: PyTypeObject;
    pub static mut PyCoro_Type: PyTypeObject;
    pub static mut PyAsyncGen_Type: PyTypeObject;
    pub static mut _PyAsyncGenASend_Type: PyTypeObject;
    pub static _PyEval_BinaryOps: [BinaryFunc; 26];
    pub static _PyEval_ConversionFuncs: [Option<UnaryFunc>; 4];
    pub static _PyIntrinsics_UnaryFunctions: [u8; 0];
    pub static _PyIntrinsics_BinaryFunctions: [u8; 0];

    // Objects and protocols.
    pub fn _Py_Dealloc(o: *mut PyObject);
    pub fn PyObject_Free(p: *mut PyObject);
    pub fn PyObject_Malloc(size: usize) -> *mut u8;
    pub fn PyLong_FromLongLong(v: i64) -> *mut PyObject;
    pub fn _PyFloat_ExactDealloc(o: *mut PyObject);
    pub fn _PyUnicode_ExactDealloc(o: *mut PyObject);
    pub fn PyNumber_Negative(o: *mut PyObject) -> *mut PyObject;
    pub fn PyNumber_Invert(o: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_IsTrue(o: *mut PyObject) -> i32;
    pub fn PyObject_CallOneArg(callable: *mut PyObject, arg: *mut PyObject) -> *mut PyObject;
    pub fn PyUnicode_Join(sep: *mut PyObject, seq: *mut PyObject) -> *mut PyObject;
    pub fn PyList_Sort(list: *mut PyObject) -> i32;
    pub fn PyObject_RichCompareBool(a: *mut PyObject, b: *mut PyObject, op: i32) -> i32;
    pub fn PyObject_RichCompare(a: *mut PyObject, b: *mut PyObject, op: i32) -> *mut PyObject;
    pub fn PyObject_GetItem(o: *mut PyObject, k: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_SetItem(o: *mut PyObject, k: *mut PyObject, v: *mut PyObject) -> i32;
    pub fn PyObject_DelItem(o: *mut PyObject, k: *mut PyObject) -> i32;
    pub fn PyObject_GetAttr(o: *mut PyObject, name: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_SetAttr(o: *mut PyObject, name: *mut PyObject, v: *mut PyObject) -> i32;
    pub fn PyObject_GenericGetAttr(o: *mut PyObject, name: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_GenericSetAttr(o: *mut PyObject, name: *mut PyObject, v: *mut PyObject) -> i32;
    pub fn PyType_IsSubtype(a: *mut PyTypeObject, b: *mut PyTypeObject) -> i32;
    pub fn PyUnicode_Compare(a: *mut PyObject, b: *mut PyObject) -> i32;
    pub fn PyUnicode_CompareWithASCIIString(a: *mut PyObject, s: *const core::ffi::c_char) -> i32;
    pub fn PyObject_GetIter(o: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_Str(o: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_Format(o: *mut PyObject, spec: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_IsInstance(o: *mut PyObject, cls: *mut PyObject) -> i32;
    pub fn PyObject_Size(o: *mut PyObject) -> isize;
    pub fn PyObject_Vectorcall(
        callable: *mut PyObject,
        args: *const *mut PyObject,
        nargsf: usize,
        kwnames: *mut PyObject,
    ) -> *mut PyObject;
    pub fn _PyObject_GetMethod(
        o: *mut PyObject,
        name: *mut PyObject,
        meth: *mut *mut PyObject,
    ) -> i32;
    pub fn PySequence_Contains(seq: *mut PyObject, o: *mut PyObject) -> i32;
    pub fn PySequence_Tuple(o: *mut PyObject) -> *mut PyObject;

    // Concrete types.
    pub fn _PyLong_Add(a: *mut PyObject, b: *mut PyObject) -> *mut PyObject;
    pub fn _PyLong_Subtract(a: *mut PyObject, b: *mut PyObject) -> *mut PyObject;
    pub fn _PyLong_Multiply(a: *mut PyObject, b: *mut PyObject) -> *mut PyObject;
    pub fn PyLong_FromLong(v: i64) -> *mut PyObject;
    pub fn PyLong_FromSsize_t(v: isize) -> *mut PyObject;
    pub fn PyFloat_FromDouble(v: f64) -> *mut PyObject;
    pub fn PyUnicode_Concat(a: *mut PyObject, b: *mut PyObject) -> *mut PyObject;
    pub fn PyUnicode_Append(left: *mut *mut PyObject, right: *mut PyObject);
    pub fn PyUnicode_ReadChar(s: *mut PyObject, index: isize) -> u32;
    pub fn _PyUnicode_Equal(a: *mut PyObject, b: *mut PyObject) -> i32;
    pub fn _PyUnicode_JoinArray(
        sep: *mut PyObject,
        items: *const *mut PyObject,
        n: isize,
    ) -> *mut PyObject;
    pub fn _PyTuple_FromArraySteal(items: *const *mut PyObject, n: isize) -> *mut PyObject;
    pub fn _PyList_FromArraySteal(items: *const *mut PyObject, n: isize) -> *mut PyObject;
    pub fn _PyList_AppendTakeRefListResize(list: *mut PyObject, item: *mut PyObject) -> i32;
    pub fn _PyList_Extend(list: *mut PyObject, iterable: *mut PyObject) -> *mut PyObject;
    pub fn PyDict_GetItemRef(d: *mut PyObject, k: *mut PyObject, res: *mut *mut PyObject) -> i32;
    pub fn PyDict_Contains(d: *mut PyObject, k: *mut PyObject) -> i32;
    pub fn PyDict_Update(d: *mut PyObject, other: *mut PyObject) -> i32;
    pub fn PyDict_SetItem(d: *mut PyObject, k: *mut PyObject, v: *mut PyObject) -> i32;
    pub fn PyDict_Pop(d: *mut PyObject, k: *mut PyObject, result: *mut *mut PyObject) -> i32;
    pub fn _PyDict_SetItem_Take2(d: *mut PyObject, k: *mut PyObject, v: *mut PyObject) -> i32;
    pub fn _PyDict_FromItems(
        keys: *const *mut PyObject,
        keys_offset: isize,
        values: *const *mut PyObject,
        values_offset: isize,
        n: isize,
    ) -> *mut PyObject;
    pub fn _PyDict_MergeEx(a: *mut PyObject, b: *mut PyObject, override_: i32) -> i32;
    pub fn _PyErr_SetKeyError(key: *mut PyObject);
    pub fn PySet_New(iterable: *mut PyObject) -> *mut PyObject;
    pub fn PySet_Add(set: *mut PyObject, key: *mut PyObject) -> i32;
    pub fn _PySet_Contains(set: *mut PyObject, key: *mut PyObject) -> i32;
    pub fn _PySet_Update(set: *mut PyObject, iterable: *mut PyObject) -> i32;
    pub fn PySlice_New(
        start: *mut PyObject,
        stop: *mut PyObject,
        step: *mut PyObject,
    ) -> *mut PyObject;
    pub fn PyList_GetSlice(list: *mut PyObject, low: isize, high: isize) -> *mut PyObject;
    pub fn PyList_SetSlice(list: *mut PyObject, low: isize, high: isize, v: *mut PyObject) -> i32;
    pub fn PyTuple_GetSlice(tuple: *mut PyObject, low: isize, high: isize) -> *mut PyObject;
    pub fn PyUnicode_Substring(s: *mut PyObject, start: isize, end: isize) -> *mut PyObject;
    pub fn PyBytes_AsString(b: *mut PyObject) -> *mut u8;
    pub fn PyBytes_FromStringAndSize(s: *const u8, len: isize) -> *mut PyObject;
    pub fn PyCell_New(o: *mut PyObject) -> *mut PyObject;
    pub fn PyFunction_New(code: *mut PyObject, globals: *mut PyObject) -> *mut PyObject;
    pub fn _PyFunction_SetVersion(func: *mut PyObject, version: u32);

    // Errors.
    pub fn PyErr_Occurred() -> *mut PyObject;
    pub fn PyErr_ExceptionMatches(exc: *mut PyObject) -> i32;
    pub fn PyErr_Clear();
    pub fn PyErr_SetString(exc: *mut PyObject, msg: *const u8);
    pub fn PyErr_SetNone(exc: *mut PyObject);
    pub fn PyErr_GetRaisedException() -> *mut PyObject;
    pub fn PyErr_SetRaisedException(exc: *mut PyObject);
    pub fn PyErr_GivenExceptionMatches(given: *mut PyObject, exc: *mut PyObject) -> i32;
    pub fn PyErr_SetHandledException(exc: *mut PyObject);
    pub fn PyException_GetTraceback(exc: *mut PyObject) -> *mut PyObject;
    pub fn _PyEval_CheckExceptTypeValid(ts: *mut PyThreadState, right: *mut PyObject) -> i32;
    pub fn _PyEval_CheckExceptStarTypeValid(ts: *mut PyThreadState, right: *mut PyObject) -> i32;
    pub fn _PyEval_ExceptionGroupMatch(
        exc_value: *mut PyObject,
        match_type: *mut PyObject,
        match_: *mut *mut PyObject,
        rest: *mut *mut PyObject,
    ) -> i32;
    pub fn _PyEval_MatchClass(
        ts: *mut PyThreadState,
        subject: *mut PyObject,
        type_: *mut PyObject,
        nargs: isize,
        kwargs: *mut PyObject,
    ) -> *mut PyObject;
    pub fn _PyEval_MatchKeys(
        ts: *mut PyThreadState,
        map: *mut PyObject,
        keys: *mut PyObject,
    ) -> *mut PyObject;
    pub fn _PySuper_Lookup(
        su_type: *mut PyTypeObject,
        su_obj: *mut PyObject,
        name: *mut PyObject,
        method: *mut i32,
    ) -> *mut PyObject;
    pub fn PyObject_Call(
        callable: *mut PyObject,
        args: *mut PyObject,
        kwargs: *mut PyObject,
    ) -> *mut PyObject;
    pub fn PyLong_AsInt(o: *mut PyObject) -> i32;
    pub fn _PyGen_FetchStopIterationValue(value: *mut *mut PyObject) -> i32;
    pub fn _PyCoro_GetAwaitableIter(o: *mut PyObject) -> *mut PyObject;
    pub fn _PyGen_yf(gen: *mut PyObject) -> *mut PyObject;
    pub fn _PyEval_FormatAwaitableError(ts: *mut PyThreadState, t: *mut PyTypeObject, oparg: i32);
    pub fn _PyErr_FormatFromCause(
        exc: *mut PyObject,
        format: *const core::ffi::c_char,
        ...
    ) -> *mut PyObject;
    pub fn _PyThreadState_PopFrame(ts: *mut PyThreadState, frame: *mut Frame);
    pub fn _Py_MakeCoro(func: *mut PyObject) -> *mut PyObject;
    pub fn _PyType_Lookup(t: *mut PyTypeObject, name: *mut PyObject) -> *mut PyObject;
    pub fn _PyObject_FunctionStr(o: *mut PyObject) -> *mut PyObject;
    pub fn PyErr_GetHandledException() -> *mut PyObject;
    pub fn _PyObject_LookupSpecial(o: *mut PyObject, name: *mut PyObject) -> *mut PyObject;
    pub fn _PyEval_FormatExcCheckArg(
        tstate: *mut PyThreadState,
        exc: *mut PyObject,
        fmt: *const u8,
        obj: *mut PyObject,
    );
    pub fn _PyEval_FormatExcUnbound(tstate: *mut PyThreadState, code: *mut PyObject, oparg: i32);
    pub fn _PyEval_FormatKwargsError(
        tstate: *mut PyThreadState,
        func: *mut PyObject,
        kwargs: *mut PyObject,
    );
    pub fn _PyEval_MonitorRaise(tstate: *mut PyThreadState, frame: *mut Frame, instr: *mut u16);
    pub fn PyTraceBack_Here(frame: *mut PyObject) -> i32;

    // The evaluation loop.
    pub fn _PyEval_EvalFrameDefault(
        tstate: *mut PyThreadState,
        frame: *mut Frame,
        throwflag: i32,
    ) -> *mut PyObject;
    pub fn _PyEval_FrameClearAndPop(tstate: *mut PyThreadState, frame: *mut Frame);
    pub fn _PyEvalFramePushAndInit(
        tstate: *mut PyThreadState,
        func: *mut PyObject,
        locals: *mut PyObject,
        args: *const *mut PyObject,
        argcount: usize,
        kwnames: *mut PyObject,
    ) -> *mut Frame;
    pub fn _Py_HandlePending(tstate: *mut PyThreadState) -> i32;
    pub fn _Py_CheckRecursiveCall(tstate: *mut PyThreadState, where_: *const u8) -> i32;
    pub fn _PyEval_UnpackIterable(
        tstate: *mut PyThreadState,
        v: *mut PyObject,
        argcnt: i32,
        argcntafter: i32,
        sp: *mut *mut PyObject,
    ) -> i32;
    pub fn _PyDict_LoadGlobal(
        globals: *mut PyObject,
        builtins: *mut PyObject,
        name: *mut PyObject,
    ) -> *mut PyObject;
    pub fn PyMapping_GetOptionalItem(
        o: *mut PyObject,
        k: *mut PyObject,
        res: *mut *mut PyObject,
    ) -> i32;
    pub fn PyThreadState_GetFrame(tstate: *mut PyThreadState) -> *mut PyObject;
    pub fn _PyInterpreterState_SetEvalFrameFunc(interp: *mut u8, f: Option<EvalFrameFunc>);
    pub fn _PyInterpreterState_GetEvalFrameFunc(interp: *mut u8) -> Option<EvalFrameFunc>;
    pub fn PyDict_AddWatcher(
        callback: unsafe extern "C" fn(
            event: i32,
            dict: *mut PyObject,
            key: *mut PyObject,
            new_value: *mut PyObject,
        ) -> i32,
    ) -> i32;
    pub fn PyDict_Watch(watcher_id: i32, dict: *mut PyObject) -> i32;
    pub fn PyDict_Unwatch(watcher_id: i32, dict: *mut PyObject) -> i32;
    pub fn PyCode_AddWatcher(
        callback: unsafe extern "C" fn(event: i32, code: *mut crate::layout::PyCodeObject) -> i32,
    ) -> i32;
}
