//! The witness file: every checkpoint the log signs is also appended here, synced, as a signed
//! note followed by a blank line.
//!
//! Kept somewhere the audit database's writer cannot rewrite (another volume, a host that only
//! appends, a write-once bucket synced from it), it closes the gap the log cannot close alone:
//! cutting entries off the end together with the checkpoints that covered them.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::{AuditError, Checkpoint};

const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Appends `checkpoints` to the witness file at `path` (created 0600) and syncs it.
pub(crate) fn append(path: &Path, checkpoints: &[Checkpoint]) -> Result<(), AuditError> {
    let witness_err = |source| AuditError::Witness {
        path: path.to_owned(),
        source,
    };
    let mut text = String::new();
    for checkpoint in checkpoints {
        text.push_str(&checkpoint.to_note());
        text.push('\n');
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(witness_err)?;
    file.write_all(text.as_bytes()).map_err(witness_err)?;
    file.sync_data().map_err(witness_err)
}

/// The notes in the witness file at `path`, as text; none if the file does not exist yet.
pub fn read_notes(path: &Path) -> Result<Vec<String>, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AuditError::Witness {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(split_notes(&text))
}

/// Splits concatenated signed notes: each is a body, a blank line, and signature lines.
fn split_notes(text: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let mut current = String::new();
    let mut in_signatures = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if in_signatures && !bare.starts_with(SIGNATURE_PREFIX) {
            notes.push(std::mem::take(&mut current));
            in_signatures = false;
            if bare.is_empty() {
                continue;
            }
        }
        if !in_signatures && bare.is_empty() && !current.is_empty() {
            in_signatures = true;
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() {
        notes.push(current);
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_written_one_after_another_are_read_back_whole() -> Result<(), AuditError> {
        let note = |size: u64| format!("log\n{size}\nAAAA\ntime 1\n\n\u{2014} log c2lnbmF0dXJl\n");
        let text = format!("{}\n{}\n", note(1), note(2));
        let notes = split_notes(&text);
        assert_eq!(notes, vec![note(1), note(2)]);
        // A note cut off in the middle is returned as it is, to fail parsing by name.
        let cut = format!("{}\nlog\n3\n", note(1));
        assert_eq!(split_notes(&cut).len(), 2);
        Ok(())
    }
}
