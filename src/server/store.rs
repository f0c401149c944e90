//! What `pubcat serve --data-dir DIR` keeps on disk: every topic's history
//! and head, and every queue's unacknowledged messages, so a restarted
//! broker (after a crash or `kill -9` too) has them all, with the same ids.
//!
//! # Files
//!
//! An append-only log of [`Record`]s (framed and checksummed, see
//! [`crate::codec::log`]), in generations: `NNNNNNNN.log` holds what was
//! appended since generation `N` began, `NNNNNNNN.snap` the state when it
//! began. A broker starts from the newest snapshot, then replays the logs
//! of that generation and after, in order. Replaying is idempotent, so a
//! snapshot may overlap the log after it.
//!
//! **Compaction** ([`Store::rotate`], [`Store::write_snapshot`]): once the
//! logs have grown past [`COMPACT_MIN`] and twice the last snapshot,
//! appends go to a new generation's log, the broker writes what it keeps
//! now as that generation's snapshot (to a temporary file, synced, then
//! renamed), and the older files are deleted. Until the rename, a crash
//! leaves the older files in charge, and nothing is lost either way.
//!
//! **A torn tail** (a crash in the middle of a write) fails its checksum
//! or ends early: the newest log is cut back to its last whole record. A
//! bad record anywhere else is reported and the rest of that file skipped.
//!
//! # When an append is safe
//!
//! One thread writes, in the order appends were made, batching what is
//! waiting into one write (and one sync). [`Store::written`] resolves once
//! the record is in the file (it survives the process being killed),
//! [`Store::durable`] once it is as safe as `--fsync` promises: `always`
//! synced to the disk (it survives a power cut); `interval` and `never`
//! written (a power cut loses at most the last interval, or what the OS
//! had not flushed). The broker confirms a publish (the `POST` answer, a
//! STOMP RECEIPT) only once it is durable.
//!
//! **A disk that stops answering** (a hung network mount, a dying drive)
//! does not hang the broker: an append not written (or synced, as
//! `--fsync` asks) within [`STALL`] fails, and so does every append after
//! it, until a restart, since the stuck write may still land and the
//! broker can no longer tell which ids the file holds. A publish is then
//! refused (`507`, a WebSocket close 1011, a STOMP ERROR), never confirmed, and the log says why
//! once. A compaction waits no longer either.
//!
//! A second broker on the same directory is refused (an exclusive lock on
//! `DIR/lock`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::codec::log::Record;

/// Logs smaller than this are never compacted.
pub const COMPACT_MIN: u64 = 64 << 20;

/// How long an append may wait for the disk before the store gives up.
pub const STALL: Duration = Duration::from_secs(30);

/// What `--fsync` asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// Sync before confirming each publish.
    Always,
    /// Sync at most this long after a write; confirm once written.
    Interval(Duration),
    /// Leave it to the OS; confirm once written.
    Never,
}

/// Where an append stands in the writer's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// The writer's progress, as appenders wait on it.
#[derive(Clone, Debug, Default)]
struct Progress {
    written: u64,
    synced: u64,
    /// The first write error: every append from then on fails with it.
    failed: Option<Arc<str>>,
}

/// A failed append: the disk said no (full, gone). The broker answers the
/// publish with an error rather than confirming it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the data directory cannot be written: {0}")]
pub struct StoreError(Arc<str>);

impl StoreError {
    pub fn new(why: impl Into<Arc<str>>) -> StoreError {
        StoreError(why.into())
    }
}

enum Command {
    Append(Vec<u8>),
    /// Start a new generation's log; reply with its number.
    Rotate(oneshot::Sender<io::Result<u64>>),
}

pub struct Store {
    dir: PathBuf,
    policy: Fsync,
    /// The next ticket and the writer's queue, taken together so tickets
    /// follow the queue's order.
    queue: Mutex<(u64, mpsc::Sender<Command>)>,
    progress: watch::Receiver<Progress>,
    /// Bytes in the logs since the last snapshot, and that snapshot's size.
    sizes: Arc<Mutex<(u64, u64)>>,
    /// [`STALL`], shorter in tests.
    stall: Duration,
    /// Why appends fail from now on, once the disk did not answer within
    /// `stall` (see the module's documentation).
    stuck: Mutex<Option<Arc<str>>>,
    _lock: File,
}

/// What the files held, folded: each topic's head and kept messages, each
/// queue's unacknowledged messages, and what was wrong with the files.
#[derive(Debug, Default)]
pub struct Recovered {
    pub epoch: Option<u64>,
    pub topics: std::collections::BTreeMap<String, RecoveredTopic>,
    pub queues: std::collections::BTreeMap<String, std::collections::BTreeMap<u64, Record>>,
    /// One line per problem found (a torn tail cut off, a corrupt record).
    pub warnings: Vec<String>,
}

#[derive(Debug, Default)]
pub struct RecoveredTopic {
    pub last_id: u64,
    /// `Record::Publish`es in id order, ids contiguous and ending at
    /// `last_id` (older ones were dropped when a gap was found).
    pub messages: std::collections::VecDeque<Record>,
}

impl Recovered {
    /// Apply one record; replaying is idempotent.
    fn apply(&mut self, record: Record) {
        match record {
            Record::Epoch(e) => self.epoch = Some(e),
            Record::Publish { ref topic, id, .. } => {
                let t = self.topics.entry(topic.clone()).or_default();
                if id <= t.last_id {
                    return;
                }
                if id != t.last_id + 1 {
                    // Kept ids are one contiguous run: what came before a
                    // gap (evicted on the way) is not history any more.
                    t.messages.clear();
                }
                t.last_id = id;
                t.messages.push_back(record);
            }
            Record::Head { topic, last_id } => {
                let t = self.topics.entry(topic).or_default();
                if last_id > t.last_id {
                    t.last_id = last_id;
                    t.messages.clear();
                }
            }
            Record::Enqueue { ref queue, id, .. } => {
                self.queues
                    .entry(queue.clone())
                    .or_default()
                    .entry(id)
                    .or_insert(record);
            }
            Record::Ack { queue, id } => {
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.remove(&id);
                }
            }
        }
    }
}

fn file_name(generation: u64, ext: &str) -> String {
    format!("{generation:08}.{ext}")
}

/// The generations present: (snapshots, logs), each sorted.
fn generations(dir: &Path) -> io::Result<(Vec<u64>, Vec<u64>)> {
    let mut snaps = Vec::new();
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((n, ext)) = name.split_once('.') else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match ext {
            "snap" => snaps.push(n),
            "log" => logs.push(n),
            _ => {}
        }
    }
    snaps.sort_unstable();
    logs.sort_unstable();
    Ok((snaps, logs))
}

/// Replay `path` into `into`; a bad record ends the file (cut there when
/// `cut` is set). Returns the bytes read.
fn replay(path: &Path, into: &mut Recovered, cut: bool) -> io::Result<u64> {
    let mut buf = Vec::new();
    File::open(path)?.read_to_end(&mut buf)?;
    let mut at = 0usize;
    let why = loop {
        match Record::decode(&buf[at..]) {
            Ok(Some((record, used))) => {
                into.apply(record);
                at += used;
            }
            Ok(None) if at == buf.len() => break None,
            Ok(None) => break Some("ends in the middle of a record".to_string()),
            Err(e) => break Some(e.to_string()),
        }
    };
    if let Some(why) = why {
        let lost = buf.len() - at;
        if cut {
            OpenOptions::new()
                .write(true)
                .open(path)?
                .set_len(at as u64)?;
            into.warnings.push(format!(
                "{}: {why} at byte {at}; cut off the last {lost} bytes (a write the crash interrupted)",
                path.display()
            ));
        } else {
            into.warnings.push(format!(
                "{}: {why} at byte {at}; skipped the last {lost} bytes",
                path.display()
            ));
        }
    }
    Ok(at as u64)
}

/// Make a file's creation, rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// Open (or create) `dir`, read back what it holds, and start the
    /// writer.
    pub fn open(dir: &Path, policy: Fsync) -> io::Result<(Store, Recovered)> {
        std::fs::create_dir_all(dir)?;
        let lock = lock(dir)?;
        let (snaps, logs) = generations(dir)?;
        let mut recovered = Recovered::default();
        let base = snaps.last().copied().unwrap_or(0);
        let mut snap_size = 0;
        if snaps.last().is_some() {
            snap_size = replay(&dir.join(file_name(base, "snap")), &mut recovered, false)?;
        }
        let live: Vec<u64> = logs.iter().copied().filter(|g| *g >= base).collect();
        let mut log_bytes = 0;
        for (i, g) in live.iter().enumerate() {
            let newest = i + 1 == live.len();
            log_bytes += replay(&dir.join(file_name(*g, "log")), &mut recovered, newest)?;
        }
        // Files a finished snapshot made obsolete (a crash before they
        // were deleted).
        for g in snaps.iter().filter(|g| **g < base) {
            let _ = std::fs::remove_file(dir.join(file_name(*g, "snap")));
        }
        for g in logs.iter().filter(|g| **g < base) {
            let _ = std::fs::remove_file(dir.join(file_name(*g, "log")));
        }
        let generation = live.last().copied().unwrap_or(base);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(file_name(generation, "log")))?;
        sync_dir(dir)?;
        let store = Store::start(
            dir,
            policy,
            (generation, file),
            (log_bytes, snap_size),
            lock,
        )?;
        Ok((store, recovered))
    }

    /// Start the writer on `file`, generation `generation`'s log.
    fn start(
        dir: &Path,
        policy: Fsync,
        (generation, file): (u64, File),
        sizes: (u64, u64),
        lock: File,
    ) -> io::Result<Store> {
        let (tx, rx) = mpsc::channel();
        let (progress_tx, progress) = watch::channel(Progress::default());
        let sizes = Arc::new(Mutex::new(sizes));
        let writer = Writer {
            dir: dir.to_path_buf(),
            generation,
            file,
            policy,
            progress: progress_tx,
            sizes: Arc::clone(&sizes),
            written: 0,
            synced: 0,
        };
        std::thread::Builder::new()
            .name("pubcat-store".into())
            .spawn(move || writer.run(rx))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            policy,
            queue: Mutex::new((0, tx)),
            progress,
            sizes,
            stall: STALL,
            stuck: Mutex::new(None),
            _lock: lock,
        })
    }

    /// Queue `record` for writing, after everything queued before it.
    pub fn append(&self, record: &Record) -> Ticket {
        let mut bytes = Vec::new();
        record.encode(&mut bytes);
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.0 += 1;
        // The writer only stops when the store is dropped.
        let _ = queue.1.send(Command::Append(bytes));
        Ticket(queue.0)
    }

    /// Once the record is in the file.
    pub async fn written(&self, ticket: Ticket) -> Result<(), StoreError> {
        self.wait(|p| p.written >= ticket.0).await
    }

    /// Once the record is as safe as `--fsync` promises.
    pub async fn durable(&self, ticket: Ticket) -> Result<(), StoreError> {
        match self.policy {
            Fsync::Always => self.wait(|p| p.synced >= ticket.0).await,
            Fsync::Interval(_) | Fsync::Never => self.written(ticket).await,
        }
    }

    async fn wait(&self, done: impl Fn(&Progress) -> bool) -> Result<(), StoreError> {
        self.not_stuck()?;
        let mut rx = self.progress.clone();
        let waited =
            tokio::time::timeout(self.stall, rx.wait_for(|p| p.failed.is_some() || done(p))).await;
        let p = match waited {
            Ok(p) => p.map_err(|_| StoreError("the writer stopped".into()))?,
            Err(_) => return Err(self.stuck()),
        };
        match &p.failed {
            Some(e) if !done(&p) => Err(StoreError(Arc::clone(e))),
            _ => Ok(()),
        }
    }

    fn not_stuck(&self) -> Result<(), StoreError> {
        match &*self.stuck.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(why) => Err(StoreError(Arc::clone(why))),
            None => Ok(()),
        }
    }

    /// The disk did not answer in time: fail this append and every one
    /// after it, and say so once.
    fn stuck(&self) -> StoreError {
        let mut stuck = self.stuck.lock().unwrap_or_else(PoisonError::into_inner);
        let why = stuck.get_or_insert_with(|| {
            let why = format!(
                "the disk did not finish a write in {} s; publishes are refused until the broker restarts",
                self.stall.as_secs_f64()
            );
            crate::log::line(format_args!("pubcat: error: {}", StoreError::new(why.as_str())));
            why.into()
        });
        StoreError(Arc::clone(why))
    }

    /// Whether the logs have grown enough to be worth a snapshot.
    pub fn wants_compaction(&self) -> bool {
        let (logs, snap) = *self.sizes.lock().unwrap_or_else(PoisonError::into_inner);
        logs > COMPACT_MIN.max(snap.saturating_mul(2))
    }

    /// Start a new generation: appends from now on go to its log. Returns
    /// its number, for [`Store::write_snapshot`].
    pub async fn rotate(&self) -> io::Result<u64> {
        let (tx, rx) = oneshot::channel();
        {
            let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue
                .1
                .send(Command::Rotate(tx))
                .map_err(|_| io::Error::other("the writer stopped"))?;
        }
        match tokio::time::timeout(self.stall, rx).await {
            Ok(reply) => reply.map_err(|_| io::Error::other("the writer stopped"))?,
            Err(_) => Err(io::Error::other(self.stuck())),
        }
    }

    /// Write `records`, the state when `generation` began (or later), as
    /// its snapshot, then delete what it makes obsolete. Blocking I/O: call
    /// it from `spawn_blocking`.
    pub fn write_snapshot(&self, generation: u64, records: &[Record]) -> io::Result<()> {
        let tmp = self
            .dir
            .join(format!("{}.tmp", file_name(generation, "snap")));
        let mut buf = Vec::new();
        let mut file = File::create(&tmp)?;
        let mut size = 0u64;
        for r in records {
            r.encode(&mut buf);
            if buf.len() >= 1 << 20 {
                file.write_all(&buf)?;
                size += buf.len() as u64;
                buf.clear();
            }
        }
        file.write_all(&buf)?;
        size += buf.len() as u64;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, self.dir.join(file_name(generation, "snap")))?;
        sync_dir(&self.dir)?;
        let (snaps, logs) = generations(&self.dir)?;
        for g in snaps.into_iter().filter(|g| *g < generation) {
            std::fs::remove_file(self.dir.join(file_name(g, "snap")))?;
        }
        for g in logs.into_iter().filter(|g| *g < generation) {
            std::fs::remove_file(self.dir.join(file_name(g, "log")))?;
        }
        let mut sizes = self.sizes.lock().unwrap_or_else(PoisonError::into_inner);
        sizes.1 = size;
        Ok(())
    }
}

/// An exclusive lock on `DIR/lock`, held while the store is open.
fn lock(dir: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another pubcat serve is using this data directory",
            ));
        }
    }
    Ok(file)
}

struct Writer {
    dir: PathBuf,
    generation: u64,
    file: File,
    policy: Fsync,
    progress: watch::Sender<Progress>,
    sizes: Arc<Mutex<(u64, u64)>>,
    written: u64,
    synced: u64,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Command>) {
        let mut batch: Vec<u8> = Vec::new();
        let mut last_sync = Instant::now();
        loop {
            let command = match self.policy {
                Fsync::Interval(every) if self.synced < self.written => {
                    let left = every.saturating_sub(last_sync.elapsed());
                    match rx.recv_timeout(left) {
                        Ok(c) => Some(c),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
                _ => match rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => break,
                },
            };
            let mut rotate = None;
            let mut count = 0u64;
            if let Some(command) = command {
                let mut next = Some(command);
                // Everything waiting, up to a rotation, in one write.
                while let Some(c) = next.take() {
                    match c {
                        Command::Append(bytes) => {
                            batch.extend_from_slice(&bytes);
                            count += 1;
                        }
                        Command::Rotate(reply) => {
                            rotate = Some(reply);
                            break;
                        }
                    }
                    if batch.len() < 4 << 20 {
                        next = rx.try_recv().ok();
                    }
                }
            }
            if count > 0 {
                let result = self.file.write_all(&batch);
                let bytes = batch.len() as u64;
                batch.clear();
                if let Err(e) = result {
                    self.fail(e);
                    break;
                }
                self.written += count;
                self.sizes.lock().unwrap_or_else(PoisonError::into_inner).0 += bytes;
                self.publish();
            }
            let sync_now = match self.policy {
                Fsync::Always => self.synced < self.written,
                Fsync::Interval(every) => {
                    self.synced < self.written && last_sync.elapsed() >= every
                }
                Fsync::Never => false,
            } || (rotate.is_some() && self.synced < self.written);
            if sync_now {
                if let Err(e) = self.file.sync_data() {
                    self.fail(e);
                    break;
                }
                last_sync = Instant::now();
                self.synced = self.written;
                self.publish();
            }
            if let Some(reply) = rotate {
                let _ = reply.send(self.rotate());
            }
        }
        // The store is gone (the broker shut down): leave nothing unsynced.
        if self.synced < self.written && self.file.sync_data().is_ok() {
            self.synced = self.written;
            self.publish();
        }
    }

    fn rotate(&mut self) -> io::Result<u64> {
        let next = self.generation + 1;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(file_name(next, "log")))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.generation = next;
        self.sizes.lock().unwrap_or_else(PoisonError::into_inner).0 = 0;
        Ok(next)
    }

    fn publish(&self) {
        let (written, synced) = (self.written, self.synced);
        self.progress.send_modify(|p| {
            p.written = written;
            p.synced = synced;
        });
    }

    fn fail(&self, e: io::Error) {
        let why: Arc<str> = e.to_string().into();
        self.progress.send_modify(|p| p.failed = Some(why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn publish(topic: &str, id: u64, body: &str) -> Record {
        Record::Publish {
            topic: topic.into(),
            id,
            at_ms: 1,
            binary: false,
            headers: Vec::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    fn bodies(r: &Recovered, topic: &str) -> Vec<(u64, String)> {
        r.topics[topic]
            .messages
            .iter()
            .map(|m| match m {
                Record::Publish { id, body, .. } => {
                    (*id, String::from_utf8_lossy(body).to_string())
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    async fn append_all(store: &Store, records: &[Record]) {
        let mut last = None;
        for r in records {
            last = Some(store.append(r));
        }
        if let Some(t) = last {
            store.durable(t).await.unwrap();
        }
    }

    #[tokio::test]
    async fn what_was_appended_is_there_after_a_reopen_with_queues_folded() {
        let dir = tempfile::tempdir().unwrap();
        let (store, recovered) = Store::open(dir.path(), Fsync::Always).unwrap();
        assert!(recovered.topics.is_empty() && recovered.epoch.is_none());
        let enqueue = |id| Record::Enqueue {
            queue: "jobs".into(),
            id,
            binary: false,
            headers: vec![("k".into(), "v".into())],
            body: Bytes::from_static(b"job"),
        };
        append_all(
            &store,
            &[
                Record::Epoch(9),
                publish("a", 1, "one"),
                publish("a", 2, "two"),
                publish("b", 1, "bee"),
                // Replayed twice (a snapshot overlapping its log): no change.
                publish("a", 2, "two again"),
                enqueue(1),
                enqueue(2),
                Record::Ack {
                    queue: "jobs".into(),
                    id: 1,
                },
                Record::Head {
                    topic: "gone".into(),
                    last_id: 40,
                },
            ],
        )
        .await;
        drop(store);
        let (_store, r) = Store::open(dir.path(), Fsync::Always).unwrap();
        assert_eq!(r.epoch, Some(9));
        assert_eq!(bodies(&r, "a"), [(1, "one".into()), (2, "two".into())]);
        assert_eq!(bodies(&r, "b"), [(1, "bee".into())]);
        assert_eq!(r.topics["gone"].last_id, 40);
        assert!(r.topics["gone"].messages.is_empty());
        assert_eq!(r.queues["jobs"].keys().copied().collect::<Vec<_>>(), [2]);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_off_and_appends_go_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), Fsync::Interval(Duration::from_secs(1))).unwrap();
        append_all(&store, &[publish("t", 1, "kept")]).await;
        drop(store);
        // Half a record, as a crash in the middle of a write leaves it.
        let mut half = Vec::new();
        publish("t", 2, "torn").encode(&mut half);
        let log = dir.path().join(file_name(0, "log"));
        let whole = std::fs::metadata(&log).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(&half[..half.len() / 2]).unwrap();
        drop(f);
        let (store, r) = Store::open(dir.path(), Fsync::Never).unwrap();
        assert_eq!(bodies(&r, "t"), [(1, "kept".into())]);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("cut off"), "{:?}", r.warnings);
        assert_eq!(std::fs::metadata(&log).unwrap().len(), whole);
        append_all(&store, &[publish("t", 2, "after")]).await;
        drop(store);
        let (_store, r) = Store::open(dir.path(), Fsync::Never).unwrap();
        assert_eq!(bodies(&r, "t"), [(1, "kept".into()), (2, "after".into())]);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[tokio::test]
    async fn a_snapshot_replaces_the_logs_before_it_and_overlaps_safely() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), Fsync::Always).unwrap();
        append_all(&store, &[publish("t", 1, "old"), publish("t", 2, "two")]).await;
        let generation = store.rotate().await.unwrap();
        assert_eq!(generation, 1);
        // Appended after the rotation: in the new log, and (as a publish
        // racing the snapshot would be) in the snapshot too.
        append_all(&store, &[publish("t", 3, "three")]).await;
        // The broker keeps only 2..3 now (1 evicted).
        store
            .write_snapshot(
                generation,
                &[
                    Record::Epoch(5),
                    publish("t", 2, "two"),
                    publish("t", 3, "three"),
                ],
            )
            .unwrap();
        append_all(&store, &[publish("t", 4, "four")]).await;
        drop(store);
        let (snaps, logs) = generations(dir.path()).unwrap();
        assert_eq!((snaps, logs), (vec![1], vec![1]));
        let (_store, r) = Store::open(dir.path(), Fsync::Always).unwrap();
        assert_eq!(r.epoch, Some(5));
        assert_eq!(
            bodies(&r, "t"),
            [(2, "two".into()), (3, "three".into()), (4, "four".into())]
        );
    }

    #[tokio::test]
    async fn a_second_broker_cannot_open_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, _) = Store::open(dir.path(), Fsync::Never).unwrap();
        let err = Store::open(dir.path(), Fsync::Never).err().unwrap();
        assert!(err.to_string().contains("another pubcat serve"), "{err}");
    }

    /// A "disk" that stops taking bytes: a pipe nobody reads, whose buffer
    /// (64 KiB) the first big record fills.
    #[tokio::test]
    async fn a_disk_that_stops_answering_fails_appends_within_the_bound_and_for_good() {
        use std::os::fd::FromRawFd;
        let dir = tempfile::tempdir().unwrap();
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors, which we then own.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both are fresh descriptors nothing else owns.
        let (read_end, write_end) =
            unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        let mut store = Store::start(
            dir.path(),
            Fsync::Never,
            (0, write_end),
            (0, 0),
            lock(dir.path()).unwrap(),
        )
        .unwrap();
        store.stall = Duration::from_millis(300);
        let big = publish("t", 1, &"x".repeat(256 << 10));
        let started = Instant::now();
        let err = store.written(store.append(&big)).await.unwrap_err();
        let waited = started.elapsed();
        assert!(err.to_string().contains("did not finish a write"), "{err}");
        assert!(
            waited >= store.stall && waited < Duration::from_secs(10),
            "{waited:?}"
        );
        // Every append after it fails at once, even a small one.
        let started = Instant::now();
        let err = store
            .durable(store.append(&publish("t", 2, "small")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not finish a write"), "{err}");
        assert!(started.elapsed() < store.stall, "{:?}", started.elapsed());
        // A compaction does not wait for the disk either.
        let err = store.rotate().await.unwrap_err();
        assert!(err.to_string().contains("did not finish a write"), "{err}");
        drop(read_end);
    }
}
