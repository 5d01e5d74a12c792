//! Text for messages (no I/O): values cut and escaped so that a message stays one line and
//! bounded whatever a user typed.

/// `text` cut to at most `max` characters, with `…` where it was cut, and its control
/// characters escaped ([`escape`]).
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => escape(text).into_owned(),
        Some((at, _)) => format!("{}… ({} bytes)", escape(&text[..at]), text.len()),
    }
}

/// `text` with every control character written as Rust writes it in a string (`\n`, `\u{1b}`):
/// a value quoted in a message cannot start a line of its own (forging a `file:line:col:
/// error:`) or reach the terminal as an escape sequence.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(10_000);
        let short = shorten(&long, 50);
        assert!(short.len() < 80, "{short}");
        assert!(short.ends_with("(10000 bytes)"));
        assert_eq!(shorten("abc", 50), "abc");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape("a\nb:1:1: error: x\u{1b}[2J"),
            "a\\nb:1:1: error: x\\u{1b}[2J"
        );
        assert_eq!(shorten("é\t", 50), "é\\t");
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
