//! Putting the originals back into model output, whole or streamed.
//!
//! A placeholder is `[` + an upper-case kind tag + `_` + a number + `]`. Tokens of that shape
//! that the vault did not issue are left as they are and reported, because the model invented or
//! mangled them and a reviewer should know.

use crate::entity::EntityKind;
use crate::vault::Vault;

/// The longest tag of any kind (`PROVIDER`, `LOCATION`, `EMPLOYER`).
const MAX_TAG: usize = 8;
/// More digits than any conversation needs; bounds how much a stream holds back.
const MAX_DIGITS: usize = 9;

/// Model output with the originals restored.
#[derive(Clone, PartialEq, Eq)]
pub struct Restored {
    /// The restored text. Contains PHI.
    pub text: String,
    /// Well-formed placeholders that the vault did not issue, in order of appearance, each
    /// once.
    pub unknown_placeholders: Vec<String>,
}

impl std::fmt::Debug for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restored")
            .field("text_len", &self.text.len())
            .field("unknown_placeholders", &self.unknown_placeholders)
            .finish()
    }
}

/// Restores every placeholder in `text` that `vault` issued.
pub fn reidentify(text: &str, vault: &Vault) -> Restored {
    let mut unknown = Vec::new();
    let text = restore_into(text, vault, &mut unknown);
    Restored {
        text,
        unknown_placeholders: unknown,
    }
}

fn restore_into(text: &str, vault: &Vault, unknown: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let candidate = &rest[open..];
        match placeholder_len(candidate) {
            Some(len) => {
                let token = &candidate[..len];
                match vault.original(token) {
                    Some(original) => out.push_str(original),
                    None => {
                        if !unknown.iter().any(|seen| seen == token) {
                            unknown.push(token.to_owned());
                        }
                        out.push_str(token);
                    }
                }
                rest = &candidate[len..];
            }
            None => {
                out.push('[');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length of the placeholder at the start of `s`, if `s` starts with one of a known kind.
fn placeholder_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let tag_len = bytes[1..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if tag_len == 0 || tag_len > MAX_TAG || bytes.get(1 + tag_len) != Some(&b'_') {
        return None;
    }
    EntityKind::from_tag(&s[1..1 + tag_len])?;
    let digits_at = 2 + tag_len;
    let digits = bytes[digits_at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > MAX_DIGITS || bytes.get(digits_at + digits) != Some(&b']') {
        return None;
    }
    Some(digits_at + digits + 1)
}

/// Whether `s` (starting with `[`) could still grow into a placeholder with more input.
fn could_become_placeholder(s: &str) -> bool {
    let bytes = s.as_bytes();
    let tag_len = bytes[1..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if tag_len > MAX_TAG {
        return false;
    }
    let after_tag = 1 + tag_len;
    if after_tag == bytes.len() {
        return true;
    }
    if bytes[after_tag] != b'_' || tag_len == 0 {
        return false;
    }
    let digits = bytes[after_tag + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    after_tag + 1 + digits == bytes.len() && digits <= MAX_DIGITS
}

/// Restores placeholders in streamed output, where one may be split across chunks.
///
/// Each [`push`](StreamRestorer::push) returns everything that can no longer be part of a
/// placeholder, restored; at most one possible placeholder prefix (a few bytes) is held back.
/// The concatenation of every `push` and the final [`finish`](StreamRestorer::finish) text equals
/// [`reidentify`] of the whole stream.
pub struct StreamRestorer<'a> {
    vault: &'a Vault,
    pending: String,
    unknown: Vec<String>,
}

impl std::fmt::Debug for StreamRestorer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRestorer")
            .field("pending_len", &self.pending.len())
            .finish()
    }
}

impl<'a> StreamRestorer<'a> {
    /// A restorer reading placeholders from `vault`.
    pub fn new(vault: &'a Vault) -> Self {
        StreamRestorer {
            vault,
            pending: String::new(),
            unknown: Vec::new(),
        }
    }

    /// Adds `chunk` and returns the restored text that is now final.
    pub fn push(&mut self, chunk: &str) -> String {
        self.pending.push_str(chunk);
        let hold_from = match self.pending.rfind('[') {
            Some(open) if could_become_placeholder(&self.pending[open..]) => open,
            _ => self.pending.len(),
        };
        let tail = self.pending.split_off(hold_from);
        let ready = std::mem::replace(&mut self.pending, tail);
        restore_into(&ready, self.vault, &mut self.unknown)
    }

    /// How many bytes the restorer keeps allocated between pushes: the held-back prefix of a
    /// possible placeholder, never more than the longest placeholder whatever the stream's size.
    pub fn retained_bytes(&self) -> usize {
        self.pending.capacity()
    }

    /// The most a restorer retains between pushes: `[`, the longest tag, `_` and the most
    /// digits a placeholder number may have.
    pub const MAX_RETAINED: usize = MAX_TAG + MAX_DIGITS + 2;

    /// Ends the stream: returns the restored remainder (only what earlier pushes did not
    /// return) and every unknown placeholder seen in the whole stream.
    pub fn finish(mut self) -> Restored {
        let text = restore_into(&self.pending, self.vault, &mut self.unknown);
        Restored {
            text,
            unknown_placeholders: self.unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        let mut vault = Vault::new();
        vault.placeholder_for(EntityKind::Name, "Martha Collins");
        vault.placeholder_for(EntityKind::Date, "March 3, 2026");
        vault
    }

    #[test]
    fn issued_placeholders_are_restored() {
        let restored = reidentify("[NAME_1] was seen on [DATE_1].", &vault());
        assert_eq!(restored.text, "Martha Collins was seen on March 3, 2026.");
        assert!(restored.unknown_placeholders.is_empty());
    }

    #[test]
    fn invented_placeholders_are_kept_and_reported_once() {
        let restored = reidentify("[NAME_2] and [NAME_1], [NAME_2], [PHONE_1]", &vault());
        assert_eq!(
            restored.text,
            "[NAME_2] and Martha Collins, [NAME_2], [PHONE_1]"
        );
        assert_eq!(restored.unknown_placeholders, vec!["[NAME_2]", "[PHONE_1]"]);
    }

    #[test]
    fn lookalikes_that_are_not_placeholders_are_left_alone() {
        for text in [
            "[FOO_1]", "[NAME_]", "[name_1]", "[NAME-1]", "[[NAME_1", "a[b]c", "[",
        ] {
            let restored = reidentify(text, &vault());
            assert_eq!(restored.text, text);
            assert!(restored.unknown_placeholders.is_empty(), "{text}");
        }
    }

    #[test]
    fn a_bracket_right_before_a_placeholder_does_not_hide_it() {
        assert_eq!(reidentify("[[NAME_1]]", &vault()).text, "[Martha Collins]");
    }

    #[test]
    fn a_stream_holds_back_only_a_possible_placeholder_prefix() {
        let vault = vault();
        let mut stream = StreamRestorer::new(&vault);
        assert_eq!(stream.push("Hello [NA"), "Hello ");
        assert_eq!(stream.push("ME_1"), "");
        assert_eq!(stream.push("], see [x"), "Martha Collins, see [x");
        assert_eq!(stream.finish().text, "");
    }

    #[test]
    fn an_unfinished_placeholder_is_flushed_at_the_end() {
        let vault = vault();
        let mut stream = StreamRestorer::new(&vault);
        assert_eq!(stream.push("tail [DATE_"), "tail ");
        assert_eq!(stream.finish().text, "[DATE_");
    }

    #[test]
    fn restored_debug_does_not_print_the_text() {
        let restored = reidentify("[NAME_1]", &vault());
        assert!(!format!("{restored:?}").contains("Martha"));
    }
}
