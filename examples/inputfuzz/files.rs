//! Inputs that arrive as files: Parquet, CSV and hive partition
//! directories, each a valid seed with mutations on top.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use rand::Rng;
use rand::rngs::StdRng;

use crate::mutate::{self, INTERESTING};

/// Rows of every type morsel reads from Parquet, NULLs included.
fn batch(rng: &mut StdRng, rows: usize) -> RecordBatch {
    let maybe = |rng: &mut StdRng| rng.random_bool(0.8);
    let ints: Int64Array = (0..rows)
        .map(|_| maybe(rng).then(|| rng.random_range(-1000..1000)))
        .collect();
    let small: Int32Array = (0..rows).map(|i| Some(i as i32 % 7)).collect();
    let doubles: Float64Array = (0..rows)
        .map(|_| maybe(rng).then(|| rng.random_range(-1e6..1e6)))
        .collect();
    let texts: StringArray = (0..rows)
        .map(|i| maybe(rng).then(|| ["", "a", "ünï", "x,y", "q\"r"][i % 5].repeat(i % 3)))
        .collect();
    let dates: Date32Array = (0..rows)
        .map(|_| maybe(rng).then(|| rng.random_range(0..20_000)))
        .collect();
    let decimals = (0..rows)
        .map(|_| maybe(rng).then(|| rng.random_range(-99_999..99_999) as i128))
        .collect::<Decimal128Array>()
        .with_precision_and_scale(10, 2)
        .expect("valid decimal type");
    let flags: BooleanArray = (0..rows)
        .map(|i| maybe(rng).then_some(i % 2 == 0))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("i", Arc::new(ints)),
        ("j", Arc::new(small)),
        ("f", Arc::new(doubles)),
        ("s", Arc::new(texts)),
        ("dt", Arc::new(dates)),
        ("d", Arc::new(decimals)),
        ("b", Arc::new(flags)),
    ];
    RecordBatch::try_from_iter(columns).expect("columns of one length")
}

/// Valid Parquet files written as writers commonly write them: one or many
/// row groups and pages, with and without dictionaries, compressed or not,
/// with page statistics (the page index) and bloom filters.
pub fn parquet_seeds(rng: &mut StdRng) -> Vec<Vec<u8>> {
    let settings = [
        (Compression::UNCOMPRESSED, false, 1000),
        (Compression::SNAPPY, true, 50),
        (Compression::ZSTD(ZstdLevel::default()), true, 20),
        (Compression::UNCOMPRESSED, true, 7),
    ];
    settings
        .into_iter()
        .map(|(compression, dictionary, row_group)| {
            let properties = WriterProperties::builder()
                .set_compression(compression)
                .set_dictionary_enabled(dictionary)
                .set_max_row_group_row_count(Some(row_group))
                .set_data_page_row_count_limit(16)
                .set_statistics_enabled(EnabledStatistics::Page)
                .set_bloom_filter_enabled(dictionary)
                .build();
            let batch = batch(rng, 60);
            let mut bytes = Vec::new();
            let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties))
                .expect("parquet writer");
            writer.write(&batch).expect("write batch");
            writer.close().expect("close parquet");
            bytes
        })
        .collect()
}

/// A seed with Parquet's own weak points aimed at: the footer's length
/// field, sizes and offsets in the footer set to gigabytes, then generic
/// mutations.
pub fn mutated_parquet(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = seeds[rng.random_range(0..seeds.len())].clone();
    let footer = footer_range(&bytes);
    match rng.random_range(0..5) {
        0 => set_footer_length(rng, &mut bytes),
        1 | 2 => {
            for _ in 0..rng.random_range(1..=3) {
                aim_at_footer(rng, &mut bytes, footer.clone());
            }
        }
        _ => {}
    }
    if rng.random_bool(0.5) {
        mutate::mutate(rng, &mut bytes);
    }
    bytes
}

/// Where the Thrift-encoded metadata sits: before the 4-byte length and
/// the closing `PAR1`.
fn footer_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let end = bytes.len() - 8;
    let length = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes")) as usize;
    end.saturating_sub(length)..end
}

fn set_footer_length(rng: &mut StdRng, bytes: &mut [u8]) {
    let at = bytes.len() - 8;
    let length = match rng.random_range(0..3) {
        0 => INTERESTING[rng.random_range(0..INTERESTING.len())],
        1 => rng.random_range(0..bytes.len() as u32 + 16),
        _ => rng.random(),
    };
    bytes[at..at + 4].copy_from_slice(&length.to_le_bytes());
}

/// In the footer, Thrift writes sizes, counts and offsets as zig-zag
/// varints: one rewritten as a 5-byte varint of a huge number makes a
/// declared size of gigabytes; a plain interesting value does the rest.
fn aim_at_footer(rng: &mut StdRng, bytes: &mut [u8], footer: std::ops::Range<usize>) {
    if footer.len() < 8 {
        return mutate::flip_bits(rng, bytes);
    }
    if rng.random_bool(0.5) {
        let at = rng.random_range(footer.start..footer.end - 5);
        let huge: [u8; 5] = [0xfe, 0xff, 0xff, 0xff, rng.random_range(0x01..0x10)];
        bytes[at..at + 5].copy_from_slice(&huge);
    } else {
        mutate::overwrite_interesting(rng, bytes, footer);
    }
}

/// A valid CSV: a header and rows of numbers, dates, empty fields and
/// quoted text holding commas, doubled quotes and newlines.
pub fn csv_seed(rng: &mut StdRng) -> Vec<u8> {
    let mut text = String::from("id,amount,day,note\n");
    for row in 0..rng.random_range(0..40) {
        let note = match rng.random_range(0..5) {
            0 => String::new(),
            1 => "plain".to_string(),
            2 => "\"a, b\"".to_string(),
            3 => "\"say \"\"hi\"\"\"".to_string(),
            _ => "\"two\nlines\"".to_string(),
        };
        let amount = if rng.random_bool(0.2) {
            String::new()
        } else {
            format!("{:.2}", rng.random_range(-1e4..1e4))
        };
        let day = format!(
            "2024-{:02}-{:02}",
            rng.random_range(1..13),
            rng.random_range(1..29)
        );
        text.push_str(&format!("{row},{amount},{day},{note}\n"));
    }
    text.into_bytes()
}

/// A seed with CSV's traps added (ragged rows, stray quotes, invalid UTF-8,
/// a byte-order mark, mixed line ends), then generic mutations.
pub fn mutated_csv(rng: &mut StdRng) -> Vec<u8> {
    let mut bytes = csv_seed(rng);
    for _ in 0..rng.random_range(1..=3) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..7) {
            0 => bytes.insert(at, b','),
            1 => bytes.insert(at, b'"'),
            2 => {
                let invalid: [&[u8]; 4] = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"];
                bytes.splice(at..at, invalid[rng.random_range(0..4)].iter().copied());
            }
            3 => {
                let bom = b"\xef\xbb\xbf";
                let at = if rng.random_bool(0.7) { 0 } else { at };
                bytes.splice(at..at, bom.iter().copied());
            }
            4 => mix_line_ends(rng, &mut bytes),
            5 => bytes.insert(at, 0),
            _ => mutate::mutate(rng, &mut bytes),
        }
    }
    bytes
}

fn mix_line_ends(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    let mut mixed = Vec::with_capacity(bytes.len() + 16);
    for &byte in bytes.iter() {
        match (byte, rng.random_range(0..3)) {
            (b'\n', 0) => mixed.extend_from_slice(b"\r\n"),
            (b'\n', 1) => mixed.push(b'\r'),
            _ => mixed.push(byte),
        }
    }
    *bytes = mixed;
}

/// A CSV with one field of `size` bytes.
pub fn huge_field_csv(size: usize) -> Vec<u8> {
    let mut bytes = b"id,note\n1,".to_vec();
    bytes.resize(bytes.len() + size, b'x');
    bytes.extend_from_slice(b"\n2,short\n");
    bytes
}

/// Values a hive directory name may hold: dates and numbers, valid and
/// not, the default-partition marker, escapes, separators and unicode.
const PARTITION_VALUES: [&str; 24] = [
    "2024-01-31",
    "2024-13-99",
    "2024-02-30",
    "0000-00-00",
    "42",
    "-7",
    "9223372036854775808",
    "99999999999999999999999",
    "1e308",
    "3.14",
    "NaN",
    "",
    "__HIVE_DEFAULT_PARTITION__",
    "a%2Fb",
    "%",
    "%zz",
    "a=b",
    "x y",
    "ünïcödé",
    "'",
    "\"",
    "\\",
    "null",
    "true",
];

/// One to three paths of a table's hive directories: the same keys in the
/// same order (as a writer makes them) with values drawn from the traps
/// above and mutated; now and then a path breaks the pattern, a name is no
/// `key=value` at all.
pub fn partition_paths(rng: &mut StdRng) -> Vec<Vec<String>> {
    const KEYS: [&str; 8] = ["year", "dt", "k", "K", "id", "", "a b", "note"];
    let keys: Vec<&str> = (0..rng.random_range(1..=3))
        .map(|_| KEYS[rng.random_range(0..KEYS.len())])
        .collect();
    (0..rng.random_range(1..=3))
        .map(|_| {
            let depth = if rng.random_bool(0.9) {
                keys.len()
            } else {
                rng.random_range(1..=3)
            };
            (0..depth)
                .map(|level| {
                    let key = keys.get(level).copied().unwrap_or("extra");
                    partition_name(rng, key)
                })
                .collect()
        })
        .collect()
}

fn partition_name(rng: &mut StdRng, key: &str) -> String {
    let mut value = PARTITION_VALUES[rng.random_range(0..PARTITION_VALUES.len())]
        .as_bytes()
        .to_vec();
    if rng.random_bool(0.3) {
        mutate::mutate(rng, &mut value);
    }
    let value = String::from_utf8_lossy(&value).replace(['/', '\0'], "_");
    let name = if rng.random_bool(0.95) {
        format!("{key}={value}")
    } else {
        value
    };
    // A name must fit a file system's 255 bytes and cannot be `.`.
    let name: String = name.chars().take(60).collect();
    match name.as_str() {
        "" | "." | ".." => "_".to_string(),
        _ => name,
    }
}

/// Writes a small CSV at the bottom of each of `paths` under `root`.
pub fn write_partitions(root: &Path, paths: &[Vec<String>]) -> std::io::Result<()> {
    for (n, levels) in paths.iter().enumerate() {
        let dir = levels
            .iter()
            .fold(root.to_path_buf(), |dir, level| dir.join(level));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("part-{n}.csv")), "id,note\n1,x\n2,\n")?;
    }
    Ok(())
}
