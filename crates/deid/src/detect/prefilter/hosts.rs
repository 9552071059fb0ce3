//! Rules that borrow another rule's windows instead of building their own.
//!
//! Building windows costs about the same for every rule of a trigger: each walks all of the
//! trigger's occurrences, looks up budgets and reads the bytes around them. The digit trigger
//! has a score of rules, and several of them (the street-address rules written for Europe,
//! say) allow nearly the same bytes with no bound on length: their windows are nearly the
//! same stretches of text, worked out again for each.
//!
//! Why a host's windows serve its guest: the argument at the top of the parent module needs
//! only that every match of a rule lies inside one of the windows it is searched in, and that
//! those windows are disjoint. A host's windows are disjoint. They hold every match of the
//! guest because every property the host's windows rely on for its own matches holds of the
//! guest's matches too (see [`dominates`]): the guest's matches hold an occurrence of the same
//! trigger, only bytes the host allows, are no longer and hold no more printable bytes than the
//! host's longest, no shorter than its shortest, start on a trigger byte or word whenever the
//! host's do, and hold a digit whenever the host's must. So the guest finds in its host's
//! windows exactly what it would find in its own, and the detector's tests compare the
//! windowed search with the whole-text search on every shipped corpus and on generated text.
//!
//! A host is chosen only when its windows are nearly the guest's (see [`close`]): a few more
//! allowed bytes, bounds at most twice as loose. A host with much wider windows would make the
//! guest's search read more than its own windows would save.

use super::Reach;

/// The most ASCII bytes a host may allow that its guest does not.
const MAX_EXTRA_BYTES: usize = 4;

/// Whether every match of a rule with reach `guest` has every property that the windows of
/// reach `host` rely on for the host's matches, so that it lies inside one of them.
fn dominates(host: &Reach, guest: &Reach) -> bool {
    let allows_more = host
        .allows
        .iter()
        .zip(&guest.allows)
        .all(|(&h, &g)| h || !g);
    let at_least = |h: Option<usize>, g: Option<usize>| match (h, g) {
        (None, _) => true,
        (Some(h), Some(g)) => g <= h,
        (Some(_), None) => false,
    };
    host.trigger.is_some()
        && host.trigger == guest.trigger
        && allows_more
        && host.min_len <= guest.min_len
        && at_least(host.max_len, guest.max_len)
        && at_least(host.max_cost, guest.max_cost)
        && (!host.starts_on_trigger || guest.starts_on_trigger)
        && (!host.starts_on_word || guest.starts_on_word)
        && (!host.needs_digits || guest.needs_digits)
}

/// Whether `host`'s windows are nearly those of `guest`: it allows at most a few more ASCII
/// bytes and no more bytes beyond ASCII, and each bound is either absent from both or at most
/// twice the guest's.
fn close(host: &Reach, guest: &Reach) -> bool {
    let extra = (0..128)
        .filter(|&b| host.allows[b] && !guest.allows[b])
        .count();
    let same_beyond_ascii = host.allows[128..] == guest.allows[128..];
    let near = |h: Option<usize>, g: Option<usize>| match (h, g) {
        (None, None) => true,
        (Some(h), Some(g)) => h <= g.saturating_mul(2),
        _ => false,
    };
    extra <= MAX_EXTRA_BYTES
        && same_beyond_ascii
        && near(host.max_len, guest.max_len)
        && near(host.max_cost, guest.max_cost)
}

/// Whether rules with reach `guest` may be searched in the windows of reach `host`.
fn may_host(host: &Reach, guest: &Reach) -> bool {
    dominates(host, guest) && close(host, guest)
}

/// For each reach, the reach whose windows it uses instead of its own, or `None` when it builds
/// its own. A host builds its own: a reach that could be hosted hosts no one, and a reach is
/// hosted only by one that could not be.
pub(super) fn hosts(reaches: &[Reach]) -> Vec<Option<usize>> {
    let hostable: Vec<bool> = (0..reaches.len())
        .map(|g| (0..reaches.len()).any(|h| h != g && may_host(&reaches[h], &reaches[g])))
        .collect();
    (0..reaches.len())
        .map(|g| {
            if !hostable[g] {
                return None;
            }
            (0..reaches.len()).find(|&h| !hostable[h] && may_host(&reaches[h], &reaches[g]))
        })
        .collect()
}

#[cfg(test)]
mod tests;
