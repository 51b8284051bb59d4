//! The page's languages: one catalogue per language in `locales/` (TOML,
//! `key = "text with {placeholders}"`), chosen from `?lang=` or the
//! visitor's `Accept-Language`. English is the reference: every catalogue
//! has its keys and placeholders (a test checks), and a key missing at run
//! time falls back to English. Adding a language: docs/PAGE.md.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Every catalogue: (language tag, TOML text). English first.
const CATALOGUES: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en.toml")),
    ("de", include_str!("../../locales/de.toml")),
    ("fr", include_str!("../../locales/fr.toml")),
];

type Table = HashMap<String, String>;

fn tables() -> &'static Vec<(&'static str, Table)> {
    static TABLES: OnceLock<Vec<(&'static str, Table)>> = OnceLock::new();
    TABLES.get_or_init(|| {
        CATALOGUES
            .iter()
            .map(|(tag, text)| (*tag, toml::from_str::<Table>(text).unwrap_or_default()))
            .collect()
    })
}

/// A language the page speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lang(usize);

impl Lang {
    /// English.
    pub(crate) const EN: Lang = Lang(0);

    /// Its tag (`en`, `de`, `fr`).
    pub(crate) fn tag(self) -> &'static str {
        CATALOGUES.get(self.0).map_or("en", |c| c.0)
    }

    /// Its place in catalogue order (English 0), as [`Lang::all`] yields it.
    pub(crate) fn index(self) -> usize {
        self.0
    }

    /// Every language, in catalogue order.
    pub(crate) fn all() -> impl Iterator<Item = Lang> {
        (0..CATALOGUES.len()).map(Lang)
    }

    /// The language of `?lang=` if the page speaks it, else the best of
    /// `Accept-Language` (by q-value, then order), else English.
    pub(crate) fn choose(query: Option<&str>, accept: Option<&str>) -> Lang {
        if let Some(l) = query.and_then(Lang::find) {
            return l;
        }
        let mut best: Option<(u32, Lang)> = None;
        for item in accept.unwrap_or_default().split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, |q| {
                    q.trim()
                        .parse::<f32>()
                        .map_or(0, |v| (v.clamp(0.0, 1.0) * 1000.0) as u32)
                });
            if q == 0 {
                continue;
            }
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(l) = Lang::find(primary)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map_or(Lang::EN, |(_, l)| l)
    }

    fn find(tag: &str) -> Option<Lang> {
        CATALOGUES
            .iter()
            .position(|(t, _)| t.eq_ignore_ascii_case(tag))
            .map(Lang)
    }

    /// The text of `key`, with `{name}` placeholders replaced by `args`
    /// (values as given: escape them before if they go into HTML).
    pub(crate) fn text(self, key: &str, args: &[(&str, &str)]) -> String {
        let tables = tables();
        let template = tables
            .get(self.0)
            .and_then(|(_, t)| t.get(key))
            .or_else(|| tables.first().and_then(|(_, t)| t.get(key)))
            .map_or(key, String::as_str);
        fill(template, args)
    }

    /// A date as people read it: "2 December 2026".
    pub(crate) fn date(self, date: hallmark::Date) -> String {
        let (y, m, d) = date.to_ymd();
        self.text(
            "date",
            &[
                ("day", &d.to_string()),
                ("month", &self.text(&format!("month_{m}"), &[])),
                ("year", &y.to_string()),
            ],
        )
    }

    /// A month and year: "December 2026".
    pub(crate) fn month_year(self, date: hallmark::Date) -> String {
        let (y, m, _) = date.to_ymd();
        self.text(
            "month_year",
            &[
                ("month", &self.text(&format!("month_{m}"), &[])),
                ("year", &y.to_string()),
            ],
        )
    }

    /// An instant (seconds since 1970) as people read it, in UTC.
    pub(crate) fn time(self, secs: u64) -> String {
        let date = hallmark::Date::from_days(secs / 86_400).unwrap_or(hallmark::Date::MAX);
        let of_day = secs % 86_400;
        self.text(
            "time",
            &[
                ("date", &self.date(date)),
                ("hour", &format!("{:02}", of_day / 3600)),
                ("minute", &format!("{:02}", of_day % 3600 / 60)),
            ],
        )
    }
}

/// `template` with each `{name}` of `args` replaced by its value, in one
/// pass: a value is never searched for placeholders itself (a product's
/// text with `{place}` in it stays as written). Unknown names stay as they
/// are.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    if args.is_empty() {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (before, tail) = rest.split_at(open);
        out.push_str(before);
        let value = tail.find('}').and_then(|close| {
            let name = tail.get(1..close)?;
            let (_, value) = args.iter().find(|(n, _)| *n == name)?;
            Some((*value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = tail.get(close + 1..).unwrap_or("");
            }
            None => {
                out.push('{');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let args = [("a", "{b}"), ("b", "x")];
        assert_eq!(fill("{a} and {b}", &args), "{b} and x");
        assert_eq!(fill("{unknown} {a", &args), "{unknown} {a");
        assert_eq!(fill("no args {a}", &[]), "no args {a}");
        assert_eq!(fill("é{b}é}", &args), "éxé}");
    }

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_catalogue_has_the_reference_keys_and_placeholders() {
        let tables = tables();
        let (_, en) = &tables[0];
        assert!(en.len() > 50, "English parsed");
        for (tag, t) in tables {
            assert_eq!(t.len(), en.len(), "{tag}: parsed, with as many keys as en");
            for (k, v) in en {
                let other = t.get(k).unwrap_or_else(|| panic!("{tag} lacks {k}"));
                assert_eq!(placeholders(v), placeholders(other), "{tag} {k}");
            }
        }
    }

    #[test]
    fn the_language_follows_the_query_then_accept_language() {
        let tag = |q, a| Lang::choose(q, a).tag();
        assert_eq!(tag(None, None), "en");
        assert_eq!(tag(None, Some("de-CH,de;q=0.9,en;q=0.8")), "de");
        assert_eq!(tag(None, Some("ja,fr;q=0.5,de;q=0.4")), "fr");
        assert_eq!(tag(None, Some("en;q=0.2, FR")), "fr");
        assert_eq!(tag(None, Some("de;q=0")), "en");
        assert_eq!(tag(Some("de"), Some("fr")), "de");
        assert_eq!(tag(Some("xx"), Some("fr")), "fr");
        assert_eq!(tag(None, Some(";;;,,q=,de;q=abc")), "en");
    }

    #[test]
    fn dates_read_as_words() {
        let d: hallmark::Date = "2026-12-02".parse().unwrap();
        let de = Lang::choose(Some("de"), None);
        assert_eq!(Lang::EN.date(d), "2 December 2026");
        assert_eq!(de.date(d), "2. Dezember 2026");
        assert_eq!(Lang::EN.month_year(d), "December 2026");
        assert_eq!(
            Lang::EN.time(u64::from(d.days()) * 86_400 + 3600 * 14 + 5 * 60 + 9),
            "2 December 2026, 14:05 UTC"
        );
    }
}
