//! The bot's commands. The `bot-commands` file at the repository root (BotFather's `command - description`
//! format) is the one list: it is registered with `setMyCommands` at start, and a test holds the enum
//! below to it.

use teloxide::types::BotCommand;
use teloxide::utils::command::BotCommands;

/// The file, compiled in.
pub const BOT_COMMANDS: &str = include_str!("../../bot-commands");

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
}

/// The commands of the `bot-commands` file, in order.
pub fn registered() -> Vec<BotCommand> {
    BOT_COMMANDS
        .lines()
        .filter_map(|line| line.split_once(" - "))
        .map(|(command, description)| BotCommand::new(command.trim(), description.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_and_the_enum_list_the_same_commands() {
        let from_enum: Vec<(String, String)> = Command::bot_commands()
            .into_iter()
            .map(|c| (c.command.trim_start_matches('/').to_owned(), c.description))
            .collect();
        let from_file: Vec<(String, String)> = registered()
            .into_iter()
            .map(|c| (c.command, c.description))
            .collect();
        assert_eq!(from_file, from_enum);
        assert_eq!(
            from_file.len(),
            BOT_COMMANDS.lines().count(),
            "every line parses"
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
    }
}
