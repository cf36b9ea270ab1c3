//! The state store's contract, run against SQLite and PostgreSQL alike: deduplication across replicas,
//! outbox leases (claim once, expiry, owner-only completion, release) and concurrent claimers.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use postgram::access::{Actor, Via};
use postgram::alertmanager;
use postgram::config::{Secret, StateLocation};
use postgram::store::{
    AlertOutcome, AlertRoute, IngestRequest, JobKind, QueueSends, RunStart, Store,
};
use serde_json::json;
use support::{Backend, TestState, alert, notification};

on_both_backends!(
    migrations_apply_once_and_reopen,
    two_replicas_store_a_notification_once,
    a_claimed_job_is_not_claimed_again_until_its_lease_expires,
    only_the_lease_holder_completes_or_retries,
    concurrent_claimers_never_share_a_job,
    a_feed_tells_each_alert_once_and_spreads_a_backlog,
    a_feed_bumped_during_a_step_is_due_again,
    a_person_answers_one_question_at_a_time_in_a_chat,
    concurrent_fallbacks_queue_one_email_per_incident_and_address,
    leases_last_while_renewed_and_a_dead_process_gives_them_back,
    old_buttons_are_forgotten_except_on_alerts_still_firing,
    runs_older_than_any_run_can_last_are_recorded_as_interrupted,
    every_job_carries_the_traceparent_of_the_notification_that_caused_it,
);

fn location(state: &TestState) -> StateLocation {
    match state.backend {
        Backend::Sqlite => StateLocation::Sqlite(state.sqlite_path()),
        Backend::Postgres => StateLocation::Postgres(Secret::new(state.url.clone())),
    }
}

async fn open(state: &TestState) -> Store {
    Store::connect(&location(state)).await.expect("store opens")
}

/// The outbox figures of Telegram sends at `now`.
async fn sends(store: &Store, now: DateTime<Utc>) -> postgram::store::OutboxStats {
    let stats = store.outbox_stats(now).await.unwrap();
    stats
        .into_iter()
        .find(|s| s.kind == JobKind::TelegramSend)
        .unwrap()
}

/// Does what the delivery worker does with a few new alerts: claims every due feed and queues its
/// alerts as sends due at `now`.
async fn queue_feeds(store: &Store, now: DateTime<Utc>) {
    let lease = Duration::from_secs(5);
    for feed in store.claim_feeds("feeds", now, lease, 100).await.unwrap() {
        let news = store
            .feed_news(&feed.recipient, feed.told_upto)
            .await
            .unwrap();
        let all = QueueSends {
            after: feed.told_upto,
            upto: news.newest,
            limit: news.count,
            first: now,
            spacing: Duration::ZERO,
            lease: None,
            behind_digest: false,
        };
        store.queue_sends(&feed.recipient, &all).await.unwrap();
        let mut settled = feed.clone();
        settled.told_upto = news.newest;
        settled.queued_upto = news.newest;
        assert!(
            store
                .settle_feed(&settled, "feeds", now, None)
                .await
                .unwrap()
        );
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + seconds, 0).unwrap()
}

/// A notification of `count` firing alerts, each for three Telegram recipients.
fn request(count: usize, received_at: DateTime<Utc>) -> IngestRequest {
    let alerts = (0..count)
        .map(|i| {
            alert(
                &format!("cccc{i:012}"),
                "firing",
                "2026-11-22T11:00:00Z",
                json!({ "alertname": "X", "cluster": "main" }),
            )
        })
        .collect();
    let body = notification("firing", alerts).to_string();
    let parsed = alertmanager::parse(body.as_bytes()).unwrap();
    let routes = parsed
        .alerts
        .iter()
        .map(|_| AlertRoute {
            database: Some(postgram::domain::DatabaseName::parse("main").unwrap()),
            telegram: vec!["user:1".into(), "user:2".into(), "chat:-5".into()],
            email: vec![],
            escalate_at: received_at,
        })
        .collect();
    IngestRequest {
        received_at,
        body,
        notification: parsed,
        routes,
        traceparent: None,
    }
}

async fn migrations_apply_once_and_reopen(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(1, at(0))]).await.unwrap();
    queue_feeds(&store, at(0)).await;
    store.close().await;
    let reopened = open(&state).await;
    let sends = sends(&reopened, at(0)).await;
    assert_eq!(sends.due, 3, "data survives reopening");
    reopened.close().await;
    state.cleanup().await;
}

async fn two_replicas_store_a_notification_once(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let (a, b) = (open(&state).await, open(&state).await);
    let batch = [request(5, at(0))];
    let (left, right) = tokio::join!(a.ingest(&batch), b.ingest(&batch));
    queue_feeds(&a, at(0)).await;
    let outcomes: Vec<AlertOutcome> = left
        .unwrap()
        .into_iter()
        .chain(right.unwrap())
        .flat_map(|o| o.alerts)
        .collect();
    let opened = outcomes
        .iter()
        .filter(|o| matches!(o, AlertOutcome::Opened(_)))
        .count();
    assert_eq!(opened, 5, "{outcomes:?}");
    assert_eq!(sends(&a, at(0)).await.due, 15);
    a.close().await;
    b.close().await;
    state.cleanup().await;
}

async fn a_claimed_job_is_not_claimed_again_until_its_lease_expires(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(1, at(0))]).await.unwrap();
    queue_feeds(&store, at(0)).await;
    let lease = Duration::from_secs(30);

    // Not due before it was created.
    assert!(
        store
            .claim_jobs("w1", at(-1), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let first = store.claim_jobs("w1", at(1), lease, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|j| j.kind == JobKind::TelegramSend && j.attempts == 1)
    );
    let rest = store.claim_jobs("w2", at(2), lease, 10).await.unwrap();
    assert_eq!(rest.len(), 1, "only the unclaimed job is left");
    assert!(
        store
            .claim_jobs("w2", at(20), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let sends = sends(&store, at(10)).await;
    assert_eq!(
        (sends.due, sends.oldest_due_age),
        (3, Duration::from_secs(10))
    );

    // w1 crashed: its leases expire and the jobs come back, one attempt later.
    let again = store.claim_jobs("w3", at(31), lease, 10).await.unwrap();
    let ids: Vec<i64> = again.iter().map(|j| j.id).collect();
    assert_eq!(ids, first.iter().map(|j| j.id).collect::<Vec<_>>());
    assert!(again.iter().all(|j| j.attempts == 2));

    // A clean shutdown releases leases at once.
    assert_eq!(store.release_leases("w3").await.unwrap(), 2);
    assert_eq!(
        store
            .claim_jobs("w4", at(31), lease, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    store.close().await;
    state.cleanup().await;
}

async fn only_the_lease_holder_completes_or_retries(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(1, at(0))]).await.unwrap();
    queue_feeds(&store, at(0)).await;
    let lease = Duration::from_secs(30);
    let jobs = store.claim_jobs("w1", at(0), lease, 10).await.unwrap();
    let (done, retried) = (&jobs[0], &jobs[1]);

    assert!(
        !store
            .complete_job(done.id, "w2", at(1), "42")
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_job(done.id, "w1", at(1), "42")
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_job(done.id, "w1", at(2), "43")
            .await
            .unwrap(),
        "done once"
    );

    assert!(
        !store
            .retry_job(retried.id, "w2", at(60), "429")
            .await
            .unwrap()
    );
    assert!(
        store
            .retry_job(retried.id, "w1", at(60), "HTTP 502")
            .await
            .unwrap()
    );
    // The retried job waits for its time; the third is still leased to w1.
    assert!(
        store
            .claim_jobs("w2", at(5), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let sends = sends(&store, at(5)).await;
    assert_eq!((sends.due, sends.scheduled), (1, 1));
    let later = store.claim_jobs("w2", at(61), lease, 10).await.unwrap();
    let later_ids: HashSet<i64> = later.iter().map(|j| j.id).collect();
    assert!(later_ids.contains(&retried.id) && !later_ids.contains(&done.id));
    store.close().await;
    state.cleanup().await;
}

async fn concurrent_claimers_never_share_a_job(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(100, at(0))]).await.unwrap();
    queue_feeds(&store, at(0)).await;
    store.close().await;

    // Four workers in two "replicas" (separate pools), racing for 300 jobs, 7 at a time.
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let replica = open(&state).await;
        tasks.push(tokio::spawn(async move {
            let owner = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let jobs = replica
                    .claim_jobs(&owner, at(1), Duration::from_secs(60), 7)
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    break;
                }
                for job in jobs {
                    assert!(
                        replica
                            .complete_job(job.id, &owner, at(1), "ok")
                            .await
                            .unwrap()
                    );
                    mine.push(job.id);
                }
            }
            replica.close().await;
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every job performed");
    assert_eq!(unique.len(), 300, "no job performed twice");
    state.cleanup().await;
}

async fn a_feed_tells_each_alert_once_and_spreads_a_backlog(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(3, at(0))]).await.unwrap();
    let lease = Duration::from_secs(60);
    // One feed per recipient, each claimed once.
    let feeds = store.claim_feeds("w1", at(0), lease, 100).await.unwrap();
    let mut recipients: Vec<&str> = feeds.iter().map(|f| f.recipient.as_str()).collect();
    recipients.sort_unstable();
    assert_eq!(recipients, ["chat:-5", "user:1", "user:2"]);
    assert!(
        store
            .claim_feeds("w2", at(1), lease, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let feed = feeds.into_iter().find(|f| f.recipient == "user:1").unwrap();
    let news = store.feed_news("user:1", feed.told_upto).await.unwrap();
    assert_eq!(news.count, 3);

    // The digest's figures are counted in the store.
    let lines = store
        .digest_lines("user:1", feed.told_upto, news.newest)
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!((lines[0].alertname.as_str(), lines[0].count), ("X", 3));
    assert_eq!(lines[0].database.as_deref(), Some("main"));

    // Behind a digest the sends follow a second apart from 10 s on; queued twice, each is queued once.
    let backlog = QueueSends {
        after: feed.queued_upto,
        upto: news.newest,
        limit: 2,
        first: at(10),
        spacing: Duration::from_secs(1),
        lease: None,
        behind_digest: true,
    };
    let queued = store.queue_sends("user:1", &backlog).await.unwrap();
    assert_eq!(queued.len(), 2, "at most the limit");
    let rest = QueueSends {
        limit: 100,
        first: at(12),
        ..backlog
    };
    assert_eq!(store.queue_sends("user:1", &rest).await.unwrap().len(), 1);
    assert!(store.queue_sends("user:1", &rest).await.unwrap().is_empty());
    let due = |t| {
        let store = store.clone();
        async move {
            let jobs = store
                .claim_jobs("w2", at(t), Duration::from_millis(1), 100)
                .await
                .unwrap();
            jobs.into_iter().filter(|j| j.recipient == "user:1").count()
        }
    };
    assert_eq!(due(9).await, 0);
    assert_eq!(due(10).await, 1);
    assert_eq!(
        due(12).await,
        3,
        "all due by then (the first again: its short lease expired)"
    );

    // Settled with nothing left, the feed rests; an ingest meanwhile makes it due again at once.
    let mut settled = feed.clone();
    settled.told_upto = news.newest;
    settled.queued_upto = news.newest;
    assert!(
        store
            .settle_feed(&settled, "w1", at(13), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_feeds("w1", at(14), lease, 100)
            .await
            .unwrap()
            .iter()
            .all(|f| f.recipient != "user:1")
    );
    let before = store.claim_feeds("w3", at(200), lease, 100).await.unwrap();
    assert!(
        before.iter().all(|f| f.recipient != "user:1"),
        "a rested feed is not due"
    );
    store.close().await;
    state.cleanup().await;
}

async fn a_feed_bumped_during_a_step_is_due_again(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(1, at(0))]).await.unwrap();
    let lease = Duration::from_secs(60);
    let feeds = store.claim_feeds("w1", at(0), lease, 100).await.unwrap();
    let mut feed = feeds.into_iter().find(|f| f.recipient == "user:1").unwrap();
    let news = store.feed_news("user:1", feed.told_upto).await.unwrap();
    assert_eq!(news.count, 1);
    // A second alert arrives while w1 works the feed (the first of the two is a repeat).
    store.ingest(&[request(2, at(1))]).await.unwrap();
    feed.told_upto = news.newest;
    feed.queued_upto = news.newest;
    assert!(store.settle_feed(&feed, "w1", at(2), None).await.unwrap());
    let again = store.claim_feeds("w1", at(2), lease, 100).await.unwrap();
    let feed = again
        .into_iter()
        .find(|f| f.recipient == "user:1")
        .expect("due again at once");
    assert_eq!(feed.told_upto, news.newest, "where the last step left it");
    let news = store.feed_news("user:1", feed.told_upto).await.unwrap();
    assert_eq!(news.count, 1, "only the new alert is news");
    // Only the lease holder settles a feed.
    assert!(!store.settle_feed(&feed, "w2", at(3), None).await.unwrap());
    store.close().await;
    state.cleanup().await;
}

async fn a_person_answers_one_question_at_a_time_in_a_chat(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    let now = Utc::now();
    let later = now + chrono::Duration::minutes(10);
    let dialogue = postgram::store::Dialogue {
        id: 0,
        user_id: 7,
        chat_id: 7,
        kind: postgram::store::DialogueKind::View,
        database: postgram::domain::DatabaseName::parse("main").unwrap(),
        alias: "sessions".to_owned(),
        arguments: Default::default(),
        secrets: Default::default(),
        awaiting: None,
        choices: Vec::new(),
        confirm: true,
    };
    let first = store.start_dialogue(&dialogue, now).await.unwrap();
    assert_eq!(
        store.dialogue(first).await.unwrap().as_ref(),
        Some(&postgram::store::Dialogue {
            id: first,
            ..dialogue.clone()
        })
    );
    // Elsewhere (another chat, another person) nothing is touched.
    let other = postgram::store::Dialogue {
        chat_id: 8,
        ..dialogue.clone()
    };
    let kept = store.start_dialogue(&other, now).await.unwrap();
    let role = postgram::domain::Role::Admin;
    let invite = store
        .start_invite("main", role, "@owner", 7, 7, now, later)
        .await
        .unwrap();
    assert_eq!(
        store.dialogue(first).await.unwrap(),
        None,
        "the invite replaced the dialogue"
    );
    assert!(store.dialogue(kept).await.unwrap().is_some());
    assert_eq!(
        store
            .awaiting_invite(7, 7, now)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(invite)
    );
    store.start_dialogue(&dialogue, now).await.unwrap();
    assert_eq!(
        store.awaiting_invite(7, 7, now).await.unwrap(),
        None,
        "the dialogue replaced the invite"
    );
    state.cleanup().await;
}

async fn concurrent_fallbacks_queue_one_email_per_incident_and_address(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    // Two replicas, as two admins' failing sends racing to fall back.
    let (a, b) = (open(&state).await, open(&state).await);
    let outcome = a.ingest(&[request(1, at(0))]).await.unwrap();
    let Some(AlertOutcome::Opened(incident)) = outcome[0].alerts.first().cloned() else {
        panic!("{outcome:?}");
    };
    let reason = json!({ "reason": "unreachable" });
    let tries = (0..8).map(|i| {
        let store = if i % 2 == 0 { &a } else { &b };
        let address = if i < 6 {
            "dba@example.org"
        } else {
            "other@example.org"
        };
        store.enqueue_once(JobKind::EmailFallback, incident, address, &reason, at(1))
    });
    let added = futures_util::future::join_all(tries).await;
    let added: Vec<bool> = added.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        added.iter().filter(|added| **added).count(),
        2,
        "one job per address: {added:?}"
    );
    let stats = a.outbox_stats(at(2)).await.unwrap();
    let fallbacks = stats
        .iter()
        .find(|s| s.kind == JobKind::EmailFallback)
        .unwrap();
    assert_eq!(fallbacks.due, 2);
    a.close().await;
    b.close().await;
    state.cleanup().await;
}

async fn leases_last_while_renewed_and_a_dead_process_gives_them_back(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    store.ingest(&[request(1, at(0))]).await.unwrap();
    queue_feeds(&store, at(0)).await;
    let lease = Duration::from_secs(5);
    let held = store.claim_jobs("w1", at(1), lease, 10).await.unwrap();
    assert_eq!(held.len(), 3);
    // w1 lives and renews: at 8 s its jobs are still its own.
    assert_eq!(store.renew_leases("w1", at(4) + lease).await.unwrap(), 3);
    assert!(
        store
            .claim_jobs("w2", at(8), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // w1 stops renewing: from 9 s on, another worker takes them.
    assert_eq!(
        store
            .claim_jobs("w2", at(9), lease, 10)
            .await
            .unwrap()
            .len(),
        3
    );

    // A process killed with its leases: a process starting on the same SQLite file takes them back
    // at once (it owns the file); on PostgreSQL another replica may hold them, and they lapse instead.
    store.close().await;
    let restarted = open(&state).await;
    let taken_back = restarted.take_back_dead_leases().await.unwrap();
    let claimable = restarted.claim_jobs("w3", at(10), lease, 10).await.unwrap();
    match backend {
        Backend::Sqlite => assert_eq!((taken_back, claimable.len()), (3, 3)),
        Backend::Postgres => assert_eq!((taken_back, claimable.len()), (0, 0)),
    }
    restarted.close().await;
    state.cleanup().await;
}

async fn old_buttons_are_forgotten_except_on_alerts_still_firing(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    let outcome = store.ingest(&[request(1, at(0))]).await.unwrap();
    let Some(AlertOutcome::Opened(incident)) = outcome[0].alerts.first().cloned() else {
        panic!("{outcome:?}");
    };
    store.record_message(incident, 7, 70, at(0)).await.unwrap();
    let one = |token: &str| vec![(token.to_owned(), format!("payload of {token}"))];
    // The firing alert's message, a list sent as long ago, and a list sent lately.
    store
        .put_buttons(7, 70, &one("alert"), at(0))
        .await
        .unwrap();
    store.put_buttons(7, 71, &one("old"), at(0)).await.unwrap();
    store
        .put_buttons(7, 72, &one("new"), at(100))
        .await
        .unwrap();
    assert_eq!(store.prune_buttons(at(50)).await.unwrap(), 1);
    let kept = |message: i64, token: &'static str| {
        let store = store.clone();
        async move { store.button(7, message, token).await.unwrap().is_some() }
    };
    assert!(
        kept(70, "alert").await,
        "an alert still firing keeps its buttons"
    );
    assert!(
        !kept(71, "old").await,
        "an old list's buttons are forgotten"
    );
    assert!(kept(72, "new").await, "a recent list keeps its buttons");
    store.close().await;
    state.cleanup().await;
}

async fn runs_older_than_any_run_can_last_are_recorded_as_interrupted(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    let actor = Actor {
        name: "token:ops".to_owned(),
        telegram_id: None,
        via: Via::Rest,
    };
    let detail = json!({ "action": "nap" });
    let start = |database: &'static str| RunStart {
        actor: &actor,
        action: "action",
        database,
        detail: &detail,
    };
    // One run whose process died long ago (on any replica), one that may well be running now.
    let dead = store.start_run(&start("main"), at(0)).await.unwrap();
    let alive = store.start_run(&start("billing"), at(100)).await.unwrap();
    let ended = store.end_runs_started_before(at(50), at(120)).await;
    assert_eq!(ended.unwrap(), 1);
    let outcome = |id: i64| {
        let store = store.clone();
        async move { store.recorded_run(id).await.unwrap().unwrap() }
    };
    let dead = outcome(dead).await;
    assert_eq!(dead.outcome.as_deref(), Some("interrupted"));
    assert_eq!(dead.finished_at, Some(at(120)));
    assert_eq!(outcome(alive).await.outcome.as_deref(), Some("running"));
    store.close().await;
    state.cleanup().await;
}

async fn every_job_carries_the_traceparent_of_the_notification_that_caused_it(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let store = open(&state).await;
    let firing = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let resolving = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut opened = request(1, at(0));
    opened.routes[0].email = vec!["dba@example.com".to_owned()];
    opened.traceparent = Some(firing.to_owned());
    store.ingest(&[opened]).await.unwrap();
    // Sends queued later from the recipients' feeds, and the escalation email queued at once.
    queue_feeds(&store, at(0)).await;
    let lease = Duration::from_secs(60);
    let jobs = store.claim_jobs("w1", at(0), lease, 100).await.unwrap();
    let mut kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "email.escalation",
            "telegram.send",
            "telegram.send",
            "telegram.send"
        ]
    );
    assert!(
        jobs.iter()
            .all(|j| j.traceparent.as_deref() == Some(firing)),
        "{jobs:?}"
    );
    for job in &jobs {
        assert!(
            store
                .complete_job(job.id, "w1", at(1), "sent")
                .await
                .unwrap()
        );
    }

    // The resolution's edits and emails belong to the notification that resolved it.
    let body = notification(
        "resolved",
        vec![alert(
            "cccc000000000000",
            "resolved",
            "2026-11-22T11:00:00Z",
            json!({ "alertname": "X", "cluster": "main" }),
        )],
    )
    .to_string();
    let parsed = alertmanager::parse(body.as_bytes()).unwrap();
    let mut resolved = request(1, at(2));
    resolved.notification = parsed;
    resolved.body = body;
    resolved.traceparent = Some(resolving.to_owned());
    let outcome = store.ingest(&[resolved]).await.unwrap();
    assert!(
        matches!(outcome[0].alerts[0], AlertOutcome::Resolved(_)),
        "{outcome:?}"
    );
    let jobs = store.claim_jobs("w1", at(2), lease, 100).await.unwrap();
    let mut kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "email.resolved",
            "telegram.edit",
            "telegram.edit",
            "telegram.edit"
        ]
    );
    assert!(
        jobs.iter()
            .all(|j| j.traceparent.as_deref() == Some(resolving)),
        "{jobs:?}"
    );

    // Without trace export nothing is stored: jobs carry none.
    let mut untraced = request(1, at(3));
    untraced.notification.alerts[0].fingerprint = "dddd000000000000".to_owned();
    store.ingest(&[untraced]).await.unwrap();
    queue_feeds(&store, at(3)).await;
    let jobs = store.claim_jobs("w1", at(3), lease, 100).await.unwrap();
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert!(jobs.iter().all(|j| j.traceparent.is_none()), "{jobs:?}");
    store.close().await;
    state.cleanup().await;
}
