//! GS1 reading: every scan form (AIM element strings, `^`, HRI, Digital Link).
//!
//! Besides "never panics", checks the round trips: accepted data written as
//! an element string (GS and `^`), HRI or a Digital Link URI reads back to
//! the same data (for the URI: the same elements, order aside), and the
//! dispatch rule says GS1 for each written form.

#![no_main]

use hallmark::gs1::{Gs1Data, MAX_GS1_INPUT_LEN, Separator, is_gs1_input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_gs1_input(input);
    let Ok(parsed) = Gs1Data::parse(input) else {
        return;
    };
    let gs = format!("]d2{}", parsed.to_element_string(Separator::Gs));
    let caret = parsed.to_element_string(Separator::Caret);
    let hri = parsed.to_hri();
    // A written form can be longer than the input (HRI brackets, percent
    // escapes) and past the input limit, which is then refused by design.
    for written in [&gs, &caret, &hri] {
        if written.len() > MAX_GS1_INPUT_LEN {
            continue;
        }
        assert!(is_gs1_input(written), "{written:?} not dispatched as GS1");
        let again = Gs1Data::parse(written).expect("written form reads back");
        assert_eq!(again, parsed, "{written:?}");
    }
    if let Ok(dl) = parsed.to_digital_link("https://id.example.com/stem")
        && dl.len() <= MAX_GS1_INPUT_LEN
    {
        assert!(is_gs1_input(&dl), "{dl:?} not dispatched as GS1");
        let again = Gs1Data::parse(&dl).expect("Digital Link reads back");
        let mut a: Vec<_> = again.elements().collect();
        let mut b: Vec<_> = parsed.elements().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{dl:?}");
    }
});
