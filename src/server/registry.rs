//! Named things created on first use and removed when idle: the broker's
//! topics and work queues.
//!
//! * At most `max` entries: creating one more is refused ([`Full`]) and
//!   counted.
//! * Everyone who uses an entry holds a [`Handle`]. When the last handle
//!   goes and the entry is [`Entry::idle`] (nothing kept, nobody on it),
//!   the entry is removed. The check is made under the map's lock after
//!   the handle's reference is gone, and the map is the only way to get a
//!   new one: an entry nobody else holds cannot be picked up while it is
//!   being removed, and whichever handle goes last does the removal.
//! * An entry can leave a [tombstone](Entry::tombstone) behind (a topic:
//!   its last id), handed to the next entry of that name. Tombstones are
//!   keyed by a hash of the name (a few bytes each, whatever the name's
//!   length) and at most `max` of them are kept, oldest forgotten first;
//!   [`Registry::forgotten`] counts those, so a new entry can tell that a
//!   tombstone of its name may have been lost.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::broker::lock;

/// What a registry holds.
pub trait Entry: Send + Sync + 'static {
    /// What a removed entry leaves for the next one of its name.
    type Tomb: Copy + Send;

    fn name(&self) -> &Arc<str>;

    /// Nothing kept and nobody on it: it may go once nobody holds it.
    fn idle(&self) -> bool;

    /// What to remember of it once removed; None: nothing.
    fn tombstone(&self) -> Option<Self::Tomb>;
}

/// Creating an entry would pass the registry's cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full {
    pub max: usize,
}

/// How a new entry starts: the name's tombstone if one is kept, and how
/// many tombstones had been forgotten when it was made.
pub struct Birth<T> {
    pub tomb: Option<T>,
    pub forgotten: u64,
}

pub struct Registry<T: Entry> {
    max: usize,
    inner: Mutex<Inner<T>>,
    hasher: std::collections::hash_map::RandomState,
    /// Creations refused because the registry was full.
    refused: AtomicU64,
    /// Idle entries removed.
    removed: AtomicU64,
}

struct Inner<T: Entry> {
    map: HashMap<Arc<str>, Arc<T>>,
    /// By the name's hash: when it was buried, and the tombstone.
    tombs: HashMap<u64, (u64, T::Tomb)>,
    /// (key, when buried), oldest first; stale when the tombstone was
    /// taken back by a new entry or buried again since.
    tomb_order: VecDeque<(u64, u64)>,
    burials: u64,
    forgotten: u64,
}

impl<T: Entry> Registry<T> {
    pub fn new(max: usize) -> Registry<T> {
        Registry {
            max: max.max(1),
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tombs: HashMap::new(),
                tomb_order: VecDeque::new(),
                burials: 0,
                forgotten: 0,
            }),
            hasher: std::collections::hash_map::RandomState::new(),
            refused: AtomicU64::new(0),
            removed: AtomicU64::new(0),
        }
    }

    /// The entry called `name`, made by `make` if new (and there is room).
    pub fn get_or_create(
        self: &Arc<Self>,
        name: &str,
        make: impl FnOnce(Arc<str>, Birth<T::Tomb>) -> T,
    ) -> Result<Handle<T>, Full> {
        let mut inner = lock(&self.inner);
        if let Some(entry) = inner.map.get(name) {
            return Ok(self.handle(Arc::clone(entry)));
        }
        if inner.map.len() >= self.max {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Full { max: self.max });
        }
        let key = self.hasher.hash_one(name);
        let birth = Birth {
            tomb: inner.tombs.remove(&key).map(|(_, tomb)| tomb),
            forgotten: inner.forgotten,
        };
        let name: Arc<str> = Arc::from(name);
        let entry = Arc::new(make(Arc::clone(&name), birth));
        inner.map.insert(name, Arc::clone(&entry));
        Ok(self.handle(entry))
    }

    /// Count tombstones as forgotten from `n` on: after a restart, those
    /// of the earlier run are not known (see [`Birth::forgotten`]).
    pub fn forgotten_from(&self, n: u64) {
        lock(&self.inner).forgotten = n;
    }

    /// How many entries there are now.
    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    /// A handle on every entry (for a snapshot that must wait on each).
    pub fn handles(self: &Arc<Self>) -> Vec<Handle<T>> {
        let entries: Vec<Arc<T>> = lock(&self.inner).map.values().cloned().collect();
        entries.into_iter().map(|e| self.handle(e)).collect()
    }

    /// The entry if it exists; never creates one.
    #[cfg(test)]
    pub fn get(self: &Arc<Self>, name: &str) -> Option<Handle<T>> {
        let entry = lock(&self.inner).map.get(name).cloned()?;
        Some(self.handle(entry))
    }

    fn handle(self: &Arc<Self>, entry: Arc<T>) -> Handle<T> {
        Handle {
            entry: Some(entry),
            registry: Arc::downgrade(self),
        }
    }

    /// Apply `f` to every entry (under the map's lock: keep it short), then
    /// remove those that are idle and held by nobody.
    pub fn sweep(&self, mut f: impl FnMut(&T)) {
        let mut inner = lock(&self.inner);
        let mut gone = Vec::new();
        for (name, entry) in &inner.map {
            f(entry);
            if Arc::strong_count(entry) == 1 && entry.idle() {
                gone.push(Arc::clone(name));
            }
        }
        for name in gone {
            self.remove(&mut inner, &name);
        }
    }

    /// `f` of every entry, under the map's lock.
    pub fn map<R>(&self, f: impl FnMut(&T) -> R) -> Vec<R> {
        lock(&self.inner)
            .map
            .values()
            .map(|e| &**e)
            .map(f)
            .collect()
    }

    /// Creations refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Idle entries removed so far.
    pub fn removed(&self) -> u64 {
        self.removed.load(Ordering::Relaxed)
    }

    /// Remove `name` if nobody holds it and it is idle.
    fn release(&self, name: &str) {
        let mut inner = lock(&self.inner);
        let Some(entry) = inner.map.get(name) else {
            return;
        };
        if Arc::strong_count(entry) == 1 && entry.idle() {
            self.remove(&mut inner, name);
        }
    }

    fn remove(&self, inner: &mut Inner<T>, name: &str) {
        let Some(entry) = inner.map.remove(name) else {
            return;
        };
        self.removed.fetch_add(1, Ordering::Relaxed);
        let Some(tomb) = entry.tombstone() else {
            return;
        };
        let key = self.hasher.hash_one(name);
        inner.burials += 1;
        let when = inner.burials;
        inner.tombs.insert(key, (when, tomb));
        inner.tomb_order.push_back((key, when));
        // Stale places count too, so the order stays bounded as well.
        while inner.tomb_order.len() > self.max {
            let Some((old, buried)) = inner.tomb_order.pop_front() else {
                break;
            };
            if inner.tombs.get(&old).is_some_and(|(w, _)| *w == buried) {
                inner.tombs.remove(&old);
                inner.forgotten += 1;
            }
        }
    }
}

/// A use of an entry; the entry may be removed once every handle is gone.
pub struct Handle<T: Entry> {
    // Some until dropped.
    entry: Option<Arc<T>>,
    registry: Weak<Registry<T>>,
}

impl<T: Entry> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle {
            entry: self.entry.clone(),
            registry: Weak::clone(&self.registry),
        }
    }
}

impl<T: Entry> Deref for Handle<T> {
    type Target = Arc<T>;

    fn deref(&self) -> &Arc<T> {
        // Only `drop` takes it out: no input can make this fail.
        self.entry.as_ref().expect("a live handle has its entry")
    }
}

impl<T: Entry> Drop for Handle<T> {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let name = Arc::clone(entry.name());
        // Ours must be gone before the registry counts who holds it.
        drop(entry);
        if let Some(registry) = self.registry.upgrade() {
            registry.release(&name);
        }
    }
}
