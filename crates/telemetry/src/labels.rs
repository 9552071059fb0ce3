//! Label sets. Every value is static text from a fixed set, a number, or a checked route
//! template.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// Most distinct route templates kept as labels; any more are counted as `other`. A router has
/// a few dozen routes, so reaching this means something is passing paths instead of templates.
const MAX_ROUTES: usize = 128;

/// The longest route template accepted as a label.
const MAX_ROUTE_LEN: usize = 96;

/// A route template as the router declares it (`/v1/drafts/{id}`), or `unmatched` for a
/// request no route took. Built only through [`RouteLabel::new`], which refuses anything that
/// does not look like a template, so a raw path with an identifier in it cannot become a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RouteLabel(Arc<str>);

impl RouteLabel {
    /// The label for `template`, the router's matched path (`None` when no route matched).
    ///
    /// A template is lowercase ASCII letters, digits, `/`, `_`, `-`, `.` and whole `{param}`
    /// segments. Anything else becomes `other`, as does any template past the first 128.
    pub fn new(template: Option<&str>) -> Self {
        let Some(template) = template else {
            return Self(Arc::from("unmatched"));
        };
        if !is_template(template) {
            return Self(Arc::from("other"));
        }
        let mut seen = known_routes()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = seen.get(template) {
            return Self(Arc::clone(known));
        }
        if seen.len() >= MAX_ROUTES {
            return Self(Arc::from("other"));
        }
        let label: Arc<str> = Arc::from(template);
        seen.insert(Arc::clone(&label));
        Self(label)
    }

    /// The label's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn known_routes() -> &'static Mutex<HashSet<Arc<str>>> {
    static ROUTES: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    ROUTES.get_or_init(|| Mutex::new(HashSet::new()))
}

fn is_template(template: &str) -> bool {
    let literal = |s: &str| {
        s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
    };
    template.len() <= MAX_ROUTE_LEN
        && template.starts_with('/')
        && template[1..].split('/').all(|segment| {
            match segment
                .strip_prefix('{')
                .and_then(|rest| rest.strip_suffix('}'))
            {
                Some(param) => !param.is_empty() && literal(param),
                None => literal(segment),
            }
        })
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

/// HTTP methods as labels; any other method is `OTHER`.
pub(crate) fn method_label(method: &str) -> &'static str {
    const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    METHODS
        .into_iter()
        .find(|m| *m == method)
        .unwrap_or("OTHER")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub route: RouteLabel,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct UpstreamErrorLabels {
    pub provider: &'static str,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProviderLabels {
    pub provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabel {
    pub entity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct InjectionLabels {
    pub source: &'static str,
    pub risk: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct IncidentLabels {
    pub rule: &'static str,
    pub severity: &'static str,
}
