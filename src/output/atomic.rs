//! The one atomic writer: a file or a directory is built under a temporary name beside its
//! target and renamed into place only when complete, so a reader never sees half of it and a
//! failed write leaves what was there before. Run directories, sweep directories, `--junit`
//! reports and `--trace` files all go through here.
//!
//! Nothing a user had is lost: a directory is replaced only if it is routesim's output of the
//! same kind, marked by a file [`Kind::marker`] written into every output directory. Temporary
//! names carry the writer's process id (`.NAME.tmp-PID-*`, `.NAME.old-PID-*`), so that a later
//! write of the same target removes those of a process that is gone (killed by SIGKILL).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{OutputError, io_error};

/// The temporary paths this process is writing now: what an interrupt removes. Its lock is
/// also held while an old output is swapped for a new one, so an interrupt never falls
/// between the two renames (which would leave the old output under a temporary name).
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A temporary path registered in `LIVE` for as long as this lives.
struct Live(PathBuf);

impl Live {
    fn new(path: &Path) -> Live {
        if let Ok(mut live) = LIVE.lock() {
            live.push(path.to_path_buf());
        }
        Live(path.to_path_buf())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|p| *p != self.0);
        }
    }
}

/// On SIGINT or SIGTERM, removes every temporary file or directory this process is writing,
/// says so on stderr and exits with 130: nothing half-written is left and nothing the user
/// had is touched (an output being replaced is swapped whole or not at all).
pub fn remove_temporaries_on_interrupt() -> Result<(), String> {
    ctrlc::set_handler(|| {
        let live = LIVE.lock();
        for path in live.iter().flat_map(|paths| paths.iter()) {
            let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
        }
        // On a terminal a progress bar may hold the line: clear it first.
        let clear = if std::io::IsTerminal::is_terminal(&std::io::stderr()) { "\r\x1b[2K" } else { "" };
        eprintln!("{clear}interrupted: nothing written");
        std::process::exit(130);
    })
    .map_err(|e| format!("cannot watch for interrupts: {e}"))
}

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

/// What kind of output a directory holds: only the same kind may replace it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `routesim run`'s directory.
    Run,
    /// `routesim sweep`'s or `merge`'s directory (a shard's too).
    Sweep,
    /// `routesim tune`'s directory.
    Tune,
    /// `routesim explore`'s directory.
    Explore,
    /// `routesim compare`'s directory.
    Compare,
}

impl Kind {
    /// The file that marks a directory as this kind of routesim output.
    pub fn marker(self) -> &'static str {
        match self {
            Kind::Run => ".routesim-run",
            Kind::Sweep => ".routesim-sweep",
            Kind::Tune => ".routesim-tune",
            Kind::Explore => ".routesim-explore",
            Kind::Compare => ".routesim-compare",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Sweep => "sweep",
            Kind::Tune => "tune",
            Kind::Explore => "explore",
            Kind::Compare => "compare",
        }
    }
}

/// The temporary-name prefixes of `name`'s siblings: `.NAME.tmp-`, `.NAME.old-`.
fn prefixes(name: &str) -> [String; 2] {
    [format!(".{name}.tmp-"), format!(".{name}.old-")]
}

/// Removes `name`'s temporary siblings in `parent` left by a process that is gone. A name
/// whose process id cannot be read, or a process that may be alive, is left alone.
fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let own = std::process::id();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = prefixes(name).iter().find_map(|p| file_name.strip_prefix(p.as_str())) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != own && !process_alive(pid) {
            let path = entry.path();
            // Best effort: what cannot be removed now is tried again by the next write.
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

/// Whether process `pid` may be running. Without `/proc` (not Linux) nothing can be told, so
/// every process counts as alive and nothing is removed.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Refuses to replace `dir` unless it is missing or routesim's output of kind `kind`; the
/// commands call it before they start work, [`write_dir_atomically`] again before writing.
pub fn check_replaceable(dir: &Path, kind: Kind) -> Result<(), OutputError> {
    let refuse = |what: &str| {
        Err(OutputError::Refused {
            path: dir.to_path_buf(),
            message: format!(
                "{what}, so routesim will not replace it: choose another --out, or remove it yourself if it is \
                 yours to lose (routesim replaces only a {} directory it wrote, marked by its `{}` file)",
                kind.noun(),
                kind.marker()
            ),
        })
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OutputError::Io { path: dir.to_path_buf(), source: e }),
        Ok(m) if !m.is_dir() => refuse("it exists and is not a directory"),
        Ok(_) if dir.join(kind.marker()).is_file() => Ok(()),
        Ok(_) => {
            let other = [Kind::Run, Kind::Sweep, Kind::Tune, Kind::Explore, Kind::Compare]
                .into_iter()
                .find(|k| dir.join(k.marker()).is_file());
            match other {
                Some(other) => refuse(&format!("it holds a routesim {}, not a {}", other.noun(), kind.noun())),
                None => refuse("it exists and is not a directory routesim wrote"),
            }
        }
    }
}

/// Builds a directory of kind `kind` with `fill` in a temporary sibling of `dir`, then swaps it
/// into place. An existing `dir` is replaced only if it is routesim's output of the same kind
/// ([`OutputError::Refused`] otherwise, before anything is written).
pub fn write_dir_atomically(
    dir: &Path,
    kind: Kind,
    fill: impl FnOnce(&Path) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    check_replaceable(dir, kind)?;
    let (parent, name) = sibling_of(dir, "run")?;
    remove_stale(&parent, &name);
    let [tmp_prefix, old_prefix] = prefixes(&name);
    let pid = std::process::id();
    // Dropped on any early return, which removes it: a failed fill or rename leaks nothing.
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{tmp_prefix}{pid}-"))
        .tempdir_in(&parent)
        .map_err(io_error(&parent))?;
    let _live = Live::new(tmp.path());
    fill(tmp.path())?;
    let marker = format!(
        "written by routesim: a later `routesim {}` may replace this directory because this file is here\n",
        kind.noun()
    );
    std::fs::write(tmp.path().join(kind.marker()), marker).map_err(io_error(tmp.path()))?;
    // No interrupt between here and the end: the swap happens whole.
    let _swapping = LIVE.lock();
    if dir.exists() {
        // Checked again: `dir` may have appeared while `fill` ran.
        check_replaceable(dir, kind)?;
        let old = tempfile::Builder::new()
            .prefix(&format!("{old_prefix}{pid}-"))
            .tempdir_in(&parent)
            .map_err(io_error(&parent))?
            .keep();
        std::fs::remove_dir(&old).map_err(io_error(&old))?;
        std::fs::rename(dir, &old).map_err(io_error(dir))?;
        if let Err(e) = std::fs::rename(tmp.path(), dir) {
            // Put the previous output back; `tmp` is removed on return.
            let _ = std::fs::rename(&old, dir);
            return Err(OutputError::Io { path: dir.to_path_buf(), source: e });
        }
        let _ = tmp.keep();
        std::fs::remove_dir_all(&old).map_err(io_error(&old))?;
    } else {
        std::fs::rename(tmp.path(), dir).map_err(io_error(dir))?;
        let _ = tmp.keep();
    }
    Ok(())
}

/// A file being written under a temporary sibling name; [`AtomicFile::commit`] renames it
/// into place. Dropped without a commit, the temporary file is removed. A target that exists
/// and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written directly: a
/// rename would replace the device with a file.
pub struct AtomicFile {
    out: Out,
    target: PathBuf,
}

enum Out {
    Temporary { file: BufWriter<tempfile::NamedTempFile>, _live: Live },
    Special(BufWriter<std::fs::File>),
}

impl AtomicFile {
    /// Refuses a `target` that is a directory (a file rename cannot replace one anyway).
    pub fn create(target: &Path) -> Result<AtomicFile, OutputError> {
        if target.is_dir() {
            return Err(OutputError::Refused {
                path: target.to_path_buf(),
                message: "is a directory; name a file".into(),
            });
        }
        if std::fs::metadata(target).is_ok_and(|m| !m.file_type().is_file()) {
            let file = std::fs::OpenOptions::new().write(true).open(target).map_err(io_error(target))?;
            return Ok(AtomicFile { out: Out::Special(BufWriter::new(file)), target: target.to_path_buf() });
        }
        let (parent, name) = sibling_of(target, "file")?;
        remove_stale(&parent, &name);
        let [tmp_prefix, _] = prefixes(&name);
        let file = tempfile::Builder::new()
            .prefix(&format!("{tmp_prefix}{}-", std::process::id()))
            .tempfile_in(&parent)
            .map_err(io_error(&parent))?;
        let live = Live::new(file.path());
        Ok(AtomicFile { out: Out::Temporary { file: BufWriter::new(file), _live: live }, target: target.to_path_buf() })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match &mut self.out {
            Out::Temporary { file, .. } => file,
            Out::Special(file) => file,
        }
    }

    /// Flushes the file and renames it into place.
    pub fn commit(self) -> Result<(), OutputError> {
        let target = self.target;
        match self.out {
            Out::Temporary { file, _live } => {
                let file =
                    file.into_inner().map_err(|e| OutputError::Io { path: target.clone(), source: e.into_error() })?;
                file.persist(&target).map_err(|e| OutputError::Io { path: target.clone(), source: e.error })?;
            }
            Out::Special(mut file) => file.flush().map_err(io_error(&target))?,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn put(d: &Path, file: &str, text: &str) -> Result<(), OutputError> {
        std::fs::write(d.join(file), text).map_err(io_error(d))
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_to_not_replaced() {
        let null = Path::new("/dev/null");
        let mut file = AtomicFile::create(null).unwrap();
        file.writer().write_all(b"gone").unwrap();
        file.commit().unwrap();
        assert!(!std::fs::metadata(null).unwrap().file_type().is_file(), "/dev/null is still a device");
    }

    #[test]
    fn a_failed_fill_leaves_the_old_directory_untouched() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        write_dir_atomically(&dir, Kind::Run, |d| put(d, "a", "first")).unwrap();
        let failed = write_dir_atomically(&dir, Kind::Run, |d| {
            put(d, "a", "second")?;
            Err(OutputError::Other { path: d.into(), message: "boom".into() })
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "first");
        let leftovers: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary directories are cleaned up");
        write_dir_atomically(&dir, Kind::Run, |d| put(d, "b", "third")).unwrap();
        assert!(!dir.join("a").exists());
        assert_eq!(std::fs::read_to_string(dir.join("b")).unwrap(), "third");
    }

    #[test]
    fn only_routesim_output_of_the_same_kind_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        let mine = root.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), "precious").unwrap();
        let e = write_dir_atomically(&mine, Kind::Run, |d| put(d, "a", "x")).unwrap_err();
        assert!(matches!(e, OutputError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("choose another --out"), "{e}");
        assert_eq!(std::fs::read_to_string(mine.join("notes.txt")).unwrap(), "precious");
        let file = root.path().join("file");
        std::fs::write(&file, "data").unwrap();
        assert!(matches!(write_dir_atomically(&file, Kind::Run, |_| Ok(())), Err(OutputError::Refused { .. })));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
        let sweep = root.path().join("sweep");
        write_dir_atomically(&sweep, Kind::Sweep, |d| put(d, "a", "x")).unwrap();
        let e = write_dir_atomically(&sweep, Kind::Run, |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("holds a routesim sweep, not a run"), "{e}");
        write_dir_atomically(&sweep, Kind::Sweep, |d| put(d, "b", "y")).unwrap();
        assert!(sweep.join("b").is_file() && !sweep.join("a").exists());
        // Nothing else is left beside them.
        let names: Vec<String> =
            std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn leftovers_of_a_dead_process_are_removed_by_the_next_write() {
        let root = tempfile::tempdir().unwrap();
        // A process id above Linux's pid_max (2^22) is never alive.
        let dead = root.path().join(".run.tmp-99999999-abc");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("summary.json"), "{}").unwrap();
        let dead_old = root.path().join(".run.old-99999999-def");
        std::fs::create_dir(&dead_old).unwrap();
        let dead_file = root.path().join(".t.jsonl.tmp-99999999-ghi");
        std::fs::write(&dead_file, "x").unwrap();
        // A live process's (ours) and another target's are kept.
        let live = root.path().join(format!(".run.tmp-{}-xyz", std::process::id()));
        std::fs::create_dir(&live).unwrap();
        let other = root.path().join(".other.tmp-99999999-abc");
        std::fs::create_dir(&other).unwrap();
        write_dir_atomically(&root.path().join("run"), Kind::Run, |_| Ok(())).unwrap();
        assert!(!dead.exists() && !dead_old.exists());
        assert!(live.exists() && other.exists());
        let mut file = AtomicFile::create(&root.path().join("t.jsonl")).unwrap();
        file.writer().write_all(b"{}\n").unwrap();
        file.commit().unwrap();
        assert!(!dead_file.exists());
        assert_eq!(std::fs::read_to_string(root.path().join("t.jsonl")).unwrap(), "{}\n");
    }
}
