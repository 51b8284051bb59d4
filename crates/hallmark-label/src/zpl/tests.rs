//! The labels' byte layout, against the commands of Zebra's ZPL II
//! Programming Guide: one `^XA`/`^XZ` pair, every `^FD` closed by `^FS`,
//! `^BQ`/`^BX` parameters in range, fields inside `^PW` x `^LL`, `^FH`
//! escapes for text and no command prefix in any field's data. (Rendering
//! by a ZPL renderer and decoding the symbol: tests/e2e/manufacturer.rs.)

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;

const CODE: &str = "01HMABCDEFGHJKMNPQRSTVWXYZ0123456789ABCDEFGHJKMNPQRSTVWXYZ0123456789\
                    ABCDEFGHJKMNPQRSTVWXYZ0123456789ABCDEFGHJKMNPQRSTVWXYZ0123456789ABCDEFGHJKMNPQRS";
const URL: &str = "HTTPS://HM.EXAMPLE.COM/C/01HMABCDEF";

/// One command: its two-character name after `^` and its parameters.
#[derive(Debug)]
struct Command {
    name: String,
    params: String,
}

/// Splits a label into its commands (every `^` starts one: field data
/// holds none, which [`no_prefix_in_data`] checks).
fn commands(zpl: &str) -> Vec<Command> {
    assert!(zpl.ends_with('\n') && !zpl[..zpl.len() - 1].contains('\n'));
    assert!(!zpl.contains('~'), "no control command or raw tilde: {zpl}");
    let body = zpl.trim_end_matches('\n');
    assert!(body.starts_with('^'), "{zpl}");
    body.split('^')
        .skip(1)
        .map(|c| Command {
            name: c.get(..2).unwrap().to_owned(),
            params: c.get(2..).unwrap().to_owned(),
        })
        .collect()
}

fn numbers(params: &str) -> Vec<u64> {
    params.split(',').map(|n| n.parse().unwrap()).collect()
}

/// What a field holds, `^FH` escapes undone.
fn unescape(data: &str) -> String {
    let mut out = String::new();
    let mut rest = data;
    while let Some(i) = rest.find('_') {
        out.push_str(&rest[..i]);
        let hex = &rest[i + 1..i + 3];
        out.push(u8::from_str_radix(hex, 16).unwrap() as char);
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

/// A label's fields: (`^FO` x, y, the command before `^FD`, `^FH` given, data).
struct Parsed {
    width: u64,
    length: u64,
    fields: Vec<(u64, u64, String, bool, String)>,
}

/// Checks the structure every label must have, and returns its fields.
fn parse(zpl: &str) -> Parsed {
    let cmds = commands(zpl);
    assert_eq!(cmds.first().unwrap().name, "XA");
    assert_eq!(cmds.last().unwrap().name, "XZ");
    assert_eq!(cmds.iter().filter(|c| c.name == "XA").count(), 1);
    assert_eq!(cmds.iter().filter(|c| c.name == "XZ").count(), 1);
    let find = |name: &str| {
        let found: Vec<_> = cmds.iter().filter(|c| c.name == name).collect();
        assert_eq!(found.len(), 1, "one {name}: {zpl}");
        numbers(&found[0].params)
    };
    let width = find("PW")[0];
    let length = find("LL")[0];
    assert!((2..=32_000).contains(&width) && (1..=32_000).contains(&length));
    assert_eq!(find("LH"), [0, 0]);

    // Fields: ^FO, then format commands, ^FD, ^FS; nothing after ^FS but
    // the next ^FO or ^XZ.
    let mut fields = Vec::new();
    let mut i = 0;
    while i < cmds.len() {
        if cmds[i].name != "FO" {
            assert!(
                ["XA", "PW", "LL", "LH", "XZ"].contains(&cmds[i].name.as_str()),
                "{:?} outside a field: {zpl}",
                cmds[i]
            );
            i += 1;
            continue;
        }
        let at = numbers(&cmds[i].params);
        let (x, y) = (at[0], at[1]);
        assert!(
            x < width && y < length,
            "field at {x},{y} outside the label"
        );
        let kind = format!("{}{}", cmds[i + 1].name, cmds[i + 1].params);
        let mut j = i + 2;
        let hex = cmds[j].name == "FH";
        if hex {
            assert_eq!(cmds[j].params, "", "^FH with the default indicator _");
            j += 1;
        }
        assert_eq!(cmds[j].name, "FD", "{zpl}");
        assert!(cmds[j].params.len() <= 3072, "^FD holds at most 3072 bytes");
        assert_eq!(cmds[j + 1].name, "FS", "each ^FD closed by ^FS: {zpl}");
        assert_eq!(cmds[j + 1].params, "");
        fields.push((x, y, kind, hex, cmds[j].params.clone()));
        i = j + 2;
    }
    Parsed {
        width,
        length,
        fields,
    }
}

fn layout(symbol: Symbol, dpi: u32, dots: u32) -> Layout {
    Layout::new(symbol, dpi, dots).unwrap()
}

#[test]
fn qr_label_layout() {
    let l = layout(Symbol::Qr, 203, 4);
    let zpl = label(URL, &["DRN-2980 LOT L7 SN 5"], &group_code(CODE), &l).unwrap();
    let parsed = parse(&zpl);
    let (x, y, kind, hex, data) = &parsed.fields[0];
    // Model 2, 4 dots per module; error correction M, manual alphanumeric.
    assert_eq!(kind, "BQN,2,4");
    assert!(!hex);
    assert_eq!(data, &format!("MM,A{URL}"));
    // The quiet zone: 4 modules of 4 dots before the symbol.
    assert_eq!((*x, *y), (16, 16));
    let matrix = Matrix::encode(URL, Symbol::Qr).unwrap();
    let side = matrix.width() as u64 * 4;
    // Quiet zone right of and below the symbol too, and 2 inches wide.
    assert_eq!(parsed.width, 406);
    assert!(parsed.width >= 16 + side + 16);

    // The text: below the symbol's quiet zone, font 0, ^FH, and wrapped
    // lines that give back the caller's line and the grouped code.
    let text = &parsed.fields[1..];
    let mut last_y = 16 + side + 16 - 1;
    let mut code_text = Vec::new();
    for (i, (tx, ty, kind, hex, data)) in text.iter().enumerate() {
        assert_eq!(*tx, 16);
        assert!(*ty > last_y, "lines go down the label");
        last_y = *ty;
        assert_eq!(kind, "A0N,20,15");
        assert!(hex);
        let line = unescape(data);
        // Font 0 is proportional; 15 dots is wider than any character.
        assert!(16 + 15 * line.len() as u64 <= parsed.width - 16, "{line}");
        if i == 0 {
            assert_eq!(line, "DRN-2980 LOT L7 SN 5");
        } else {
            code_text.push(line);
        }
    }
    assert!(last_y + 20 <= parsed.length);
    assert_eq!(code_text.join(" "), group_code(CODE));
    assert_eq!(code_text.join("").replace(' ', ""), CODE);
}

#[test]
fn datamatrix_label_gives_the_encoder_size() {
    let l = layout(Symbol::DataMatrix, 300, 6);
    let zpl = label(CODE, &[], &group_code(CODE), &l).unwrap();
    let parsed = parse(&zpl);
    let (x, _, kind, _, data) = &parsed.fields[0];
    let m = Matrix::encode(CODE, Symbol::DataMatrix).unwrap();
    assert_eq!(kind, &format!("BXN,6,200,{},{}", m.width(), m.height()));
    assert_eq!(data, CODE);
    // 1/16 inch at 300 dpi is more than the 1-module quiet zone.
    assert_eq!(*x, 18);
    assert_eq!(parsed.width, 600);
}

#[test]
fn text_escapes_command_prefixes() {
    let l = layout(Symbol::Qr, 203, 3);
    let zpl = label(URL, &["P^XZ~JA_1"], "01AB", &l).unwrap();
    let parsed = parse(&zpl);
    let (_, _, _, hex, data) = &parsed.fields[1];
    assert!(hex);
    assert_eq!(data, "P_5EXZ_7EJA_5F1");
    assert_eq!(unescape(data), "P^XZ~JA_1");
}

#[test]
fn lowercase_data_uses_automatic_mode() {
    let l = layout(Symbol::Qr, 203, 4);
    let zpl = label("https://x.example/c/01AB", &[], "01AB", &l).unwrap();
    assert!(
        zpl.contains("^BQN,2,4^FDMA,https://x.example/c/01AB^FS"),
        "{zpl}"
    );
}

#[test]
fn refusals() {
    let l = layout(Symbol::Qr, 203, 4);
    assert!(matches!(
        label("01^XZ", &[], "", &l),
        Err(ZplError::ReservedCharacter {
            ch: '^',
            position: 3
        })
    ));
    assert!(matches!(
        label("~JA", &[], "", &l),
        Err(ZplError::ReservedCharacter {
            ch: '~',
            position: 1
        })
    ));
    assert!(matches!(
        label("01AB", &["ok", "caf\u{e9}"], "", &l),
        Err(ZplError::UnsupportedText {
            ch: '\u{e9}',
            line: 2,
            position: 4
        })
    ));
    assert!(matches!(
        label("", &[], "", &l),
        Err(ZplError::Symbol(SymbolError::Empty))
    ));
    assert!(matches!(
        Layout::new(Symbol::Qr, 203, 11),
        Err(ZplError::ModuleSize { max: 10, .. })
    ));
    assert!(Layout::new(Symbol::DataMatrix, 203, 11).is_ok());
    assert!(matches!(
        Layout::new(Symbol::Qr, 203, 0),
        Err(ZplError::ModuleSize { .. })
    ));
    assert!(matches!(
        Layout::new(Symbol::Qr, 1200, 4),
        Err(ZplError::Dpi { dpi: 1200 })
    ));
    let huge = layout(Symbol::DataMatrix, 600, 32);
    let many = vec!["a line"; 500];
    assert!(matches!(
        label(CODE, &many, "", &huge),
        Err(ZplError::TooLarge { .. })
    ));
    assert!(
        ZplError::Dpi { dpi: 7 }
            .to_string()
            .contains("100 to 600 dpi")
    );
}

#[test]
fn grouping() {
    assert_eq!(group_code(""), "");
    assert_eq!(group_code("0123"), "0123");
    assert_eq!(group_code("01234"), "0123 4");
    assert_eq!(wrap_words("aaaa bbbb cccc", 9), ["aaaa bbbb", "cccc"]);
    assert_eq!(wrap_words("aaaaaaaaaa b", 4), ["aaaa", "aaaa", "aa", "b"]);
    assert_eq!(wrap_hard("abcde", 2), ["ab", "cd", "e"]);
    assert!(wrap_hard("", 2).is_empty());
}
