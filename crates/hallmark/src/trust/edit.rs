//! Editing a trust store file's text: removing one entry while keeping
//! every other byte (comments included), as [`TrustStore::append_to_toml`]
//! adds one.

use serde::Deserialize;

use super::{TrustStore, TrustedKey, line_of};
use crate::cert::LineCertificate;
use crate::error::Error;
use crate::key::PublicKey;

/// The parts of a trust store file an edit needs: where each entry is.
#[derive(Deserialize)]
struct Spans {
    #[serde(default)]
    key: Vec<Named>,
    #[serde(default)]
    root: Vec<Named>,
    #[serde(default)]
    certificate: Vec<Certificate>,
}

#[derive(Deserialize)]
struct Named {
    name: toml::Spanned<String>,
    public_key: String,
}

#[derive(Deserialize)]
struct Certificate {
    data: toml::Spanned<String>,
}

/// Whether an entry named `name` with key `kid` is the one `which` names: its
/// name, or its key id (8 hex digits, any case).
fn names(which: &str, name: &str, kid: crate::KeyId) -> bool {
    name == which || kid.to_string().eq_ignore_ascii_case(which)
}

impl TrustStore {
    /// The text of a trust store file with the entry `which` removed: a key,
    /// a root or a certificate, named by its name or its key id (8 hex
    /// digits). Every other byte of `existing` is kept; the comment lines
    /// just above the entry's table go with it. Returns `None` if no entry
    /// is `which` (the caller says so), else the new text and the entry
    /// removed. The result is checked by loading it: removing a root that
    /// certificates of the file need is refused with the error loading gives.
    ///
    /// ```
    /// use hallmark::{PublicKey, TrustStore, TrustedKey};
    /// let key = PublicKey::from_hex("0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee")?;
    /// let text = TrustStore::append_to_toml(None, TrustedKey::new("demo", key, None, None)?)?;
    /// let (rest, removed) = TrustStore::remove_from_toml(&text, "demo")?.expect("listed");
    /// assert_eq!(removed.name(), "demo");
    /// assert!(TrustStore::from_toml(&rest)?.keys().is_empty());
    /// assert!(TrustStore::remove_from_toml(&rest, "demo")?.is_none());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn remove_from_toml(
        existing: &str,
        which: &str,
    ) -> Result<Option<(String, TrustedKey)>, Error> {
        let store = TrustStore::from_toml(existing)?;
        // from_toml accepted it: the same text parses here (a byte order mark
        // at the start is skipped as there).
        let body = existing.strip_prefix('\u{feff}').unwrap_or(existing);
        let offset = existing.len() - body.len();
        let spans: Spans = toml::from_str(body).map_err(|source: toml::de::Error| {
            crate::error::TrustStoreError::Syntax {
                line: source.span().map(|span| line_of(body, span.start)),
                source,
            }
        })?;
        let mut found = None;
        for entry in spans.root.iter().chain(&spans.key) {
            let Ok(key) = PublicKey::from_hex(&entry.public_key) else {
                continue;
            };
            if names(which, entry.name.get_ref(), key.kid()) {
                found = Some((entry.name.span().start, key.kid()));
                break;
            }
        }
        if found.is_none() {
            for entry in &spans.certificate {
                let Ok(bytes) = hex::decode(entry.data.get_ref().trim()) else {
                    continue;
                };
                let Ok((_, cert)) = LineCertificate::decode_unverified(&bytes) else {
                    continue;
                };
                if names(which, &cert.name, cert.subject.kid()) {
                    found = Some((entry.data.span().start, cert.subject.kid()));
                    break;
                }
            }
        }
        let Some((at, kid)) = found else {
            return Ok(None);
        };
        let Some(removed) = store
            .keys
            .iter()
            .chain(&store.roots)
            .find(|k| k.kid() == kid)
            .cloned()
        else {
            return Ok(None);
        };
        let text = without_table(body, at);
        let rest = TrustStore::from_toml(&text)?;
        let before = store.keys.len() + store.roots.len();
        if rest.keys.len() + rest.roots.len() + 1 != before || rest.get(kid).is_some() {
            // The table was not where its spans said: refuse rather than
            // write a store that lost something else.
            return Err(crate::error::TrustStoreError::Syntax {
                line: Some(line_of(body, at)),
                source: serde::de::Error::custom("could not remove the entry's table alone"),
            }
            .into());
        }
        Ok(Some((
            format!("{}{text}", existing.get(..offset).unwrap_or_default()),
            removed,
        )))
    }
}

/// Whether a line starts a table (`[[key]]`, `[root]`, ...).
fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// Whether a line is a comment.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// `text` without the table holding byte `at`: from its header (and the
/// comment lines just above it) to the next table's (less the comment lines
/// just above that one, which are the next table's).
fn without_table(text: &str, at: usize) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut start_of = Vec::with_capacity(lines.len());
    let mut pos = 0;
    for l in &lines {
        start_of.push(pos);
        pos += l.len();
    }
    let line = start_of.iter().rposition(|&s| s <= at).unwrap_or_default();
    let is = |i: usize, f: fn(&str) -> bool| lines.get(i).is_some_and(|l| f(l));
    let mut first = line;
    while first > 0 && !is(first, is_header) {
        first -= 1;
    }
    while first > 0 && is(first - 1, is_comment) {
        first -= 1;
    }
    let mut end = line + 1;
    while end < lines.len() && !is(end, is_header) {
        end += 1;
    }
    if end < lines.len() {
        while end > line + 1 && is(end - 1, is_comment) {
            end -= 1;
        }
    }
    lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < first || *i >= end)
        .map(|(_, l)| *l)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        PublicKey::from_hex(&hex::encode(signing.verifying_key().to_bytes())).unwrap()
    }

    #[test]
    fn removes_one_entry_and_keeps_the_rest_byte_for_byte() {
        let mut text = "# my store\n".to_owned();
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            let entry = TrustedKey::new(name, key(i as u8 + 1), None, None).unwrap();
            text = TrustStore::append_to_toml(Some(&text), entry).unwrap();
            text.push_str(&format!("# after {name}\n"));
        }
        let b = key(2).kid();
        let (rest, removed) = TrustStore::remove_from_toml(&text, &b.to_string().to_uppercase())
            .unwrap()
            .unwrap();
        assert_eq!(removed.name(), "b");
        let store = TrustStore::from_toml(&rest).unwrap();
        let left: Vec<&str> = store.keys().iter().map(|k| k.name()).collect();
        assert_eq!(left, ["a", "c"]);
        assert!(rest.starts_with("# my store\n"));
        assert!(rest.contains("# after a\n") && rest.contains("# after c\n"));
        // The comment between b's table and the next one went with it.
        assert!(!rest.contains("# after b"), "{rest}");
        let (rest, _) = TrustStore::remove_from_toml(&rest, "c").unwrap().unwrap();
        let (rest, _) = TrustStore::remove_from_toml(&rest, "a").unwrap().unwrap();
        assert!(TrustStore::from_toml(&rest).unwrap().keys().is_empty());
        assert!(TrustStore::remove_from_toml(&rest, "a").unwrap().is_none());
    }

    #[test]
    fn removes_a_certificate_by_name_and_refuses_a_root_it_needs() {
        use crate::testkit::{Key, cert, certify};
        let (root, line) = (Key::new(1), Key::new(2));
        let bytes = certify(&root, &cert(&line, "line3", crate::Usage::CODES));
        let root_entry = TrustedKey::new("acme-root", root.public(), None, None).unwrap();
        let text = TrustStore::append_root_to_toml(None, root_entry).unwrap();
        let text = TrustStore::append_certificate_to_toml(Some(&text), &bytes).unwrap();
        // The root is still needed by the certificate: refused, with why.
        assert!(TrustStore::remove_from_toml(&text, "acme-root").is_err());
        let (rest, removed) = TrustStore::remove_from_toml(&text, "line3")
            .unwrap()
            .unwrap();
        assert_eq!(removed.kid(), line.kid());
        assert!(
            !rest.contains("[[certificate]]") && !rest.contains("# certificate"),
            "{rest}"
        );
        let store = TrustStore::from_toml(&rest).unwrap();
        assert_eq!((store.roots().len(), store.keys().len()), (1, 0));
        let (rest, _) = TrustStore::remove_from_toml(&rest, &root.kid().to_string())
            .unwrap()
            .unwrap();
        assert!(TrustStore::from_toml(&rest).unwrap().roots().is_empty());
    }
}
