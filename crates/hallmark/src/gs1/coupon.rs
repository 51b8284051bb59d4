//! The North American coupon linters (AIs 8110 and 8112): a sequence of
//! fields, several prefixed by a length digit ("VLI"). Rules as in GS1's
//! reference `couponcode` and `couponposoffer` linters (gs1-syntax-engine,
//! Apache-2.0), re-stated.

/// Reads the fields of a coupon value from left to right.
struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// One digit, which must be in `allowed`.
    fn digit(&mut self, what: &str, allowed: impl Fn(u8) -> bool) -> Result<u8, String> {
        let d = self
            .peek()
            .ok_or_else(|| format!("coupon: missing {what}"))?
            .wrapping_sub(b'0');
        if !allowed(d) {
            return Err(format!("coupon: invalid {what}"));
        }
        self.pos += 1;
        Ok(d)
    }

    /// `n` characters.
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let field = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or_else(|| format!("coupon: truncated {what}"))?;
        self.pos += n;
        Ok(field)
    }

    fn gcp(&mut self, n: usize, what: &str) -> Result<(), String> {
        let field = self.take(n, what)?;
        super::lint::lint(super::table::Linter::Gcppos1, field)
            .map_err(|e| format!("coupon {what}: {e}"))
    }

    fn end(&self) -> Result<(), String> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err("coupon: excess data".to_owned())
        }
    }

    fn at(&self, indicator: u8) -> bool {
        self.peek() == Some(indicator)
    }

    /// A purchase requirement: VLI 1-5, the requirement, its code (0-4 or 9)
    /// and a 3-digit family code.
    fn purchase(&mut self, nth: &str) -> Result<(), String> {
        let vli = self.digit(&format!("{nth} purchase requirement length"), |d| {
            (1..=5).contains(&d)
        })?;
        self.take(usize::from(vli), &format!("{nth} purchase requirement"))?;
        self.digit(&format!("{nth} purchase requirement code"), |d| {
            d <= 4 || d == 9
        })?;
        self.take(3, &format!("{nth} purchase family code"))?;
        Ok(())
    }
}

fn all_digits(data: &[u8]) -> Result<(), String> {
    match data.iter().position(|b| !b.is_ascii_digit()) {
        Some(p) => Err(format!("character {} is not a digit", p + 1)),
        None => Ok(()),
    }
}

/// AI 8110: the North American coupon code.
pub(crate) fn couponcode(data: &[u8]) -> Result<(), String> {
    all_digits(data)?;
    let mut f = Fields { data, pos: 0 };
    let vli = f.digit("company prefix length", |d| d <= 6)?;
    f.gcp(usize::from(vli) + 6, "company prefix")?;
    f.take(6, "offer code")?;
    let vli = f.digit("save value length", |d| (1..=5).contains(&d))?;
    f.take(usize::from(vli), "save value")?;
    f.purchase("1st")?;
    if f.at(b'1') {
        f.pos += 1;
        f.digit("additional purchase rules code", |d| d <= 3)?;
        f.purchase("2nd")?;
        let vli = f.digit("2nd purchase company prefix length", |d| d <= 6 || d == 9)?;
        if vli != 9 {
            f.gcp(usize::from(vli) + 6, "2nd purchase company prefix")?;
        }
    }
    if f.at(b'2') {
        f.pos += 1;
        f.purchase("3rd")?;
        let vli = f.digit("3rd purchase company prefix length", |d| d <= 6 || d == 9)?;
        if vli != 9 {
            f.gcp(usize::from(vli) + 6, "3rd purchase company prefix")?;
        }
    }
    let mut expiry = None;
    if f.at(b'3') {
        f.pos += 1;
        let date = f.take(6, "expiration date")?;
        super::lint::lint(super::table::Linter::Yymmdd, date)
            .map_err(|e| format!("coupon expiration date: {e}"))?;
        expiry = Some(date);
    }
    if f.at(b'4') {
        f.pos += 1;
        let start = f.take(6, "start date")?;
        super::lint::lint(super::table::Linter::Yymmdd, start)
            .map_err(|e| format!("coupon start date: {e}"))?;
        if expiry.is_some_and(|e| start > e) {
            return Err("coupon: expiration date before the start date".to_owned());
        }
    }
    if f.at(b'5') {
        f.pos += 1;
        let vli = f.digit("serial number length", |_| true)?;
        f.take(usize::from(vli) + 6, "serial number")?;
    }
    if f.at(b'6') {
        f.pos += 1;
        let vli = f.digit("retailer company prefix or GLN length", |d| {
            (1..=7).contains(&d)
        })?;
        f.gcp(usize::from(vli) + 6, "retailer company prefix or GLN")?;
    }
    if f.at(b'9') {
        f.pos += 1;
        f.digit("save value code", |d| matches!(d, 0 | 1 | 2 | 5 | 6))?;
        f.digit("save value applies to item", |d| d <= 2)?;
        f.digit("store coupon flag", |_| true)?;
        f.digit("don't multiply flag", |d| d <= 1)?;
    }
    f.end()
}

/// AI 8112: the positive offer file coupon code.
pub(crate) fn couponposoffer(data: &[u8]) -> Result<(), String> {
    all_digits(data)?;
    let mut f = Fields { data, pos: 0 };
    f.digit("format code", |d| d <= 1)?;
    let vli = f.digit("funder ID length", |d| d <= 6)?;
    f.take(usize::from(vli) + 6, "funder ID")?;
    f.take(6, "offer code")?;
    let vli = f.digit("serial number length", |_| true)?;
    f.take(usize::from(vli) + 6, "serial number")?;
    f.end()
}
