//! How a closed block of one series is laid out on disk, and read back without trusting it.
//!
//! A block is a run of [`Bucket`]s in time order. Times are written as the first time and then the change of
//! the step (delta-of-delta), so a regular 5-second series costs a zero per point. Each value column is
//! written as scaled integers when every value in it is a short decimal (a CPU percentage to 0.01, a byte
//! count), as zig-zag varint deltas, and otherwise as the XOR of each value's bits with the one before; the
//! whole is then compressed with zstd. Both ways are lossless: a value reads back bit for bit.
//!
//! Raw blocks (every bucket holding one point) write one value column; rollup blocks write min, max, sum,
//! count and last. Decoding bounds everything it reads (points, sizes, scales), so a damaged or crafted
//! block is an error, never a panic or an allocation the size of a lie.

use std::cell::RefCell;

use crate::bucket::Bucket;

/// The most points one block may hold (a week of 1-second points, far above any tier's block).
pub const MAX_POINTS: usize = 1 << 20;

const VERSION: u8 = 1;
const RAW: u8 = 0;
const ROLLUP: u8 = 1;
/// Marks a column written as XOR-ed bits rather than scaled integers.
const BITS: u8 = 0xFF;
/// The most decimal places a column is scaled by.
const MAX_SCALE: u8 = 9;
/// Integers above 2^53 are not all exact in an f64, so scaled columns stay below it.
const EXACT: f64 = 9_007_199_254_740_992.0;
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("the block is not zstd data, or expands beyond its bound: {0}")]
    Compression(String),
    #[error("the block has format version {0}, which this build does not know")]
    Version(u8),
    #[error("the block is damaged: {0}")]
    Damaged(&'static str),
}

/// Encodes `buckets` (in time order). `raw` writes only each bucket's `last`, for blocks of single points.
pub fn encode(buckets: &[Bucket], raw: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + buckets.len() * if raw { 3 } else { 10 });
    out.push(VERSION);
    out.push(if raw { RAW } else { ROLLUP });
    put_varint(&mut out, buckets.len() as u64);
    let mut previous = 0i64;
    let mut previous_step = 0i64;
    for (i, b) in buckets.iter().enumerate() {
        if i == 0 {
            put_varint(&mut out, zigzag(b.start_ms));
        } else {
            let step = b.start_ms - previous;
            put_varint(&mut out, zigzag(step.wrapping_sub(previous_step)));
            previous_step = step;
        }
        previous = b.start_ms;
    }
    if raw {
        put_floats(&mut out, buckets.iter().map(|b| b.last));
    } else {
        put_floats(&mut out, buckets.iter().map(|b| b.min));
        put_floats(&mut out, buckets.iter().map(|b| b.max));
        put_floats(&mut out, buckets.iter().map(|b| b.sum));
        put_floats(&mut out, buckets.iter().map(|b| b.last));
        let mut previous = 0i64;
        for b in buckets {
            let count = b.count as i64;
            put_varint(&mut out, zigzag(count.wrapping_sub(previous)));
            previous = count;
        }
    }
    COMPRESSOR
        .with(|c| match &mut *c.borrow_mut() {
            Some(compressor) => compressor.compress(&out),
            None => zstd::bulk::compress(&out, ZSTD_LEVEL),
        })
        .expect("compressing a buffer in memory cannot fail")
}

thread_local! {
    // One zstd context per thread, made once: making one costs more than a block's work (a query decodes
    // dozens of blocks, the writer encodes hundreds an hour).
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        RefCell::new(zstd::bulk::Compressor::new(ZSTD_LEVEL).ok());
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        RefCell::new(zstd::bulk::Decompressor::new().ok());
}

/// Expands `block` into a buffer the size its frame declares (never above `bound`: a frame that lies about
/// its size fails to fit and is an error), or `bound` when it declares none.
fn decompress(block: &[u8], bound: usize) -> std::io::Result<Vec<u8>> {
    let declared = zstd::zstd_safe::get_frame_content_size(block)
        .ok()
        .flatten()
        .and_then(|size| usize::try_from(size).ok());
    let capacity = declared.unwrap_or(bound).min(bound);
    DECOMPRESSOR.with(|d| match &mut *d.borrow_mut() {
        Some(decompressor) => decompressor.decompress(block, capacity),
        None => zstd::bulk::decompress(block, capacity),
    })
}

/// Decodes a block written by [`encode`].
pub fn decode(block: &[u8]) -> Result<Vec<Bucket>, CodecError> {
    // Each point takes at least one byte per column before compression, so a block larger than this once
    // expanded is not one of ours.
    let bound = 16 + MAX_POINTS * (6 * 9);
    let data = decompress(block, bound).map_err(|e| CodecError::Compression(e.to_string()))?;
    let mut r = Reader { data: &data, at: 0 };
    let version = r.byte()?;
    if version != VERSION {
        return Err(CodecError::Version(version));
    }
    let raw = match r.byte()? {
        RAW => true,
        ROLLUP => false,
        _ => return Err(CodecError::Damaged("unknown block kind")),
    };
    let n = r.varint()? as usize;
    if n > MAX_POINTS || n > data.len() {
        return Err(CodecError::Damaged("more points than the block can hold"));
    }
    let mut times = Vec::with_capacity(n);
    let mut previous = 0i64;
    let mut step = 0i64;
    for i in 0..n {
        let t = if i == 0 {
            unzigzag(r.varint()?)
        } else {
            step = step.wrapping_add(unzigzag(r.varint()?));
            previous.wrapping_add(step)
        };
        if i > 0 && t <= previous {
            return Err(CodecError::Damaged("times out of order"));
        }
        times.push(t);
        previous = t;
    }
    let buckets = if raw {
        let values = r.floats(n)?;
        times
            .into_iter()
            .zip(values)
            .map(|(t, v)| Bucket::point(t, v))
            .collect()
    } else {
        let min = r.floats(n)?;
        let max = r.floats(n)?;
        let sum = r.floats(n)?;
        let last = r.floats(n)?;
        let mut counts = Vec::with_capacity(n);
        let mut previous = 0i64;
        for _ in 0..n {
            previous = previous.wrapping_add(unzigzag(r.varint()?));
            if previous < 1 {
                return Err(CodecError::Damaged("a bucket counts no points"));
            }
            counts.push(previous as u64);
        }
        (0..n)
            .map(|i| Bucket {
                start_ms: times[i],
                min: min[i],
                max: max[i],
                sum: sum[i],
                count: counts[i],
                last: last[i],
            })
            .collect()
    };
    if r.at != data.len() {
        return Err(CodecError::Damaged("bytes after the last column"));
    }
    Ok(buckets)
}

/// The fewest decimal places that hold every value exactly, if any do.
fn scale_of(values: &[f64]) -> Option<u8> {
    (0..=MAX_SCALE).find(|&d| {
        let p = 10f64.powi(d as i32);
        values.iter().all(|&v| {
            let scaled = (v * p).round();
            scaled.abs() < EXACT && scaled / p == v && !(v == 0.0 && v.is_sign_negative())
        })
    })
}

fn put_floats(out: &mut Vec<u8>, values: impl Iterator<Item = f64>) {
    let values: Vec<f64> = values.collect();
    match scale_of(&values) {
        Some(d) => {
            out.push(d);
            let p = 10f64.powi(d as i32);
            let mut previous = 0i64;
            for v in values {
                let scaled = (v * p).round() as i64;
                put_varint(out, zigzag(scaled.wrapping_sub(previous)));
                previous = scaled;
            }
        }
        None => {
            out.push(BITS);
            let mut previous = 0u64;
            for v in values {
                let bits = v.to_bits();
                out.extend_from_slice(&(bits ^ previous).to_le_bytes());
                previous = bits;
            }
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self
            .data
            .get(self.at)
            .ok_or(CodecError::Damaged("the block ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Damaged("a number longer than 64 bits"))
    }

    fn floats(&mut self, n: usize) -> Result<Vec<f64>, CodecError> {
        let mut values = Vec::with_capacity(n);
        match self.byte()? {
            BITS => {
                let mut previous = 0u64;
                for _ in 0..n {
                    let end = self.at + 8;
                    let bytes = self
                        .data
                        .get(self.at..end)
                        .ok_or(CodecError::Damaged("the block ends early"))?;
                    previous ^= u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
                    self.at = end;
                    values.push(f64::from_bits(previous));
                }
            }
            d if d <= MAX_SCALE => {
                let p = 10f64.powi(d as i32);
                let mut previous = 0i64;
                for _ in 0..n {
                    previous = previous.wrapping_add(unzigzag(self.varint()?));
                    values.push(previous as f64 / p);
                }
            }
            _ => return Err(CodecError::Damaged("unknown column scale")),
        }
        Ok(values)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(a: &[Bucket], b: &[Bucket]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.start_ms == y.start_ms
                    && x.count == y.count
                    && x.min.to_bits() == y.min.to_bits()
                    && x.max.to_bits() == y.max.to_bits()
                    && x.sum.to_bits() == y.sum.to_bits()
                    && x.last.to_bits() == y.last.to_bits()
            })
    }

    #[test]
    fn a_regular_series_of_short_decimals_costs_little() {
        let points: Vec<Bucket> = (0..720)
            .map(|i| {
                Bucket::point(
                    1_700_000_000_000 + i * 5000,
                    ((i * 37) % 400) as f64 / 100.0,
                )
            })
            .collect();
        let block = encode(&points, true);
        assert!(block.len() < 720 * 2, "{} bytes", block.len());
        assert!(same(&decode(&block).unwrap(), &points));
    }

    #[test]
    fn values_that_are_not_short_decimals_keep_their_bits() {
        let points = vec![
            Bucket::point(0, std::f64::consts::PI),
            Bucket::point(7, -0.0),
            Bucket::point(9, 1e300),
            Bucket::point(10, f64::MIN_POSITIVE),
        ];
        assert!(same(&decode(&encode(&points, true)).unwrap(), &points));
    }

    #[test]
    fn garbage_and_truncated_blocks_are_errors() {
        assert!(decode(b"not zstd at all").is_err());
        let block = encode(&[Bucket::point(1, 2.0), Bucket::point(2, 3.0)], true);
        let inner = zstd::bulk::decompress(&block, 1000).unwrap();
        for cut in 0..inner.len() {
            let truncated = zstd::bulk::compress(&inner[..cut], 1).unwrap();
            assert!(decode(&truncated).is_err(), "cut at {cut}");
        }
        // A count that claims a million points in a ten-byte block.
        let mut lie = vec![VERSION, RAW];
        put_varint(&mut lie, 1_000_000);
        assert_eq!(
            decode(&zstd::bulk::compress(&lie, 1).unwrap()),
            Err(CodecError::Damaged("more points than the block can hold"))
        );
    }

    fn bucket() -> impl Strategy<Value = (i64, f64, f64, f64, u64, f64)> {
        (
            1i64..100_000,
            any::<f64>(),
            -1e6f64..1e6,
            (-100_000i64..100_000).prop_map(|v| v as f64 / 100.0),
            1u64..10_000,
            any::<f64>(),
        )
    }

    proptest! {
        #[test]
        fn every_block_reads_back_bit_for_bit(gaps in proptest::collection::vec(bucket(), 0..300), raw: bool) {
            let mut t = -5_000_000i64;
            let buckets: Vec<Bucket> = gaps
                .into_iter()
                .map(|(gap, min, max, sum, count, last)| {
                    t += gap;
                    if raw {
                        Bucket::point(t, last)
                    } else {
                        Bucket { start_ms: t, min, max, sum, count, last }
                    }
                })
                .collect();
            prop_assert!(same(&decode(&encode(&buckets, raw)).unwrap(), &buckets));
        }

        #[test]
        fn no_input_makes_decode_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
            let _ = decode(&zstd::bulk::compress(&bytes, 1).unwrap());
        }
    }
}
