use super::lint::{check_cset, lint};
use super::table::{Cset, Linter};

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
