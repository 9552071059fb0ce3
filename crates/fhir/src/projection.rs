//! Minimum-necessary projections. A task declares which resource types and which fields of them
//! it may see; [`Projection::apply`] builds a small JSON document holding only those fields, so a
//! field nobody declared can never reach a prompt.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::Date;

use crate::PatientRecord;
use crate::bundle::resource_type;
use crate::path::{strings_at, values_at};

/// How a projected value is generalised before it leaves the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// The value as recorded.
    Verbatim,
    /// Only the year of a date (Safe Harbor allows the year).
    Year,
    /// A HumanName rendered as "given family". Only sensible for names that the pipeline
    /// replaces with placeholders, so the model can refer to the person without knowing them.
    HumanName,
    /// A number rounded to one decimal place (`183.58946` becomes `183.6`).
    OneDecimal,
    /// Age in whole years at the projection date, with ages over 89 folded into `90+`.
    AgeBand,
}

/// One field of a resource: where to find it and what to call it in the projection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FieldRule {
    /// Name of the field in the projected document.
    pub name: String,
    /// Path inside the resource, such as `code.coding.display`.
    pub path: String,
    /// Generalisation applied to the value.
    pub transform: Transform,
}

/// Which resources of one type are projected, and which of their fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResourceRule {
    /// FHIR resource type, such as `Condition`.
    pub resource_type: String,
    /// Only resources whose value at `filter.0` is one of `filter.1` are projected.
    pub filter: Option<(String, Vec<String>)>,
    /// Resources are ordered by this date path, newest first.
    pub newest_by: Option<String>,
    /// At most this many resources are projected.
    pub limit: usize,
    /// The fields projected from each resource.
    pub fields: Vec<FieldRule>,
}

/// A task's whole minimum-necessary declaration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Projection {
    /// Fields projected from the Patient resource itself.
    pub patient: Vec<FieldRule>,
    /// Rules for the other resources of the record.
    pub resources: Vec<ResourceRule>,
}

impl Projection {
    /// Builds the projected document for `record` as of `today`.
    pub fn apply(&self, record: &PatientRecord, today: Date) -> Value {
        let at = Reference::for_patient(&record.patient, today);
        let mut out = Map::new();
        out.insert(
            "patient".into(),
            project_fields(&record.patient, &self.patient, at),
        );
        for rule in &self.resources {
            let mut picked: Vec<&Value> = record
                .resources
                .iter()
                .filter(|r| resource_type(r) == Some(rule.resource_type.as_str()))
                .filter(|r| passes(r, rule.filter.as_ref()))
                .collect();
            if let Some(path) = &rule.newest_by {
                // ISO 8601 strings sort chronologically when they share a format.
                picked.sort_by_key(|r| std::cmp::Reverse(strings_at(r, path).into_iter().next()));
            }
            let items: Vec<Value> = picked
                .into_iter()
                .take(rule.limit)
                .map(|r| project_fields(r, &rule.fields, at))
                .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                .collect();
            out.insert(rule.resource_type.clone(), Value::Array(items));
        }
        Value::Object(out)
    }

    /// Every resource type the projection may read, for audit and documentation.
    pub fn resource_types(&self) -> Vec<&str> {
        let mut types = vec!["Patient"];
        types.extend(self.resources.iter().map(|r| r.resource_type.as_str()));
        types
    }
}

fn passes(resource: &Value, filter: Option<&(String, Vec<String>)>) -> bool {
    match filter {
        None => true,
        Some((path, allowed)) => strings_at(resource, path)
            .iter()
            .any(|v| allowed.contains(v)),
    }
}

/// The date ages are counted at, and whether years must be withheld.
#[derive(Clone, Copy)]
struct Reference {
    /// The date of death for a deceased patient, otherwise today.
    date: Date,
    /// Safe Harbor: for a patient over 89, every date element, the year included, could point
    /// to the age, so no year of theirs is projected.
    withhold_years: bool,
}

impl Reference {
    fn for_patient(patient: &Value, today: Date) -> Self {
        let first = |path| strings_at(patient, path).into_iter().next();
        let death = first("deceasedDateTime").and_then(|d| parse_date(&d));
        let date = death.map_or(today, |d| d.min(today));
        let age = first("birthDate").and_then(|b| age_years(&b, date));
        Self {
            date,
            withhold_years: age.is_some_and(|a| a > 89),
        }
    }

    #[cfg(test)]
    fn on(date: Date) -> Self {
        Self {
            date,
            withhold_years: false,
        }
    }
}

fn project_fields(resource: &Value, fields: &[FieldRule], at: Reference) -> Value {
    let mut out = Map::new();
    for field in fields {
        if field.transform == Transform::HumanName {
            if let Some(name) = values_at(resource, &field.path)
                .first()
                .and_then(|n| human_name(n))
            {
                out.insert(field.name.clone(), Value::String(name));
            }
            continue;
        }
        let Some(raw) = strings_at(resource, &field.path).into_iter().next() else {
            continue;
        };
        let value = match field.transform {
            Transform::Verbatim => Some(raw),
            Transform::Year if at.withhold_years => None,
            Transform::Year => raw
                .get(..4)
                .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned),
            Transform::AgeBand => age_years(&raw, at.date).map(|years| {
                if years > 89 {
                    "90+".to_owned()
                } else {
                    years.to_string()
                }
            }),
            Transform::HumanName => None,
            Transform::OneDecimal => raw
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|v| format!("{v:.1}")),
        };
        if let Some(value) = value {
            out.insert(field.name.clone(), Value::String(value));
        }
    }
    Value::Object(out)
}

fn human_name(name: &Value) -> Option<String> {
    let mut parts = strings_at(name, "given");
    parts.extend(strings_at(name, "family"));
    if parts.is_empty() {
        return strings_at(name, "text").into_iter().next();
    }
    Some(parts.join(" "))
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.get(..10)?, &format).ok()
}

/// Whole years from `birth_date` to `at`.
fn age_years(birth_date: &str, at: Date) -> Option<i32> {
    let born = parse_date(birth_date)?;
    let mut years = at.year() - born.year();
    if (at.month() as u8, at.day()) < (born.month() as u8, born.day()) {
        years -= 1;
    }
    (years >= 0).then_some(years)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;
    use crate::Bundle;

    fn record(birth: &str) -> PatientRecord {
        let bytes = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "birthDate": birth,
                          "gender": "female", "name": [{"family": "Secret"}]}},
            {"resource": {"resourceType": "Condition", "id": "c1",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"text": "Asthma"}, "onsetDateTime": "2010-04-03T10:00:00Z",
                "note": [{"text": "lives at 12 Elm St"}]}},
            {"resource": {"resourceType": "Condition", "id": "c2",
                "clinicalStatus": {"coding": [{"code": "resolved"}]},
                "code": {"text": "Sprain"}, "onsetDateTime": "2012-01-01"}}
        ]})
        .to_string();
        Bundle::from_slice(bytes.as_bytes())
            .unwrap()
            .into_patient_record()
            .unwrap()
    }

    fn projection() -> Projection {
        let field = |name: &str, path: &str, transform| FieldRule {
            name: name.into(),
            path: path.into(),
            transform,
        };
        Projection {
            patient: vec![
                field("age", "birthDate", Transform::AgeBand),
                field("gender", "gender", Transform::Verbatim),
            ],
            resources: vec![ResourceRule {
                resource_type: "Condition".into(),
                filter: Some(("clinicalStatus.coding.code".into(), vec!["active".into()])),
                newest_by: Some("onsetDateTime".into()),
                limit: 10,
                fields: vec![
                    field("condition", "code.text", Transform::Verbatim),
                    field("onset_year", "onsetDateTime", Transform::Year),
                ],
            }],
        }
    }

    #[test]
    fn only_declared_fields_are_projected() {
        let out = projection().apply(&record("1980-06-01"), date!(2026 - 12 - 04));
        assert_eq!(
            out,
            json!({"patient": {"age": "46", "gender": "female"},
                   "Condition": [{"condition": "Asthma", "onset_year": "2010"}]})
        );
        let text = out.to_string();
        assert!(!text.contains("Secret") && !text.contains("Elm") && !text.contains("1980"));
    }

    #[test]
    fn measurements_are_rounded_to_one_decimal() {
        let rule = FieldRule {
            name: "v".into(),
            path: "v".into(),
            transform: Transform::OneDecimal,
        };
        let out = project_fields(
            &json!({"v": 183.58946037581617}),
            std::slice::from_ref(&rule),
            Reference::on(date!(2026 - 01 - 01)),
        );
        assert_eq!(out, json!({"v": "183.6"}));
        let out = project_fields(
            &json!({"v": "n/a"}),
            &[rule],
            Reference::on(date!(2026 - 01 - 01)),
        );
        assert_eq!(out, json!({}));
    }

    #[test]
    fn a_human_name_renders_given_then_family() {
        let rule = FieldRule {
            name: "n".into(),
            path: "name".into(),
            transform: Transform::HumanName,
        };
        let patient =
            json!({"name": [{"given": ["Ann", "B"], "family": "Roe"}, {"family": "Old"}]});
        let out = project_fields(&patient, &[rule], Reference::on(date!(2026 - 01 - 01)));
        assert_eq!(out, json!({"n": "Ann B Roe"}));
    }

    #[test]
    fn ages_over_89_fold_into_90_plus() {
        let out = projection().apply(&record("1927-01-01"), date!(2026 - 12 - 04));
        assert_eq!(out["patient"]["age"], "90+");
    }

    #[test]
    fn no_year_of_a_patient_over_89_is_projected() {
        let out = projection().apply(&record("1927-01-01"), date!(2026 - 12 - 04));
        assert_eq!(out["Condition"], json!([{"condition": "Asthma"}]));
    }

    #[test]
    fn a_deceased_patient_is_aged_at_death() {
        let bytes = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1960-01-01",
                          "deceasedDateTime": "1971-06-01T00:00:00Z"}}]})
        .to_string();
        let record = Bundle::from_slice(bytes.as_bytes())
            .unwrap()
            .into_patient_record()
            .unwrap();
        let out = projection().apply(&record, date!(2026 - 12 - 04));
        assert_eq!(out["patient"]["age"], "11");
    }

    #[test]
    fn age_counts_whole_years_before_the_birthday() {
        let out = projection().apply(&record("1980-12-05"), date!(2026 - 12 - 04));
        assert_eq!(out["patient"]["age"], "45");
    }
}
