//! A QR encoder for error correction level M, one segment in the smallest mode
//! that covers the data (numeric, alphanumeric or byte), versions 1 to
//! [`MAX_VERSION`].
//!
//! Why not fast_qr alone: it scores all eight masks on a byte-per-module
//! matrix, which alone caps label output (docs/PERFORMANCE.md has the rates of
//! both). Here every row and column is one `u128`, so
//! a mask is scored with a few dozen word operations per line. fast_qr stays as
//! the test oracle: for every mask the two produce identical symbols.

/// Highest version encoded: its 125-module rows fit a `u128`. It holds
/// 1,125 bytes at level M, more than [`MAX_DATA_LEN`](super::MAX_DATA_LEN).
pub(super) const MAX_VERSION: usize = 27;

/// Error correction codewords per block at level M, versions 1 to 27.
const EC_PER_BLOCK: [usize; MAX_VERSION] = [
    10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28,
    28, 28, 28,
];

/// Error correction blocks at level M, versions 1 to 27.
const BLOCKS: [usize; MAX_VERSION] = [
    1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25,
];

/// Level M in the format information.
const FORMAT_ECL_M: u32 = 0b00;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Numeric,
    Alphanumeric,
    Byte,
}

/// An encoded QR symbol.
#[derive(Clone, Debug)]
pub(super) struct Qr {
    pub(super) size: usize,
    /// One row per `y`; bit `x` set means dark.
    pub(super) rows: Vec<u128>,
}

/// Encodes `data` with the mask given, or the one with the lowest penalty
/// (ISO/IEC 18004 rules N1 to N4). `None` if no version up to
/// [`MAX_VERSION`] holds it.
pub(super) fn encode(data: &[u8], force_mask: Option<usize>) -> Option<Qr> {
    let mode = best_mode(data);
    let version = smallest_version(mode, data.len())?;
    let codewords = add_error_correction(&data_codewords_for(data, mode, version)?, version)?;
    let grid = Grid::new(version, &codewords);

    let mask = match force_mask {
        Some(mask) if mask < 8 => mask,
        Some(_) => return None,
        None => {
            let mut scratch = Masked::new(grid.size);
            (0..8)
                .min_by_key(|&mask| {
                    scratch.apply(&grid, mask);
                    scratch.penalty()
                })
                .unwrap_or(0)
        }
    };
    let mut masked = Masked::new(grid.size);
    masked.apply(&grid, mask);
    Some(Qr {
        size: grid.size,
        rows: masked.rows,
    })
}

/// The smallest version that holds `len` characters in `mode`.
pub(super) fn smallest_version(mode: Mode, len: usize) -> Option<usize> {
    let payload_bits = payload_bits(mode, len);
    (1..=MAX_VERSION).find(|&v| {
        len < 1 << count_bits(mode, v)
            && 4 + count_bits(mode, v) + payload_bits <= data_codewords(v) * 8
    })
}

pub(super) fn best_mode(data: &[u8]) -> Mode {
    if data.iter().all(u8::is_ascii_digit) {
        Mode::Numeric
    } else if data.iter().all(|&b| alphanumeric_value(b).is_some()) {
        Mode::Alphanumeric
    } else {
        Mode::Byte
    }
}

/// The value of `b` in QR alphanumeric mode, if the mode holds it
/// ([`crate::data::is_qr_alphanumeric`] asks this).
pub(crate) fn alphanumeric_value(b: u8) -> Option<u32> {
    Some(u32::from(match b {
        b'0'..=b'9' => b - b'0',
        b'A'..=b'Z' => b - b'A' + 10,
        b' ' => 36,
        b'$' => 37,
        b'%' => 38,
        b'*' => 39,
        b'+' => 40,
        b'-' => 41,
        b'.' => 42,
        b'/' => 43,
        b':' => 44,
        _ => return None,
    }))
}

/// Bits of the character count field.
fn count_bits(mode: Mode, version: usize) -> usize {
    let (small, medium, large) = match mode {
        Mode::Numeric => (10, 12, 14),
        Mode::Alphanumeric => (9, 11, 13),
        Mode::Byte => (8, 16, 16),
    };
    match version {
        ..=9 => small,
        10..=26 => medium,
        _ => large,
    }
}

/// Bits of the encoded characters, without mode and count fields.
fn payload_bits(mode: Mode, len: usize) -> usize {
    match mode {
        Mode::Numeric => len / 3 * 10 + [0, 4, 7].get(len % 3).copied().unwrap_or(0),
        Mode::Alphanumeric => len / 2 * 11 + len % 2 * 6,
        Mode::Byte => len * 8,
    }
}

/// Modules available for data and error correction (after the function
/// patterns and format and version information).
fn raw_data_modules(version: usize) -> usize {
    let mut modules = (16 * version + 128) * version + 64;
    if version >= 2 {
        let alignments = version / 7 + 2;
        modules -= (25 * alignments - 10) * alignments - 55;
        if version >= 7 {
            modules -= 36;
        }
    }
    modules
}

fn ec_layout(version: usize) -> Option<(usize, usize)> {
    let i = version.checked_sub(1)?;
    Some((*EC_PER_BLOCK.get(i)?, *BLOCKS.get(i)?))
}

fn data_codewords(version: usize) -> usize {
    let (ec, blocks) = ec_layout(version).unwrap_or((0, 0));
    (raw_data_modules(version) / 8).saturating_sub(ec * blocks)
}

/// A bit string, most significant bit first.
struct Bits {
    bytes: Vec<u8>,
    len: usize,
}

impl Bits {
    fn push(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            if self.len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if (value >> i) & 1 == 1
                && let Some(byte) = self.bytes.last_mut()
            {
                *byte |= 0x80 >> (self.len % 8);
            }
            self.len += 1;
        }
    }
}

/// The data codewords: mode, count, characters, terminator and padding.
fn data_codewords_for(data: &[u8], mode: Mode, version: usize) -> Option<Vec<u8>> {
    let capacity = data_codewords(version);
    let mut bits = Bits {
        bytes: Vec::with_capacity(capacity),
        len: 0,
    };
    let indicator = match mode {
        Mode::Numeric => 0b0001,
        Mode::Alphanumeric => 0b0010,
        Mode::Byte => 0b0100,
    };
    bits.push(indicator, 4);
    bits.push(u32::try_from(data.len()).ok()?, count_bits(mode, version));
    match mode {
        Mode::Numeric => {
            for chunk in data.chunks(3) {
                let value = chunk
                    .iter()
                    .fold(0, |n, &d| n * 10 + u32::from(d.wrapping_sub(b'0')));
                bits.push(value, chunk.len() * 3 + 1);
            }
        }
        Mode::Alphanumeric => {
            for chunk in data.chunks(2) {
                let value = chunk
                    .iter()
                    .try_fold(0, |n, &c| alphanumeric_value(c).map(|v| n * 45 + v))?;
                bits.push(value, chunk.len() * 5 + 1);
            }
        }
        Mode::Byte => {
            for &b in data {
                bits.push(u32::from(b), 8);
            }
        }
    }
    let capacity_bits = capacity * 8;
    bits.push(0, capacity_bits.checked_sub(bits.len)?.min(4));
    bits.push(0, (8 - bits.len % 8) % 8);
    let mut bytes = bits.bytes;
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if bytes.len() >= capacity {
            break;
        }
        bytes.push(pad);
    }
    (bytes.len() == capacity).then_some(bytes)
}

/// Splits the data codewords into blocks, appends each block's Reed-Solomon
/// codewords and interleaves them.
fn add_error_correction(data: &[u8], version: usize) -> Option<Vec<u8>> {
    let (ec, blocks) = ec_layout(version)?;
    let total = raw_data_modules(version) / 8;
    let short_len = total / blocks;
    let short_blocks = blocks - total % blocks;
    let short_data = short_len.checked_sub(ec)?;
    let divisor = rs_divisor(ec);

    let mut split = Vec::with_capacity(blocks);
    let mut rest = data;
    for i in 0..blocks {
        let len = short_data + usize::from(i >= short_blocks);
        let (block, tail) = rest.split_at_checked(len)?;
        split.push((block, rs_remainder(block, &divisor)));
        rest = tail;
    }
    let mut out = Vec::with_capacity(total);
    for j in 0..=short_data {
        out.extend(split.iter().filter_map(|(block, _)| block.get(j)));
    }
    for j in 0..ec {
        out.extend(split.iter().filter_map(|(_, ecc)| ecc.get(j)));
    }
    (out.len() == total && rest.is_empty()).then_some(out)
}

/// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1: (exp, log).
const GF: ([u8; 512], [u8; 256]) = gf_tables();

// Evaluated at compile time only: an out-of-range index is a build error.
#[allow(clippy::indexing_slicing)]
const fn gf_tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11D;
        }
        i += 1;
    }
    while i < 512 {
        exp[i] = exp[i - 255];
        i += 1;
    }
    (exp, log)
}

fn gf_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    let (exp, log) = &GF;
    let sum = usize::from(log.get(usize::from(a)).copied().unwrap_or(0))
        + usize::from(log.get(usize::from(b)).copied().unwrap_or(0));
    exp.get(sum).copied().unwrap_or(0)
}

/// The generator polynomial of degree `degree`, highest coefficient first,
/// without the leading 1.
fn rs_divisor(degree: usize) -> Vec<u8> {
    let mut divisor = vec![0u8; degree];
    if let Some(last) = divisor.last_mut() {
        *last = 1;
    }
    let mut root = 1u8;
    for _ in 0..degree {
        for j in 0..degree {
            let next = divisor.get(j + 1).copied().unwrap_or(0);
            if let Some(c) = divisor.get_mut(j) {
                *c = gf_mul(*c, root) ^ next;
            }
        }
        root = gf_mul(root, 2);
    }
    divisor
}

fn rs_remainder(data: &[u8], divisor: &[u8]) -> Vec<u8> {
    let mut remainder = vec![0u8; divisor.len()];
    for &b in data {
        let factor = b ^ remainder.first().copied().unwrap_or(0);
        remainder.rotate_left(1);
        if let Some(last) = remainder.last_mut() {
            *last = 0;
        }
        for (r, &d) in remainder.iter_mut().zip(divisor) {
            *r ^= gf_mul(d, factor);
        }
    }
    remainder
}

/// The unmasked symbol, kept both by rows and by columns (for scoring),
/// with the function modules marked.
struct Grid {
    size: usize,
    rows: Vec<u128>,
    cols: Vec<u128>,
    function_rows: Vec<u128>,
    function_cols: Vec<u128>,
}

impl Grid {
    fn new(version: usize, codewords: &[u8]) -> Grid {
        let size = 17 + 4 * version;
        let mut grid = Grid {
            size,
            rows: vec![0; size],
            cols: vec![0; size],
            function_rows: vec![0; size],
            function_cols: vec![0; size],
        };
        grid.draw_function_patterns(version);
        grid.place(codewords);
        grid
    }

    fn set(&mut self, x: usize, y: usize, dark: bool) {
        for (line, bit) in [(self.rows.get_mut(y), x), (self.cols.get_mut(x), y)] {
            if let Some(line) = line {
                if dark {
                    *line |= 1 << bit;
                } else {
                    *line &= !(1 << bit);
                }
            }
        }
    }

    fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        self.set(x, y, dark);
        if let Some(row) = self.function_rows.get_mut(y) {
            *row |= 1 << x;
        }
        if let Some(col) = self.function_cols.get_mut(x) {
            *col |= 1 << y;
        }
    }

    fn is_function(&self, x: usize, y: usize) -> bool {
        self.function_rows
            .get(y)
            .is_some_and(|row| (row >> x) & 1 == 1)
    }

    fn draw_function_patterns(&mut self, version: usize) {
        let size = self.size;
        for i in 0..size {
            self.set_function(6, i, i % 2 == 0);
            self.set_function(i, 6, i % 2 == 0);
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in 0..9_usize {
                for dx in 0..9_usize {
                    // (x, y) = (cx + dx - 4, cy + dy - 4), inside the symbol.
                    let (Some(x), Some(y)) = ((cx + dx).checked_sub(4), (cy + dy).checked_sub(4))
                    else {
                        continue;
                    };
                    if x < size && y < size {
                        let ring = dx.abs_diff(4).max(dy.abs_diff(4));
                        self.set_function(x, y, ring != 2 && ring != 4);
                    }
                }
            }
        }
        let centres = alignment_centres(version, size);
        let last = centres.len().saturating_sub(1);
        for (i, &cy) in centres.iter().enumerate() {
            for (j, &cx) in centres.iter().enumerate() {
                // The three corners hold finder patterns.
                if (i == 0 && (j == 0 || j == last)) || (i == last && j == 0) {
                    continue;
                }
                for dy in 0..5_usize {
                    for dx in 0..5_usize {
                        let ring = dx.abs_diff(2).max(dy.abs_diff(2));
                        self.set_function(cx + dx - 2, cy + dy - 2, ring != 1);
                    }
                }
            }
        }
        // Reserve the format information (written per mask) and set the
        // dark module.
        for [(x1, y1), (x2, y2)] in format_positions(size) {
            self.set_function(x1, y1, false);
            self.set_function(x2, y2, false);
        }
        self.set_function(8, size - 8, true);
        if version >= 7 {
            let version_bits = bch(version as u32, 0x1F25, 12);
            for i in 0..18 {
                let dark = (version_bits >> i) & 1 == 1;
                let (a, b) = (size - 11 + i % 3, i / 3);
                self.set_function(a, b, dark);
                self.set_function(b, a, dark);
            }
        }
    }

    /// Places the codewords in the two-column zigzag; remainder bits stay light.
    fn place(&mut self, codewords: &[u8]) {
        let size = self.size;
        let total_bits = codewords.len() * 8;
        let mut i = 0;
        let mut right = size - 1;
        loop {
            if right == 6 {
                right = 5;
            }
            let upward = (right + 1) & 2 == 0;
            for vert in 0..size {
                let y = if upward { size - 1 - vert } else { vert };
                for x in [right, right - 1] {
                    if i < total_bits && !self.is_function(x, y) {
                        let byte = codewords.get(i / 8).copied().unwrap_or(0);
                        if (byte >> (7 - i % 8)) & 1 == 1 {
                            self.set(x, y, true);
                        }
                        i += 1;
                    }
                }
            }
            if right < 3 {
                break;
            }
            right -= 2;
        }
    }
}

/// Centres of the alignment patterns along each axis (empty for version 1).
fn alignment_centres(version: usize, size: usize) -> Vec<usize> {
    if version == 1 {
        return Vec::new();
    }
    let count = version / 7 + 2;
    let step = if version == 32 {
        26
    } else {
        (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
    };
    let mut centres = vec![6];
    centres.extend((1..count).map(|i| size - 7 - (count - 1 - i) * step));
    centres
}

/// Where format bit `i` goes: both copies, as (x, y).
fn format_positions(size: usize) -> [[(usize, usize); 2]; 15] {
    let mut positions = [[(0, 0); 2]; 15];
    for (i, slot) in positions.iter_mut().enumerate() {
        let first = match i {
            0..=5 => (8, i),
            6 => (8, 7),
            7 => (8, 8),
            8 => (7, 8),
            _ => (14 - i, 8),
        };
        let second = if i < 8 {
            (size - 1 - i, 8)
        } else {
            (8, size - 15 + i)
        };
        *slot = [first, second];
    }
    positions
}

/// `value` followed by its BCH remainder for `generator` (degree `degree`).
fn bch(value: u32, generator: u32, degree: u32) -> u32 {
    let mut remainder = value;
    for _ in 0..degree {
        remainder = (remainder << 1) ^ ((remainder >> (degree - 1)) * generator);
    }
    (value << degree) | (remainder & ((1 << degree) - 1))
}

/// Does mask `mask` invert the module at (x, y)?
const fn mask_inverts(mask: usize, x: usize, y: usize) -> bool {
    match mask {
        0 => (x + y).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (x + y).is_multiple_of(3),
        4 => (x / 3 + y / 2).is_multiple_of(2),
        5 => x * y % 2 + x * y % 3 == 0,
        6 => (x * y % 2 + x * y % 3).is_multiple_of(2),
        _ => ((x + y) % 2 + x * y % 3).is_multiple_of(2),
    }
}

/// Every mask repeats every 12 rows and every 12 columns.
const MASK_PERIOD: usize = 12;

/// `[mask][y % 12]`: the row a mask inverts, bit x set where it inverts.
const MASK_ROWS: [[u128; MASK_PERIOD]; 8] = mask_lines(false);
/// `[mask][x % 12]`: the column a mask inverts, bit y set where it inverts.
const MASK_COLS: [[u128; MASK_PERIOD]; 8] = mask_lines(true);

// Evaluated at compile time only: an out-of-range index is a build error.
#[allow(clippy::indexing_slicing)]
const fn mask_lines(columns: bool) -> [[u128; MASK_PERIOD]; 8] {
    let mut lines = [[0; MASK_PERIOD]; 8];
    let mut mask = 0;
    while mask < 8 {
        let mut j = 0;
        while j < MASK_PERIOD {
            let mut i = 0;
            while i < 128 {
                let (x, y) = if columns { (j, i) } else { (i, j) };
                if mask_inverts(mask, x, y) {
                    lines[mask][j] |= 1 << i;
                }
                i += 1;
            }
            j += 1;
        }
        mask += 1;
    }
    lines
}

fn mask_line(table: &[[u128; MASK_PERIOD]; 8], mask: usize, i: usize) -> u128 {
    table
        .get(mask)
        .and_then(|lines| lines.get(i % MASK_PERIOD))
        .copied()
        .unwrap_or(0)
}

/// Bits 0 to `n - 1` set.
fn low_bits(n: usize) -> u128 {
    if n >= 128 { u128::MAX } else { (1 << n) - 1 }
}

/// A masked symbol with its format information, by rows and by columns.
struct Masked {
    size: usize,
    rows: Vec<u128>,
    cols: Vec<u128>,
}

impl Masked {
    fn new(size: usize) -> Masked {
        Masked {
            size,
            rows: vec![0; size],
            cols: vec![0; size],
        }
    }

    fn apply(&mut self, grid: &Grid, mask: usize) {
        let full = low_bits(self.size);
        let by_rows = self
            .rows
            .iter_mut()
            .zip(&grid.rows)
            .zip(&grid.function_rows);
        for (y, ((out, &unmasked), &function)) in by_rows.enumerate() {
            *out = unmasked ^ (mask_line(&MASK_ROWS, mask, y) & !function & full);
        }
        let by_cols = self
            .cols
            .iter_mut()
            .zip(&grid.cols)
            .zip(&grid.function_cols);
        for (x, ((out, &unmasked), &function)) in by_cols.enumerate() {
            *out = unmasked ^ (mask_line(&MASK_COLS, mask, x) & !function & full);
        }
        let format = bch(FORMAT_ECL_M << 3 | mask as u32, 0x537, 10) ^ 0x5412;
        for (i, copies) in format_positions(self.size).into_iter().enumerate() {
            if (format >> i) & 1 == 1 {
                for (x, y) in copies {
                    if let Some(row) = self.rows.get_mut(y) {
                        *row |= 1 << x;
                    }
                    if let Some(col) = self.cols.get_mut(x) {
                        *col |= 1 << y;
                    }
                }
            }
        }
    }

    /// The ISO/IEC 18004 penalty: N1 runs, N2 2x2 blocks, N3 finder-like
    /// patterns (outside the symbol counts as light), N4 dark balance.
    fn penalty(&self) -> u32 {
        let full = low_bits(self.size);
        let lines: u32 = self
            .rows
            .iter()
            .chain(&self.cols)
            .map(|&line| line_penalty(line & full, full))
            .sum();
        let inner = low_bits(self.size - 1);
        let blocks: u32 = self
            .rows
            .iter()
            .zip(self.rows.iter().skip(1))
            .map(|(&a, &b)| {
                let same_below = !(a ^ b);
                let same_right = !(a ^ (a >> 1));
                (same_below & (same_below >> 1) & same_right & inner).count_ones()
            })
            .sum();
        let dark: u32 = self.rows.iter().map(|&r| (r & full).count_ones()).sum();
        let total = (self.size * self.size) as u32;
        let balance = (dark * 20).abs_diff(total * 10).div_ceil(total);
        lines + 3 * blocks + 10 * balance.saturating_sub(1)
    }
}

/// N1 and N3 for one row or column (`dark` holds only bits below the size,
/// `full` is all of them).
fn line_penalty(dark: u128, full: u128) -> u32 {
    // A run of L >= 5 modules has L - 4 starts of five alike and scores
    // 3 + (L - 5): count the starts, plus 2 for the first of each run.
    let runs = |c: u128| {
        let five = c & (c >> 1) & (c >> 2) & (c >> 3) & (c >> 4);
        five.count_ones() + 2 * (five & !(c << 1)).count_ones()
    };
    let n1 = runs(dark) + runs(!dark & full);
    // Dark-light-dark-dark-dark-light-dark from bit x, with four light
    // modules before or after it.
    let at = |k: u32| dark >> k;
    let finder = dark & !at(1) & at(2) & at(3) & at(4) & !at(5) & at(6);
    let light_before = !((dark << 1) | (dark << 2) | (dark << 3) | (dark << 4));
    let light_after = !(at(7) | at(8) | at(9) | at(10));
    n1 + 40 * ((finder & light_before).count_ones() + (finder & light_after).count_ones())
}
