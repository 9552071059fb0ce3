//! Merkle proofs over a tree whose size and positions the input chooses: every genuine
//! inclusion and consistency proof verifies, any single altered hash or position fails, and
//! proofs made of arbitrary bytes never panic the verifiers.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_audit::{
    Hash, consistency_path, inclusion_path, leaf_hash, merkle_root, verify_consistency,
    verify_inclusion,
};

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|chunk| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect()
}

fn check_inclusion(leaves: &[Hash], index: usize, flip: usize) {
    let (size, root) = (leaves.len() as u64, merkle_root(leaves));
    let mut proof = inclusion_path(leaves, index);
    assert!(verify_inclusion(&leaves[index], index as u64, size, &proof, &root));
    let other = (index + 1) % leaves.len();
    if other != index {
        assert!(!verify_inclusion(&leaves[index], other as u64, size, &proof, &root));
    }
    if !proof.is_empty() {
        let at = flip % proof.len();
        proof[at][flip % 32] ^= 1;
        assert!(!verify_inclusion(&leaves[index], index as u64, size, &proof, &root));
    }
}

fn check_consistency(leaves: &[Hash], old: usize, flip: usize) {
    let (size, root) = (leaves.len() as u64, merkle_root(leaves));
    let old_root = merkle_root(&leaves[..old]);
    let mut proof = consistency_path(leaves, old);
    assert!(verify_consistency(old as u64, size, &old_root, &root, &proof));
    if !proof.is_empty() {
        let at = flip % proof.len();
        proof[at][flip % 32] ^= 1;
        assert!(!verify_consistency(old as u64, size, &old_root, &root, &proof));
    }
}

fuzz_target!(|data: &[u8]| {
    let [n, index, old, flip, rest @ ..] = data else {
        return;
    };
    let n = usize::from(*n) % 96 + 1;
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    check_inclusion(&leaves, usize::from(*index) % n, usize::from(*flip));
    check_consistency(&leaves, usize::from(*old) % n + 1, usize::from(*flip));

    // Arbitrary proofs: any answer is allowed, a panic is not.
    let proof = hashes(rest);
    let (size, index) = ((n as u64) << 40 | 7, u64::from(*index) << 33);
    let root = merkle_root(&leaves);
    let _ = verify_inclusion(&leaves[0], index, size, &proof, &root);
    let _ = verify_consistency(u64::from(*old), size, &root, &root, &proof);
    let _ = verify_consistency(u64::from(*old) + 1, u64::from(*flip) + 1, &root, &root, &proof);
});
