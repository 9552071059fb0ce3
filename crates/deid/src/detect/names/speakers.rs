//! Evidence from how a text is laid out and quoted: speakers of a dialogue, the speaker of a
//! quotation, and a name given outright in lower-cased speech.

use super::NameFinder;
use crate::detect::lexicon::Role;
use crate::detect::tokens::Shape;
use crate::entity::{EntityKind, Source};

/// Verbs that attribute a quotation: after a closing quote or `!`/`?`, the capitalised words
/// that follow them are the speaker (`," says Okafor.`, `! said Maslin to`).
pub(crate) const SAYING_VERBS: &[&str] = &[
    "said",
    "says",
    "asked",
    "asks",
    "replied",
    "replies",
    "added",
    "adds",
    "wrote",
    "writes",
    "explained",
    "explains",
    "continued",
    "continues",
    "noted",
    "notes",
];

impl NameFinder<'_> {
    /// `my name is vitoria`: in lower-cased text, the word after an explicit naming phrase is a
    /// name even when no census list has it.
    pub(super) fn named_in_lowercase(&mut self) {
        if !self.lowercase {
            return;
        }
        // Both naming phrases end in a word with the cue-end role (`is`, `me`).
        let roled = std::mem::take(&mut self.roled);
        let n = self.tokens.len();
        for &i in roled.iter().filter(|&&i| i >= 2 && i + 1 < n) {
            let (a, b) = (self.tokens[i - 1].lower, self.tokens[i].lower);
            let naming = matches!((a, b), ("name", "is") | ("calls", "me"));
            // `call me višeslav` but not `call me tomorrow`: after the commoner phrase, only a
            // name a list has or a word beyond English spelled with letters beyond ASCII.
            let call_me = (a, b) == ("call", "me")
                && (self.unknown[i + 1] || self.info[i + 1].is_clear_first_name());
            let naming = naming || call_me;
            let between = self.gap_before(i + 1);
            if !naming || between.contains('\n') || !between.trim().is_empty() {
                continue;
            }
            let info = self.info[i + 1];
            if self.tokens[i + 1].shape != Shape::Lower
                || info.function
                || info.medical && !info.is_listed_name()
                || self.eponym_use(i + 1)
            {
                continue;
            }
            self.mark(i + 1, EntityKind::Name, Source::Context, 0.75);
            if self.adjacent(i + 1)
                && self
                    .tokens
                    .get(i + 2)
                    .is_some_and(|t| t.shape == Shape::Lower)
                && (self.info[i + 2].last_rank.is_some() || self.unknown[i + 2])
                && !self.info[i + 2].function
            {
                self.mark(i + 2, EntityKind::Name, Source::Context, 0.7);
            }
        }
        self.roled = roled;
    }

    /// `," says Okafor.`: the capitalised words after a verb of saying that follows a quotation
    /// or an exclamation are the speaker.
    pub(super) fn quotation_speakers(&mut self) {
        let roled = std::mem::take(&mut self.roled);
        let n = self.tokens.len();
        for &i in roled.iter().take_while(|&&i| i + 1 < n) {
            if !self.info[i].is(Role::SayingVerb) {
                continue;
            }
            let before = self.gap_before(i);
            if !before.contains(['"', '”', '!', '?']) || !self.adjacent(i) {
                continue;
            }
            let mut j = i + 1;
            while j < self.tokens.len() && j - i <= 3 {
                let info = self.info[j];
                let listed = info.is_listed_name() && !info.function;
                if !(self.unlisted_part(j) || listed && self.tokens[j].shape == Shape::Capitalized)
                {
                    break;
                }
                self.mark(j, EntityKind::Name, Source::Context, 0.7);
                if !self.adjacent(j) {
                    break;
                }
                j += 1;
            }
        }
        self.roled = roled;
    }

    /// Dialogue written as `Ubul: What a wife.` / `Nicole: Remember…`: when two or more lines
    /// open with a capitalised word and a colon and one of those words is a listed first name,
    /// they are all speakers' names (nicknames included).
    pub(super) fn speaker_labels(&mut self) {
        // A label is followed by a colon: most words are not, and are passed over here
        // before the rest of the test is called.
        let bytes = self.text.as_bytes();
        let labels: Vec<usize> = (self.capitals.iter().copied())
            .filter(|&i| bytes.get(self.tokens[i].end) == Some(&b':') && self.is_speaker_label(i))
            .collect();
        let named = labels
            .iter()
            .any(|&i| self.info[i].is_clear_first_name() || self.marks[i].is_some());
        if labels.len() < 2 || !named {
            return;
        }
        for i in labels {
            let info = self.info[i];
            if info.function || info.medical && !info.is_listed_name() || self.eponym_use(i) {
                continue;
            }
            self.mark(i, EntityKind::Name, Source::Context, 0.7);
        }
    }

    /// Whether token `i` is a single capitalised word alone at the start of a line, before `:`.
    pub(super) fn is_speaker_label(&self, i: usize) -> bool {
        let token = &self.tokens[i];
        if token.shape != Shape::Capitalized
            || token.possessive
            || !self.text[token.end..].starts_with(':')
        {
            return false;
        }
        let before = self.gap_before(i);
        let line_start = i == 0 || before.contains('\n');
        let opening = before.rsplit('\n').next().unwrap_or("");
        line_start && opening.chars().all(|c| matches!(c, ' ' | '\t' | '>'))
    }
}
