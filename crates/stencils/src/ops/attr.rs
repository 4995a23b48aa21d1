//! `LOAD_GLOBAL`, `LOAD_ATTR`, `STORE_ATTR` and `DELETE_ATTR` with the
//! specializations whose guards read the inline caches (type versions, dict
//! key versions, indices) that the frontend copied into operands.

use crate::abi::*;
use crate::helpers::*;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::{DictValues, PyDictObject, PyModuleObject};
use jitsaw_cpython313::off;
use jitsaw_cpython313::shared::{
    AttrEntry, AttrKind, ATTR_ENTRIES, ATTR_NOT_SHARED, LOCAL_CACHED_NAME,
};

/// Pushes `res`, then NULL when the oparg's low bit asks for it.
macro_rules! push_res_maybe_null {
    ($f:ident, $sp:ident, $ts:ident, $res:expr, $with_null:expr) => {{
        *$sp = $res;
        if $with_null {
            *$sp.add(1) = core::ptr::null_mut();
            next!($f, $sp.add(2), $ts)
        }
        next!($f, $sp.add(1), $ts)
    }};
}

/// Replaces the owner by `attr` (borrowed: a reference is taken), pushing
/// NULL after it if the oparg asks for a method-call shape.
macro_rules! replace_owner {
    ($f:ident, $sp:ident, $ts:ident, $owner:expr, $attr:expr) => {
        replace_owner!($f, $sp, $ts, $owner, $attr, next)
    };
    // `$then`: how to go on (`next` or `jump`).
    ($f:ident, $sp:ident, $ts:ident, $owner:expr, $attr:expr, $then:ident) => {
        replace_owner!($f, $sp, $ts, $owner, $attr, $then, oparg() & 1 != 0)
    };
    // `$method`: whether a `NULL` goes above the attribute (a method
    // call's load), when the stencil knows it without the oparg.
    ($f:ident, $sp:ident, $ts:ident, $owner:expr, $attr:expr, $then:ident, $method:expr) => {
        replace_owner!($f, $sp, $ts, $owner, $attr, $then, $method, borrowed: false)
    };
    // `borrowed`: the owner was pushed without a reference
    // (`optimize::borrow`), so it is not released.
    ($f:ident, $sp:ident, $ts:ident, $owner:expr, $attr:expr, $then:ident, $method:expr,
     borrowed: $borrowed:literal) => {{
        let attr = $attr;
        incref(attr);
        if !$borrowed {
            decref($owner);
        }
        poke($sp, 1, attr);
        if $method {
            *$sp = core::ptr::null_mut();
            $then!($f, $sp.add(1), $ts)
        }
        $then!($f, $sp, $ts)
    }};
}

stencil!(fn _LOAD_GLOBAL(f, sp, ts) {
    let res = jitsaw_load_global(ts, f, oparg());
    if res.is_null() {
        error!(f, sp, ts)
    }
    push_res_maybe_null!(f, sp, ts, res, oparg() & 1 != 0)
});

stencil!(
    /// Operand: the globals' dict keys version.
    fn _GUARD_GLOBALS_VERSION(f, sp, ts) {
        let dict = (*f).f_globals;
        if !is_dict(dict) || (*(*dict.cast::<PyDictObject>()).ma_keys).dk_version != operand32() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the builtins' dict keys version.
    fn _GUARD_BUILTINS_VERSION(f, sp, ts) {
        let dict = (*f).f_builtins;
        if !is_dict(dict) || (*(*dict.cast::<PyDictObject>()).ma_keys).dk_version != operand32() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// On entry to code with globals burned in: deopts if the frame's
    /// globals are not the dict they came from (a code object shared by
    /// functions of different modules). Operand: that dict.
    fn _CHECK_GLOBALS(f, sp, ts) {
        if (*f).f_globals as u64 != operand() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_CHECK_GLOBALS` for the builtins, when builtins are burned in.
    fn _CHECK_BUILTINS(f, sp, ts) {
        if (*f).f_builtins as u64 != operand() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Before a burned-in module attribute (`math.pi`): exits (to the
    /// global's generic load) unless the module (the operand, a burned-in
    /// global) is still an exact module, whose attributes its dict holds.
    /// Its dict is watched; its class is not (assigning a module's
    /// `__class__` changes no dict).
    fn _CHECK_CONST_MODULE(f, sp, ts) {
        if !is_type(operand() as *mut PyObject, &raw mut PyModule_Type) {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Before a burned-in class attribute (`Color.RED`): `_CHECK_ATTR_CLASS`
    /// of a constant owner (the operand: a burned-in global or module
    /// attribute), the version in the oparg.
    fn _CHECK_CONST_TYPE_VERSION(f, sp, ts) {
        let owner = operand() as *mut PyObject;
        if !type_has(owner, jitsaw_cpython313::consts::TPFLAGS_TYPE_SUBCLASS)
            || type_version(owner.cast()) != oparg() as u32
        {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

/// The value at `index` of a unicode-keyed dict's entries.
#[inline(always)]
unsafe fn dict_value_at(dict: *mut PyObject, index: usize) -> *mut PyObject {
    (*dict_unicode_entries((*dict.cast::<PyDictObject>()).ma_keys).add(index)).me_value
}

stencil!(
    /// Operand: the entry index in the globals.
    fn _LOAD_GLOBAL_MODULE(f, sp, ts) {
        let res = dict_value_at((*f).f_globals, operand32() as usize);
        if res.is_null() {
            deopt!(f, sp, ts)
        }
        incref(res);
        push_res_maybe_null!(f, sp, ts, res, oparg() & 1 != 0)
    }
);

stencil!(
    /// Operand: the entry index in the builtins.
    fn _LOAD_GLOBAL_BUILTINS(f, sp, ts) {
        let res = dict_value_at((*f).f_builtins, operand32() as usize);
        if res.is_null() {
            deopt!(f, sp, ts)
        }
        incref(res);
        push_res_maybe_null!(f, sp, ts, res, oparg() & 1 != 0)
    }
);

stencil!(fn _LOAD_ATTR(f, sp, ts) {
    let owner = peek(sp, 1);
    let name = frame_name(f, oparg() >> 1);
    if oparg() & 1 != 0 {
        let mut attr = core::ptr::null_mut();
        if _PyObject_GetMethod(owner, name, &mut attr) != 0 {
            // An unbound method: call it with owner as self.
            poke(sp, 1, attr);
            *sp = owner;
        } else {
            decref(owner);
            if attr.is_null() {
                error!(f, sp.sub(1), ts)
            }
            poke(sp, 1, attr);
            *sp = core::ptr::null_mut();
        }
        next!(f, sp.add(1), ts)
    }
    let attr = PyObject_GetAttr(owner, name);
    decref(owner);
    if attr.is_null() {
        error!(f, sp.sub(1), ts)
    }
    poke(sp, 1, attr);
    next!(f, sp, ts)
});

/// The entry of a site's attribute cache (the operand) for `owner`'s type,
/// if it has one.
#[inline(always)]
unsafe fn cached_entry(owner: *mut PyObject) -> Option<&'static AttrEntry> {
    let entries = operand() as *const AttrEntry;
    let version = type_version(ob_type(owner));
    // Unused entries have version 0 and kind `Empty`, and entries for types
    // without a version version 0 and kind `Generic`: no path takes either.
    for i in 0..ATTR_ENTRIES {
        let e = &*entries.add(i);
        if e.version == version {
            return Some(e);
        }
    }
    None
}

/// Where `owner`'s member slot (`__slots__`) at byte offset `offset` is.
#[inline(always)]
unsafe fn slot_at(owner: *mut PyObject, offset: usize) -> *mut *mut PyObject {
    owner.cast::<u8>().add(offset).cast::<*mut PyObject>()
}

/// Stores `value` (its reference taken) into `slot` where that releases
/// nothing that could run code: the slot is empty or holds a value whose
/// release runs none (`releases_quietly`); whether it stored.
#[inline(always)]
unsafe fn store_slot_quietly(slot: *mut *mut PyObject, value: *mut PyObject) -> bool {
    let old = *slot;
    if !old.is_null() && !releases_quietly(old) {
        return false;
    }
    *slot = value;
    xdecref(old);
    true
}

/// The inline value or slot of `owner` that the entry for its type in
/// the site cache (the operand) names, borrowed, if the entry is one of an
/// inline value or a slot and the value is there.
#[inline(always)]
pub(super) unsafe fn cached_plain_value(owner: *mut PyObject) -> Option<*mut PyObject> {
    let e = cached_entry(owner)?;
    if e.kind == AttrKind::Slot {
        let attr = *slot_at(owner, e.index as usize);
        return (!attr.is_null()).then_some(attr);
    }
    let values = inline_values(owner);
    if e.kind == AttrKind::Value && (*values).valid != 0 && e.index != ATTR_NOT_SHARED {
        let attr = *(*values).values.as_ptr().add(e.index as usize);
        if !attr.is_null() {
            return Some(attr);
        }
    }
    None
}

/// The body of `_LOAD_ATTR_CACHED` (`$method` false) and
/// `_LOAD_ATTR_CACHED_METHOD` (true, oparg's low bit set): one stencil per
/// form, so that each site carries only its own paths.
macro_rules! load_attr_cached {
    ($f:ident, $sp:ident, $ts:ident, $method:literal) => {
        load_attr_cached!($f, $sp, $ts, $method, borrowed: false)
    };
    // `borrowed`: the owner was pushed without a reference
    // (`optimize::borrow`); a value read here does not release it, and it
    // gets one before anything else (which then owns it as usual).
    ($f:ident, $sp:ident, $ts:ident, $method:literal, borrowed: $borrowed:literal) => {{
        // The site's usual way comes first and ends the stencil's hot part
        // (`stencil-build`'s `JUMP_ENDS_HOT`): for a method call, a method no
        // instance attribute can hide; else an inline value. The rest is
        // laid out after it (cold). A method's way pushes the owner with
        // the reference it came with, so no method form borrows it.
        const { assert!(!($method && $borrowed)) };
        let owner = peek($sp, 1);
        let entry = cached_entry(owner);
        if let Some(e) = entry {
            if $method
                && e.kind == AttrKind::Method
                && match e.instance_attr_ruled_out(owner) {
                    Some(known) => known,
                    // Both kinds of type left keep a managed `__dict__`.
                    None => {
                        core::hint::cold_path();
                        let dict = managed_dict(owner);
                        !dict.is_null()
                            && jitsaw_dict_lacks_str(dict, frame_name($f, oparg() >> 1)) != 0
                    }
                }
            {
                let descr = e.descr();
                incref(descr);
                poke($sp, 1, descr);
                *$sp = owner;
                jump!($f, $sp.add(1), $ts)
            }
            if $method {
                core::hint::cold_path();
            }
            let values = inline_values(owner);
            let default = e.kind == AttrKind::ValueOrClassAttr;
            if (e.kind == AttrKind::Value || default)
                && (*values).valid != 0
                && e.index != ATTR_NOT_SHARED
            {
                let mut attr = *(*values).values.as_ptr().add(e.index as usize);
                if attr.is_null() && default {
                    attr = e.descr();
                }
                if !attr.is_null() {
                    replace_owner!($f, $sp, $ts, owner, attr, jump, $method, borrowed: $borrowed)
                }
            }
        }
        core::hint::cold_path();
        if $borrowed {
            incref(owner);
        }
        if let Some(e) = entry {
            if !$method && e.kind == AttrKind::Property {
                enter_if_inline!(
                    jitsaw_enter_property($ts, $f, $sp.sub(1), e.descr(), resume_address()),
                    $ts
                );
            }
        }
        let name = frame_name($f, oparg() >> 1);
        if jitsaw_load_attr_cached($sp.sub(1), name, operand() as *mut u8, $method as usize) != 0 {
            error!($f, $sp.sub(1), $ts)
        }
        if $method {
            next!($f, $sp.add(1), $ts)
        }
        next!($f, $sp, $ts)
    }};
}

stencil!(
    /// Operand: the site's cache. Inline values are read here (as
    /// `_LOAD_ATTR_INSTANCE_VALUE`, running no Python code but a dying
    /// owner's finalizer, as it), or the class attribute standing in for a
    /// missing one, and go on at the jump target, the next
    /// instruction, past the validity check that follows; a property's
    /// compiled getter is entered directly (`jitsaw_enter_property`) and
    /// returns to the next micro-op, the validity check. The rest, and
    /// filling, by `jitsaw_load_attr_cached`, whose one shared copy is
    /// kinder to the instruction cache than more code at every site.
    fn _LOAD_ATTR_CACHED(f, sp, ts) {
        load_attr_cached!(f, sp, ts, false)
    }
);

stencil!(
    /// `_LOAD_ATTR_CACHED` of an owner pushed without a reference (a
    /// local's: `self.x`).
    fn _LOAD_ATTR_CACHED_BORROWED(f, sp, ts) {
        load_attr_cached!(f, sp, ts, false, borrowed: true)
    }
);

stencil!(
    /// `_LOAD_ATTR_CACHED` of a method call's attribute (oparg's low bit):
    /// methods that no instance attribute can hide are found here too (as
    /// `_LOAD_ATTR_METHOD_WITH_VALUES` and `_NO_DICT`, running no code).
    fn _LOAD_ATTR_CACHED_METHOD(f, sp, ts) {
        load_attr_cached!(f, sp, ts, true)
    }
);

stencil!(
    /// Operand: the owner's expected type version.
    fn _GUARD_TYPE_VERSION(f, sp, ts) {
        if type_version(ob_type(peek(sp, 1))) != operand32() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(fn _CHECK_MANAGED_OBJECT_HAS_VALUES(f, sp, ts) {
    if (*inline_values(peek(sp, 1))).valid == 0 {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

replicated_stencil!(
    /// Operand: index in the object's inline values.
    fn _LOAD_ATTR_INSTANCE_VALUE(f, sp, ts) oparg & 1 in [0, 1] {
        let owner = peek(sp, 1);
        let attr = *(*inline_values(owner)).values.as_mut_ptr().add(operand32() as usize);
        if attr.is_null() {
            deopt!(f, sp, ts)
        }
        replace_owner!(f, sp, ts, owner, attr, next, oparg() & 1 != 0)
    }
);

stencil!(
    /// `_GUARD_TYPE_VERSION` of an owner pushed without a reference.
    fn _GUARD_TYPE_VERSION_BORROWED(f, sp, ts) {
        if type_version(ob_type(peek(sp, 1))) != operand32() as u32 {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_CHECK_MANAGED_OBJECT_HAS_VALUES` of an owner pushed without a
    /// reference.
    fn _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED(f, sp, ts) {
        if (*inline_values(peek(sp, 1))).valid == 0 {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

replicated_stencil!(
    /// `_LOAD_ATTR_INSTANCE_VALUE` of an owner pushed without a reference
    /// (a local's: `self.x`), which it therefore does not release.
    fn _LOAD_ATTR_INSTANCE_VALUE_BORROWED(f, sp, ts) oparg & 1 in [0, 1] {
        let owner = peek(sp, 1);
        let attr = *(*inline_values(owner)).values.as_mut_ptr().add(operand32() as usize);
        if attr.is_null() {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 1))
        }
        replace_owner!(f, sp, ts, owner, attr, next, oparg() & 1 != 0, borrowed: true)
    }
);

/// The instance attribute of `owner` that a `_LOAD_ATTR_INSTANCE_VALUE_LOCAL`
/// operand names (the owner's type version in bits 0-31, the value's index
/// in bits 32-47), when the owner's class has that version and its inline
/// values are valid and hold one there; else `None`.
#[inline(always)]
pub(super) unsafe fn instance_value_of(
    owner: *mut PyObject,
    operand: u64,
) -> Option<*mut PyObject> {
    if type_version(ob_type(owner)) != operand as u32 || (*inline_values(owner)).valid == 0 {
        return None;
    }
    let values = (*inline_values(owner)).values.as_mut_ptr();
    let attr = *values.add((operand >> 32) as u16 as usize);
    (!attr.is_null()).then_some(attr)
}

replicated_stencil!(
    /// `self.x`: `_LOAD_FAST_BORROW` of the local in the operand's bits
    /// 48-63, then `_GUARD_TYPE_VERSION_BORROWED` (the version in bits
    /// 0-31), `_CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED` and
    /// `_LOAD_ATTR_INSTANCE_VALUE_BORROWED` (the value's index in bits
    /// 32-47), in one (`optimize::fuse`): the owner is neither stored
    /// to the stack nor loaded back by each check. A check that fails
    /// pushes the local with a reference, as the load would have, and
    /// leaves the way each of them would.
    fn _LOAD_ATTR_INSTANCE_VALUE_LOCAL(f, sp, ts) oparg & 1 in [0, 1] {
        let owner = *frame_local(f, (operand() >> 48) as usize);
        if let Some(attr) = instance_value_of(owner, operand()) {
            incref(attr);
            push_res_maybe_null!(f, sp, ts, attr, oparg() & 1 != 0)
        }
        core::hint::cold_path();
        incref(owner);
        *sp = owner;
        deopt!(f, sp.add(1), ts)
    }
);

stencil!(
    /// `self.x` in an inlined body (oparg: the local), through the site's
    /// cache (the operand; the attribute's name waits in the cache line
    /// after it), so that receivers of several classes take the body: an
    /// inline value or a slot is read here; other entries that read the attribute
    /// without running code (`AttrEntry::plain_value`), and a type the
    /// cache lacks, which it classifies, by `jitsaw_load_attr_pure`.
    /// Anything else pushes the local with a reference and leaves, as
    /// `_LOAD_ATTR_INSTANCE_VALUE_LOCAL` does.
    fn _LOAD_ATTR_LOCAL_CACHED(f, sp, ts) {
        let owner = *frame_local(f, oparg() as usize);
        // An inline value here; any other kind of entry by the helper.
        if let Some(attr) = cached_plain_value(owner) {
            incref(attr);
            *sp = attr;
            next!(f, sp.add(1), ts)
        }
        core::hint::cold_path();
        let cache = operand() as *mut u8;
        let name = *cache.add(LOCAL_CACHED_NAME).cast::<*mut PyObject>();
        let attr = jitsaw_load_attr_pure(owner, name, cache);
        if !attr.is_null() {
            *sp = attr;
            next!(f, sp.add(1), ts)
        }
        incref(owner);
        *sp = owner;
        deopt!(f, sp.add(1), ts)
    }
);

stencil!(
    /// Operand: the module dict's keys version.
    fn _CHECK_ATTR_MODULE(f, sp, ts) {
        let owner = peek(sp, 1);
        if !is_type(owner, &raw mut PyModule_Type) {
            deopt!(f, sp, ts)
        }
        let dict = (*owner.cast::<PyModuleObject>()).md_dict;
        if (*(*dict).ma_keys).dk_version != operand32() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the entry index in the module's dict.
    fn _LOAD_ATTR_MODULE(f, sp, ts) {
        let owner = peek(sp, 1);
        let dict = (*owner.cast::<PyModuleObject>()).md_dict;
        let attr = dict_value_at(dict.cast(), operand32() as usize);
        if attr.is_null() {
            deopt!(f, sp, ts)
        }
        replace_owner!(f, sp, ts, owner, attr)
    }
);

/// `_CHECK_ATTR_WITH_HINT`; `borrowed` as in `replace_owner`.
macro_rules! check_attr_with_hint {
    ($f:ident, $sp:ident, $ts:ident, borrowed: $borrowed:literal) => {{
        if managed_dict(peek($sp, 1)).is_null() {
            deopt_borrowed!($f, $sp, $ts; $borrowed => peek($sp, 1))
        }
        next!($f, $sp, $ts)
    }};
}

/// `_LOAD_ATTR_WITH_HINT` (operand: the attribute's name, burned in above
/// the hinted entry index in the object's dict, 16 bits); `borrowed` as in
/// `replace_owner`. A dict whose keys are not all `str`s (where CPython
/// reads the general entries) deopts, so the common case carries one path.
macro_rules! load_attr_with_hint {
    ($f:ident, $sp:ident, $ts:ident, $method:expr, borrowed: $borrowed:literal) => {{
        let owner = peek($sp, 1);
        let keys = (*managed_dict(owner)).ma_keys;
        let hint = (operand() & 0xFFFF) as usize;
        let name = (operand() >> 16) as *mut PyObject;
        if hint >= (*keys).dk_nentries as usize || !dict_keys_is_unicode(keys) {
            deopt_borrowed!($f, $sp, $ts; $borrowed => peek($sp, 1))
        }
        let ep = dict_unicode_entries(keys).add(hint);
        let attr = (*ep).me_value;
        if (*ep).me_key != name || attr.is_null() {
            deopt_borrowed!($f, $sp, $ts; $borrowed => peek($sp, 1))
        }
        replace_owner!($f, $sp, $ts, owner, attr, next, $method, borrowed: $borrowed)
    }};
}

/// `_LOAD_ATTR_SLOT` (operand: the slot's byte offset in the object);
/// `$method` and `borrowed` as in `replace_owner`.
macro_rules! load_attr_slot {
    ($f:ident, $sp:ident, $ts:ident, $method:expr, borrowed: $borrowed:literal) => {{
        let owner = peek($sp, 1);
        let attr = *slot_at(owner, operand32() as usize);
        if attr.is_null() {
            deopt_borrowed!($f, $sp, $ts; $borrowed => peek($sp, 1))
        }
        replace_owner!($f, $sp, $ts, owner, attr, next, $method, borrowed: $borrowed)
    }};
}

stencil!(fn _CHECK_ATTR_WITH_HINT(f, sp, ts) {
    check_attr_with_hint!(f, sp, ts, borrowed: false)
});

stencil!(
    /// `_CHECK_ATTR_WITH_HINT` of an owner pushed without a reference.
    fn _CHECK_ATTR_WITH_HINT_BORROWED(f, sp, ts) {
        check_attr_with_hint!(f, sp, ts, borrowed: true)
    }
);

replicated_stencil!(
    /// Operand: the attribute's name above the hinted entry index in the
    /// object's dict (16 bits).
    fn _LOAD_ATTR_WITH_HINT(f, sp, ts) oparg & 1 in [0, 1] {
        load_attr_with_hint!(f, sp, ts, oparg() & 1 != 0, borrowed: false)
    }
);

replicated_stencil!(
    /// `_LOAD_ATTR_WITH_HINT` of an owner pushed without a reference.
    fn _LOAD_ATTR_WITH_HINT_BORROWED(f, sp, ts) oparg & 1 in [0, 1] {
        load_attr_with_hint!(f, sp, ts, oparg() & 1 != 0, borrowed: true)
    }
);

replicated_stencil!(
    /// Operand: the slot's byte offset in the object.
    fn _LOAD_ATTR_SLOT(f, sp, ts) oparg & 1 in [0, 1] {
        load_attr_slot!(f, sp, ts, oparg() & 1 != 0, borrowed: false)
    }
);

replicated_stencil!(
    /// `_LOAD_ATTR_SLOT` of an owner pushed without a reference.
    fn _LOAD_ATTR_SLOT_BORROWED(f, sp, ts) oparg & 1 in [0, 1] {
        load_attr_slot!(f, sp, ts, oparg() & 1 != 0, borrowed: true)
    }
);

stencil!(
    /// Operand: the class's expected type version.
    fn _CHECK_ATTR_CLASS(f, sp, ts) {
        let owner = peek(sp, 1);
        if !type_has(owner, jitsaw_cpython313::consts::TPFLAGS_TYPE_SUBCLASS)
            || type_version(owner.cast()) != operand32() as u32
        {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the class attribute (kept alive by the type's version).
    fn _LOAD_ATTR_CLASS(f, sp, ts) {
        replace_owner!(f, sp, ts, peek(sp, 1), operand() as *mut PyObject)
    }
);

stencil!(fn _GUARD_DORV_VALUES_INST_ATTR_FROM_DICT(f, sp, ts) {
    if (*inline_values(peek(sp, 1))).valid == 0 {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(
    /// Operand: the expected version of the type's cached shared keys.
    fn _GUARD_KEYS_VERSION(f, sp, ts) {
        let keys = field::<*mut jitsaw_cpython313::layout::DictKeys>(
            ob_type(peek(sp, 1)).cast(),
            off::HEAPTYPE_HT_CACHED_KEYS,
        );
        if (*keys).dk_version != operand32() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

/// Pushes the method descriptor under its `self` (the owner, kept).
macro_rules! push_method {
    ($f:ident, $sp:ident, $ts:ident) => {{
        let owner = peek($sp, 1);
        poke($sp, 1, new_ref(operand() as *mut PyObject));
        *$sp = owner;
        next!($f, $sp.add(1), $ts)
    }};
}

stencil!(
    /// Operand: the method descriptor.
    fn _LOAD_ATTR_METHOD_WITH_VALUES(f, sp, ts) {
        push_method!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the method descriptor.
    fn _LOAD_ATTR_METHOD_NO_DICT(f, sp, ts) {
        push_method!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the method descriptor.
    fn _LOAD_ATTR_METHOD_LAZY_DICT(f, sp, ts) {
        push_method!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the dict pointer's offset from the managed-dict slot.
    fn _CHECK_ATTR_METHOD_LAZY_DICT(f, sp, ts) {
        let owner = peek(sp, 1).cast::<u8>();
        let slot = owner
            .offset(off::MANAGED_DICT_OFFSET as isize)
            .add(operand32() as usize)
            .cast::<*mut PyObject>();
        if !(*slot).is_null() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the class attribute that replaces the instance.
    fn _LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES(f, sp, ts) {
        let owner = peek(sp, 1);
        decref(owner);
        poke(sp, 1, new_ref(operand() as *mut PyObject));
        next!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the class attribute that replaces the instance.
    fn _LOAD_ATTR_NONDESCRIPTOR_NO_DICT(f, sp, ts) {
        let owner = peek(sp, 1);
        decref(owner);
        poke(sp, 1, new_ref(operand() as *mut PyObject));
        next!(f, sp, ts)
    }
);

stencil!(fn _STORE_ATTR(f, sp, ts) {
    let (v, owner) = (peek(sp, 2), peek(sp, 1));
    let err = PyObject_SetAttr(owner, frame_name(f, oparg()), v);
    decref(v);
    decref(owner);
    if err != 0 {
        error!(f, sp.sub(2), ts)
    }
    next!(f, sp.sub(2), ts)
});

/// `_STORE_ATTR_INSTANCE_VALUE`'s store of `value` (a reference the
/// values take) at `index` of an object's inline values.
#[inline(always)]
unsafe fn store_inline_value(values: *mut DictValues, index: usize, value: *mut PyObject) {
    let slot = (*values).values.as_mut_ptr().add(index);
    let old = *slot;
    *slot = value;
    if old.is_null() {
        dict_values_add_to_insertion_order(values, index);
    } else {
        decref(old);
    }
}

/// `_STORE_ATTR_CACHED`; `borrowed` as in `load_attr_cached`. An inline
/// value's store comes first and ends the hot part (`JUMP_ENDS_HOT`), the
/// rest is laid out after it.
macro_rules! store_attr_cached {
    ($f:ident, $sp:ident, $ts:ident, borrowed: $borrowed:literal) => {{
        let (value, owner) = (peek($sp, 2), peek($sp, 1));
        if let Some(e) = cached_entry(owner) {
            let values = inline_values(owner);
            if e.kind == AttrKind::Value
                && (*values).valid != 0
                && e.index != ATTR_NOT_SHARED
                && managed_dict(owner).is_null()
            {
                store_inline_value(values, e.index as usize, value);
                if !$borrowed {
                    decref(owner);
                }
                jump!($f, $sp.sub(2), $ts)
            }
            // As `STORE_ATTR_WITH_HINT`, into an instance's `__dict__` at
            // the entry the name was last found at (go's squares).
            core::hint::cold_path();
            let dict = e.instance_dict(owner);
            if !dict.is_null() {
                let name = frame_name($f, oparg());
                let old = jitsaw_dict_replace_at_hint($ts, dict, e.aux, name, value);
                if !old.is_null() {
                    decref(old);
                    if !$borrowed {
                        decref(owner);
                    }
                    jump!($f, $sp.sub(2), $ts)
                }
            }
        }
        core::hint::cold_path();
        if $borrowed {
            incref(owner);
        }
        if jitsaw_store_attr_cached(
            $ts,
            $sp.sub(2),
            frame_name($f, oparg()),
            operand() as *mut u8,
        ) != 0
        {
            error!($f, $sp.sub(2), $ts)
        }
        next!($f, $sp.sub(2), $ts)
    }};
}

stencil!(
    /// Operand: the site's cache. Inline values are stored here (as
    /// `_STORE_ATTR_INSTANCE_VALUE`, and going on at the jump target as
    /// `_LOAD_ATTR_CACHED` does); the rest, and filling, by
    /// `jitsaw_store_attr_cached`.
    fn _STORE_ATTR_CACHED(f, sp, ts) {
        store_attr_cached!(f, sp, ts, borrowed: false)
    }
);

stencil!(
    /// `_STORE_ATTR_CACHED` to an owner pushed without a reference (a
    /// local's: `self.x = v`).
    fn _STORE_ATTR_CACHED_BORROWED(f, sp, ts) {
        store_attr_cached!(f, sp, ts, borrowed: true)
    }
);

stencil!(fn _DELETE_ATTR(f, sp, ts) {
    let owner = peek(sp, 1);
    let err = PyObject_SetAttr(owner, frame_name(f, oparg()), core::ptr::null_mut());
    decref(owner);
    if err != 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _GUARD_DORV_NO_DICT(f, sp, ts) {
    let owner = peek(sp, 1);
    if !managed_dict(owner).is_null() || (*inline_values(owner)).valid == 0 {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(
    /// Operand: index in the object's inline values.
    fn _STORE_ATTR_INSTANCE_VALUE(f, sp, ts) {
        let (value, owner) = (peek(sp, 2), peek(sp, 1));
        store_inline_value(inline_values(owner), operand32() as usize, value);
        decref(owner);
        next!(f, sp.sub(2), ts)
    }
);

/// The store of `_STORE_ATTR_LOCAL_CACHED` and `_STORE_ATTR_SWAPPED_CACHED`
/// of `$value` into `$owner`'s attribute through the site's cache (the
/// operand; the name waits in the cache line after it), so that owners of
/// several classes take the body: an inline value or a slot is stored
/// here, a `__dict__`'s value or a type the cache lacks (classified) by
/// `jitsaw_store_attr_pure`; only over a missing value or one whose
/// release runs no code (`releases_quietly`). Evaluates to whether it
/// stored (the value's reference taken).
macro_rules! store_attr_pure_cached {
    ($ts:ident, $owner:expr, $value:expr) => {{
        let (owner, value) = ($owner, $value);
        let mut stored = false;
        if let Some(e) = cached_entry(owner) {
            let values = inline_values(owner);
            if e.kind == AttrKind::Slot {
                stored = store_slot_quietly(slot_at(owner, e.index as usize), value);
            } else if e.kind == AttrKind::Value
                && (*values).valid != 0
                && e.index != ATTR_NOT_SHARED
                && managed_dict(owner).is_null()
            {
                let slot = (*values).values.as_mut_ptr().add(e.index as usize);
                let old = *slot;
                if !old.is_null() && releases_quietly(old) {
                    *slot = value;
                    decref(old);
                    stored = true;
                }
            }
        }
        if !stored {
            core::hint::cold_path();
            let cache = operand() as *mut u8;
            let name = *cache.add(LOCAL_CACHED_NAME).cast::<*mut PyObject>();
            stored = jitsaw_store_attr_pure($ts, owner, name, cache, value) != 0;
        }
        stored
    }};
}

stencil!(
    /// `local.x = v` in an inlined body whose exits materialize its frame
    /// (`optimize::inline`; oparg: the local), as `store_attr_pure_cached`
    /// stores. Anything else pushes the local with a reference and leaves,
    /// as its `LOAD_FAST` would have pushed it.
    fn _STORE_ATTR_LOCAL_CACHED(f, sp, ts) {
        let owner = *frame_local(f, oparg() as usize);
        if store_attr_pure_cached!(ts, owner, peek(sp, 1)) {
            next!(f, sp.sub(1), ts)
        }
        incref(owner);
        *sp = owner;
        deopt!(f, sp.add(1), ts)
    }
);

stencil!(
    /// `SWAP 2; STORE_ATTR` (`owner.x += v`, the owner below the value) in
    /// an inlined body whose exits materialize its frame, as
    /// `store_attr_pure_cached` stores, of an owner something else still
    /// holds. Anything else leaves before the `SWAP`.
    fn _STORE_ATTR_SWAPPED_CACHED(f, sp, ts) {
        let owner = peek(sp, 2);
        if refcnt(owner) == 1 || !store_attr_pure_cached!(ts, owner, peek(sp, 1)) {
            deopt!(f, sp, ts)
        }
        decref_no_dealloc(owner);
        next!(f, sp.sub(2), ts)
    }
);

stencil!(
    /// `_STORE_ATTR_INSTANCE_VALUE` in an inlined body whose exits
    /// materialize its frame (`optimize::inline`), where nothing may run
    /// code: only over a missing value or one whose release, now or
    /// whenever its other references go, runs none (`releases_quietly`),
    /// and of an owner something else still holds. Anything else leaves
    /// before storing (the interpreter stores, in the callee's frame).
    fn _STORE_ATTR_INSTANCE_VALUE_PURE(f, sp, ts) {
        let (value, owner) = (peek(sp, 2), peek(sp, 1));
        let values = inline_values(owner);
        let old = *(*values).values.as_ptr().add(operand32() as usize);
        if (!old.is_null() && !releases_quietly(old)) || refcnt(owner) == 1 {
            deopt!(f, sp, ts)
        }
        let slot = (*values).values.as_mut_ptr().add(operand32() as usize);
        *slot = value;
        if old.is_null() {
            dict_values_add_to_insertion_order(values, operand32() as usize);
        } else {
            decref(old);
        }
        decref_no_dealloc(owner);
        next!(f, sp.sub(2), ts)
    }
);

stencil!(
    /// `_STORE_ATTR_SLOT` in an inlined body whose exits materialize its
    /// frame, over a value as `_STORE_ATTR_INSTANCE_VALUE_PURE` stores.
    fn _STORE_ATTR_SLOT_PURE(f, sp, ts) {
        let (value, owner) = (peek(sp, 2), peek(sp, 1));
        if refcnt(owner) == 1 || !store_slot_quietly(slot_at(owner, operand32() as usize), value) {
            deopt!(f, sp, ts)
        }
        decref_no_dealloc(owner);
        next!(f, sp.sub(2), ts)
    }
);

stencil!(
    /// `_GUARD_DORV_NO_DICT` of an owner pushed without a reference.
    fn _GUARD_DORV_NO_DICT_BORROWED(f, sp, ts) {
        let owner = peek(sp, 1);
        if !managed_dict(owner).is_null() || (*inline_values(owner)).valid == 0 {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// At the end of a fallback, before code that relies on class checks
    /// of local `oparg & 0xffff`'s object made before the fallback's
    /// Python code ran (`optimize::classes`): leaves for the interpreter,
    /// at the next instruction, unless its type version is still the
    /// operand, its attributes still inline values (`CLASS_CHECK_VALUES`)
    /// and it still has no `__dict__` (`CLASS_CHECK_NO_DICT`).
    fn _CHECK_LOCAL_CLASS(f, sp, ts) {
        use jitsaw_cpython313::shared::{CLASS_CHECK_NO_DICT, CLASS_CHECK_VALUES};
        let o = *frame_local(f, (oparg() & 0xffff) as usize);
        if o.is_null() || type_version(ob_type(o)) != operand32() as u32 {
            deopt!(f, sp, ts)
        }
        let values = (CLASS_CHECK_VALUES | CLASS_CHECK_NO_DICT) as usize;
        if oparg() & values != 0 && (*inline_values(o)).valid == 0 {
            deopt!(f, sp, ts)
        }
        if oparg() & CLASS_CHECK_NO_DICT as usize != 0 && !managed_dict(o).is_null() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_STORE_ATTR_INSTANCE_VALUE` to an owner pushed without a reference
    /// (a local's: `self.x = v`), which it therefore does not release.
    fn _STORE_ATTR_INSTANCE_VALUE_BORROWED(f, sp, ts) {
        let (value, owner) = (peek(sp, 2), peek(sp, 1));
        store_inline_value(inline_values(owner), operand32() as usize, value);
        next!(f, sp.sub(2), ts)
    }
);

/// `_STORE_ATTR_SLOT` (operand: the slot's byte offset in the object);
/// `borrowed` as in `replace_owner`.
macro_rules! store_attr_slot {
    ($f:ident, $sp:ident, $ts:ident, borrowed: $borrowed:literal) => {{
        let (value, owner) = (peek($sp, 2), peek($sp, 1));
        let slot = slot_at(owner, operand32() as usize);
        let old = *slot;
        *slot = value;
        xdecref(old);
        if !$borrowed {
            decref(owner);
        }
        next!($f, $sp.sub(2), $ts)
    }};
}

stencil!(
    /// Operand: the slot's byte offset in the object.
    fn _STORE_ATTR_SLOT(f, sp, ts) {
        store_attr_slot!(f, sp, ts, borrowed: false)
    }
);

stencil!(
    /// `_STORE_ATTR_SLOT` to an owner pushed without a reference.
    fn _STORE_ATTR_SLOT_BORROWED(f, sp, ts) {
        store_attr_slot!(f, sp, ts, borrowed: true)
    }
);

stencil!(fn _STORE_GLOBAL(f, sp, ts) {
    let v = peek(sp, 1);
    let err = PyDict_SetItem((*f).f_globals, frame_name(f, oparg()), v);
    decref(v);
    if err != 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _DELETE_GLOBAL(f, sp, ts) {
    let name = frame_name(f, oparg());
    let err = PyDict_Pop((*f).f_globals, name, core::ptr::null_mut());
    if err < 0 {
        error!(f, sp, ts)
    }
    if err == 0 {
        jitsaw_name_error(ts, name);
        error!(f, sp, ts)
    }
    next!(f, sp, ts)
});
