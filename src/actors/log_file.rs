//! LogFile: the event log on disk. Appends lines to `<dir>/events.jsonl`, rotates it by
//! size (`events.jsonl.1` newest ... `.N`), reopens it when something else renamed or
//! removed it (logrotate), and reads the last lines back by seeking from the end. Plain
//! blocking IO: used only from the log sink's own thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const FILE_NAME: &str = "events.jsonl";

/// How often the path is checked for having been moved away.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Bytes read per step when reading the file backwards.
const BLOCK: u64 = 64 * 1024;

/// Where and how the event log is written.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub dir: PathBuf,
    /// Rotate when the file would grow past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept; 0 keeps none.
    pub keep: usize,
}

pub struct LogFile {
    settings: LogSettings,
    path: PathBuf,
    file: File,
    /// Bytes in the open file.
    size: u64,
    last_check: Instant,
}

impl LogFile {
    /// Opens (creating) `<dir>/events.jsonl` for appending.
    pub fn open(settings: LogSettings) -> io::Result<Self> {
        fs::create_dir_all(&settings.dir)?;
        let path = settings.dir.join(FILE_NAME);
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            settings,
            path,
            file,
            size,
            last_check: Instant::now(),
        })
    }

    /// Appends one line (a newline is added), rotating first when it would not fit.
    pub fn append(&mut self, line: &[u8]) -> io::Result<()> {
        if self.last_check.elapsed() >= CHECK_EVERY {
            self.last_check = Instant::now();
            if self.moved() {
                self.reopen()?;
            }
        }
        let needed = line.len() as u64 + 1;
        if self.size > 0 && self.size.saturating_add(needed) > self.settings.max_bytes {
            self.rotate()?;
        }
        let mut buffer = Vec::with_capacity(line.len() + 1);
        buffer.extend_from_slice(line);
        buffer.push(b'\n');
        self.file.write_all(&buffer)?;
        self.size += needed;
        Ok(())
    }

    /// Whether the path no longer names the open file (renamed, removed, replaced).
    fn moved(&self) -> bool {
        let Ok(on_disk) = fs::metadata(&self.path) else {
            return true;
        };
        let Ok(open) = self.file.metadata() else {
            return true;
        };
        !same_file(&on_disk, &open)
    }

    fn reopen(&mut self) -> io::Result<()> {
        tracing::info!(path = %self.path.display(), "event log was moved; reopening it");
        self.file = open_append(&self.path)?;
        self.size = self.file.metadata()?.len();
        Ok(())
    }

    /// `events.jsonl.{k}` -> `.{k+1}` (the oldest dropped), the file -> `.1`, a new file.
    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.settings.keep;
        if keep == 0 {
            fs::remove_file(&self.path).or_else(ignore_missing)?;
        } else {
            fs::remove_file(self.rotated(keep)).or_else(ignore_missing)?;
            for k in (1..keep).rev() {
                fs::rename(self.rotated(k), self.rotated(k + 1)).or_else(ignore_missing)?;
            }
            fs::rename(&self.path, self.rotated(1)).or_else(ignore_missing)?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    fn rotated(&self, k: usize) -> PathBuf {
        self.settings.dir.join(format!("{FILE_NAME}.{k}"))
    }

    /// The last `limit` lines, oldest first, reading the current file and then the
    /// newest rotated one backwards; reads at most `max_bytes` in all.
    pub fn tail(&self, limit: usize, max_bytes: u64) -> io::Result<Vec<String>> {
        let mut lines = Vec::new();
        let mut budget = max_bytes;
        for path in [self.path.clone(), self.rotated(1)] {
            if lines.len() >= limit || budget == 0 {
                break;
            }
            match File::open(&path) {
                Ok(mut file) => {
                    budget -= tail_of(&mut file, limit - lines.len(), budget, &mut lines)?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        lines.reverse();
        Ok(lines)
    }
}

/// Pushes up to `limit` complete lines of `file`, newest first; returns the bytes read.
fn tail_of(file: &mut File, limit: usize, budget: u64, lines: &mut Vec<String>) -> io::Result<u64> {
    let mut end = file.seek(SeekFrom::End(0))?;
    let mut read = 0u64;
    // Bytes after the last newline seen so far, in file order (a partial line).
    let mut carry: Vec<u8> = Vec::new();
    let mut pushed = 0;
    while end > 0 && pushed < limit && read < budget {
        let step = BLOCK.min(end).min(budget - read);
        let start = end - step;
        file.seek(SeekFrom::Start(start))?;
        let mut block = vec![0u8; step as usize];
        file.read_exact(&mut block)?;
        read += step;
        block.extend_from_slice(&carry);
        let mut rest = block.as_slice();
        while let Some(at) = rest.iter().rposition(|&b| b == b'\n') {
            let line = &rest[at + 1..];
            if !line.is_empty() && pushed < limit {
                lines.push(String::from_utf8_lossy(line).into_owned());
                pushed += 1;
            }
            rest = &rest[..at];
        }
        carry = rest.to_vec();
        end = start;
    }
    // The file's first line has no newline before it.
    if end == 0 && !carry.is_empty() && pushed < limit {
        lines.push(String::from_utf8_lossy(&carry).into_owned());
    }
    Ok(read)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sr-logfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = dir("rotate");
        let settings = LogSettings {
            dir: dir.clone(),
            max_bytes: 100,
            keep: 2,
        };
        let mut log = LogFile::open(settings).unwrap();
        for i in 0..30 {
            log.append(format!("line-{i:04}-xxxxxxxx").as_bytes())
                .unwrap();
        }
        for name in [FILE_NAME, "events.jsonl.1", "events.jsonl.2"] {
            let size = fs::metadata(dir.join(name)).unwrap().len();
            assert!(size <= 100, "{name}: {size}");
        }
        assert!(!dir.join("events.jsonl.3").exists());
        // The tail spans the current file and the newest rotated one, oldest first.
        let tail = log.tail(7, 1 << 20).unwrap();
        let expected: Vec<String> = (23..30).map(|i| format!("line-{i:04}-xxxxxxxx")).collect();
        assert_eq!(tail, expected);
    }

    #[test]
    fn tail_reads_lines_across_blocks_and_respects_the_byte_budget() {
        let dir = dir("tail");
        let settings = LogSettings {
            dir: dir.clone(),
            max_bytes: u64::MAX,
            keep: 1,
        };
        let mut log = LogFile::open(settings).unwrap();
        let long = "y".repeat(100_000);
        log.append(b"first").unwrap();
        log.append(long.as_bytes()).unwrap();
        log.append(b"last").unwrap();
        assert_eq!(
            log.tail(2, 1 << 20).unwrap(),
            vec![long.clone(), "last".into()]
        );
        assert_eq!(
            log.tail(10, 1 << 20).unwrap(),
            vec!["first".to_owned(), long, "last".into()]
        );
        // With a small budget only what was read in full comes back.
        assert_eq!(log.tail(10, 10).unwrap(), vec!["last".to_owned()]);
    }

    #[test]
    fn a_renamed_file_is_left_alone_and_a_new_one_written() {
        let dir = dir("moved");
        let settings = LogSettings {
            dir: dir.clone(),
            max_bytes: u64::MAX,
            keep: 1,
        };
        let mut log = LogFile::open(settings).unwrap();
        log.append(b"before").unwrap();
        fs::rename(dir.join(FILE_NAME), dir.join("moved.jsonl")).unwrap();
        log.last_check = Instant::now() - CHECK_EVERY;
        log.append(b"after").unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("moved.jsonl")).unwrap(),
            "before\n"
        );
        assert_eq!(fs::read_to_string(dir.join(FILE_NAME)).unwrap(), "after\n");
    }
}
