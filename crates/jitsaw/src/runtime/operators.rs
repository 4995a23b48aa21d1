//! Binary operators whose left operand's class defines the operator in
//! Python (`Vector.__sub__`), from compiled code's generic `BINARY_OP`
//! (CPython 3.13 specializes only ints, floats and strings). The
//! interpreter goes through `PyNumber_Subtract`, the class's slot function
//! (`slot_nb_subtract`), a method lookup, a vectorcall and, with jitsaw's
//! frame evaluator set, the evaluator's entry; compiled code runs the
//! method as the helpers run a compiled function (`helper_call_function`).
//! Rich comparisons (`COMPARE_OP`) of such classes likewise
//! ([`python_comparison`]), and subscripts (`BINARY_SUBSCR`,
//! `STORE_SUBSCR`) of classes defining `__getitem__` and `__setitem__`
//! ([`python_get_item`], [`python_set_item`]), `in` tests
//! ([`python_contains`]) and loops ([`python_next`]) over instances of
//! classes defining `__contains__` and `__next__`, `len()` and truth tests
//! of those defining `__len__` or `__bool__` ([`python_len`],
//! [`python_truth`]), `-v` of those defining `__neg__`
//! ([`python_negative`]); calls of instances of
//! classes defining `__call__` become method calls ([`python_call`]).

use super::helpers::{
    class_slots, helper_call_function, is_plain_function, made_class, read_made_object, type_name,
};
use super::OPERATORS_CALLED;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{PyObject, PyThreadState, PyTypeObject};
use jitsaw_cpython313::{consts, off};
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// One binary operator of `BINARY_OP`, as `PyNumber_*` and the class's slot
/// function see it.
struct Operator {
    /// `BINARY_OP`'s oparg for the operator (`NB_SUBTRACT`).
    oparg: i64,
    /// The same for the augmented assignment (`NB_INPLACE_SUBTRACT`).
    inplace_oparg: i64,
    /// The operator's slot in `PyNumberMethods`.
    slot: usize,
    /// The augmented assignment's slot, which must be empty: a class with
    /// `__isub__` is served by it first.
    inplace_slot: usize,
    /// The method's name.
    name: &'static CStr,
    /// The operator as CPython's `TypeError` names it, plain and augmented.
    symbols: [&'static CStr; 2],
    /// `+` and `*` fall back on sequence slots when the method returns
    /// `NotImplemented`: the class must have none.
    sequence: bool,
}

/// Every binary operator but `**` (ternary in CPython, with its own
/// fallbacks).
#[rustfmt::skip]
const OPERATORS: [Operator; 12] = {
    macro_rules! op {
        ($nb:ident, $inb:ident, $slot:ident, $islot:ident, $name:literal, $s:literal, $is:literal, $seq:literal) => {
            Operator {
                oparg: consts::$nb,
                inplace_oparg: consts::$inb,
                slot: off::$slot,
                inplace_slot: off::$islot,
                name: $name,
                symbols: [$s, $is],
                sequence: $seq,
            }
        };
    }
    [
        op!(NB_ADD, NB_INPLACE_ADD, NUMBER_NB_ADD, NUMBER_NB_INPLACE_ADD, c"__add__", c"+", c"+=", true),
        op!(NB_SUBTRACT, NB_INPLACE_SUBTRACT, NUMBER_NB_SUBTRACT, NUMBER_NB_INPLACE_SUBTRACT, c"__sub__", c"-", c"-=", false),
        op!(NB_MULTIPLY, NB_INPLACE_MULTIPLY, NUMBER_NB_MULTIPLY, NUMBER_NB_INPLACE_MULTIPLY, c"__mul__", c"*", c"*=", true),
        op!(NB_REMAINDER, NB_INPLACE_REMAINDER, NUMBER_NB_REMAINDER, NUMBER_NB_INPLACE_REMAINDER, c"__mod__", c"%", c"%=", false),
        op!(NB_LSHIFT, NB_INPLACE_LSHIFT, NUMBER_NB_LSHIFT, NUMBER_NB_INPLACE_LSHIFT, c"__lshift__", c"<<", c"<<=", false),
        op!(NB_RSHIFT, NB_INPLACE_RSHIFT, NUMBER_NB_RSHIFT, NUMBER_NB_INPLACE_RSHIFT, c"__rshift__", c">>", c">>=", false),
        op!(NB_AND, NB_INPLACE_AND, NUMBER_NB_AND, NUMBER_NB_INPLACE_AND, c"__and__", c"&", c"&=", false),
        op!(NB_XOR, NB_INPLACE_XOR, NUMBER_NB_XOR, NUMBER_NB_INPLACE_XOR, c"__xor__", c"^", c"^=", false),
        op!(NB_OR, NB_INPLACE_OR, NUMBER_NB_OR, NUMBER_NB_INPLACE_OR, c"__or__", c"|", c"|=", false),
        op!(NB_FLOOR_DIVIDE, NB_INPLACE_FLOOR_DIVIDE, NUMBER_NB_FLOOR_DIVIDE, NUMBER_NB_INPLACE_FLOOR_DIVIDE, c"__floordiv__", c"//", c"//=", false),
        op!(NB_TRUE_DIVIDE, NB_INPLACE_TRUE_DIVIDE, NUMBER_NB_TRUE_DIVIDE, NUMBER_NB_INPLACE_TRUE_DIVIDE, c"__truediv__", c"/", c"/=", false),
        op!(NB_MATRIX_MULTIPLY, NB_INPLACE_MATRIX_MULTIPLY, NUMBER_NB_MATRIX_MULTIPLY, NUMBER_NB_INPLACE_MATRIX_MULTIPLY, c"__matmul__", c"@", c"@=", false),
    ]
};

/// What the operator of a `BINARY_OP` oparg needs at run time: its
/// [`Operator`], whether it is the augmented form, CPython's slot function
/// for it (not exported, so read from a class made for the purpose) and the
/// method's interned name.
struct Ready {
    op: &'static Operator,
    inplace: bool,
    function: usize,
    name: *mut PyObject,
    /// The method's lookup cache (see [`lookup`]).
    last: [AtomicUsize; 3],
}

// SAFETY: the name is an interned str whose reference the table keeps for
// good, only used with the GIL held; the rest is plain data and atomics.
unsafe impl Send for Ready {}
unsafe impl Sync for Ready {}

/// See [`table`] (read directly by [`may_be_python_operator`]).
static TABLE: OnceLock<Vec<Option<Ready>>> = OnceLock::new();

/// [`Ready`] by oparg (`None` for `**` or when the probe failed), made once.
fn table() -> &'static [Option<Ready>] {
    TABLE.get_or_init(|| {
        let opargs = 1 + OPERATORS
            .iter()
            .map(|o| o.oparg.max(o.inplace_oparg))
            .max()
            .unwrap_or(0);
        let mut table: Vec<Option<Ready>> = (0..opargs).map(|_| None).collect();
        for op in &OPERATORS {
            let function = slot_function(op);
            // SAFETY: called with the GIL held (from compiled code).
            let name = unsafe { pyo3::ffi::PyUnicode_InternFromString(op.name.as_ptr()) }
                .cast::<PyObject>();
            if function == 0 || name.is_null() {
                continue;
            }
            for (oparg, inplace) in [(op.oparg, false), (op.inplace_oparg, true)] {
                table[oparg as usize] = Some(Ready {
                    op,
                    inplace,
                    function,
                    name,
                    last: Default::default(),
                });
            }
        }
        table
    })
}

/// CPython's slot function for `op` in a class defining it in Python
/// (`slot_nb_subtract`), 0 if it cannot be read.
fn slot_function(op: &Operator) -> usize {
    // SAFETY: a class's number methods, when it has them, are its own
    // `PyNumberMethods`.
    read_made_object(
        |py| made_class(py, &[op.name]),
        |class| unsafe {
            let number = field::<*mut u8>(class, off::TYPE_TP_AS_NUMBER);
            (!number.is_null()).then(|| field::<usize>(number, op.slot))
        },
    )
}

/// Whether [`python_operator`] may serve `left <op> right`: `left`'s class
/// has CPython's slot function for the operator of `oparg`. Every generic
/// `BINARY_OP` asks, mostly of C types (`Decimal`, tuples, sets): inlined
/// in the helper, whose way to `PyNumber_*` is then a tail call saving no
/// registers.
#[inline(always)]
pub(super) unsafe fn may_be_python_operator(left: *mut PyObject, oparg: usize) -> bool {
    let tp = ob_type(left);
    if !is_class(tp) {
        return false;
    }
    // Not made yet: the way that makes it decides.
    let Some(table) = TABLE.get() else {
        return true;
    };
    let Some(Some(ready)) = table.get(oparg) else {
        return false;
    };
    let number = field::<*mut u8>(tp.cast(), off::TYPE_TP_AS_NUMBER);
    !number.is_null() && field::<usize>(number, ready.op.slot) == ready.function
}

/// `left <op> right` for a `BINARY_OP` oparg when `left`'s class defines
/// the operator in Python and `right` is of the same class or of one that
/// does not (an int, a float, a class without the method): the method
/// called directly, as `PyNumber_*` would end up calling it. A new
/// reference, or NULL with an error; `None` (nothing done) for anything
/// else.
///
/// When the method returns `NotImplemented`, what CPython does next is done
/// here: `right`'s own slot for the operator, if it has one (CPython tries
/// no reflected method of a class defining the operator in Python here:
/// `right`'s class has none, or is `left`'s), then its `TypeError`. The
/// sequence slots `+` and `*` would fall back on must be empty (checked),
/// and so must the augmented slot an augmented assignment tries first.
#[inline(never)]
pub(super) unsafe fn python_operator(
    ts: *mut PyThreadState,
    left: *mut PyObject,
    right: *mut PyObject,
    oparg: usize,
) -> Option<*mut PyObject> {
    let tp = ob_type(left);
    if !is_class(tp) {
        return None;
    }
    let ready = table().get(oparg)?.as_ref()?;
    let op = ready.op;
    let number = field::<*mut u8>(tp.cast(), off::TYPE_TP_AS_NUMBER);
    if number.is_null()
        || field::<usize>(number, op.slot) != ready.function
        || (ready.inplace && field::<usize>(number, op.inplace_slot) != 0)
        || (op.sequence && has_sequence_fallback(tp))
    {
        return None;
    }
    let other = ob_type(right);
    // `right`'s slot, which CPython tries after the method (or before it,
    // for a subclass of `left`'s class, which is left to CPython).
    let mut slot = 0;
    if other != tp {
        let number = field::<*mut u8>(other.cast(), off::TYPE_TP_AS_NUMBER);
        if !number.is_null() {
            slot = field::<usize>(number, op.slot);
        }
        if slot == ready.function
            || derives_from(other, tp)
            || (op.sequence && !ready.inplace && has_sequence_fallback(other))
        {
            return None;
        }
    }
    if !crate::hook::interpreter_entry_fits(ts) {
        return None;
    }
    let mut result = call_method(ts, &ready.last, tp, ready.name, [left, right])?;
    let not_implemented = pyo3::ffi::Py_NotImplemented().cast::<PyObject>();
    if result == not_implemented && slot != 0 {
        decref(result);
        let slot = std::mem::transmute::<usize, BinaryFunc>(slot);
        result = slot(left, right);
    }
    if result == not_implemented {
        decref(result);
        pyo3::ffi::PyErr_Format(
            pyo3::ffi::PyExc_TypeError,
            c"unsupported operand type(s) for %.100s: '%.100s' and '%.100s'".as_ptr(),
            op.symbols[ready.inplace as usize].as_ptr(),
            type_name(left),
            type_name(right),
        );
        return Some(std::ptr::null_mut());
    }
    Some(result)
}

/// The method `name` of class `tp` (borrowed; NULL if none), through the
/// one-entry cache `last`: the last class looked up, its version tag then
/// and the method found (a class keeps its version only while its
/// namespace and its bases' are unchanged, and so the method alive).
#[inline(always)]
unsafe fn lookup(
    last: &[AtomicUsize; 3],
    tp: *mut PyTypeObject,
    name: *mut PyObject,
) -> *mut PyObject {
    let version = field::<u32>(tp.cast(), off::TYPE_TP_VERSION_TAG) as usize;
    let [class, tag, found] = last;
    if version != 0
        && class.load(Ordering::Relaxed) == tp as usize
        && tag.load(Ordering::Relaxed) == version
    {
        return found.load(Ordering::Relaxed) as *mut PyObject;
    }
    let func = _PyType_Lookup(tp, name);
    // The lookup gives the class a version tag if it can have one.
    let version = field::<u32>(tp.cast(), off::TYPE_TP_VERSION_TAG) as usize;
    if version != 0 {
        class.store(tp as usize, Ordering::Relaxed);
        tag.store(version, Ordering::Relaxed);
        found.store(func as usize, Ordering::Relaxed);
    }
    func
}

/// Whether `other` is a subclass of class `tp` (only a class can be).
unsafe fn derives_from(other: *mut PyTypeObject, tp: *mut PyTypeObject) -> bool {
    is_class(other) && pyo3::ffi::PyType_IsSubtype(other.cast(), tp.cast()) != 0
}

/// `tp.<name>(*args)` (`args[0]` the instance) when the method (through
/// the cache `last`) is a plain Python function, run as the helpers run a
/// compiled function: its result (a new reference, or NULL with an error);
/// `None` (nothing done) for any other method.
#[inline(always)]
unsafe fn call_method<const N: usize>(
    ts: *mut PyThreadState,
    last: &[AtomicUsize; 3],
    tp: *mut PyTypeObject,
    name: *mut PyObject,
    args: [*mut PyObject; N],
) -> Option<*mut PyObject> {
    let func = lookup(last, tp, name);
    if func.is_null() || !is_plain_function(func) {
        return None;
    }
    Some(call_function(ts, func, args))
}

/// `func`, a plain function, run directly on `args` (see [`call_method`]).
#[inline(always)]
unsafe fn call_function<const N: usize>(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    args: [*mut PyObject; N],
) -> *mut PyObject {
    OPERATORS_CALLED.bump();
    let args = args.map(|o| new_ref(o));
    helper_call_function(ts, new_ref(func), args.as_ptr(), N, std::ptr::null_mut())
}

/// Whether `+` or `*` on the class could fall back on a sequence slot
/// (inherited from a C base such as `list`).
unsafe fn has_sequence_fallback(tp: *mut PyTypeObject) -> bool {
    let sequence = field::<*mut u8>(tp.cast(), off::TYPE_TP_AS_SEQUENCE);
    !sequence.is_null()
        && [
            off::SEQUENCE_SQ_CONCAT,
            off::SEQUENCE_SQ_REPEAT,
            off::SEQUENCE_SQ_INPLACE_CONCAT,
            off::SEQUENCE_SQ_INPLACE_REPEAT,
        ]
        .iter()
        .any(|&at| field::<usize>(sequence, at) != 0)
}

/// The comparison methods by `COMPARE_OP`'s operator (CPython's `Py_LT` ..
/// `Py_GE`), their reflections, and the operators as CPython's `TypeError`
/// names them.
const COMPARISONS: [(&CStr, usize, &CStr); 6] = [
    (c"__lt__", 4, c"<"),
    (c"__le__", 5, c"<="),
    (c"__eq__", 2, c"=="),
    (c"__ne__", 3, c"!="),
    (c"__gt__", 0, c">"),
    (c"__ge__", 1, c">="),
];

/// What comparisons need at run time: CPython's `slot_tp_richcompare`
/// (the `tp_richcompare` of a class defining a comparison in Python, read
/// from a class made for the purpose) and, by operator, the method's
/// interned name and a lookup cache as [`Ready`]'s.
struct Comparisons {
    function: usize,
    names: [*mut PyObject; 6],
    last: [[AtomicUsize; 3]; 6],
}

// SAFETY: as for [`Ready`].
unsafe impl Send for Comparisons {}
unsafe impl Sync for Comparisons {}

/// See [`comparisons`] (read directly by [`may_be_python_comparison`]).
static COMPARISONS_TABLE: OnceLock<Option<Comparisons>> = OnceLock::new();

/// [`Comparisons`], made once (`None` if the probe failed).
fn comparisons() -> Option<&'static Comparisons> {
    COMPARISONS_TABLE
        .get_or_init(|| {
            // SAFETY: the field of a live type object.
            let function = read_made_object(
                |py| made_class(py, &[c"__eq__"]),
                |class| unsafe { Some(field::<usize>(class, off::TYPE_TP_RICHCOMPARE)) },
            );
            // SAFETY: the GIL is held.
            let names = COMPARISONS.map(|(name, _, _)| unsafe {
                pyo3::ffi::PyUnicode_InternFromString(name.as_ptr()).cast::<PyObject>()
            });
            (function != 0 && names.iter().all(|n| !n.is_null())).then(|| Comparisons {
                function,
                names,
                last: Default::default(),
            })
        })
        .as_ref()
}

/// Whether [`python_comparison`] may serve a comparison of `left`: its
/// class has CPython's `slot_tp_richcompare` (as for
/// [`may_be_python_operator`]).
#[inline(always)]
pub(super) unsafe fn may_be_python_comparison(left: *mut PyObject) -> bool {
    let tp = ob_type(left);
    // Not made yet: the way that makes it decides.
    is_class(tp)
        && COMPARISONS_TABLE.get().is_none_or(|t| {
            t.as_ref()
                .is_some_and(|t| field::<usize>(tp.cast(), off::TYPE_TP_RICHCOMPARE) == t.function)
        })
}

/// `PyObject_RichCompare(left, right, op)` when `left`'s class defines the
/// comparison in Python as a plain function and `right` is not of a
/// subclass of it (whose reflected method CPython tries first): the method
/// run directly. A new reference, or NULL with an error; `None` (nothing
/// done) for anything else.
///
/// The rest is CPython's: its recursion check (" in comparison") around the
/// whole comparison; after `NotImplemented`, `right`'s `tp_richcompare`
/// with the reflected operator, then identity for `==` and `!=`, else its
/// `TypeError`.
#[inline(never)]
pub(super) unsafe fn python_comparison(
    ts: *mut PyThreadState,
    left: *mut PyObject,
    right: *mut PyObject,
    op: usize,
) -> Option<*mut PyObject> {
    let tp = ob_type(left);
    if !is_class(tp) || op >= COMPARISONS.len() {
        return None;
    }
    let table = comparisons()?;
    if field::<usize>(tp.cast(), off::TYPE_TP_RICHCOMPARE) != table.function {
        return None;
    }
    let other = ob_type(right);
    if other != tp && derives_from(other, tp) {
        return None;
    }
    // `_Py_EnterRecursiveCallTstate(tstate, " in comparison")`: where it
    // would raise, the general way raises.
    let depth = c_recursion_remaining(ts);
    if *depth <= 1 || !crate::hook::interpreter_entry_fits(ts) {
        return None;
    }
    *depth -= 1;
    let Some(mut result) = call_method(ts, &table.last[op], tp, table.names[op], [left, right])
    else {
        *depth += 1;
        return None;
    };
    let not_implemented = pyo3::ffi::Py_NotImplemented().cast::<PyObject>();
    if result == not_implemented {
        decref(result);
        let reflected = field::<usize>(other.cast(), off::TYPE_TP_RICHCOMPARE);
        result = if reflected == 0 {
            new_ref(not_implemented)
        } else {
            let reflected = std::mem::transmute::<
                usize,
                unsafe extern "C" fn(*mut PyObject, *mut PyObject, i32) -> *mut PyObject,
            >(reflected);
            reflected(right, left, COMPARISONS[op].1 as i32)
        };
        if result == not_implemented {
            decref(result);
            result = match op as i32 {
                pyo3::ffi::Py_EQ => new_ref(py_bool(left == right)),
                pyo3::ffi::Py_NE => new_ref(py_bool(left != right)),
                _ => {
                    pyo3::ffi::PyErr_Format(
                        pyo3::ffi::PyExc_TypeError,
                        c"'%s' not supported between instances of '%.100s' and '%.100s'".as_ptr(),
                        COMPARISONS[op].2.as_ptr(),
                        type_name(left),
                        type_name(right),
                    );
                    std::ptr::null_mut()
                }
            };
        }
    }
    *depth += 1;
    Some(result)
}

/// The protocol methods whose slot functions compiled code goes around,
/// by index in [`SlotMethods`].
#[derive(Clone, Copy)]
enum Method {
    GetItem,
    SetItem,
    Call,
    Next,
    Contains,
    Len,
    Bool,
    Negative,
    Add,
    Subtract,
    Multiply,
    TrueDivide,
}

/// Their names, by [`Method`].
const METHOD_NAMES: [&CStr; 12] = [
    c"__getitem__",
    c"__setitem__",
    c"__call__",
    c"__next__",
    c"__contains__",
    c"__len__",
    c"__bool__",
    c"__neg__",
    c"__add__",
    c"__sub__",
    c"__mul__",
    c"__truediv__",
];

/// The interned names of the [`Method`]s, and a lookup cache for each as
/// [`Ready`]'s.
struct SlotMethods {
    names: [*mut PyObject; METHOD_NAMES.len()],
    last: [[AtomicUsize; 3]; METHOD_NAMES.len()],
}

// SAFETY: as for [`Ready`].
unsafe impl Send for SlotMethods {}
unsafe impl Sync for SlotMethods {}

/// [`SlotMethods`], made once (`None` if interning failed).
fn slot_methods() -> Option<&'static SlotMethods> {
    static TABLE: OnceLock<Option<SlotMethods>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            // SAFETY: the GIL is held.
            let names = METHOD_NAMES.map(|name| unsafe {
                pyo3::ffi::PyUnicode_InternFromString(name.as_ptr()).cast::<PyObject>()
            });
            names.iter().all(|n| !n.is_null()).then(|| SlotMethods {
                names,
                last: Default::default(),
            })
        })
        .as_ref()
}

/// `method` of the class of `args[0]`, run directly on `args` as the
/// helpers run a compiled function, when the class's slot for it (`slot`)
/// is CPython's slot function for a method written in Python
/// (`python_slot`, 0 if unknown) and the method is a plain function: its
/// result (a new reference, or NULL with an error). `None` (nothing done)
/// otherwise, or with the recursion limit near (where the general way
/// raises).
#[inline(always)]
unsafe fn run_slot_method<const N: usize>(
    ts: *mut PyThreadState,
    slot: usize,
    python_slot: usize,
    method: Method,
    args: [*mut PyObject; N],
) -> Option<*mut PyObject> {
    if !crate::hook::interpreter_entry_fits(ts) {
        return None;
    }
    let func = python_method(ob_type(args[0]), slot, python_slot, method)?;
    Some(call_function(ts, func, args))
}

/// `method` of class `tp`, borrowed, when the class's slot for it (`slot`)
/// is CPython's slot function for a method written in Python
/// (`python_slot`, 0 if unknown) and the method is a plain function;
/// `None` otherwise. Runs no Python code.
#[inline(always)]
unsafe fn python_method(
    tp: *mut PyTypeObject,
    slot: usize,
    python_slot: usize,
    method: Method,
) -> Option<*mut PyObject> {
    if !is_class(tp) || python_slot == 0 || slot != python_slot {
        return None;
    }
    let table = slot_methods()?;
    let m = method as usize;
    let func = lookup(&table.last[m], tp, table.names[m]);
    (!func.is_null() && is_plain_function(func)).then_some(func)
}

/// `container[sub]` (`PyObject_GetItem`) when `container`'s class defines
/// `__getitem__` in Python as a plain function: the method run directly,
/// as `slot_mp_subscript` would end up calling it (CPython's
/// `BINARY_SUBSCR_GETITEM`, which the interpreter does not specialize
/// while a frame evaluator is set). A new reference, or NULL with an
/// error; `None` (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_get_item(
    ts: *mut PyThreadState,
    container: *mut PyObject,
    sub: *mut PyObject,
) -> Option<*mut PyObject> {
    let slot = type_slot(
        container,
        off::TYPE_TP_AS_MAPPING,
        off::MAPPING_MP_SUBSCRIPT,
    );
    let python_slot = class_slots().mp_subscript;
    run_slot_method(ts, slot, python_slot, Method::GetItem, [container, sub])
}

/// The `__getitem__` that subscripting `container` runs, when its class
/// defines it in Python as a plain function (its `mp_subscript` is
/// `slot_mp_subscript`), borrowed: the class holds it while its version
/// stays (for inlining it, `hook::inline_slot_methods`). Runs no Python code.
///
/// # Safety
/// The GIL is held; `container` is a live object.
pub(crate) unsafe fn python_getitem_function(container: *mut PyObject) -> Option<*mut PyObject> {
    let slot = type_slot(
        container,
        off::TYPE_TP_AS_MAPPING,
        off::MAPPING_MP_SUBSCRIPT,
    );
    let python_slot = class_slots().mp_subscript;
    python_method(ob_type(container), slot, python_slot, Method::GetItem)
}

/// The method `left op right` runs (`op` a binary operator's `NB_*`
/// oparg, not an in-place one) when `left`'s class defines it in Python as
/// a plain function (its slot is CPython's `slot_nb_*` for it), borrowed:
/// the class holds it while its version stays (for inlining it where the
/// right operand is of the same class, whose reflected method is then not
/// tried: `hook::inline_slot_methods`). Runs no Python code.
pub(crate) unsafe fn python_binary_function(left: *mut PyObject, op: i64) -> Option<*mut PyObject> {
    let k = super::helpers::BINARY_SLOTS
        .iter()
        .position(|&(nb, _)| nb == op)?;
    let slot = type_slot(
        left,
        off::TYPE_TP_AS_NUMBER,
        super::helpers::BINARY_SLOTS[k].1,
    );
    let python_slot = class_slots().nb_binary[k];
    let method = [
        Method::Add,
        Method::Subtract,
        Method::Multiply,
        Method::TrueDivide,
    ][k];
    python_method(ob_type(left), slot, python_slot, method)
}

/// `container[sub] = value` (`PyObject_SetItem`) when `container`'s class
/// defines `__setitem__` in Python as a plain function: the method run
/// directly and its result released, as `slot_mp_ass_subscript` does. 0,
/// or -1 with an error; `None` (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_set_item(
    ts: *mut PyThreadState,
    container: *mut PyObject,
    sub: *mut PyObject,
    value: *mut PyObject,
) -> Option<i32> {
    let slot = type_slot(
        container,
        off::TYPE_TP_AS_MAPPING,
        off::MAPPING_MP_ASS_SUBSCRIPT,
    );
    let python_slot = class_slots().mp_ass_subscript;
    let args = [container, sub, value];
    let result = run_slot_method(ts, slot, python_slot, Method::SetItem, args)?;
    Some(release_status(result))
}

/// 0 for a call's result (released), -1 for NULL (an error): what a slot
/// returning a status makes of its method's result.
pub(super) unsafe fn release_status(result: *mut PyObject) -> i32 {
    if result.is_null() {
        return -1;
    }
    decref(result);
    0
}

/// The `__call__` method of `callable`'s class when the class defines it in
/// Python as a plain function (its `tp_call` is `slot_tp_call`), borrowed:
/// a call of `callable` is that function's call with `callable` first, as
/// `slot_tp_call` makes it (compiled code then enters it as it enters a
/// method, without `_PyObject_MakeTpCall`, the argument tuple
/// `slot_tp_call` packs and the frame evaluator's entry). `None` for any
/// other callable.
#[inline(always)]
pub(super) unsafe fn python_call(callable: *mut PyObject) -> Option<*mut PyObject> {
    let tp = ob_type(callable);
    let slot = field::<usize>(tp.cast(), off::TYPE_TP_CALL);
    let func = python_method(tp, slot, class_slots().tp_call, Method::Call)?;
    OPERATORS_CALLED.bump();
    Some(func)
}

/// `next(iter)` as a `FOR_ITER` asks it (`tp_iternext`) when `iter`'s class
/// defines `__next__` in Python as a plain function: the method run
/// directly, as `slot_tp_iternext` would end up calling it. A new
/// reference, or NULL with an error (`StopIteration` when exhausted, which
/// the loop clears); `None` (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_next(
    ts: *mut PyThreadState,
    iter: *mut PyObject,
) -> Option<*mut PyObject> {
    let slot = field::<usize>(ob_type(iter).cast(), off::TYPE_TP_ITERNEXT);
    run_slot_method(ts, slot, class_slots().tp_iternext, Method::Next, [iter])
}

/// `value in container` (`PySequence_Contains`) when `container`'s class
/// defines `__contains__` in Python as a plain function: the method run
/// directly and its result's truth taken, as `slot_sq_contains` does. 1, 0,
/// or -1 with an error; `None` (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_contains(
    ts: *mut PyThreadState,
    container: *mut PyObject,
    value: *mut PyObject,
) -> Option<i32> {
    let slot = type_slot(
        container,
        off::TYPE_TP_AS_SEQUENCE,
        off::SEQUENCE_SQ_CONTAINS,
    );
    let python_slot = class_slots().sq_contains;
    let args = [container, value];
    let result = run_slot_method(ts, slot, python_slot, Method::Contains, args)?;
    if result.is_null() {
        return Some(-1);
    }
    let truth = pyo3::ffi::PyObject_IsTrue(result.cast());
    decref(result);
    Some(truth)
}

/// `len(o)` (`PyObject_Size`) when `o`'s class defines `__len__` in Python
/// as a plain function: the method run directly and its result made a
/// length as `slot_sq_length` makes it. The length, or -1 with an error;
/// `None` (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_len(ts: *mut PyThreadState, o: *mut PyObject) -> Option<isize> {
    let slot = type_slot(o, off::TYPE_TP_AS_SEQUENCE, off::SEQUENCE_SQ_LENGTH);
    length_of(ts, o, slot)
}

/// `slot_sq_length(o)` (or `slot_mp_length`, the same function), when `o`'s
/// length slot `slot` is that and its class's `__len__` a plain function
/// (`None`, nothing done, otherwise): the method run and its result made a
/// length as that slot makes it (an index, not negative, fitting a
/// `Py_ssize_t`: its `ValueError` and `OverflowError` otherwise).
#[inline(always)]
unsafe fn length_of(ts: *mut PyThreadState, o: *mut PyObject, slot: usize) -> Option<isize> {
    let result = run_slot_method(ts, slot, class_slots().sq_length, Method::Len, [o])?;
    if result.is_null() {
        return Some(-1);
    }
    let index = pyo3::ffi::PyNumber_Index(result.cast()).cast::<PyObject>();
    decref(result);
    if index.is_null() {
        return Some(-1);
    }
    if long_is_negative(index) {
        decref(index);
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_ValueError,
            c"__len__() should return >= 0".as_ptr(),
        );
        return Some(-1);
    }
    let length = pyo3::ffi::PyNumber_AsSsize_t(index.cast(), pyo3::ffi::PyExc_OverflowError);
    decref(index);
    Some(length)
}

/// `PyObject_IsTrue(v)` for an instance of a class whose `nb_bool` is
/// `slot_nb_bool` with `__bool__` a plain function (the method run
/// directly: a bool, else `slot_nb_bool`'s `TypeError`), or that has no
/// `nb_bool` and whose `mp_length` (else `sq_length`) is `slot_sq_length`
/// with `__len__` a plain function (a length as [`python_len`] makes it,
/// true when positive), in `PyObject_IsTrue`'s order. 1, 0, or -1 with an
/// error; `None` (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_truth(ts: *mut PyThreadState, v: *mut PyObject) -> Option<i32> {
    let nb_bool = type_slot(v, off::TYPE_TP_AS_NUMBER, off::NUMBER_NB_BOOL);
    if nb_bool != 0 {
        let result = run_slot_method(ts, nb_bool, class_slots().nb_bool, Method::Bool, [v])?;
        if result.is_null() {
            return Some(-1);
        }
        let truth = if is_type(result, &raw mut PyBool_Type) {
            (result == py_true()) as i32
        } else {
            pyo3::ffi::PyErr_Format(
                pyo3::ffi::PyExc_TypeError,
                c"__bool__ should return bool, returned %s".as_ptr(),
                type_name(result),
            );
            -1
        };
        decref(result);
        return Some(truth);
    }
    let mut slot = type_slot(v, off::TYPE_TP_AS_MAPPING, off::MAPPING_MP_LENGTH);
    if slot == 0 {
        slot = type_slot(v, off::TYPE_TP_AS_SEQUENCE, off::SEQUENCE_SQ_LENGTH);
    }
    let length = length_of(ts, v, slot)?;
    Some(if length > 0 { 1 } else { length as i32 })
}

/// `-v` (`PyNumber_Negative`) when `v`'s class defines `__neg__` in Python
/// as a plain function: the method run directly, as `slot_nb_negative`
/// would end up calling it. A new reference, or NULL with an error; `None`
/// (nothing done) for anything else.
#[inline(always)]
pub(super) unsafe fn python_negative(
    ts: *mut PyThreadState,
    v: *mut PyObject,
) -> Option<*mut PyObject> {
    let slot = type_slot(v, off::TYPE_TP_AS_NUMBER, off::NUMBER_NB_NEGATIVE);
    run_slot_method(ts, slot, class_slots().nb_negative, Method::Negative, [v])
}
