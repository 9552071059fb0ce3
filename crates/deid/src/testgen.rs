//! Generated inputs for tests that compare a fast path with the simple one it must agree with:
//! text built from pieces that exercise case, spacing, punctuation, JSON escapes and characters
//! beyond ASCII, from a fixed seed so that a failure can be replayed.

/// A small deterministic generator (xorshift64*); quality is no concern here, coverage is.
pub(crate) struct Gen(u64);

impl Gen {
    pub(crate) fn new(seed: u64) -> Self {
        Gen(seed.max(1))
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
        usize::try_from(value).unwrap_or_default() % n.max(1)
    }

    pub(crate) fn pick<'p>(&mut self, pieces: &[&'p str]) -> &'p str {
        pieces
            .get(self.below(pieces.len()))
            .copied()
            .unwrap_or_default()
    }

    /// `len` bytes drawn from `alphabet` (which may hold parts of characters: the bytes need
    /// not be UTF-8).
    pub(crate) fn bytes(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                alphabet
                    .get(self.below(alphabet.len()))
                    .copied()
                    .unwrap_or(b' ')
            })
            .collect()
    }

    /// Text of up to `max` pieces, drawn from `PIECES` and from `extra` (values, say).
    pub(crate) fn text(&mut self, extra: &[String], max: usize) -> String {
        let mut text = String::new();
        for _ in 0..self.below(max + 1) {
            if !extra.is_empty() && self.below(4) == 0 {
                let value = &extra[self.below(extra.len())];
                text.push_str(&self.respell(value));
            } else {
                text.push_str(self.pick(PIECES));
            }
        }
        text
    }

    /// `value` with its case, spacing and separators changed at random.
    pub(crate) fn respell(&mut self, value: &str) -> String {
        let mut out = String::new();
        for c in value.chars() {
            match self.below(10) {
                0 => out.extend(c.to_uppercase()),
                1 if c == ' ' || c == '-' => out
                    .push_str(self.pick(&[" ", "  ", "\n", "-", "\t", "\u{2013}", "\\n", "_", ""])),
                2 if c.is_ascii_alphanumeric() => {
                    out.push(c);
                    out.push_str(self.pick(&["\u{200B}", " ", "-", "\\u0020", ""]));
                }
                3 if c.is_ascii() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                _ => out.push(c),
            }
        }
        out
    }
}

/// What generated text is made of.
pub(crate) const PIECES: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    "a",
    "B",
    "x",
    "Zo\u{eb}",
    "\u{c9}mile",
    "the ",
    "plan ",
    "Ann",
    "an",
    "0",
    "1",
    "7",
    "42",
    "555",
    "0199",
    "617",
    "999",
    "12",
    "3456",
    "1961",
    "-",
    "\u{2013}",
    "\u{2011}",
    ".",
    "/",
    "(",
    ")",
    "_",
    ":",
    "+",
    ",",
    ";",
    "#",
    "'",
    "\"",
    "\u{200B}",
    "\u{00AD}",
    "\u{FEFF}",
    "\u{a0}",
    "\u{2003}",
    "\u{663}",
    "\u{1F600}",
    "\u{130}",
    "\u{df}",
    "\u{fb01}",
    "\\n",
    "\\t",
    "\\\"",
    "\\\\",
    "\\/",
    "\\u0041",
    "\\u00e9",
    "\\u00C9",
    "\\u2013",
    "\\u200b",
    "\\u0035",
    "\\ud83d\\ude00",
    "\\ud83d",
    "\\q",
    "\\u12",
    "\\",
    "ssn",
    "MRN ",
    "x3872",
    "4ACB",
    "mg ",
    "BP 120/80",
];
