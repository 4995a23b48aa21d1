/* Prints, as Rust source, every CPython 3.13 fact jitsaw relies on: struct
 * offsets and sizes, constants, and the interpreter's generated opcode and
 * micro-op tables. Compiled against the target interpreter's own headers by
 * build.rs, so nothing here is typed in by hand. */
#define Py_BUILD_CORE 1
#define NEED_OPCODE_METADATA 1
#include "Python.h"
#include <string.h>
#include "frameobject.h"
#include "opcode.h"
#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#include "internal/pycore_long.h"
#include "internal/pycore_range.h"
#include "internal/pycore_list.h"
#include "internal/pycore_tuple.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_ceval.h"
#include "internal/pycore_intrinsics.h"
#include "internal/pycore_opcode_metadata.h"
#include "internal/pycore_uop_metadata.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_genobject.h"
#include "internal/pycore_opcode_utils.h"
#include "internal/pycore_freelist.h"

#include <stddef.h>
#include <stdio.h>

#define OFF(name, type, field) \
    printf("pub const %s: usize = %zu;\n", name, (size_t)offsetof(type, field))
#define SIZE(name, type) printf("pub const %s: usize = %zu;\n", name, sizeof(type))
#define I64(name, expr) printf("pub const %s: i64 = %lld;\n", name, (long long)(expr))
#define U64(name, expr) printf("pub const %s: u64 = %llu;\n", name, (unsigned long long)(expr))

static void layout(void)
{
    printf("/// Offsets and sizes of CPython structures, from the real headers.\n");
    printf("pub mod off {\n");
    /* PyObject and friends */
    OFF("OB_REFCNT", PyObject, ob_refcnt);
    OFF("OB_TYPE", PyObject, ob_type);
    OFF("OB_SIZE", PyVarObject, ob_size);
    SIZE("PYOBJECT_SIZE", PyObject);
    SIZE("PYVAROBJECT_SIZE", PyVarObject);
    /* _PyInterpreterFrame */
    OFF("FRAME_F_EXECUTABLE", _PyInterpreterFrame, f_executable);
    OFF("FRAME_PREVIOUS", _PyInterpreterFrame, previous);
    OFF("FRAME_F_FUNCOBJ", _PyInterpreterFrame, f_funcobj);
    OFF("FRAME_F_GLOBALS", _PyInterpreterFrame, f_globals);
    OFF("FRAME_F_BUILTINS", _PyInterpreterFrame, f_builtins);
    OFF("FRAME_F_LOCALS", _PyInterpreterFrame, f_locals);
    OFF("FRAME_FRAME_OBJ", _PyInterpreterFrame, frame_obj);
    OFF("FRAME_INSTR_PTR", _PyInterpreterFrame, instr_ptr);
    OFF("FRAME_STACKTOP", _PyInterpreterFrame, stacktop);
    OFF("FRAME_RETURN_OFFSET", _PyInterpreterFrame, return_offset);
    OFF("FRAME_OWNER", _PyInterpreterFrame, owner);
    OFF("FRAME_LOCALSPLUS", _PyInterpreterFrame, localsplus);
    SIZE("FRAME_SIZE", _PyInterpreterFrame);
    /* PyThreadState */
    OFF("TSTATE_INTERP", PyThreadState, interp);
    OFF("TSTATE_EVAL_BREAKER", PyThreadState, eval_breaker);
    OFF("TSTATE_PY_RECURSION_REMAINING", PyThreadState, py_recursion_remaining);
    OFF("TSTATE_PY_RECURSION_LIMIT", PyThreadState, py_recursion_limit);
    OFF("TSTATE_C_RECURSION_REMAINING", PyThreadState, c_recursion_remaining);
    OFF("TSTATE_CORO_ORIGIN_DEPTH", PyThreadState, coroutine_origin_tracking_depth);
    OFF("TSTATE_RECURSION_HEADROOM", PyThreadState, recursion_headroom);
    OFF("TSTATE_TRACING", PyThreadState, tracing);
    OFF("TSTATE_WHAT_EVENT", PyThreadState, what_event);
    OFF("TSTATE_CURRENT_FRAME", PyThreadState, current_frame);
    OFF("TSTATE_CURRENT_EXCEPTION", PyThreadState, current_exception);
    OFF("TSTATE_EXC_INFO", PyThreadState, exc_info);
    OFF("TSTATE_DATASTACK_TOP", PyThreadState, datastack_top);
    OFF("TSTATE_DATASTACK_LIMIT", PyThreadState, datastack_limit);
    OFF("TSTATE_DATASTACK_CHUNK", PyThreadState, datastack_chunk);
    OFF("STACK_CHUNK_DATA", _PyStackChunk, data);
    /* PyInterpreterState */
    OFF("INTERP_EVAL_FRAME", PyInterpreterState, eval_frame);
    OFF("INTERP_MONITORS", PyInterpreterState, monitors);
    OFF("INTERP_CALLABLE_CACHE_ISINSTANCE", PyInterpreterState, callable_cache.isinstance);
    OFF("INTERP_CALLABLE_CACHE_LEN", PyInterpreterState, callable_cache.len);
    OFF("INTERP_CALLABLE_CACHE_LIST_APPEND", PyInterpreterState, callable_cache.list_append);
    I64("MONITORING_UNGROUPED_EVENTS", _PY_MONITORING_UNGROUPED_EVENTS);
    I64("MONITORING_LOCAL_EVENTS", _PY_MONITORING_LOCAL_EVENTS);
    /* PyCodeObject */
    OFF("CODE_CO_CONSTS", PyCodeObject, co_consts);
    OFF("CODE_CO_NAMES", PyCodeObject, co_names);
    OFF("CODE_CO_EXCEPTIONTABLE", PyCodeObject, co_exceptiontable);
    OFF("CODE_CO_FLAGS", PyCodeObject, co_flags);
    OFF("CODE_CO_ARGCOUNT", PyCodeObject, co_argcount);
    OFF("CODE_CO_KWONLYARGCOUNT", PyCodeObject, co_kwonlyargcount);
    OFF("CODE_CO_POSONLYARGCOUNT", PyCodeObject, co_posonlyargcount);
    OFF("CODE_CO_STACKSIZE", PyCodeObject, co_stacksize);
    OFF("CODE_CO_FIRSTLINENO", PyCodeObject, co_firstlineno);
    OFF("CODE_CO_NLOCALSPLUS", PyCodeObject, co_nlocalsplus);
    OFF("CODE_CO_FRAMESIZE", PyCodeObject, co_framesize);
    OFF("CODE_CO_NLOCALS", PyCodeObject, co_nlocals);
    OFF("CODE_CO_NCELLVARS", PyCodeObject, co_ncellvars);
    OFF("CODE_CO_NFREEVARS", PyCodeObject, co_nfreevars);
    OFF("CODE_CO_VERSION", PyCodeObject, co_version);
    OFF("CODE_CO_LOCALSPLUSNAMES", PyCodeObject, co_localsplusnames);
    OFF("CODE_CO_FILENAME", PyCodeObject, co_filename);
    OFF("CODE_CO_NAME", PyCodeObject, co_name);
    OFF("CODE_CO_QUALNAME", PyCodeObject, co_qualname);
    OFF("CODE_INSTRUMENTATION_VERSION", PyCodeObject, _co_instrumentation_version);
    OFF("CODE_MONITORING", PyCodeObject, _co_monitoring);
    OFF("CODE_FIRSTTRACEABLE", PyCodeObject, _co_firsttraceable);
    OFF("CODE_CO_CODE_ADAPTIVE", PyCodeObject, co_code_adaptive);
    OFF("COMONITORING_ACTIVE_MONITORS", _PyCoMonitoringData, active_monitors);
    OFF("COMONITORING_LOCAL_MONITORS", _PyCoMonitoringData, local_monitors);
    OFF("COMONITORING_TOOLS", _PyCoMonitoringData, tools);
    OFF("COMONITORING_LINES", _PyCoMonitoringData, lines);
    OFF("COMONITORING_LINE_TOOLS", _PyCoMonitoringData, line_tools);
    OFF("COMONITORING_PER_INSTRUCTION_OPCODES", _PyCoMonitoringData, per_instruction_opcodes);
    OFF("COMONITORING_PER_INSTRUCTION_TOOLS", _PyCoMonitoringData, per_instruction_tools);
    /* PyTypeObject / PyHeapTypeObject */
    OFF("TYPE_TP_NAME", PyTypeObject, tp_name);
    OFF("TYPE_TP_BASICSIZE", PyTypeObject, tp_basicsize);
    OFF("TYPE_TP_DEALLOC", PyTypeObject, tp_dealloc);
    OFF("TYPE_TP_FLAGS", PyTypeObject, tp_flags);
    OFF("TYPE_TP_GETATTRO", PyTypeObject, tp_getattro);
    OFF("TYPE_TP_ITER", PyTypeObject, tp_iter);
    OFF("TYPE_TP_CALL", PyTypeObject, tp_call);
    OFF("TYPE_TP_ITERNEXT", PyTypeObject, tp_iternext);
    OFF("TYPE_TP_DICTOFFSET", PyTypeObject, tp_dictoffset);
    OFF("TYPE_TP_VERSION_TAG", PyTypeObject, tp_version_tag);
    OFF("TYPE_TP_FINALIZE", PyTypeObject, tp_finalize);
    OFF("TYPE_TP_DEL", PyTypeObject, tp_del);
    OFF("TYPE_TP_SETATTRO", PyTypeObject, tp_setattro);
    OFF("TYPE_TP_DESCR_GET", PyTypeObject, tp_descr_get);
    OFF("TYPE_TP_DESCR_SET", PyTypeObject, tp_descr_set);
    OFF("TYPE_TP_VECTORCALL", PyTypeObject, tp_vectorcall);
    OFF("TYPE_TP_NEW", PyTypeObject, tp_new);
    OFF("TYPE_TP_ALLOC", PyTypeObject, tp_alloc);
    OFF("TYPE_TP_AS_NUMBER", PyTypeObject, tp_as_number);
    OFF("TYPE_TP_AS_SEQUENCE", PyTypeObject, tp_as_sequence);
    OFF("TYPE_TP_AS_MAPPING", PyTypeObject, tp_as_mapping);
    OFF("NUMBER_NB_BOOL", PyNumberMethods, nb_bool);
    OFF("NUMBER_NB_NEGATIVE", PyNumberMethods, nb_negative);
    OFF("MAPPING_MP_LENGTH", PyMappingMethods, mp_length);
    OFF("MAPPING_MP_SUBSCRIPT", PyMappingMethods, mp_subscript);
    OFF("MAPPING_MP_ASS_SUBSCRIPT", PyMappingMethods, mp_ass_subscript);
    OFF("SEQUENCE_SQ_LENGTH", PySequenceMethods, sq_length);
    OFF("SEQUENCE_SQ_CONTAINS", PySequenceMethods, sq_contains);
    OFF("TYPE_TP_RICHCOMPARE", PyTypeObject, tp_richcompare);
    /* PyNumberMethods: the binary operators' slots */
    OFF("NUMBER_NB_ADD", PyNumberMethods, nb_add);
    OFF("NUMBER_NB_SUBTRACT", PyNumberMethods, nb_subtract);
    OFF("NUMBER_NB_MULTIPLY", PyNumberMethods, nb_multiply);
    OFF("NUMBER_NB_REMAINDER", PyNumberMethods, nb_remainder);
    OFF("NUMBER_NB_LSHIFT", PyNumberMethods, nb_lshift);
    OFF("NUMBER_NB_RSHIFT", PyNumberMethods, nb_rshift);
    OFF("NUMBER_NB_AND", PyNumberMethods, nb_and);
    OFF("NUMBER_NB_XOR", PyNumberMethods, nb_xor);
    OFF("NUMBER_NB_OR", PyNumberMethods, nb_or);
    OFF("NUMBER_NB_FLOOR_DIVIDE", PyNumberMethods, nb_floor_divide);
    OFF("NUMBER_NB_TRUE_DIVIDE", PyNumberMethods, nb_true_divide);
    OFF("NUMBER_NB_MATRIX_MULTIPLY", PyNumberMethods, nb_matrix_multiply);
    OFF("NUMBER_NB_INPLACE_ADD", PyNumberMethods, nb_inplace_add);
    OFF("NUMBER_NB_INPLACE_SUBTRACT", PyNumberMethods, nb_inplace_subtract);
    OFF("NUMBER_NB_INPLACE_MULTIPLY", PyNumberMethods, nb_inplace_multiply);
    OFF("NUMBER_NB_INPLACE_REMAINDER", PyNumberMethods, nb_inplace_remainder);
    OFF("NUMBER_NB_INPLACE_LSHIFT", PyNumberMethods, nb_inplace_lshift);
    OFF("NUMBER_NB_INPLACE_RSHIFT", PyNumberMethods, nb_inplace_rshift);
    OFF("NUMBER_NB_INPLACE_AND", PyNumberMethods, nb_inplace_and);
    OFF("NUMBER_NB_INPLACE_XOR", PyNumberMethods, nb_inplace_xor);
    OFF("NUMBER_NB_INPLACE_OR", PyNumberMethods, nb_inplace_or);
    OFF("NUMBER_NB_INPLACE_FLOOR_DIVIDE", PyNumberMethods, nb_inplace_floor_divide);
    OFF("NUMBER_NB_INPLACE_TRUE_DIVIDE", PyNumberMethods, nb_inplace_true_divide);
    OFF("NUMBER_NB_INPLACE_MATRIX_MULTIPLY", PyNumberMethods, nb_inplace_matrix_multiply);
    /* PySequenceMethods: what `+` and `*` fall back on */
    OFF("SEQUENCE_SQ_CONCAT", PySequenceMethods, sq_concat);
    OFF("SEQUENCE_SQ_REPEAT", PySequenceMethods, sq_repeat);
    OFF("SEQUENCE_SQ_INPLACE_CONCAT", PySequenceMethods, sq_inplace_concat);
    OFF("SEQUENCE_SQ_INPLACE_REPEAT", PySequenceMethods, sq_inplace_repeat);
    OFF("HEAPTYPE_HT_CACHED_KEYS", PyHeapTypeObject, ht_cached_keys);
    OFF("HEAPTYPE_SPEC_CACHE_INIT", PyHeapTypeObject, _spec_cache.init);
    /* ints, floats, containers */
    OFF("LONG_LV_TAG", PyLongObject, long_value.lv_tag);
    OFF("LONG_OB_DIGIT", PyLongObject, long_value.ob_digit);
    I64("LONG_NON_SIZE_BITS", _PyLong_NON_SIZE_BITS);
    I64("LONG_SIGN_MASK", _PyLong_SIGN_MASK);
    I64("LONG_SIGN_ZERO", SIGN_ZERO);
    I64("LONG_SIGN_NEGATIVE", SIGN_NEGATIVE);
    OFF("FLOAT_OB_FVAL", PyFloatObject, ob_fval);
    OFF("LIST_OB_ITEM", PyListObject, ob_item);
    OFF("LIST_ALLOCATED", PyListObject, allocated);
    OFF("TUPLE_OB_ITEM", PyTupleObject, ob_item);
    OFF("BYTES_OB_SVAL", PyBytesObject, ob_sval);
    OFF("SLICE_START", PySliceObject, start);
    OFF("SLICE_STOP", PySliceObject, stop);
    OFF("SLICE_STEP", PySliceObject, step);
    OFF("UNICODE_STATE", PyASCIIObject, state);
    OFF("UNICODE_LENGTH", PyASCIIObject, length);
    OFF("UNICODE_HASH", PyASCIIObject, hash);
    SIZE("ASCIIOBJECT_SIZE", PyASCIIObject);
    SIZE("COMPACTUNICODEOBJECT_SIZE", PyCompactUnicodeObject);
    OFF("RANGEITER_START", _PyRangeIterObject, start);
    OFF("RANGEITER_STEP", _PyRangeIterObject, step);
    OFF("RANGEITER_LEN", _PyRangeIterObject, len);
    OFF("LISTITER_INDEX", _PyListIterObject, it_index);
    OFF("LISTITER_SEQ", _PyListIterObject, it_seq);
    OFF("TUPLEITER_INDEX", _PyTupleIterObject, it_index);
    OFF("TUPLEITER_SEQ", _PyTupleIterObject, it_seq);
    OFF("CELL_OB_REF", PyCellObject, ob_ref);
    OFF("MODULE_MD_DICT", PyModuleObject, md_dict);
    /* dicts */
    OFF("DICT_MA_USED", PyDictObject, ma_used);
    OFF("DICT_MA_VERSION_TAG", PyDictObject, ma_version_tag);
    OFF("INTERP_DICT_GLOBAL_VERSION", PyInterpreterState, dict_state.global_version);
    SIZE("GC_HEAD_SIZE", PyGC_Head);
    OFF("DICT_MA_KEYS", PyDictObject, ma_keys);
    OFF("DICT_MA_VALUES", PyDictObject, ma_values);
    OFF("DICTKEYS_DK_LOG2_SIZE", PyDictKeysObject, dk_log2_size);
    OFF("DICTKEYS_DK_LOG2_INDEX_BYTES", PyDictKeysObject, dk_log2_index_bytes);
    OFF("DICTKEYS_DK_KIND", PyDictKeysObject, dk_kind);
    OFF("DICTKEYS_DK_VERSION", PyDictKeysObject, dk_version);
    OFF("DICTKEYS_DK_NENTRIES", PyDictKeysObject, dk_nentries);
    OFF("DICTKEYS_DK_INDICES", PyDictKeysObject, dk_indices);
    SIZE("DICT_UNICODE_ENTRY_SIZE", PyDictUnicodeEntry);
    OFF("DICT_UNICODE_ENTRY_KEY", PyDictUnicodeEntry, me_key);
    OFF("DICT_UNICODE_ENTRY_VALUE", PyDictUnicodeEntry, me_value);
    SIZE("DICT_KEY_ENTRY_SIZE", PyDictKeyEntry);
    OFF("DICT_KEY_ENTRY_KEY", PyDictKeyEntry, me_key);
    OFF("DICT_KEY_ENTRY_VALUE", PyDictKeyEntry, me_value);
    I64("DICT_KEYS_GENERAL", DICT_KEYS_GENERAL);
    I64("DKIX_EMPTY", DKIX_EMPTY);
    OFF("DICTVALUES_CAPACITY", PyDictValues, capacity);
    OFF("DICTVALUES_SIZE", PyDictValues, size);
    OFF("DICTVALUES_VALID", PyDictValues, valid);
    OFF("DICTVALUES_VALUES", PyDictValues, values);
    I64("MANAGED_DICT_OFFSET", MANAGED_DICT_OFFSET);
    /* callables */
    OFF("FUNC_CLOSURE", PyFunctionObject, func_closure);
    OFF("FUNC_CODE", PyFunctionObject, func_code);
    OFF("FUNC_VERSION", PyFunctionObject, func_version);
    OFF("FUNC_GLOBALS", PyFunctionObject, func_globals);
    OFF("FUNC_VECTORCALL", PyFunctionObject, vectorcall);
    OFF("FUNC_BUILTINS", PyFunctionObject, func_builtins);
    OFF("METHOD_IM_FUNC", PyMethodObject, im_func);
    OFF("METHOD_IM_SELF", PyMethodObject, im_self);
    OFF("CFUNC_M_ML", PyCFunctionObject, m_ml);
    OFF("CFUNC_M_SELF", PyCFunctionObject, m_self);
    OFF("METHODDEF_ML_METH", PyMethodDef, ml_meth);
    OFF("METHODDEF_ML_FLAGS", PyMethodDef, ml_flags);
    OFF("METHODDESCR_D_TYPE", PyMethodDescrObject, d_common.d_type);
    OFF("METHODDESCR_D_METHOD", PyMethodDescrObject, d_method);
    OFF("MEMBERDESCR_D_TYPE", PyMemberDescrObject, d_common.d_type);
    OFF("MEMBERDESCR_D_MEMBER", PyMemberDescrObject, d_member);
    OFF("MEMBERDEF_TYPE", PyMemberDef, type);
    OFF("MEMBERDEF_OFFSET", PyMemberDef, offset);
    OFF("MEMBERDEF_FLAGS", PyMemberDef, flags);
    OFF("GETSETDESCR_D_TYPE", PyGetSetDescrObject, d_common.d_type);
    OFF("GETSETDESCR_D_GETSET", PyGetSetDescrObject, d_getset);
    OFF("GETSETDEF_GET", PyGetSetDef, get);
    OFF("GETSETDEF_CLOSURE", PyGetSetDef, closure);
    /* exceptions and runtime */
    OFF("EXCINFO_EXC_VALUE", _PyErr_StackItem, exc_value);
    OFF("INTERP_IMPORT_FUNC", PyInterpreterState, imports.import_func);
    OFF("INTERP_THREADS_HEAD", PyInterpreterState, threads.head);
    OFF("TSTATE_NEXT", PyThreadState, next);
    OFF("RUNTIME_REF_TRACER_FUNC", _PyRuntimeState, ref_tracer.tracer_func);
    OFF("RUNTIME_INTERPRETERS_MAIN", _PyRuntimeState, interpreters.main);
    OFF("GEN_GI_FRAME_STATE", PyGenObject, gi_frame_state);
    OFF("GEN_GI_IFRAME", PyGenObject, gi_iframe);
    OFF("GEN_GI_EXC_STATE", PyGenObject, gi_exc_state);
    OFF("GEN_GI_WEAKREFLIST", PyGenObject, gi_weakreflist);
    OFF("GEN_GI_NAME", PyGenObject, gi_name);
    OFF("GEN_GI_QUALNAME", PyGenObject, gi_qualname);
    OFF("ASYNC_GEN_AG_HOOKS_INITED", PyAsyncGenObject, ag_hooks_inited);
    OFF("ASYNC_GEN_AG_ORIGIN_OR_FINALIZER", PyAsyncGenObject, ag_origin_or_finalizer);
    OFF("ASYNC_GEN_AG_CLOSED", PyAsyncGenObject, ag_closed);
    OFF("ASYNC_GEN_AG_RUNNING_ASYNC", PyAsyncGenObject, ag_running_async);
    OFF("EXCINFO_PREVIOUS_ITEM", _PyErr_StackItem, previous_item);
    OFF("STOPITERATION_VALUE", PyStopIterationObject, value);
    OFF("RUNTIME_STR_EMPTY", _PyRuntimeState, static_objects.singletons.strings.literals._py_empty);
    OFF("RUNTIME_ASCII_STRINGS", _PyRuntimeState, static_objects.singletons.strings.ascii);
    printf("pub const ASCII_STRING_SIZE: usize = %zu;\n",
           sizeof(((_PyRuntimeState *)0)->static_objects.singletons.strings.ascii[0]));
    OFF("RUNTIME_SMALL_INTS", _PyRuntimeState, static_objects.singletons.small_ints);
    SIZE("LONG_OBJECT_SIZE", PyLongObject);
    I64("NSMALLNEGINTS", _PY_NSMALLNEGINTS);
    I64("NSMALLPOSINTS", _PY_NSMALLPOSINTS);
    I64("LONG_SHIFT", PyLong_SHIFT);
    OFF("RUNTIME_TRACEMALLOC_TRACING", _PyRuntimeState, tracemalloc.config.tracing);
    OFF("INTERP_FLOAT_FREELIST_NUMFREE", PyInterpreterState, object_state.freelists.floats.numfree);
    OFF("INTERP_FLOAT_FREELIST_ITEMS", PyInterpreterState, object_state.freelists.floats.items);
    I64("FLOAT_MAXFREELIST", PyFloat_MAXFREELIST);
    SIZE("FLOAT_OBJECT_SIZE", PyFloatObject);
    OFF("INTERP_NEXT_KEYS_VERSION", PyInterpreterState, dict_state.next_keys_version);
    SIZE("INTRINSIC1_INFO_SIZE", intrinsic_func1_info);
    SIZE("INTRINSIC2_INFO_SIZE", intrinsic_func2_info);
    OFF("FUNC_DEFAULTS", PyFunctionObject, func_defaults);
    OFF("FUNC_KWDEFAULTS", PyFunctionObject, func_kwdefaults);
    OFF("FUNC_ANNOTATIONS", PyFunctionObject, func_annotations);
    printf("}\n\n");
}

/* The bits of `PyASCIIObject.state` (a bitfield) that say it is interned. */
static unsigned long long unicode_interned_mask(void)
{
    PyASCIIObject o;
    unsigned int bits = 0;
    memset(&o, 0, sizeof o);
    o.state.interned = 3;
    memcpy(&bits, &o.state, sizeof bits);
    return bits;
}

static void constants(void)
{
    printf("/// Constants of CPython 3.13, from the real headers.\n");
    printf("pub mod consts {\n");
    U64("PY_VERSION_HEX", PY_VERSION_HEX);
    printf("pub const PY_VERSION: &str = \"%s\";\n", PY_VERSION);
    U64("EVAL_EVENTS_MASK", _PY_EVAL_EVENTS_MASK);
    I64("FRAME_OWNED_BY_THREAD", FRAME_OWNED_BY_THREAD);
    I64("FRAME_OWNED_BY_GENERATOR", FRAME_OWNED_BY_GENERATOR);
    I64("FRAME_OWNED_BY_FRAME_OBJECT", FRAME_OWNED_BY_FRAME_OBJECT);
    I64("FRAME_OWNED_BY_CSTACK", FRAME_OWNED_BY_CSTACK);
    I64("PY_EVAL_C_STACK_UNITS", 2);
    /* An adaptive instruction's counter as `_PyCode_Quicken` sets it: the
       instruction has never run while it still holds this. */
    U64("ADAPTIVE_COUNTER_WARMUP", adaptive_counter_warmup().as_counter);
    I64("CO_OPTIMIZED", CO_OPTIMIZED);
    I64("CO_NEWLOCALS", CO_NEWLOCALS);
    I64("CO_VARARGS", CO_VARARGS);
    I64("CO_VARKEYWORDS", CO_VARKEYWORDS);
    I64("CO_GENERATOR", CO_GENERATOR);
    I64("CO_COROUTINE", CO_COROUTINE);
    I64("CO_ITERABLE_COROUTINE", CO_ITERABLE_COROUTINE);
    I64("CO_ASYNC_GENERATOR", CO_ASYNC_GENERATOR);
    U64("TPFLAGS_HEAPTYPE", Py_TPFLAGS_HEAPTYPE);
    U64("TPFLAGS_IS_ABSTRACT", Py_TPFLAGS_IS_ABSTRACT);
    U64("TPFLAGS_READY", Py_TPFLAGS_READY);
    U64("DICT_VERSION_INCREMENT", DICT_VERSION_INCREMENT);
    U64("DICT_WATCHER_MASK", DICT_WATCHER_MASK);
    U64("DICT_WATCHER_AND_MODIFICATION_MASK", DICT_WATCHER_AND_MODIFICATION_MASK);
    U64("UNICODE_STATE_INTERNED_MASK", unicode_interned_mask());
    U64("TPFLAGS_IMMUTABLETYPE", Py_TPFLAGS_IMMUTABLETYPE);
    U64("TPFLAGS_METHOD_DESCRIPTOR", Py_TPFLAGS_METHOD_DESCRIPTOR);
    I64("T_OBJECT_EX", Py_T_OBJECT_EX);
    I64("T_OBJECT", _Py_T_OBJECT);
    I64("MEMBER_READONLY", Py_READONLY);
    I64("MEMBER_AUDIT_READ", Py_AUDIT_READ);
    U64("TPFLAGS_INLINE_VALUES", Py_TPFLAGS_INLINE_VALUES);
    U64("TPFLAGS_MANAGED_DICT", Py_TPFLAGS_MANAGED_DICT);
    U64("TPFLAGS_MAPPING", Py_TPFLAGS_MAPPING);
    U64("TPFLAGS_SEQUENCE", Py_TPFLAGS_SEQUENCE);
    U64("TPFLAGS_LONG_SUBCLASS", Py_TPFLAGS_LONG_SUBCLASS);
    U64("TPFLAGS_LIST_SUBCLASS", Py_TPFLAGS_LIST_SUBCLASS);
    U64("TPFLAGS_TUPLE_SUBCLASS", Py_TPFLAGS_TUPLE_SUBCLASS);
    U64("TPFLAGS_UNICODE_SUBCLASS", Py_TPFLAGS_UNICODE_SUBCLASS);
    U64("TPFLAGS_DICT_SUBCLASS", Py_TPFLAGS_DICT_SUBCLASS);
    U64("TPFLAGS_TYPE_SUBCLASS", Py_TPFLAGS_TYPE_SUBCLASS);
    U64("TPFLAGS_BASE_EXC_SUBCLASS", Py_TPFLAGS_BASE_EXC_SUBCLASS);
    I64("METH_VARARGS", METH_VARARGS);
    I64("METH_KEYWORDS", METH_KEYWORDS);
    I64("METH_NOARGS", METH_NOARGS);
    I64("METH_O", METH_O);
    I64("METH_FASTCALL", METH_FASTCALL);
    I64("METH_STATIC", METH_STATIC);
    I64("METH_METHOD", METH_METHOD);
    U64("IMMORTAL_REFCNT", _Py_IMMORTAL_REFCNT);
    U64("VECTORCALL_ARGUMENTS_OFFSET", PY_VECTORCALL_ARGUMENTS_OFFSET);
    I64("NB_ADD", NB_ADD);
    I64("NB_SUBTRACT", NB_SUBTRACT);
    I64("NB_MULTIPLY", NB_MULTIPLY);
    I64("NB_TRUE_DIVIDE", NB_TRUE_DIVIDE);
    I64("NB_INPLACE_SUBTRACT", NB_INPLACE_SUBTRACT);
    I64("NB_INPLACE_MULTIPLY", NB_INPLACE_MULTIPLY);
    I64("NB_INPLACE_TRUE_DIVIDE", NB_INPLACE_TRUE_DIVIDE);
    I64("NB_INPLACE_ADD", NB_INPLACE_ADD);
    I64("NB_INPLACE_XOR", NB_INPLACE_XOR);
    I64("NB_AND", NB_AND);
    I64("NB_OR", NB_OR);
    I64("NB_XOR", NB_XOR);
    I64("NB_LSHIFT", NB_LSHIFT);
    I64("NB_RSHIFT", NB_RSHIFT);
    I64("NB_FLOOR_DIVIDE", NB_FLOOR_DIVIDE);
    I64("NB_REMAINDER", NB_REMAINDER);
    I64("NB_INPLACE_AND", NB_INPLACE_AND);
    I64("NB_INPLACE_OR", NB_INPLACE_OR);
    I64("NB_INPLACE_LSHIFT", NB_INPLACE_LSHIFT);
    I64("NB_INPLACE_RSHIFT", NB_INPLACE_RSHIFT);
    I64("NB_INPLACE_FLOOR_DIVIDE", NB_INPLACE_FLOOR_DIVIDE);
    I64("NB_INPLACE_REMAINDER", NB_INPLACE_REMAINDER);
    I64("NB_POWER", NB_POWER);
    I64("NB_MATRIX_MULTIPLY", NB_MATRIX_MULTIPLY);
    I64("NB_INPLACE_MATRIX_MULTIPLY", NB_INPLACE_MATRIX_MULTIPLY);
    I64("NB_INPLACE_POWER", NB_INPLACE_POWER);
    I64("MAX_INTRINSIC_1", MAX_INTRINSIC_1);
    I64("INTRINSIC_ASYNC_GEN_WRAP", INTRINSIC_ASYNC_GEN_WRAP);
    I64("MAX_INTRINSIC_2", MAX_INTRINSIC_2);
    I64("RESUME_OPARG_LOCATION_MASK", RESUME_OPARG_LOCATION_MASK);
    I64("RESUME_AFTER_YIELD_FROM", RESUME_AFTER_YIELD_FROM);
    I64("FRAME_CREATED", FRAME_CREATED);
    I64("FRAME_EXECUTING", FRAME_EXECUTING);
    I64("FRAME_SUSPENDED", FRAME_SUSPENDED);
    I64("FRAME_SUSPENDED_YIELD_FROM", FRAME_SUSPENDED_YIELD_FROM);
    I64("FRAME_COMPLETED", FRAME_COMPLETED);
    I64("FRAME_CLEARED", FRAME_CLEARED);
    I64("PY_CODE_EVENT_DESTROY", PY_CODE_EVENT_DESTROY);
    I64("PYDICT_EVENT_ADDED", PyDict_EVENT_ADDED);
    I64("PYDICT_EVENT_MODIFIED", PyDict_EVENT_MODIFIED);
    I64("PYDICT_EVENT_DELETED", PyDict_EVENT_DELETED);
    I64("PYDICT_EVENT_DEALLOCATED", PyDict_EVENT_DEALLOCATED);
    I64("COMPARISON_NOT_EQUALS", COMPARISON_NOT_EQUALS);
    I64("PY_EQ", Py_EQ);
    I64("PY_NE", Py_NE);
    I64("PY_LT", Py_LT);
    I64("PY_GT", Py_GT);
    I64("MAKE_FUNCTION_CLOSURE", MAKE_FUNCTION_CLOSURE);
    I64("MAKE_FUNCTION_ANNOTATIONS", MAKE_FUNCTION_ANNOTATIONS);
    I64("MAKE_FUNCTION_KWDEFAULTS", MAKE_FUNCTION_KWDEFAULTS);
    I64("MAKE_FUNCTION_DEFAULTS", MAKE_FUNCTION_DEFAULTS);
#ifdef Py_DEBUG
    printf("pub const PY_DEBUG: bool = true;\n");
#else
    printf("pub const PY_DEBUG: bool = false;\n");
#endif
#ifdef Py_GIL_DISABLED
    printf("pub const PY_GIL_DISABLED: bool = true;\n");
#else
    printf("pub const PY_GIL_DISABLED: bool = false;\n");
#endif
    printf("}\n\n");
}

/* `pub const NAMES`, `count` names one after another (a null name is
 * empty), for the tables' `Name` spans, which `name_span` printed. */
static void print_names(const char *what, const char *const *names, int count)
{
    printf("/// Every %s's name, one after another (see [`Name`]).\n", what);
    printf("pub const NAMES: &str = concat!(\n");
    for (int i = 0; i < count; i++) {
        printf("    \"%s\",\n", names[i] ? names[i] : "");
    }
    printf(");\n");
}

/* `Name::new(at, len)` for `name` (null: empty) at `*at` of `NAMES`, and
 * `*at` moved past it. */
static void name_span(const char *name, int *at)
{
    int len = name ? (int)strlen(name) : 0;
    printf("Name::new(%d, %d)", *at, len);
    *at += len;
}

static void opcodes(void)
{
    printf("/// Instruction numbers, names, cache sizes and flags.\n");
    printf("pub mod opcode {\nuse crate::{Expansion, Name, OpcodeInfo};\n");
    for (int i = 0; i < 256; i++) {
        const char *name = _PyOpcode_OpName[i];
        if (name != NULL) {
            printf("pub const %s: u8 = %d;\n", name, i);
        }
    }
    printf("pub const HAVE_ARGUMENT: u8 = %d;\n", HAVE_ARGUMENT);
    printf("pub const MIN_INSTRUMENTED_OPCODE: u8 = %d;\n", MIN_INSTRUMENTED_OPCODE);
    printf("pub const HAS_ARG_FLAG: u32 = %d;\n", HAS_ARG_FLAG);
    printf("pub const HAS_CONST_FLAG: u32 = %d;\n", HAS_CONST_FLAG);
    printf("pub const HAS_NAME_FLAG: u32 = %d;\n", HAS_NAME_FLAG);
    printf("pub const HAS_JUMP_FLAG: u32 = %d;\n", HAS_JUMP_FLAG);
    printf("pub const HAS_FREE_FLAG: u32 = %d;\n", HAS_FREE_FLAG);
    printf("pub const HAS_LOCAL_FLAG: u32 = %d;\n", HAS_LOCAL_FLAG);
    printf("pub const HAS_EVAL_BREAK_FLAG: u32 = %d;\n", HAS_EVAL_BREAK_FLAG);
    printf("pub const HAS_DEOPT_FLAG: u32 = %d;\n", HAS_DEOPT_FLAG);
    printf("pub const HAS_ERROR_FLAG: u32 = %d;\n", HAS_ERROR_FLAG);
    printf("pub const HAS_ESCAPES_FLAG: u32 = %d;\n", HAS_ESCAPES_FLAG);
    printf("pub const HAS_EXIT_FLAG: u32 = %d;\n", HAS_EXIT_FLAG);
    printf("pub const HAS_PURE_FLAG: u32 = %d;\n", HAS_PURE_FLAG);
    printf("pub const HAS_PASSTHROUGH_FLAG: u32 = %d;\n", HAS_PASSTHROUGH_FLAG);
    printf("pub const HAS_OPARG_AND_1_FLAG: u32 = %d;\n", HAS_OPARG_AND_1_FLAG);
    printf("pub const HAS_ERROR_NO_POP_FLAG: u32 = %d;\n", HAS_ERROR_NO_POP_FLAG);
    printf("pub const OPARG_FULL: i8 = %d;\n", OPARG_FULL);
    printf("pub const OPARG_CACHE_1: i8 = %d;\n", OPARG_CACHE_1);
    printf("pub const OPARG_CACHE_2: i8 = %d;\n", OPARG_CACHE_2);
    printf("pub const OPARG_CACHE_4: i8 = %d;\n", OPARG_CACHE_4);
    printf("pub const OPARG_TOP: i8 = %d;\n", OPARG_TOP);
    printf("pub const OPARG_BOTTOM: i8 = %d;\n", OPARG_BOTTOM);
    printf("pub const OPARG_SAVE_RETURN_OFFSET: i8 = %d;\n", OPARG_SAVE_RETURN_OFFSET);
    printf("pub const OPARG_REPLACED: i8 = %d;\n", OPARG_REPLACED);
    printf("pub const MAX_UOP_PER_EXPANSION: usize = %d;\n", MAX_UOP_PER_EXPANSION);

    printf("/// Per opcode: (name, inline cache entries, generic base, flags, valid).\n");
    printf("pub const OPCODE_INFO: [OpcodeInfo; 256] = [\n");
    for (int i = 0, at = 0; i < 256; i++) {
        printf("    OpcodeInfo { name: ");
        name_span(_PyOpcode_OpName[i], &at);
        printf(", caches: %d, deopt: %d, flags: %d, valid: %s },\n",
               _PyOpcode_Caches[i], _PyOpcode_Deopt[i],
               _PyOpcode_opcode_metadata[i].flags,
               _PyOpcode_opcode_metadata[i].valid_entry ? "true" : "false");
    }
    printf("];\n");
    print_names("opcode", _PyOpcode_OpName, 256);

    printf("/// Per opcode: the micro-ops it expands to, as (uop, size, offset).\n");
    printf("pub const MACRO_EXPANSION: [Expansion; 256] = [\n");
    for (int i = 0; i < 256; i++) {
        const struct opcode_macro_expansion *e = &_PyOpcode_macro_expansion[i];
        printf("    Expansion { nuops: %d, uops: [", e->nuops);
        for (int j = 0; j < MAX_UOP_PER_EXPANSION; j++) {
            printf("(%d, %d, %d), ", e->uops[j].uop, e->uops[j].size, e->uops[j].offset);
        }
        printf("] },\n");
    }
    printf("];\n");

    /* Stack effects of every instruction for opargs 0..OPARG_SAMPLES, used by
     * tests to check jitsaw's own micro-op table against the interpreter. */
    printf("pub const OPARG_SAMPLES: usize = 20;\n");
    printf("/// `_PyOpcode_num_popped/pushed(opcode, oparg)` for oparg < OPARG_SAMPLES (-1: invalid).\n");
    printf("pub const STACK_EFFECTS: [[(i16, i16); 20]; 256] = [\n");
    for (int i = 0; i < 256; i++) {
        printf("    [");
        for (int a = 0; a < 20; a++) {
            int popped = _PyOpcode_opcode_metadata[i].valid_entry ? _PyOpcode_num_popped(i, a) : -1;
            int pushed = _PyOpcode_opcode_metadata[i].valid_entry ? _PyOpcode_num_pushed(i, a) : -1;
            printf("(%d, %d), ", popped, pushed);
        }
        printf("],\n");
    }
    printf("];\n");
    printf("}\n\n");
}

/* uop_list.h is written by build.rs from pycore_uop_ids.h: one UOP(name)
 * per micro-op, including tier-1-only ones missing from _PyOpcode_uop_name. */
static void uops(void)
{
    printf("/// Micro-op numbers, names, flags and stack inputs.\n");
    printf("pub mod uop {\nuse crate::{Name, UopInfo};\n");
#define UOP(name) printf("pub const %s: u16 = %d;\n", #name, name);
#include "uop_list.h"
#undef UOP
    printf("pub const MAX_UOP_ID: u16 = %d;\n", MAX_UOP_ID);
    static const char *names[MAX_UOP_ID + 1];
#define UOP(name) names[name] = #name;
#include "uop_list.h"
#undef UOP
    printf("/// Per micro-op: name, flags, inputs popped.\n");
    printf("pub const UOP_INFO: [UopInfo; %d] = [\n", MAX_UOP_ID + 1);
    for (int i = 0, at = 0; i <= MAX_UOP_ID; i++) {
        /* _PyUop_num_popped only knows micro-ops that have tier-2 metadata. */
        int known = _PyOpcode_uop_name[i] != NULL;
        printf("    UopInfo { name: ");
        name_span(names[i], &at);
        printf(", flags: %d, popped: [", _PyUop_Flags[i]);
        for (int a = 0; a < 20; a++) {
            printf("%d, ", known ? _PyUop_num_popped(i, a) : -1);
        }
        printf("] },\n");
    }
    printf("];\n");
    print_names("micro-op", names, MAX_UOP_ID + 1);
    printf("}\n\n");
}

int main(void)
{
    printf("// Generated by crates/cpython313/probe.c from the CPython headers. Do not edit.\n\n");
    layout();
    constants();
    opcodes();
    uops();
    return 0;
}
