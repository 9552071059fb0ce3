//! One pass over a text that says where each rule could match, so that rules run only on small
//! windows instead of each scanning the whole text.
//!
//! Each rule has a trigger (see `trigger`): strings or bytes of which every match holds one.
//! Aho-Corasick automata find every occurrence of every trigger word (see `words`), and a table
//! lookup per byte every trigger byte, in the same pass (see `scan`). A word occurrence that
//! holds a byte no rule of its trigger allows, or that follows a word byte when every such rule
//! opens on a word, is in no match of any of them and is dropped there. Around each occurrence,
//! a rule's window is the stretch of bytes its matches may hold (its reach), on each side no
//! longer than its longest match and holding no more printable bytes than a match can;
//! overlapping windows merge.
//!
//! Why a window search finds exactly what a whole-text search finds: every match of the
//! whole-text search holds a trigger occurrence and only bytes of the rule's reach, so it lies
//! inside the window built around that occurrence; windows are disjoint once merged. A search
//! bounded to a window still reads the text around it for `\b`, `^` and `$` (the engine is
//! given the whole text and a span), so a match inside a window is a match of the whole text,
//! and the leftmost-first match at any position, when it fits in the window, is the one the
//! bounded search prefers too. Searching each window from its start, one match after another,
//! therefore yields the whole-text matches that lie in it, in order. The detector's tests check
//! this on every shipped corpus and on generated text.

use regex_syntax::hir::Hir;

use super::trigger::{self, ByteSet, FOLD_ESCAPES, Words};
use crate::error::DeidError;
use joint::Joint;
use room::Room;
use scan::{Gate, scan};
use screen::Screen;
use windows::{Hits, allowed_runs, windows};
use words::WordFinder;

/// What occurrences of a trigger look like.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Trigger {
    /// One of these strings, ignoring ASCII case.
    Words(Words),
    /// One of these bytes.
    Bytes(ByteSet),
}

/// What the prefilter knows about one rule. Rules with equal reaches have equal windows in
/// every text, so the prefilter computes them once per distinct reach.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Reach {
    /// Index into `Prefilter::triggers`, or `None` when the rule runs on the whole text.
    trigger: Option<usize>,
    /// For each byte, whether a match may hold it (a table rather than a `ByteSet`: the scans
    /// that build windows ask about every byte they read).
    allows: [bool; 256],
    /// The shortest a match can be, in bytes.
    min_len: usize,
    /// The longest a match can be, in bytes, when bounded.
    max_len: Option<usize>,
    /// The most printable ASCII bytes a match can hold, when bounded (see `trigger::costs`).
    max_cost: Option<usize>,
    /// Every match starts with a byte of its trigger (a byte trigger only): a window then
    /// starts where its run of trigger bytes does, instead of reaching back from it.
    starts_on_trigger: bool,
    /// A match may hold every byte of its trigger (a byte trigger only): runs of trigger bytes
    /// need no cutting to the allowed bytes.
    allows_trigger: bool,
    /// Every match starts with a trigger word right after a word boundary (a word trigger
    /// only, see `trigger::starts_on_word`): an occurrence after an ASCII letter, digit or
    /// underscore is in no match, and a window starts at the occurrence that opens it.
    starts_on_word: bool,
    /// Every match holds a digit or a byte beyond ASCII besides its trigger (a word trigger
    /// only): a window around a group of occurrences that holds none holds no match. Those
    /// bytes are a trigger of their own (`Prefilter::digits`), so the scan lists where they are.
    needs_digits: bool,
}

/// Where one rule must be searched in one text.
pub(crate) enum Plan<'p> {
    /// The whole text.
    Whole,
    /// Only these disjoint byte ranges, in order (possibly none).
    Windows(&'p [(usize, usize)]),
}

/// Where every rule must be searched in one text: one plan per distinct reach, shared by the
/// rules that have it.
///
/// Every reach's windows lie one reach after another in one buffer (`room.windows`): one
/// allocation per text instead of one per reach. Sharing the buffer changes no window:
/// `windows` only reads and merges the part it appends for its own reach, so each reach's
/// slice is the list it would have built alone, and the argument at the top of this module
/// holds for it unchanged. For each distinct reach, `room.reaches` says where its windows lie
/// in the buffer, or `None` for the whole text. The room goes back to the thread, emptied,
/// when the plans are dropped (see `room`).
pub(crate) struct Plans<'f> {
    prefilter: &'f Prefilter,
    room: Room,
}

impl Plans<'_> {
    /// The plan of the rule at `index` (in the order the prefilter was built with).
    pub(crate) fn of(&self, index: usize) -> Plan<'_> {
        let reach = self.prefilter.rule_reach.get(index).copied();
        let span = reach.and_then(|r| self.room.reaches.get(r).copied().flatten());
        // A span always lies in `windows`; were it not to, the whole text is still a safe plan.
        match span.and_then(|(from, to)| self.room.windows.get(from..to)) {
            Some(windows) => Plan::Windows(windows),
            None => Plan::Whole,
        }
    }
}

impl Drop for Plans<'_> {
    fn drop(&mut self) {
        room::keep(std::mem::take(&mut self.room));
    }
}

/// The automata over every rule's trigger words, the table of trigger bytes, and each rule's
/// reach.
pub(crate) struct Prefilter {
    /// Trigger words, read ignoring ASCII case or spelled the one way their rules allow (see
    /// `words`), and the fold escapes, found by one automaton (see `joint`).
    joint: Joint,
    /// For each trigger, which of its word occurrences some rule of it may hold (read for word
    /// triggers only).
    gates: Vec<Gate>,
    /// For each byte, the byte triggers (one bit each) it belongs to.
    byte_triggers: [u64; 256],
    triggers: Vec<Trigger>,
    /// The index in `triggers` of the digits and bytes beyond ASCII, whose runs tell a window
    /// of a rule that `needs_digits` whether it may hold a match: there whenever such a rule
    /// is, even when no rule has it as its trigger.
    digits: Option<usize>,
    /// The triggers of bytes with a screen of their rules that allow all of them (see
    /// `screen`), and that screen.
    screens: Vec<(usize, Screen)>,
    /// For each reach, the index in `screens` of its trigger's screen and its bit there, or a
    /// bit of zero when no screen has it.
    screen_bits: Vec<(usize, u64)>,
    /// Every distinct reach of a rule.
    reaches: Vec<Reach>,
    /// For each rule, the index of its reach in `reaches`.
    rule_reach: Vec<usize>,
    /// For each reach, the reach whose windows it borrows (see `hosts`).
    hosts: Vec<Option<usize>>,
}

/// The bytes every digit rule relies on: ASCII digits and, since `\d` is Unicode, every byte
/// of a character beyond ASCII.
fn digits_and_non_ascii() -> ByteSet {
    let mut set = ByteSet::of(b"0123456789");
    set.insert_non_ascii();
    set
}

/// Picks the trigger that narrows a rule's search the most, from the ones it provably has.
fn choose(hir: &Hir) -> Option<Trigger> {
    let words = trigger::required_words(hir);
    let strength = words.as_ref().map_or(0, trigger::strength);
    let bytes = |set: ByteSet| trigger::requires(hir, &set).then_some(Trigger::Bytes(set));
    // Words that open every match at a word boundary count only after a non-word byte, and
    // their windows reach no further back than they do (see `trigger::starts_on_word`):
    // rarer and narrower than other words as long as they are no shorter (`the` in
    // `(?:the\s+)?corner` is no match for `corner`).
    let opening = trigger::opening_words(hir).filter(|w| {
        let opens = trigger::strength(w);
        opens >= 2 && (opens >= strength || strength < 3)
    });
    // `@` and `+` are rare in prose: a rule that needs one (an email, a number written with
    // its country code) looks nowhere else.
    bytes(ByteSet::of(b"@"))
        .or_else(|| bytes(ByteSet::of(b"+")))
        .or_else(|| opening.map(Trigger::Words))
        .or_else(|| words.clone().filter(|_| strength >= 3).map(Trigger::Words))
        .or_else(|| bytes(digits_and_non_ascii()))
        .or_else(|| {
            // Two-letter words occur everywhere inside longer words: only a few of them beat a
            // punctuation mark.
            let few = words.as_ref().is_some_and(|w| w.len() <= 8);
            words
                .clone()
                .filter(|_| strength >= 2 && few)
                .map(Trigger::Words)
        })
        .or_else(|| bytes(ByteSet::of(b":")))
        .or_else(|| bytes(ByteSet::of(b",")))
        .or_else(|| words.map(Trigger::Words))
}

impl Prefilter {
    /// Reads every rule's trigger and reach from its pattern and builds the automaton.
    pub(crate) fn new(what: &'static str, patterns: &[&str]) -> Result<Self, DeidError> {
        let error = || DeidError::Build { what };
        let mut triggers: Vec<Trigger> = Vec::new();
        let mut rules = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            let hir = regex_syntax::parse(pattern).map_err(|_| error())?;
            let props = hir.properties();
            // A rule that can match nothing at all is searched the ordinary way.
            let chosen = match props.minimum_len() {
                Some(0) | None => None,
                Some(_) => choose(&hir),
            };
            let allowed = trigger::allowed(&hir);
            let allows_trigger = matches!(&chosen,
                Some(Trigger::Bytes(set)) if set.is_subset(&allowed));
            let starts_on_trigger = matches!(&chosen,
                Some(Trigger::Bytes(set)) if trigger::first_bytes(&hir).is_subset(set));
            let starts_on_word = matches!(&chosen,
                Some(Trigger::Words(words)) if trigger::starts_on_word(&hir, words));
            let needs_digits = matches!(&chosen, Some(Trigger::Words(_)))
                && trigger::requires(&hir, &digits_and_non_ascii());
            let trigger = chosen.map(|t| match triggers.iter().position(|known| *known == t) {
                Some(at) => at,
                None => {
                    triggers.push(t);
                    triggers.len() - 1
                }
            });
            rules.push(Reach {
                trigger,
                allows: std::array::from_fn(|b| u8::try_from(b).is_ok_and(|b| allowed.contains(b))),
                min_len: props.minimum_len().unwrap_or(0),
                max_len: props.maximum_len(),
                max_cost: trigger::max_cost(&hir),
                starts_on_trigger,
                allows_trigger,
                starts_on_word,
                needs_digits,
            });
        }

        let digits = rules.iter().any(|rule| rule.needs_digits).then(|| {
            let digits = Trigger::Bytes(digits_and_non_ascii());
            triggers
                .iter()
                .position(|known| *known == digits)
                .unwrap_or_else(|| {
                    triggers.push(digits);
                    triggers.len() - 1
                })
        });
        let mut reaches: Vec<Reach> = Vec::new();
        let rule_reach = rules
            .iter()
            .map(
                |rule| match reaches.iter().position(|known| known == rule) {
                    Some(at) => at,
                    None => {
                        reaches.push(*rule);
                        reaches.len() - 1
                    }
                },
            )
            .collect();
        let mut screen_bits = vec![(0, 0u64); reaches.len()];
        let mut screens = Vec::new();
        for (t, trigger) in triggers.iter().enumerate() {
            let screened = |r: &&Reach| r.trigger == Some(t) && r.allows_trigger;
            let members: Vec<&Reach> = reaches.iter().filter(screened).collect();
            let Some(screen) =
                Screen::new(&members).filter(|_| matches!(trigger, Trigger::Bytes(_)))
            else {
                continue;
            };
            let indices = (0..reaches.len()).filter(|&r| screened(&&reaches[r]));
            for (k, r) in indices.enumerate() {
                screen_bits[r] = (screens.len(), 1 << k);
            }
            screens.push((t, screen));
        }
        let gates: Vec<Gate> = (0..triggers.len())
            .map(|t| {
                let mut gate = Gate {
                    allows: [false; 256],
                    starts_on_word: true,
                };
                for reach in reaches.iter().filter(|r| r.trigger == Some(t)) {
                    for (any, &allows) in gate.allows.iter_mut().zip(&reach.allows) {
                        *any |= allows;
                    }
                    gate.starts_on_word &= reach.starts_on_word;
                }
                gate
            })
            .collect();
        let mut byte_triggers = [0u64; 256];
        // Words read ignoring case, and words spelled the one way their rules allow.
        let mut folded: Vec<(Vec<u8>, Option<usize>)> = Vec::new();
        let mut exact: Vec<(Vec<u8>, Option<usize>)> = Vec::new();
        for (index, t) in triggers.iter().enumerate() {
            match t {
                Trigger::Words(words) => {
                    let spelled: Option<Vec<Vec<u8>>> = gates.get(index).and_then(|gate| {
                        words
                            .iter()
                            .map(|w| words::exact_spelling(w, &gate.allows))
                            .collect()
                    });
                    match spelled {
                        Some(spelled) => {
                            exact.extend(spelled.into_iter().map(|w| (w, Some(index))));
                        }
                        None => folded.extend(words.iter().map(|w| (w.clone(), Some(index)))),
                    }
                }
                Trigger::Bytes(set) => {
                    let bit = 1u64.checked_shl(u32::try_from(index).map_err(|_| error())?);
                    let bit = bit.ok_or_else(error)?;
                    set.bytes()
                        .for_each(|b| byte_triggers[usize::from(b)] |= bit);
                }
            }
        }
        for escape in FOLD_ESCAPES {
            folded.push((escape.to_string().into_bytes(), None));
        }
        let words = WordFinder::new(folded, true).ok_or_else(error)?;
        let exact = WordFinder::new(exact, false).ok_or_else(error)?;
        let marked = std::array::from_fn(|b| byte_triggers[b] != 0);
        let joint = Joint::new(&words, &exact, &marked).ok_or_else(error)?;
        Ok(Prefilter {
            joint,
            gates,
            byte_triggers,
            triggers,
            digits,
            screens,
            screen_bits,
            hosts: hosts::hosts(&reaches),
            reaches,
            rule_reach,
        })
    }

    /// Whether the rules at `a` and `b` are searched in the same windows in every text.
    pub(crate) fn same_windows(&self, a: usize, b: usize) -> bool {
        let windows_of = |rule: usize| {
            let reach = self.rule_reach.get(rule).copied()?;
            Some(self.hosts.get(reach).copied().flatten().unwrap_or(reach))
        };
        windows_of(a).is_some_and(|reach| windows_of(b) == Some(reach))
    }

    /// How many rules run on the whole text whatever it holds (for tests).
    #[cfg(test)]
    pub(crate) fn untriggered(&self) -> usize {
        let untriggered = |&&r: &&usize| self.reaches[r].trigger.is_none();
        self.rule_reach.iter().filter(untriggered).count()
    }

    /// Finds every trigger occurrence in `text` and plans each rule's search.
    pub(crate) fn plan(&self, text: &str) -> Plans<'_> {
        self.plan_with(text, &self.hosts)
    }

    /// As [`Prefilter::plan`], with every reach building its own windows (for tests).
    #[cfg(test)]
    pub(crate) fn plan_unhosted(&self, text: &str) -> Plans<'_> {
        self.plan_with(text, &vec![None; self.reaches.len()])
    }

    /// How many reaches borrow another's windows (for tests).
    #[cfg(test)]
    pub(crate) fn hosted(&self) -> usize {
        self.hosts.iter().flatten().count()
    }

    /// Plans each rule's search; a reach with a host in `hosts` takes the host's windows.
    fn plan_with(&self, text: &str, hosts: &[Option<usize>]) -> Plans<'_> {
        let bytes = text.as_bytes();
        let mut room = room::take(self.triggers.len());
        // Budgets count offsets in 32 bits (see `costs`): a longer text is searched whole.
        if u32::try_from(bytes.len()).is_err() {
            room.reaches.resize(self.reaches.len(), None);
            return Plans {
                prefilter: self,
                room,
            };
        }
        let Room {
            hits,
            costs,
            runs,
            windows: out,
            reaches,
        } = &mut room;
        let escaped = scan(self, bytes, hits, costs);
        // Words are found by where they end; windows want starts.
        for (t, trigger) in self.triggers.iter().enumerate() {
            if let (Trigger::Words(_), Some(list)) = (trigger, hits.get_mut(t)) {
                list.sort_unstable();
            }
        }
        // Room for about one window per trigger occurrence, as a start: the buffer grows less.
        out.reserve(hits.iter().map(Vec::len).sum());
        let (hits, costs) = (&*hits, &*costs);
        let digits = self
            .digits
            .and_then(|t| hits.get(t))
            .map_or(&[][..], Vec::as_slice);
        let live: Vec<Vec<u64>> = (self.screens.iter())
            .map(|(t, screen)| {
                hits.get(*t)
                    .map_or_else(Vec::new, |runs| screen.live(bytes, runs))
            })
            .collect();
        reaches.extend(self.reaches.iter().zip(&self.screen_bits).zip(hosts).map(
            |((reach, &(screen, bit)), host)| {
                let t = reach.trigger?;
                // Filled in below, once the host's windows are built.
                if host.is_some() {
                    return None;
                }
                let from = out.len();
                let needs = reach.needs_digits.then_some(digits);
                match &self.triggers[t] {
                    Trigger::Words(_) if escaped => return None,
                    // No occurrence, no window (the common case: most triggers are rare).
                    _ if hits[t].is_empty() => {}
                    Trigger::Words(_) => {
                        windows(text, reach, &hits[t], Hits::Any, needs, costs, out)
                    }
                    Trigger::Bytes(_) if reach.allows_trigger => {
                        let hits_are = match live.get(screen) {
                            Some(live) if bit != 0 => Hits::Screened { live, bit },
                            _ => Hits::Cut,
                        };
                        windows(text, reach, &hits[t], hits_are, needs, costs, out);
                    }
                    Trigger::Bytes(_) => {
                        allowed_runs(bytes, reach, &hits[t], runs);
                        windows(text, reach, runs, Hits::Cut, needs, costs, out);
                    }
                }
                Some((from, out.len()))
            },
        ));
        for (guest, host) in hosts.iter().enumerate() {
            if let Some(host) = host {
                let span = reaches.get(*host).copied().flatten();
                if let Some(slot) = reaches.get_mut(guest) {
                    *slot = span;
                }
            }
        }
        Plans {
            prefilter: self,
            room,
        }
    }
}

mod costs;
mod hosts;
mod joint;
mod room;
mod scan;
mod screen;
mod windows;
mod words;

#[cfg(test)]
mod tests;
