//! A text a catalogue author writes for people — the title or description of a view, action, chart or
//! health-card row: one string for every language, or a map with one per language
//! (`title: {en: Cache hit ratio, ru: Попадания в кеш}`). Readers ask for their language; a map
//! without it answers in English, then in whichever language it has.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::report::Report;
use crate::i18n::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// The same words for every language.
    Plain(String),
    /// One text per language; never empty once validated.
    Each(BTreeMap<Lang, String>),
}

impl Default for Text {
    fn default() -> Self {
        Text::Plain(String::new())
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::Plain(text.to_owned())
    }
}

impl Text {
    /// The text for a reader of `lang`: theirs, else English, else any.
    pub fn get(&self, lang: Lang) -> &str {
        match self {
            Text::Plain(text) => text,
            Text::Each(texts) => texts
                .get(&lang)
                .or_else(|| texts.get(&Lang::En))
                .or_else(|| texts.values().next())
                .map_or("", String::as_str),
        }
    }

    /// The English text (or the only one): what REST and logs show.
    pub fn en(&self) -> &str {
        self.get(Lang::En)
    }

    pub fn is_empty(&self) -> bool {
        Lang::ALL.iter().all(|lang| self.get(*lang).is_empty())
    }
}

/// A text as written: a string, or a map from language codes to strings.
#[derive(Debug)]
pub(crate) enum RawText {
    Plain(String),
    Each(BTreeMap<String, String>),
}

// By hand rather than `untagged`: a wrong value is then told what is expected, not "no variant".
impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = RawText;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, or a map of strings by language (en, ru)")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawText, E> {
                Ok(RawText::Plain(text.to_owned()))
            }

            fn visit_map<M: de::MapAccess<'de>>(self, map: M) -> Result<RawText, M::Error> {
                let texts = Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawText::Each(texts))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Default for RawText {
    fn default() -> Self {
        RawText::Plain(String::new())
    }
}

/// The text at `path`, with a problem for each key that is not a language the service speaks and for
/// a map with no text at all.
pub(crate) fn read_text(raw: RawText, path: &str, report: &mut Report) -> Text {
    let texts = match raw {
        RawText::Plain(text) => return Text::Plain(text),
        RawText::Each(texts) => texts,
    };
    let mut known = BTreeMap::new();
    for (code, text) in texts {
        match Lang::parse(&code) {
            Some(lang) => {
                known.insert(lang, text);
            }
            None => {
                let codes: Vec<_> = Lang::ALL.iter().map(|l| l.code()).collect();
                report.at(
                    &format!("{path}.{code}"),
                    format!(
                        "{code:?} is not a language of the service ({})",
                        codes.join(", ")
                    ),
                );
            }
        }
    }
    if known.is_empty() && !report.has_problem_in(path) {
        report.at(path, "needs a text for at least one language (en, ru)");
    }
    Text::Each(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn each(pairs: &[(Lang, &str)]) -> Text {
        Text::Each(pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect())
    }

    #[test]
    fn a_reader_gets_their_language_then_english_then_any() {
        let both = each(&[(Lang::En, "Cache hit ratio"), (Lang::Ru, "Попадания в кеш")]);
        assert_eq!(both.get(Lang::Ru), "Попадания в кеш");
        assert_eq!(both.get(Lang::En), "Cache hit ratio");
        let english = each(&[(Lang::En, "Locks")]);
        assert_eq!(english.get(Lang::Ru), "Locks");
        let russian = each(&[(Lang::Ru, "Блокировки")]);
        assert_eq!(russian.get(Lang::En), "Блокировки");
        assert_eq!(Text::from("Locks").get(Lang::Ru), "Locks");
        assert!(Text::default().is_empty());
    }

    #[test]
    fn both_forms_read_from_yaml() {
        let plain: RawText = yaml_serde::from_str("Locks").expect("a string");
        assert!(matches!(plain, RawText::Plain(t) if t == "Locks"));
        let map: RawText = yaml_serde::from_str("{en: Locks, ru: Блокировки}").expect("a map");
        assert!(matches!(map, RawText::Each(m) if m["ru"] == "Блокировки"));
    }
}
