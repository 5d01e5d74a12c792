//! The texts a drill is read from, in one offset space: the drill file first, then each
//! built-in procedure file it uses, each after the last. A span anywhere in the expanded drill
//! is then one `Range<usize>`, and [`Sources::locate`] turns its start into `file:line:col`.

use std::ops::Range;

/// One text and where it starts in the shared offset space.
struct Source<'a> {
    name: String,
    text: &'a str,
    base: usize,
    /// Offset (in `text`) of the start of every line.
    line_starts: Vec<usize>,
}

/// Every text of one check, the drill file's first (at offset 0).
pub(super) struct Sources<'a> {
    files: Vec<Source<'a>>,
}

impl<'a> Sources<'a> {
    /// The drill file `name` with its `text`.
    pub(super) fn new(name: &str, text: &'a str) -> Self {
        let mut sources = Sources { files: Vec::new() };
        sources.add(name, text);
        sources
    }

    /// Adds a text; returns its base (add it to the text's own offsets).
    pub(super) fn add(&mut self, name: &str, text: &'a str) -> usize {
        // One past the end of the previous text, so that its end offset stays its own.
        let base = self.files.last().map_or(0, |f| f.base + f.text.len() + 1);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.push(Source {
            name: name.to_string(),
            text,
            base,
            line_starts,
        });
        base
    }

    fn source(&self, offset: usize) -> &Source<'a> {
        let i = self.files.partition_point(|f| f.base <= offset);
        &self.files[i.saturating_sub(1)]
    }

    /// The file, 1-based line and 1-based column (in characters) of an offset.
    pub(super) fn locate(&self, offset: usize) -> (&str, usize, usize) {
        let file = self.source(offset);
        let local = (offset - file.base).min(file.text.len());
        let line = file.line_starts.partition_point(|&s| s <= local);
        let start = file.line_starts[line - 1];
        let col = file
            .text
            .get(start..local)
            .map_or(1, |s| s.chars().count() + 1);
        (&file.name, line, col)
    }

    /// The 1-based line of an offset (without its column, which costs the line's length).
    pub(super) fn line(&self, offset: usize) -> usize {
        let file = self.source(offset);
        let local = (offset - file.base).min(file.text.len());
        file.line_starts.partition_point(|&s| s <= local)
    }

    /// `file:line:col` of an offset.
    pub(super) fn place(&self, offset: usize) -> String {
        let (file, line, col) = self.locate(offset);
        format!("{file}:{line}:{col}")
    }

    /// The drill file's length in bytes.
    pub(super) fn drill_len(&self) -> usize {
        self.files[0].text.len()
    }

    /// Whether an offset is in the drill file (not in a built-in procedure's text).
    pub(super) fn in_drill(&self, offset: usize) -> bool {
        offset <= self.drill_len()
    }

    /// The source text of a span (within one text), if it is one.
    pub(super) fn text(&self, span: Range<usize>) -> Option<&'a str> {
        let file = self.source(span.start);
        let start = span.start - file.base;
        let end = span.end.checked_sub(file.base)?;
        file.text.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_to_their_file_line_and_column() {
        let mut s = Sources::new("d.toml", "ab\ncé\n");
        let base = s.add("p.toml", "x\ny");
        assert_eq!(base, 8);
        assert_eq!(s.locate(0), ("d.toml", 1, 1));
        assert_eq!(s.locate(4), ("d.toml", 2, 2));
        assert_eq!(s.locate(6), ("d.toml", 2, 3));
        assert_eq!(s.locate(base + 2), ("p.toml", 2, 1));
        assert_eq!(s.place(base), "p.toml:1:1");
        assert_eq!(s.text(base + 2..base + 3), Some("y"));
        assert_eq!(s.text(0..2), Some("ab"));
    }
}
