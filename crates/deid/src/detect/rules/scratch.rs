//! What one thread needs to search with every rule of a table: each rule's search caches and
//! room for its captures, taken from a pool once per text instead of once per search.
//!
//! A `meta::Regex` search without an explicit cache takes one from the regex's own pool and
//! gives it back, and a `Captures` is allocated for each rule that has windows in a text; both
//! add up when a text holds thousands of short windows. The caches and captures here are the
//! ones those searches would create (`create_cache`, `create_captures`), so a search given them
//! finds exactly what it finds with its own: a cache holds only scratch space, never results.

use regex_automata::meta::{Cache, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::pool::{Pool, PoolGuard};

/// One rule's caches and captures.
pub(super) struct Slot {
    /// The cache of the rule's regex.
    pub(super) cache: Cache,
    /// The cache of the rule's twin, when it has one.
    pub(super) twin: Option<Cache>,
    /// Room for the value group, when the rule has one.
    pub(super) caps: Option<Captures>,
}

impl Slot {
    /// Caches for `regex` and its `twin`, and captures when `value_group` says they are read.
    pub(super) fn new(regex: &Regex, twin: Option<&Regex>, value_group: Option<usize>) -> Self {
        Slot {
            cache: regex.create_cache(),
            twin: twin.map(Regex::create_cache),
            caps: value_group.map(|_| regex.create_captures()),
        }
    }
}

/// Every rule's slot, in rule order (empty until a thread first searches).
pub(super) type Slots = Vec<Slot>;

/// The pool the table draws slots from: each thread gets its own, filled on first use.
pub(super) type SlotPool = Pool<Slots, fn() -> Slots>;

/// An empty pool.
pub(super) fn pool() -> SlotPool {
    Pool::new(Vec::new)
}

/// The slots of the calling thread, for the duration of one text.
pub(super) type Guard<'p> = PoolGuard<'p, Slots, fn() -> Slots>;
