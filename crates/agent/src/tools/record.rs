//! `get_record`: a few recent resources of one type, minimum necessary fields only.

use phigate_fhir::{FieldRule, Projection, ResourceRule, Transform};
use serde_json::Value;

use super::{ToolEnv, ToolError, str_arg};

/// The resource types `get_record` serves.
pub(crate) const RESOURCE_TYPES: [&str; 5] = [
    "Condition",
    "MedicationRequest",
    "AllergyIntolerance",
    "Observation",
    "Encounter",
];

fn field(name: &str, path: &str, transform: Transform) -> FieldRule {
    FieldRule {
        name: name.into(),
        path: path.into(),
        transform,
    }
}

fn rule(resource_type: &str) -> Option<ResourceRule> {
    use Transform::{OneDecimal, Verbatim, Year};
    let (newest_by, fields) = match resource_type {
        "Condition" => (
            "onsetDateTime",
            vec![
                field("problem", "code.coding.display", Verbatim),
                field("status", "clinicalStatus.coding.code", Verbatim),
                field("onset_year", "onsetDateTime", Year),
            ],
        ),
        "MedicationRequest" => (
            "authoredOn",
            vec![
                field(
                    "medication",
                    "medicationCodeableConcept.coding.display",
                    Verbatim,
                ),
                field("status", "status", Verbatim),
                field("year", "authoredOn", Year),
            ],
        ),
        "AllergyIntolerance" => (
            "recordedDate",
            vec![
                field("substance", "code.coding.display", Verbatim),
                field("criticality", "criticality", Verbatim),
            ],
        ),
        "Observation" => (
            "effectiveDateTime",
            vec![
                field("name", "code.coding.display", Verbatim),
                field("value", "valueQuantity.value", OneDecimal),
                field("unit", "valueQuantity.unit", Verbatim),
                field("year", "effectiveDateTime", Year),
            ],
        ),
        "Encounter" => (
            "period.start",
            vec![
                field("type", "type.coding.display", Verbatim),
                field("class", "class.code", Verbatim),
                field("year", "period.start", Year),
            ],
        ),
        _ => return None,
    };
    Some(ResourceRule {
        resource_type: resource_type.into(),
        filter: None,
        newest_by: Some(newest_by.into()),
        limit: 10,
        fields,
    })
}

/// The scope a caller needs to read `resource_type` through the tool.
pub(crate) fn scope_for(resource_type: &str) -> Option<String> {
    RESOURCE_TYPES
        .contains(&resource_type)
        .then(|| format!("user/{resource_type}.r"))
}

pub(super) fn get_record(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let resource_type = str_arg(args, "resource_type")?;
    let rule = rule(resource_type).ok_or(ToolError::BadArgument("resource_type"))?;
    let projection = Projection {
        patient: Vec::new(),
        resources: vec![rule],
    };
    let mut projected = projection.apply(env.record, env.now.date());
    Ok(projected
        .get_mut(resource_type)
        .map(Value::take)
        .unwrap_or(Value::Array(Vec::new())))
}
