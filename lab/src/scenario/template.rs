//! Strings with `${name}` references: parsed once when the drill is read, rendered per run.
//!
//! A drill's commands, SQL, regexes and paths mention values only a run knows (the WAL
//! directory's name for the version under test, a timestamp captured three steps earlier). The
//! syntax is deliberately small so that shell text passes through untouched: `${name}` is a
//! reference, `$$` is a literal `$`, and any other `$` (`$?`, `$1`, `$PGDATA`) is itself. The
//! checker (`check.rs`) decides which names are defined where; this file only splits the text
//! and puts it back together.

use std::fmt;

/// A string with `${var}` references, already checked against the variables defined where it
/// is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The text as written in the drill file (with `$$` and `${...}` still in it).
    pub raw: String,
    /// The text split into literal runs and references (adjacent literals merged, no empty
    /// literal).
    pub parts: Vec<Part>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (`$$` already turned into `$`).
    Lit(String),
    /// A variable's name.
    Var(String),
}

/// Why a string is not a template, with the byte offset in the raw text of the offending `$`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${` without its `}`.
    #[error("unclosed `${{`: close it with `}}`, or write `$$` for a literal `$`")]
    Unclosed {
        /// Where the `$` is.
        offset: usize,
    },
    /// `${}` or a name with other characters.
    #[error(
        "bad variable reference `${{{name}}}`: a name is letters, digits, `_` and `.`; write \
         `$$` for a literal `$`"
    )]
    BadName {
        /// Where the `$` is.
        offset: usize,
        /// What is between the braces.
        name: String,
    },
}

impl TemplateError {
    /// The byte offset of the offending `$` in the raw text.
    pub fn offset(&self) -> usize {
        match self {
            TemplateError::Unclosed { offset } | TemplateError::BadName { offset, .. } => *offset,
        }
    }
}

/// A variable a template refers to has no value where it is rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable `${{{0}}}` has no value")]
pub struct Unbound(pub String);

impl Template {
    /// A template of literal text only (any `$` in it is literal).
    pub fn literal(text: &str) -> Template {
        Template {
            raw: text.replace('$', "$$"),
            parts: if text.is_empty() {
                Vec::new()
            } else {
                vec![Part::Lit(text.to_string())]
            },
        }
    }

    /// Splits `raw` into parts, without checking which variables exist (the drill checker does
    /// that). Errors: an unclosed `${`, an empty or malformed name.
    pub fn parse(raw: &str) -> Result<Template, TemplateError> {
        Self::scan(raw).map(|(t, _)| t)
    }

    /// Like [`Template::parse`], also returning each reference's byte offset in `raw` (for
    /// error positions).
    pub(crate) fn scan(raw: &str) -> Result<(Template, Vec<(usize, String)>), TemplateError> {
        let mut parts = Vec::new();
        let mut refs = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while let Some(rel) = raw[i..].find('$') {
            let at = i + rel;
            lit.push_str(&raw[i..at]);
            let rest = &raw[at + 1..];
            if rest.starts_with('$') {
                lit.push('$');
                i = at + 2;
            } else if let Some(inner) = rest.strip_prefix('{') {
                let Some(end) = inner.find('}') else {
                    return Err(TemplateError::Unclosed { offset: at });
                };
                let name = &inner[..end];
                if !is_variable_name(name) {
                    return Err(TemplateError::BadName {
                        offset: at,
                        name: name.to_string(),
                    });
                }
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Var(name.to_string()));
                refs.push((at, name.to_string()));
                i = at + 2 + end + 1;
            } else {
                lit.push('$');
                i = at + 1;
            }
        }
        lit.push_str(&raw[i..]);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok((
            Template {
                raw: raw.to_string(),
                parts,
            },
            refs,
        ))
    }

    /// The names referenced, in order (with repeats).
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// The references written between a pair of `quotes` (`'${name}'`), the quote character
    /// with each: where the lab quotes a value itself, quoting it by hand as well would break
    /// the text.
    pub fn hand_quoted<'a>(&'a self, quotes: &'a [char]) -> impl Iterator<Item = (&'a str, char)> {
        self.parts.windows(3).filter_map(move |w| match w {
            [Part::Lit(before), Part::Var(name), Part::Lit(after)] => quotes
                .iter()
                .find(|&&q| before.ends_with(q) && after.starts_with(q))
                .map(|&q| (name.as_str(), q)),
            _ => None,
        })
    }

    /// The literal text before the first reference (all of it if there is none).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Lit(text)) => text,
            _ => "",
        }
    }

    /// The text with every reference replaced by its value; the error names the first variable
    /// `vars` has no value for.
    pub fn render(&self, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, Unbound> {
        self.render_each(vars, |_, value| value)
    }

    /// Like [`Template::render`] for a template that is a regex: values are inserted escaped,
    /// so that they match literally (a captured timestamp's `.` and `+` are not operators).
    pub fn render_regex(&self, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, Unbound> {
        self.render_each(vars, |_, value| regex::escape(&value))
    }

    /// Like [`Template::render`], each value inserted as `escape(name, value)` makes it (a
    /// shell command's values quoted as words: see `drill::render::Context::render_shell`).
    pub fn render_each(
        &self,
        vars: &dyn Fn(&str) -> Option<String>,
        escape: impl Fn(&str, String) -> String,
    ) -> Result<String, Unbound> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(text) => out.push_str(text),
                Part::Var(name) => match vars(name) {
                    Some(value) => out.push_str(&escape(name, value)),
                    None => return Err(Unbound(name.clone())),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Whether `name` may appear in `${...}`: letters, digits, `_` and `.`, not empty. Upper case
/// is accepted here so that `${PGDATA}` is reported as an undefined variable (with a hint about
/// `$$`) rather than as malformed.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_between_quotes_are_found() {
        let t = Template::parse("SELECT '${a}', ${b}, \"${c}\", '${d}x'").unwrap();
        let found: Vec<_> = t.hand_quoted(&['\'', '"']).collect();
        assert_eq!(found, [("a", '\''), ("c", '"')]);
    }
}
