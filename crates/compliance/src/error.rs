//! What can go wrong reading the catalogue.

/// An unreadable or inconsistent catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The TOML does not parse into the catalogue's shape.
    #[error("the controls catalogue does not parse: {0}")]
    Parse(String),
    /// A control breaks a rule of the catalogue (duplicate id, no feature, a bad test reference).
    #[error("control {id}: {problem}")]
    Invalid {
        /// The control's id.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
}
