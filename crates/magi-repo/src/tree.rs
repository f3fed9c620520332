//! A file's chunk list as a two-level tree: leaves of up to [`LEAF_ENTRIES`] chunk references, stored as
//! blobs like any chunk (so an unchanged leaf is deduplicated and costs nothing), and the list of leaf IDs
//! in the snapshot. A day that changes a few regions of a large database rewrites the leaves over those
//! regions, not the whole list.
//!
//! A leaf is `count × (32-byte SHA-256 of the chunk ‖ chunk length as u32 little-endian)`.

use crate::error::RepoError;

/// Chunk references per leaf written: 576-byte leaves, 64 KiB of SQLite pages each at 4 KiB a page. A
/// day that changes 1 % of a database's pages, scattered, changes one leaf in seven; with 256 references
/// a leaf (as first written) it changed all of them, and the rewritten leaves outweighed the pages.
pub const LEAF_ENTRIES: usize = 16;
/// The most a leaf may hold, for a reader.
pub const MAX_LEAF_ENTRIES: usize = 256;
const ENTRY: usize = 36;

/// One chunk of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    pub id: [u8; 32],
    pub len: u32,
}

/// Encodes a leaf.
pub fn encode(chunks: &[ChunkRef]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunks.len() * ENTRY);
    for chunk in chunks {
        out.extend_from_slice(&chunk.id);
        out.extend_from_slice(&chunk.len.to_le_bytes());
    }
    out
}

/// Decodes a leaf read from `key`.
pub fn decode(leaf: &[u8], key: &str) -> Result<Vec<ChunkRef>, RepoError> {
    if leaf.is_empty() || leaf.len() % ENTRY != 0 || leaf.len() / ENTRY > MAX_LEAF_ENTRIES {
        return Err(RepoError::damaged(
            key,
            format!(
                "a tree leaf of {} bytes is not a whole number of references",
                leaf.len()
            ),
        ));
    }
    Ok(leaf
        .chunks_exact(ENTRY)
        .map(|e| ChunkRef {
            id: e[..32].try_into().expect("32 bytes"),
            len: u32::from_le_bytes(e[32..].try_into().expect("4 bytes")),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_round_trip_and_bad_lengths_are_refused() {
        let chunks: Vec<ChunkRef> = (0..MAX_LEAF_ENTRIES as u32)
            .map(|i| ChunkRef {
                id: [i as u8; 32],
                len: i * 7,
            })
            .collect();
        let leaf = encode(&chunks);
        assert_eq!(decode(&leaf, "k").unwrap(), chunks);
        assert!(decode(&leaf[..leaf.len() - 1], "k").is_err());
        assert!(decode(&[], "k").is_err());
        let mut long = leaf.clone();
        long.extend_from_slice(&leaf[..ENTRY]);
        assert!(
            decode(&long, "k").is_err(),
            "more entries than a leaf holds"
        );
    }
}
