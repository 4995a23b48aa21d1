//! Watching the dicts burned-in globals (and module attributes) came from
//! (`optimize::globals`).
//!
//! A dict watcher (`PyDict_AddWatcher`) hears of every change to a watched
//! globals or builtins dict before it happens. When the change touches a
//! name some compiled code burned in — the name's value changes or goes,
//! a builtin's name is added to the globals, the dict is cleared, refilled
//! or freed — that code is invalidated (`Compiled::invalidate`: its burned
//! loads become deopts, so frames running it see the new value) and its
//! code object is compiled again at its next call. Names that keep
//! changing are not burned in again.

use super::{AddressHasher, GilCell};
use crate::codegen::Compiled;
use jitsaw_cpython313::consts;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::is_str;
use jitsaw_cpython313::layout::PyObject;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicI32, Ordering};

/// Invalidations of a name after which it is no longer burned in.
const CHANGES_ALLOWED: u32 = 2;

/// jitsaw's dict watcher (-1: not added yet; -2: none available).
static WATCHER: AtomicI32 = AtomicI32::new(-1);

type Map<K, V> = HashMap<K, V, BuildHasherDefault<AddressHasher>>;

/// Who depends on a name of a dict.
struct Dep {
    /// The name (an interned `str`, borrowed from the code's `co_names`).
    name: usize,
    /// The value burned in, or 0 for a name the dict must not get (a
    /// builtin's name, in the globals).
    value: usize,
    /// The code that burned it in (owned by the code object's state).
    compiled: *const Compiled,
    /// Its code object.
    code: usize,
}

#[derive(Default)]
struct Watches {
    /// Dependents by dict and name hash.
    deps: Map<(usize, isize), Vec<Dep>>,
    /// The name hashes with dependents, by dict (one entry per dependent).
    dicts: Map<usize, Vec<isize>>,
    /// Invalidations caused, by dict and name hash.
    changes: Map<(usize, isize), u32>,
}

/// Every dependency, by dict (the GIL serializes access).
static WATCHES: GilCell<Watches> = GilCell::new();

/// The dict watcher's id, added on first use.
///
/// # Safety
/// The GIL is held.
unsafe fn watcher() -> Option<i32> {
    let id = WATCHER.load(Ordering::Relaxed);
    if id != -1 {
        return (id >= 0).then_some(id);
    }
    let id = PyDict_AddWatcher(on_dict_event);
    if id < 0 {
        PyErr_Clear();
        WATCHER.store(-2, Ordering::Relaxed);
        return None;
    }
    WATCHER.store(id, Ordering::Relaxed);
    Some(id)
}

/// Whether `name` of `dict` may be burned in: jitsaw can watch dicts, and
/// the name has not kept changing.
///
/// # Safety
/// The GIL is held; `name` is a `str`.
pub unsafe fn burnable(dict: *mut PyObject, name: *mut PyObject) -> bool {
    watcher().is_some()
        && WATCHES
            .get()
            .changes
            .get(&(dict as usize, hash(name)))
            .is_none_or(|&n| n < CHANGES_ALLOWED)
}

/// The hash of a `str` (cached in the object; computing it cannot fail).
unsafe fn hash(name: *mut PyObject) -> isize {
    pyo3::ffi::PyObject_Hash(name.cast())
}

/// The (dict, name, value) triples `compiled` depends on.
fn dependencies(compiled: &Compiled) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    // A class attribute's version is checked instead.
    let attrs = compiled
        .burned_attrs
        .iter()
        .filter(|a| a.dict != 0)
        .map(|a| (a.dict as usize, a.name as usize, a.value as usize));
    compiled
        .burned
        .iter()
        .flat_map(|g| {
            let (globals, name) = (g.globals as usize, g.name as usize);
            if g.builtins == 0 {
                [Some((globals, name, g.value as usize)), None]
            } else {
                [
                    Some((globals, name, 0)),
                    Some((g.builtins as usize, name, g.value as usize)),
                ]
            }
            .into_iter()
            .flatten()
        })
        .chain(attrs)
}

/// Watches the dicts `compiled` burned globals in from, so that it is
/// invalidated before one of its names changes. Called right after
/// compiling, before any Python code runs.
///
/// # Safety
/// The GIL is held; `compiled` lives until [`forget`] or its invalidation,
/// and belongs to the live code object `code`; the dicts are alive.
pub unsafe fn register(compiled: *const Compiled, code: usize) {
    let Some(id) = watcher() else {
        // Nothing was burned in without a watcher (see `burnable`).
        return;
    };
    let w = WATCHES.get();
    for (dict, name, value) in dependencies(&*compiled) {
        let h = hash(name as *mut PyObject);
        let hashes = w.dicts.entry(dict).or_default();
        if hashes.is_empty() && PyDict_Watch(id, dict as *mut PyObject) != 0 {
            PyErr_Clear();
        }
        hashes.push(h);
        w.deps.entry((dict, h)).or_default().push(Dep {
            name,
            value,
            compiled,
            code,
        });
    }
}

/// Stops watching for `compiled` (its code object is dying).
///
/// # Safety
/// The GIL is held.
pub unsafe fn forget(compiled: &Compiled) {
    remove(WATCHES.get(), compiled, 0);
}

/// Drops `compiled`'s dependencies, unwatching dicts left without any
/// (except `dying`, a dict being freed). Dropping them again does nothing
/// (code invalidated, then freed): a name's entry in `dicts` goes with
/// each dependency actually dropped, as `register` added one for each.
unsafe fn remove(w: &mut Watches, compiled: &Compiled, dying: usize) {
    let me = compiled as *const Compiled;
    for (dict, name, _) in dependencies(compiled) {
        let h = hash(name as *mut PyObject);
        let mut dropped = 0;
        if let Some(list) = w.deps.get_mut(&(dict, h)) {
            let before = list.len();
            list.retain(|d| d.compiled != me);
            dropped = before - list.len();
            if list.is_empty() {
                w.deps.remove(&(dict, h));
            }
        }
        if dropped == 0 {
            continue;
        }
        let Some(hashes) = w.dicts.get_mut(&dict) else {
            continue;
        };
        for _ in 0..dropped {
            if let Some(i) = hashes.iter().position(|&x| x == h) {
                hashes.swap_remove(i);
            }
        }
        if hashes.is_empty() {
            w.dicts.remove(&dict);
            if let (true, Some(id)) = (dict != dying, watcher()) {
                if PyDict_Unwatch(id, dict as *mut PyObject) != 0 {
                    PyErr_Clear();
                }
            }
        }
    }
}

/// Adds the dependents of `name` (a dict and a name hash) that `affected`
/// says the change reaches to `hit`, counting the change against the name
/// when there are any.
fn hits(
    w: &mut Watches,
    name: (usize, isize),
    hit: &mut Vec<(*const Compiled, usize)>,
    affected: impl Fn(&Dep) -> bool,
) {
    let Some(list) = w.deps.get(&name) else {
        return;
    };
    let before = hit.len();
    hit.extend(
        list.iter()
            .filter(|dep| affected(dep))
            .map(|dep| (dep.compiled, dep.code)),
    );
    if hit.len() > before {
        *w.changes.entry(name).or_default() += 1;
    }
}

/// Whether two names are the same `str`.
unsafe fn same_name(name: usize, key: *mut PyObject) -> bool {
    name == key as usize || PyUnicode_Compare(name as *mut PyObject, key) == 0
}

/// The dict watcher: invalidates the code depending on what is about to
/// change. Runs no Python code and raises nothing.
unsafe extern "C" fn on_dict_event(
    event: i32,
    dict: *mut PyObject,
    key: *mut PyObject,
    new_value: *mut PyObject,
) -> i32 {
    let w = WATCHES.get();
    let d = dict as usize;
    let event = event as i64;
    let mut hit: Vec<(*const Compiled, usize)> = Vec::new();
    let by_key = matches!(
        event,
        consts::PYDICT_EVENT_ADDED | consts::PYDICT_EVENT_MODIFIED | consts::PYDICT_EVENT_DELETED
    ) && !key.is_null()
        && is_str(key);
    if by_key {
        // The common event (a store to a global nothing burned in, such
        // as a counter): one lookup, nothing allocated.
        let unchanged = |dep: &Dep| {
            event == consts::PYDICT_EVENT_MODIFIED
                && dep.value != 0
                && dep.value == new_value as usize
        };
        hits(w, (d, hash(key)), &mut hit, |dep| {
            !unchanged(dep) && same_name(dep.name, key)
        });
    } else {
        // Cleared, refilled from another dict, freed, or a key that is not
        // an exact `str` (which may equal one): every name of the dict.
        let mut all = w.dicts.get(&d).cloned().unwrap_or_default();
        all.sort_unstable();
        all.dedup();
        for h in all {
            hits(w, (d, h), &mut hit, |_| true);
        }
    }
    hit.sort_unstable();
    hit.dedup();
    let dying = event == consts::PYDICT_EVENT_DEALLOCATED;
    for (compiled, code) in hit {
        (*compiled).invalidate();
        remove(w, &*compiled, if dying { d } else { 0 });
        crate::hook::invalidated(code as *mut _, compiled);
    }
    if dying {
        // A new dict may take its address.
        w.changes.retain(|&(dict, _), _| dict != d);
    }
    0
}
