//! The stencil table generated at build time (see `build.rs`) and the types
//! it is written in.

/// How a hole's bytes are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleKind {
    /// `value + addend`, 8 bytes.
    Abs64,
    /// `value + addend`, 4 bytes (a zero-extended 32-bit immediate): the
    /// value must fit.
    Abs32,
    /// `value + addend - address of the hole`, 4 bytes.
    Rel32,
}

/// What a hole is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleValue {
    /// The micro-op's oparg.
    Oparg,
    /// The micro-op's operand.
    Operand,
    /// The low 32 bits of the micro-op's operand (see `set_instr_ptr` in
    /// the stencils).
    OperandLow32,
    /// The next micro-op.
    Continue,
    /// The micro-op's jump target.
    JumpTarget,
    /// The deopt stub for the micro-op's instruction.
    Exit,
    /// The error stub for the micro-op's instruction.
    Error,
    /// The next micro-op's address, as data.
    Resume,
    /// Where this stencil's hot part was copied (a branch back from its
    /// cold part, or the micro-op's own address as data: `_JIT_HERE`).
    Hot,
    /// Where this stencil's cold part was copied (a branch from its hot
    /// part).
    Cold,
    /// An external symbol: its index (see [`symbol`]).
    Symbol(u16),
}

/// A place to patch. 12 bytes: the table of every stencil's holes is read
/// at each compilation and kept resident (5 000 holes, 123 KB at 24 bytes
/// each); the generated literals do not compile if a value does not fit.
#[derive(Clone, Copy, Debug)]
pub struct Hole {
    /// Byte offset in the stencil (stencils are a few KB).
    pub offset: u16,
    /// How to compute the bytes.
    pub kind: HoleKind,
    /// What to compute them from.
    pub value: HoleValue,
    /// Constant added to the value (a rel32's -4, an offset in a symbol).
    pub addend: i32,
}

const _: () = assert!(std::mem::size_of::<Hole>() == 12);

/// A range of one of the generated tables: the tables hold spans instead
/// of `&str` and `&[_]`, so that they hold no pointer for the dynamic
/// linker to relocate at every start-up (see `emit` in
/// `jitsaw-stencil-build`).
#[derive(Clone, Copy, Debug)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const fn new(start: u32, len: u32) -> Span {
        Span { start, len }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// One micro-op's machine-code template.
#[derive(Debug)]
pub struct Stencil {
    /// The micro-op's name: a span of `STENCIL_NAMES`.
    name: Span,
    /// Machine code with zeroed holes: the hot part, copied in line, then
    /// the cold part, copied after the main code (see `relax` in
    /// `jitsaw-stencil-build`). A span of `STENCIL_CODE`.
    code: Span,
    /// Length of the hot part.
    pub hot_len: usize,
    /// Places to patch, by offset: a span of `STENCIL_HOLES`.
    holes: Span,
    /// Whether it calls through a pointer (a type slot, a vectorcall
    /// function), which no hole names.
    pub calls_indirectly: bool,
    /// The kinds of value its holes take ([`HoleValue::bit`]s), so that
    /// the compiler's per-micro-op questions need not scan the holes.
    pub values: u16,
    /// Whether the hot part ends with `jmp _JIT_CONTINUE`, which can be
    /// dropped when the next micro-op is laid out right after it.
    pub ends_with_continue: bool,
}

impl HoleValue {
    /// The value's kind as one bit of [`Stencil::values`] (every symbol
    /// the same).
    pub const fn bit(self) -> u16 {
        1 << match self {
            HoleValue::Oparg => 0,
            HoleValue::Operand => 1,
            HoleValue::OperandLow32 => 2,
            HoleValue::Continue => 3,
            HoleValue::JumpTarget => 4,
            HoleValue::Exit => 5,
            HoleValue::Error => 6,
            HoleValue::Resume => 7,
            HoleValue::Hot => 8,
            HoleValue::Cold => 9,
            HoleValue::Symbol(_) => 10,
        }
    }
}

/// A symbol's address in `symbol_addresses()` (null: a `jitsaw_*` helper,
/// which the runtime supplies).
#[repr(transparent)]
pub struct Address(pub *const u8);

include!(concat!(env!("OUT_DIR"), "/stencils_gen.rs"));

/// The stencil of a micro-op, by name ([`STENCILS`] is sorted by name).
pub fn by_name(name: &str) -> Option<&'static Stencil> {
    let i = STENCILS.binary_search_by(|s| s.name().cmp(name)).ok()?;
    Some(&STENCILS[i])
}

/// The number of external symbols the stencils reference.
pub const SYMBOL_COUNT: usize = SYMBOL_SPANS.len();

/// The name of external symbol `i` (what [`HoleValue::Symbol`] holds).
pub fn symbol(i: usize) -> &'static str {
    &SYMBOL_NAMES[SYMBOL_SPANS[i].range()]
}

/// Every external symbol's name, by index.
pub fn symbols() -> impl Iterator<Item = &'static str> {
    (0..SYMBOL_COUNT).map(symbol)
}

impl Stencil {
    /// The micro-op's name.
    pub fn name(&self) -> &'static str {
        &STENCIL_NAMES[self.name.range()]
    }

    /// Machine code with zeroed holes: the hot part, then the cold part.
    pub fn code(&self) -> &'static [u8] {
        &STENCIL_CODE[self.code.range()]
    }

    /// Places to patch, by offset.
    pub fn holes(&self) -> &'static [Hole] {
        &STENCIL_HOLES[self.holes.range()]
    }

    /// The code copied in line.
    pub fn hot(&self) -> &'static [u8] {
        &self.code()[..self.hot_len]
    }

    /// The code copied after the main code (empty if none).
    pub fn cold(&self) -> &'static [u8] {
        &self.code()[self.hot_len..]
    }

    /// Whether any hole refers to `value`.
    pub fn has(&self, value: HoleValue) -> bool {
        match value {
            HoleValue::Symbol(_) => self.holes().iter().any(|h| h.value == value),
            _ => self.values & value.bit() != 0,
        }
    }

    /// Whether the stencil calls an external function (C code that may run
    /// Python code, so `frame->instr_ptr` must be current).
    pub fn calls_out(&self) -> bool {
        self.calls_out_except(&[])
    }

    /// Whether the stencil calls an external function other than `these`
    /// (any call through a pointer counts).
    pub fn calls_out_except(&self, these: &[&str]) -> bool {
        self.calls_indirectly
            || self.holes().iter().any(|h| match h.value {
                HoleValue::Symbol(s) => {
                    h.kind == HoleKind::Rel32 && !these.contains(&symbol(s as usize))
                }
                _ => false,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summaries generated with each stencil say what its holes and
    /// code say.
    #[test]
    fn generated_summaries_match_the_holes() {
        for s in &STENCILS {
            let values = s.holes().iter().fold(0, |v, h| v | h.value.bit());
            assert_eq!(s.values, values, "{}", s.name());
            let n = s.hot_len;
            let ends = n >= 5
                && s.code()[n - 5] == 0xE9
                && s.holes().iter().any(|h| {
                    h.offset as usize == n - 4
                        && h.value == HoleValue::Continue
                        && h.kind == HoleKind::Rel32
                });
            assert_eq!(s.ends_with_continue, ends, "{}", s.name());
            for h in s.holes() {
                assert!(s.has(h.value), "{}", s.name());
            }
        }
        assert!(STENCILS.iter().any(|s| s.ends_with_continue));
        assert!(STENCILS.iter().any(|s| !s.has(HoleValue::Exit)));
    }

    /// The stencils' spans tile the generated arrays in order, so each
    /// stencil reads its own name, code and holes and nothing else's.
    #[test]
    fn spans_tile_the_tables() {
        let (mut name, mut code, mut holes) = (0, 0, 0);
        for s in &STENCILS {
            assert_eq!(
                (s.name.start, s.code.start, s.holes.start),
                (name, code, holes)
            );
            (name, code, holes) = (name + s.name.len, code + s.code.len, holes + s.holes.len);
            assert!(s.name().starts_with('_'), "{}", s.name());
            assert!(s.hot_len <= s.code().len(), "{}", s.name());
        }
        assert_eq!(name as usize, STENCIL_NAMES.len());
        assert_eq!(code as usize, STENCIL_CODE.len());
        assert_eq!(holes as usize, STENCIL_HOLES.len());
        let mut at = 0;
        for span in &SYMBOL_SPANS {
            assert_eq!(span.start, at);
            at += span.len;
        }
        assert_eq!(at as usize, SYMBOL_NAMES.len());
        assert!(symbols().any(|name| name == "_Py_Dealloc"));
        assert_eq!(by_name("_SET_IP").map(|s| s.name()), Some("_SET_IP"));
    }

    /// Whether `s` calls `helper` from its hot part.
    fn calls_in_line(s: &Stencil, helper: &str) -> bool {
        let index = symbols().position(|x| x == helper).unwrap() as u16;
        s.holes()
            .iter()
            .any(|h| h.value == HoleValue::Symbol(index) && (h.offset as usize) < s.hot_len)
    }

    /// Rare ways are laid out in the cold part, not in the main code
    /// between the usual ways: the cached attribute accesses end their hot
    /// part with the usual way's jump past the validity check, and the
    /// runtime's fallback, pending events and due counters are cold.
    #[test]
    fn rare_ways_are_cold() {
        for name in [
            "_LOAD_ATTR_CACHED",
            "_LOAD_ATTR_CACHED_BORROWED",
            "_LOAD_ATTR_CACHED_METHOD",
            "_STORE_ATTR_CACHED",
            "_STORE_ATTR_CACHED_BORROWED",
        ] {
            let s = by_name(name).unwrap();
            let n = s.hot_len;
            assert!(
                n >= 5
                    && s.code()[n - 5] == 0xE9
                    && s.holes().iter().any(|h| {
                        h.offset as usize == n - 4 && h.value == HoleValue::JumpTarget
                    }),
                "{name}"
            );
            assert!(!s.ends_with_continue, "{name}");
            for helper in ["jitsaw_load_attr_cached", "jitsaw_store_attr_cached"] {
                assert!(!calls_in_line(s, helper), "{name}");
            }
        }
        let breaker = by_name("_CHECK_EVAL_BREAKER").unwrap();
        assert!(!calls_in_line(breaker, "jitsaw_handle_pending"));
        assert!(!calls_in_line(breaker, "jitsaw_local_monitors"));
        assert!(!calls_in_line(
            by_name("_QUICKEN_REPORT").unwrap(),
            "jitsaw_quicken_due"
        ));
        // A conditional branch to the next micro-op, turned around: in line
        // only tests, and a branch to the cold part that calls out.
        for (name, helper) in [
            ("_CHECK_PERIODIC", "jitsaw_handle_pending"),
            ("_CHECK_LONG_LOOP", "jitsaw_long_loop"),
            ("_ITER_JUMP_RANGE", "jitsaw_dealloc"),
            ("_FOR_ITER_GEN_RETURNED", "jitsaw_dealloc"),
        ] {
            let s = by_name(name).unwrap();
            assert!(s.ends_with_continue && !s.cold().is_empty(), "{name}");
            assert!(!calls_in_line(s, helper), "{name}");
            assert!(
                s.holes()
                    .iter()
                    .any(|h| h.value == HoleValue::Cold && (h.offset as usize) < s.hot_len),
                "{name}"
            );
        }
        // The check after every call: a load, a test and a branch.
        assert!(by_name("_CHECK_PERIODIC").unwrap().hot_len <= 17);
    }

    #[test]
    fn both_answers_of_is_none_stay_in_line() {
        // `x is None` is as often true as false: no answer may take a far
        // jump to a cold part (which rustc lays out for the second of two
        // ways that each end in a jump to the next micro-op).
        let s = by_name("_IS_NONE").unwrap();
        assert!(s.cold().is_empty());
        assert!(!s
            .holes()
            .iter()
            .any(|h| matches!(h.value, HoleValue::Cold | HoleValue::Hot)));
    }
}
