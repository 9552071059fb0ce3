//! The name finder's per-token tables, kept on each thread from one text to the next.
//!
//! Every text needs a dozen tables with a row per token. Allocating them for each text and
//! freeing them after cost about as much as filling them, for the short texts a gateway sees, so
//! a thread keeps its tables and the next text reuses their room. They hold token indices and
//! what the word lists say about listed words, never any of the text, so keeping them keeps no
//! PHI. Tables grown for an unusually long text are let go rather than kept, so that an idle
//! thread holds little.

use std::cell::Cell;

use super::Mark;
use crate::detect::lexicon::WordInfo;

/// Tables with room for more tokens than this are freed after use instead of kept: a thread
/// then holds at most about 100 bytes per token of this, some 1.6 MB.
const MAX_KEPT_TOKENS: usize = 1 << 14;

/// The tables of [`super::NameFinder`] that have a row (or an entry) per token; each is empty
/// when handed out by [`take`].
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) info: Vec<WordInfo>,
    pub(super) unknown: Vec<bool>,
    pub(super) marks: Vec<Option<Mark>>,
    pub(super) marked: Vec<u64>,
    pub(super) joined: Vec<bool>,
    pub(super) adjacent: Vec<bool>,
    pub(super) next_items: Vec<Option<usize>>,
    pub(super) list_starts: Vec<usize>,
    pub(super) capitals: Vec<usize>,
    pub(super) roled: Vec<usize>,
    pub(super) given: Vec<usize>,
    pub(super) unknowns: Vec<usize>,
    pub(super) phrased: Vec<usize>,
    pub(super) mixed: Vec<usize>,
}

thread_local! {
    /// This thread's tables between texts. A `Cell` taken and put back, not a `RefCell`: a
    /// finder running while another holds the tables (none does today) gets fresh ones instead
    /// of a panic.
    static KEPT: Cell<Scratch> = Cell::new(Scratch::default());
}

/// This thread's kept tables, all empty (fresh ones when none are kept).
pub(super) fn take() -> Scratch {
    KEPT.try_with(Cell::take).unwrap_or_default()
}

/// Keeps `scratch` for the next text on this thread, emptied, unless it grew too large.
pub(super) fn keep(mut scratch: Scratch) {
    if scratch.info.capacity() > MAX_KEPT_TOKENS {
        return;
    }
    scratch.clear();
    // Fails only while the thread is being torn down: the tables are then simply dropped.
    let _ = KEPT.try_with(|kept| kept.set(scratch));
}

impl Scratch {
    /// Empties every table, keeping its room.
    fn clear(&mut self) {
        self.info.clear();
        self.unknown.clear();
        self.marks.clear();
        self.marked.clear();
        self.joined.clear();
        self.adjacent.clear();
        self.next_items.clear();
        self.list_starts.clear();
        self.capitals.clear();
        self.roled.clear();
        self.given.clear();
        self.unknowns.clear();
        self.phrased.clear();
        self.mixed.clear();
    }
}
