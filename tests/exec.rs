//! Running views and actions on a real PostgreSQL: values of every type come back as text, views cannot
//! write and time out, actions commit, roll back, stop on cancel and timeout (SQL and shell), bound values
//! and shell arguments stay data, a dead server is reported without its password, names resolve.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use postgram::domain::DatabaseName;
use postgram::exec::{
    ActionPlan, ActionReport, CancellationToken, ExecError, Outcome, Query, StepFailure, StepKind,
    StepPlan, Target, Value, ViewOptions,
};
use sqlx::PgPool;
use support::{Backend, TestState};

fn target_for(dsn: &str) -> Target {
    let name = DatabaseName::parse("main").unwrap();
    support::main_targets(dsn).get(&name).unwrap()
}

/// A fresh database, a direct pool on it and a target for it; `None` when PostgreSQL is not there.
async fn setup(schema: &str) -> Option<(TestState, PgPool, Target)> {
    let state = TestState::new(Backend::Postgres).await?;
    let pool = state.postgres_pool().await;
    if !schema.is_empty() {
        sqlx::raw_sql(schema).execute(&pool).await.unwrap();
    }
    let target = target_for(&state.url);
    Some((state, pool, target))
}

fn query(sql: &str, params: Vec<Value>) -> Query {
    Query {
        sql: sql.to_owned(),
        params,
    }
}

fn options(timeout_secs: u64, max_rows: usize) -> ViewOptions {
    ViewOptions {
        timeout: Duration::from_secs(timeout_secs),
        max_rows,
    }
}

fn sql_step(name: &str, sql: &str, params: Vec<Value>, transaction: bool) -> StepPlan {
    StepPlan {
        name: name.to_owned(),
        kind: StepKind::Sql {
            query: query(sql, params),
            transaction,
            split: false,
        },
        timeout: None,
    }
}

fn shell_step(name: &str, command: &str, env: &[(&str, &str)]) -> StepPlan {
    StepPlan {
        name: name.to_owned(),
        kind: StepKind::Shell {
            command: command.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        },
        timeout: None,
    }
}

async fn run(target: &Target, steps: Vec<StepPlan>, timeout: Duration) -> ActionReport {
    let plan = ActionPlan { steps, timeout };
    target
        .run_action(&plan, &|_| {}, CancellationToken::new())
        .await
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_return_every_type_as_text() {
    let Some((state, pool, target)) = setup("CREATE TABLE t (a int)").await else {
        return;
    };
    let sql = r#"
        SELECT 42::int AS i, 1.50::numeric AS n, '2024-01-02 03:04:05+00'::timestamptz AS ts,
               '1 day 02:03:04'::interval AS iv, E'it''s "q"\nline ✓ 日本' AS "Text col",
               NULL::text AS nothing, ARRAY[1, 2, 3] AS arr, '{"a": [1, "x"]}'::jsonb AS j,
               true AS b, $1::text AS p, $2 + 1 AS next, $3::bool AS flag -- trailing comment"#;
    let params = vec![Value::Text("bound".into()), Value::Int(41), Value::Null];
    let table = target
        .view_table(&query(sql, params), &options(5, 10))
        .await
        .unwrap();
    assert_eq!(
        table.columns,
        [
            "i", "n", "ts", "iv", "Text col", "nothing", "arr", "j", "b", "p", "next", "flag"
        ]
    );
    assert!(!table.truncated);
    let row = &table.rows[0];
    let text = |i: usize| row[i].as_deref().unwrap();
    assert_eq!(text(0), "42");
    assert_eq!(text(1), "1.50");
    let ts = chrono::DateTime::parse_from_rfc3339(text(2)).unwrap();
    assert_eq!(ts.timestamp(), 1_704_164_645);
    assert_eq!(text(3), "1 day 02:03:04");
    assert_eq!(text(4), "it's \"q\"\nline ✓ 日本");
    assert_eq!(row[5], None);
    assert_eq!(text(6), "[1,2,3]");
    assert_eq!(text(7), r#"{"a": [1, "x"]}"#);
    assert_eq!(text(8), "true");
    assert_eq!(text(9), "bound");
    assert_eq!(text(10), "42");
    assert_eq!(row[11], None);

    // Statements that cannot be wrapped still show their rows.
    let show = target
        .view_table(&query("SHOW work_mem", vec![]), &options(5, 10))
        .await
        .unwrap();
    assert_eq!(
        (show.columns.as_slice(), show.rows.len()),
        (&["work_mem".to_owned()][..], 1)
    );

    // A view sees the table as it is now, not as an earlier run described it.
    let select = query("SELECT * FROM t", vec![]);
    assert_eq!(
        target
            .view_table(&select, &options(5, 10))
            .await
            .unwrap()
            .columns,
        ["a"]
    );
    sqlx::query("ALTER TABLE t ADD COLUMN b text")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        target
            .view_table(&select, &options(5, 10))
            .await
            .unwrap()
            .columns,
        ["a", "b"]
    );

    let duplicate = target
        .view_table(
            &query("SELECT 1 AS a, 2 AS b, 3 AS a", vec![]),
            &options(5, 10),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, ExecError::Invalid(m) if m.contains("repeated: a")),
        "{duplicate:?}"
    );
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_stop_at_max_rows_and_stream_large_results() {
    let Some((state, _pool, target)) = setup("").await else {
        return;
    };
    let ten = query("SELECT g FROM generate_series(1, 10) g", vec![]);
    let table = target.view_table(&ten, &options(5, 3)).await.unwrap();
    assert_eq!(
        table.rows,
        [
            [Some("1".to_owned())],
            [Some("2".to_owned())],
            [Some("3".to_owned())]
        ]
    );
    assert!(table.truncated);
    let all = target.view_table(&ten, &options(5, 10)).await.unwrap();
    assert_eq!((all.rows.len(), all.truncated), (10, false));

    let big = query(
        "SELECT g, md5(g::text) AS h, now() AS at FROM generate_series(1, 100000) g",
        vec![],
    );
    let (mut rows, mut last) = (0_usize, None);
    let summary = target
        .view(&big, &options(30, 100_000), &mut |row| {
            rows += 1;
            last = row[0].clone();
        })
        .await
        .unwrap();
    assert_eq!(
        (summary.rows, summary.truncated, rows),
        (100_000, false, 100_000)
    );
    assert_eq!(last.as_deref(), Some("100000"));

    let choices = target
        .choices(
            "SELECT g::text AS value, 'Item ' || g AS label FROM generate_series(1, 5) g",
            Duration::from_secs(5),
            3,
        )
        .await
        .unwrap();
    assert_eq!(choices[2], ("3".to_owned(), "Item 3".to_owned()));
    assert_eq!(choices.len(), 3);
    let unlabelled = target
        .choices("SELECT 'x' AS value", Duration::from_secs(5), 3)
        .await
        .unwrap();
    assert_eq!(unlabelled, [("x".to_owned(), "x".to_owned())]);
    let missing = target
        .choices("SELECT 1 AS v", Duration::from_secs(5), 3)
        .await;
    assert!(matches!(missing, Err(ExecError::Invalid(_))), "{missing:?}");
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_cannot_write_and_time_out() {
    let Some((state, pool, target)) =
        setup("CREATE TABLE t (a int); INSERT INTO t VALUES (1)").await
    else {
        return;
    };
    for sql in [
        "INSERT INTO t VALUES (2)",
        "INSERT INTO t VALUES (3) RETURNING a",
        "WITH d AS (DELETE FROM t RETURNING a) SELECT * FROM d",
        "SELECT 1 AS x; DELETE FROM t",
    ] {
        let err = target
            .view_table(&query(sql, vec![]), &options(5, 10))
            .await
            .unwrap_err();
        assert!(matches!(&err, ExecError::Sql { .. }), "{sql}: {err:?}");
        if sql.starts_with("INSERT") {
            assert!(
                err.to_string().contains("read-only transaction"),
                "{sql}: {err}"
            );
            assert!(err.to_string().contains("SQLSTATE 25006"), "{err}");
        }
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 1);

    // A 1 s timeout: the 10 s sleep is cut off (had it run out, the view would have returned its row).
    let err = target
        .view_table(&query("SELECT pg_sleep(10)", vec![]), &options(1, 10))
        .await
        .unwrap_err();
    assert_eq!(err, ExecError::TimedOut);
    // The pool is still usable after the timeout.
    let one = target
        .view_table(&query("SELECT 1 AS one", vec![]), &options(5, 1))
        .await;
    assert_eq!(one.unwrap().rows, [[Some("1".to_owned())]]);
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_transactions_vacuum_and_shell_in_order() {
    let Some((state, pool, target)) = setup("CREATE TABLE t (id int)").await else {
        return;
    };
    let steps = vec![
        sql_step("insert", "INSERT INTO t VALUES (1)", vec![], true),
        sql_step(
            "insert returning",
            "INSERT INTO t VALUES ($1) RETURNING id, 'x'::text AS tag",
            vec![Value::Int(2)],
            true,
        ),
        sql_step("vacuum", "VACUUM (ANALYZE) t", vec![], false),
        sql_step(
            "several statements",
            "CREATE TABLE u (a int); INSERT INTO u VALUES (1), (2)",
            vec![],
            true,
        ),
        shell_step(
            "shell",
            "echo \"name=$PG_ARG_NAME\"; psql -Atc 'select current_database()'; echo oops >&2",
            &[("PG_ARG_NAME", "hello world")],
        ),
    ];
    let plan = ActionPlan {
        steps,
        timeout: Duration::from_secs(30),
    };
    let seen = Mutex::new(Vec::new());
    let progress = |p: postgram::exec::Progress| seen.lock().unwrap().push((p.step, p.of, p.name));
    let report = target
        .run_action(&plan, &progress, CancellationToken::new())
        .await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:#?}");
    assert_eq!(seen.lock().unwrap().len(), 5);
    assert_eq!(seen.lock().unwrap()[2], (3, 5, "vacuum".to_owned()));
    let [insert, returning, vacuum, several, shell] = report.steps.as_slice() else {
        panic!("{report:#?}");
    };
    assert_eq!(
        (insert.rows_affected, insert.table.is_none()),
        (Some(1), true)
    );
    let table = returning.table.as_ref().unwrap();
    assert_eq!(table.columns, ["id", "tag"]);
    assert_eq!(table.rows, [[Some("2".to_owned()), Some("x".to_owned())]]);
    assert_eq!(returning.rows_affected, Some(1));
    assert!(vacuum.table.is_none());
    assert_eq!(several.rows_affected, Some(2));
    assert_eq!(shell.exit_code, Some(0));
    let database = state.url.rsplit('/').next().unwrap();
    assert_eq!(shell.stdout_tail, format!("name=hello world\n{database}\n"));
    assert_eq!(shell.stderr_tail, "oops\n");
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM u").await, 2);
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_rolls_back_and_stops_the_action() {
    let Some((state, pool, target)) = setup("CREATE TABLE t (id int)").await else {
        return;
    };
    let steps = vec![
        sql_step("insert", "INSERT INTO t VALUES (1)", vec![], true),
        sql_step("divide", "SELECT 1 / 0", vec![], true),
        sql_step("never", "INSERT INTO t VALUES (3)", vec![], true),
    ];
    let report = run(&target, steps, Duration::from_secs(10)).await;
    let Outcome::Failed { step: 2, error } = &report.outcome else {
        panic!("{report:#?}");
    };
    let error = error.to_string();
    assert!(
        error.contains("division by zero") && error.contains("22012"),
        "{error}"
    );
    assert_eq!(report.steps.len(), 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 0);

    // `split` commits what came before; only the transaction it starts is rolled back.
    let mut second = sql_step("insert 2", "INSERT INTO t VALUES (2)", vec![], true);
    if let StepKind::Sql { split, .. } = &mut second.kind {
        *split = true;
    }
    let steps = vec![
        sql_step("insert 1", "INSERT INTO t VALUES (1)", vec![], true),
        second,
        sql_step("divide", "SELECT 1 / 0", vec![], true),
    ];
    let report = run(&target, steps, Duration::from_secs(10)).await;
    assert!(
        matches!(report.outcome, Outcome::Failed { step: 3, .. }),
        "{report:#?}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 1);
    sqlx::query("TRUNCATE t").execute(&pool).await.unwrap();

    // A failing shell step reports its exit code and output, after committing what came before it.
    let steps = vec![
        sql_step("insert", "INSERT INTO t VALUES (1)", vec![], true),
        shell_step("fail", "echo bad >&2; exit 3", &[]),
    ];
    let report = run(&target, steps, Duration::from_secs(10)).await;
    assert!(matches!(
        &report.outcome,
        Outcome::Failed {
            step: 2,
            error: StepFailure::Exited(3)
        }
    ));
    assert_eq!(
        (
            report.steps[1].exit_code,
            report.steps[1].stderr_tail.as_str()
        ),
        (Some(3), "bad\n")
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 1);
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_timeout_stop_sql_and_shell_steps() {
    let Some((state, pool, target)) = setup("").await else {
        return;
    };
    let pid_file = state.dir.path().join("sleep.pid");
    let shell = format!("sleep 60 & echo $! > '{}'; wait", pid_file.display());
    for (step, is_shell) in [
        (
            sql_step("sleep", "SELECT pg_sleep(60)", vec![], true),
            false,
        ),
        (shell_step("sleep", &shell, &[]), true),
    ] {
        let plan = ActionPlan {
            steps: vec![step],
            timeout: Duration::from_secs(120),
        };
        let cancel = CancellationToken::new();
        let task = {
            let (target, cancel) = (target.clone(), cancel.clone());
            tokio::spawn(async move { target.run_action(&plan, &|_| {}, cancel).await })
        };
        // Cancelled once the step is under way: the query is on the server, or the shell wrote its pid.
        support::eventually("the step to be under way", Duration::from_secs(20), || {
            let pool = pool.clone();
            let pid_written = pid_file.exists();
            async move {
                let sleeping = count(
                    &pool,
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' \
                     AND state = 'active' AND pid <> pg_backend_pid()",
                )
                .await;
                (if is_shell { pid_written } else { sleeping > 0 }).then_some(())
            }
        })
        .await;
        cancel.cancel();
        // Had the cancel not reached it, the 60 s step would have run to its end and succeeded.
        let report = task.await.unwrap();
        assert_eq!(
            report.outcome,
            Outcome::Cancelled { step: 1 },
            "{report:#?}"
        );
    }
    let sleeping = count(
        &pool,
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'",
    )
    .await;
    assert_eq!(sleeping, 0);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    // Gone, or a zombie waiting for a reaper that this container may not have.
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "sleep still running: {stat}"
    );

    // 1 s timeouts cut off 10 s steps: had they run out, the steps would have succeeded.
    let report = run(
        &target,
        vec![sql_step("sleep", "SELECT pg_sleep(10)", vec![], false)],
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(report.outcome, Outcome::TimedOut { step: 1 }, "{report:#?}");
    let mut shell = shell_step("sleep", "sleep 10", &[]);
    shell.timeout = Some(Duration::from_secs(1));
    let report = run(&target, vec![shell], Duration::from_secs(60)).await;
    assert_eq!(report.outcome, Outcome::TimedOut { step: 1 }, "{report:#?}");
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_cut_off_mid_step_leaves_nothing_committed() {
    let Some((state, pool, target)) = setup("CREATE TABLE t (a int)").await else {
        return;
    };
    let plan = ActionPlan {
        steps: vec![
            sql_step("insert", "INSERT INTO t VALUES (1)", vec![], true),
            sql_step("sleep", "SELECT pg_sleep(2)", vec![], true),
        ],
        timeout: Duration::from_secs(60),
    };
    let sleeping = "SELECT count(*) FROM pg_stat_activity \
                    WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid() \
                    AND datname = current_database()";
    {
        // The caller gives up (a client hanging up drops the future) while the step sleeps.
        let run = target.run_action(&plan, &|_| {}, CancellationToken::new());
        tokio::pin!(run);
        let asleep = support::eventually("the step to sleep", Duration::from_secs(10), || async {
            (count(&pool, sleeping).await == 1).then_some(())
        });
        tokio::select! {
            report = &mut run => panic!("the action ended first: {report:#?}"),
            () = asleep => {}
        }
    }
    support::eventually("the sleep to end", Duration::from_secs(10), || async {
        (count(&pool, sleeping).await == 0).then_some(())
    })
    .await;
    // Later actions on the same target must not inherit the cut-off one's transaction.
    for _ in 0..3 {
        let report = run(
            &target,
            vec![sql_step("noop", "SELECT 1", vec![], true)],
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(report.outcome, Outcome::Succeeded, "{report:#?}");
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 0);
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_step_cut_off_takes_its_whole_process_group_with_it() {
    let Some((state, _pool, target)) = setup("").await else {
        return;
    };
    let pid_file = state.dir.path().join("grandchild.pid");
    let shell = format!("sleep 60 & echo $! > '{}'; wait", pid_file.display());
    let plan = ActionPlan {
        steps: vec![shell_step("sleep", &shell, &[])],
        timeout: Duration::from_secs(120),
    };
    let pid = {
        // The run is dropped mid-step, as when its task is torn down.
        let run = target.run_action(&plan, &|_| {}, CancellationToken::new());
        tokio::pin!(run);
        let started = support::eventually("the grandchild", Duration::from_secs(10), || async {
            let pid = std::fs::read_to_string(&pid_file).ok()?;
            (!pid.trim().is_empty()).then(|| pid.trim().to_owned())
        });
        tokio::select! {
            report = &mut run => panic!("the action ended first: {report:#?}"),
            pid = started => pid,
        }
    };
    support::eventually("the grandchild to die", Duration::from_secs(10), || async {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for a reaper that this container may not have.
        (stat.is_empty() || stat.contains(") Z ")).then_some(())
    })
    .await;
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_values_and_shell_arguments_stay_data() {
    let Some((state, pool, target)) = setup("CREATE TABLE t (v text)").await else {
        return;
    };
    let marker = state.dir.path().join("pwned");
    let marker = marker.display();
    let corpus = vec![
        "'; DROP TABLE t; --".to_owned(),
        format!("$(touch {marker})"),
        format!("`touch {marker}`"),
        "line one\nline two\r\n".to_owned(),
        "\"double\" \\ back $HOME ${PATH} %s {} :name $1".to_owned(),
        "x".repeat(100 * 1024),
    ];
    for value in &corpus {
        let insert = sql_step(
            "insert",
            "INSERT INTO t (v) VALUES ($1) RETURNING v",
            vec![Value::Text(value.clone())],
            true,
        );
        let echo = shell_step("echo", "printf '%s' \"$PG_ARG_V\"", &[("PG_ARG_V", value)]);
        let report = run(&target, vec![insert, echo], Duration::from_secs(10)).await;
        assert_eq!(report.outcome, Outcome::Succeeded, "{report:#?}");
        let returned = &report.steps[0].table.as_ref().unwrap().rows[0][0];
        assert_eq!(returned.as_deref(), Some(value.as_str()));
        let tail: String = value
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert_eq!(report.steps[1].stdout_tail, tail);

        let seen = target
            .view_table(
                &query("SELECT $1::text AS v", vec![Value::Text(value.clone())]),
                &options(5, 1),
            )
            .await
            .unwrap();
        assert_eq!(seen.rows[0][0].as_deref(), Some(value.as_str()));
    }
    assert_eq!(
        count(&pool, "SELECT count(*) FROM t").await,
        corpus.len() as i64
    );
    assert!(!std::path::Path::new(&marker.to_string()).exists());

    // A NUL byte is refused by PostgreSQL and by the shell's environment, as data.
    let nul = "a\0b".to_owned();
    let err = target
        .view_table(
            &query("SELECT $1::text AS v", vec![Value::Text(nul.clone())]),
            &options(5, 1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::Sql { message } if message.contains("22021")),
        "{err:?}"
    );
    let report = run(
        &target,
        vec![shell_step("echo", "true", &[("PG_ARG_V", &nul)])],
        Duration::from_secs(5),
    )
    .await;
    assert!(
        matches!(
            &report.outcome,
            Outcome::Failed {
                step: 1,
                error: StepFailure::ShellStart(_)
            }
        ),
        "{report:#?}"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM t").await,
        corpus.len() as i64
    );
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_is_unreachable_without_its_password() {
    let port = support::free_port();
    let target = target_for(&format!(
        "postgres://admin:s3cret%2Fpw@127.0.0.1:{port}/app"
    ));
    let env: BTreeMap<String, String> = target.shell_env().into_iter().collect();
    assert_eq!(env["PGHOST"], "127.0.0.1");
    assert_eq!(env["PGPORT"], port.to_string());
    assert_eq!(
        (env["PGUSER"].as_str(), env["PGDATABASE"].as_str()),
        ("admin", "app")
    );
    assert_eq!(env["PGPASSWORD"], "s3cret/pw");
    assert!(!format!("{target:?}").contains("s3cret"));

    let err = target
        .view_table(&query("SELECT 1 AS one", vec![]), &options(5, 1))
        .await
        .unwrap_err();
    let ExecError::Unreachable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("main"), "{message}");
    for secret in ["s3cret", "postgres://", &port.to_string()] {
        assert!(
            !message.contains(secret) && !format!("{err:?}").contains(secret),
            "{message}"
        );
    }
    let report = run(
        &target,
        vec![sql_step("one", "SELECT 1", vec![], true)],
        Duration::from_secs(10),
    )
    .await;
    assert!(
        matches!(&report.outcome, Outcome::Failed { step: 1, error } if error.to_string().contains("unreachable"))
    );

    let no_password = target_for("postgres://admin@127.0.0.1:5432/app");
    assert!(
        no_password
            .shell_env()
            .iter()
            .all(|(k, _)| k != "PGPASSWORD")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_and_roles_resolve_to_quoted_names() {
    let role = format!("Weird Role {}", std::process::id());
    let schema = format!(
        r#"CREATE TABLE "Weird Name" (a int); CREATE SCHEMA s; CREATE TABLE s.plain (a int);
           DROP ROLE IF EXISTS "{role}"; CREATE ROLE "{role}""#
    );
    let Some((state, pool, target)) = setup(&schema).await else {
        return;
    };
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        target.server_major().await.unwrap(),
        u32::try_from(version / 10000).unwrap()
    );
    let relation = |name: &'static str| {
        let target = target.clone();
        async move { target.resolve_relation(name).await.unwrap() }
    };
    assert_eq!(
        relation("\"Weird Name\"").await.as_deref(),
        Some("\"Weird Name\"")
    );
    assert_eq!(relation("s.plain").await.as_deref(), Some("s.plain"));
    assert_eq!(
        relation("public.\"Weird Name\"").await.as_deref(),
        Some("\"Weird Name\"")
    );
    assert_eq!(relation("pg_class").await.as_deref(), Some("pg_class"));
    for missing in [
        "missing",
        "Weird Name",
        "s.missing",
        "a b c",
        "a.b.c.d",
        "'; DROP TABLE t; --",
    ] {
        assert_eq!(relation(missing).await, None, "{missing}");
    }

    let quoted = format!("\"{role}\"");
    assert_eq!(
        target.resolve_role(&role).await.unwrap(),
        Some(quoted.clone())
    );
    assert_eq!(target.resolve_role(&quoted).await.unwrap(), Some(quoted));
    assert_eq!(
        target.resolve_role("postgres").await.unwrap().as_deref(),
        Some("postgres")
    );
    assert_eq!(target.resolve_role("no_such_role").await.unwrap(), None);

    sqlx::raw_sql(&format!(r#"DROP ROLE "{role}""#))
        .execute(&pool)
        .await
        .unwrap();
    state.cleanup().await;
}
