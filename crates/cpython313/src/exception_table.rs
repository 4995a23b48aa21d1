//! The 3.13 exception table (`co_exceptiontable`): which handler covers an
//! instruction. Format and search follow `get_exception_handler` in
//! `Python/ceval.c`: entries of varints (start, size, target, depth<<1|lasti),
//! each entry's first byte marked with bit 7, sorted by start.

/// Where an exception raised at some instruction goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handler {
    /// Code-unit offset of the handler.
    pub target: u32,
    /// Stack depth to unwind to (above the frame's stack base).
    pub depth: u32,
    /// Whether the handler expects the raising offset pushed first.
    pub lasti: bool,
}

/// Reads one varint; `None` at the end of the table.
fn varint(table: &[u8], pos: &mut usize) -> Option<u32> {
    let mut byte = *table.get(*pos)?;
    let mut value = (byte & 63) as u32;
    while byte & 64 != 0 {
        *pos += 1;
        byte = *table.get(*pos)?;
        value = (value << 6) | (byte & 63) as u32;
    }
    *pos += 1;
    Some(value)
}

/// Tables longer than this many bytes are first narrowed by bisection, as
/// `get_exception_handler` does (`MAX_LINEAR_SEARCH`): a function with many
/// `try` blocks (a parser's) raises through a table of 150 bytes or more,
/// which a scan from the start decodes entry by entry at every raise.
const MAX_LINEAR_SEARCH: usize = 40;

/// The handler for the instruction at code-unit offset `index`, if any.
pub fn handler_for(table: &[u8], index: u32) -> Option<Handler> {
    let (mut pos, mut end) = (0, table.len());
    if end > MAX_LINEAR_SEARCH {
        if varint(table, &mut 0)? > index {
            return None;
        }
        // `pos` and `end` stay entry starts (first bytes marked with bit
        // 7), the entry at `pos` starting at or before `index`, the one at
        // `end` (if any) after it.
        while end - pos > MAX_LINEAR_SEARCH {
            let mut mid = pos + (end - pos) / 2;
            while mid > pos && table[mid] & 128 == 0 {
                mid -= 1;
            }
            if mid == pos {
                break;
            }
            let mut at = mid;
            if varint(table, &mut at)? > index {
                end = mid;
            } else {
                pos = mid;
            }
        }
    }
    while pos < end {
        let start = varint(table, &mut pos)?;
        if start > index {
            return None;
        }
        let size = varint(table, &mut pos)?;
        if index < start + size {
            let target = varint(table, &mut pos)?;
            let depth_lasti = varint(table, &mut pos)?;
            return Some(Handler {
                target,
                depth: depth_lasti >> 1,
                lasti: depth_lasti & 1 != 0,
            });
        }
        // Skip to the next entry's marked first byte.
        while pos < table.len() && table[pos] & 128 == 0 {
            pos += 1;
        }
    }
    None
}

/// Every entry of the table in order, as the code-unit range it covers
/// (`start..end`) and its handler. CPython writes them sorted by start,
/// not overlapping, so an offset's handler ([`handler_for`]) is that of the
/// entry covering it.
pub fn entries(table: &[u8]) -> impl Iterator<Item = (u32, u32, Handler)> + '_ {
    let mut pos = 0;
    core::iter::from_fn(move || {
        let start = varint(table, &mut pos)?;
        let size = varint(table, &mut pos)?;
        let target = varint(table, &mut pos)?;
        let depth_lasti = varint(table, &mut pos)?;
        // On to the next entry's marked first byte.
        while pos < table.len() && table[pos] & 128 == 0 {
            pos += 1;
        }
        let handler = Handler {
            target,
            depth: depth_lasti >> 1,
            lasti: depth_lasti & 1 != 0,
        };
        Some((start, start + size, handler))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes entries as CPython's assembler does (`assemble_exception_table`).
    fn encode(entries: &[(u32, u32, u32, u32, bool)]) -> [u8; 1024] {
        let mut out = [0u8; 1024];
        let mut n = 0;
        let mut put = |value: u32, first: bool| {
            let mut groups = [0u8; 6];
            let mut k = 0;
            let mut v = value;
            loop {
                groups[k] = (v & 63) as u8;
                k += 1;
                v >>= 6;
                if v == 0 {
                    break;
                }
            }
            for j in (0..k).rev() {
                let mut b = groups[j];
                if j > 0 {
                    b |= 64;
                }
                if first && j == k - 1 {
                    b |= 128;
                }
                out[n] = b;
                n += 1;
            }
        };
        for &(start, end, target, depth, lasti) in entries {
            put(start, true);
            put(end - start, false);
            put(target, false);
            put(depth << 1 | lasti as u32, false);
        }
        out
    }

    #[test]
    fn entries_give_each_offset_its_handler() {
        let t = encode(&[
            (2, 10, 20, 1, false),
            (12, 100, 200, 3, true),
            (130, 131, 7, 0, false),
        ]);
        let all = || entries(&t).filter(|&(start, end, _)| start < end);
        assert_eq!(all().count(), 3);
        for index in 0..140 {
            let covering = all()
                .find(|&(start, end, _)| (start..end).contains(&index))
                .map(|(_, _, h)| h);
            assert_eq!(handler_for(&t, index), covering, "{index}");
        }
    }

    /// A table long enough to be bisected: every offset gets the handler of
    /// the entry covering it, with entries of one to three bytes per
    /// varint and gaps between them.
    #[test]
    fn bisection_finds_what_a_scan_finds() {
        let mut list = [(0u32, 0u32, 0u32, 0u32, false); 120];
        let mut at = 1;
        for (i, e) in list.iter_mut().enumerate() {
            let len = 1 + (i as u32 * 7) % 90;
            *e = (at, at + len, 5000 + i as u32 * 3, i as u32 % 5, i % 3 == 0);
            at += len + (i as u32 % 4);
        }
        let full = encode(&list);
        let used = full.iter().rposition(|&b| b != 0).unwrap() + 1;
        for t in [&full[..], &full[..used], &full[..41], &full[..used / 2]] {
            let mut covering = [None; 6000];
            for (start, end, h) in entries(t) {
                for slot in &mut covering[start as usize..end as usize] {
                    *slot = Some(h);
                }
            }
            for (index, expected) in covering.iter().enumerate() {
                assert_eq!(handler_for(t, index as u32), *expected, "{index}");
            }
        }
    }

    #[test]
    fn finds_the_covering_entry() {
        let t = encode(&[(2, 10, 20, 1, false), (12, 100, 200, 3, true)]);
        assert_eq!(handler_for(&t, 1), None);
        assert_eq!(
            handler_for(&t, 2),
            Some(Handler {
                target: 20,
                depth: 1,
                lasti: false
            })
        );
        assert_eq!(
            handler_for(&t, 9),
            Some(Handler {
                target: 20,
                depth: 1,
                lasti: false
            })
        );
        assert_eq!(handler_for(&t, 10), None);
        assert_eq!(
            handler_for(&t, 99),
            Some(Handler {
                target: 200,
                depth: 3,
                lasti: true
            })
        );
        assert_eq!(handler_for(&t, 100), None);
        assert_eq!(handler_for(&[], 5), None);
    }
}
