//! A cheap clock for timing the interpreted calls of code waiting to be
//! compiled (its rent, see `rent_paid`).
//!
//! Such calls are most calls of a big program whose functions are each
//! called a few hundred times, and `Instant::now` (`clock_gettime`, ~20 ns
//! here) twice a call was a third of what the hook added to one. Where the
//! processor's time-stamp counter runs at a constant rate whatever the
//! core's frequency and sleep states (invariant TSC, which Linux reports as
//! `constant_tsc` and `nonstop_tsc`), a stamp is that counter (~7 ns),
//! converted to time at a rate measured against `Instant` since the first
//! stamp; elsewhere it is an `Instant`. The times only weigh when to
//! compile: an error moves a compilation, never what a program does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A point in time, for [`Stamp::elapsed`].
#[derive(Clone, Copy, Debug)]
pub struct Stamp(Inner);

#[derive(Clone, Copy, Debug)]
enum Inner {
    /// Time-stamp counter ticks.
    Ticks(u64),
    /// The portable clock.
    Instant(Instant),
}

/// Stamps now.
#[inline]
pub fn now() -> Stamp {
    Stamp(match ticks() {
        Some(t) => Inner::Ticks(t),
        None => Inner::Instant(Instant::now()),
    })
}

impl Stamp {
    /// The time since the stamp (zero if the counter went back, which a
    /// thread moved between cores whose counters disagree could see).
    #[inline]
    pub fn elapsed(self) -> Duration {
        match self.0 {
            Inner::Ticks(then) => match ticks() {
                Some(t) => to_duration(t.saturating_sub(then)),
                None => Duration::ZERO,
            },
            Inner::Instant(then) => then.elapsed(),
        }
    }
}

/// The counter and the instant of the first stamp, against which the
/// counter's rate is measured.
static BASE: OnceLock<(u64, Instant)> = OnceLock::new();

/// Nanoseconds per tick (an `f64`'s bits), once measured over long enough.
static NS_PER_TICK: AtomicU64 = AtomicU64::new(0);

/// How long the rate is measured for before it is kept: the two clocks are
/// read a few nanoseconds apart, an error of ~0.1 % at 2 ms.
const CALIBRATION: Duration = Duration::from_millis(2);

/// The time-stamp counter, if it is invariant; `None` elsewhere.
#[inline(always)]
fn ticks() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__cpuid, _rdtsc};
        static INVARIANT: OnceLock<bool> = OnceLock::new();
        // Invariant: CPUID leaf 0x8000_0007, EDX bit 8 (the leaf checked
        // to exist first).
        let invariant =
            || __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0;
        if *INVARIANT.get_or_init(invariant) {
            // SAFETY: `rdtsc` exists on every x86-64 processor and only
            // reads the counter.
            let t = unsafe { _rdtsc() };
            BASE.get_or_init(|| (t, Instant::now()));
            return Some(t);
        }
    }
    None
}

/// `ticks` counter ticks as time, at the rate measured since the first
/// stamp (kept once measured over [`CALIBRATION`]).
fn to_duration(ticks: u64) -> Duration {
    let kept = NS_PER_TICK.load(Ordering::Relaxed);
    let rate = if kept != 0 {
        f64::from_bits(kept)
    } else {
        let Some(&(t0, i0)) = BASE.get() else {
            return Duration::ZERO;
        };
        let (since, now) = (i0.elapsed(), self::ticks().unwrap_or(t0));
        let Some(counted) = now.checked_sub(t0).filter(|&n| n > 0) else {
            return Duration::ZERO;
        };
        let rate = since.as_nanos() as f64 / counted as f64;
        if since >= CALIBRATION {
            NS_PER_TICK.store(rate.to_bits(), Ordering::Relaxed);
        }
        rate
    };
    Duration::from_nanos((ticks as f64 * rate) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "the time-stamp counter and real time: not under Miri")]
    fn stamps_measure_what_instant_measures() {
        let (stamp, instant) = (now(), Instant::now());
        while instant.elapsed() < Duration::from_millis(5) {
            std::hint::spin_loop();
        }
        let (measured, real) = (stamp.elapsed(), instant.elapsed());
        // Within 10 % (the rate is measured over the first milliseconds).
        let diff = measured.abs_diff(real);
        assert!(diff * 10 < real, "{measured:?} against {real:?}");
    }
}
