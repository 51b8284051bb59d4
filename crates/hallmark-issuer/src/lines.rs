//! The output lines of a mint: one line per code as plain text, CSV or JSON
//! Lines, each with the code's serial, the batch's part, lot and dates, and
//! the code's verification URL when a URL prefix is given.
//!
//! The formats are stable (scripts read them): `text` is the code, or its URL,
//! one per line; `csv` has the header `serial,code,part,lot,date,expiry,url`;
//! `jsonl` one object per line with the same fields (`expiry` and `url` are
//! `null` when absent). With [`LineFormat::with_image_column`] (images
//! written beside the lines), CSV gains a last column `image` and JSON an
//! `image` field: the image file's path as written.

use hallmark::Payload;

/// An output format of [`LineFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// The code, or its URL with a prefix, one per line.
    Text,
    /// CSV with a header: `serial,code,part,lot,date,expiry,url`.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Why the fixed fields of a line could not be formatted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The CSV writer refused the part, lot and dates.
    #[error("cannot write the part, lot and dates as CSV: {source}")]
    Csv {
        /// The writer's error.
        #[source]
        source: csv::Error,
    },
}

/// Renders one output line per code of a batch.
///
/// ```
/// use hallmark::{Date, Payload};
/// use hallmark_issuer::lines::{Format, LineFormat};
/// let batch = Payload::new(0, "DRN-2980", "L7", Date::EPOCH)?;
/// let lines = LineFormat::new(Format::Csv, None, &batch)?;
/// assert_eq!(lines.header(), "serial,code,part,lot,date,expiry,url\n");
/// assert_eq!(lines.line(5, "01AB"), "5,01AB,DRN-2980,L7,1970-01-01,,\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct LineFormat {
    format: Format,
    url_prefix: Option<String>,
    /// Pre-escaped part, lot, date and expiry (CSV or JSON).
    fixed: String,
    /// Whether lines end with the path of the code's image.
    image_column: bool,
}

impl LineFormat {
    /// Lines in `format` for the codes of `batch` (its part, lot, date and
    /// expiry; its serial is ignored). `url_prefix`, already checked
    /// (`hallmark_label::data::UrlPrefix`), is put before each code to make
    /// its URL.
    pub fn new(
        format: Format,
        url_prefix: Option<String>,
        batch: &Payload,
    ) -> Result<LineFormat, LineError> {
        let date = batch.date().to_string();
        let expiry = batch.expiry().map(|d| d.to_string());
        let fixed = match format {
            Format::Text => String::new(),
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b','))
                    .from_writer(Vec::new());
                w.write_record([
                    batch.part(),
                    batch.lot(),
                    &date,
                    expiry.as_deref().unwrap_or(""),
                ])
                .map_err(|source| LineError::Csv { source })?;
                let bytes = w.into_inner().map_err(|e| LineError::Csv {
                    source: e.into_error().into(),
                })?;
                // The writer only adds quotes and commas to UTF-8 fields.
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Format::Jsonl => {
                let field = |v: &serde_json::Value| v.to_string();
                format!(
                    "\"part\":{},\"lot\":{},\"date\":{},\"expiry\":{}",
                    field(&batch.part().into()),
                    field(&batch.lot().into()),
                    field(&date.into()),
                    field(&expiry.map_or(serde_json::Value::Null, Into::into)),
                )
            }
        };
        Ok(LineFormat {
            format,
            url_prefix,
            fixed,
            image_column: false,
        })
    }

    /// The same lines with the path of each code's image at the end: a CSV
    /// column `image` after `url`, a JSON field `image`; text lines are
    /// unchanged. Give the path to [`LineFormat::line_with_image`].
    ///
    /// ```
    /// use hallmark::{Date, Payload};
    /// use hallmark_issuer::lines::{Format, LineFormat};
    /// let batch = Payload::new(0, "DRN-2980", "L7", Date::EPOCH)?;
    /// let lines = LineFormat::new(Format::Csv, None, &batch)?.with_image_column();
    /// assert_eq!(lines.header(), "serial,code,part,lot,date,expiry,url,image\n");
    /// assert_eq!(
    ///     lines.line_with_image(5, "01AB", "qr/5.png"),
    ///     "5,01AB,DRN-2980,L7,1970-01-01,,,qr/5.png\n"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_image_column(mut self) -> LineFormat {
        self.image_column = true;
        self
    }

    /// What comes before the first line: the CSV header, else nothing.
    pub fn header(&self) -> &'static str {
        match (self.format, self.image_column) {
            (Format::Csv, false) => "serial,code,part,lot,date,expiry,url\n",
            (Format::Csv, true) => "serial,code,part,lot,date,expiry,url,image\n",
            (Format::Text | Format::Jsonl, _) => "",
        }
    }

    /// The verification URL of `code`, if there is a URL prefix.
    pub fn url(&self, code: &str) -> Option<String> {
        self.url_prefix.as_ref().map(|p| format!("{p}{code}"))
    }

    /// The line of the code `code` with serial `serial`, ending in `\n`
    /// (with [`LineFormat::with_image_column`], an empty image column).
    pub fn line(&self, serial: u64, code: &str) -> String {
        self.line_with_image(serial, code, "")
    }

    /// The line of the code `code` with serial `serial` whose image is at
    /// `image`, ending in `\n`. The path is ignored without
    /// [`LineFormat::with_image_column`] and in text lines.
    pub fn line_with_image(&self, serial: u64, code: &str, image: &str) -> String {
        let mut line = self.bare_line(serial, code);
        if self.image_column {
            match self.format {
                Format::Text => {}
                Format::Csv => {
                    line.pop();
                    line.push(',');
                    line.push_str(&csv_field(image));
                    line.push('\n');
                }
                Format::Jsonl => {
                    // The object's closing brace and the newline.
                    line.truncate(line.len().saturating_sub(2));
                    line.push_str(",\"image\":");
                    line.push_str(&serde_json::Value::from(image).to_string());
                    line.push_str("}\n");
                }
            }
        }
        line
    }

    /// The line without the image column.
    fn bare_line(&self, serial: u64, code: &str) -> String {
        let url = self.url(code);
        match self.format {
            Format::Text => format!("{}\n", url.as_deref().unwrap_or(code)),
            // The code and URL are base32 and QR-alphanumeric: nothing to escape.
            Format::Csv => format!(
                "{serial},{code},{}{}\n",
                self.fixed,
                url.unwrap_or_default()
            ),
            Format::Jsonl => match url {
                Some(url) => format!(
                    "{{\"serial\":{serial},\"code\":\"{code}\",{},\"url\":\"{url}\"}}\n",
                    self.fixed
                ),
                None => format!(
                    "{{\"serial\":{serial},\"code\":\"{code}\",{},\"url\":null}}\n",
                    self.fixed
                ),
            },
        }
    }
}

/// `field` as one CSV field: quoted (quotes doubled) if it holds a comma,
/// a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hallmark::Date;

    use super::*;

    const PREFIX: &str = "HTTPS://HM.EXAMPLE.COM/C/";

    fn batch(part: &str, lot: &str, expiry: Option<Date>) -> Payload {
        let date: Date = "2024-05-01".parse().unwrap();
        let p = Payload::new(0, part, lot, date).unwrap();
        match expiry {
            Some(e) => p.with_expiry(e).unwrap(),
            None => p,
        }
    }

    #[test]
    fn text_is_the_code_or_its_url() {
        let b = batch("P", "L", None);
        let plain = LineFormat::new(Format::Text, None, &b).unwrap();
        assert_eq!(plain.header(), "");
        assert_eq!(plain.line(3, "01AB"), "01AB\n");
        assert_eq!(plain.url("01AB"), None);
        let url = LineFormat::new(Format::Text, Some(PREFIX.into()), &b).unwrap();
        assert_eq!(url.line(3, "01AB"), format!("{PREFIX}01AB\n"));
        assert_eq!(url.url("01AB"), Some(format!("{PREFIX}01AB")));
    }

    #[test]
    fn csv_header_and_url_column() {
        let expiry = "2026-05-01".parse().unwrap();
        let b = batch("DRN-2980", "L7", Some(expiry));
        let lines = LineFormat::new(Format::Csv, Some(PREFIX.into()), &b).unwrap();
        assert_eq!(lines.header(), "serial,code,part,lot,date,expiry,url\n");
        assert_eq!(
            lines.line(42, "01AB"),
            format!("42,01AB,DRN-2980,L7,2024-05-01,2026-05-01,{PREFIX}01AB\n")
        );
        let no_url = LineFormat::new(Format::Csv, None, &batch("P", "L", None)).unwrap();
        assert_eq!(no_url.line(0, "01AB"), "0,01AB,P,L,2024-05-01,,\n");
    }

    #[test]
    fn csv_quotes_a_part_or_lot_with_a_comma_or_quote() {
        let b = batch("A,B", "say \"hi\"", None);
        let lines = LineFormat::new(Format::Csv, None, &b).unwrap();
        assert_eq!(
            lines.line(1, "01AB"),
            "1,01AB,\"A,B\",\"say \"\"hi\"\"\",2024-05-01,,\n"
        );
    }

    #[test]
    fn jsonl_escapes_and_nulls() {
        let b = batch("A\"B", "back\\slash", None);
        let lines = LineFormat::new(Format::Jsonl, None, &b).unwrap();
        assert_eq!(lines.header(), "");
        let line = lines.line(7, "01AB");
        assert_eq!(
            line,
            "{\"serial\":7,\"code\":\"01AB\",\"part\":\"A\\\"B\",\"lot\":\"back\\\\slash\",\
             \"date\":\"2024-05-01\",\"expiry\":null,\"url\":null}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["part"], "A\"B");
        assert_eq!(v["lot"], "back\\slash");
        let expiry = "2026-05-01".parse().unwrap();
        let with_url = LineFormat::new(
            Format::Jsonl,
            Some(PREFIX.into()),
            &batch("P", "L", Some(expiry)),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&with_url.line(7, "01AB")).unwrap();
        assert_eq!(v["url"], format!("{PREFIX}01AB"));
        assert_eq!(v["expiry"], "2026-05-01");
    }

    #[test]
    fn image_column_at_the_end() {
        let b = batch("P", "L", None);
        let csv = LineFormat::new(Format::Csv, Some(PREFIX.into()), &b)
            .unwrap()
            .with_image_column();
        assert_eq!(csv.header(), "serial,code,part,lot,date,expiry,url,image\n");
        assert_eq!(
            csv.line_with_image(9, "01AB", "out/qr/9.png"),
            format!("9,01AB,P,L,2024-05-01,,{PREFIX}01AB,out/qr/9.png\n")
        );
        assert_eq!(
            csv.line_with_image(9, "01AB", "a,b/\"9\".png"),
            format!("9,01AB,P,L,2024-05-01,,{PREFIX}01AB,\"a,b/\"\"9\"\".png\"\n")
        );
        let jsonl = LineFormat::new(Format::Jsonl, None, &b)
            .unwrap()
            .with_image_column();
        let v: serde_json::Value =
            serde_json::from_str(&jsonl.line_with_image(9, "01AB", "qr/9.svg")).unwrap();
        assert_eq!(v["image"], "qr/9.svg");
        assert_eq!(v["url"], serde_json::Value::Null);
        let text = LineFormat::new(Format::Text, None, &b)
            .unwrap()
            .with_image_column();
        assert_eq!(text.line_with_image(9, "01AB", "qr/9.png"), "01AB\n");
        // Without the column, the path is ignored.
        let plain = LineFormat::new(Format::Csv, None, &b).unwrap();
        assert_eq!(
            plain.line_with_image(9, "01AB", "qr/9.png"),
            plain.line(9, "01AB")
        );
    }
}
