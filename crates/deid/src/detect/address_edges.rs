//! Words at the edges of a place that the street and name rules stop short of: the house
//! number after a street written the European way (`on Pod Floriánem 1677`), the words of a
//! street name in front of a house number (`at Tungata 11 Rott Crossroad`), and the city and
//! country typed after a unit in a lower-case address (`suite 112 calgary alberta`).
//!
//! Each rule only adds a location overlapping something already found; resolving the
//! candidates then merges the two into one span, so a place is never left half redacted.

use crate::detect::lexicon::Lexicon;
use crate::entity::EntityKind::{Location, Name};
use crate::entity::{Entity, Source};

/// Prepositions after which a name followed by a number reads as a street and house number.
const LOCATIVES: &[&str] = &["on", "at", "of", "to", "in", "from", "near"];

/// Unit words that end a street line when a number follows them.
const UNITS: &[&str] = &["apt", "apartment", "suite", "ste", "unit", "flat", "room"];

/// Finds the three kinds of edge in `text` next to the places and names in `found` and appends
/// a location for each to `out`.
pub(crate) fn add_edges(text: &str, found: &[Entity], lexicon: &Lexicon, out: &mut Vec<Entity>) {
    for entity in found {
        match entity.kind {
            Name => house_number_after(text, entity, out),
            Location => {
                house_number_after(text, entity, out);
                street_words_before(text, entity, lexicon, out);
                lower_case_city_after(text, entity, lexicon, out);
            }
            _ => {}
        }
    }
}

fn location(start: usize, end: usize) -> Entity {
    Entity {
        kind: Location,
        start,
        end,
        source: Source::Context,
        score: 0.5,
    }
}

/// The number of ASCII digits at the start of `s`.
fn leading_digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// The word (letters only) that ends `before`, with the spaces after it, if exactly one space
/// separates it from what follows.
fn word_before(before: &str) -> Option<&str> {
    let spaced = before.strip_suffix(' ')?;
    let start = spaced
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric())
        .last()
        .map(|(at, _)| at)?;
    Some(&spaced[start..])
}

/// `on Pod Floriánem 1677`, `of Joaquin Suarez 2906.`, `641 Dašická 688,`: a name or place
/// after a locative preposition (or after a house number of its own) and followed by a bare
/// number that closes the clause is a street with its house number. A number that reads as a
/// year (1900–2099) is left alone: `at Christmas 2019` is a date.
fn house_number_after(text: &str, entity: &Entity, out: &mut Vec<Entity>) {
    let Some(rest) = text[entity.end..].strip_prefix(' ') else {
        return;
    };
    let digits = leading_digits(rest);
    if !(1..=5).contains(&digits) {
        return;
    }
    let closes = rest[digits..]
        .chars()
        .next()
        .is_none_or(|c| matches!(c, '.' | ',' | ';' | '!' | '?' | ')' | '\n' | '\r'));
    let year = digits == 4 && (rest.starts_with("19") || rest.starts_with("20"));
    if !closes || year {
        return;
    }
    let before = &text[..entity.start];
    let Some(word) = word_before(before) else {
        return;
    };
    let mut start = entity.start;
    if word.bytes().all(|b| b.is_ascii_digit()) {
        start -= word.len() + 1;
    } else if !LOCATIVES.contains(&word.to_ascii_lowercase().as_str()) {
        return;
    }
    out.push(location(start, entity.end + 1 + digits));
}

/// Whether `word` is a capitalised word of two letters or more (`Tungata`, `Opus`).
fn capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && word.chars().count() >= 2
        && chars.all(|c| c.is_lowercase() || c == '-')
}

/// `with Serenade Opus 420 Gairbekov Rapids`, `Fuglie 41 Popović Dam`: one or two capitalised
/// words written right before the house number of a street (on the same line, after a lower-case
/// word or at the start of the line) are the first words of the street's name. And
/// `C. Beerninckstraat 88`: an initial before a street named after a person.
fn street_words_before(text: &str, entity: &Entity, lexicon: &Lexicon, out: &mut Vec<Entity>) {
    if entity.source != Source::Pattern {
        return;
    }
    let before = &text[..entity.start];
    let street = &text[entity.start..entity.end];
    if street.starts_with(|c: char| c.is_ascii_digit()) {
        let mut start = entity.start;
        for _ in 0..2 {
            let Some(word) = word_before(&text[..start]) else {
                break;
            };
            if !capitalised(word) || lexicon.is_function_word(&word.to_lowercase()) {
                break;
            }
            start -= word.len() + 1;
        }
        let opening = word_before(&text[..start]).is_none_or(|w| !capitalised(w));
        if start < entity.start && opening {
            out.push(location(start, entity.end));
        }
    } else if street.starts_with(char::is_uppercase) {
        let Some(initial) = before.strip_suffix(". ") else {
            return;
        };
        let mut chars = initial.chars().rev();
        let letter = chars.next().is_some_and(|c| c.is_ascii_uppercase());
        let alone = chars.next().is_none_or(char::is_whitespace);
        if letter && alone {
            out.push(location(entity.start - 3, entity.end));
        }
    }
}

/// `3747 fourth avenue suite 112 calgary alberta`: in a lower-case address whose street line
/// ends in a unit, the plain words that finish the line (before a closing full stop) are its
/// city, region and country.
fn lower_case_city_after(text: &str, entity: &Entity, lexicon: &Lexicon, out: &mut Vec<Entity>) {
    let street = &text[entity.start..entity.end];
    if entity.source != Source::Pattern || street.chars().any(char::is_uppercase) {
        return;
    }
    let mut words = street.rsplit([' ', '.', '#']);
    let number = words.next().is_some_and(|w| leading_digits(w) > 0);
    let unit = words
        .find(|w| !w.is_empty())
        .is_some_and(|w| UNITS.contains(&w));
    if !(number && unit) {
        return;
    }
    let rest = &text[entity.end..];
    let line_len = rest.find('\n').unwrap_or(rest.len());
    let line = &rest[..line_len];
    let Some(tail) = line.strip_prefix(' ') else {
        return;
    };
    let tail = tail.trim_end();
    let tail = tail.strip_suffix('.').unwrap_or(tail);
    let words: Vec<&str> = tail.split(' ').collect();
    let plain = |w: &&str| {
        !w.is_empty()
            && w.chars().all(|c| c.is_lowercase() || c == '-')
            && !lexicon.is_function_word(w)
    };
    if (1..=5).contains(&words.len()) && words.iter().all(plain) {
        out.push(location(entity.end + 1, entity.end + 1 + tail.len()));
    }
}

#[cfg(test)]
mod tests;
