//! ZPL II labels for Zebra (and ZPL-compatible) thermal printers: one
//! `^XA` … `^XZ` label per code, the printer drawing the symbol itself.
//!
//! A label holds the symbol at its top left corner and, below it, the human
//! readable lines: the caller's (a part number, a lot, a serial) and the
//! code in groups of four characters, each line its own field, wrapped to
//! the label's width. The commands (Zebra's ZPL II Programming Guide):
//!
//! - `^PW` and `^LL`, the label's width and length in dots, computed from the
//!   symbol (as this crate's encoder makes it) and the lines; `^LH0,0`.
//! - QR: `^FO x,y ^BQN,2,m` (orientation normal, model 2, `m` dots per
//!   module, 1 to 10) and `^FDMM,A` + data: error correction M and manual
//!   input in alphanumeric mode, the same symbol [`crate::symbol`] renders
//!   for an upper-case code or URL. Data outside the QR alphanumeric set
//!   gets `^FDMA,` (automatic input mode) instead.
//! - Data Matrix: `^FO x,y ^BXN,h,200,c,r`, ECC 200 with `h` dots per
//!   module, and the columns and rows this crate's encoder chose, so the
//!   printed symbol has the size the label was laid out for.
//! - Text: `^FO x,y ^A0N,h,w ^FH ^FD` … `^FS`: the scalable font 0, and
//!   `^FH` so that `^`, `~` and `_` in a caller's line (a part number may
//!   hold them) are written as `_5E`, `_7E` and `_5F` and never read as
//!   commands.
//!
//! Symbol data is never escaped: a `^` or `~` in it would end the field or
//! start a command, so it is refused ([`ZplError::ReservedCharacter`]).
//! Codes and verification URLs (base32, upper case) never hold either.
//!
//! ```
//! use hallmark_label::symbol::Symbol;
//! use hallmark_label::zpl::{Layout, group_code, label};
//!
//! let code = "01HM".repeat(41); // 164 characters, like a sample code
//! let layout = Layout::new(Symbol::Qr, 203, 4)?;
//! let zpl = label(&code, &["DRN-2980 LOT L7 SN 5"], &group_code(&code), &layout)?;
//! assert!(zpl.starts_with("^XA") && zpl.ends_with("^XZ\n"));
//! assert!(zpl.contains("^BQN,2,4^FDMM,A01HM"));
//! # Ok::<(), hallmark_label::zpl::ZplError>(())
//! ```

use std::fmt::{self, Write as _};

use crate::data::is_qr_alphanumeric;
use crate::symbol::{Matrix, Symbol, SymbolError};

/// Largest QR module size `^BQ` accepts (its magnification), in dots.
pub const MAX_QR_MODULE_DOTS: u32 = 10;

/// Largest Data Matrix module size accepted, in dots (`^BX` allows up to
/// the label's width; past this a code's symbol outgrows any label).
pub const MAX_DATAMATRIX_MODULE_DOTS: u32 = 32;

/// Largest label width or length, in dots (`^LL` accepts at most 32000).
pub const MAX_LABEL_DOTS: u32 = 32_000;

/// Print resolutions accepted, in dots per inch: Zebra's printheads are 152,
/// 203, 300 and 600 dpi.
pub const DPI_RANGE: std::ops::RangeInclusive<u32> = 100..=600;

/// Characters of the code in one group of the human-readable line.
pub const GROUP: usize = 4;

/// Why a label could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum ZplError {
    /// The symbol cannot hold the data (empty, too long, not printable ASCII).
    Symbol(SymbolError),
    /// The symbol data holds ZPL's format or control prefix.
    ReservedCharacter {
        /// `^` or `~`.
        ch: char,
        /// Its position, in characters from 1.
        position: usize,
    },
    /// A human-readable line holds a character other than printable ASCII.
    UnsupportedText {
        /// The character.
        ch: char,
        /// Its line, from 1.
        line: usize,
        /// Its position in the line, in characters from 1.
        position: usize,
    },
    /// The module size is outside what the symbology's command accepts.
    ModuleSize {
        /// The symbology.
        symbol: Symbol,
        /// The size asked for, in dots.
        dots: u32,
        /// The largest accepted.
        max: u32,
    },
    /// The print resolution is outside [`DPI_RANGE`].
    Dpi {
        /// The resolution asked for.
        dpi: u32,
    },
    /// The label would be wider or longer than [`MAX_LABEL_DOTS`].
    TooLarge {
        /// Width, in dots.
        width: u64,
        /// Length, in dots.
        length: u64,
    },
}

impl fmt::Display for ZplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZplError::Symbol(e) => e.fmt(f),
            ZplError::ReservedCharacter { ch, position } => write!(
                f,
                "character {ch:?} at position {position} is ZPL's command prefix; \
                 a ZPL symbol's data cannot hold it"
            ),
            ZplError::UnsupportedText { ch, line, position } => write!(
                f,
                "character {ch:?} at position {position} of text line {line} is not \
                 printable ASCII; a ZPL label's text holds printable ASCII only"
            ),
            ZplError::ModuleSize { symbol, dots, max } => write!(
                f,
                "a {symbol} module of {dots} dots is out of range: use 1 to {max} dots"
            ),
            ZplError::Dpi { dpi } => write!(
                f,
                "a print resolution of {dpi} dpi is out of range for a ZPL printer: use {} to {} dpi",
                DPI_RANGE.start(),
                DPI_RANGE.end()
            ),
            ZplError::TooLarge { width, length } => write!(
                f,
                "the label would be {width} x {length} dots, larger than a ZPL label can be \
                 ({MAX_LABEL_DOTS} dots)"
            ),
        }
    }
}

impl std::error::Error for ZplError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ZplError::Symbol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SymbolError> for ZplError {
    fn from(e: SymbolError) -> ZplError {
        ZplError::Symbol(e)
    }
}

/// The checked geometry of a label: symbology, printer resolution and module
/// size, and the text size that follows from the resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    symbol: Symbol,
    dpi: u32,
    module_dots: u32,
    min_width: u32,
}

impl Layout {
    /// A layout for `symbol` printed at `dpi` (see [`DPI_RANGE`]) with modules
    /// of `module_dots` dots (1 to [`MAX_QR_MODULE_DOTS`] for QR, to
    /// [`MAX_DATAMATRIX_MODULE_DOTS`] for Data Matrix). The label is at least
    /// 2 inches wide, wider if the symbol needs it.
    pub fn new(symbol: Symbol, dpi: u32, module_dots: u32) -> Result<Layout, ZplError> {
        if !DPI_RANGE.contains(&dpi) {
            return Err(ZplError::Dpi { dpi });
        }
        let max = match symbol {
            Symbol::Qr => MAX_QR_MODULE_DOTS,
            Symbol::DataMatrix => MAX_DATAMATRIX_MODULE_DOTS,
        };
        if !(1..=max).contains(&module_dots) {
            return Err(ZplError::ModuleSize {
                symbol,
                dots: module_dots,
                max,
            });
        }
        Ok(Layout {
            symbol,
            dpi,
            module_dots,
            min_width: 2 * dpi,
        })
    }

    /// The symbology.
    pub fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Dots per module.
    pub fn module_dots(&self) -> u32 {
        self.module_dots
    }

    /// The printer's resolution, in dots per inch.
    pub fn dpi(&self) -> u32 {
        self.dpi
    }

    /// Text height in dots: 2.5 mm (rounded), at least 10 dots.
    fn font_height(&self) -> u32 {
        ((self.dpi * 25 + 127) / 254).max(10)
    }

    /// Text width in dots: the widest a character of font 0 at this size
    /// gets, so a line of n characters fits in n times it.
    fn font_width(&self) -> u32 {
        self.font_height() * 3 / 4
    }

    /// Margin around everything, in dots: the symbol's quiet zone, and at
    /// least 1/16 inch.
    fn margin(&self) -> u32 {
        (self.symbol.quiet_zone() as u32 * self.module_dots).max(self.dpi / 16)
    }
}

/// `code` in groups of [`GROUP`] characters separated by spaces, for the
/// human-readable line (any grouping is accepted back by `hallmark verify`).
///
/// ```
/// assert_eq!(hallmark_label::zpl::group_code("01ABCDEFG"), "01AB CDEF G");
/// ```
pub fn group_code(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / GROUP);
    for (i, ch) in code.chars().enumerate() {
        if i > 0 && i.is_multiple_of(GROUP) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// One ZPL II label, ending in `\n`: the symbol of `data` (a code or its
/// verification URL, printable ASCII without `^` or `~`), the caller's
/// `lines` of text and `code_line` (usually [`group_code`] of the code),
/// each wrapped at its spaces to the label's width (runs of spaces become
/// one).
pub fn label(
    data: &str,
    lines: &[&str],
    code_line: &str,
    layout: &Layout,
) -> Result<String, ZplError> {
    if let Some((i, ch)) = data
        .chars()
        .enumerate()
        .find(|&(_, c)| c == '^' || c == '~')
    {
        return Err(ZplError::ReservedCharacter {
            ch,
            position: i + 1,
        });
    }
    for (n, line) in lines.iter().chain([&code_line]).enumerate() {
        if let Some((i, ch)) = line
            .chars()
            .enumerate()
            .find(|&(_, c)| !(c == ' ' || c.is_ascii_graphic()))
        {
            return Err(ZplError::UnsupportedText {
                ch,
                line: n + 1,
                position: i + 1,
            });
        }
    }
    let matrix = Matrix::encode(data, layout.symbol)?;
    let dots = u64::from(layout.module_dots);
    let margin = u64::from(layout.margin());
    let (symbol_w, symbol_h) = (matrix.width() as u64 * dots, matrix.height() as u64 * dots);
    // The quiet zone right of and below the symbol is the margin too.
    let width = u64::from(layout.min_width).max(symbol_w + 2 * margin);
    let (font_h, font_w) = (layout.font_height(), layout.font_width());
    let per_line = usize::try_from((width - 2 * margin) / u64::from(font_w))
        .unwrap_or(usize::MAX)
        .max(1);
    let mut text: Vec<String> = Vec::new();
    for line in lines {
        text.extend(wrap_words(line, per_line));
    }
    text.extend(wrap_words(code_line, per_line));
    let line_h = u64::from(font_h + font_h / 4);
    let text_top = margin + symbol_h + margin;
    let length = text_top + line_h * text.len() as u64 + margin;
    if width > u64::from(MAX_LABEL_DOTS) || length > u64::from(MAX_LABEL_DOTS) {
        return Err(ZplError::TooLarge { width, length });
    }

    let mut zpl = String::with_capacity(256 + data.len() + text.len() * 96);
    // `write!` to a String cannot fail; the results are ignored on purpose.
    let _ = write!(zpl, "^XA^PW{width}^LL{length}^LH0,0^FO{margin},{margin}");
    match layout.symbol {
        Symbol::Qr => {
            let mode = if data.chars().all(is_qr_alphanumeric) {
                "MM,A"
            } else {
                "MA,"
            };
            let _ = write!(zpl, "^BQN,2,{dots}^FD{mode}{data}^FS");
        }
        Symbol::DataMatrix => {
            let _ = write!(
                zpl,
                "^BXN,{dots},200,{},{}^FD{data}^FS",
                matrix.width(),
                matrix.height()
            );
        }
    }
    for (i, line) in text.iter().enumerate() {
        let y = text_top + line_h * i as u64;
        let _ = write!(
            zpl,
            "^FO{margin},{y}^A0N,{font_h},{font_w}^FH^FD{}^FS",
            escape(line)
        );
    }
    zpl.push_str("^XZ\n");
    Ok(zpl)
}

/// `text` with `^`, `~` and `_` written as `^FH` hex escapes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut into lines of at most `per_line` characters.
fn wrap_hard(text: &str, per_line: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    chars
        .chunks(per_line.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// `text` broken at its spaces into lines of at most `per_line` characters
/// (a word longer than that is cut).
fn wrap_words(text: &str, per_line: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = word.chars().count();
        let used = line.chars().count();
        if used > 0 && used + 1 + len > per_line {
            lines.push(std::mem::take(&mut line));
        }
        if len > per_line {
            lines.extend(wrap_hard(word, per_line));
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests;
