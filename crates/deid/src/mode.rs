//! What goes in place of a detected span: a numbered placeholder, a shifted date, or a Safe
//! Harbor generalisation.

use crate::detect::Detector;
use crate::entity::EntityKind;
use crate::shift::DateShift;
use crate::vault::Vault;

/// How a [`crate::Deidentifier`] replaces what it finds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Numbered typed placeholders (`[NAME_1]`) recorded in the vault, so the answer can be
    /// re-identified. The default.
    #[default]
    Placeholder,
    /// As `Placeholder`, except that dates move by the patient's keyed offset and keep their
    /// written form; a date the shifter cannot read still becomes a placeholder.
    Shift(DateShift),
    /// Safe Harbor (45 CFR 164.514(b)(2)): irreversible. Identifiers become unnumbered
    /// placeholders (`[NAME]`) and nothing enters the vault; dates keep only their year (unless
    /// the year is 90 or more years back); ages over 89 become `90+`; ZIP codes keep their first three digits, or `000` where the area
    /// is restricted.
    SafeHarbor,
}

impl Mode {
    /// Whether the output of this mode can be re-identified through the vault.
    pub fn is_reversible(&self) -> bool {
        !matches!(self, Mode::SafeHarbor)
    }

    /// The text that replaces `original`, a span of kind `kind`.
    pub(crate) fn replace(
        &self,
        detector: &Detector,
        vault: &mut Vault,
        kind: EntityKind,
        original: &str,
    ) -> String {
        match self {
            Mode::Placeholder => vault.placeholder_for(kind, original),
            Mode::Shift(shift) => match kind {
                EntityKind::Date => shift
                    .text(original)
                    .unwrap_or_else(|| vault.placeholder_for(kind, original)),
                _ => vault.placeholder_for(kind, original),
            },
            Mode::SafeHarbor => safe_harbor(detector, kind, original),
        }
    }
}

/// The Safe Harbor form of one identifier.
pub(crate) fn safe_harbor(detector: &Detector, kind: EntityKind, original: &str) -> String {
    let generalised = match kind {
        EntityKind::Date => year_of(original),
        EntityKind::Age => Some("90+".to_owned()),
        EntityKind::Zip => detector.safe_harbor_zip3(original),
        _ => None,
    };
    generalised.unwrap_or_else(|| format!("[{}]", kind.tag()))
}

/// The four-digit year (1800–2199) a written date mentions, if Safe Harbor lets it stay.
///
/// A year 90 or more years back could be the birth year of someone over 89, which Safe Harbor
/// counts as an element of a date indicative of such an age: it goes too.
fn year_of(date: &str) -> Option<String> {
    let year = date
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 4 && matches!(&part[..2], "18" | "19" | "20" | "21"))?;
    let this_year = time::OffsetDateTime::now_utc().year();
    let old = year.parse::<i32>().is_ok_and(|y| this_year - y >= 90);
    (!old).then(|| year.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorConfig;

    fn detector() -> Detector {
        let config = DetectorConfig {
            restricted_zip3: vec!["036".into()],
            ..DetectorConfig::default()
        };
        match Detector::new(config) {
            Ok(detector) => detector,
            Err(_) => panic!("detector builds"),
        }
    }

    #[test]
    fn safe_harbor_keeps_years_folds_old_ages_and_truncates_zip_codes() {
        let d = detector();
        assert_eq!(
            safe_harbor(&d, EntityKind::Date, "2026-01-17T02:14Z"),
            "2026"
        );
        assert_eq!(safe_harbor(&d, EntityKind::Date, "3/4/26"), "[DATE]");
        assert_eq!(
            safe_harbor(&d, EntityKind::Date, "1900-02-01"),
            "[DATE]",
            "over 89"
        );
        assert_eq!(safe_harbor(&d, EntityKind::Age, "94"), "90+");
        assert_eq!(safe_harbor(&d, EntityKind::Zip, "02360"), "023");
        assert_eq!(safe_harbor(&d, EntityKind::Zip, "03601-1234"), "000");
        assert_eq!(safe_harbor(&d, EntityKind::Name, "Jane Roe"), "[NAME]");
    }

    #[test]
    fn safe_harbor_records_nothing_in_the_vault() {
        let d = detector();
        let mut vault = Vault::new();
        let out = Mode::SafeHarbor.replace(&d, &mut vault, EntityKind::Name, "Jane Roe");
        assert_eq!(out, "[NAME]");
        assert!(vault.is_empty());
        assert!(!Mode::SafeHarbor.is_reversible());
    }

    #[test]
    fn shift_mode_moves_dates_and_numbers_everything_else() {
        let d = detector();
        let mut vault = Vault::new();
        let mode = Mode::Shift(DateShift::by_days(-1));
        assert_eq!(
            mode.replace(&d, &mut vault, EntityKind::Date, "2026-03-01"),
            "2026-02-28"
        );
        assert_eq!(
            mode.replace(&d, &mut vault, EntityKind::Date, "Easter 2025"),
            "[DATE_1]"
        );
        assert_eq!(
            mode.replace(&d, &mut vault, EntityKind::Name, "Jane Roe"),
            "[NAME_1]"
        );
    }
}
