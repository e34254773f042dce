//! The one atomic writer: a file or a directory is built under a temporary name beside its
//! target and renamed into place only when complete, so a reader never sees half of it and a
//! failed write leaves what was there before. Run directories, sweep directories, `--junit`
//! reports and `--trace` files all go through here.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{OutputError, io_error};

/// The directory `target` goes in (created if missing) and its file name, for temporary
/// siblings named `.NAME.tmp-*` and `.NAME.old-*`.
fn sibling_of(target: &Path, fallback: &str) -> Result<(PathBuf, String), OutputError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| fallback.into());
    Ok((parent, name))
}

/// Builds a directory with `fill` in a temporary sibling of `dir`, then swaps it into place.
pub fn write_dir_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let (parent, name) = sibling_of(dir, "run")?;
    let tmp =
        tempfile::Builder::new().prefix(&format!(".{name}.tmp-")).tempdir_in(&parent).map_err(io_error(&parent))?;
    fill(tmp.path())?;
    let tmp_path = tmp.keep();
    if dir.exists() {
        let old =
            tempfile::Builder::new().prefix(&format!(".{name}.old-")).tempdir_in(&parent).map_err(io_error(&parent))?;
        let old_path = old.keep();
        std::fs::remove_dir(&old_path).map_err(io_error(&old_path))?;
        std::fs::rename(dir, &old_path).map_err(io_error(dir))?;
        std::fs::rename(&tmp_path, dir).map_err(io_error(dir))?;
        std::fs::remove_dir_all(&old_path).map_err(io_error(&old_path))?;
    } else {
        std::fs::rename(&tmp_path, dir).map_err(io_error(dir))?;
    }
    Ok(())
}

/// A file being written under a temporary sibling name; [`AtomicFile::commit`] renames it
/// into place. Dropped without a commit, the temporary file is removed.
pub struct AtomicFile {
    out: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile, OutputError> {
        let (parent, name) = sibling_of(target, "file")?;
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempfile_in(&parent)
            .map_err(io_error(&parent))?;
        Ok(AtomicFile { out: BufWriter::new(file), target: target.to_path_buf() })
    }

    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// Flushes the file and renames it into place.
    pub fn commit(self) -> Result<(), OutputError> {
        let target = self.target;
        let file =
            self.out.into_inner().map_err(|e| OutputError::Io { path: target.clone(), source: e.into_error() })?;
        file.persist(&target).map_err(|e| OutputError::Io { path: target.clone(), source: e.error })?;
        Ok(())
    }
}

/// Writes a file with `fill`, atomically.
pub fn write_file_atomically(
    target: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let mut file = AtomicFile::create(target)?;
    fill(file.writer()).map_err(io_error(target))?;
    file.commit()
}
