use thiserror::Error;

/// Why a FHIR document was refused. Messages name paths and positions, never values.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The bytes are not JSON.
    #[error("not valid JSON at line {line}, column {column}")]
    Json {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
    },
    /// The JSON is not the FHIR structure expected.
    #[error("invalid FHIR at {path}: {reason}")]
    Invalid {
        /// JSON path of the offending element, such as `entry[3].resource`.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The bundle holds no Patient resource, or more than one.
    #[error("the bundle must hold exactly one Patient resource, found {found}")]
    PatientCount {
        /// How many Patient resources were found.
        found: usize,
    },
}

impl FhirError {
    pub(crate) fn invalid(path: impl Into<String>, reason: &'static str) -> Self {
        Self::Invalid {
            path: path.into(),
            reason,
        }
    }
}
