//! The chaos test's ack file: what the child writes, and how the parent reads it.
//!
//! The child appends one line per step of a session lifecycle. The lines that
//! matter for the verdict are written *before* the step they announce
//! (`intent`: an `/eod` is about to be called, with the hash of its payload)
//! or *right after* the call returned (`ack`: the caller was told Delivered or
//! Queued), each followed by an fsync. A SIGKILL can tear the last line; the
//! parent only reads lines ending in `\n` and cuts a torn tail off the file
//! before the next child appends to it.
//!
//! Line formats (space separated, the message of an error is the rest of the line):
//!
//! ```text
//! sod <op> <track>
//! started <op> <session_id> <created|resumed|unknown>
//! start_err <op> <message>
//! update <op> <applied|queued|err> [message]
//! intent <op> <session_id> <payload_hash>
//! ack <op> delivered <session_id> <payload_hash> <hash the server answered>
//! ack <op> queued <session_id> <payload_hash> <local_id>
//! end_err <op> <message>
//! sync ok <delivered> <retrying> <dead> <pending> | sync err <message>
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The child's writer.
pub struct AckWriter {
    file: File,
}

impl AckWriter {
    /// Opens the file for appending (creating it).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self { file })
    }

    /// Appends one line with a single `write`, then fsyncs when `durable`.
    pub fn line(&mut self, text: &str, durable: bool) {
        let mut buf = one_line(text);
        buf.push('\n');
        self.file.write_all(buf.as_bytes()).expect("ack file write");
        if durable {
            self.file.sync_data().expect("ack file fsync");
        }
    }
}

/// `text` with line breaks replaced, so a message stays on its line.
pub fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// How the `/eod` call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acked {
    /// `EndOutcome::Delivered`, with the hash the server answered.
    Delivered { server_hash: String },
    /// `EndOutcome::Queued`, with the queue item's id.
    Queued { local_id: String },
}

/// Everything known about one logical operation (one session lifecycle).
#[derive(Debug, Clone, Default)]
pub struct Op {
    /// The child life (iteration) that ran it.
    pub life: usize,
    /// The session track it used.
    pub track: i64,
    /// The session `/sod` returned.
    pub session_id: Option<String>,
    /// Whether `/sod` resumed a live session.
    pub resumed: bool,
    /// Written before `/eod` was called: (session, payload hash).
    pub intent: Option<(String, String)>,
    /// Written right after `/eod` returned Delivered or Queued.
    pub ack: Option<Acked>,
    /// `/eod` returned an error.
    pub end_err: Option<String>,
    /// `/sod` returned an error.
    pub start_err: Option<String>,
}

/// Counts of the steps that are not part of the verdict, for the summary.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// `/update` outcomes: applied, queued, err.
    pub updates: [u64; 3],
    /// Explicit `sync()` calls that returned / failed.
    pub syncs: [u64; 2],
    /// Items delivered by explicit syncs, as they reported.
    pub synced_delivered: u64,
    /// Torn (partially written) last lines cut off after a kill.
    pub torn_lines: u64,
    /// Lines the parser did not understand (must stay 0).
    pub garbage: Vec<String>,
    /// `/update` error messages.
    pub update_errors: Vec<String>,
}

/// The parent's view of the ack file, read incrementally after each kill.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    offset: u64,
    /// Operations by id.
    pub ops: BTreeMap<u64, Op>,
    /// Other counts.
    pub tally: Tally,
}

impl Ledger {
    /// A ledger over the (possibly not yet existing) file at `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            offset: 0,
            ops: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// The next unused operation id.
    pub fn next_op(&self) -> u64 {
        self.ops.keys().next_back().map_or(1, |op| op + 1)
    }

    /// Reads the lines appended since the last call by the child of `life`
    /// (which is dead), cutting off a torn last line so the next child
    /// appends after a clean line end.
    pub fn catch_up(&mut self, life: usize) -> std::io::Result<()> {
        let mut file = match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            self.tally.torn_lines += 1;
            file.set_len(self.offset + complete as u64)?;
            file.sync_all()?;
        }
        let text = String::from_utf8_lossy(&bytes[..complete]).into_owned();
        for line in text.lines() {
            self.apply(line, life);
        }
        self.offset += complete as u64;
        Ok(())
    }

    /// The operation whose `/eod` was called in `life` and had not returned
    /// when the child died: (op id, session id, payload hash).
    pub fn open_intent(&self, life: usize) -> Option<(u64, String, String)> {
        let (op, rec) = self.ops.iter().next_back()?;
        if rec.life != life || rec.ack.is_some() || rec.end_err.is_some() {
            return None;
        }
        let (sid, hash) = rec.intent.clone()?;
        Some((*op, sid, hash))
    }

    fn apply(&mut self, line: &str, life: usize) {
        let mut words = line.splitn(3, ' ');
        let (kind, a, rest) = (
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
        );
        if kind == "sync" {
            let fields: Vec<&str> = rest.split(' ').collect();
            if a == "ok" {
                self.tally.syncs[0] += 1;
                self.tally.synced_delivered += fields.first().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
            } else {
                self.tally.syncs[1] += 1;
            }
            return;
        }
        let Ok(op) = a.parse::<u64>() else {
            self.tally.garbage.push(line.to_owned());
            return;
        };
        let rec = self.ops.entry(op).or_insert_with(|| Op {
            life,
            ..Op::default()
        });
        let fields: Vec<&str> = rest.split(' ').collect();
        let ok = match (kind, fields.as_slice()) {
            ("sod", [track]) => track.parse().map(|t| rec.track = t).is_ok(),
            ("started", [sid, status]) => {
                rec.session_id = Some((*sid).to_owned());
                rec.resumed = *status == "resumed";
                true
            }
            ("start_err", _) => {
                rec.start_err = Some(rest.to_owned());
                true
            }
            ("update", [outcome, ..]) => {
                let i = match *outcome {
                    "applied" => 0,
                    "queued" => 1,
                    _ => 2,
                };
                self.tally.updates[i] += 1;
                if i == 2 {
                    self.tally.update_errors.push(rest.to_owned());
                }
                true
            }
            ("intent", [sid, hash]) => {
                rec.intent = Some(((*sid).to_owned(), (*hash).to_owned()));
                true
            }
            ("ack", ["delivered", _sid, _hash, server_hash]) => {
                rec.ack = Some(Acked::Delivered {
                    server_hash: (*server_hash).to_owned(),
                });
                true
            }
            ("ack", ["queued", _sid, _hash, local_id]) => {
                rec.ack = Some(Acked::Queued {
                    local_id: (*local_id).to_owned(),
                });
                true
            }
            ("end_err", _) => {
                rec.end_err = Some(rest.to_owned());
                true
            }
            _ => false,
        };
        if !ok {
            self.tally.garbage.push(line.to_owned());
        }
    }
}
