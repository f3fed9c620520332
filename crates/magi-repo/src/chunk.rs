//! How a file is cut into chunks, chosen by what it is: a SQLite database in its own pages (the page size
//! is in its header), so a day's writes change exactly the pages they touched; a Redis dump or a tar
//! archive (a Qdrant snapshot) by fine content-defined chunks (FastCDC 2020 around 1 and 2 KiB), because a day
//! changes records scattered all through them and a coarse chunk holding one changed record is sent whole;
//! anything else large by coarser content-defined chunks (around 64 KiB: uploads and the like change
//! rarely, and fewer chunks mean less metadata); small files whole. Content-defined cuts follow the
//! content, so an insertion shifts no later boundary.
//!
//! [`Chunker`] is pushed to: bytes arrive as a backup reads them (from an archive entry, a file), and each
//! finished chunk is handed out by the callback of [`Chunker::push`] and [`Chunker::finish`]. Its buffer
//! never holds more than one largest chunk plus one write.

use fastcdc::v2020::{MASKS, cut};

/// Files up to this size are one chunk.
pub const WHOLE_UP_TO: u64 = 256 << 10;
/// Content-defined chunk sizes: smallest, average and largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdcSizes {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

/// For files that change rarely or as a whole.
pub const COARSE: CdcSizes = CdcSizes {
    min: 16 << 10,
    avg: 64 << 10,
    max: 256 << 10,
};
/// For files whose changes are records scattered through them (a tar of Qdrant segments: vectors of a
/// few KiB and their payloads).
pub const FINE: CdcSizes = CdcSizes {
    min: 1 << 10,
    avg: 2 << 10,
    max: 8 << 10,
};
/// For a Redis dump, whose records are a key and a value of tens of bytes each. Smaller chunks send less
/// around each changed record and cost more chunk references (36 bytes each): around 1 KiB the two
/// balance.
pub const SMALL_RECORDS: CdcSizes = CdcSizes {
    min: 512,
    avg: 1 << 10,
    max: 4 << 10,
};
/// What a SQLite database starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// What a Redis dump starts with (then its four-digit RDB version).
const REDIS_MAGIC: &[u8; 5] = b"REDIS";
/// Where a tar archive's first header says `ustar` (POSIX and GNU both).
const TAR_MAGIC_AT: usize = 257;
const TAR_MAGIC: &[u8; 5] = b"ustar";
/// Bytes needed to choose: up to the end of the first tar header's magic.
const HEAD: usize = TAR_MAGIC_AT + TAR_MAGIC.len();

/// How a file is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Fixed chunks of one SQLite page.
    SqlitePages(u32),
    /// Content-defined chunks of these sizes.
    Cdc(CdcSizes),
    /// One chunk.
    Whole,
}

impl Chunking {
    /// The choice for a file of `size` bytes that starts with `head`.
    pub fn choose(head: &[u8], size: u64) -> Chunking {
        if size <= WHOLE_UP_TO {
            return Chunking::Whole;
        }
        if head.len() >= 18 && &head[..16] == SQLITE_MAGIC {
            let raw = u16::from_be_bytes([head[16], head[17]]);
            // 1 means 65536; anything not a power of two from 512 is not a database we understand.
            let page = if raw == 1 { 65536 } else { u32::from(raw) };
            if page >= 512 && page.is_power_of_two() {
                return Chunking::SqlitePages(page);
            }
        }
        if head.starts_with(REDIS_MAGIC) {
            return Chunking::Cdc(SMALL_RECORDS);
        }
        if head.get(TAR_MAGIC_AT..HEAD) == Some(TAR_MAGIC.as_slice()) {
            return Chunking::Cdc(FINE);
        }
        Chunking::Cdc(COARSE)
    }

    /// The name the snapshot records.
    pub fn name(self) -> String {
        match self {
            Chunking::SqlitePages(size) => format!("sqlite-pages-{size}"),
            Chunking::Cdc(sizes) => format!("fastcdc-2020-{}k", sizes.avg >> 10),
            Chunking::Whole => "whole".into(),
        }
    }
}

/// Cuts a stream of `size` bytes into chunks as they are pushed.
#[derive(Debug)]
pub struct Chunker {
    size: u64,
    chunking: Option<Chunking>,
    buffer: Vec<u8>,
}

impl Chunker {
    pub fn new(size: u64) -> Chunker {
        Chunker {
            size,
            chunking: (size <= WHOLE_UP_TO).then_some(Chunking::Whole),
            buffer: Vec::new(),
        }
    }

    /// How the file is being cut, once known.
    pub fn chunking(&self) -> Option<Chunking> {
        self.chunking
    }

    /// Takes more bytes, handing each finished chunk to `out`.
    pub fn push<E>(
        &mut self,
        mut data: &[u8],
        out: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        while !data.is_empty() {
            let limit = match self.chunking {
                None => HEAD,
                Some(Chunking::Whole) => usize::MAX,
                Some(Chunking::SqlitePages(page)) => page as usize,
                Some(Chunking::Cdc(sizes)) => sizes.max,
            };
            let take = limit
                .saturating_sub(self.buffer.len())
                .min(data.len())
                .max(1);
            let take = take.min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.chunking.is_none() && self.buffer.len() >= HEAD {
                self.chunking = Some(Chunking::choose(&self.buffer, self.size));
            }
            self.drain(false, out)?;
        }
        Ok(())
    }

    /// Hands out what is left.
    pub fn finish<E>(
        mut self,
        out: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Chunking, E> {
        let chunking = *self
            .chunking
            .get_or_insert_with(|| Chunking::choose(&self.buffer, self.size));
        self.drain(true, out)?;
        Ok(chunking)
    }

    fn drain<E>(
        &mut self,
        last: bool,
        out: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.chunking {
            None => Ok(()),
            Some(Chunking::Whole) => {
                if last && !self.buffer.is_empty() {
                    out(&self.buffer)?;
                    self.buffer.clear();
                }
                Ok(())
            }
            Some(Chunking::SqlitePages(page)) => {
                let page = page as usize;
                if self.buffer.len() >= page || (last && !self.buffer.is_empty()) {
                    out(&self.buffer)?;
                    self.buffer.clear();
                }
                Ok(())
            }
            Some(Chunking::Cdc(sizes)) => {
                while self.buffer.len() >= sizes.max || (last && !self.buffer.is_empty()) {
                    let end = cdc_cut(&self.buffer, sizes);
                    out(&self.buffer[..end])?;
                    self.buffer.drain(..end);
                }
                Ok(())
            }
        }
    }
}

/// Where the first content-defined chunk of `data` ends.
fn cdc_cut(data: &[u8], sizes: CdcSizes) -> usize {
    // FastCDC 2020 with normalisation level 1, as its `FastCDC::new` sets it up.
    let bits = sizes.avg.trailing_zeros() as usize;
    let mask_s = MASKS[bits + 1];
    let mask_l = MASKS[bits - 1];
    let (_, end) = cut(
        data,
        sizes.min,
        sizes.avg,
        sizes.max,
        mask_s,
        mask_l,
        mask_s << 1,
        mask_l << 1,
    );
    if end == 0 { data.len() } else { end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunks(data: &[u8], writes: usize) -> (Vec<Vec<u8>>, Chunking) {
        let mut chunker = Chunker::new(data.len() as u64);
        let mut found = Vec::new();
        let mut keep = |c: &[u8]| {
            found.push(c.to_vec());
            Ok::<_, ()>(())
        };
        for piece in data.chunks(writes.max(1)) {
            chunker.push(piece, &mut keep).unwrap();
        }
        let chunking = chunker.finish(&mut keep).unwrap();
        (found, chunking)
    }

    /// Bytes of the chunks in `after` that are not in `before`: what a backup would send.
    fn new_bytes(before: &[Vec<u8>], after: &[Vec<u8>]) -> usize {
        let old: std::collections::HashSet<&Vec<u8>> = before.iter().collect();
        after
            .iter()
            .filter(|c| !old.contains(c))
            .map(Vec::len)
            .sum()
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..len).map(|_| rng.u8(..)).collect()
    }

    #[test]
    fn a_sqlite_file_is_cut_in_its_pages() {
        let mut db = vec![0u8; 4096 * 100];
        db[..16].copy_from_slice(SQLITE_MAGIC);
        db[16..18].copy_from_slice(&4096u16.to_be_bytes());
        let (found, chunking) = chunks(&db, 1000);
        assert_eq!(chunking, Chunking::SqlitePages(4096));
        assert_eq!(found.len(), 100);
        assert!(found.iter().all(|c| c.len() == 4096));
        db[16..18].copy_from_slice(&1u16.to_be_bytes());
        assert_eq!(Chunking::choose(&db, 1 << 20), Chunking::SqlitePages(65536));
        db[16..18].copy_from_slice(&3000u16.to_be_bytes());
        assert_eq!(
            Chunking::choose(&db, 1 << 20),
            Chunking::Cdc(COARSE),
            "not a power of two"
        );
        assert_eq!(Chunking::choose(&db, 1000), Chunking::Whole, "small");
    }

    #[test]
    fn content_defined_chunks_resynchronise_after_an_insertion() {
        let data = noise(4 << 20, 7);
        let (before, chunking) = chunks(&data, 65536);
        assert_eq!(chunking, Chunking::Cdc(COARSE));
        assert!(before.iter().all(|c| c.len() <= COARSE.max));
        let mut changed = data.clone();
        changed.splice(
            1_000_000..1_000_000,
            b"a few inserted bytes".iter().copied(),
        );
        let (after, _) = chunks(&changed, 65536);
        let new_bytes = new_bytes(&before, &after);
        assert!(
            new_bytes <= 3 * COARSE.max,
            "an insertion changes a chunk or two, not {new_bytes} bytes"
        );
    }

    #[test]
    fn redis_dumps_and_tar_archives_are_cut_finely_so_a_changed_record_costs_a_few_kib() {
        let mut dump = noise(2 << 20, 9);
        dump[..9].copy_from_slice(b"REDIS0011");
        assert_eq!(
            Chunking::choose(&dump, dump.len() as u64),
            Chunking::Cdc(SMALL_RECORDS)
        );
        let mut tar = noise(1 << 20, 10);
        tar[257..265].copy_from_slice(b"ustar  \0");
        assert_eq!(
            Chunking::choose(&tar, tar.len() as u64),
            Chunking::Cdc(FINE)
        );
        let (before, chunking) = chunks(&dump, 100_000);
        assert_eq!(chunking.name(), "fastcdc-2020-1k");
        assert!(before.iter().all(|c| c.len() <= SMALL_RECORDS.max));
        let mut changed = dump.clone();
        for at in (100_000..changed.len()).step_by(200_000) {
            changed[at] ^= 1;
        }
        let (after, _) = chunks(&changed, 100_000);
        let new_bytes = new_bytes(&before, &after);
        assert!(
            new_bytes <= 10 * SMALL_RECORDS.max,
            "ten flipped bytes cost {new_bytes} bytes"
        );
    }

    proptest! {
        #[test]
        fn chunks_put_back_together_are_the_file_whatever_the_writes(
            len in 0usize..700_000, writes in 1usize..100_000, seed in 0u64..1000, sqlite in any::<bool>()
        ) {
            let mut data = noise(len, seed);
            if sqlite && len >= 18 {
                data[..16].copy_from_slice(SQLITE_MAGIC);
                data[16..18].copy_from_slice(&1024u16.to_be_bytes());
            }
            let (found, _) = chunks(&data, writes);
            prop_assert_eq!(found.concat(), data);
            prop_assert!(found.iter().all(|c| !c.is_empty()));
        }
    }
}
