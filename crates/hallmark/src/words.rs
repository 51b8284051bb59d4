//! Small pieces of the messages people read: a count with its noun in the
//! right number (`1 code`, `2 codes`) and a range as `0–9999` (an en dash,
//! not Rust's `0..=9999`).

use core::fmt;

/// A count and its noun, singular for exactly one: see [`plural`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted<'a, N> {
    n: N,
    one: &'a str,
    many: &'a str,
}

/// `n` followed by `one` if `n` is 1, else by `many`: `plural(1, "code",
/// "codes")` shows as `1 code`, `plural(0, "code", "codes")` as `0 codes`.
///
/// ```
/// assert_eq!(hallmark::plural(1_u64, "batch", "batches").to_string(), "1 batch");
/// assert_eq!(hallmark::plural(3_usize, "child", "children").to_string(), "3 children");
/// ```
pub fn plural<'a, N>(n: N, one: &'a str, many: &'a str) -> Counted<'a, N>
where
    N: fmt::Display + PartialEq + From<u8>,
{
    Counted { n, one, many }
}

impl<N> fmt::Display for Counted<'_, N>
where
    N: fmt::Display + PartialEq + From<u8>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.n == N::from(1) {
            self.one
        } else {
            self.many
        };
        write!(f, "{} {noun}", self.n)
    }
}

/// An inclusive range for people: see [`span`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span<T> {
    first: T,
    last: T,
}

/// The inclusive range `first` to `last` as people write it, with an en
/// dash: `span(0, 9999)` shows as `0–9999`.
///
/// ```
/// assert_eq!(hallmark::span(100, 199).to_string(), "100\u{2013}199");
/// ```
pub fn span<T: fmt::Display>(first: T, last: T) -> Span<T> {
    Span { first, last }
}

impl<T: fmt::Display> fmt::Display for Span<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\u{2013}{}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1_u64, "code", "codes").to_string(), "1 code");
        assert_eq!(plural(0_u64, "code", "codes").to_string(), "0 codes");
        assert_eq!(
            plural(2_usize, "child", "children").to_string(),
            "2 children"
        );
        assert_eq!(plural(11_u32, "key", "keys").to_string(), "11 keys");
        assert_eq!(plural(1_u128, "serial", "serials").to_string(), "1 serial");
    }

    #[test]
    fn a_span_uses_an_en_dash() {
        assert_eq!(span(0, 9999).to_string(), "0–9999");
        assert_eq!(
            span("2024-01-01", "2024-12-31").to_string(),
            "2024-01-01–2024-12-31"
        );
    }
}
