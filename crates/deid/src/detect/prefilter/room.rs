//! The prefilter's per-text lists, kept on each thread from one text to the next.
//!
//! Planning one text fills a list of occurrences per trigger, the budget map (four bytes per
//! byte of text, see `costs`), the cut runs, the windows and each reach's span of them. Made
//! afresh for each text, they cost a dozen allocations and as many frees, and growing the
//! occurrence lists one push at a time costs more again: for the short texts a gateway sees,
//! several instructions per byte. A thread keeps them for its next text instead. What is kept
//! is emptied first: no offset of any text stays behind, only the allocations. Room grown for
//! an unusually long text is let go rather than kept, so that an idle thread holds little.

use std::cell::Cell;

use super::costs::Costs;

/// Room for a text longer than this many bytes is freed after use instead of kept: the budget
/// map of such a text alone takes some 4.3 bytes per byte, about 0.3 MB here.
const MAX_KEPT_BYTES: usize = 1 << 16;

/// Lists of more spans than this are freed after use instead of kept (16 bytes each).
const MAX_KEPT_SPANS: usize = 1 << 12;

/// More triggers than this and the list of lists is freed after use (no table has as many).
const MAX_KEPT_TRIGGERS: usize = 1 << 8;

/// Everything [`super::Prefilter::plan`] fills for one text.
#[derive(Default)]
pub(super) struct Room {
    /// For each trigger, its occurrences: runs of neighbouring trigger bytes in order, or
    /// trigger words by where they end (possibly overlapping) that some rule of the trigger
    /// may hold (see `scan`).
    pub(super) hits: Vec<Vec<(usize, usize)>>,
    /// Where the bytes that count towards a budget are.
    pub(super) costs: Costs,
    /// Runs cut to one reach's allowed bytes.
    pub(super) runs: Vec<(usize, usize)>,
    /// Every reach's windows, one reach after another (see `super::Plans`).
    pub(super) windows: Vec<(usize, usize)>,
    /// For each distinct reach, where its windows lie in `windows`.
    pub(super) reaches: Vec<Option<(usize, usize)>>,
}

thread_local! {
    /// This thread's room between texts, always empty. A `Cell` taken and put back, not a
    /// `RefCell`: a plan made while another holds the room (none is today) gets fresh room
    /// instead of a panic.
    static KEPT: Cell<Room> = Cell::new(Room::default());
}

/// This thread's kept room, emptied, with one empty occurrence list for each of `triggers`.
pub(super) fn take(triggers: usize) -> Room {
    // Kept room is always empty (`keep` empties it), and so is fresh room: only the number of
    // lists may differ, when another prefilter used the room last.
    let mut room = KEPT.try_with(Cell::take).unwrap_or_default();
    room.hits.resize_with(triggers, Vec::new);
    room
}

/// Keeps `room` for the next text on this thread, emptied, with the lists that grew too large
/// let go.
pub(super) fn keep(mut room: Room) {
    room.clear();
    if room.costs.room() > MAX_KEPT_BYTES + 8 {
        room.costs = Costs::default();
    }
    if room.hits.capacity() > MAX_KEPT_TRIGGERS {
        room.hits = Vec::new();
    }
    for list in [&mut room.runs, &mut room.windows]
        .into_iter()
        .chain(room.hits.iter_mut())
    {
        if list.capacity() > MAX_KEPT_SPANS {
            *list = Vec::new();
        }
    }
    if room.reaches.capacity() > MAX_KEPT_SPANS {
        room.reaches = Vec::new();
    }
    // Fails only while the thread is being torn down: the room is then simply dropped.
    let _ = KEPT.try_with(|kept| kept.set(room));
}

impl Room {
    /// Empties every list, keeping its room (and the occurrence lists themselves, emptied).
    fn clear(&mut self) {
        self.hits.iter_mut().for_each(Vec::clear);
        self.costs.clear();
        self.runs.clear();
        self.windows.clear();
        self.reaches.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_room_is_empty_and_reused() {
        let run = std::thread::spawn(|| {
            let mut room = take(3);
            room.hits[1].push((4, 9));
            room.costs.refill(b"Seen by Martha Collins today");
            room.windows.push((0, 12));
            room.reaches.push(Some((0, 1)));
            let kept = room.hits[1].capacity();
            keep(room);
            let room = take(2);
            assert_eq!(room.hits.len(), 2);
            assert!(room.hits.iter().all(Vec::is_empty));
            assert_eq!(room.hits[1].capacity(), kept);
            assert!(room.windows.is_empty() && room.windows.capacity() > 0);
            assert!(room.reaches.is_empty() && room.reaches.capacity() > 0);
            assert!(room.costs.room() > 0 && room.costs.first_with(1) == 1);
        })
        .join();
        // A failed assertion on the thread shows here.
        assert!(run.is_ok());
    }

    #[test]
    fn room_grown_too_large_is_let_go() {
        let run = std::thread::spawn(|| {
            let mut room = take(1);
            room.costs.refill(&vec![b'x'; MAX_KEPT_BYTES + 1]);
            room.hits[0].extend((0..=MAX_KEPT_SPANS).map(|i| (i, i + 1)));
            keep(room);
            let room = take(1);
            assert_eq!(room.costs.room(), 0);
            assert_eq!(room.hits[0].capacity(), 0);
        })
        .join();
        // A failed assertion on the thread shows here.
        assert!(run.is_ok());
    }
}
