//! The products file: how the manufacturer describes its products on the
//! consumer page (`/c/{code}`), keyed by part-number pattern or GTIN.
//!
//! ```toml
//! [[product]]
//! part = "DRN-29*"            # a pattern: `*` matches any run of characters
//! name = "Survey drone DRN-2980"
//! description = "Quad-rotor survey drone, 2.9 kg."
//! image = "https://example.com/img/drn-2980.jpg"
//! link = "https://example.com/drn-2980"
//! register = "https://example.com/register"  # optional: the manufacturer's own registration page
//!
//! [[product]]
//! gtin = "09506000134352"     # GS1 units are matched by GTIN
//! name = "Battery pack"
//! ```
//!
//! The first entry that matches wins (a GS1 unit is matched by its GTIN, then
//! by part pattern). Only a code whose signature verified is ever matched:
//! the page never shows anything a forged code claims. Every text is
//! bounded and free of control and bidirectional-override characters; links
//! are `https://` (or `http://`) URLs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Largest products file, in bytes.
pub const MAX_PRODUCTS_FILE: u64 = 4 * 1024 * 1024;

/// A products file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProductsError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_PRODUCTS_FILE`].
    #[error("{}: larger than {MAX_PRODUCTS_FILE} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Not TOML of the expected shape.
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the line).
        message: String,
    },
    /// An entry's field is not acceptable.
    #[error("{}: product {index}: {field}: {reason}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The entry, 1-based.
        index: usize,
        /// The field.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// One product as the manufacturer describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// A part-number pattern (`*` matches any run of characters).
    #[serde(default)]
    pub part: Option<String>,
    /// A GTIN (14 digits), for GS1 units.
    #[serde(default)]
    pub gtin: Option<String>,
    /// The product's name.
    pub name: String,
    /// A short description.
    #[serde(default)]
    pub description: Option<String>,
    /// An image URL.
    #[serde(default)]
    pub image: Option<String>,
    /// A link to the product's page.
    #[serde(default)]
    pub link: Option<String>,
    /// The manufacturer's own warranty-registration page (else the page
    /// offers this service's form).
    #[serde(default)]
    pub register: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    product: Vec<Product>,
}

/// Every product of a products file, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    products: Vec<Product>,
}

/// Whether `c` may appear in text shown to people: no control characters and
/// no bidirectional formatting (which could reorder what a visitor reads).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl Catalogue {
    /// Reads and checks a products file.
    pub fn load(path: &Path) -> Result<Catalogue, ProductsError> {
        use std::io::Read;
        let read = |source| ProductsError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read)?;
        let mut text = String::new();
        file.take(MAX_PRODUCTS_FILE + 1)
            .read_to_string(&mut text)
            .map_err(read)?;
        if text.len() as u64 > MAX_PRODUCTS_FILE {
            return Err(ProductsError::TooLarge {
                path: path.to_owned(),
            });
        }
        Catalogue::parse(&text).map_err(|e| match e {
            ParseError::Syntax(message) => ProductsError::Syntax {
                path: path.to_owned(),
                message,
            },
            ParseError::Field {
                index,
                field,
                reason,
            } => ProductsError::Field {
                path: path.to_owned(),
                index,
                field,
                reason,
            },
        })
    }

    /// Parses a products file's text.
    fn parse(text: &str) -> Result<Catalogue, ParseError> {
        let file: File = toml::from_str(text).map_err(|e| ParseError::Syntax(syntax(text, &e)))?;
        for (i, p) in file.product.iter().enumerate() {
            check(i + 1, p)?;
        }
        Ok(Catalogue {
            products: file.product,
        })
    }

    /// How many products it describes.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether it describes none.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The product for a verified unit: by GTIN first (GS1 units), then the
    /// first part pattern that matches.
    pub fn find(&self, part: &str, gtin: Option<&str>) -> Option<&Product> {
        gtin.and_then(|g| self.products.iter().find(|p| p.gtin.as_deref() == Some(g)))
            .or_else(|| {
                self.products
                    .iter()
                    .find(|p| p.part.as_deref().is_some_and(|pat| matches(pat, part)))
            })
    }
}

/// The parser's complaint on one line, `line L, column C: what`: the
/// multi-line form (with a drawing of the line) does not survive a one-line
/// error report.
fn syntax(text: &str, e: &toml::de::Error) -> String {
    let at = e.span().map(|span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("line {line}, column {column}: ")
    });
    let what: Vec<&str> = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    format!("{}{}", at.unwrap_or_default(), what.join("; "))
}

enum ParseError {
    Syntax(String),
    Field {
        index: usize,
        field: &'static str,
        reason: String,
    },
}

fn check(index: usize, p: &Product) -> Result<(), ParseError> {
    let bad = |field, reason: &str| ParseError::Field {
        index,
        field,
        reason: reason.to_owned(),
    };
    if p.part.is_none() && p.gtin.is_none() {
        return Err(bad("part", "give a part pattern or a gtin"));
    }
    if let Some(g) = &p.gtin
        && (g.len() != 14 || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("gtin", "14 digits"));
    }
    let texts: [(&'static str, Option<&str>, usize); 4] = [
        ("part", p.part.as_deref(), 64),
        ("name", Some(&p.name), 120),
        ("description", p.description.as_deref(), 600),
        ("gtin", p.gtin.as_deref(), 14),
    ];
    for (field, value, most) in texts {
        let Some(value) = value else { continue };
        if value.trim().is_empty() {
            return Err(bad(field, "empty"));
        }
        if value.chars().count() > most {
            return Err(bad(field, &format!("at most {most} characters")));
        }
        if value.chars().any(is_unsafe_char) {
            return Err(bad(
                field,
                "control or bidirectional formatting characters are not allowed",
            ));
        }
    }
    for (field, url) in [
        ("image", &p.image),
        ("link", &p.link),
        ("register", &p.register),
    ] {
        if let Some(url) = url {
            check_url(url).map_err(|reason| bad(field, reason))?;
        }
    }
    Ok(())
}

/// An `https://` or `http://` URL of printable ASCII, at most 500 bytes,
/// with none of the characters a URL may not hold unencoded (`"`, `<`, `>`,
/// `\`, `^`, `` ` ``, `{`, `|`, `}`): they are not valid in a URL (RFC 3986),
/// so the page, which escapes them, would still not be valid HTML.
fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must be an https:// (or http://) URL")?;
    if rest.is_empty() || url.len() > 500 {
        return Err("must be an https:// URL of at most 500 bytes");
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII only (percent-encode the rest)");
    }
    if url.bytes().any(|b| b"\"<>\\^`{|}".contains(&b)) {
        return Err("must not hold \" < > \\ ^ ` { | } (percent-encode them)");
    }
    Ok(())
}

/// Whether `text` matches `pattern`, where `*` matches any run of
/// characters (also none) and everything else matches itself.
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = rest.get(i + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_globs() {
        assert!(matches("DRN-2980", "DRN-2980"));
        assert!(!matches("DRN-2980", "DRN-29801"));
        assert!(matches("DRN-*", "DRN-2980"));
        assert!(matches("DRN-*", "DRN-"));
        assert!(!matches("DRN-*", "BAT-1"));
        assert!(matches("*-80", "DRN-80"));
        assert!(matches("D*N*0", "DRN-2980"));
        assert!(!matches("D*N*1", "DRN-2980"));
        assert!(matches("*", "anything"));
        assert!(!matches("AB*BA", "ABA"));
    }

    #[test]
    fn the_first_match_wins_and_gtin_comes_first() {
        let c = Catalogue::parse(
            r#"
            [[product]]
            part = "DRN-29*"
            name = "Drone"
            [[product]]
            part = "*"
            name = "Anything"
            [[product]]
            gtin = "09506000134352"
            name = "Battery"
            "#,
        )
        .ok()
        .unwrap();
        assert_eq!(c.find("DRN-2980", None).unwrap().name, "Drone");
        assert_eq!(c.find("BAT", None).unwrap().name, "Anything");
        assert_eq!(
            c.find("BAT", Some("09506000134352")).unwrap().name,
            "Battery"
        );
    }

    #[test]
    fn bad_entries_are_refused_with_their_field() {
        for (text, field) in [
            ("[[product]]\nname = \"x\"", "part"),
            ("[[product]]\ngtin = \"123\"\nname = \"x\"", "gtin"),
            (
                "[[product]]\npart = \"A\"\nname = \"x\"\nlink = \"javascript:alert(1)\"",
                "link",
            ),
            ("[[product]]\npart = \"A\"\nname = \"x\\u202Ey\"", "name"),
            (
                "[[product]]\npart = \"A\"\nname = \"x\"\nimage = \"https://a/b c\"",
                "image",
            ),
            (
                "[[product]]\npart = \"A\"\nname = \"x\"\nimage = \"https://a/b?c=\\\"d\\\"\"",
                "image",
            ),
            (
                "[[product]]\npart = \"A\"\nname = \"x\"\nlink = \"https://a/<b>\"",
                "link",
            ),
        ] {
            match Catalogue::parse(text) {
                Err(ParseError::Field { field: f, .. }) => assert_eq!(f, field, "{text}"),
                _ => panic!("{text} accepted"),
            }
        }
        assert!(matches!(
            Catalogue::parse("[[product]]\npart = \"A\"\nname = \"x\"\ncolour = \"red\""),
            Err(ParseError::Syntax(_))
        ));
        // A syntax error is one line naming where and what.
        match Catalogue::parse("[[product]]\npart = \"A\"\nname = \"x\n") {
            Err(ParseError::Syntax(m)) => {
                assert!(m.starts_with("line 3, column "), "{m}");
                assert!(
                    !m.contains('\n') && m.len() > "line 3, column 8: ".len(),
                    "{m}"
                );
            }
            _ => panic!("an unclosed string accepted"),
        }
    }
}
