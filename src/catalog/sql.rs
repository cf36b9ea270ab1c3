//! SQL templates: the text of a view or step with its `:name` placeholders found once, at load time.
//! `::` is a cast; quotes, dollar-quoted strings and comments are skipped, so a placeholder is only ever
//! where a value or identifier can stand.

/// How a placeholder is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `:name` — a bound parameter (or, for identifiers, the quoted identifier).
    Bare,
    /// `:'name'` — the value as a quoted string literal (identifiers only).
    Literal,
    /// `:"name"` — the value as a quoted identifier (identifiers only).
    Identifier,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Placeholder { name: String, form: Form },
}

/// A parsed SQL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

fn is_start(c: char) -> bool {
    c.is_ascii_lowercase() || c == '_'
}

fn is_part(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

impl Template {
    pub fn parse(sql: &str) -> Template {
        let chars: Vec<char> = sql.chars().collect();
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        let push_text = |text: &mut String, segments: &mut Vec<Segment>| {
            if !text.is_empty() {
                segments.push(Segment::Text(std::mem::take(text)));
            }
        };
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                '\'' | '"' => {
                    let end = skip_quoted(&chars, i, c);
                    text.extend(&chars[i..end]);
                    i = end;
                }
                '-' if next == Some('-') => {
                    let end = chars[i..]
                        .iter()
                        .position(|&c| c == '\n')
                        .map_or(chars.len(), |p| i + p);
                    text.extend(&chars[i..end]);
                    i = end;
                }
                '/' if next == Some('*') => {
                    let end = skip_block_comment(&chars, i);
                    text.extend(&chars[i..end]);
                    i = end;
                }
                '$' => {
                    let end = skip_dollar_quoted(&chars, i);
                    text.extend(&chars[i..end]);
                    i = end;
                }
                ':' if next == Some(':') => {
                    text.push_str("::");
                    i += 2;
                }
                ':' => {
                    let (form, start) = match next {
                        Some('\'') => (Form::Literal, i + 2),
                        Some('"') => (Form::Identifier, i + 2),
                        _ => (Form::Bare, i + 1),
                    };
                    let len = chars[start..].iter().take_while(|c| is_part(**c)).count();
                    let closing = match form {
                        Form::Literal => Some('\''),
                        Form::Identifier => Some('"'),
                        Form::Bare => None,
                    };
                    let closed = closing.is_none_or(|q| chars.get(start + len) == Some(&q));
                    if len > 0 && is_start(chars[start]) && closed {
                        push_text(&mut text, &mut segments);
                        segments.push(Segment::Placeholder {
                            name: chars[start..start + len].iter().collect(),
                            form,
                        });
                        i = start + len + usize::from(closing.is_some());
                    } else {
                        text.push(':');
                        i += 1;
                    }
                }
                _ => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        push_text(&mut text, &mut segments);
        Template { segments }
    }

    /// The argument names used, in order of first use.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for segment in &self.segments {
            if let Segment::Placeholder { name, .. } = segment
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }
}

fn skip_quoted(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            // A doubled quote is an escaped quote.
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// PostgreSQL block comments nest.
fn skip_block_comment(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// `$tag$ … $tag$`; a `$` that opens no such quote (`$1`) is ordinary text.
fn skip_dollar_quoted(chars: &[char], start: usize) -> usize {
    let tag_len = chars[start + 1..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
        .count();
    let tag_end = start + 1 + tag_len;
    let is_quote = chars.get(tag_end) == Some(&'$')
        && chars.get(start + 1).is_none_or(|c| !c.is_ascii_digit());
    if !is_quote {
        return start + 1;
    }
    let tag: Vec<char> = chars[start..=tag_end].to_vec();
    let mut i = tag_end + 1;
    while i + tag.len() <= chars.len() {
        if chars[i..i + tag.len()] == tag[..] {
            return i + tag.len();
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(sql: &str) -> Vec<(String, Form)> {
        Template::parse(sql)
            .segments
            .into_iter()
            .filter_map(|s| match s {
                Segment::Placeholder { name, form } => Some((name, form)),
                Segment::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn finds_placeholders_and_skips_casts_quotes_comments_and_dollar_quotes() {
        let sql = "SELECT :a::int, ':b', \":c\", $1, $$ :d $$, $x$ :e $x$ -- :f\n/* :g /* :h */ */ :'i' :\"j\" x[1:2] :k";
        assert_eq!(
            placeholders(sql),
            [
                ("a".to_owned(), Form::Bare),
                ("i".to_owned(), Form::Literal),
                ("j".to_owned(), Form::Identifier),
                ("k".to_owned(), Form::Bare),
            ]
        );
        let template = Template::parse("WHERE a = :x AND b = :x OR c = :y");
        assert_eq!(template.names(), ["x", "y"]);
    }

    #[test]
    fn text_round_trips_around_placeholders() {
        let template = Template::parse("SELECT 'it''s', :a");
        assert_eq!(
            template.segments[0],
            Segment::Text("SELECT 'it''s', ".to_owned())
        );
    }
}
