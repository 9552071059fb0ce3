//! A looser twin of a rule with Unicode word boundaries, to keep its search on the lazy DFA in
//! text beyond ASCII.
//!
//! The lazy DFA handles a Unicode `\b` only while the text it reads is ASCII: at the first
//! byte beyond ASCII it gives up, and the search starts over in an NFA engine, which costs tens
//! of thousands of instructions on a window of a few dozen bytes. Rules that mix `\b` with
//! `\p{L}` keep the Unicode `\b` (an ASCII one would be wrong next to a letter such as `É`), so
//! each window holding an accented name paid that price.
//!
//! The twin is the same rule with every Unicode word-boundary assertion removed. Removing an
//! assertion only lets more through, so every match of the rule is a match of the twin, and
//! the twin's leftmost match starts no later than the rule's. Searching the twin first (on the
//! DFA, which never gives up on it) therefore tells where the rule's search can begin, and
//! that no match is left when the twin finds none: the rule's own search, when it still runs,
//! starts at the twin's match and reports exactly what it would have from further left.

use regex_automata::meta::Regex;
use regex_syntax::hir::{Capture, Hir, HirKind, Look, Repetition};

/// The twin of `hir` (built as the rules are, see `builder`), or `None` when `hir` has no
/// Unicode word boundary (the rule's own search never gives up then) or the twin does not
/// build.
pub(super) fn twin(hir: &Hir) -> Option<Regex> {
    if !hir.properties().look_set().iter().any(is_unicode_word) {
        return None;
    }
    super::builder()
        .build_from_hir(&without_unicode_words(hir))
        .ok()
}

/// The assertions the lazy DFA gives up on beyond ASCII.
fn is_unicode_word(look: Look) -> bool {
    matches!(
        look,
        Look::WordUnicode
            | Look::WordUnicodeNegate
            | Look::WordStartUnicode
            | Look::WordEndUnicode
            | Look::WordStartHalfUnicode
            | Look::WordEndHalfUnicode
    )
}

/// `hir` with every Unicode word-boundary assertion replaced by the empty match.
fn without_unicode_words(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Look(look) if is_unicode_word(*look) => Hir::empty(),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => hir.clone(),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(without_unicode_words(&rep.sub)),
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            index: cap.index,
            name: cap.name.clone(),
            sub: Box::new(without_unicode_words(&cap.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(without_unicode_words).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(without_unicode_words).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::Input;

    use crate::detect::test_hir as hir;

    #[test]
    fn rules_without_unicode_boundaries_have_no_twin() {
        assert!(twin(&hir(r"(?-u:\b)\d{3}(?-u:\b)")).is_none());
        assert!(twin(&hir(r"\p{L}+\s+\d")).is_none());
        assert!(twin(&hir(r"\b\p{Lu}\p{L}+\b")).is_some());
    }

    #[test]
    fn the_twin_finds_every_match_no_later() {
        let pattern = r"\b\p{Lu}[\p{L}'.-]*\s+\d{1,5}\b";
        let (Ok(strict), Some(loose)) = (Regex::new(pattern), twin(&hir(pattern))) else {
            panic!("rule and twin must build");
        };
        // `éMain 12` holds no match (é is a letter, so no boundary before M), `Zoë 4` holds one.
        let text = "éMain 12, then Zoë 4 and Åsa 17b";
        let mut at = 0;
        while let Some(found) = strict.find(Input::new(text).span(at..text.len())) {
            let twin_found = loose.find(Input::new(text).span(at..text.len()));
            assert!(twin_found.is_some_and(|t| t.start() <= found.start()));
            at = found.end();
        }
        assert_eq!(strict.find(text).map(|m| m.start()), Some(16));
        assert_eq!(loose.find(text).map(|m| m.start()), Some(2));
    }
}
