//! The bytes every match of a rule holds, read from its pattern: a window that holds fewer of
//! them cannot hold a match, and is not searched.
//!
//! Most windows are built around a rule's trigger (often any digit), so many hold no match:
//! `48213377` gets a window for the rule of `3/4/26` dates, which needs two slashes. A search
//! of a short window still costs hundreds of instructions (starting the lazy DFA, reading each
//! byte, ending it), counting a few bytes costs a few per byte.
//!
//! Why the counts are necessary: an ASCII byte of a literal is a byte of every string the
//! literal matches; a concatenation's matches hold the bytes of each of its parts; every
//! alternative of an alternation holds at least the fewest any of them holds; a repetition
//! holds its part at least its minimum number of times; assertions, classes of more than one
//! character and the empty string promise nothing. A match of the rule lies inside the window
//! searched (see `prefilter`), so its bytes are bytes of the window.

use regex_syntax::hir::{Class, Hir, HirKind};

/// ASCII bytes and how many times at least every match holds each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Required {
    counts: Vec<(u8, usize)>,
}

impl Required {
    /// What every match of `hir` holds.
    pub(super) fn of(hir: &Hir) -> Self {
        let counts = counts(hir);
        Required {
            counts: (0u8..128).zip(counts).filter(|&(_, n)| n > 0).collect(),
        }
    }

    /// Whether `bytes` hold every required byte as many times as a match does.
    pub(super) fn held_by(&self, bytes: &[u8]) -> bool {
        self.counts
            .iter()
            .all(|&(byte, n)| bytes.iter().filter(|&&b| b == byte).take(n).count() == n)
    }

    /// Whether nothing is required (every window passes).
    pub(super) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// For each ASCII byte, how many times at least every match of `hir` holds it.
fn counts(hir: &Hir) -> [usize; 128] {
    let mut out = [0; 128];
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => {
            for &byte in literal.0.iter() {
                if let Some(slot) = out.get_mut(usize::from(byte)) {
                    *slot += 1;
                }
            }
        }
        HirKind::Class(class) => {
            if let Some(byte) = single_ascii(class)
                && let Some(slot) = out.get_mut(usize::from(byte))
            {
                *slot = 1;
            }
        }
        HirKind::Capture(capture) => out = counts(&capture.sub),
        HirKind::Repetition(repetition) => {
            let times = usize::try_from(repetition.min).unwrap_or(usize::MAX);
            for (slot, n) in out.iter_mut().zip(counts(&repetition.sub)) {
                *slot = n.saturating_mul(times);
            }
        }
        HirKind::Concat(parts) => {
            for part in parts {
                for (slot, n) in out.iter_mut().zip(counts(part)) {
                    *slot = slot.saturating_add(n);
                }
            }
        }
        HirKind::Alternation(branches) => {
            let mut branches = branches.iter().map(counts);
            if let Some(first) = branches.next() {
                out = first;
            }
            for branch in branches {
                for (slot, n) in out.iter_mut().zip(branch) {
                    *slot = (*slot).min(n);
                }
            }
        }
    }
    out
}

/// The ASCII byte a class matches, when it matches exactly one character and that is ASCII.
fn single_ascii(class: &Class) -> Option<u8> {
    let (start, end) = match class {
        Class::Unicode(class) => match class.ranges() {
            [range] => (u32::from(range.start()), u32::from(range.end())),
            _ => return None,
        },
        Class::Bytes(class) => match class.ranges() {
            [range] => (u32::from(range.start()), u32::from(range.end())),
            _ => return None,
        },
    };
    (start == end)
        .then(|| u8::try_from(start).ok())
        .flatten()
        .filter(u8::is_ascii)
}

#[cfg(test)]
mod tests;
