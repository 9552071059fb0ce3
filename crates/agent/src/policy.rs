//! What may be disclosed to a provider, decided from whether it leaves the premises and whether
//! a business associate agreement is on record for it.

/// How de-identified data is shaped for one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisclosureMode {
    /// Numbered placeholders (`[NAME_1]`) whose originals Phigate keeps in the encrypted vault,
    /// so the answer can be re-identified. Only for providers on the premises or under a BAA.
    Pseudonymized,
    /// Safe Harbor de-identified data with no link back: placeholders carry their type only
    /// (`[NAME]`) and the answer is not re-identified.
    SafeHarbor,
}

impl DisclosureMode {
    /// The mode the policy allows for a provider.
    pub fn for_provider(leaves_premises: bool, baa_on_record: bool) -> Self {
        if leaves_premises && !baa_on_record {
            Self::SafeHarbor
        } else {
            Self::Pseudonymized
        }
    }

    /// The name written in audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pseudonymized => "pseudonymized",
            Self::SafeHarbor => "safe-harbor",
        }
    }
}

/// Drops the numbers from placeholders: `[NAME_12]` becomes `[NAME]`, so the text no longer
/// links back to the vault.
pub fn unlink_placeholders(text: &str) -> String {
    rewrite_placeholders(text, |out, placeholder, tag_len| {
        out.push_str(&placeholder[..tag_len]);
        out.push(']');
    })
}

/// Rewrites placeholder-shaped text that arrived in the input (`[NAME_1]` becomes `(NAME_1)`),
/// so a caller cannot plant a token the vault would later "restore" into someone's identifier.
pub fn defuse_placeholders(text: &str) -> String {
    rewrite_placeholders(text, |out, placeholder, _| {
        out.push('(');
        out.push_str(&placeholder[1..placeholder.len() - 1]);
        out.push(')');
    })
}

/// Copies `text`, letting `write` replace each numbered placeholder; it is given the output, the
/// placeholder and the length of its `[TAG` part.
fn rewrite_placeholders(text: &str, write: impl Fn(&mut String, &str, usize)) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        match numbered_placeholder(tail) {
            Some((tag_len, total)) => {
                write(&mut out, &tail[..total], tag_len);
                rest = &tail[total..];
            }
            None => {
                out.push('[');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces well-formed placeholders that `vault` did not issue with `[removed]`, and counts
/// them: the model invented or mangled them, and they stand for nothing.
pub(crate) fn rewrite_unknown_placeholders(
    text: &str,
    vault: &phigate_deid::Vault,
) -> (String, usize) {
    let count = std::cell::Cell::new(0);
    let out = rewrite_placeholders(text, |out, placeholder, _| {
        if vault.original(placeholder).is_some() {
            out.push_str(placeholder);
        } else {
            count.set(count.get() + 1);
            out.push_str("[removed]");
        }
    });
    (out, count.get())
}

/// Applies [`defuse_placeholders`] to every string in a JSON tree.
pub(crate) fn defuse_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('[') => *s = defuse_placeholders(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(defuse_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(defuse_json),
        _ => {}
    }
}

/// For `[TAG_123]...`, the length of `[TAG` and of the whole placeholder.
fn numbered_placeholder(s: &str) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let tag_end = 1 + bytes[1..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if tag_end == 1 || bytes.get(tag_end) != Some(&b'_') {
        return None;
    }
    let digits = bytes[tag_end + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || bytes.get(tag_end + 1 + digits) != Some(&b']') {
        return None;
    }
    Some((tag_end, tag_end + digits + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_providers_off_premises_without_a_baa_get_safe_harbor_data() {
        assert_eq!(
            DisclosureMode::for_provider(true, false),
            DisclosureMode::SafeHarbor
        );
        assert_eq!(
            DisclosureMode::for_provider(true, true),
            DisclosureMode::Pseudonymized
        );
        assert_eq!(
            DisclosureMode::for_provider(false, false),
            DisclosureMode::Pseudonymized
        );
    }

    #[test]
    fn placeholders_planted_in_the_input_are_defused() {
        assert_eq!(
            defuse_placeholders("[doctor] hi [NAME_1], [x]"),
            "[doctor] hi (NAME_1), [x]"
        );
        let mut v = serde_json::json!({"a": ["see [DATE_2]"], "b": 1});
        defuse_json(&mut v);
        assert_eq!(v, serde_json::json!({"a": ["see (DATE_2)"], "b": 1}));
    }

    #[test]
    fn placeholders_lose_their_numbers_and_other_brackets_stay() {
        let text = "[NAME_1] saw [PROVIDER_12] on [DATE_3]; see [1] and [NOTE_x] [";
        assert_eq!(
            unlink_placeholders(text),
            "[NAME] saw [PROVIDER] on [DATE]; see [1] and [NOTE_x] ["
        );
    }
}
