//! The settings file: load (every problem at once) and save (comments kept,
//! atomic, owner-only).

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use super::settings::Settings;
use super::{ConfigError, Loaded, read, schema, validate, write};

/// The commented example; a new file starts from it so it carries the comments.
pub(crate) const EXAMPLE: &str = include_str!("../../config/astrow-pac.toml");

/// Load and validate the settings file, files it names included.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with(path, true)
}

/// Load and validate; `check_files` also checks the files the settings name.
pub fn load_with(path: &Path, check_files: bool) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ConfigError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let invalid = |problems, warnings| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
        warnings,
    };
    let (settings, mut problems) = read::parse(&text).map_err(|p| invalid(vec![p], vec![]))?;
    problems.extend(validate::validate(&settings, check_files));
    problems.sort_by_key(|p| schema::order(&p.setting));
    let warnings = validate::warnings(&settings);
    if problems.is_empty() {
        Ok(Loaded { settings, warnings })
    } else {
        Err(invalid(problems, warnings))
    }
}

/// Why the settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(
        "{setting} cannot be written to a TOML file (a path must be UTF-8, a number at most 2^63-1)"
    )]
    Unrepresentable { setting: String },
    #[error(
        "the settings file {path} is not valid TOML, so saving would lose it; fix it by hand or move it away first"
    )]
    Unparsable { path: PathBuf },
    #[error("cannot write the settings file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Save `settings` to `path`: into the existing file so its comments and
/// order survive (a new file starts from the commented example), through a
/// temporary file, fsync and rename, readable by its owner only.
pub fn save(path: &Path, settings: &Settings) -> Result<(), SaveError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => EXAMPLE.to_string(),
        Err(source) => {
            return Err(SaveError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut doc: DocumentMut = existing.parse().map_err(|_| SaveError::Unparsable {
        path: path.to_path_buf(),
    })?;
    write::write_settings(&mut doc, settings)?;
    // Through a symlink, replace the file it points at, not the link.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    write_atomic(&target, doc.to_string().as_bytes()).map_err(|source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `path` so that a crash leaves the old or the new file,
/// never half of one.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = write_new_file(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    #[cfg(unix)]
    {
        // The rename is durable once the directory is.
        std::fs::File::open(&dir)?.sync_all()?;
    }
    Ok(())
}

fn write_new_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
