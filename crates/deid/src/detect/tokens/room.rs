//! The room of a text's tokens and lower-case forms, kept on each thread from one text to the
//! next.
//!
//! The tokens of a text take some six bytes of room per byte of text, and its lower-case
//! forms one more: allocations large enough that getting and freeing them for every text cost
//! about a byte's worth of instructions per byte. A thread keeps the room of the last text for
//! the next one. What is kept is emptied first: no token and no text stays behind, only the
//! allocation. Room grown for an unusually long text is let go rather than kept.

use std::cell::Cell;

use super::Token;

/// Room for more tokens than this is freed after use instead of kept: a thread then holds at
/// most about 0.7 MB of it, and as many bytes again for lower-case forms.
const MAX_KEPT_TOKENS: usize = 1 << 14;

/// Lower-case forms longer than this are freed after use instead of kept.
const MAX_KEPT_BYTES: usize = MAX_KEPT_TOKENS * 6;

thread_local! {
    /// This thread's room for tokens, always empty. Held with the `'static` lifetime, as no
    /// token is ever in it; [`relabel`] gives it the lifetime of the next text.
    static TOKENS: Cell<Vec<Token<'static>>> = const { Cell::new(Vec::new()) };
    /// This thread's room for lower-case forms, always empty.
    static LOWERED: Cell<String> = const { Cell::new(String::new()) };
}

/// Empty room for the tokens of a text, kept from an earlier text when there is some.
pub(super) fn tokens<'t>() -> Vec<Token<'t>> {
    relabel(TOKENS.try_with(Cell::take).unwrap_or_default())
}

/// Empty room for the lower-case forms of a text, kept from an earlier text when there is some.
pub(crate) fn lowered() -> String {
    LOWERED.try_with(Cell::take).unwrap_or_default()
}

/// Keeps the room of `tokens` for the next text on this thread, emptied, unless it grew too
/// large.
pub(crate) fn keep_tokens(mut tokens: Vec<Token<'_>>) {
    tokens.clear();
    // Fails only while the thread is being torn down: the room is then simply dropped.
    if tokens.capacity() <= MAX_KEPT_TOKENS {
        let _ = TOKENS.try_with(|kept| kept.set(relabel(tokens)));
    }
}

/// Keeps the room of `lowered` for the next text on this thread, emptied, unless it grew too
/// large. Called after [`keep_tokens`], as the tokens borrow it.
pub(crate) fn keep_lowered(mut lowered: String) {
    lowered.clear();
    if lowered.capacity() <= MAX_KEPT_BYTES {
        let _ = LOWERED.try_with(|kept| kept.set(lowered));
    }
}

/// An empty vector of tokens of any lifetime, in the room of `tokens` (emptied): collecting a
/// vector's own iterator into a vector of the same layout reuses its allocation, and as
/// nothing is collected no token changes lifetime. Were the allocation not reused, the answer
/// would be a new empty vector: only speed depends on it.
#[expect(
    clippy::unnecessary_filter_map,
    reason = "the `None` of another lifetime is the point: `filter` cannot change the type"
)]
fn relabel<'a, 'b>(tokens: Vec<Token<'a>>) -> Vec<Token<'b>> {
    tokens.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_room_is_reused_and_empty() {
        let text = "Seen by Martha Collins today";
        let mut lowered = String::new();
        let found = super::super::tokenize(text, &mut lowered);
        let room = found.capacity();
        assert!(room >= 4);
        let again = relabel(found);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), room);
        let run = std::thread::spawn(move || {
            keep_tokens(again);
            keep_lowered(lowered);
            let (tokens, lowered) = (tokens(), super::lowered());
            assert!(tokens.is_empty() && tokens.capacity() == room);
            assert!(lowered.is_empty() && lowered.capacity() >= text.len());
        })
        .join();
        // A failed assertion on the thread shows here.
        assert!(run.is_ok());
    }
}
