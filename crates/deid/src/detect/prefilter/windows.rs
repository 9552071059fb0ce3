//! Building one rule's windows from the occurrences of its trigger (see the parent module for
//! why the windows hold every match).

use super::Reach;
use super::costs::Costs;
use super::scan::{all_allowed, opens};

/// Runs of trigger bytes cut to the bytes `rule` allows: a trigger byte a rule's matches never
/// hold is in none of its matches, and neighbouring trigger bytes it does allow are one group.
/// They replace what `out` held.
pub(super) fn allowed_runs(
    bytes: &[u8],
    rule: &Reach,
    runs: &[(usize, usize)],
    out: &mut Vec<(usize, usize)>,
) {
    out.clear();
    for &(start, end) in runs {
        let mut from = None;
        for (at, &byte) in bytes.iter().enumerate().take(end).skip(start) {
            match (rule.allows[usize::from(byte)], from) {
                (true, None) => from = Some(at),
                (false, Some(f)) => {
                    out.push((f, at));
                    from = None;
                }
                _ => {}
            }
        }
        if let Some(f) = from {
            out.push((f, end));
        }
    }
}

/// What the bytes of a rule's trigger occurrences are known to be.
#[derive(Clone, Copy)]
pub(super) enum Hits<'h> {
    /// Any bytes: an occurrence holding one the rule does not allow is in no match.
    Any,
    /// Only bytes the rule allows (see `allowed_runs`), in runs that never touch: a byte
    /// outside every run lies between any two of them.
    Cut,
    /// Runs as `Cut`, already screened for all the rules of the trigger (see `screen`): the
    /// rule skips run `i` when `live[i]` lacks its `bit`.
    Screened { live: &'h [u64], bit: u64 },
}

/// The merged windows of one rule around the sorted occurrences `hits` of its trigger, appended
/// to `out` (what `out` already held belongs to other rules and is left alone). `needs`, for a
/// rule every match of which holds a digit or a byte beyond ASCII, lists the runs of such bytes.
///
/// Occurrences that touch or overlap form one group (every byte of it may be in a match). A
/// group's window reaches from it, on each side, over bytes the rule allows, for no more
/// printable bytes than a match can hold and no more bytes than the longest match. Each byte is
/// read at most about once per rule: a scan to the left stops at the previous window, and one
/// to the right resumes where the previous one stopped.
pub(super) fn windows(
    text: &str,
    rule: &Reach,
    hits: &[(usize, usize)],
    hits_are: Hits<'_>,
    needs: Option<&[(usize, usize)]>,
    costs: &Costs,
    out: &mut Vec<(usize, usize)>,
) {
    // Made once for runs and once for words: the tests that tell them apart, made for every
    // group, are left out of each.
    match hits_are {
        Hits::Any => build::<false>(text, rule, hits, hits_are, needs, costs, out),
        Hits::Cut | Hits::Screened { .. } => {
            build::<true>(text, rule, hits, hits_are, needs, costs, out);
        }
    }
}

/// As `windows`, for hits that are cut runs (`CUT`, that is `Hits::Cut` or `Hits::Screened`)
/// or any occurrences (`Hits::Any`).
fn build<const CUT: bool>(
    text: &str,
    rule: &Reach,
    hits: &[(usize, usize)],
    hits_are: Hits<'_>,
    needs: Option<&[(usize, usize)]>,
    costs: &Costs,
    out: &mut Vec<(usize, usize)>,
) {
    let bytes = text.as_bytes();
    // The last window so far, kept here rather than in `out` until a window apart from it
    // follows: only the last one ever grows or is read, and `out`, which may move as it
    // grows, is written once per window instead of read once per group.
    let mut last: Option<(usize, usize)> = None;
    // Runs of trigger bytes are already cut to allowed bytes; words may hold any.
    let cut = CUT;
    // An occurrence that cannot start a match, when every match starts on one, is in none
    // (the same test the scan made for all of a trigger's rules together).
    let fits = |&(start, end): &(usize, usize)| {
        opens(rule.starts_on_word, bytes, start)
            && (cut || all_allowed(&rule.allows, bytes, start, end))
    };
    // Cut runs hold only allowed bytes, and only a rule of a trigger word opens on one: every
    // run fits, and the test is not made once per run (most of the digit rules' work is).
    let all_fit = cut && !rule.starts_on_word;
    // A run with an ASCII byte the rule does not allow (or the text's edge) on each side is
    // a window of its own, exactly the run: no scan reaches out of it, no window before it
    // reaches into it (a scan stops before a byte not allowed, and a boundary fix-up moves
    // no further than an ASCII byte), and no window after it reaches back to it. Such a run
    // shorter than the shortest match would only be dropped by the filter at the end, so it
    // is dropped at once, in O(1), before the budget look-ups and the scans: most digit runs
    // are, for the rules that need a long run of digits alone. `frontier` needs no update:
    // the one it would get stops before the next run starts, like the one it has.
    //
    // For a rule whose every match starts on a trigger byte, the byte before the run does not
    // matter: a match that starts in the run ends by the fence after it, too short; a match
    // that only runs through it starts at an earlier run and lies in that run's window.
    let fenced = |start: usize, end: usize| {
        let outside = |at: Option<usize>| {
            at.and_then(|at| bytes.get(at))
                .is_none_or(|&b| b.is_ascii() && !rule.allows[usize::from(b)])
        };
        (rule.starts_on_trigger || outside(start.checked_sub(1))) && outside(Some(end))
    };
    // Every byte from the current group up to `frontier` is allowed; when `at_run_end`, the
    // byte at `frontier` is not (or the text ends there).
    let (mut frontier, mut at_run_end) = (0, false);
    let mut i = 0;
    while i < hits.len() {
        // The screen made the fenced test below for this run already.
        if let Hits::Screened { live, bit } = hits_are
            && live.get(i).is_some_and(|&rules| rules & bit == 0)
        {
            i += 1;
            continue;
        }
        // An occurrence holding a byte no match may hold is in no match.
        if !all_fit && !fits(&hits[i]) {
            i += 1;
            continue;
        }
        let (start, mut end) = hits[i];
        let (mut min_end, mut max_start) = (end, start);
        i += 1;
        // Runs of trigger bytes never touch (see `Hits::Cut`), so this group is one run.
        let screened = matches!(hits_are, Hits::Screened { .. });
        if cut && !screened && end - start < rule.min_len && fenced(start, end) {
            continue;
        }
        // Cut runs never touch: none joins the group, and the test is left out.
        while !cut && i < hits.len() && hits[i].0 <= end && fits(&hits[i]) {
            min_end = min_end.min(hits[i].1);
            max_start = hits[i].0;
            end = end.max(hits[i].1);
            i += 1;
        }
        // A group that starts before a frontier the last scan stopped at for want of allowed
        // bytes, when the last window reaches that far, adds nothing: every byte of the group
        // is allowed, so it ends by the frontier; its window would start no later than it
        // does and end no later than the frontier, so it would merge into the last window
        // and leave it as it is, and the frontier would stay. Most occurrences of a rule
        // whose windows span whole sentences are such, and the budget look-ups and scans
        // below cost more than anything else here.
        if at_run_end && start < frontier && last.is_some_and(|w| w.1 >= frontier) {
            continue;
        }
        let budget = rule.max_cost.and_then(|b| u32::try_from(b).ok());
        let mut high = rule
            .max_len
            .map_or(bytes.len(), |len| (max_start + len).min(bytes.len()));
        if let Some(budget) = budget {
            let ceiling = costs.before(end).saturating_add(budget);
            high = high.min(costs.last_with(ceiling));
        }

        // A match that starts on a trigger byte or word starts inside this group: nothing to
        // its left is in one, so the window needs no lower bound (nor its budget look-up).
        let starts_inside = (cut && rule.starts_on_trigger) || rule.starts_on_word;
        let low = if starts_inside {
            start
        } else {
            let mut low = rule.max_len.map_or(0, |len| min_end.saturating_sub(len));
            if let Some(budget) = budget {
                let floor = costs.before(start).saturating_sub(budget);
                low = low.max(costs.first_with(floor));
            }
            low
        };
        // Every match holding an occurrence of the group lies in `low..high`: when a match
        // needs a byte found nowhere there, the group is in none, and its window is not worth
        // the scans below. Leaving it out changes no other group's window (each holds its own
        // group's matches), and `frontier` stays true (its bytes are allowed whoever scanned
        // them). Without a bound the span is the whole text, and only the test after the
        // scans can tell.
        let bounded = budget.is_some() || rule.max_len.is_some();
        if bounded && needs.is_some_and(|runs| !overlaps(runs, low, high)) {
            continue;
        }
        let mut from = start;
        if !starts_inside {
            let bound = low.max(last.map_or(0, |w| w.1));
            if from > bound {
                from -= allowed_suffix(&rule.allows, &bytes[bound..start]);
            }
        }
        let known = start < frontier;
        let mut to = if known {
            frontier.min(high).max(end)
        } else {
            end
        };
        if !(known && at_run_end) {
            if to < high {
                to += allowed_prefix(&rule.allows, &bytes[to..high]);
            }
            if to < high || to == bytes.len() {
                (frontier, at_run_end) = (to, true);
            } else if !known || to > frontier {
                (frontier, at_run_end) = (to, false);
            }
        }

        while !text.is_char_boundary(from) {
            from -= 1;
        }
        while !text.is_char_boundary(to) {
            to += 1;
        }
        match &mut last {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            // A window apart from the last one was not cut short by it: every match around
            // this group lies in `from..to`, so when a match needs a byte found nowhere there,
            // there is none.
            _ if needs.is_some_and(|runs| !overlaps(runs, from, to)) => {}
            // The last window is final once a window apart from it follows.
            _ => keep(last.replace((from, to)), rule.min_len, out),
        }
    }
    keep(last, rule.min_len, out);
}

/// Appends a final `window` to `out`, unless it is shorter than the shortest match (`min_len`)
/// and so holds none.
fn keep(window: Option<(usize, usize)>, min_len: usize, out: &mut Vec<(usize, usize)>) {
    if let Some(window) = window.filter(|w| w.1 - w.0 >= min_len) {
        out.push(window);
    }
}

/// Whether one of `runs` (sorted and disjoint, as the scan lists runs of trigger bytes) holds
/// a byte of `from..to`: a binary search rather than a read of the window's bytes, which cost
/// more than the rest of the window's making for rules whose windows span whole sentences.
fn overlaps(runs: &[(usize, usize)], from: usize, to: usize) -> bool {
    let first_after = runs.partition_point(|run| run.1 <= from);
    runs.get(first_after)
        .is_some_and(|run| run.0.max(from) < to)
}

/// Bytes read at a time by `allowed_prefix` and `allowed_suffix`: eight table look-ups and
/// one branch, rather than a branch per byte.
const STRIDE: usize = 8;

/// Whether `allows` lets a match hold every byte of `chunk`.
fn all_allow(allows: &[bool; 256], chunk: &[u8]) -> bool {
    chunk
        .iter()
        .fold(true, |all, &byte| all & allows[usize::from(byte)])
}

/// How many bytes at the start of `bytes` `allows` lets a match hold.
///
/// Most scans stop within a few bytes (a run of digits ends at a space or a slash the rule
/// does not allow): the first `STRIDE` bytes are read one at a time, with a branch each, and
/// only a scan that gets past them goes on eight at a time.
///
/// Inlined into both versions of `build`: left to itself the compiler made it a call, and the
/// two versions together then cost about three instructions per byte more on the gateway's
/// prompt than the one they replace.
#[inline(always)]
fn allowed_prefix(allows: &[bool; 256], bytes: &[u8]) -> usize {
    let head = bytes.len().min(STRIDE);
    let (head, tail) = bytes.split_at(head);
    if let Some(at) = head.iter().position(|&byte| !allows[usize::from(byte)]) {
        return at;
    }
    head.len() + allowed_prefix_by_chunks(allows, tail)
}

/// As `allowed_prefix`, eight bytes at a time from the start.
fn allowed_prefix_by_chunks(allows: &[bool; 256], bytes: &[u8]) -> usize {
    let mut count = 0;
    for chunk in bytes.chunks_exact(STRIDE) {
        if !all_allow(allows, chunk) {
            break;
        }
        count += STRIDE;
    }
    let rest = &bytes[count..];
    count
        + rest
            .iter()
            .position(|&byte| !allows[usize::from(byte)])
            .unwrap_or(rest.len())
}

/// How many bytes at the end of `bytes` `allows` lets a match hold (read as `allowed_prefix`
/// reads, from the other end). Inlined as `allowed_prefix` is.
#[inline(always)]
fn allowed_suffix(allows: &[bool; 256], bytes: &[u8]) -> usize {
    let (body, head) = bytes.split_at(bytes.len() - bytes.len().min(STRIDE));
    if let Some(at) = head
        .iter()
        .rev()
        .position(|&byte| !allows[usize::from(byte)])
    {
        return at;
    }
    head.len() + allowed_suffix_by_chunks(allows, body)
}

/// As `allowed_suffix`, eight bytes at a time from the end.
fn allowed_suffix_by_chunks(allows: &[bool; 256], bytes: &[u8]) -> usize {
    let mut count = 0;
    for chunk in bytes.rchunks_exact(STRIDE) {
        if !all_allow(allows, chunk) {
            break;
        }
        count += STRIDE;
    }
    let rest = &bytes[..bytes.len() - count];
    count
        + rest
            .iter()
            .rev()
            .position(|&byte| !allows[usize::from(byte)])
            .unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::{Hits, allowed_prefix, allowed_suffix, overlaps, windows};
    use crate::detect::prefilter::Reach;
    use crate::detect::prefilter::costs::Costs;
    use crate::detect::prefilter::screen::tests::reach as digit_rule;
    use crate::testgen::Gen;

    /// The rule's variants: bounded or not, starting on its trigger or not.
    fn variants(allowed: &[u8], min_len: usize) -> Vec<Reach> {
        let mut all = Vec::new();
        for (max_len, max_cost) in [(None, None), (Some(12), Some(8)), (Some(30), None)] {
            for starts_on_trigger in [false, true] {
                let mut rule = digit_rule(allowed, min_len);
                rule.max_len = max_len;
                rule.max_cost = max_cost;
                rule.starts_on_trigger = starts_on_trigger;
                all.push(rule);
            }
        }
        all
    }

    /// Runs of `pick` bytes in `bytes`, as the scan lists runs of trigger bytes.
    fn runs_of(bytes: &[u8], pick: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (at, &b) in bytes.iter().enumerate() {
            if pick(b) {
                match runs.last_mut() {
                    Some(last) if last.1 == at => last.1 = at + 1,
                    _ => runs.push((at, at + 1)),
                }
            }
        }
        runs
    }

    /// Occurrences of `word` in `bytes`, overlapping ones too.
    fn occurrences(bytes: &[u8], word: &[u8]) -> Vec<(usize, usize)> {
        (0..bytes.len())
            .filter(|&at| bytes[at..].starts_with(word))
            .map(|at| (at, at + word.len()))
            .collect()
    }

    /// Text of pieces with digits, separators and letters, some beyond ASCII.
    fn text(generator: &mut Gen, pieces: usize) -> String {
        const PIECES: &[&str] = &[
            "1", "12", "123", "2026", "-", "/", " ", "  ", ".", "a", "ab", "aba", "é", "٣", "\n",
            ":", "x",
        ];
        (0..pieces).map(|_| generator.pick(PIECES)).collect()
    }

    /// Calls `check` with each of 600 generated texts, its budget map and its digit runs.
    fn generated(seed: u64, mut check: impl FnMut(usize, &str, &Costs, &[(usize, usize)])) {
        let mut generator = Gen::new(seed);
        for case in 0..600 {
            let text = text(&mut generator, case % 40);
            let bytes = text.as_bytes();
            let digits = runs_of(bytes, |b| b >= 0x80 || b.is_ascii_digit());
            check(case, &text, &Costs::new(bytes), &digits);
        }
    }

    #[test]
    fn cut_runs_make_the_windows_any_occurrences_would() {
        generated(0x2545_F491_4F6C_DD1D, |case, text, costs, digits| {
            for allowed in [&b" -"[..], b"-/", b"a. ", b""] {
                // With no shortest match no run is dropped before its window is made, and a
                // window may start before its run: the two readings differ in nothing else.
                for rule in variants(allowed, 0).iter().filter(|r| !r.starts_on_trigger) {
                    let (mut cut, mut any) = (vec![(0, 0)], vec![(0, 0)]);
                    windows(text, rule, digits, Hits::Cut, None, costs, &mut cut);
                    windows(text, rule, digits, Hits::Any, None, costs, &mut any);
                    assert_eq!(cut, any, "case {case}");
                }
            }
        });
    }

    #[test]
    fn dropping_short_windows_as_they_are_made_drops_what_a_filter_at_the_end_drops() {
        generated(0x5851_F42D_4C95_7F2D, |case, text, costs, digits| {
            let words = occurrences(text.as_bytes(), b"ab");
            for (allowed, min_len) in [(&b" -"[..], 5), (b"-/", 3), (b"a. ", 8), (b"", 2)] {
                for rule in variants(allowed, min_len) {
                    // Read as any occurrences, not as cut runs: a cut run too short for the
                    // rule and fenced in is dropped before its window is made, which the
                    // rule with no shortest match would make (harmlessly: it holds no match).
                    for hits in [digits, &words[..]] {
                        let hits_are = Hits::Any;
                        let mut fast = vec![(0, 0)];
                        windows(text, &rule, hits, hits_are, None, costs, &mut fast);
                        // The same rule with no shortest match, its windows filtered after.
                        let mut plain = vec![(0, 0)];
                        let any_length = Reach { min_len: 0, ..rule };
                        windows(text, &any_length, hits, hits_are, None, costs, &mut plain);
                        plain.retain(|w| w == &(0, 0) || w.1 - w.0 >= min_len);
                        assert_eq!(fast, plain, "case {case}, shortest {min_len}");
                    }
                }
            }
        });
    }

    #[test]
    fn allowed_prefix_and_suffix_count_the_allowed_bytes_at_each_end() {
        let allows: [bool; 256] = std::array::from_fn(|b| {
            u8::try_from(b).is_ok_and(|b| b >= 0x80 || b.is_ascii_digit() || b == b'-')
        });
        let alphabet: &[u8] = b"0123456789----- a\xc3\xa9";
        let mut generator = Gen::new(0x2545_F491_4F6C_DD1D);
        for len in 0..200 {
            for _ in 0..8 {
                let text = generator.bytes(alphabet, len);
                let ok = |&b: &u8| allows[usize::from(b)];
                let prefix = text.iter().take_while(|b| ok(b)).count();
                let suffix = text.iter().rev().take_while(|b| ok(b)).count();
                assert_eq!(
                    allowed_prefix(&allows, &text),
                    prefix,
                    "prefix, length {len}"
                );
                assert_eq!(
                    allowed_suffix(&allows, &text),
                    suffix,
                    "suffix, length {len}"
                );
            }
        }
    }

    #[test]
    fn overlaps_says_whether_a_run_holds_a_byte_of_the_span() {
        let runs = [(2, 4), (7, 8), (10, 15)];
        let plain = |from: usize, to: usize| {
            runs.iter()
                .any(|r| (r.0..r.1).any(|b| (from..to).contains(&b)))
        };
        for from in 0..18 {
            for to in from..18 {
                assert_eq!(overlaps(&runs, from, to), plain(from, to), "{from}..{to}");
            }
        }
        assert!(!overlaps(&[], 0, 10));
    }
}
