//! Options, from environment variables, validated with clear errors.

/// jitsaw's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Calls before a function without loops is compiled (`JITSAW_THRESHOLD`,
    /// see also `threshold_rent`);
    /// functions with loops compile at their first call, and again after
    /// as many calls if the first was shorter than compiling (see
    /// `hook::Decision::Wait`). 0 compiles every function at its first call.
    pub threshold: u32,
    /// Whether code without loops, past the threshold, also waits until its
    /// interpreted calls took as long as compiling it is estimated to take,
    /// and a generator's recompilations wait for a timed rent too (the
    /// default; with an explicit `JITSAW_THRESHOLD`, counts alone decide).
    pub threshold_rent: bool,
    /// What to print when compiling (`JITSAW_DUMP`).
    pub dump: Dump,
    /// Counting mode (`JITSAW_STATS=1`, or a `JITSAW_STATS_FILE` to append
    /// the counts to at exit): every instruction run is counted, compiled
    /// or interpreted.
    pub count: bool,
    /// `JITSAW_STATS_FILE`.
    pub count_file: Option<String>,
    /// `JITSAW_CODE_LIMIT`: MiB of machine code after which nothing more is
    /// compiled (until code is freed); 0 compiles nothing.
    pub code_limit_mib: u32,
    /// `JITSAW_PERF=1`: list compiled code in `/tmp/perf-PID.map` for perf.
    pub perf: bool,
    /// `JITSAW_PROFILE=1` (or a `JITSAW_REPORT` path): record profiles for
    /// `jitsaw.report()`.
    pub profile: bool,
    /// `JITSAW_DEBUG=1`: compiled code checks its stack depth before every
    /// micro-op and aborts with a message if it is off.
    pub debug: bool,
    /// `JITSAW_CHAOS`: for testing, deopt at pseudo-random instruction
    /// boundaries, on average every this many instructions (0: never).
    pub chaos: u32,
    /// `JITSAW_INLINE=0`: no call is inlined (`optimize::inline`), to
    /// compare; 1, the default, inlines small callees.
    pub inline: bool,
}

/// `JITSAW_DUMP`: a comma-separated list of `uops` and `asm`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dump {
    /// Print each compiled function's bytecode and micro-ops.
    pub uops: bool,
    /// Print its machine code, stencil by stencil.
    pub asm: bool,
}

/// The default `JITSAW_THRESHOLD`. CPython specializes an instruction on its
/// second execution, so two interpreted calls would do for the bytecode;
/// but most functions called a few times are start-up code, whose
/// compilations were most of the code a pyperf worker kept (nbody's: 5.4 MB
/// at 2, 4.1 MB at 16), and a few more interpreted calls of a function
/// without loops cost little.
pub const DEFAULT_THRESHOLD: u32 = 16;

/// The default `JITSAW_CODE_LIMIT`, in MiB.
pub const DEFAULT_CODE_LIMIT_MIB: u32 = 512;

impl Options {
    /// Reads the options from `get` (the environment, or a test's map).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Options, String> {
        let threshold_set = get("JITSAW_THRESHOLD").is_some_and(|v| !v.trim().is_empty());
        let threshold = match get("JITSAW_THRESHOLD").as_deref().map(str::trim) {
            None | Some("") => DEFAULT_THRESHOLD,
            Some(v) => v.parse::<u32>().map_err(|_| {
                format!("JITSAW_THRESHOLD must be a non-negative integer (calls before compiling), got {v:?}")
            })?,
        };
        let mut dump = Dump::default();
        if let Some(v) = get("JITSAW_DUMP") {
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match item {
                    "uops" => dump.uops = true,
                    "asm" => dump.asm = true,
                    other => {
                        return Err(format!(
                            "JITSAW_DUMP accepts a comma-separated list of 'uops' and 'asm', got {other:?}"
                        ))
                    }
                }
            }
        }
        let count_file = get("JITSAW_STATS_FILE").filter(|v| !v.trim().is_empty());
        let count = match get("JITSAW_STATS").as_deref().map(str::trim) {
            None | Some("") | Some("0") => count_file.is_some(),
            Some("1") => true,
            Some(v) => {
                return Err(format!(
                    "JITSAW_STATS must be 1 (count every instruction run) or 0, got {v:?}"
                ))
            }
        };
        let chaos = match get("JITSAW_CHAOS").as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(v) => v.parse::<u32>().map_err(|_| {
                format!("JITSAW_CHAOS must be a non-negative integer (instructions between forced deopts), got {v:?}")
            })?,
        };
        let perf = match get("JITSAW_PERF").as_deref().map(str::trim) {
            None | Some("") | Some("0") => false,
            Some("1") => true,
            Some(v) => {
                return Err(format!(
                    "JITSAW_PERF must be 1 (write /tmp/perf-PID.map for perf) or 0, got {v:?}"
                ))
            }
        };
        let profile = match get("JITSAW_PROFILE").as_deref().map(str::trim) {
            // `JITSAW_REPORT=path` writes a report at exit, from profiles.
            None | Some("") | Some("0") => {
                get("JITSAW_REPORT").is_some_and(|v| !v.trim().is_empty())
            }
            Some("1") => true,
            Some(v) => {
                return Err(format!(
                    "JITSAW_PROFILE must be 1 (record profiles for jitsaw.report()) or 0, got {v:?}"
                ))
            }
        };
        let debug = match get("JITSAW_DEBUG").as_deref().map(str::trim) {
            None | Some("") | Some("0") => false,
            Some("1") => true,
            Some(v) => {
                return Err(format!(
                    "JITSAW_DEBUG must be 1 (check stack depths in compiled code) or 0, got {v:?}"
                ))
            }
        };
        let inline = match get("JITSAW_INLINE").as_deref().map(str::trim) {
            None | Some("") | Some("1") => true,
            Some("0") => false,
            Some(v) => {
                return Err(format!(
                    "JITSAW_INLINE must be 1 (inline small callees) or 0 (never), got {v:?}"
                ))
            }
        };
        let code_limit_mib = match get("JITSAW_CODE_LIMIT").as_deref().map(str::trim) {
            None | Some("") => DEFAULT_CODE_LIMIT_MIB,
            // 0: compile nothing (the hook alone, for measuring its cost).
            Some(v) => v.parse::<u32>().map_err(|_| {
                format!(
                    "JITSAW_CODE_LIMIT must be a non-negative integer (MiB of machine code), got {v:?}"
                )
            })?,
        };
        Ok(Options {
            threshold,
            threshold_rent: !threshold_set,
            dump,
            count,
            count_file,
            code_limit_mib,
            perf,
            profile,
            debug,
            chaos,
            inline,
        })
    }

    /// Reads the options from the process environment.
    pub fn from_process_env() -> Result<Options, String> {
        Options::from_env(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Options, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Options::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]).unwrap(),
            Options {
                threshold: DEFAULT_THRESHOLD,
                threshold_rent: true,
                dump: Dump::default(),
                count: false,
                count_file: None,
                code_limit_mib: DEFAULT_CODE_LIMIT_MIB,
                perf: false,
                profile: false,
                debug: false,
                chaos: 0,
                inline: true,
            }
        );
    }

    #[test]
    fn threshold_values() {
        assert_eq!(parse(&[("JITSAW_THRESHOLD", "0")]).unwrap().threshold, 0);
        assert_eq!(
            parse(&[("JITSAW_THRESHOLD", " 17 ")]).unwrap().threshold,
            17
        );
        // Set, the threshold is a plain count; unset (or empty), the default
        // count also waits for the rent.
        assert!(!parse(&[("JITSAW_THRESHOLD", "16")]).unwrap().threshold_rent);
        assert!(parse(&[("JITSAW_THRESHOLD", " ")]).unwrap().threshold_rent);
        for bad in ["abc", "-1", "1.5", "99999999999"] {
            let e = parse(&[("JITSAW_THRESHOLD", bad)]).unwrap_err();
            assert!(e.contains("JITSAW_THRESHOLD") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn stats_values() {
        assert!(parse(&[("JITSAW_STATS", "1")]).unwrap().count);
        assert!(!parse(&[("JITSAW_STATS", "0")]).unwrap().count);
        let o = parse(&[("JITSAW_STATS_FILE", "/tmp/x.jsonl")]).unwrap();
        assert!(o.count && o.count_file.as_deref() == Some("/tmp/x.jsonl"));
        assert_eq!(parse(&[("JITSAW_CHAOS", "50")]).unwrap().chaos, 50);
        assert_eq!(
            parse(&[("JITSAW_CODE_LIMIT", "8")]).unwrap().code_limit_mib,
            8
        );
        assert_eq!(
            parse(&[("JITSAW_CODE_LIMIT", "0")]).unwrap().code_limit_mib,
            0
        );
        for bad in ["-1", "big", "1.5"] {
            let e = parse(&[("JITSAW_CODE_LIMIT", bad)]).unwrap_err();
            assert!(e.contains("JITSAW_CODE_LIMIT"), "{e}");
        }
        assert!(parse(&[("JITSAW_CHAOS", "x")])
            .unwrap_err()
            .contains("JITSAW_CHAOS"));
        assert!(parse(&[("JITSAW_PROFILE", "1")]).unwrap().profile);
        assert!(parse(&[("JITSAW_DEBUG", "1")]).unwrap().debug);
        assert!(parse(&[("JITSAW_DEBUG", "2")])
            .unwrap_err()
            .contains("JITSAW_DEBUG"));
        assert!(!parse(&[("JITSAW_INLINE", "0")]).unwrap().inline);
        assert!(parse(&[("JITSAW_INLINE", "yes")])
            .unwrap_err()
            .contains("JITSAW_INLINE"));
        assert!(parse(&[("JITSAW_PROFILE", "on")])
            .unwrap_err()
            .contains("JITSAW_PROFILE"));
        let e = parse(&[("JITSAW_STATS", "yes")]).unwrap_err();
        assert!(e.contains("JITSAW_STATS") && e.contains("yes"), "{e}");
    }

    #[test]
    fn dump_values() {
        let o = parse(&[("JITSAW_DUMP", "uops, asm")]).unwrap();
        assert_eq!(
            o.dump,
            Dump {
                uops: true,
                asm: true
            }
        );
        let e = parse(&[("JITSAW_DUMP", "uops,bytes")]).unwrap_err();
        assert!(e.contains("JITSAW_DUMP") && e.contains("\"bytes\""), "{e}");
    }
}
