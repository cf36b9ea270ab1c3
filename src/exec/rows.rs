//! Reads the rows of any statement as text. The statement is described first (with the types its values
//! will be bound as) for its column names; then it runs wrapped as
//! `SELECT json_build_array(q.c1, …)::text FROM (<sql>) AS q(c1, …) LIMIT n`, so that every PostgreSQL
//! type arrives as JSON and each value becomes text: strings as they are, numbers and booleans as
//! written, arrays and objects as JSON, null as `None`. Rows are streamed, never collected here.
//!
//! Statements that cannot be wrapped (`SHOW`, `EXPLAIN`, several statements in one action step) run with
//! the simple protocol when they have no parameters: its rows arrive as PostgreSQL's text output. Views
//! never run more than one statement: describing the SQL refuses several.

use futures_util::TryStreamExt;
use sqlx::postgres::{PgArguments, PgTypeInfo};
use sqlx::query::Query as SqlxQuery;
use sqlx::{Column, Connection, Either, Executor, PgConnection, Postgres, Row, Statement, Type};

use super::{ExecError, Query, Target, Value};

/// `json_build_array` takes at most 100 arguments (`FUNC_MAX_ARGS`).
const JSON_CHUNK: usize = 100;

/// Who runs the statement: views are read-only and must have unique column names; action steps may
/// modify data and report how many rows they touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    View,
    Action,
}

/// What running a statement gave.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    pub columns: Vec<String>,
    /// Rows passed to `on_row`.
    pub kept: usize,
    pub truncated: bool,
    /// Rows returned or affected, when known (actions count them all).
    pub affected: Option<u64>,
}

/// Describes `query`, runs it and passes at most `keep` rows to `on_row`.
pub(super) async fn run(
    target: &Target,
    conn: &mut PgConnection,
    query: &Query,
    mode: Mode,
    keep: usize,
    on_row: &mut (dyn FnMut(Vec<Option<String>>) + Send),
) -> Result<Fetched, ExecError> {
    // A cached description would outlive DDL that changed the statement's columns.
    conn.clear_cached_statements()
        .await
        .map_err(|e| target.error(e))?;
    if mode == Mode::Action && query.params.is_empty() && may_be_several(&query.sql) {
        // Describing several statements would fail, and abort the step's transaction with it.
        return simple(target, conn, &query.sql, None, mode, keep, on_row).await;
    }
    let types: Vec<PgTypeInfo> = query.params.iter().map(type_of).collect();
    let statement = conn
        .prepare_with(&query.sql, &types)
        .await
        .map_err(|e| target.error(e))?;
    let columns: Vec<String> = statement
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    if mode == Mode::View {
        check_unique(&columns)?;
    }
    if columns.is_empty() {
        let done = bind(&query.sql, &query.params)
            .execute(&mut *conn)
            .await
            .map_err(|e| target.error(e))?;
        return Ok(Fetched {
            affected: (mode == Mode::Action).then_some(done.rows_affected()),
            ..Fetched::default()
        });
    }
    let has_params = !query.params.is_empty();
    match wrapping(&query.sql, mode, has_params) {
        Some(wrap) => json(target, conn, query, columns, wrap, mode, keep, on_row).await,
        None if !has_params => {
            simple(target, conn, &query.sql, Some(columns), mode, keep, on_row).await
        }
        None => Err(ExecError::Invalid(format!(
            "a {} statement with arguments cannot return rows here",
            first_keyword(&query.sql)
        ))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    /// `FROM (<sql>) AS q(…)`
    Subquery,
    /// `WITH q(…) AS (<sql>)`, for `INSERT … RETURNING` and the like.
    Cte,
}

fn wrapping(sql: &str, mode: Mode, has_params: bool) -> Option<Wrap> {
    match first_keyword(sql).as_str() {
        "(" | "SELECT" | "VALUES" | "TABLE" => Some(Wrap::Subquery),
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => Some(Wrap::Cte),
        // A data-modifying WITH must stay at the top level: in actions, run it unwrapped when possible.
        "WITH" if mode == Mode::View || has_params => Some(Wrap::Subquery),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)] // the one place where everything meets
async fn json(
    target: &Target,
    conn: &mut PgConnection,
    query: &Query,
    columns: Vec<String>,
    wrap: Wrap,
    mode: Mode,
    keep: usize,
    on_row: &mut (dyn FnMut(Vec<Option<String>>) + Send),
) -> Result<Fetched, ExecError> {
    let sql = wrapped_sql(query.sql.as_str(), columns.len(), wrap, mode, keep);
    let chunks = columns.len().div_ceil(JSON_CHUNK);
    let mut fetched = Fetched {
        columns,
        ..Fetched::default()
    };
    let mut rows = bind(&sql, &query.params).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.map_err(|e| target.error(e))? {
        if mode == Mode::Action {
            let total: i64 = row.try_get(chunks).map_err(|e| target.error(e))?;
            fetched.affected = Some(u64::try_from(total).unwrap_or(0));
        }
        if fetched.kept == keep {
            fetched.truncated = true;
            continue;
        }
        let mut values = Vec::with_capacity(fetched.columns.len());
        for chunk in 0..chunks {
            let text: String = row.try_get(chunk).map_err(|e| target.error(e))?;
            split_json_array(&text, &mut values)?;
        }
        if values.len() != fetched.columns.len() {
            return Err(ExecError::Invalid(format!(
                "a row had {} values for {} columns",
                values.len(),
                fetched.columns.len()
            )));
        }
        on_row(values);
        fetched.kept += 1;
    }
    Ok(fetched)
}

/// The wrapped statement; it keeps the `$n` parameters of `sql`.
fn wrapped_sql(sql: &str, columns: usize, wrap: Wrap, mode: Mode, keep: usize) -> String {
    let sql = sql.trim_end().trim_end_matches(';');
    let aliases: Vec<String> = (1..=columns).map(|i| format!("c{i}")).collect();
    let mut list: Vec<String> = aliases
        .chunks(JSON_CHUNK)
        .map(|chunk| {
            let args: Vec<String> = chunk.iter().map(|a| format!("q.{a}")).collect();
            format!("json_build_array({})::text", args.join(", "))
        })
        .collect();
    if mode == Mode::Action {
        list.push("count(*) OVER ()".to_owned());
    }
    let list = list.join(", ");
    let aliases = aliases.join(", ");
    let limit = keep.saturating_add(1).min(i64::MAX as usize);
    // The newline before `)` ends a trailing `--` comment of the statement.
    match wrap {
        Wrap::Subquery => format!("SELECT {list} FROM (\n{sql}\n) AS q({aliases}) LIMIT {limit}"),
        Wrap::Cte => format!("WITH q({aliases}) AS (\n{sql}\n) SELECT {list} FROM q LIMIT {limit}"),
    }
}

/// Runs `sql` with the simple protocol: values arrive as text. In actions every statement runs to the
/// end; the rows kept are the first result's.
async fn simple(
    target: &Target,
    conn: &mut PgConnection,
    sql: &str,
    columns: Option<Vec<String>>,
    mode: Mode,
    keep: usize,
    on_row: &mut (dyn FnMut(Vec<Option<String>>) + Send),
) -> Result<Fetched, ExecError> {
    let mut fetched = Fetched {
        columns: columns.clone().unwrap_or_default(),
        ..Fetched::default()
    };
    let mut rows_seen = 0_u64;
    let mut affected = 0_u64;
    // Rows of later results (several statements) are counted, not shown.
    let mut first_result_done = false;
    let mut results = sqlx::raw_sql(sql).fetch_many(&mut *conn);
    while let Some(item) = results.try_next().await.map_err(|e| target.error(e))? {
        match item {
            Either::Left(done) => {
                affected += done.rows_affected();
                first_result_done |= rows_seen > 0;
            }
            Either::Right(row) if !first_result_done => {
                rows_seen += 1;
                if columns.is_none() && fetched.columns.is_empty() {
                    fetched.columns = row.columns().iter().map(|c| c.name().to_owned()).collect();
                }
                if fetched.kept == keep {
                    fetched.truncated = true;
                    if mode == Mode::View {
                        break;
                    }
                    continue;
                }
                let mut values = Vec::with_capacity(row.len());
                for i in 0..row.len() {
                    let value: Option<String> =
                        row.try_get_unchecked(i).map_err(|e| target.error(e))?;
                    values.push(value);
                }
                on_row(values);
                fetched.kept += 1;
            }
            Either::Right(_) => {}
        }
    }
    if mode == Mode::Action {
        fetched.affected = Some(affected);
    }
    Ok(fetched)
}

/// Whether `sql` has a `;` before its end (perhaps only inside a literal: then the simple protocol runs
/// one statement, which is fine too).
fn may_be_several(sql: &str) -> bool {
    sql.trim_end().trim_end_matches(';').contains(';')
}

fn check_unique(columns: &[String]) -> Result<(), ExecError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut duplicates: Vec<&str> = Vec::new();
    for column in columns {
        if !seen.insert(column.as_str()) && !duplicates.contains(&column.as_str()) {
            duplicates.push(column);
        }
    }
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(ExecError::Invalid(format!(
            "column names must be unique; repeated: {}",
            duplicates.join(", ")
        )))
    }
}

fn type_of(value: &Value) -> PgTypeInfo {
    match value {
        Value::Null | Value::Text(_) => <String as Type<Postgres>>::type_info(),
        Value::Int(_) => <i64 as Type<Postgres>>::type_info(),
        Value::Bool(_) => <bool as Type<Postgres>>::type_info(),
    }
}

/// `sql` with `params` bound in order, as an unnamed statement.
pub(super) fn bind<'q>(sql: &'q str, params: &'q [Value]) -> SqlxQuery<'q, Postgres, PgArguments> {
    params
        .iter()
        .fold(sqlx::query(sql).persistent(false), |q, value| match value {
            Value::Null => q.bind(None::<&str>),
            Value::Text(text) => q.bind(text.as_str()),
            Value::Int(int) => q.bind(*int),
            Value::Bool(b) => q.bind(*b),
        })
}

/// The statement's first keyword, upper-cased, after blanks and comments; `(` for a parenthesis.
pub(super) fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, next)| next);
        } else {
            break;
        }
    }
    if rest.starts_with('(') {
        return "(".to_owned();
    }
    rest.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Appends the elements of the JSON array `text` to `out`: strings decoded, `null` as `None`, anything
/// else as written.
pub(super) fn split_json_array(text: &str, out: &mut Vec<Option<String>>) -> Result<(), ExecError> {
    let bad = || ExecError::Invalid(format!("unexpected row from the server: {text:.80}"));
    let bytes = text.as_bytes();
    let skip = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut i = skip(0);
    if bytes.get(i) != Some(&b'[') {
        return Err(bad());
    }
    i = skip(i + 1);
    if bytes.get(i) == Some(&b']') {
        return Ok(());
    }
    loop {
        let end = element_end(bytes, i).ok_or_else(bad)?;
        let raw = text[i..end].trim_end();
        out.push(if raw.starts_with('"') {
            Some(serde_json::from_str::<String>(raw).map_err(|_| bad())?)
        } else if raw == "null" {
            None
        } else {
            Some(raw.to_owned())
        });
        i = skip(end);
        match bytes.get(i) {
            Some(b',') => i = skip(i + 1),
            Some(b']') => return Ok(()),
            _ => return Err(bad()),
        }
    }
}

/// Where the array element starting at `start` ends (exclusive); all delimiters are ASCII, so the index
/// is a character boundary.
fn element_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0_usize;
    let mut in_string = false;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' if depth == 0 => return Some(i),
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' if depth == 0 => return Some(i),
                b if depth == 0 && b.is_ascii_whitespace() => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        split_json_array(text, &mut out)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn elements_become_text() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            split(r#"[1.50, "a \"q\"\n\u00e9", null, true, [1,2], {"a" : [1, "]"]}, -2e5]"#),
            vec![
                s("1.50"),
                s("a \"q\"\né"),
                None,
                s("true"),
                s("[1,2]"),
                s(r#"{"a" : [1, "]"]}"#),
                s("-2e5")
            ]
        );
        assert_eq!(split("[]"), Vec::<Option<String>>::new());
        assert_eq!(split(r#"["{", "\\"]"#), vec![s("{"), s("\\")]);
    }

    #[test]
    fn malformed_arrays_are_errors() {
        for text in ["", "1", "[1", r#"["a]"#, "[1 2]"] {
            assert!(split_json_array(text, &mut Vec::new()).is_err(), "{text}");
        }
    }

    #[test]
    fn first_keyword_skips_comments() {
        assert_eq!(first_keyword("  -- x\n/* y */ select 1"), "SELECT");
        assert_eq!(first_keyword("(SELECT 1)"), "(");
        assert_eq!(
            first_keyword("with q as (select 1) select * from q"),
            "WITH"
        );
    }

    #[test]
    fn wide_rows_are_split_into_chunks() {
        let sql = wrapped_sql("SELECT 1;\n", 101, Wrap::Subquery, Mode::View, 10);
        assert!(sql.starts_with("SELECT json_build_array(q.c1, "));
        assert!(sql.contains("q.c100)::text, json_build_array(q.c101)::text FROM (\nSELECT 1\n)"));
        let aliases: Vec<String> = (1..=101).map(|i| format!("c{i}")).collect();
        assert!(sql.ends_with(&format!(" AS q({}) LIMIT 11", aliases.join(", "))));
        let cte = wrapped_sql(
            "DELETE FROM t RETURNING id",
            1,
            Wrap::Cte,
            Mode::Action,
            100,
        );
        assert_eq!(
            cte,
            "WITH q(c1) AS (\nDELETE FROM t RETURNING id\n) SELECT json_build_array(q.c1)::text, count(*) OVER () FROM q LIMIT 101"
        );
    }

    #[test]
    fn duplicate_columns_are_named() {
        let columns = ["a", "b", "a", "a"].map(String::from);
        let err = check_unique(&columns).map(|()| "ok").unwrap_or_else(|e| {
            assert_eq!(e.to_string(), "column names must be unique; repeated: a");
            "err"
        });
        assert_eq!(err, "err");
    }
}
