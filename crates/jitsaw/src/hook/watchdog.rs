//! Keeps warm-up windows short. A warm-up call runs with the frame
//! evaluation hook lifted (see `warm_up`), and everything it runs is
//! interpreted until it returns: a call that turns out long (a benchmark
//! harness's measuring loop, a program's main loop) would keep the JIT off
//! for all of it. A thread of jitsaw's own looks at the open window every
//! few milliseconds; a window still open at its next look gets the hook put
//! back by the main thread (`Py_AddPendingCall`, run at the interpreter's
//! next eval-breaker check), so calls made from then on go through the hook
//! (the interpreter's call specializations check that no hook is set and
//! fall back to the generic call when one is).

use super::{interpret_unhooked, Frame, PyObject, PyThreadState, WANTED, WINDOWS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Time between looks: a window cut short has been open at least this long.
const PERIOD: Duration = Duration::from_millis(20);

/// The open warm-up window's number (0: none).
static OPEN: AtomicU64 = AtomicU64::new(0);
/// The next window's number.
static NEXT: AtomicU64 = AtomicU64::new(1);
/// Warm-up windows cut short, for `stats()`.
pub static CUT: AtomicU64 = AtomicU64::new(0);
/// The watchdog thread and the process it runs in (a forked child has none).
static THREAD: Mutex<Option<(u32, std::thread::Thread)>> = Mutex::new(None);

/// Runs a warm-up call in the interpreter with the hook lifted, under the
/// watchdog's eye.
///
/// # Safety
/// As for [`interpret_unhooked`].
pub unsafe fn warm_up_unhooked(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    OPEN.store(NEXT.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
    wake();
    let result = interpret_unhooked(ts, frame);
    OPEN.store(0, Ordering::Relaxed);
    result
}

/// Wakes the watchdog, starting it in this process if need be.
fn wake() {
    let mut thread = THREAD.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    match &*thread {
        Some((p, t)) if *p == pid => t.unpark(),
        _ => {
            let spawned = std::thread::Builder::new()
                .name("jitsaw-watchdog".into())
                .spawn(watch);
            // Without a watchdog, windows last as long as their calls.
            if let Ok(handle) = spawned {
                *thread = Some((pid, handle.thread().clone()));
            }
        }
    }
}

/// The watchdog's loop: sleeps while no window is open.
fn watch() {
    let mut seen = 0;
    loop {
        let open = OPEN.load(Ordering::Relaxed);
        if open == 0 {
            seen = 0;
            std::thread::park();
            continue;
        }
        if open == seen {
            // SAFETY: `Py_AddPendingCall` may be called from any thread,
            // without the GIL; the callback ignores a window that closed.
            unsafe {
                pyo3::ffi::Py_AddPendingCall(Some(put_hook_back), open as *mut std::ffi::c_void)
            };
        }
        seen = open;
        std::thread::sleep(PERIOD);
    }
}

/// Puts the hook back if warm-up window `window` is still open (and no
/// other window: instrumentation's must stay unhooked). Runs in the main
/// thread with the GIL held.
extern "C" fn put_hook_back(window: *mut std::ffi::c_void) -> std::ffi::c_int {
    if OPEN.load(Ordering::Relaxed) == window as u64
        && WINDOWS.load(Ordering::Relaxed) == 1
        && WANTED.load(Ordering::Relaxed)
    {
        // SAFETY: the GIL is held (pending calls run with it).
        unsafe {
            let interp = pyo3::ffi::PyInterpreterState_Get().cast::<u8>();
            let current = jitsaw_cpython313::ffi::_PyInterpreterState_GetEvalFrameFunc(interp);
            let default = jitsaw_cpython313::ffi::_PyEval_EvalFrameDefault as *const () as usize;
            if current.is_none_or(|f| f as usize == default) {
                jitsaw_cpython313::ffi::_PyInterpreterState_SetEvalFrameFunc(
                    interp,
                    Some(super::eval_frame),
                );
                CUT.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    0
}
