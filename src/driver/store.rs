//! Durable state files: checkpoints, the inventory, the status file.
//!
//! A write is atomic and durable: the new content goes to a temporary file in the same
//! directory, is fsynced, renamed over the old file, and the directory is fsynced, so after a
//! crash (`kill -9`, power loss) a reader sees either the old or the new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct StoreError {
    pub path: PathBuf,
    pub op: &'static str,
    pub source: io::Error,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path.display(), self.source)
    }
}

impl std::error::Error for StoreError {}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating it if needed) the state directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| StoreError {
            path: dir.clone(),
            op: "create directory",
            source,
        })?;
        Ok(Store { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads a state file; a missing file is `Ok(None)` (first start).
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.dir.join(name);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError {
                path,
                op: "read",
                source,
            }),
        }
    }

    /// Replaces a state file atomically and durably.
    pub fn write(&self, name: &str, content: &[u8]) -> Result<(), StoreError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let fail = |op: &'static str, p: &Path| {
            let p = p.to_path_buf();
            move |source| StoreError {
                path: p,
                op,
                source,
            }
        };
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(fail("create", &tmp))?;
        f.write_all(content).map_err(fail("write", &tmp))?;
        f.sync_all().map_err(fail("fsync", &tmp))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(fail("rename", &path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(fail("fsync directory", &self.dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_and_read_returns_the_new_content() {
        let dir = std::env::temp_dir().join(format!("vpcflow-store-{}", std::process::id()));
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.read("cp.json").unwrap(), None);
        s.write("cp.json", b"{\"a\":1}").unwrap();
        s.write("cp.json", b"{\"a\":2}").unwrap();
        assert_eq!(
            s.read("cp.json").unwrap().as_deref(),
            Some(&b"{\"a\":2}"[..])
        );
        assert!(!dir.join(".cp.json.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
