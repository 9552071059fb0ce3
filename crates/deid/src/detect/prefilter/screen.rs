//! Which runs of a byte trigger each of its rules must look at, worked out once per run for all
//! of them.
//!
//! `windows` drops at once a run that is shorter than a rule's shortest match and has an ASCII
//! byte the rule does not allow (or the text's edge) on each side (see `windows` for why that
//! run holds no match). The digit trigger has a score of rules and hundreds of runs in a
//! digit-dense text, and most runs are dropped so for most of them: asking each rule in turn
//! read the run's neighbours and the rule's table again for every rule. Here one table look-up
//! per neighbour gives, for every rule of the trigger at once (a bit each), whether that byte
//! fences the run in, and one more whether the run is shorter than the rule's shortest match;
//! the rules whose bit is clear in all three skip the run. The test is the one `windows` makes,
//! only made for all the rules together.

use super::Reach;

/// The most rules of one trigger a screen answers for: one bit each in a `u64`.
const MAX_RULES: usize = 64;

/// The fewest rules of one trigger worth a screen: with fewer, the pass that screens the runs
/// costs about what it saves them.
const MIN_RULES: usize = 4;

/// For one byte trigger, what fences its runs in for each of its rules that allow every trigger
/// byte (rule `k` of the screen has bit `k`).
pub(super) struct Screen {
    /// For each byte, the rules for which it is an ASCII byte they do not allow.
    fences: [u64; 256],
    /// For each run length below the longest shortest match, the rules whose shortest match is
    /// longer; every run at least that long is too long for all of them.
    short: Vec<u64>,
    /// The rules whose every match starts on a trigger byte, for which the byte before a run
    /// does not matter (see `windows`).
    opening: u64,
}

impl Screen {
    /// The screen of the rules `reaches` (in order, bit `k` for the `k`-th), or `None` when
    /// there are more than a `u64` has bits for, or too few to be worth it.
    pub(super) fn new(reaches: &[&Reach]) -> Option<Self> {
        if !(MIN_RULES..=MAX_RULES).contains(&reaches.len()) {
            return None;
        }
        let mut fences = [0u64; 256];
        let longest = reaches.iter().map(|r| r.min_len).max().unwrap_or(0);
        let mut short = vec![0u64; longest];
        let mut opening = 0;
        for (k, reach) in reaches.iter().enumerate() {
            let bit = 1u64 << k;
            if reach.starts_on_trigger {
                opening |= bit;
            }
            for (byte, fence) in fences.iter_mut().enumerate().take(128) {
                if !reach.allows[byte] {
                    *fence |= bit;
                }
            }
            for rules in short.iter_mut().take(reach.min_len) {
                *rules |= bit;
            }
        }
        Some(Screen {
            fences,
            short,
            opening,
        })
    }

    /// For each run of `runs` in `bytes`, the rules that must look at it: the bits of those it
    /// is neither fenced in for nor too short for.
    pub(super) fn live(&self, bytes: &[u8], runs: &[(usize, usize)]) -> Vec<u64> {
        let fence = |at: Option<usize>| {
            at.and_then(|at| bytes.get(at))
                .map_or(u64::MAX, |&b| self.fences[usize::from(b)])
        };
        runs.iter()
            .map(|&(start, end)| {
                let short = self.short.get(end - start).copied().unwrap_or(0);
                let before = fence(start.checked_sub(1)) | self.opening;
                !(short & before & fence(Some(end)))
            })
            .collect()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::Screen;
    use crate::detect::prefilter::Reach;
    use crate::testgen::Gen;

    /// A rule triggered by digits (and bytes beyond ASCII) that allows `allowed` besides.
    pub(in crate::detect::prefilter) fn reach(allowed: &[u8], min_len: usize) -> Reach {
        Reach {
            trigger: Some(0),
            allows: std::array::from_fn(|b| {
                u8::try_from(b)
                    .is_ok_and(|b| b >= 0x80 || b.is_ascii_digit() || allowed.contains(&b))
            }),
            min_len,
            max_len: None,
            max_cost: None,
            starts_on_trigger: false,
            allows_trigger: true,
            starts_on_word: false,
            needs_digits: false,
        }
    }

    /// The test `windows` makes for one rule, written out plainly.
    fn dropped(rule: &Reach, bytes: &[u8], (start, end): (usize, usize)) -> bool {
        let outside = |at: Option<usize>| match at.and_then(|at| bytes.get(at)) {
            None => true,
            Some(&b) => b.is_ascii() && !rule.allows[usize::from(b)],
        };
        let before = rule.starts_on_trigger || outside(start.checked_sub(1));
        end - start < rule.min_len && before && outside(Some(end))
    }

    #[test]
    fn a_rule_skips_exactly_the_runs_windows_would_drop() {
        let mut opening = reach(b" -", 5);
        opening.starts_on_trigger = true;
        let rules = [
            reach(b"", 8),
            reach(b"-", 6),
            reach(b" -.", 4),
            reach(b"/", 11),
            reach(b"abc ", 1),
            opening,
        ];
        let refs: Vec<&Reach> = rules.iter().collect();
        let Some(screen) = Screen::new(&refs) else {
            panic!("six rules fit")
        };
        let alphabet: &[u8] = b"0123-/ .ab\n\xc3\xa9";
        let mut generator = Gen::new(0x9E37_79B9_7F4A_7C15);
        for len in 0..120 {
            let text = generator.bytes(alphabet, len);
            // Runs of digits and bytes beyond ASCII, as the scan lists them.
            let mut runs: Vec<(usize, usize)> = Vec::new();
            for (at, &b) in text.iter().enumerate() {
                if b.is_ascii_digit() || b >= 0x80 {
                    match runs.last_mut() {
                        Some(last) if last.1 == at => last.1 = at + 1,
                        _ => runs.push((at, at + 1)),
                    }
                }
            }
            let live = screen.live(&text, &runs);
            for (run, mask) in runs.iter().zip(&live) {
                for (k, rule) in rules.iter().enumerate() {
                    let skipped = mask & (1 << k) == 0;
                    assert_eq!(skipped, dropped(rule, &text, *run), "rule {k}, run {run:?}");
                }
            }
        }
    }
}
