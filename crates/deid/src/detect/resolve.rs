//! Turning overlapping candidates into one sorted, non-overlapping list.

use std::cmp::Ordering;

use crate::entity::Entity;

/// Orders candidates by strength: source first, then length (the span that explains more of
/// the group names it), then score.
fn stronger(a: &Entity, b: &Entity) -> Ordering {
    a.source
        .cmp(&b.source)
        .then(a.len().cmp(&b.len()))
        .then(a.score.total_cmp(&b.score))
}

/// Merges overlapping candidates. Each group of overlapping spans becomes one span covering all
/// of them (so nothing a detector flagged is left half-redacted), typed and scored by the
/// strongest member.
///
/// The merged spans are written over the sorted candidates, in the same vector: span `w` of
/// the answer is written only once candidate `w` and every one before it have been read (each
/// candidate adds at most one span), so no candidate is overwritten before it is read, and the
/// answer is the one a separate output list would hold. This saves an allocation and a free
/// per text.
pub(crate) fn resolve(mut found: Vec<Entity>) -> Vec<Entity> {
    found.retain(|e| !e.is_empty());
    found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));

    // How many merged spans lie at the front of `found`.
    let mut kept: usize = 0;
    let mut best: Option<Entity> = None;
    for read in 0..found.len() {
        let entity = found[read];
        match kept.checked_sub(1).and_then(|last| found.get_mut(last)) {
            Some(current) if entity.start < current.end => {
                current.end = current.end.max(entity.end);
                if let Some(leader) = best.as_mut()
                    && stronger(&entity, leader) == Ordering::Greater
                {
                    *leader = entity;
                    current.kind = entity.kind;
                    current.source = entity.source;
                    current.score = entity.score;
                }
            }
            _ => {
                best = Some(entity);
                found[kept] = entity;
                kept += 1;
            }
        }
    }
    found.truncate(kept);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{EntityKind, Source};

    fn entity(kind: EntityKind, start: usize, end: usize, source: Source, score: f32) -> Entity {
        Entity {
            kind,
            start,
            end,
            source,
            score,
        }
    }

    /// The merge as first written, into a list of its own.
    fn plain(mut found: Vec<Entity>) -> Vec<Entity> {
        found.retain(|e| !e.is_empty());
        found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut out: Vec<Entity> = Vec::with_capacity(found.len());
        let mut best: Option<Entity> = None;
        for entity in found {
            match out.last_mut() {
                Some(current) if entity.start < current.end => {
                    current.end = current.end.max(entity.end);
                    if let Some(leader) = best.as_mut()
                        && stronger(&entity, leader) == Ordering::Greater
                    {
                        *leader = entity;
                        current.kind = entity.kind;
                        current.source = entity.source;
                        current.score = entity.score;
                    }
                }
                _ => {
                    best = Some(entity);
                    out.push(entity);
                }
            }
        }
        out
    }

    #[test]
    fn merging_in_place_gives_what_a_list_of_its_own_did() {
        let mut generator = crate::testgen::Gen::new(0x5EED_0F4E_501E);
        let kinds = [
            EntityKind::Name,
            EntityKind::Date,
            EntityKind::Phone,
            EntityKind::Id,
        ];
        let sources = [Source::Dictionary, Source::Pattern, Source::Known];
        for _ in 0..2000 {
            let count = generator.below(12);
            let found: Vec<Entity> = (0..count)
                .map(|_| {
                    let start = generator.below(40);
                    let end = start + generator.below(8);
                    let kind = kinds[generator.below(kinds.len())];
                    let source = sources[generator.below(sources.len())];
                    let score = generator.below(4) as f32 / 4.0;
                    entity(kind, start, end, source, score)
                })
                .collect();
            assert_eq!(resolve(found.clone()), plain(found));
        }
    }

    #[test]
    fn overlapping_spans_merge_and_take_the_strongest_kind() {
        let found = vec![
            entity(EntityKind::Phone, 0, 10, Source::Pattern, 0.5),
            entity(EntityKind::Date, 0, 10, Source::Pattern, 0.9),
            entity(EntityKind::Id, 5, 14, Source::Pattern, 0.4),
        ];
        let resolved = resolve(found);
        assert_eq!(resolved.len(), 1);
        assert_eq!(
            (resolved[0].kind, resolved[0].start, resolved[0].end),
            (EntityKind::Date, 0, 14)
        );
    }

    #[test]
    fn known_values_beat_patterns_and_dictionaries() {
        let found = vec![
            entity(EntityKind::Name, 0, 14, Source::Dictionary, 0.6),
            entity(EntityKind::Provider, 7, 14, Source::Known, 1.0),
        ];
        let resolved = resolve(found);
        assert_eq!(
            (resolved[0].kind, resolved[0].start, resolved[0].end),
            (EntityKind::Provider, 0, 14)
        );
    }

    #[test]
    fn separate_spans_stay_separate_and_sorted() {
        let found = vec![
            entity(EntityKind::Name, 10, 14, Source::Dictionary, 0.6),
            entity(EntityKind::Date, 0, 4, Source::Pattern, 0.9),
            entity(EntityKind::Zip, 4, 9, Source::Pattern, 0.9),
        ];
        let spans: Vec<(usize, usize)> = resolve(found).iter().map(|e| (e.start, e.end)).collect();
        assert_eq!(spans, [(0, 4), (4, 9), (10, 14)]);
    }
}
