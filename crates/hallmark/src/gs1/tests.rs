use super::lint::{check_cset, lint};
use proptest::prelude::*;

use super::lint::check_digit;
use super::table::{AI_TABLE, Cset, Linter, lookup};
use super::*;

#[path = "lint_cases.rs"]
mod lint_cases;

fn linter(name: &str) -> Option<Linter> {
    Some(match name {
        "Couponcode" => Linter::Couponcode,
        "Couponposoffer" => Linter::Couponposoffer,
        "Csum" => Linter::Csum,
        "Csumalpha" => Linter::Csumalpha,
        "Gcppos1" => Linter::Gcppos1,
        "Gcppos2" => Linter::Gcppos2,
        "Hasnondigit" => Linter::Hasnondigit,
        "Hh" => Linter::Hh,
        "Hhmi" => Linter::Hhmi,
        "Hyphen" => Linter::Hyphen,
        "Iban" => Linter::Iban,
        "Importeridx" => Linter::Importeridx,
        "Iso3166" => Linter::Iso3166,
        "Iso3166999" => Linter::Iso3166999,
        "Iso3166Alpha2" => Linter::Iso3166Alpha2,
        "Iso4217" => Linter::Iso4217,
        "Iso5218" => Linter::Iso5218,
        "Latitude" => Linter::Latitude,
        "Longitude" => Linter::Longitude,
        "Mediatype" => Linter::Mediatype,
        "Mi" => Linter::Mi,
        "Nonzero" => Linter::Nonzero,
        "Nozeroprefix" => Linter::Nozeroprefix,
        "Packagetype" => Linter::Packagetype,
        "Pcenc" => Linter::Pcenc,
        "Pieceoftotal" => Linter::Pieceoftotal,
        "Posinseqslash" => Linter::Posinseqslash,
        "Ss" => Linter::Ss,
        "Winding" => Linter::Winding,
        "Yesno" => Linter::Yesno,
        "Yymmd0" => Linter::Yymmd0,
        "Yymmdd" => Linter::Yymmdd,
        "Yyyymmd0" => Linter::Yyyymmd0,
        "Yyyymmdd" => Linter::Yyyymmdd,
        "Zero" => Linter::Zero,
        _ => return None,
    })
}

#[test]
fn linters_agree_with_the_reference_test_cases() {
    let mut failures = Vec::new();
    for &(name, data, passes) in lint_cases::LINT_CASES {
        let got = match (name, linter(name)) {
            (_, Some(l)) => lint(l, data.as_bytes()),
            ("N", _) => check_cset(Cset::N, data.as_bytes()),
            ("X", _) => check_cset(Cset::X, data.as_bytes()),
            ("Y", _) => check_cset(Cset::Y, data.as_bytes()),
            ("Z", _) => check_cset(Cset::Z, data.as_bytes()),
            _ => panic!("unknown check {name}"),
        };
        if got.is_ok() != passes {
            failures.push(format!(
                "{name} {data:?}: expected pass={passes}, got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `tests/vectors/gs1/parse.json`: each case's input parsed, its elements or
/// error kind and AI compared.
#[test]
fn parse_vectors() {
    let text = include_str!("../../../../tests/vectors/gs1/parse.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 300);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = case["input"].as_str().unwrap();
        let expect = &case["expect"];
        match (Gs1Data::parse_gs1(input), expect.get("elements")) {
            (Ok(data), Some(want)) => {
                let got: Vec<[&str; 2]> = data.elements().map(|(a, v)| [a, v]).collect();
                let want: Vec<[&str; 2]> = want
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| [p[0].as_str().unwrap(), p[1].as_str().unwrap()])
                    .collect();
                if got != want {
                    failures.push(format!("{name}: got {got:?}"));
                }
            }
            (Err(e), None) => {
                if e.kind() != expect["error"].as_str().unwrap()
                    || e.ai() != expect.get("ai").and_then(|a| a.as_str())
                {
                    failures.push(format!("{name}: got {} {:?}: {e}", e.kind(), e.ai()));
                }
            }
            (got, _) => failures.push(format!("{name}: got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_is_generated_from_the_whole_dictionary() {
    // Ranges expanded: 3100-3105 is six AIs, 91-99 nine.
    assert!(AI_TABLE.windows(2).all(|w| w[0].ai < w[1].ai));
    for ai in ["3100", "3105", "91", "99", "8030", "00", "7040", "8112"] {
        assert!(lookup(ai).is_some(), "{ai}");
    }
    assert!(lookup("3106").is_none());
    let e = lookup("01").unwrap();
    assert!(e.predefined && e.dl_attr);
    assert_eq!(e.dlpkey, Some(&[&["22", "10", "21"][..], &["235"][..]][..]));
    assert_eq!(lookup("8030").unwrap().len_range(), (1, 90));
    assert_eq!(lookup("423").unwrap().len_range(), (3, 15));
    assert!(!lookup("21").unwrap().dl_attr);
    // Every line of the dictionary is in the table.
    let lines = include_str!("../../data/gs1-syntax-dictionary.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(lines, 224);
    assert_eq!(AI_TABLE.len(), 541);
    assert!(is_predefined_length("17") && !is_predefined_length("10"));
    assert_eq!(ai_info("10").unwrap().title(), "BATCH/LOT");
}

#[test]
fn outputs() {
    let d = Gs1Data::from_elements([
        ("01", "09506000134352"),
        ("17", "251231"),
        ("10", "A(B%/"),
        ("21", "S1"),
    ])
    .unwrap();
    assert_eq!(
        d.to_element_string(Separator::Gs),
        "01095060001343521725123110A(B%/\u{1d}21S1"
    );
    assert_eq!(
        d.to_element_string(Separator::Caret),
        "^01095060001343521725123110A(B%/^21S1"
    );
    assert_eq!(d.to_hri(), "(01)09506000134352(17)251231(10)A\\(B%/(21)S1");
    assert_eq!(
        d.to_digital_link("https://id.example.com/").unwrap(),
        "https://id.example.com/01/09506000134352/10/A%28B%25%2F/21/S1?17=251231"
    );
    // The first primary key goes in the path, a second one in the query.
    let d =
        Gs1Data::from_elements([("8004", "9520614141234567"), ("01", "09520123456788")]).unwrap();
    assert_eq!(
        d.to_digital_link("https://a").unwrap(),
        "https://a/8004/9520614141234567?01=09520123456788"
    );
    // No primary key, and an AI that may not be a query attribute.
    let d = Gs1Data::from_elements([("400", "PO1")]).unwrap();
    assert!(d.to_digital_link("https://a").is_err());
    let d = Gs1Data::from_elements([("01", "09506000134352"), ("235", "T1"), ("22", "C")]).unwrap();
    let err = d.to_digital_link("https://a").unwrap_err();
    assert!(err.to_string().contains("AI (235)"), "{err}");
    assert!(
        Gs1Data::from_elements([("01", "09506000134352")])
            .unwrap()
            .to_digital_link("ftp://a")
            .is_err()
    );
}

#[test]
fn from_elements_validates_like_parse() {
    let err = |r: Result<Gs1Data, crate::Error>| match r.unwrap_err() {
        crate::Error::Gs1(e) => (e.kind(), e.ai().map(str::to_owned)),
        other => panic!("{other}"),
    };
    assert_eq!(
        err(Gs1Data::from_elements([("01", "09506000134353")])),
        ("invalid-ai-value", Some("01".into()))
    );
    assert_eq!(
        err(Gs1Data::from_elements([("21", "X")])),
        ("missing-ai", Some("01 or 03 or 8006".into()))
    );
    assert_eq!(
        err(Gs1Data::from_elements([("89", "X")])),
        ("unknown-ai", Some("89".into()))
    );
    assert_eq!(
        err(Gs1Data::from_elements([
            ("01", "09506000134352"),
            ("21", "A"),
            ("21", "B")
        ])),
        ("duplicate-ai", Some("21".into()))
    );
    let many: Vec<(String, &str)> = (0..65).map(|i| (format!("{}", 91 + i % 9), "X")).collect();
    assert!(
        Gs1Data::from_elements(many).is_ok(),
        "repeats with the same value are one AI each"
    );
    let d = Gs1Data::from_elements([("01", "09506000134352"), ("21", "A"), ("21", "A")]).unwrap();
    assert_eq!(d.elements().count(), 2);
}

#[test]
fn dispatch_between_v1_and_gs1() {
    for gs1 in [
        "]d2010950600013435221X",
        "]Q3010950600013435221X",
        "]C1010950600013435221X",
        "]e00109506000134352",
        "]J1010950600013435221X",
        "^010950600013435221X",
        "(01)09506000134352",
        "\u{1d}010950600013435221X",
        "  ]d2010950600013435221X\r\n",
        "https://id.example.com/01/09506000134352",
        "http://x/a/b/01/9506000134352?17=251231",
        "HTTPS://X/00/006141411234567890",
        "https://x/gtin/09506000134352/ser/1",
        "https://x/8004/9520614141234567",
        "https://x/414/9520123456788/254/1",
    ] {
        assert!(is_gs1_input(gs1), "{gs1:?}");
    }
    for v1 in [
        "0630-HCDQ-MG01-M1TV-SMAG",
        "0630hcdqmg01m1tvsmag",
        "]Q10630HCDQMG01",
        "]d10630HCDQMG01",
        "HTTPS://HALLMARK.EXAMPLE/C/0630HCDQMG01M1TVSMAG",
        "https://verify.example/c/0630hcdqmg01",
        // A path segment that happens to be a key AI, but not followed by a value of that key.
        "https://x/01/0630HCDQMG01",
        "https://x/00/123",
        "",
    ] {
        assert!(!is_gs1_input(v1), "{v1:?}");
    }
}

#[test]
fn a_v1_code_is_longer_than_any_gs1_value() {
    // The dispatch rule's argument (FORMAT.md §20.1): the last segment of a
    // v1 URL can never be a Digital Link value.
    let shortest_v1_text = (crate::MIN_CODE_BYTES * 8).div_ceil(5);
    let longest_value = AI_TABLE.iter().map(|e| e.len_range().1).max().unwrap();
    assert_eq!(longest_value, 90);
    assert!(shortest_v1_text > longest_value);
}

#[test]
fn no_panic_on_edge_inputs() {
    for s in [
        "]d2",
        "]d2\u{1d}",
        "^",
        "(",
        "()",
        "(0",
        "(01",
        "https://",
        "https://a/",
        "https://a/01/",
        "https://a/01/%",
        "https://a/01/%zz",
        "https://a/01/%C3",
        "]d2€",
        "(01)€",
        "\u{1d}\u{1d}",
    ] {
        assert!(Gs1Data::parse(s).is_err(), "{s:?}");
    }
}

fn cset82() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(
            "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
                .chars()
                .collect::<Vec<_>>(),
        ),
        1..=20,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|body| format!("{body}{}", check_digit(body.as_bytes())))
}

fn data() -> impl Strategy<Value = Gs1Data> {
    (
        gtin(),
        proptest::option::of(cset82()),
        proptest::option::of(cset82()),
        proptest::option::of((0u32..100, 1u32..=12, 0u32..=28)),
        proptest::option::of("[A-Za-z0-9_-]{1,90}"),
        proptest::option::of("[0-9]{6}"),
        proptest::option::of(cset82()),
        proptest::sample::subsequence((0..7).collect::<Vec<usize>>(), 0..=7),
    )
        .prop_map(|(g, lot, ser, exp, sig, weight, internal, order)| {
            let mut v: Vec<(String, String)> = vec![("01".into(), g)];
            let mut rest: Vec<Option<(String, String)>> = vec![
                lot.map(|l| ("10".into(), l)),
                ser.clone().map(|s| ("21".into(), s)),
                exp.map(|(y, m, d)| ("17".into(), format!("{y:02}{m:02}{d:02}"))),
                None,
                weight.map(|w| ("3103".into(), w)),
                internal.map(|i| ("91".into(), i)),
                None,
            ];
            for i in order {
                if let Some(e) = rest.get_mut(i).and_then(Option::take) {
                    v.push(e);
                }
            }
            // 8030 needs 01 with 21.
            if let Some(s) = sig.filter(|_| v.iter().any(|(a, _)| a == "21")) {
                v.push(("8030".into(), s));
            }
            Gs1Data::from_elements(v).unwrap()
        })
}

fn sorted(d: &Gs1Data) -> Vec<(String, String)> {
    let mut v: Vec<_> = d
        .elements()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    v.sort();
    v
}

proptest! {
    #[test]
    fn every_form_round_trips(d in data()) {
        let gs = d.to_element_string(Separator::Gs);
        prop_assert_eq!(&Gs1Data::parse_gs1(&format!("]d2{gs}")).unwrap(), &d);
        prop_assert_eq!(&Gs1Data::parse_gs1(&format!("]Q3\u{1d}{gs}")).unwrap(), &d);
        prop_assert_eq!(&Gs1Data::from_element_string(&gs).unwrap(), &d);
        prop_assert_eq!(&Gs1Data::parse_gs1(&d.to_element_string(Separator::Caret)).unwrap(), &d);
        prop_assert_eq!(&Gs1Data::parse_gs1(&d.to_hri()).unwrap(), &d);
        let dl = d.to_digital_link("https://id.example.com/x").unwrap();
        prop_assert!(is_gs1_input(&dl));
        prop_assert_eq!(sorted(&Gs1Data::parse_gs1(&dl).unwrap()), sorted(&d));
    }

    #[test]
    fn never_panics(s in "\\PC{0,80}", prefix in proptest::sample::select(vec!["]d2", "^", "(", "https://a/01/", ""])) {
        let input = format!("{prefix}{s}");
        let _ = is_gs1_input(&input);
        if let Ok(d) = Gs1Data::parse_gs1(&input) {
            prop_assert_eq!(&Gs1Data::parse_gs1(&d.to_hri()).unwrap(), &d);
        }
    }
}

#[test]
fn a_one_character_value_is_one_character_long() {
    // A GTIN is 14 digits: one digit is "1 character long", not "1 characters".
    let err = Gs1Data::from_elements([("01", "0")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("1 character long; at least 14 needed"),
        "{err}"
    );
    let err = Gs1Data::from_elements([("01", "01")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("2 characters long; at least 14 needed"),
        "{err}"
    );
}

#[test]
fn a_bad_character_in_a_value_is_named_by_its_character_position() {
    assert_eq!(
        check_cset(Cset::N, b"12a4"),
        Err("'a' at character 3 is not a digit".to_owned())
    );
}
