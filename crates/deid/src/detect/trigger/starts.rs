//! Whether every match of a rule *starts* with one of its trigger words, at a word boundary.
//!
//! A label rule such as `\b(?:mrn|chart)…` is triggered by its labels, but short labels (`id`,
//! `cc`, `plan`) occur inside many ordinary words (`did`, `accept`, `explanation`). When every
//! match starts at a word boundary with a trigger word, an occurrence that follows a letter or
//! digit is in no match, and a window need not reach to the left of the occurrence that
//! starts it. Both facts are read from the rule's syntax tree and over-approximate, like the
//! rest of `trigger`: a match is never left out.

use regex_syntax::hir::{Hir, HirKind, Look};

use super::{Words, dedup, finite, product, words_by};

/// Whether a byte is a word character for both ASCII and Unicode `\b`: an ASCII letter, digit
/// or underscore. Every such byte is a word character under either definition, so a word
/// boundary never falls between it and an ASCII word byte after it.
pub(crate) const fn is_ascii_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Strings one of which opens every match of `hir` (ASCII case ignored), right after a word
/// boundary, each starting with an ASCII word byte: a trigger for which
/// [`starts_on_word`] holds.
pub(crate) fn opening_words(hir: &Hir) -> Option<Words> {
    let words = leading_words(hir)?;
    let opens = words
        .iter()
        .all(|w| w.first().is_some_and(|&b| is_ascii_word(b)));
    (opens && starts_at_boundary(hir)).then_some(words)
}

/// Whether every match of `hir` starts with one of `words` (ASCII case ignored), right after a
/// word boundary, and every word starts with an ASCII word byte.
///
/// Then an occurrence of a word whose previous byte is an ASCII word byte starts no match:
/// a boundary before an ASCII word byte needs a non-word character before it.
pub(crate) fn starts_on_word(hir: &Hir, words: &Words) -> bool {
    let starts_ok = words
        .iter()
        .all(|w| w.first().is_some_and(|&b| is_ascii_word(b)));
    let Some(leading) = leading_words(hir) else {
        return false;
    };
    let covered = leading
        .iter()
        .all(|lead| words.iter().any(|w| lead.starts_with(w)));
    starts_ok && covered && starts_at_boundary(hir)
}

/// Whether every match of `hir` starts with a word-boundary assertion.
fn starts_at_boundary(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Look(look) => matches!(look, Look::WordAscii | Look::WordUnicode),
        HirKind::Capture(cap) => starts_at_boundary(&cap.sub),
        HirKind::Concat(subs) => subs.first().is_some_and(starts_at_boundary),
        HirKind::Alternation(subs) => subs.iter().all(starts_at_boundary),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Repetition(_) => false,
    }
}

/// Strings one of which every match of `hir` starts with (ASCII case ignored), when they can
/// be read from the tree.
fn leading_words(hir: &Hir) -> Option<Words> {
    words_by(hir, leading_in_concat)
}

/// Strings one of which every match of the sequence `subs` starts with.
fn leading_in_concat(subs: &[Hir]) -> Option<Words> {
    let Some((first, rest)) = subs.split_first() else {
        return Some(vec![Vec::new()]);
    };
    match first.kind() {
        // Assertions match no text: the match starts with what follows them.
        HirKind::Look(_) => leading_in_concat(rest),
        // A part that may be left out: the match starts with it or with what follows it.
        HirKind::Repetition(rep) if rep.min == 0 && finite(first).is_none() => {
            let mut all = leading_words(&rep.sub)?;
            all.extend(leading_in_concat(rest)?);
            dedup(all)
        }
        _ => match finite(first) {
            // A longer prefix when what follows is known, else this part's strings alone.
            Some(strings) => Some(
                leading_in_concat(rest)
                    .and_then(|next| product(&strings, &next))
                    .unwrap_or(strings),
            ),
            None => leading_words(first),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::trigger::required_words;

    use crate::detect::test_hir as hir;

    fn starts(pattern: &str) -> bool {
        let hir = hir(pattern);
        let words = required_words(&hir).unwrap_or_default();
        starts_on_word(&hir, &words)
    }

    #[test]
    fn labels_after_a_boundary_start_every_match() {
        assert!(starts(r"(?i)\b(?:mrn|chart(?:\s+number)?)\s*(?P<v>\d+)"));
        assert!(starts(r"(?i)(?-u:\b)(?:medical\s+record|med\s+rec)\s*\d+"));
        assert!(starts(r"(?P<v>\b(?:ssn|soc)\s+\d{4})"));
    }

    #[test]
    fn a_rule_without_a_leading_boundary_or_label_does_not_start_on_its_word() {
        // No boundary: `xmrn 12` matches from `mrn`.
        assert!(!starts(r"(?i)(?:mrn|chart)\s*\d+"));
        // The trigger word is not where a match starts.
        assert!(!starts(r"\b\d+\s+(?:street|avenue)"));
        // A word that may be absent starts no match.
        assert!(!starts(r"\b(?:mrn)?\s*chart\d"));
        // Words starting with punctuation may follow a letter at a boundary.
        assert!(!starts(r"\b(?:#id|#no)\d"));
    }

    #[test]
    fn the_opening_words_of_a_label_rule_are_its_labels() {
        let hir = hir(r"(?i)\b(?:mrn|unit\s+number|pt\s+id)\s*:?\s*\d+");
        let words = opening_words(&hir).unwrap_or_default();
        assert_eq!(words, [b"mrn".to_vec(), b"pt".to_vec(), b"unit".to_vec()]);
        assert!(starts_on_word(&hir, &words));
        assert_eq!(opening_words(&self::hir(r"\b\d+\s+street")), None);
        let optional = self::hir(r"(?i)\b(?:(?:credit\s+|debit\s+)?card|cc)\s*\d+");
        let words = opening_words(&optional).unwrap_or_default();
        assert_eq!(
            words,
            [
                b"card".to_vec(),
                b"cc".to_vec(),
                b"credit".to_vec(),
                b"debit".to_vec()
            ]
        );
    }

    #[test]
    fn ascii_word_bytes_are_word_characters_for_both_boundaries() {
        assert!(is_ascii_word(b'a') && is_ascii_word(b'Z') && is_ascii_word(b'7'));
        assert!(is_ascii_word(b'_'));
        assert!(!is_ascii_word(b' ') && !is_ascii_word(b'-') && !is_ascii_word(0xC3));
    }
}
