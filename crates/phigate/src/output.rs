//! The command's own output. Standard output carries results; standard error carries errors.

use std::io::Write;

/// Writes lines to standard output, ignoring a closed pipe (`phigate … | head`).
pub struct Out {
    buf: String,
}

impl Out {
    /// An empty buffer.
    pub fn new() -> Self {
        Self { buf: String::new() }
    }

    /// Adds one line.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.buf.push_str(text.as_ref());
        self.buf.push('\n');
    }

    /// Adds a section heading.
    pub fn heading(&mut self, text: &str) {
        self.line("");
        self.line(format!("=== {text} ==="));
    }

    /// Writes everything to standard output.
    pub fn flush(self) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(self.buf.as_bytes());
        let _ = stdout.flush();
    }
}

/// Writes one line to standard error.
pub fn error_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}
