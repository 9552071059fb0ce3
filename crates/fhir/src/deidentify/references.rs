//! Pseudonymizing the ids inside references, whatever form the reference takes.

use super::FhirDeidentifier;

/// `reference` with every id it holds replaced by its pseudonym:
///
/// - `urn:uuid:ID` and `#ID` (a contained resource);
/// - `Type/ID`, `Type/ID/_history/V` and absolute `…/Type/ID`;
/// - conditional `Type?identifier=system|value&…`, where each value is pseudonymized.
///
/// Anything else is free text and goes through detection.
pub(super) fn pseudonymize(reference: &str, walker: &mut FhirDeidentifier<'_, '_>) -> String {
    if let Some(id) = reference.strip_prefix("urn:uuid:") {
        return format!("urn:uuid:{}", walker.pseudonym(id));
    }
    if let Some(id) = reference.strip_prefix('#') {
        return format!("#{}", walker.pseudonym(id));
    }
    if let Some((resource_type, query)) = reference.split_once('?') {
        return format!("{resource_type}?{}", conditional(query, walker));
    }
    let segments: Vec<&str> = reference.split('/').collect();
    let history = segments.iter().position(|s| *s == "_history");
    let id_at = match history {
        Some(h) if h >= 1 => h - 1,
        _ => segments.len().saturating_sub(1),
    };
    let typed = id_at >= 1
        && segments[id_at - 1].starts_with(|c: char| c.is_ascii_uppercase())
        && segments[id_at - 1].chars().all(|c| c.is_ascii_alphabetic());
    if !typed {
        if segments.len() == 1 && !reference.contains(' ') {
            // A bare resource type (`Patient` as a request url) holds no id.
            if reference.chars().all(|c| c.is_ascii_alphabetic()) {
                return reference.to_owned();
            }
        }
        return walker.free_text(reference);
    }
    let mut out: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
    out[id_at] = walker.pseudonym(segments[id_at]);
    if let Some(h) = history
        && let Some(version) = out.get_mut(h + 1)
    {
        *version = "1".to_owned();
    }
    out.join("/")
}

/// `identifier=system|value&name=x`: every parameter value's last `|` part is pseudonymized.
fn conditional(query: &str, walker: &mut FhirDeidentifier<'_, '_>) -> String {
    query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, value)) => {
                let replaced = match value.rsplit_once('|') {
                    Some((system, v)) => format!("{system}|{}", walker.pseudonym(v)),
                    None => walker.pseudonym(value),
                };
                format!("{name}={replaced}")
            }
            None => walker.pseudonym(param),
        })
        .collect::<Vec<_>>()
        .join("&")
}
