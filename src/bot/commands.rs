//! The bot's commands. The `bot-commands` file at the repository root (BotFather's `command - description`
//! format) is the one list, in English; `bot-commands.ru` is the same list in Russian. Each is
//! registered with `setMyCommands` at start (English for everyone, Russian for Russian Telegram apps)
//! and listed by `/help`, and a test holds the enum below to both.

use teloxide::types::BotCommand;
use teloxide::utils::command::BotCommands;

use crate::i18n::Lang;

/// The English file, compiled in.
pub const BOT_COMMANDS: &str = include_str!("../../bot-commands");
/// The Russian file, compiled in.
pub const BOT_COMMANDS_RU: &str = include_str!("../../bot-commands.ru");

/// The commands file of `lang`.
pub fn file(lang: Lang) -> &'static str {
    match lang {
        Lang::En => BOT_COMMANDS,
        Lang::Ru => BOT_COMMANDS_RU,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BotCommands)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    #[command(description = "link your Telegram account and see which databases you administer")]
    Start(String),
    #[command(description = "what this bot does and how to use it")]
    Help,
    #[command(description = "firing alerts of your databases, with their buttons")]
    Alerts,
    #[command(description = "incident history, optionally of one database: /incidents main")]
    Incidents(String),
    #[command(description = "silences created here, with a button to expire each")]
    Silences,
    #[command(description = "run a read-only view of a database")]
    Views,
    #[command(description = "run an action on a database")]
    Actions,
    #[command(description = "charts of a database's metrics, over 1h to 7d")]
    Charts(String),
    #[command(description = "a health card of each database, optionally of one: /status main")]
    Status(String),
    #[command(description = "the latest entries of the audit log (owners)")]
    Audit,
    #[command(description = "members of each database: add, invite, change role, remove (owners)")]
    Admins,
    #[command(description = "API tokens: list and revoke; /tokens NAME creates one (owners)")]
    Tokens(String),
    #[command(description = "who you are to this bot")]
    Whoami,
    #[command(description = "the language I speak to you: /language ru, en or auto")]
    Language(String),
}

/// The commands of `lang`'s file, in order.
pub fn registered(lang: Lang) -> Vec<BotCommand> {
    file(lang)
        .lines()
        .filter_map(|line| line.split_once(" - "))
        .map(|(command, description)| BotCommand::new(command.trim(), description.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_and_the_enum_list_the_same_commands() {
        let from_enum: Vec<(String, String)> = Command::bot_commands()
            .into_iter()
            .map(|c| (c.command.trim_start_matches('/').to_owned(), c.description))
            .collect();
        let from_file: Vec<(String, String)> = registered(Lang::En)
            .into_iter()
            .map(|c| (c.command, c.description))
            .collect();
        assert_eq!(from_file, from_enum);
        let names = |commands: &[(String, String)]| -> Vec<String> {
            commands.iter().map(|(name, _)| name.clone()).collect()
        };
        for lang in Lang::ALL {
            let commands: Vec<(String, String)> = registered(lang)
                .into_iter()
                .map(|c| (c.command, c.description))
                .collect();
            assert_eq!(
                names(&commands),
                names(&from_enum),
                "{lang}: the same commands in the same order"
            );
            assert_eq!(
                commands.len(),
                file(lang).lines().count(),
                "{lang}: every line parses"
            );
        }
        let russian = registered(Lang::Ru);
        assert!(
            russian.iter().all(|c| c
                .description
                .chars()
                .any(|ch| ('а'..='я').contains(&ch.to_lowercase().next().unwrap_or(ch)))),
            "every Russian description is in Russian: {russian:?}"
        );
    }

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(
            Command::parse("/incidents main", "postgram_bot").ok(),
            Some(Command::Incidents("main".to_owned()))
        );
        assert_eq!(
            Command::parse("/start@postgram_bot", "postgram_bot").ok(),
            Some(Command::Start(String::new()))
        );
        assert!(Command::parse("/drop_database", "postgram_bot").is_err());
        assert_eq!(
            Command::parse("/start inv_abc", "postgram_bot").ok(),
            Some(Command::Start("inv_abc".to_owned()))
        );
        assert_eq!(
            Command::parse("/tokens@postgram_bot grafana", "postgram_bot").ok(),
            Some(Command::Tokens("grafana".to_owned()))
        );
        assert_eq!(
            Command::parse("/language ru", "postgram_bot").ok(),
            Some(Command::Language("ru".to_owned()))
        );
    }
}
