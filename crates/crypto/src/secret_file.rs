//! Files that hold secrets: created owner-only in one step, refused when others can read them.
//!
//! The audit crate uses the same two functions for its signing key, so that every secret on disk
//! follows one rule. Unix permission bits are the whole check; this module does not build on
//! platforms without them.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use crate::CryptoError;

/// Permission bits that must be clear on a secret file: anything for group or others.
const GROUP_OTHER_BITS: u32 = 0o077;

/// Creates `path` with mode 0600 and writes `contents`, refusing if anything is already there.
///
/// The mode is set by `open(2)` itself, so there is no moment when the file exists with looser
/// permissions. The file and its directory are synced before returning.
pub fn create_secret_file(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let io_err = |source| CryptoError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| match source.kind() {
            ErrorKind::AlreadyExists => CryptoError::KeyFileExists {
                path: path.to_path_buf(),
            },
            _ => io_err(source),
        })?;

    file.write_all(contents).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    sync_parent(path).map_err(io_err)
}

/// Reads a secret file, refusing it if group or others have any permission on it.
///
/// The permissions are read from the opened file, not the path, so a swap between the check and
/// the read cannot slip a different file in.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let io_err = |source| CryptoError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let metadata = file.metadata().map_err(io_err)?;
    if !metadata.is_file() {
        return Err(CryptoError::KeyFileContent {
            path: path.to_path_buf(),
            reason: "not a regular file",
        });
    }
    let mode = metadata.mode() & 0o7777;
    if mode & GROUP_OTHER_BITS != 0 {
        return Err(CryptoError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }

    let mut contents = Zeroizing::new(Vec::new());
    file.read_to_end(&mut contents).map_err(io_err)?;
    Ok(contents)
}

/// Syncs the directory entry so a freshly created key survives a crash.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_created_secret_file_is_owner_only_and_reads_back() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret");
        create_secret_file(&path, b"abc")?;
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        assert_eq!(read_secret_file(&path)?.as_slice(), b"abc");
        Ok(())
    }

    #[test]
    fn creating_over_an_existing_file_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret");
        fs::write(&path, b"keep me")?;
        let err = create_secret_file(&path, b"new").err();
        assert!(matches!(err, Some(CryptoError::KeyFileExists { .. })));
        assert_eq!(fs::read(&path)?, b"keep me");
        Ok(())
    }

    #[test]
    fn a_group_readable_file_is_refused_with_its_path_and_mode() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret");
        create_secret_file(&path, b"abc")?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640))?;
        let err = read_secret_file(&path).err().ok_or("expected a refusal")?;
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("0640"), "{message}");
        Ok(())
    }
}
