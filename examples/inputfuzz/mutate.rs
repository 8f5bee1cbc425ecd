//! Byte-level mutations every input target shares: bit flips, interesting
//! values, truncation, deleted, repeated and inserted runs.

use rand::Rng;
use rand::rngs::StdRng;

/// Integers that break length and offset arithmetic: zero, one, the edges
/// of signed and unsigned widths, and sizes of a gigabyte and more.
pub const INTERESTING: [u32; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0x7fff,
    0xffff,
    0x4000_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

/// One to four random mutations of `bytes`, never left empty unless it
/// was truncated to nothing on purpose.
pub fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..7) {
            0 => flip_bits(rng, bytes),
            1 => {
                let all = 0..bytes.len();
                overwrite_interesting(rng, bytes, all)
            }
            2 => truncate(rng, bytes),
            3 => delete_run(rng, bytes),
            4 => repeat_run(rng, bytes),
            5 => insert_random(rng, bytes),
            _ => overwrite_random(rng, bytes),
        }
    }
}

pub fn flip_bits(rng: &mut StdRng, bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    for _ in 0..rng.random_range(1..=8) {
        let at = rng.random_range(0..bytes.len());
        bytes[at] ^= 1 << rng.random_range(0..8);
    }
}

/// Writes an interesting integer, little-endian, somewhere in `within`.
pub fn overwrite_interesting(rng: &mut StdRng, bytes: &mut [u8], within: std::ops::Range<usize>) {
    let width = [1, 2, 4][rng.random_range(0..3)];
    if within.len() < width {
        return;
    }
    let at = rng.random_range(within.start..=within.end - width);
    let value = INTERESTING[rng.random_range(0..INTERESTING.len())].to_le_bytes();
    bytes[at..at + width].copy_from_slice(&value[..width]);
}

pub fn truncate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    let keep = rng.random_range(0..=bytes.len());
    bytes.truncate(keep);
}

fn delete_run(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    let start = rng.random_range(0..bytes.len());
    let end = (start + rng.random_range(1..=16)).min(bytes.len());
    bytes.drain(start..end);
}

fn repeat_run(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    let start = rng.random_range(0..bytes.len());
    let end = (start + rng.random_range(1..=64)).min(bytes.len());
    let run = bytes[start..end].to_vec();
    for _ in 0..rng.random_range(1..=4) {
        bytes.splice(start..start, run.iter().copied());
    }
}

fn insert_random(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    let at = rng.random_range(0..=bytes.len());
    let run: Vec<u8> = (0..rng.random_range(1..=8)).map(|_| rng.random()).collect();
    bytes.splice(at..at, run);
}

fn overwrite_random(rng: &mut StdRng, bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    let at = rng.random_range(0..bytes.len());
    bytes[at] = rng.random();
}
