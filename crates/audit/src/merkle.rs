//! The RFC 6962 Merkle tree over audit entries: roots, inclusion and consistency proofs.
//!
//! Leaves are `SHA-256(0x00 || entry bytes)` and interior nodes `SHA-256(0x01 || left || right)`,
//! so a leaf can never be passed off as a node. Proofs are built from the list of leaf hashes;
//! the verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 and need nothing but the proof.

use aws_lc_rs::digest::{Context, SHA256};

/// A SHA-256 output.
pub type Hash = [u8; 32];

fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// The leaf hash of one entry's stored bytes.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], entry])
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[0x01], left, right])
}

/// The root of the tree whose leaf hashes are `leaves` (the hash of nothing when empty).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => sha256_parts(&[]),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The right edge of a tree being built leaf by leaf: the roots of its perfect subtrees, largest
/// first, one per set bit of its size. Appending a leaf and asking for the root are both
/// logarithmic, so the log can sign a checkpoint, or check one while verifying, without going
/// back over earlier leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the tree with these leaves.
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut frontier = Self::default();
        for leaf in leaves {
            frontier.push(*leaf);
        }
        frontier
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        // Each trailing one bit is a perfect subtree of the same height as the one being
        // carried: merge them, as in binary addition.
        while size & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The RFC 6962 root of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return sha256_parts(&[]);
        };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// The largest power of two strictly below `n` (for `n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 `PATH`).
pub fn inclusion_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut proof = Vec::new();
    path_into(leaves, index, &mut proof);
    proof
}

fn path_into(leaves: &[Hash], index: usize, proof: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let (left, right) = leaves.split_at(split_point(leaves.len()));
    if index < left.len() {
        path_into(left, index, proof);
        proof.push(root(right));
    } else {
        path_into(right, index - left.len(), proof);
        proof.push(root(left));
    }
}

/// The proof that the tree of the first `old` leaves is a prefix of the tree of `leaves`
/// (RFC 6962 `PROOF`). Empty when `old` is zero or the whole tree.
pub fn consistency_path(leaves: &[Hash], old: usize) -> Vec<Hash> {
    let mut proof = Vec::new();
    if old > 0 && old < leaves.len() {
        subproof_into(leaves, old, true, &mut proof);
    }
    proof
}

fn subproof_into(leaves: &[Hash], old: usize, whole_old_tree: bool, proof: &mut Vec<Hash>) {
    if old == leaves.len() {
        if !whole_old_tree {
            proof.push(root(leaves));
        }
        return;
    }
    let (left, right) = leaves.split_at(split_point(leaves.len()));
    if old <= left.len() {
        subproof_into(left, old, whole_old_tree, proof);
        proof.push(root(right));
    } else {
        subproof_into(right, old - left.len(), false, proof);
        proof.push(root(left));
    }
}

/// Checks that `leaf` is entry `index` of the tree of `size` entries whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            hash = node_hash(sibling, &hash);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && hash == *root
}

/// Checks that the tree of `old_size` entries with root `old_root` is a prefix of the tree of
/// `new_size` entries with root `new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }

    // When the old tree is a complete subtree its root is the implicit first proof element.
    let implicit;
    let proof: Vec<&Hash> = if old_size.is_power_of_two() {
        implicit = *old_root;
        std::iter::once(&implicit).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    let Some((&first, rest)) = proof.split_first() else {
        return false;
    };

    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut old_hash, mut new_hash) = (*first, *first);
    for &sibling in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            old_hash = node_hash(sibling, &old_hash);
            new_hash = node_hash(sibling, &new_hash);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && old_hash == *old_root && new_hash == *new_root
}

#[cfg(test)]
mod tests;
