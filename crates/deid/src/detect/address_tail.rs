//! What sits next to a street line on the same line: units, city, region, country and postal
//! code (`12 Timms Drive Suite 215 NUNGATTA Australia`, `4 Elm St, Springfield, IL 62704`); and
//! the name line written above an address block.

use crate::entity::EntityKind::{Location, Name};
use crate::entity::{Entity, Source};

/// Words that end an address tail: they start the sentence that goes on after it.
const STOP_WORDS: &[&str] = &[
    "The", "A", "An", "He", "She", "We", "They", "It", "I", "This", "That", "Please", "Call",
    "Phone", "Tel", "Fax", "Email", "Mobile", "Desk", "Dr", "Mr", "Mrs", "Ms", "Patient", "Pt",
    "Can", "Oh", "Its", "If", "Is", "In", "On", "At", "To", "For", "And", "Or",
];

/// Unit words that take a number after them.
const UNITS: &[&str] = &[
    "apt",
    "apartment",
    "suite",
    "ste",
    "unit",
    "bldg",
    "building",
    "fl",
    "floor",
];

/// Extends every street-like location and unit (`Apt. 892 GUÉRET LI`) to the end of its
/// address on the same line, and back over a postal or building number written right before
/// it (`0269 Stensås terrasse 38`).
pub(crate) fn extend_streets(text: &str, found: &mut [Entity]) {
    for entity in found.iter_mut() {
        if entity.kind != Location || entity.source != Source::Pattern {
            continue;
        }
        let is_unit = unit(&text[entity.start..]).is_some();
        if !is_unit {
            entity.start = leading_number(text, entity.start);
        }
        if !(is_unit || text[entity.start..].starts_with(|c: char| c.is_ascii_digit())) {
            continue;
        }
        entity.end = tail_end(text, entity.end);
    }
}

/// Where a street starting at `start` starts once a number of two to six digits that stands
/// just before it on the same line, as a word of its own, is counted in.
fn leading_number(text: &str, start: usize) -> usize {
    let before = &text[..start];
    let spaced = before.trim_end_matches([' ', '\t']);
    if spaced.len() == before.len() || before.len() - spaced.len() > 2 {
        return start;
    }
    let digits = spaced.bytes().rev().take_while(u8::is_ascii_digit).count();
    let number_start = spaced.len() - digits;
    let alone = !spaced[..number_start]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | ',' | '/' | '-' | '$'));
    if (2..=6).contains(&digits) && alone {
        number_start
    } else {
        start
    }
}

/// Lower-case words that join the words of a place name (`Mora de Rubielos`, `Chomutice u
/// Horic`, `Caxias do Sul`).
const PLACE_PARTICLES: &[&str] = &[
    "de", "del", "della", "di", "da", "do", "dos", "das", "des", "du", "la", "le", "les", "van",
    "von", "der", "den", "am", "an", "im", "bei", "sur", "en", "na", "nad", "pod", "u", "v",
];

/// Where the address that reaches `end` stops on this line.
fn tail_end(text: &str, mut end: usize) -> usize {
    let street_start = text[..end].rfind('\n').map_or(0, |at| at + 1);
    // An address typed in lower case goes on in lower case, one comma-separated part at a time.
    let lower_case = !text[street_start..end].chars().any(char::is_uppercase);
    for _ in 0..10 {
        let rest = &text[end..];
        let sep_len = rest.len() - rest.trim_start_matches([' ', '\t', ',']).len();
        let sep = &rest[..sep_len];
        if sep.is_empty() || sep.len() > 3 {
            break;
        }
        // A full stop closes the address unless a comma carries it on.
        if text[..end].ends_with('.') && !sep.contains(',') {
            break;
        }
        let after = &rest[sep_len..];
        let lower_part = lower_case && sep.contains(',');
        let Some(len) = unit(after)
            .or_else(|| postal_code(after))
            .or_else(|| place_word(after))
            .or_else(|| particle_then_place(after))
            .or_else(|| lower_part.then(|| lower_place_word(after)).flatten())
            .or_else(|| bracketed_word(after))
        else {
            break;
        };
        end += sep_len + len;
    }
    end
}

/// `Suite 215`, `Apt. 4B`: the length of a unit at the start of `s`.
fn unit(s: &str) -> Option<usize> {
    let word_len = s.find(|c: char| !c.is_alphabetic())?;
    if !UNITS.contains(&s[..word_len].to_lowercase().as_str()) {
        return None;
    }
    let rest = &s[word_len..];
    let gap = rest.len() - rest.trim_start_matches(['.', ' ', '#']).len();
    let value = rest[gap..]
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len() - gap);
    let value_str = &rest[gap..gap + value];
    (value > 0 && value <= 6 && value_str.bytes().any(|b| b.is_ascii_digit()))
        .then_some(word_len + gap + value)
}

/// `62704`, `62704-1234`, `840 24`: the length of a postal code at the start of `s`.
fn postal_code(s: &str) -> Option<usize> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(3..=6).contains(&digits) {
        return None;
    }
    let mut len = digits;
    let rest = &s[digits..];
    if let Some(tail) = rest.strip_prefix('-') {
        let more = tail.bytes().take_while(u8::is_ascii_digit).count();
        if (3..=4).contains(&more) {
            len += 1 + more;
        }
    }
    let next = s[len..].chars().next();
    (!next.is_some_and(char::is_alphanumeric)).then_some(len)
}

/// A capitalised or upper-case word of a place name (`NUNGATTA`, `Grand-Leez`, `Gdańsk`).
fn place_word(s: &str) -> Option<usize> {
    let len = s
        .find(|c: char| !(c.is_alphabetic() || matches!(c, '-' | '\'' | '’')))
        .unwrap_or(s.len());
    let word = &s[..len];
    let first = word.chars().next()?;
    let contraction = s[len..].starts_with(['\'', '’']);
    if !first.is_uppercase()
        || word.chars().count() < 2
        || contraction
        || STOP_WORDS.contains(&word)
    {
        return None;
    }
    Some(len)
}

/// `de Rubielos`: a particle and the capitalised word after it.
fn particle_then_place(s: &str) -> Option<usize> {
    let len = s.find(|c: char| !c.is_alphabetic())?;
    if !PLACE_PARTICLES.contains(&&s[..len]) || !s[len..].starts_with(' ') {
        return None;
    }
    place_word(&s[len + 1..]).map(|word| len + 1 + word)
}

/// `mohács`, `portugal`: a lower-case word of letters in an address typed in lower case.
fn lower_place_word(s: &str) -> Option<usize> {
    let len = s
        .find(|c: char| !(c.is_alphabetic() || matches!(c, '-' | '\'' | '’')))
        .unwrap_or(s.len());
    let word = &s[..len];
    let stop = STOP_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word));
    (word.chars().count() >= 2 && !stop).then_some(len)
}

/// `(Greek)`: one capitalised word in brackets, as a region or a language after a country.
fn bracketed_word(s: &str) -> Option<usize> {
    let inner = s.strip_prefix('(')?;
    let len = place_word(inner)?;
    inner[len..].starts_with(')').then_some(len + 2)
}

/// Words that make a line above an address a heading rather than a person.
const HEADINGS: &[&str] = &[
    "address",
    "home",
    "mailing",
    "billing",
    "shipping",
    "contact",
    "information",
    "patient",
    "street",
    "residence",
    "location",
    "current",
    "permanent",
    "office",
];

/// `Satu Elomo` / `45818 P.O. Box 242`: a short line of two to four name-shaped words right
/// above (or one blank line above) a street line that opens a line is the addressee.
/// Appends to `names` the addressee of every street in `found`.
pub(crate) fn addressee_lines(text: &str, found: &[Entity], names: &mut Vec<Entity>) {
    for entity in found {
        if entity.kind != Location || !opens_with_number_or_box(&text[entity.start..entity.end]) {
            continue;
        }
        let line_start = text[..entity.start].rfind('\n').map_or(0, |at| at + 1);
        if !text[line_start..entity.start]
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '>' | '?' | '|'))
            || line_start == 0
        {
            continue;
        }
        let mut end = line_start - 1;
        for _ in 0..3 {
            let start = text[..end].rfind('\n').map_or(0, |at| at + 1);
            let line = &text[start..end];
            let content =
                line.trim_matches(|c: char| c.is_whitespace() || matches!(c, '>' | '?' | '|'));
            if content.is_empty() && start > 0 {
                end = start - 1;
                continue;
            }
            if let Some(offset) = addressee(content) {
                let from = start + (line.find(content).unwrap_or(0)) + offset.0;
                names.push(Entity {
                    kind: Name,
                    start: from,
                    end: from + offset.1,
                    source: Source::Context,
                    score: 0.5,
                });
            }
            if start == 0 {
                break;
            }
            end = start - 1;
        }
    }
}

/// Whether a location starts with a house number or is a mail box (`PSC 5420, Box 2708`,
/// `unit 1009 box 0219`), either of which may follow the addressee's line.
fn opens_with_number_or_box(span: &str) -> bool {
    let lower = span.to_lowercase();
    span.starts_with(|c: char| c.is_ascii_digit())
        || (["psc ", "unit ", "cmr "]
            .iter()
            .any(|p| lower.starts_with(p))
            && lower.contains("box"))
}

/// Whether `line` is two to four words of a person's name; the span of the name in it.
fn addressee(line: &str) -> Option<(usize, usize)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if !(2..=4).contains(&words.len()) || line.len() > 48 {
        return None;
    }
    let lower_line = line.chars().all(|c| !c.is_uppercase());
    let ok = words.iter().all(|w| {
        let letters = w
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '.'));
        let shaped = lower_line
            || w.chars().next().is_some_and(char::is_uppercase)
            || matches!(
                *w,
                "van" | "von" | "de" | "der" | "ten" | "da" | "di" | "del" | "la"
            );
        letters && shaped && !HEADINGS.contains(&w.to_lowercase().as_str())
    });
    ok.then_some((0, line.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_city_region_and_code_on_the_street_line_join_it() {
        let text = "sent to 6400 12 Timms Drive Suite 215 NUNGATTA Australia last night";
        let start = text.find("6400").unwrap_or(0);
        let street_end = text.find(" Suite").unwrap_or(0);
        assert_eq!(
            &text[start..tail_end(text, street_end)],
            "6400 12 Timms Drive Suite 215 NUNGATTA Australia"
        );
    }

    #[test]
    fn a_unit_and_a_number_before_a_street_join_the_address() {
        let text = "to 0269 Stensås terrasse 38 Apt. 892 GUÉRET LI today";
        let street = text.find("Stensås").unwrap_or(0);
        let unit_at = text.find("Apt").unwrap_or(0);
        let mut found = vec![
            Entity {
                kind: Location,
                start: street,
                end: unit_at - 1,
                source: Source::Pattern,
                score: 0.7,
            },
            Entity {
                kind: Location,
                start: unit_at,
                end: unit_at + "Apt. 892".len(),
                source: Source::Pattern,
                score: 0.8,
            },
        ];
        extend_streets(text, &mut found);
        assert_eq!(&text[found[0].start..found[0].start + 4], "0269");
        assert_eq!(&text[found[1].start..found[1].end], "Apt. 892 GUÉRET LI");
    }

    #[test]
    fn a_sentence_after_a_street_ending_in_a_full_stop_is_left_alone() {
        let text = "She lives at 12 Main St. He reports no pain.";
        let end = text.find(" He").unwrap_or(0);
        assert_eq!(tail_end(text, end), end);
    }

    #[test]
    fn the_line_above_an_address_block_names_the_addressee() {
        let text = "Satu Elomo\n\n45818 Pine Street\nSuite 78";
        let mut found = vec![Entity {
            kind: Location,
            start: 12,
            end: 29,
            source: Source::Pattern,
            score: 0.8,
        }];
        let mut names = Vec::new();
        addressee_lines(text, &found, &mut names);
        found.extend(names);
        let names: Vec<&str> = found
            .iter()
            .filter(|e| e.kind == Name)
            .map(|e| &text[e.start..e.end])
            .collect();
        assert_eq!(names, ["Satu Elomo"]);
    }

    #[test]
    fn the_line_above_a_military_mail_box_names_the_addressee() {
        let text = "tove lind\nunit 2231 box 4410\ndpo ae 09876";
        let start = text.find("unit").unwrap_or(0);
        let found = vec![Entity {
            kind: Location,
            start,
            end: start + "unit 2231 box 4410".len(),
            source: Source::Pattern,
            score: 0.8,
        }];
        let mut names = Vec::new();
        addressee_lines(text, &found, &mut names);
        let names: Vec<&str> = names.iter().map(|e| &text[e.start..e.end]).collect();
        assert_eq!(names, ["tove lind"]);
        assert!(!opens_with_number_or_box("Unit 7 West"));
    }

    #[test]
    fn a_heading_above_an_address_is_not_a_name() {
        assert_eq!(addressee("Home Address"), None);
        assert_eq!(addressee("Mailing address"), None);
    }
}
