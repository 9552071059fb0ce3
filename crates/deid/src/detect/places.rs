//! Geography below the state: street addresses, units, cities in context, ZIP codes; and
//! employers, which are found the same way (a cue, then a proper noun).

use super::rules::{Hit, RuleSpec, checked, rule, with_digit};
use crate::entity::EntityKind;
use crate::entity::EntityKind::{Employer, Location, Zip};
use crate::entity::{Entity, Source};
use needs::eights::{eights, equal};

const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|VI|GU";

const STATE_NAMES: &str = "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Puerto Rico";

const STREET_SUFFIX: &str = "Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Pathway|Path|Trail|Trl|Square|Sq|Loop|Row|Crescent|Cres|Close|Alley|Aly|Plaza|Plz|Pike|Run|Gardens|Gdns|Heights|Hts|Point|Pt|Ridge|Crossing|Xing|Walk|Mews|Green|Hollow|Meadow|Meadows|Station|Route|Rte|Turnpike|Tpke|Expressway|Freeway|Junction|Landing|Manor|Park|Port|Vista|View|Village|Pass|Grove|Hill|Hills|Creek|Spur|Cove|Bend|Estates|Commons|Center|Ctr|Crossroad|Crossroads|Rapids|Summit|Islands|Island|Isle|Dam|Flats|Forge|Forges|Harbor|Harbour|Mill|Mills|Parks|Coves|Greens|Courts|Radial|Bypass|Dale|Fort|Ford|Falls|Ferry|Glen|Haven|Knoll|Knolls|Lake|Lakes|Orchard|Prairie|Ranch|River|Shore|Shores|Springs|Valley|Ville|Canyon|Causeway|Cliff|Cliffs|Corner|Corners|Forest|Gateway|Inlet|Plains|Brook|Brooks|Bluff|Bluffs|Burg|Stravenue|Underpass|Overpass|Viaduct|Villages";

/// A capitalised word of a place name, in any script.
const CAP: &str = r"\p{Lu}[\p{L}'’.-]*";

/// The place rules.
pub(crate) fn specs() -> Vec<RuleSpec> {
    vec![
        // 611 Gibson Pathway, 12 N. Main St., 3369 24 Clarke Avenue
        rule(
            format!(
                r"\b\d{{1,6}}[A-Za-z]?(?:\s+\d{{1,4}})?(?:\s+[NSEW]\.?)?(?:\s+(?:{CAP}|\d+(?:st|nd|rd|th))){{1,4}}\s+(?:{STREET_SUFFIX})\b\.?"
            ),
            Location,
            0.85,
        )
        .needing(needs::street_suffix),
        // 3911 fourth avenue, 31 kettu street: an address typed in lower case, with the kinds
        // of street no other phrase ends in.
        checked(
            r"(?-u:\b)\d{2,6}(?:[ \t]+\d{1,4})?(?:[ \t]+\p{Ll}[\p{Ll}'’-]*){1,3}[ \t](?:street|avenue|road|boulevard|blvd|lane|terrace|parkway|highway)(?-u:\b)\.?",
            Location,
            0.7,
            not_a_measure,
        ),
        // Apt 4B, Suite 377, Unit 12
        rule(
            r"\b(?:Apt|APT|Apartment|Suite|SUITE|Ste|Unit|UNIT|Bldg|Building|Floor|Fl|Lot)\.?\s*#?\s*[A-Z0-9]{1,6}\b",
            Location,
            0.8,
        ),
        rule(r"(?i)\bp\.?\s?o\.?\s*box\s+\d+\b", Location, 0.85),
        // Military mail: PSC 0413, Box 8144 / APO AA 42323
        rule(
            r"(?i)\b(?:PSC|Unit|CMR|USNS|USS)\s+\d{3,5},?\s+Box\s+\d{1,5}\b",
            Location,
            0.85,
        ),
        rule(
            r"(?i)\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+(?P<v>\d{5})\b",
            Zip,
            0.85,
        ),
        rule(r"(?i)\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\b", Location, 0.8),
        // A ship's mail address: USNS Bergman, USS Lorenzen, USCGC Khadzhiyev.
        rule(
            r"\b(?:USNS|USNV|USS|USCGC|uscgc|usns|uss)\s+\p{L}[\p{L}'’-]*",
            Location,
            0.8,
        ),
        // 20789 Allika 46, 233 Erzsébet tér 19. — number, street name, number, on its own line
        // or after "at"/"to"/a colon; written this way in much of Europe.
        checked(
            r"(?m)(?:^[ \t>|?]*|\b(?i:at|to|address:?|is|in|with)[ \t]+)(?P<v>\d{1,6}[ \t]+\p{L}[\p{L}'’.-]*(?:[ \t]+\p{L}[\p{L}'’.-]*){0,3}[ \t]+\d{1,5}[A-Za-z]?\b\.?)",
            Location,
            0.6,
            street_after_cue,
        )
        .needing(needs::number_then_number),
        // The same after a label's colon or a unit, when the street name is capitalised.
        checked(
            r"(?:[:][ \t]+|\b(?i:apt|suite|unit)\.?[ \t]+\d{1,5}[ \t]+)(?P<v>\d{1,6}[ \t]+\p{Lu}[\p{L}'’.-]*(?:[ \t]+\p{L}[\p{L}'’.-]*){0,3}[ \t]+\d{1,5}[A-Za-z]?\b\.?)",
            Location,
            0.6,
            house_number,
        )
        .needing(needs::number_then_number),
        // at 9816 214 Pavlou Drandaki, to 70248 31 Rue Tachkent: a postal or building number,
        // then the house number and a capitalised street name.
        checked(
            r"\b\d{3,6}[ \t]+\d{1,4}[ \t]+(?:\p{Lu}|(?i:rue|rua|via|calle|avenida|ul\.)[ \t])[\p{L}'’.-]*(?:[ \t]+\p{L}[\p{L}'’.-]*){0,3}",
            Location,
            0.6,
            street_after_at,
        )
        .needing(needs::number_then_number),
        // in Acquapendente 1021, in Quinta de São Tiago 3610-114, in ÖVERTURINGEN 840 24: the
        // postcode written after the place, the way most of Europe writes it.
        checked(
            r"\b\p{Lu}[\p{L}'’.-]*(?:[ \t]+(?:\p{Lu}[\p{L}'’.-]*|de|da|do|dos|das|di|del|la|le|van|von)){0,3}[ \t]+(?P<v>\d{4}-\d{3}|\d{3}[ \t]\d{2}|\d{2}-\d{3}|\d{4,5})\b",
            Zip,
            0.6,
            postcode_after_place,
        )
        .needing(needs::place_then_postcode),
        // Kiannonkatu 98, Skoanveien 226, Søndergade 52, Hauptstraße 5
        rule(
            format!(
                r"(?i)\b\p{{L}}*(?:{})\s+\d{{1,5}}[a-z]?\b",
                street_words::ENDING.join("|")
            ),
            Location,
            0.75,
        )
        .needing(street_words::ending_word_then_number),
        rule(
            format!(
                r"(?:\b(?i:{})|\bC/)\s+(?:\p{{L}}+\s+){{1,4}}\d{{1,5}}\b",
                street_words::OPENING.join("|").replace('.', r"\.")
            ),
            Location,
            0.7,
        )
        .needing(street_words::opening_word_then_space),
        // 76 Boulevard de Normandie, 29 Rue de Tanger, 26 rue des lieutemants Thomazo: a house
        // number, then the kind of street written first, as French, Iberian and Italian
        // addresses do.
        rule(
            r"(?-u:\b)\d{1,6}(?:[ \t]+\d{1,4})?[ \t](?:Avenue|Boulevard|Chemin|Quai|Allée|Impasse|Praça|Largo|Travessa|Paseo|Carrer|Camino|(?i:rue|rua|calle|avenida))[ \t]+(?:(?:de|des|du|la|le|les|d'|l'|da|do|dos|das|di|del|della|e|y)[ \t]+)*\p{L}[\p{L}'’.-]*(?:[ \t]+(?:\p{Lu}[\p{L}'’.-]*|de|des|du|la|le|les|da|do|dos|das|di|del|della|e|y|\d{1,5}(?-u:\b))){0,5}",
            Location,
            0.7,
        ),
        // Stensås terrasse 38, Király u. 15., Árpád fejedelem útja 3.: a street name, then a
        // street word of its own, then the house number.
        rule(
            r"\p{L}[\p{L}'’.-]*(?:[ \t]+\p{L}[\p{L}'’.-]*){0,2}[ \t](?:u\.|utca|út|útja|tér|körút|terrasse|veien|vegen|põik|tänav|allé|straat|laan|gasse|ulice|náměstí|trg|sokak|caddesi)[ \t]+\d{1,5}(?-u:\b)\.?",
            Location,
            0.7,
        ),
        // lives on Elm Street, shows on Ane Flats Street: a street named in full, without a
        // number, after a preposition of place.
        checked(
            r"(?-u:\b)(?i:on|off|at|near|along)[ \t]+(?P<v>\p{Lu}[\p{L}'’.-]*(?:[ \t]+\p{Lu}[\p{L}'’.-]*){0,2}[ \t]+(?:Street|Avenue|Boulevard|Road|Lane))(?-u:\b)",
            Location,
            0.7,
            not_a_name_list,
        ),
        // 7878 Rahu 37 Apt. 405: a postal number, a street name and a house number, known for a
        // street by the unit after it.
        checked(
            r"(?-u:\b)(?P<v>\d{1,6}[ \t]+\p{L}[\p{L}'’.-]*(?:[ \t]+\p{L}[\p{L}'’.-]*){0,2}[ \t]+\d{1,5}[A-Za-z]?(?-u:\b))[ \t]*,?[ \t]*\n?[ \t]*(?i:apt|apartment|suite|unit)\.?[ \t]*#?[ \t]*\d",
            Location,
            0.7,
            house_number,
        )
        .needing(needs::number_then_number),
        // "address: ...", "lives at ..." — the rest of the line up to a full stop.
        checked(
            r"(?i)\b(?:address|addr|lives\s+at|living\s+at|lives\s+on|living\s+on|resides\s+at|residing\s+at|located\s+at|home\s+at)\s*(?:is\s*)?[:\-]?\s*(?P<v>(?-i:[\d\p{Lu}])[^\n;]{3,80}?)(?:\.\s|\.$|;|\n|$)",
            Location,
            0.8,
            plausible_address,
        ),
        // "the corner of Main St. and 5th Ave": the intersection as a whole, up to the end of
        // the clause.
        checked(
            r"(?i)(?P<v>\b(?:the\s+)?corner\s+of\s+[^\n,;?!]{3,60}?\s+and\s+[^\n,;?!]{2,40}?)(?:[,;?!]|\.\s|\.$|\n|$)",
            Location,
            0.75,
            named_corner,
        ),
        // Springfield, IL 62704 — the city; the ZIP has its own rule.
        checked(
            format!(
                r"(?P<v>\b\p{{Lu}}[\p{{L}}'.-]+(?:[ \t]+\p{{Lu}}[\p{{L}}'.-]+){{0,2}}),[ \t]*(?:{STATES})\b"
            ),
            Location,
            0.8,
            city_not_clinician,
        )
        .needing(needs::comma_state),
        checked(
            format!(
                r"(?P<v>\b\p{{Lu}}[\p{{L}}'.-]+(?:[ \t]+\p{{Lu}}[\p{{L}}'.-]+){{0,2}}),[ \t]*(?:{STATE_NAMES})\b"
            ),
            Location,
            0.7,
            not_a_name_list,
        ),
        rule(
            format!(r"\b(?:{STATES}),?[ \t]+(?P<v>\d{{5}}(?:-\d{{4}})?)\b"),
            Zip,
            0.9,
        ),
        rule(
            format!(r"\b(?:{STATE_NAMES}),?[ \t]+(?P<v>\d{{5}}(?:-\d{{4}})?)\b"),
            Zip,
            0.9,
        ),
        with_digit(
            r"(?i)\b(?:zip\s*code|postal\s*code|post\s*code|postcode|zip)\s*(?:is\s*)?[:#]?\s*(?P<v>[a-z0-9]{3,5}(?:[ -][a-z0-9]{2,4})?)\b",
            Zip,
            0.9,
        ),
        // "lives in Boston", "flew to Oulu", "I'm in Flateyri"
        checked(
            format!(
                r"(?:\b(?i:lives?|lived|living|resides?|resided|residing|moved|relocated|born|grew\s+up|raised|visiting|visited|flew|flying|drove|driving|travel(?:l?ed|l?ing)?|returned|went|going|based|located|stationed|i'm|i\s+am|we're|we\s+are|he's|she's|they're|stays?|stayed|staying|arrived|headed|trip|vacation)\s+(?i:in|to|at|near|from|back\s+to)\s+)(?:the\s+)?(?P<v>{CAP}(?:[ \t]+{CAP}){{0,2}})"
            ),
            Location,
            0.65,
            not_a_name_list,
        )
        .needing(needs::preposition_then_capital),
        // "works at Acme Corp", "employer: Initech"
        checked(
            format!(
                r"(?:\b(?i:works?|worked|working|employed|employee|job|retired|volunteers?)\s+(?i:at|for|by|with|from)\s+|\b(?i:employer|employed\s+by|company|workplace)\s*(?i:is)?\s*:?\s*)(?:the\s+)?(?P<v>{CAP}(?:[ \t]+(?:{CAP}|&|of|and|de)){{0,4}})"
            ),
            Employer,
            0.65,
            not_a_name_list,
        ),
    ]
}

/// Words that start a capitalised run without being a place or an employer.
const NOT_PLACES: &[&str] = &[
    "The",
    "A",
    "An",
    "Dr",
    "Dr.",
    "Mr",
    "Mr.",
    "Mrs",
    "Mrs.",
    "Ms",
    "Ms.",
    "I",
    "He",
    "She",
    "We",
    "They",
    "It",
    "This",
    "That",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Home",
    "Work",
    "School",
    "Bed",
    "Hospital",
    "Emergency",
    "ER",
    "ED",
    "ICU",
    "Clinic",
    "Rehab",
    "Surgery",
    "Physical",
    "Therapy",
];

/// Refuses a capitalised run that starts with a pronoun, a title or a month.
fn not_a_name_list(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let first = hit.value_str().split_whitespace().next().unwrap_or("");
    (!NOT_PLACES.contains(&first)).then_some(kind)
}

/// `Ruth Sanchez, PA` and `Jo Roe, MD` are a clinician and a credential, not a city and a
/// state: refused when the abbreviation is a credential, no ZIP code follows, and the words
/// before it follow "by", "with" or "Dr." or the credential goes on (`PA-C`).
fn city_not_clinician(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let state = hit
        .whole_str()
        .rsplit([',', ' ', '\t'])
        .next()
        .unwrap_or("");
    if matches!(state, "PA" | "MD") {
        let after = hit.after(8);
        let zip = after.trim_start().starts_with(|c: char| c.is_ascii_digit());
        let before = hit.before(8).to_lowercase();
        let cue = ["by ", "with ", "dr. ", "dr "]
            .iter()
            .any(|c| before.ends_with(c));
        if !zip && (cue || after.starts_with("-C")) {
            return None;
        }
    }
    not_a_name_list(hit, kind)
}

/// Units of strength, time and packaging: `24 HR Diltiazem 240 MG` is a drug, not a street.
pub(crate) const DOSE_UNITS: &[&str] = &[
    "hr", "hrs", "hour", "hours", "mg", "mcg", "ml", "g", "meq", "unt", "units", "unit", "day",
    "days", "week", "weeks", "tablet", "tablets", "capsule", "capsules", "pack", "dose", "doses",
    "times", "mg/ml", "actuat", "puffs", "drops", "%",
];

/// Refuses a number–words–number match that reads as a dose or a schedule.
fn not_a_dose(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let unit = |w: &str| DOSE_UNITS.contains(&w.to_lowercase().as_str());
    let inside = hit.value_str().split_whitespace().any(unit);
    let next = hit.after(12).split_whitespace().next().unwrap_or("");
    (!inside && !unit(next)).then_some(kind)
}

/// Months and their abbreviations, lower case.
const MONTHS: &[&str] = &[
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
];

/// Units of distance and time that make `10 mile road` or `2 lane highway` a measure of a
/// road rather than an address.
const ROAD_MEASURES: &[&str] = &[
    "mile",
    "miles",
    "km",
    "kilometer",
    "kilometre",
    "minute",
    "minutes",
    "min",
    "block",
    "blocks",
    "lane",
    "hour",
    "hours",
    "foot",
    "feet",
    "yard",
    "yards",
    "meter",
    "metre",
];

/// Refuses a lower-case street that reads as a measure or a dose.
fn not_a_measure(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let mut words = hit.value_str().split_whitespace();
    words.next_back();
    if words.any(|w| ROAD_MEASURES.contains(&w)) {
        return None;
    }
    not_a_dose(hit, kind)
}

/// A number after a place is a postcode unless it reads as a year (`in March 2019`, `in Paris
/// 1998`), a dose (`in Lisinopril 1000 mg`) or the start of a longer number.
fn postcode_after_place(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let value = hit.value_str();
    let year = value.len() == 4
        && value
            .parse::<u32>()
            .is_ok_and(|n| (1800..=2099).contains(&n));
    let whole = hit.whole_str().to_lowercase();
    let dated = whole
        .split_whitespace()
        .any(|w| MONTHS.contains(&w.trim_end_matches(['.', ','])));
    let after = hit.after(12);
    let longer = after.starts_with(['.', ',', '/', ':', '%'])
        && after[1..].starts_with(|c: char| c.is_ascii_digit());
    if year || dated || longer || !after_word(hit, &["in", "at", "to", "from"]) {
        return None;
    }
    not_a_dose(hit, kind)
}

/// `at 9816 214 Pavlou Drandaki`: two numbers and a street name after `at`, `to` or `is`.
fn street_after_at(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    if !after_word(hit, &["at", "to", "is"]) {
        return None;
    }
    not_a_dose(hit, kind)
}

/// Whether the match comes right after one of `words` (any case) and a space. Checked here
/// rather than in the pattern, so the pattern's trigger is its digits, not words as common as
/// `in` and `to`.
fn after_word(hit: &Hit<'_>, words: &[&str]) -> bool {
    let before = hit.before(8);
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.len() == before.len() {
        return false;
    }
    let word = trimmed
        .rsplit(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or("");
    words.iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// A street written number first and number last ends in a house number, not a decade (`5
/// Musicians Of The 70s`), and is no dose.
fn house_number(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let value = hit.value_str().trim_end_matches('.');
    if value.ends_with("0s") || names_a_month(value) {
        return None;
    }
    not_a_dose(hit, kind)
}

/// A street after a line start, `at`, `to`, `address` or `is`; after the commoner `in` and
/// `with` (`in 3 months 2 visits`), only a postal number of four to six digits, one capitalised
/// street name and a house number that end their line before a capitalised line (`in 94472
/// Atamaria 55⏎Gondregnies`, the first lines of an address block).
fn street_after_cue(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let cue = hit.whole_str()[..hit.value.0 - hit.whole.0]
        .trim()
        .to_lowercase();
    if cue == "in" || cue == "with" {
        let words: Vec<&str> = hit.value_str().split_whitespace().collect();
        let postal = words.first().is_some_and(|w| (4..=6).contains(&w.len()));
        let named = words.len() == 3 && words[1].starts_with(char::is_uppercase);
        let next_line = hit.after(8).trim_start_matches([' ', '\t', '\r']);
        let block = next_line
            .strip_prefix('\n')
            .is_some_and(|line| line.trim_start().starts_with(char::is_uppercase));
        if !(postal && named && block) {
            return None;
        }
    }
    house_number(hit, kind)
}

/// Whether a word of `value` is a month (`2019 March 15` is a date, not a street).
fn names_a_month(value: &str) -> bool {
    value
        .split_whitespace()
        .any(|w| MONTHS.contains(&w.trim_end_matches(['.', ',']).to_lowercase().as_str()))
}

/// A template's placeholder (`{street_name}`) stands for a value but is none.
fn not_a_placeholder(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    (!hit.value_str().contains(['{', '}'])).then_some(kind)
}

/// A street corner names its streets: after `corner of` comes a number or a capital letter
/// (`corner of Main and Elm`, `corner of 5th and 7th`), not only lower-case words (`the corner
/// of the mouth and the lip`); nor a template's placeholder.
fn named_corner(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let value = hit.value_str();
    let lower = value.to_lowercase();
    let streets = lower
        .find("corner")
        .and_then(|at| value.get(at + "corner".len()..))
        .unwrap_or("");
    let named = streets
        .chars()
        .any(|c| c.is_ascii_digit() || c.is_uppercase());
    if !named {
        return None;
    }
    not_a_placeholder(hit, kind)
}

/// A labelled address must hold a number or a capitalised word.
fn plausible_address(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let value = hit.value_str();
    let digit = value.bytes().any(|b| b.is_ascii_digit());
    let capital = value
        .split_whitespace()
        .any(|w| w.starts_with(char::is_uppercase));
    (digit || capital).then_some(kind)
}

/// After a street address, the next short lines of an address block (city, region, country,
/// postal code) are locations too.
pub(crate) fn address_blocks(text: &str, found: &mut Vec<Entity>) {
    let streets: Vec<usize> = found
        .iter()
        .filter(|e| e.kind == Location && e.source == Source::Pattern)
        .filter(|e| starts_like_street(&text[e.start..e.end]))
        .map(|e| e.end)
        .collect();
    for end in streets {
        let mut line_start = match text[end..].find('\n') {
            Some(at) if at < 30 => end + at + 1,
            _ => continue,
        };
        let mut blank_skipped = false;
        for _ in 0..4 {
            if !blank_skipped && text[line_start..].starts_with(['\n']) {
                blank_skipped = true;
                line_start += 1;
            }
            let Some(line) = block_line(text, line_start) else {
                break;
            };
            let content = &text[line.start..line.end];
            let kind = if content.chars().any(|c| c.is_ascii_digit()) && content.len() <= 10 {
                Zip
            } else {
                Location
            };
            found.push(Entity {
                kind,
                start: line.start,
                end: line.end,
                source: Source::Context,
                score: 0.5,
            });
            if line.last {
                break;
            }
            let line_end = line.line_end;
            line_start = line_end + 1;
        }
    }
}

/// One line of an address block: where its content starts and ends, where the line ends, and
/// whether the block ends with it.
struct BlockLine {
    start: usize,
    end: usize,
    line_end: usize,
    last: bool,
}

/// Characters that frame the lines of an address block (`> `, `??? `, `, VIC`).
fn framing(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '>' | '|' | '?')
}

/// Reads the line of an address block that starts at `line_start`: a short line of place words
/// and numbers. A line that goes on into a sentence (`Spain 97197 in case of an issue.`,
/// `Cyprus 36903? I am in…`) keeps its part up to the postcode and ends the block.
fn block_line(text: &str, line_start: usize) -> Option<BlockLine> {
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |at| line_start + at);
    let line = &text[line_start..line_end];
    let start = line_start + (line.len() - line.trim_start_matches(framing).len());
    let mut end = start + text[start..line_end].trim_end_matches(framing).len();
    let mut last = line_end >= text.len();
    if let Some(at) = sentence_stop(&text.as_bytes()[start..end]) {
        end = start + text[start..start + at].trim_end_matches(framing).len();
        last = true;
    }
    let content = &text[start..end];
    let sentence = content.len() > 40 || content.split_whitespace().count() > 5;
    if sentence || content.contains([':', '@']) {
        // A sentence may follow a postcode among the first words, or a place closed by a full
        // stop; a label's colon (`77233 for this card: …`) only a postcode that opens the line.
        let words = if sentence { 6 } else { 1 };
        end =
            start + postcode_prefix(content, words).or_else(|| place_before_full_stop(content))?;
        last = true;
    } else if let Some(len) = place_before_full_stop(content) {
        end = start + len;
        last = true;
    }
    let content = &text[start..end];
    if content.is_empty()
        || content.contains([':', '@'])
        || !content.chars().any(char::is_alphanumeric)
    {
        return None;
    }
    Some(BlockLine {
        start,
        end,
        line_end,
        last,
    })
}

/// `Spain 97197 in case…`: the length of the words of `content` up to and including a postcode
/// among its first `words` words.
fn postcode_prefix(content: &str, words: usize) -> Option<usize> {
    let mut rest = content;
    for _ in 0..words {
        let lead = rest.len() - rest.trim_start().len();
        let word_start = content.len() - rest.len() + lead;
        let word = rest[lead..].split_whitespace().next()?;
        let token = word.trim_end_matches(['.', ',']);
        if (3..=6).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit()) {
            return Some(word_start + token.len());
        }
        rest = &rest[lead + word.len()..];
    }
    None
}

/// `New Zealand. Please call…`: the length of one to three capitalised words that a full stop
/// closes at the start of `content`.
fn place_before_full_stop(content: &str) -> Option<usize> {
    let len = short_full_stop(content)?;
    names_a_place(&content[..len]).then_some(len)
}

/// Whether `before`, the text before a full stop, is one to three capitalised words naming a
/// place.
fn names_a_place(before: &str) -> bool {
    let words: Vec<&str> = before.split_whitespace().collect();
    // `St. Louis`: a full stop after a short word ends an abbreviation, not a sentence.
    let closes = words.last().is_some_and(|w| w.chars().count() >= 3);
    closes
        && (1..=3).contains(&words.len())
        && words.iter().all(|w| {
            w.starts_with(char::is_uppercase)
                && w.chars().count() >= 2
                && w.chars().all(|c| c.is_alphabetic() || c == '-')
                && !NOT_PLACES.contains(w)
        })
}

/// The first `?`, `!` or `;` of `bytes`, read eight bytes at a time. The line after a street
/// is often a paragraph, and a search character by character cost more than the rest of the
/// block. The three are ASCII, so no byte of a longer character is taken for one.
fn sentence_stop(bytes: &[u8]) -> Option<usize> {
    eights(bytes).enumerate().find_map(|(index, eight)| {
        let marks = equal(eight, b'?') | equal(eight, b'!') | equal(eight, b';');
        (marks != 0).then(|| 8 * index + marks.trailing_zeros() as usize / 8)
    })
}

/// Where the first `. ` of `content` is, when only letters, hyphens, white space and at most
/// three words come before it; `None` otherwise, since then `place_before_full_stop` finds no
/// place. The search stops at the fourth word or at the first other character: a full stop
/// there is the first `. ` when a space follows it, and any other character lies in a word
/// before the first `. `, which is then no place word. A long line is so read only as far as
/// its first few words, not to its first full stop.
fn short_full_stop(content: &str) -> Option<usize> {
    let (mut words, mut in_word) = (0, false);
    for (at, c) in content.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if c.is_alphabetic() || c == '-' {
            if !in_word {
                words += 1;
                in_word = true;
            }
            if words > 3 {
                return None;
            }
        } else {
            return (c == '.' && content[at + 1..].starts_with(' ')).then_some(at);
        }
    }
    None
}

/// Whether a location match is a street line or a unit, which may open an address block.
fn starts_like_street(span: &str) -> bool {
    span.starts_with(|c: char| c.is_ascii_digit())
        || [
            "Apt",
            "APT",
            "Apartment",
            "Suite",
            "SUITE",
            "Ste",
            "Unit",
            "UNIT",
            "P",
            "p",
        ]
        .iter()
        .any(|p| span.starts_with(p))
}

mod needs;
mod street_words;
#[cfg(test)]
mod tests;
