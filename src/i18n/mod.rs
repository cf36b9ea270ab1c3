//! Every text a person reads comes from here: Fluent message catalogues in `locales/<lang>/*.ftl`,
//! compiled into the binary, one bundle per [`Lang`]. Code names a message by its key and passes its
//! placeholders ([`tr!`]); the catalogue decides the words, their order and plural forms (Russian has
//! four: 1 алерт · 2 алерта · 5 алертов · 1,5 алерта), so no rendering module holds prose of its own —
//! `tests/catalogues.rs` checks that, and that both languages have every key with the same placeholders.
//!
//! A language is chosen per reader: a person's from Telegram's `language_code` unless they chose one
//! with `/language`; a group chat's and an email's from its database's `language` (config).

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the service speaks. Adding one: a variant here, its code in [`Lang::ALL`] and
/// [`Lang::code`], and a `locales/<code>/` directory with every file of [`FILES`] (README: "Adding a
/// language").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

/// The catalogue files, by area; each language has all of them (compiled in, so a missing one fails
/// the build).
pub const FILES: &[&str] = &["common", "alerts", "bot", "runs", "members", "charts"];

/// Each language's catalogue files, in [`FILES`] order.
const SOURCES: &[(Lang, [&str; 6])] = &[
    (
        Lang::En,
        [
            include_str!("../../locales/en/common.ftl"),
            include_str!("../../locales/en/alerts.ftl"),
            include_str!("../../locales/en/bot.ftl"),
            include_str!("../../locales/en/runs.ftl"),
            include_str!("../../locales/en/members.ftl"),
            include_str!("../../locales/en/charts.ftl"),
        ],
    ),
    (
        Lang::Ru,
        [
            include_str!("../../locales/ru/common.ftl"),
            include_str!("../../locales/ru/alerts.ftl"),
            include_str!("../../locales/ru/bot.ftl"),
            include_str!("../../locales/ru/runs.ftl"),
            include_str!("../../locales/ru/members.ftl"),
            include_str!("../../locales/ru/charts.ftl"),
        ],
    ),
];

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// The ISO 639-1 code: what config, `/language` and Telegram's `language_code` say.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// The language a config or a person names exactly (`en`, `ru`; any case).
    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim();
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(code))
    }

    /// The language for Telegram's `language_code` (an IETF tag such as `ru`, `ru-RU`, `en-GB`): its
    /// primary subtag when the service speaks it, English otherwise.
    pub fn from_telegram(code: Option<&str>) -> Lang {
        code.and_then(|code| Lang::parse(code.split(['-', '_']).next().unwrap_or_default()))
            .unwrap_or_default()
    }

    /// The message `key`, with `args` in its placeholders. A key or placeholder the catalogue lacks is
    /// logged and shown as the key itself (tests make sure none is: `tests/catalogues.rs`).
    pub fn text(self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        CATALOGUES[&self].format(self, key, args)
    }

    /// A duration in its two largest units: `3 d 4 h`, `2 h 5 min`, `5 min 3 s`, `42 s` (and
    /// `2 ч 5 мин`). Negative durations count as zero.
    pub fn duration(self, seconds: i64) -> String {
        let s = seconds.max(0);
        let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
        let unit = |key: &str, count: i64| self.text(key, &[("count", Arg::from(count))]);
        let (first, second) = match (d, h, m) {
            (0, 0, 0) => return unit("duration-seconds", sec),
            (0, 0, _) => (unit("duration-minutes", m), ("duration-seconds", sec)),
            (0, _, _) => (unit("duration-hours", h), ("duration-minutes", m)),
            _ => (unit("duration-days", d), ("duration-hours", h)),
        };
        match second {
            (_, 0) => first,
            (key, count) => format!("{first} {}", unit(key, count)),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A value for a placeholder: text or a number (numbers choose plural forms).
pub struct Arg<'a>(FluentValue<'a>);

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg(FluentValue::from(value))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(value: &'a String) -> Self {
        Arg(FluentValue::from(value.as_str()))
    }
}

impl From<String> for Arg<'_> {
    fn from(value: String) -> Self {
        Arg(FluentValue::from(value))
    }
}

macro_rules! numeric_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(value: $t) -> Self {
                Arg(FluentValue::from(value))
            }
        }
    )*};
}
numeric_args!(i32, i64, u32, u64, usize, f64);

/// The message `key` in `lang`, with named placeholders:
/// `tr!(lang, "digest-title", count = n, database = &name)`.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:literal $(,)?) => {
        $crate::i18n::Lang::text($lang, $key, &[])
    };
    ($lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::Lang::text(
            $lang,
            $key,
            &[$((stringify!($name), $crate::i18n::Arg::from($value))),+],
        )
    };
}

/// One language's bundle of every catalogue file.
struct Catalogue(FluentBundle<FluentResource>);

impl Catalogue {
    fn load(lang: Lang, sources: &[&str]) -> Catalogue {
        let id = lang
            .code()
            .parse()
            .unwrap_or_else(|_| unreachable!("every Lang code is a language identifier"));
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Telegram and mail clients show Unicode isolation marks as stray characters.
        bundle.set_use_isolating(false);
        for (file, source) in FILES.iter().zip(sources) {
            let resource = FluentResource::try_new((*source).to_owned()).unwrap_or_else(
                |(resource, errors)| {
                    tracing::error!(%lang, file, ?errors, "message catalogue has syntax errors");
                    resource
                },
            );
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(%lang, file, ?errors, "message catalogue repeats keys");
            }
        }
        Catalogue(bundle)
    }

    fn format(&self, lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        let Some(pattern) = self.0.get_message(key).and_then(|m| m.value()) else {
            tracing::error!(%lang, key, "message key missing from the catalogue");
            return key.to_owned();
        };
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, Arg(value)) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        let text = self
            .0
            .format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(%lang, key, ?errors, "message could not be formatted");
        }
        text.into_owned()
    }
}

static CATALOGUES: LazyLock<HashMap<Lang, Catalogue>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, sources)| (*lang, Catalogue::load(*lang, sources)))
        .collect()
});

/// The catalogue files' text for `lang`, by file name (for the tests that compare languages).
pub fn sources(lang: Lang) -> Vec<(&'static str, &'static str)> {
    SOURCES
        .iter()
        .filter(|(l, _)| *l == lang)
        .flat_map(|(_, sources)| FILES.iter().copied().zip(sources.iter().copied()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_codes_choose_russian_for_any_ru_tag() {
        assert_eq!(Lang::from_telegram(Some("ru")), Lang::Ru);
        assert_eq!(Lang::from_telegram(Some("ru-RU")), Lang::Ru);
        assert_eq!(Lang::from_telegram(Some("en-GB")), Lang::En);
        assert_eq!(Lang::from_telegram(Some("de")), Lang::En);
        assert_eq!(Lang::from_telegram(None), Lang::En);
        assert_eq!(Lang::parse("RU"), Some(Lang::Ru));
        assert_eq!(Lang::parse("russian"), None);
    }

    #[test]
    fn durations_read_in_each_language() {
        assert_eq!(Lang::En.duration(42), "42 s");
        assert_eq!(Lang::En.duration(7_500), "2 h 5 min");
        assert_eq!(Lang::En.duration(7_200), "2 h");
        assert_eq!(Lang::Ru.duration(7_500), "2 ч 5 мин");
        assert_eq!(Lang::Ru.duration(3 * 86_400 + 4 * 3600), "3 д 4 ч");
        assert_eq!(Lang::Ru.duration(-5), "0 с");
    }

    #[test]
    fn a_missing_key_shows_itself() {
        assert_eq!(Lang::En.text("no-such-key", &[]), "no-such-key");
        assert_eq!(tr!(Lang::Ru, "language-name"), "Русский");
    }
}
