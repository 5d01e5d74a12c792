//! The one quoting function per target language. No value from a drill, a profile or a flag
//! reaches a shell command, an SQL statement or a configuration file except through one of them:
//!
//! - shell words: [`super::quote`] (shlex);
//! - SQL: [`sql_literal`] and [`sql_ident`] (`postgres-protocol`'s escaping, as libpq's);
//! - `postgresql.conf` / `recovery.conf` / `postgresql.auto.conf` values: [`conf_value`];
//! - libpq connection strings (`primary_conninfo`'s words): [`conninfo_value`].
//!
//! A value that cannot be written safely (a control character such as a newline, which would
//! end a configuration line) is refused with a [`QuoteError`], never passed through.

/// A value that cannot be quoted for its language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// A control character (newline, carriage return, NUL, …): it would end the line or the
    /// string it is written in.
    #[error("{what} {value:?} holds a control character ({found:?}), which cannot be written in {language}")]
    Control {
        /// What the value is (`restore_command`, `a role name`).
        what: String,
        /// The value (cut to [`SHOWN`] characters).
        value: String,
        /// The character refused.
        found: char,
        /// Where it was to be written.
        language: &'static str,
    },
}

/// How many characters of a refused value a [`QuoteError`] shows.
pub const SHOWN: usize = 60;

/// The first control character of `value`, if any.
pub fn control_char(value: &str) -> Option<char> {
    value.chars().find(|c| c.is_control())
}

/// `Ok` unless `value` holds a control character, which cannot be written in `language`.
pub fn refuse(what: &str, value: &str, language: &'static str) -> Result<(), QuoteError> {
    match control_char(value) {
        Some(found) => Err(QuoteError::Control {
            what: what.to_string(),
            value: value.chars().take(SHOWN).collect(),
            found,
            language,
        }),
        None => Ok(()),
    }
}

/// `value` as a single-quoted configuration-file string (`'…'`): a `'` doubled, a `\` doubled
/// (the file's reader treats `\` as an escape), control characters refused, so the value stays
/// one value on one line.
///
/// `conf_value("what", "cp /disk3/archive/%f '%p'")` is `'cp /disk3/archive/%f ''%p'''`.
pub fn conf_value(what: &str, value: &str) -> Result<String, QuoteError> {
    refuse(what, value, "a configuration file")?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// `value` as an SQL string literal (`'…'`, or ` E'…'` when it holds a backslash), as libpq's
/// `PQescapeLiteral`; control characters refused (the statement travels on a command line).
pub fn sql_literal(what: &str, value: &str) -> Result<String, QuoteError> {
    refuse(what, value, "an SQL statement")?;
    Ok(postgres_protocol::escape::escape_literal(value))
}

/// `value` as an SQL identifier: as written when it is a plain lower-case name
/// (`[a-z_][a-z0-9_]*`, as the document writes `repuser`), else double-quoted as libpq's
/// `PQescapeIdentifier`; control characters refused.
pub fn sql_ident(what: &str, value: &str) -> Result<String, QuoteError> {
    refuse(what, value, "an SQL statement")?;
    let plain = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    Ok(if plain {
        value.to_string()
    } else {
        postgres_protocol::escape::escape_identifier(value)
    })
}

/// `value` as one value of a libpq connection string (`key=value`): as written when it has no
/// space, quote or backslash (`host=172.16.3.101`), else single-quoted with `\'` and `\\`;
/// control characters refused.
pub fn conninfo_value(what: &str, value: &str) -> Result<String, QuoteError> {
    refuse(what, value, "a connection string")?;
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || c == '=');
    if plain {
        return Ok(value.to_string());
    }
    let mut out = String::from("'");
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a configuration-file reader makes of `line`'s quoted value: the text between the
    /// quotes, `''` and `\x` unescaped, and what follows the closing quote.
    fn read_conf(line: &str) -> (String, String) {
        let chars: Vec<char> = line.chars().collect();
        let mut i = chars.iter().position(|&c| c == '\'').unwrap() + 1;
        let mut value = String::new();
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    value.push(chars[i + 1]);
                    i += 2;
                }
                '\'' if chars.get(i + 1) == Some(&'\'') => {
                    value.push('\'');
                    i += 2;
                }
                '\'' => return (value, chars[i + 1..].iter().collect()),
                c => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        panic!("unterminated: {line}")
    }

    #[test]
    fn a_conf_value_stays_one_value_on_one_line() {
        for value in [
            "cp /disk3/archive/%f '%p'",
            "x' \narchive_command = 'rm -rf /",
            r"a\' b",
            r"ends with a backslash\",
            "2026-01-01 00:00:00'\nrestore_command = 'evil'",
        ] {
            match conf_value("v", value) {
                Ok(q) => {
                    assert!(!q.contains('\n'), "{q}");
                    let line = format!("restore_command = {q}");
                    assert_eq!(read_conf(&line), (value.to_string(), String::new()), "{q}");
                }
                Err(QuoteError::Control { found, .. }) => {
                    assert!(value.contains(found), "{value}")
                }
            }
        }
        assert_eq!(
            conf_value("v", "cp /a/%f '%p'").unwrap(),
            "'cp /a/%f ''%p'''"
        );
        assert_eq!(conf_value("v", r"a\b").unwrap(), r"'a\\b'");
        assert!(conf_value("v", "a\nb").is_err());
        assert!(conf_value("v", "a\rb").is_err());
        assert!(conf_value("v", "a\0b").is_err());
    }

    #[test]
    fn sql_values_are_libpqs_escapes() {
        assert_eq!(sql_literal("v", "repuser").unwrap(), "'repuser'");
        assert_eq!(sql_literal("v", "o'neil").unwrap(), "'o''neil'");
        assert_eq!(sql_literal("v", r"a\b").unwrap(), r" E'a\\b'");
        assert!(sql_literal("v", "a\nb").is_err());
        assert_eq!(sql_ident("v", "repuser").unwrap(), "repuser");
        assert_eq!(sql_ident("v", "Rep User").unwrap(), "\"Rep User\"");
        assert_eq!(sql_ident("v", "a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(sql_ident("v", "").unwrap(), "\"\"");
        assert!(sql_ident("v", "a\nb").is_err());
    }

    #[test]
    fn conninfo_values_are_quoted_when_they_need_it() {
        assert_eq!(conninfo_value("v", "172.16.3.101").unwrap(), "172.16.3.101");
        assert_eq!(conninfo_value("v", "").unwrap(), "''");
        assert_eq!(conninfo_value("v", "a b").unwrap(), "'a b'");
        assert_eq!(conninfo_value("v", r"it's\").unwrap(), r"'it\'s\\'");
        assert_eq!(conninfo_value("v", "x=y").unwrap(), "'x=y'");
        assert!(conninfo_value("v", "a\nb").is_err());
    }
}
