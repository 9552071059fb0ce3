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
    /// A line of an NDJSON file is not one FHIR resource.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it (never its content).
        reason: String,
    },
    /// A reference names a resource that is neither in the input nor already stored.
    #[error("{at}: {path} refers to a {target} that is neither in the input nor stored")]
    DanglingReference {
        /// Where the referring resource is (`line 3`, `entry[4]`).
        at: String,
        /// The JSON path of the reference inside the resource.
        path: String,
        /// What kind of target it names (a resource type, or `bundle entry`), never its id.
        target: String,
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
