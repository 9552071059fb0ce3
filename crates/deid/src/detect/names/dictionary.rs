//! Evidence from the census lists and the shape of capitalised runs.

use std::ops::Deref;

use super::NameFinder;
use crate::detect::tokens::Shape;
use crate::entity::{EntityKind, Source};

/// The tokens of a list of names (see [`NameFinder::list_from`]); a single token, the usual
/// answer, without allocating.
pub(super) enum ListItems {
    /// No list starts here: just the token.
    One([usize; 1]),
    /// Two items or more.
    Many(Vec<usize>),
}

impl Deref for ListItems {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        match self {
            ListItems::One(one) => one,
            ListItems::Many(many) => many,
        }
    }
}

impl NameFinder<'_> {
    /// Rule 3: `ROE, JANE` and `Roe, Jane M`.
    pub(super) fn last_comma_first(&mut self) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        for &i in capitals.iter().take_while(|&&i| i + 1 < n) {
            let (last, first) = (&self.tokens[i], &self.tokens[i + 1]);
            let shaped = |s: Shape| matches!(s, Shape::Capitalized | Shape::Upper);
            if !shaped(last.shape) || !shaped(first.shape) || last.shape != first.shape {
                continue;
            }
            // The gap must hold a comma: most gaps (a space) are passed over without trimming.
            let gap = (self.text.as_bytes().get(last.end..first.start)).unwrap_or_default();
            if !gap.contains(&b',')
                || self.text[last.end..first.start].trim() != ","
                || self.text[last.end..first.start].contains('\n')
            {
                continue;
            }
            let (li, fi) = (self.info[i], self.info[i + 1]);
            let last_ok = li.last_rank.is_some()
                && !li.function
                && !li.medical
                && li.eponym == crate::detect::lexicon::Eponym::No;
            if !last_ok || !fi.is_clear_first_name() {
                continue;
            }
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.7);
            self.mark(i + 1, EntityKind::Name, Source::Dictionary, 0.7);
            self.joined[i] = true;
            if self.adjacent(i + 1) && self.tokens.get(i + 2).is_some_and(|t| t.is_initial()) {
                self.mark(i + 2, EntityKind::Name, Source::Dictionary, 0.7);
            }
        }
        self.capitals = capitals;
    }

    /// Whether token `i` alone is evidence of a person in mixed-case text.
    fn strong_capitalized(&self, i: usize) -> bool {
        let (token, info) = (&self.tokens[i], self.info[i]);
        if token.shape != Shape::Capitalized || self.eponym_use(i) || self.is_institution(i) {
            return false;
        }
        if info.is_clear_first_name() {
            return true;
        }
        let common_surname = info.last_rank.is_some_and(|rank| rank.get() <= 5000);
        common_surname
            && !info.function
            && !info.ambiguous
            && !info.medical
            && info.eponym == crate::detect::lexicon::Eponym::No
            && !self.sentence_start(i)
    }

    /// Whether token `i` may extend a name next to strong evidence.
    fn extends_name(&self, i: usize) -> bool {
        let info = self.info[i];
        if self.is_particle(i) {
            return true;
        }
        if !self.name_shaped(i) || info.function || self.eponym_use(i) || self.is_institution(i) {
            return false;
        }
        info.is_listed_name() || self.tokens[i].is_initial() || !info.medical
    }

    /// Rule 4: runs of capitalised words with a clear first name or common surname in them.
    pub(super) fn capitalized_runs(&mut self) {
        self.list_items();
        let n = self.tokens.len();
        // Only a capitalised word can be strong: the others are never asked.
        let mut strong = vec![false; n];
        let mut strong_at = Vec::new();
        for &i in &self.capitals {
            if self.strong_capitalized(i) {
                strong[i] = true;
                strong_at.push(i);
            }
        }
        for i in strong_at {
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.65);
            let mut j = i;
            while j + 1 < n && self.adjacent(j) && self.extends_name(j + 1) && j + 1 - i < 4 {
                j += 1;
                self.mark(j, EntityKind::Name, Source::Dictionary, 0.6);
            }
            let mut k = i;
            while k > 0
                && self.adjacent(k - 1)
                && self.extends_name(k - 1)
                && !self.is_particle(k - 1)
                && i - k < 3
            {
                if self.sentence_start(k) && !self.info[k - 1].is_listed_name() {
                    break;
                }
                k -= 1;
                self.mark(k, EntityKind::Name, Source::Dictionary, 0.6);
            }
        }
        self.two_surnames(&strong);
        self.initials_and_foreign_runs();
        self.before_person_verbs();
        self.name_lists();
    }

    /// Whether token `i` can be part of a name found without a dictionary.
    pub(super) fn unlisted_part(&self, i: usize) -> bool {
        let info = self.info[i];
        self.tokens[i].shape == Shape::Capitalized
            && !info.function
            && !info.ambiguous
            && !info.medical
            && !self.eponym_use(i)
            && !self.is_institution(i)
    }

    /// `Faina D. Yefremova`: capitalised word, initial, capitalised word. And `Šárka Ottová`:
    /// two capitalised words spelled with letters beyond ASCII.
    fn initials_and_foreign_runs(&mut self) {
        let n = self.tokens.len();
        let capitals = std::mem::take(&mut self.capitals);
        for &i in capitals.iter().take_while(|&&i| i + 2 < n) {
            if self.adjacent(i)
                && self.tokens[i + 1].is_initial()
                && self.adjacent(i + 1)
                && self.unlisted_part(i)
                && self.unlisted_part(i + 2)
            {
                for j in i..=i + 2 {
                    self.mark(j, EntityKind::Name, Source::Dictionary, 0.6);
                }
            }
        }
        // Only a pair with a word beyond ASCII is marked: asked first, as most are all ASCII,
        // and not at all in a text all ASCII (see [`NameFinder::ascii`]).
        let pairs = if self.ascii { &[][..] } else { &capitals[..] };
        for &i in pairs.iter().take_while(|&&i| i + 1 < n) {
            let beyond = !self.tokens[i].lower.is_ascii() || !self.tokens[i + 1].lower.is_ascii();
            if beyond && self.adjacent(i) && self.unlisted_part(i) && self.unlisted_part(i + 1) {
                self.mark(i, EntityKind::Name, Source::Dictionary, 0.5);
                self.mark(i + 1, EntityKind::Name, Source::Dictionary, 0.5);
            }
        }
        self.capitals = capitals;
    }

    /// The index of the next item of a list after token `j` (`, X`, ` and X`, `, and X`),
    /// read from the table [`NameFinder::list_items`] fills when it has been filled.
    pub(super) fn next_list_item(&self, j: usize) -> Option<usize> {
        match self.next_items.get(j) {
            Some(next) => *next,
            None => self.written_next_item(j),
        }
    }

    /// Works out every token's next list item once, for the rules that walk lists. An item
    /// after the first is a capitalised word, so only the two tokens before each capitalised
    /// word (`X, Y` and `X and Y`) can have one; the others have none.
    pub(super) fn list_items(&mut self) {
        if self.next_items.len() == self.tokens.len() {
            return;
        }
        // The tables come empty from the kept ones (see [`super::scratch`]).
        let mut next_items = std::mem::take(&mut self.next_items);
        next_items.resize(self.tokens.len(), None);
        let mut starts = std::mem::take(&mut self.list_starts);
        for &k in &self.capitals {
            // The two tokens before `k` (fewer at the start of the text).
            for j in k.saturating_sub(2)..k {
                if starts.last().is_some_and(|&last| last >= j) {
                    continue;
                }
                // Unless the next word is `and`, the next item is that word, capitalised, after
                // a gap with `,` or `&` (see `written_next_item`): a gap with neither (a single
                // space, most often) answers without reading it as text. And two tokens before
                // `k` the next word is no capitalised item: that one is `k - 1`, itself in
                // `capitals`, whose walk has asked of `j` already.
                let (this, next) = (&self.tokens[j], &self.tokens[j + 1]);
                let listing = || {
                    (self.text.as_bytes().get(this.end..next.start))
                        .is_some_and(|gap| gap.iter().any(|&b| b == b',' || b == b'&'))
                };
                if !(j + 1 == k && listing()) && next.lower != "and" {
                    continue;
                }
                if let (Some(next), Some(slot)) = (self.written_next_item(j), next_items.get_mut(j))
                {
                    *slot = Some(next);
                    starts.push(j);
                }
            }
        }
        self.next_items = next_items;
        self.list_starts = starts;
    }

    /// Calls `rule` with each list of two items or more, in order, where a list starts after
    /// the end of the one before it (the walk [`NameFinder::list_from`] makes from every
    /// token).
    pub(super) fn each_list(&mut self, mut rule: impl FnMut(&mut Self, &[usize])) {
        self.list_items();
        let starts = std::mem::take(&mut self.list_starts);
        let mut from = 0;
        for &i in &starts {
            if i < from {
                continue;
            }
            let items = self.list_from(i);
            from = items.last().copied().unwrap_or(i) + 1;
            rule(self, &items);
        }
        self.list_starts = starts;
    }

    /// Works out [`NameFinder::next_list_item`] from the text.
    pub(super) fn written_next_item(&self, j: usize) -> Option<usize> {
        let n = self.tokens.len();
        let next = self.tokens.get(j + 1)?;
        // The next item is a capitalised word or comes after `and`: any other next word
        // answers without reading the gap.
        let and = next.lower == "and";
        if !and && next.shape != Shape::Capitalized {
            return None;
        }
        let gap = self.gap_before(j + 1);
        // An item after a capitalised word follows `,` or `&`: a gap with neither answers
        // without trimming it.
        if !and && !gap.bytes().any(|b| b == b',' || b == b'&') {
            return None;
        }
        let between = gap.trim();
        if matches!(between, "," | "&") && next.shape == Shape::Capitalized {
            return Some(j + 1);
        }
        let and = and && matches!(between, "," | "");
        let after = self.tokens.get(j + 2)?;
        (and && j + 2 < n && after.shape == Shape::Capitalized).then_some(j + 2)
    }

    /// The tokens of the list that starts at token `i` (just `[i]` when no list starts there).
    pub(super) fn list_from(&self, i: usize) -> ListItems {
        let Some(mut j) = self.next_list_item(i) else {
            return ListItems::One([i]);
        };
        let mut items = vec![i, j];
        while let Some(next) = self.next_list_item(j) {
            j = next;
            items.push(j);
        }
        ListItems::Many(items)
    }

    /// `Gaetane, Hannah, Anthony and Derek`: in a list of single capitalised words where one is
    /// already a name, the others are names too.
    fn name_lists(&mut self) {
        self.each_list(|finder, items| {
            let named = items.iter().filter(|&&k| finder.marks[k].is_some()).count();
            if items.len() >= 3 && named >= 1 {
                for &k in items {
                    let info = finder.info[k];
                    let plain = !info.function && !info.medical && !finder.eponym_use(k);
                    if plain && !finder.is_institution(k) {
                        finder.mark(k, EntityKind::Name, Source::Context, 0.5);
                    }
                }
            }
        });
    }

    /// Two adjacent capitalised surnames, neither of them a common word (`Hernandez Gutierrez`).
    fn two_surnames(&mut self, strong: &[bool]) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        for &i in capitals.iter().take_while(|&&i| i + 1 < n) {
            if strong[i] || strong[i + 1] || !self.adjacent(i) {
                continue;
            }
            let ok = |f: &Self, j: usize| {
                let info = f.info[j];
                f.tokens[j].shape == Shape::Capitalized
                    && info.last_rank.is_some()
                    && !info.function
                    && !info.ambiguous
                    && !info.medical
                    && !f.eponym_use(j)
                    && !f.is_institution(j)
            };
            if ok(self, i) && ok(self, i + 1) {
                self.mark(i, EntityKind::Name, Source::Dictionary, 0.5);
                self.mark(i + 1, EntityKind::Name, Source::Dictionary, 0.5);
            }
        }
        self.capitals = capitals;
    }

    /// Rule 5: `hi , martha .` — clear first names in lower-cased text, and the surname after.
    pub(super) fn lowercase_dictionary(&mut self) {
        let given = std::mem::take(&mut self.given);
        for &i in &given {
            let info = self.info[i];
            if self.tokens[i].shape != Shape::Lower
                || !info.is_clear_first_name()
                || self.eponym_use(i)
            {
                continue;
            }
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.6);
            let next = i + 1;
            if self.adjacent(i) && next < self.tokens.len() {
                let ni = self.info[next];
                let surname = ni.last_rank.is_some_and(|rank| rank.get() <= 10_000);
                if surname && !ni.function && !self.eponym_use(next) {
                    self.mark(next, EntityKind::Name, Source::Dictionary, 0.55);
                }
            }
        }
        self.given = given;
    }
}
