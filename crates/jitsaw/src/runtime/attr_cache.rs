//! Per-site attribute caches for `_LOAD_ATTR_CACHED` (and `_METHOD`) and
//! `_STORE_ATTR_CACHED`: what CPython's specializer would learn about one
//! type, remembered for the last few types a site saw.
//!
//! CPython specializes an attribute site for one type and, when another
//! type comes, falls back and later re-specializes; its specializer is not
//! exported, so compiled code could only take the full generic lookup. An
//! entry here records, for one type version, where the attribute is (an
//! inline value's index, a slot's offset, or the class attribute itself)
//! under the same conditions CPython's specializer checks; the type version
//! vouches for everything the type decides (its MRO, its descriptors, its
//! `__getattribute__`), and the entry's kind says what must still be checked
//! on the instance. Anything else takes the generic path, which is the
//! interpreter's own code.

use super::Counter;
use crate::codegen::SiteCache;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{
    DictKeys, DictValues, PyDictObject, PyObject, PyThreadState, PyTypeObject,
};
use jitsaw_cpython313::shared::{
    AttrCheck as Check, AttrEntry as Entry, AttrKind as Kind, ATTR_ENTRIES,
    ATTR_NOT_SHARED as NOT_SHARED,
};
use jitsaw_cpython313::{consts, off};

/// Entries learned by classifying a type (a site meeting a type version
/// that neither it nor [`SHARED`] knows).
pub static FILLED: Counter = Counter::new();
/// Attribute accesses through a cache that took the generic path (the
/// stencils answer the most common hits without counting them).
pub static GENERIC: Counter = Counter::new();

/// `index` of a [`Kind::OfClass`] entry: the class attribute is the
/// answer (not a descriptor, or one whose `__get__` answers itself for the
/// class).
const OF_CLASS_ITSELF: u16 = 0;
/// `index` of a [`Kind::OfClass`] entry: what the class attribute's
/// `__get__` answers for the class, asked at each load.
const OF_CLASS_ASK: u16 = 1;
/// `index` of a [`Kind::OfClass`] entry: the class attribute is an instance
/// of a mutable class, which has a `__get__` or not as of each load.
const OF_CLASS_ASK_IF_DESCRIPTOR: u16 = 2;

/// A site's cache: the most recently filled entry first.
#[repr(C)]
struct AttrCache {
    entries: [Entry; ATTR_ENTRIES],
}

// A site's cache lives in a zeroed `SiteCache`: an `AttrCache` of empty
// entries (`Kind::Empty` is 0), four 16-byte entries to a cache line.
const _: () = assert!(size_of::<AttrCache>() <= size_of::<SiteCache>());
const _: () = assert!(size_of::<Entry>() == 16 && Kind::Empty as u8 == 0);

/// The type's shared keys (`ht_cached_keys`) for instances with inline
/// values.
#[inline(always)]
unsafe fn shared_keys(tp: *mut PyTypeObject) -> *mut DictKeys {
    field::<*mut DictKeys>(tp.cast(), off::HEAPTYPE_HT_CACHED_KEYS)
}

/// Whether an instance with inline values still keeps its attributes
/// there (no `__dict__` took them over).
#[inline(always)]
unsafe fn values_valid(owner: *mut PyObject) -> bool {
    (*inline_values(owner)).valid != 0
}

/// A `PyGetSetDef`'s `get` (never NULL in an [`Kind::GetSet`] entry).
type Getter = unsafe extern "C" fn(*mut PyObject, *mut std::ffi::c_void) -> *mut PyObject;

/// A type's `tp_descr_get` (never NULL where [`ask_descriptor`] reads it).
pub(crate) type DescrGet =
    unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject;

/// What the descriptor `descr`'s `__get__` answers for `obj` (NULL when
/// read from the class `tp` itself), as the generic lookups ask it. The
/// class holds the descriptor only until `__get__` changes the class: it is
/// held across the call, as those lookups hold it.
unsafe fn ask_descriptor(descr: *mut PyObject, obj: *mut PyObject, tp: *mut PyObject) -> Found {
    let get = field::<DescrGet>(ob_type(descr).cast(), off::TYPE_TP_DESCR_GET);
    incref(descr);
    let got = get(descr, obj, tp);
    decref(descr);
    if got.is_null() {
        Found::Error
    } else {
        Found::New(got)
    }
}

/// What a lookup found: a borrowed attribute, a new reference from a
/// `__dict__`, or an error (set) from a `__dict__` lookup.
enum Found {
    Borrowed(*mut PyObject),
    New(*mut PyObject),
    Error,
}

/// The instance's `__dict__` value for `name`, as the generic lookup takes
/// it when the type has no attribute of the name. None if absent (or no
/// dict).
#[inline(always)]
unsafe fn dict_value(owner: *mut PyObject, name: *mut PyObject) -> Option<Found> {
    dict_lookup(managed_dict(owner), name)
}

/// [`dict_value`] in `dict` (NULL: no dict).
#[inline(always)]
unsafe fn dict_lookup(dict: *mut PyDictObject, name: *mut PyObject) -> Option<Found> {
    if dict.is_null() {
        return None;
    }
    let mut value = std::ptr::null_mut();
    match PyDict_GetItemRef(dict.cast(), name, &mut value) {
        1 => Some(Found::New(value)),
        0 => None,
        _ => Some(Found::Error),
    }
}

/// Whether the instance has no attribute `name` of its own (so the class's
/// is the answer), per the entry's check; an error (set) from a `__dict__`
/// lookup is an `Err`.
#[inline(always)]
unsafe fn no_instance_attr(
    owner: *mut PyObject,
    e: &Entry,
    name: *mut PyObject,
) -> Result<bool, ()> {
    let dict = if e.check == Check::Offset {
        let dict = field::<*mut PyDictObject>(owner.cast(), e.index as usize);
        if dict.is_null() {
            // No `__dict__` made yet: no attribute of its own.
            return Ok(true);
        }
        dict
    } else {
        if let Some(known) = e.instance_attr_ruled_out(owner) {
            return Ok(known);
        }
        managed_dict(owner)
    };
    if dict.is_null() {
        // Values not current and no dict: not a state to guess about.
        return Ok(false);
    }
    if dict_lacks_str(dict, name) {
        return Ok(true);
    }
    // Keys other than exact strs compare by running code (`__eq__`), which
    // the generic path's own lookup will run: once, as the interpreter.
    if !dict_keys_is_unicode((*dict).ma_keys) {
        return Ok(false);
    }
    match PyDict_Contains(dict.cast(), name) {
        0 => Ok(true),
        1 => Ok(false),
        _ => Err(()),
    }
}

/// The attribute an entry finds on `owner` (of the entry's type version),
/// and whether it is a method to call with `owner` as self; None when the
/// generic path must answer.
#[inline(always)]
unsafe fn find(
    owner: *mut PyObject,
    e: &Entry,
    name: *mut PyObject,
    method: bool,
) -> Option<(Found, bool)> {
    let found = match e.kind {
        Kind::Value if values_valid(owner) => {
            if e.index == NOT_SHARED {
                return None;
            }
            Found::Borrowed(
                *(*inline_values(owner))
                    .values
                    .as_ptr()
                    .add(e.index as usize),
            )
        }
        Kind::Value | Kind::DictValue => {
            // As `_LOAD_ATTR_WITH_HINT`, at the entry the name was last
            // found at; else a lookup.
            let dict = entry_dict(owner, e);
            let at_hint = if dict.is_null() {
                std::ptr::null_mut()
            } else {
                dict_value_at_hint(dict, e.aux, name)
            };
            if at_hint.is_null() {
                dict_lookup(dict, name)?
            } else {
                Found::Borrowed(at_hint)
            }
        }
        // While the values are current, a missing value is a missing
        // attribute (the name is among the shared keys); else the
        // `__dict__` that took them over tells.
        Kind::ValueOrClassAttr if values_valid(owner) => {
            let value = *(*inline_values(owner))
                .values
                .as_ptr()
                .add(e.index as usize);
            Found::Borrowed(if value.is_null() { e.descr() } else { value })
        }
        Kind::ValueOrClassAttr => {
            // Keys other than exact strs compare by running code, which the
            // generic path's own lookup will run: once, as the interpreter.
            let dict = managed_dict(owner);
            if dict.is_null() || !dict_keys_is_unicode((*dict).ma_keys) {
                return None;
            }
            dict_value(owner, name).unwrap_or(Found::Borrowed(e.descr()))
        }
        Kind::OfClass | Kind::GetSet
            if e.check == Check::Class && !metaclass_agrees(owner, e, name) =>
        {
            return None
        }
        Kind::DunderClass => Found::Borrowed(ob_type(owner).cast()),
        Kind::OfClass if e.index == OF_CLASS_ITSELF => Found::Borrowed(e.descr()),
        Kind::OfClass
            if e.index == OF_CLASS_ASK_IF_DESCRIPTOR
                && field::<usize>(ob_type(e.descr()).cast(), off::TYPE_TP_DESCR_GET) == 0 =>
        {
            Found::Borrowed(e.descr())
        }
        Kind::OfClass => {
            let attr = e.descr();
            // A classmethod called from its class (`Strength.weaker(a,
            // b)`): its function, with the class as `self`, as the bound
            // method its `__get__` makes would call it (read again each
            // time: `__init__` can replace it in place).
            if method && ob_type(attr) == &raw mut PyClassMethod_Type {
                let function = classmethod_function(attr);
                if !function.is_null() {
                    return Some((Found::Borrowed(function), true));
                }
            }
            ask_descriptor(attr, std::ptr::null_mut(), owner)
        }
        Kind::Slot => Found::Borrowed(
            *owner
                .cast::<u8>()
                .add(e.index as usize)
                .cast::<*mut PyObject>(),
        ),
        Kind::Method | Kind::ClassAttr => match no_instance_attr(owner, e, name) {
            // A `__dict__` lookup can run Python code (keys' `__eq__`),
            // which could have changed the class and freed the attribute.
            Ok(true) if type_version(ob_type(owner)) == e.version => Found::Borrowed(e.descr()),
            Ok(_) => return None,
            Err(()) => Found::Error,
        },
        // What the generic lookup would call once the instance has no
        // attribute of the name (a method bound to the instance, a
        // classmethod's bound to its class), without the lookups.
        Kind::BoundMethod => match no_instance_attr(owner, e, name) {
            Ok(true) if type_version(ob_type(owner)) == e.version => {
                ask_descriptor(e.descr(), owner, ob_type(owner).cast())
            }
            Ok(_) => return None,
            Err(()) => Found::Error,
        },
        Kind::ModuleAttr => {
            let dict = module_dict(owner);
            if dict.is_null() {
                return None;
            }
            let at_hint = dict_value_at_hint(dict, e.aux, name);
            if !at_hint.is_null() {
                Found::Borrowed(at_hint)
            } else {
                let mut value = std::ptr::null_mut();
                match PyDict_GetItemRef(dict.cast(), name, &mut value) {
                    1 => Found::New(value),
                    0 => return None,
                    _ => Found::Error,
                }
            }
        }
        Kind::GetSet => {
            // As `getset_get`, with the checks it makes done by `classify`
            // (the descriptor's class is a base of the owner's, it has a
            // getter), which the type's version vouches for. The class
            // holds the descriptor only until the getter changes the class.
            let descr = e.descr();
            let def = field::<*mut u8>(descr.cast(), off::GETSETDESCR_D_GETSET);
            let get = field::<Getter>(def, off::GETSETDEF_GET);
            let closure = field::<*mut std::ffi::c_void>(def, off::GETSETDEF_CLOSURE);
            incref(descr);
            let got = get(owner, closure);
            decref(descr);
            if got.is_null() {
                Found::Error
            } else {
                Found::New(got)
            }
        }
        // The getter runs through the generic path (or is entered directly
        // by the stencil: `jitsaw_enter_property`).
        Kind::Empty | Kind::Generic | Kind::Property => return None,
    };
    if let Found::Borrowed(o) = found {
        if o.is_null() {
            return None;
        }
    }
    Some((found, e.kind == Kind::Method))
}

/// The entry for `owner`'s type (or for `owner` itself, a class whose
/// metaclass is `type`), if the site has one.
#[inline(always)]
unsafe fn lookup(cache: *mut AttrCache, owner: *mut PyObject) -> Option<*mut Entry> {
    let (class, tp) = key_type(owner);
    let version = type_version(tp);
    (*cache)
        .entries
        .iter_mut()
        .find(|e| keyed_alike(e, version, class, tp))
        .map(|e| e as *mut Entry)
}

/// The site's entry for `owner`'s type, filled for `access` if it has
/// none. An inline value's entry made while the type's shared keys lacked
/// the name (`NOT_SHARED`: an attribute first stored after the entry was
/// classified, by this site or another, [`SharedEntry`]) gets its index
/// once they have it: shared keys only grow, their indices stay, and the
/// type's version does not change as they do.
unsafe fn entry_for(
    cache: *mut AttrCache,
    owner: *mut PyObject,
    name: *mut PyObject,
    access: Access,
) -> Entry {
    let e = match lookup(cache, owner) {
        Some(e) => e,
        None => {
            // The entry filled goes first.
            fill(cache, owner, name, access);
            &raw mut (*cache).entries[0]
        }
    };
    if (*e).kind == Kind::Value && (*e).index == NOT_SHARED && !is_plain_class(owner) {
        if let Some(i) = shared_index(ob_type(owner), name) {
            (*e).index = i;
        }
    }
    *e
}

/// The type whose version keys `owner`'s entries: `owner` itself for a
/// class whose metaclass is `type` (`true`), else its type.
#[inline(always)]
unsafe fn key_type(owner: *mut PyObject) -> (bool, *mut PyTypeObject) {
    if is_plain_class(owner) {
        (true, owner.cast())
    } else {
        (false, ob_type(owner))
    }
}

/// Whether `e` is the entry for the type `tp` of version `version`, for a
/// class as the owner or not (`class`). An entry [`fill`] made while the
/// type had no version says "generic" and is keyed by the type's address:
/// a class whose versions ran out (CPython gives a class at most 1000 in
/// its life, and none to a subclass of such a class: a program that keeps
/// assigning class attributes gets there) never has one again, and every
/// access of such a type would otherwise classify it, a lookup along its
/// MRO, before the generic path looks again. The generic path is right for
/// any type, so a new type at a freed one's address loses nothing but
/// speed until it has a version, and a type that gets one again matches
/// its entries by version as usual.
#[inline(always)]
fn keyed_alike(e: &Entry, version: u32, class: bool, tp: *mut PyTypeObject) -> bool {
    e.version == version
        && (e.check == Check::Class) == class
        && (version != 0 || (e.kind == Kind::Generic && e.aux == tp as usize))
}

/// Whether `owner` is a class whose attributes `type_getattro` looks up:
/// its metaclass is `type`, or one that leaves attribute lookup to `type`
/// (`EnumType`, `ABCMeta`). Entries for it are keyed by its own version
/// ([`Check::Class`]); what a metaclass other than `type` (whose dict never
/// changes) has of the name is checked again at each load
/// ([`metaclass_agrees`]).
#[inline(always)]
unsafe fn is_plain_class(owner: *mut PyObject) -> bool {
    let metaclass = ob_type(owner);
    metaclass == &raw mut PyType_Type
        || (type_flags(metaclass) & consts::TPFLAGS_TYPE_SUBCLASS != 0
            && field::<usize>(metaclass.cast(), off::TYPE_TP_GETATTRO)
                == field::<usize>((&raw mut PyType_Type).cast(), off::TYPE_TP_GETATTRO))
}

/// Whether the metaclass of `owner` (a class, for an entry of kind
/// `OfClass` or `GetSet` made by [`classify_class`]) still has what the
/// entry was made for: the getter-setter descriptor it calls, or no data
/// descriptor of the name, which would come before the class's own
/// attribute (`type_getattro`). A metaclass other than `type` can change
/// without the class's version changing.
#[inline(always)]
unsafe fn metaclass_agrees(owner: *mut PyObject, e: &Entry, name: *mut PyObject) -> bool {
    let metaclass = ob_type(owner);
    if metaclass == &raw mut PyType_Type {
        return true;
    }
    let meta = _PyType_Lookup(metaclass, name);
    if e.kind == Kind::GetSet {
        meta == e.descr()
    } else {
        !is_data_descriptor(meta)
    }
}

/// Whether `descr` (NULL: nothing found) is a data descriptor, which the
/// generic lookups call before looking further.
#[inline(always)]
unsafe fn is_data_descriptor(descr: *mut PyObject) -> bool {
    !descr.is_null()
        && field::<usize>(ob_type(descr).cast(), off::TYPE_TP_DESCR_GET) != 0
        && field::<usize>(ob_type(descr).cast(), off::TYPE_TP_DESCR_SET) != 0
}

/// Notes where in `owner`'s `__dict__` the name is, for the stencils to look
/// there first. Looked up afresh: the dict lookup or store just made may
/// have run Python code that refilled the cache.
unsafe fn learn_hint(cache: *mut AttrCache, owner: *mut PyObject, name: *mut PyObject) {
    if let Some(e) = lookup(cache, owner) {
        if matches!((*e).kind, Kind::Value | Kind::DictValue) {
            if let Some(i) = dict_index(entry_dict(owner, &*e), name, INSTANCE_ENTRIES) {
                (*e).aux = i;
            }
        } else if (*e).kind == Kind::ModuleAttr {
            if let Some(i) = dict_index(module_dict(owner), name, usize::MAX) {
                (*e).aux = i;
            }
        }
    }
}

/// Where `name` (interned) is among the entries of a `__dict__` with str
/// keys, looking no further than the first `limit`: an instance's
/// attributes are few ([`INSTANCE_ENTRIES`]); a module's `__dict__` holds
/// many names, and the hint, once learned, serves every later load.
unsafe fn dict_index(dict: *mut PyDictObject, name: *mut PyObject, limit: usize) -> Option<usize> {
    if dict.is_null() || !dict_keys_is_unicode((*dict).ma_keys) {
        return None;
    }
    let keys = (*dict).ma_keys;
    let entries = dict_unicode_entries(keys);
    (0..((*keys).dk_nentries as usize).min(limit)).find(|&i| (*entries.add(i)).me_key == name)
}

/// The entries of an instance's `__dict__` [`dict_index`] looks through.
const INSTANCE_ENTRIES: usize = 64;

/// The instance's `__dict__` an entry of kind `Value` or `DictValue` reads:
/// the managed one, or the one at the offset an [`Check::Offset`] entry
/// holds (NULL: none yet).
#[inline(always)]
unsafe fn entry_dict(owner: *mut PyObject, e: &Entry) -> *mut PyDictObject {
    if e.check == Check::Offset {
        field::<*mut PyDictObject>(owner.cast(), e.index as usize)
    } else {
        managed_dict(owner)
    }
}

/// `jitsaw_load_attr_cached`: see `crates/stencils/src/helpers.rs`.
pub(super) unsafe extern "C" fn load_attr_cached(
    slot: *mut *mut PyObject,
    name: *mut PyObject,
    cache: *mut u8,
    method: usize,
) -> i32 {
    let cache = cache.cast::<AttrCache>();
    let owner = *slot;
    let entry = entry_for(
        cache,
        owner,
        name,
        Access::Load {
            method: method != 0,
        },
    );
    if let Some((found, bound)) = find(owner, &entry, name, method != 0) {
        let attr = match found {
            Found::Borrowed(attr) => {
                incref(attr);
                attr
            }
            Found::New(attr) => {
                learn_hint(cache, owner, name);
                attr
            }
            Found::Error => {
                decref(owner);
                return -1;
            }
        };
        *slot = attr;
        if method == 0 {
            decref(owner);
        } else if bound {
            *slot.add(1) = owner;
        } else {
            *slot.add(1) = std::ptr::null_mut();
            decref(owner);
        }
        return 0;
    }
    GENERIC.bump();
    // The interpreter's generic `LOAD_ATTR`.
    if method != 0 {
        let mut attr = std::ptr::null_mut();
        if _PyObject_GetMethod(owner, name, &mut attr) != 0 {
            *slot = attr;
            *slot.add(1) = owner;
            return 0;
        }
        decref(owner);
        if attr.is_null() {
            return -1;
        }
        *slot = attr;
        *slot.add(1) = std::ptr::null_mut();
        return 0;
    }
    let attr = PyObject_GetAttr(owner, name);
    decref(owner);
    if attr.is_null() {
        return -1;
    }
    *slot = attr;
    0
}

/// `jitsaw_load_attr_pure`: see `crates/stencils/src/helpers.rs`. Filling
/// the entry only classifies the type (a lookup along its MRO, of `str`
/// keys), so no Python code runs either way.
pub(super) unsafe extern "C" fn load_attr_pure(
    owner: *mut PyObject,
    name: *mut PyObject,
    cache: *mut u8,
) -> *mut PyObject {
    let cache = cache.cast::<AttrCache>();
    let entry = entry_for(cache, owner, name, Access::Load { method: false });
    if let Some(attr) = entry.plain_value(owner) {
        return new_ref(attr);
    }
    // An instance's `__dict__` value (the type has no say; its values
    // taken over by the dict, or never inline): found by its key's
    // identity, comparing no keys (which could run `__eq__`).
    if matches!(entry.kind, Kind::Value | Kind::DictValue) {
        if let Some((_, value)) = dict_entry(cache, owner, &entry, name) {
            return new_ref(value);
        }
    }
    std::ptr::null_mut()
}

/// For an entry of kind `Value` or `DictValue`, the index and value of
/// `name`'s entry in `owner`'s `__dict__` of exact-str keys: at the entry's hint, or
/// found by identity among its first entries (the hint learned). None if
/// the dict has no such entry (or there is no dict).
unsafe fn dict_entry(
    cache: *mut AttrCache,
    owner: *mut PyObject,
    e: &Entry,
    name: *mut PyObject,
) -> Option<(usize, *mut PyObject)> {
    let dict = entry_dict(owner, e);
    if dict.is_null() {
        return None;
    }
    let at_hint = dict_value_at_hint(dict, e.aux, name);
    if !at_hint.is_null() {
        return Some((e.aux, at_hint));
    }
    let i = dict_index(dict, name, INSTANCE_ENTRIES)?;
    learn_hint(cache, owner, name);
    let value = dict_value_at_hint(dict, i, name);
    (!value.is_null()).then_some((i, value))
}

/// `jitsaw_store_attr_pure`: see `crates/stencils/src/helpers.rs`. As
/// [`load_attr_pure`], filling the entry runs no Python code, nor does the
/// store, which releases only a value `releases_quietly` lets go.
pub(super) unsafe extern "C" fn store_attr_pure(
    ts: *mut PyThreadState,
    owner: *mut PyObject,
    name: *mut PyObject,
    cache: *mut u8,
    value: *mut PyObject,
) -> i32 {
    let cache = cache.cast::<AttrCache>();
    let e = entry_for(cache, owner, name, Access::Store);
    if let Some(place) = store_place(owner, &e) {
        let old = *place.slot;
        if !old.is_null() && !releases_quietly(old) {
            return 0;
        }
        place.store(value);
        return 1;
    }
    // An existing key's value in an instance's `__dict__` (the type has no
    // say; its values taken over by the dict, or never inline), replaced as
    // `STORE_ATTR_WITH_HINT` does (not in a dict a watcher watches).
    if !matches!(e.kind, Kind::Value | Kind::DictValue) {
        return 0;
    }
    let Some((i, old)) = dict_entry(cache, owner, &e, name) else {
        return 0;
    };
    if !releases_quietly(old) {
        return 0;
    }
    let replaced = dict_replace_at_hint(ts, entry_dict(owner, &e), i, name, value);
    if replaced.is_null() {
        return 0;
    }
    decref(replaced);
    1
}

/// Where a store of an entry's name goes in its owner without a
/// `__dict__` (see [`store_place`]).
struct StorePlace {
    slot: *mut *mut PyObject,
    /// The inline values holding `slot`, at `index`, whose insertion order
    /// a value stored where none was joins; none for a slot.
    values: Option<(*mut DictValues, usize)>,
}

impl StorePlace {
    /// Stores `value` (taking its reference) as CPython's
    /// `STORE_ATTR_INSTANCE_VALUE` and `STORE_ATTR_SLOT` do, releasing the
    /// old value.
    unsafe fn store(&self, value: *mut PyObject) {
        let old = *self.slot;
        *self.slot = value;
        match (old.is_null(), self.values) {
            (true, Some((values, index))) => dict_values_add_to_insertion_order(values, index),
            _ => xdecref(old),
        }
    }
}

/// The inline value (current, not taken over by a `__dict__`, its name
/// among the shared keys) or the slot that a store of entry `e`'s name
/// into `owner` writes; None for any other entry.
unsafe fn store_place(owner: *mut PyObject, e: &Entry) -> Option<StorePlace> {
    match e.kind {
        Kind::Value
            if e.index != NOT_SHARED && values_valid(owner) && managed_dict(owner).is_null() =>
        {
            let values = inline_values(owner);
            Some(StorePlace {
                slot: (*values).values.as_mut_ptr().add(e.index as usize),
                values: Some((values, e.index as usize)),
            })
        }
        Kind::Slot => Some(StorePlace {
            slot: owner
                .cast::<u8>()
                .add(e.index as usize)
                .cast::<*mut PyObject>(),
            values: None,
        }),
        _ => None,
    }
}

/// `jitsaw_store_attr_cached`: see `crates/stencils/src/helpers.rs`.
pub(super) unsafe extern "C" fn store_attr_cached(
    ts: *mut PyThreadState,
    slot: *mut *mut PyObject,
    name: *mut PyObject,
    cache: *mut u8,
) -> i32 {
    let cache = cache.cast::<AttrCache>();
    let (value, owner) = (*slot, *slot.add(1));
    let e = entry_for(cache, owner, name, Access::Store);
    if e.kind == Kind::Property {
        if let Some(err) = set_property(ts, e.descr(), owner, value) {
            decref(value);
            decref(owner);
            return err;
        }
    }
    // As CPython's `STORE_ATTR_INSTANCE_VALUE` and `STORE_ATTR_SLOT`, and
    // as the generic store into a `__dict__` once the type has no say.
    if let Some(place) = store_place(owner, &e) {
        place.store(value);
        decref(owner);
        return 0;
    }
    // Only instances of types with a managed `__dict__` have one before
    // them (other objects, a module, have nothing there to read).
    let dict = e.instance_dict(owner);
    let dict_store = !dict.is_null();
    if dict_store {
        // As `STORE_ATTR_WITH_HINT`, at the entry the name was last found at.
        let old = dict_replace_at_hint(ts, dict, e.aux, name, value);
        if !old.is_null() {
            decref(old);
            decref(owner);
            return 0;
        }
    }
    let err = if dict_store {
        let err = PyDict_SetItem(dict.cast(), name, value);
        if err == 0 {
            learn_hint(cache, owner, name);
        }
        err
    } else {
        GENERIC.bump();
        PyObject_SetAttr(owner, name, value)
    };
    decref(value);
    decref(owner);
    err
}

/// The access an entry is made for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// A load; `method` for the method-call shape (`LOAD_ATTR` oparg & 1).
    Load { method: bool },
    /// A store.
    Store,
}

/// Learns where `name` is on instances of `owner`'s type, when CPython's
/// specializer would have, and puts that first in the cache (or that the
/// generic path must answer for this type version). Runs no Python code and
/// raises nothing.
unsafe fn fill(
    cache: *mut AttrCache,
    owner: *mut PyObject,
    name: *mut PyObject,
    access: Access,
) -> Entry {
    let (class, tp) = key_type(owner);
    let mut entry = match shared_entry(type_version(tp), class, tp, name, access) {
        Some(entry) => {
            SHARED_HITS.bump();
            entry
        }
        None => {
            let entry = classify(owner, name, access);
            FILLED.bump();
            share(entry, class, tp, name, access);
            entry
        }
    };
    if entry.version == 0 {
        // Generic until the type has a version (see `keyed_alike`).
        entry.kind = Kind::Generic;
        entry.aux = tp as usize;
    }
    let entries = &mut (*cache).entries;
    let keep = entries
        .iter()
        .position(|e| keyed_alike(e, entry.version, class, tp))
        .unwrap_or(ATTR_ENTRIES - 1);
    entries.copy_within(0..keep, 1);
    entries[0] = entry;
    entry
}

/// An entry one site learned, for every site: a site that meets more types
/// than it has entries (a loop calling a method of each of twenty handler
/// classes) would otherwise classify each type again at every access, a
/// lookup along the MRO and the checks CPython's specializer makes, before
/// reading the attribute. An entry depends on the type version, whether
/// the owner is the class itself, the name and the access only (see
/// [`classify`]), which key it here; the table holds a reference to the
/// name, so that its address names it for as long as the entry lives.
#[derive(Clone, Copy)]
#[repr(C)]
struct SharedEntry {
    name: *mut PyObject,
    access: u8,
    class: bool,
    entry: Entry,
}

/// The shared entries, direct-mapped (32 KiB).
static mut SHARED: [SharedEntry; SHARED_LEN] = [SharedEntry {
    name: std::ptr::null_mut(),
    access: 0,
    class: false,
    entry: Entry {
        version: 0,
        kind: Kind::Empty,
        check: Check::NoDict,
        index: 0,
        aux: 0,
    },
}; SHARED_LEN];

/// Slots of [`SHARED`].
const SHARED_LEN: usize = 1024;

/// Entries a site took from [`SHARED`] instead of classifying the type.
pub static SHARED_HITS: Counter = Counter::new();

impl Access {
    /// The access as a key of [`SHARED`].
    fn key(self) -> u8 {
        match self {
            Access::Load { method: false } => 0,
            Access::Load { method: true } => 1,
            Access::Store => 2,
        }
    }
}

/// The [`SHARED`] slot for an entry of type version `version`.
#[inline(always)]
fn shared_slot(version: u32, name: *mut PyObject, access: Access) -> *mut SharedEntry {
    let key = (version as u64) ^ ((name as u64) << 16) ^ ((access.key() as u64) << 62);
    let index = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
    // SAFETY: in bounds (`>> 54` leaves 10 bits); the address only
    // (callers hold the GIL to use it).
    unsafe {
        (&raw mut SHARED)
            .cast::<SharedEntry>()
            .add(index & (SHARED_LEN - 1))
    }
}

/// The shared entry for `name` on `tp` of version `version` (the owner
/// being the class itself if `class`), if one is known.
#[inline(always)]
unsafe fn shared_entry(
    version: u32,
    class: bool,
    tp: *mut PyTypeObject,
    name: *mut PyObject,
    access: Access,
) -> Option<Entry> {
    if version == 0 {
        return None;
    }
    let s = &*shared_slot(version, name, access);
    (s.name == name
        && s.access == access.key()
        && s.class == class
        && keyed_alike(&s.entry, version, class, tp))
    .then_some(s.entry)
}

/// Keeps `entry`, just classified, for other sites (see [`SharedEntry`]):
/// not one for a type without a version, nor for a name that is not
/// exactly a `str` (whose release could run code).
unsafe fn share(
    entry: Entry,
    class: bool,
    tp: *mut PyTypeObject,
    name: *mut PyObject,
    access: Access,
) {
    if entry.version == 0 || !is_str(name) || type_version(tp) != entry.version {
        return;
    }
    let s = &mut *shared_slot(entry.version, name, access);
    let old = std::mem::replace(
        s,
        SharedEntry {
            name: new_ref(name),
            access: access.key(),
            class,
            entry,
        },
    );
    if !old.name.is_null() {
        // A `str`: its release runs no code.
        decref(old.name);
    }
}

/// `owner.name` where reading it runs no code (see
/// [`Entry::plain_value`]), borrowed; `None` otherwise. For predictions
/// made when compiling (`hook::inline_slot_methods`).
///
/// # Safety
/// The GIL is held; `owner` and `name` are live objects.
pub(crate) unsafe fn peek_attr(owner: *mut PyObject, name: *mut PyObject) -> Option<*mut PyObject> {
    let entry = classify(owner, name, Access::Load { method: false });
    if entry.version == 0 {
        return None;
    }
    entry.plain_value(owner)
}

/// The entry for `name` on instances of `owner`'s type, under the
/// conditions of CPython's `_Py_Specialize_LoadAttr`/`_StoreAttr` for the
/// specializations it mirrors (`analyze_descriptor`, `specialize_dict_access`,
/// `specialize_attr_loadclassattr`), or stricter. Of version 0 if the type
/// has no version to vouch for it.
unsafe fn classify(owner: *mut PyObject, name: *mut PyObject, access: Access) -> Entry {
    if is_plain_class(owner) {
        return classify_class(owner.cast(), name, access);
    }
    let tp = ob_type(owner);
    let mut entry = Entry {
        version: 0,
        kind: Kind::Generic,
        check: Check::NoDict,
        index: 0,
        aux: 0,
    };
    let flags = type_flags(tp);
    if flags & consts::TPFLAGS_READY == 0 || !is_str(name) {
        return entry;
    }
    // The lookup assigns the version tag if the type has none; the version
    // read after it is the one its answer holds for.
    let descr = _PyType_Lookup(tp, name);
    entry.version = type_version(tp);
    if entry.version == 0 {
        return entry;
    }
    if tp == &raw mut PyModule_Type {
        // `module_getattro` looks up as the generic lookup does, then asks
        // the module's `__getattr__`: without an attribute of the name on
        // `ModuleType` (immutable), the `__dict__` answers if it has one.
        if matches!(access, Access::Load { .. }) && descr.is_null() {
            entry.kind = Kind::ModuleAttr;
        }
        return entry;
    }
    // Only the generic lookup is mirrored: no `__getattr__`,
    // `__getattribute__` or `__setattr__`, no modules or classes.
    let (slot, generic) = match access {
        Access::Load { .. } => (
            off::TYPE_TP_GETATTRO,
            PyObject_GenericGetAttr as *const () as usize,
        ),
        Access::Store => (
            off::TYPE_TP_SETATTRO,
            PyObject_GenericSetAttr as *const () as usize,
        ),
    };
    if field::<usize>(tp.cast(), slot) != generic {
        return entry;
    }
    let inline =
        flags & consts::TPFLAGS_INLINE_VALUES != 0 && flags & consts::TPFLAGS_HEAPTYPE != 0;
    let managed = flags & consts::TPFLAGS_MANAGED_DICT != 0;
    let dict_offset = field::<isize>(tp.cast(), off::TYPE_TP_DICTOFFSET);
    // An instance attribute, if anything.
    let instance_attr = |mut entry: Entry| {
        if inline {
            entry.kind = Kind::Value;
            entry.index = shared_index(tp, name).unwrap_or(NOT_SHARED);
        } else if managed {
            entry.kind = Kind::DictValue;
        } else if let Ok(offset @ 1..) = u16::try_from(dict_offset) {
            // A `__dict__` at an offset (not from the end of a variable size
            // object): read by the runtime (`entry_dict`), stored into as
            // `PyObject_GenericSetAttr` does once it has one (before that,
            // the generic path makes it).
            entry.kind = Kind::DictValue;
            entry.check = Check::Offset;
            entry.index = offset;
        }
        entry
    };
    if descr.is_null() {
        return instance_attr(entry);
    }
    let desc_type = ob_type(descr);
    let desc_flags = type_flags(desc_type);
    // A mutable descriptor type could gain `__get__` or `__set__` without
    // the owner's type version changing.
    if desc_flags & consts::TPFLAGS_IMMUTABLETYPE == 0 {
        return entry;
    }
    if desc_type == &raw mut PyProperty_Type && access == (Access::Load { method: false }) {
        // Where `LOAD_ATTR_PROPERTY` would serve: a data descriptor, so no
        // instance attribute hides it; the getter is checked when used.
        let fget = property_getter(descr);
        if !fget.is_null() && ob_type(fget) == &raw mut PyFunction_Type {
            entry.kind = Kind::Property;
            entry.aux = descr as usize;
        }
        return entry;
    }
    if desc_type == &raw mut PyProperty_Type && access == Access::Store {
        // Its setter, likewise (CPython specializes no store to a property).
        let fset = property_setter(descr);
        if !fset.is_null() && ob_type(fset) == &raw mut PyFunction_Type {
            entry.kind = Kind::Property;
            entry.aux = descr as usize;
        }
        return entry;
    }
    let has_get = field::<usize>(desc_type.cast(), off::TYPE_TP_DESCR_GET) != 0;
    let has_set = field::<usize>(desc_type.cast(), off::TYPE_TP_DESCR_SET) != 0;
    if has_set {
        if access != Access::Store && has_getter(descr, tp) {
            entry.kind = Kind::GetSet;
            entry.aux = descr as usize;
        } else if let Some(offset) = member_slot(owner, descr, desc_type, access) {
            entry.kind = Kind::Slot;
            entry.index = offset;
        } else if access != Access::Store && is_object_class_descr(descr, name) {
            entry.kind = Kind::DunderClass;
        }
        return entry;
    }
    let Access::Load { method } = access else {
        // Without `__set__`, the class attribute has no say in a store: it
        // goes to the instance as if there were none.
        return instance_attr(entry);
    };
    if !has_get && inline {
        if let Some(index) = shared_index(tp, name) {
            // A class attribute some instances shadow (a default).
            entry.kind = Kind::ValueOrClassAttr;
            entry.index = index;
            entry.aux = descr as usize;
            return entry;
        }
    }
    let is_method = has_get && desc_flags & consts::TPFLAGS_METHOD_DESCRIPTOR != 0;
    let check = if inline {
        let keys = shared_keys(tp);
        if key_index(keys, name).is_some() {
            // Shadowed by an instance attribute of some instances.
            return entry;
        }
        entry.index = match u16::try_from((*keys).dk_nentries) {
            Ok(n) => n,
            Err(_) => return entry,
        };
        Check::Values
    } else if managed {
        Check::Dict
    } else if dict_offset == 0 {
        Check::NoDict
    } else if let Ok(offset @ 1..) = u16::try_from(dict_offset) {
        // A `__dict__` at a fixed offset (not from the end of a variable
        // size object, which a negative offset gives).
        entry.index = offset;
        Check::Offset
    } else {
        return entry;
    };
    entry.kind = if is_method && method {
        Kind::Method
    } else if has_get {
        // A method read as a value, or another descriptor without `__set__`
        // (a classmethod, a staticmethod), either way.
        Kind::BoundMethod
    } else {
        Kind::ClassAttr
    };
    entry.check = check;
    entry.aux = descr as usize;
    entry
}

/// The entry for `name` on the class `cls` itself (of metaclass `type`),
/// as `type_getattro` finds it: no data descriptor of the name on `type`
/// (which is immutable: what it has never changes), an attribute found on
/// the class, of an immutable type: the attribute itself when that is no
/// descriptor or one whose `__get__` answers the descriptor itself when
/// read from a class (functions, method, slot, member and getset
/// descriptors, properties), else (`index` 1) what its `__get__` answers.
/// Loads only: a store is `Generic`. Of version 0 if the class has none.
unsafe fn classify_class(cls: *mut PyTypeObject, name: *mut PyObject, access: Access) -> Entry {
    let mut entry = Entry {
        version: 0,
        kind: Kind::Generic,
        check: Check::Class,
        index: 0,
        aux: 0,
    };
    if type_flags(cls) & consts::TPFLAGS_READY == 0 || !is_str(name) {
        return entry;
    }
    if access == Access::Store {
        // Without a lookup on the class, which would give it a version tag
        // where neither the interpreter's store nor its specializer (which
        // looks on the metaclass only) does: a class gets at most 1000 in
        // its life, and one assigned to again and again (`Config.flag = x`
        // in a loop) would run out, leaving its instances' attributes to
        // the slow MRO walk ever after, in plain CPython too.
        entry.version = type_version(cls);
        return entry;
    }
    let metaclass = ob_type(cls.cast());
    let meta = _PyType_Lookup(metaclass, name);
    // The lookup assigns the version tag if the class has none.
    let attr = _PyType_Lookup(cls, name);
    entry.version = type_version(cls);
    if is_data_descriptor(meta) {
        // `type`'s own `__name__`, `__qualname__`, `__dict__`, `__doc__`...
        // answer for every class (a metaclass's lookup is checked again at
        // each load: `metaclass_agrees`).
        if entry.version != 0 && has_getter(meta, metaclass) {
            entry.kind = Kind::GetSet;
            entry.aux = meta as usize;
        }
        return entry;
    }
    if attr.is_null() {
        return entry;
    }
    let t = ob_type(attr);
    entry.kind = Kind::OfClass;
    entry.aux = attr as usize;
    if type_flags(t) & consts::TPFLAGS_IMMUTABLETYPE == 0 {
        // An instance of a class of the program (`Color.RED = Color(...)`,
        // which CPython does not specialize): its class can gain a
        // `__get__` without this class's version changing.
        entry.index = OF_CLASS_ASK_IF_DESCRIPTOR;
        return entry;
    }
    let answers_itself = [
        &raw mut PyFunction_Type,
        &raw mut PyMethodDescr_Type,
        &raw mut PyWrapperDescr_Type,
        &raw mut PyMemberDescr_Type,
        &raw mut PyGetSetDescr_Type,
        &raw mut PyProperty_Type,
    ]
    .contains(&t);
    // Other descriptors (a classmethod binds to the class) are asked each
    // time, as `type_getattro` asks them.
    entry.index = if field::<usize>(t.cast(), off::TYPE_TP_DESCR_GET) != 0 && !answers_itself {
        OF_CLASS_ASK
    } else {
        OF_CLASS_ITSELF
    };
    entry
}

/// A `property`'s getter (`fget`, borrowed; NULL if none), read where
/// CPython's own `fget` member reads it (the struct is private to
/// CPython; no entry for properties is made if that cannot be told).
///
/// # Safety
/// The GIL is held and `descr` is exactly a `property`.
pub(super) unsafe fn property_getter(descr: *mut PyObject) -> *mut PyObject {
    static OFFSET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    object_member(descr, &OFFSET, &raw mut PyProperty_Type, c"fget")
}

/// A `property`'s setter (`fset`, borrowed; NULL if none), as
/// [`property_getter`].
///
/// # Safety
/// The GIL is held and `descr` is exactly a `property`.
unsafe fn property_setter(descr: *mut PyObject) -> *mut PyObject {
    static OFFSET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    object_member(descr, &OFFSET, &raw mut PyProperty_Type, c"fset")
}

/// `owner.<name> = value` through `property` `descr` (the class attribute
/// of the name, a data descriptor, so the generic store would call its
/// `__set__`) when its setter is a plain Python function: the setter run
/// directly, as the helpers run a compiled function, its result released
/// as `property_descr_set` releases it. 0, or -1 with an error; `None`
/// (nothing done) otherwise. The operands are borrowed.
unsafe fn set_property(
    ts: *mut PyThreadState,
    descr: *mut PyObject,
    owner: *mut PyObject,
    value: *mut PyObject,
) -> Option<i32> {
    let fset = property_setter(descr);
    if fset.is_null()
        || !super::helpers::is_plain_function(fset)
        || !crate::hook::interpreter_entry_fits(ts)
    {
        return None;
    }
    super::PROPERTIES_ENTERED.bump();
    let args = [new_ref(owner), new_ref(value)];
    let result = super::helpers::helper_call_function(
        ts,
        new_ref(fset),
        args.as_ptr(),
        2,
        std::ptr::null_mut(),
    );
    Some(super::operators::release_status(result))
}

/// A classmethod's function (`cm_callable`, borrowed; NULL if none or if
/// its offset cannot be told), read where its `__func__` member reads it
/// (the struct is private to CPython).
///
/// # Safety
/// The GIL is held and `cm` is exactly a `classmethod`.
unsafe fn classmethod_function(cm: *mut PyObject) -> *mut PyObject {
    static OFFSET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    object_member(cm, &OFFSET, &raw mut PyClassMethod_Type, c"__func__")
}

/// The object member `name` of `o`, an object of exactly type `tp`
/// (borrowed; NULL if none or if its offset cannot be told), at the offset
/// `tp`'s member descriptor gives, read once into `offset`.
///
/// # Safety
/// The GIL is held and `o` is exactly of type `tp`.
unsafe fn object_member(
    o: *mut PyObject,
    offset: &std::sync::OnceLock<usize>,
    tp: *mut PyTypeObject,
    name: &std::ffi::CStr,
) -> *mut PyObject {
    match *offset.get_or_init(|| object_member_offset(tp, name)) {
        0 => std::ptr::null_mut(),
        at => field::<*mut PyObject>(o.cast(), at),
    }
}

/// The byte offset of the object member `name` that type `tp` declares
/// (its member descriptor's), or 0 if it is not an object member as
/// expected.
///
/// # Safety
/// The GIL is held; the lookup finds the type's own member descriptor,
/// read at probed offsets.
unsafe fn object_member_offset(tp: *mut PyTypeObject, name: &std::ffi::CStr) -> usize {
    let name = pyo3::ffi::PyUnicode_InternFromString(name.as_ptr()).cast::<PyObject>();
    if name.is_null() {
        pyo3::ffi::PyErr_Clear();
        return 0;
    }
    let descr = _PyType_Lookup(tp, name);
    decref(name);
    if descr.is_null() || ob_type(descr) != &raw mut PyMemberDescr_Type {
        return 0;
    }
    let member = field::<*mut u8>(descr.cast(), off::MEMBERDESCR_D_MEMBER);
    if field::<i32>(member, off::MEMBERDEF_TYPE) as i64 != consts::T_OBJECT {
        return 0;
    }
    usize::try_from(field::<isize>(member, off::MEMBERDEF_OFFSET)).unwrap_or(0)
}

/// The byte offset of the object slot a member descriptor `descr` reads or
/// writes on `owner`, if CPython would specialize it (`OBJECT_SLOT`).
unsafe fn member_slot(
    owner: *mut PyObject,
    descr: *mut PyObject,
    desc_type: *mut PyTypeObject,
    access: Access,
) -> Option<u16> {
    if desc_type != &raw mut PyMemberDescr_Type {
        return None;
    }
    let member = field::<*mut u8>(descr.cast(), off::MEMBERDESCR_D_MEMBER);
    let kind = field::<i32>(member, off::MEMBERDEF_TYPE) as i64;
    let flags = field::<i32>(member, off::MEMBERDEF_FLAGS) as i64;
    let offset = field::<isize>(member, off::MEMBERDEF_OFFSET);
    let forbidden = match access {
        Access::Load { .. } => consts::MEMBER_AUDIT_READ,
        Access::Store => consts::MEMBER_READONLY,
    };
    let owner_type = field::<*mut PyTypeObject>(descr.cast(), off::MEMBERDESCR_D_TYPE);
    if !(kind == consts::T_OBJECT_EX || kind == consts::T_OBJECT)
        || flags & forbidden != 0
        || offset <= 0
        || PyType_IsSubtype(ob_type(owner), owner_type) == 0
    {
        return None;
    }
    u16::try_from(offset).ok()
}

/// Whether `descr`, found on `tp` (or its metaclass), is exactly a
/// getter-setter descriptor whose `__get__` would call its getter for
/// instances of `tp`: it has one, and its class is among `tp`'s bases
/// (`descr_check`; a descriptor put on an unrelated class raises there).
unsafe fn has_getter(descr: *mut PyObject, tp: *mut PyTypeObject) -> bool {
    if ob_type(descr) != &raw mut PyGetSetDescr_Type {
        return false;
    }
    let def = field::<*mut u8>(descr.cast(), off::GETSETDESCR_D_GETSET);
    let owner_type = field::<*mut PyTypeObject>(descr.cast(), off::GETSETDESCR_D_TYPE);
    !def.is_null()
        && field::<usize>(def, off::GETSETDEF_GET) != 0
        && PyType_IsSubtype(tp, owner_type) != 0
}

/// The index of `name` among the shared keys of `tp` (a type with inline
/// values) that an entry's `index` can hold.
unsafe fn shared_index(tp: *mut PyTypeObject, name: *mut PyObject) -> Option<u16> {
    key_index(shared_keys(tp), name)
        .and_then(|i| u16::try_from(i).ok())
        .filter(|&i| i != NOT_SHARED)
}

/// Whether `descr`, found on a type for `name`, is `object`'s own
/// `__class__` (whose getter answers the instance's type).
unsafe fn is_object_class_descr(descr: *mut PyObject, name: *mut PyObject) -> bool {
    descr == _PyType_Lookup(&raw mut PyBaseObject_Type, name)
        && PyUnicode_CompareWithASCIIString(name, c"__class__".as_ptr()) == 0
}

/// The index of `name` among shared keys `keys` (of a type with inline
/// values), if there. Shared keys are exact strings; `name` too. Two
/// interned strings are equal only if they are the same object.
unsafe fn key_index(keys: *mut DictKeys, name: *mut PyObject) -> Option<usize> {
    if keys.is_null() {
        return None;
    }
    let entries = dict_unicode_entries(keys);
    let name_interned = interned(name);
    (0..(*keys).dk_nentries as usize).find(|&i| {
        let key = (*entries.add(i)).me_key;
        if key == name || key.is_null() {
            return key == name;
        }
        let both_interned = name_interned && interned(key);
        !both_interned && PyUnicode_Compare(key, name) == 0
    })
}

/// Whether a str is interned (`PyUnicode_CHECK_INTERNED`).
unsafe fn interned(s: *mut PyObject) -> bool {
    field::<u32>(s.cast(), off::UNICODE_STATE) as u64 & consts::UNICODE_STATE_INTERNED_MASK != 0
}
