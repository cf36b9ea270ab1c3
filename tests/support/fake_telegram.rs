//! A fake Telegram Bot API server for the integration tests. The service reaches it only through its
//! ordinary `telegram.api_url` setting. It answers like the Bot API, so teloxide deserialises every
//! answer, and it enforces Telegram's limits (message length, HTML markup, button data, photo
//! uploads, no-op edits, flood control), so a test fails when the service would break them against
//! the real API. Photos (`sendPhoto`, `editMessageMedia`) live in the `photos` module.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::sync::Notify;

mod photos;

/// The bot's user id, as `getMe` and the `from` of its messages give it.
pub const BOT_ID: i64 = 7_000_000_001;
/// The bot's username, as `getMe` gives it (deep links are `t.me/<this>?start=…`).
pub const BOT_USERNAME: &str = "postgram_test_bot";
const MAX_TEXT_UTF16: usize = 4096;
const MAX_CALLBACK_DATA: usize = 64;
const HTML_TAGS: &str = "b strong i em u ins s strike del a code pre span tg-spoiler blockquote";
const BUTTON_ACTIONS: &str = "url callback_data web_app login_url switch_inline_query \
    switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text callback_game pay";
const POLL_CONFLICT: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
const WEBHOOK_CONFLICT: &str = "Conflict: can't use getUpdates method while webhook is active; \
    use deleteWebhook to delete the webhook first";
// nginx's page when Telegram's backend is unreachable; clients must cope with a non-JSON answer.
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// A running fake Bot API; clones share the server and its state.
#[derive(Clone)]
pub struct FakeTelegram {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    pushed: Arc<Notify>,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method name in the Bot API's spelling (`sendMessage`, even when sent as `SendMessage`).
    pub method: String,
    /// The JSON body or the multipart fields; `{}` for an empty body, `null` for an unreadable one.
    /// An uploaded file (a part with a file name) shows as `{ "file_name": …, "size": … }`.
    pub params: Value,
    pub at: Instant,
    /// The HTTP status answered; 0 while the answer is pending (a delay fault, a long poll).
    pub status: u16,
    /// The fault injected into this call, if any.
    pub fault: Option<Fault>,
}

/// A message the bot sent, as it stands after edits.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
    /// As sent: the HTML source when the parse mode was HTML. A photo's caption (empty without one).
    pub text: String,
    /// The PNG or JPEG of a photo message, as last sent or replaced by `editMessageMedia`.
    pub photo: Option<Vec<u8>>,
    /// The inline keyboard as sent; `None` when absent or empty.
    pub reply_markup: Option<Value>,
    /// Any other `reply_markup` as sent: a reply keyboard, `force_reply` or `remove_keyboard`.
    /// Telegram shows it to the user but never echoes it in the message.
    pub reply_keyboard: Option<Value>,
    pub edits: u32,
    pub sent_at: Instant,
}

/// A failure injected with [`FakeTelegram::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with a Bot API error body. Note that teloxide sleeps 10 s after
    /// any 5xx answer before returning the error.
    Status(u16),
    /// Handle the call normally but answer only after this long, so that client timeouts happen.
    /// The call still takes effect, as with the real API when a client gives up waiting.
    Delay(Duration),
    /// Handle the call at once but never answer it: the call takes effect and the client never
    /// learns so (an answer lost on the way back).
    Lost,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    messages: Vec<Stored>,
    last_message_id: HashMap<i64, i64>,
    too_many_requests: usize,
    faults: VecDeque<(String, Fault)>,
    /// Per method (lowercase): a repeating pattern of faults, for how many calls, and how many it
    /// has seen.
    patterns: HashMap<String, (Vec<Option<Fault>>, usize, usize)>,
    blocked: HashSet<i64>,
    migrated: HashMap<i64, i64>,
    down: bool,
    unauthorized: bool,
    /// Callback queries answered so far: Telegram takes one answer per query.
    answered: HashSet<String>,
    updates: VecDeque<Value>,
    last_update_id: i64,
    /// The commands registered, by `language_code` (`""`: for every language without its own).
    commands: HashMap<String, Vec<Value>>,
    /// The language each user's Telegram app is set to, when not English (`set_language`).
    languages: HashMap<i64, String>,
    webhook: Option<Value>,
    last_send: HashMap<i64, Instant>,
    group_sends: HashMap<i64, VecDeque<Instant>>,
    global_sends: VecDeque<Instant>,
    /// Numbers each `getUpdates`: a newer one ends the one still waiting, as Telegram does.
    poll_generation: u64,
    poll_conflicts: usize,
}

struct Stored {
    message: SentMessage,
    /// The text, or a photo's caption, as the recipient sees it.
    visible: String,
    date: i64,
    edit_date: Option<i64>,
}

/// A Bot API error answer.
struct Failure {
    code: u16,
    description: String,
    parameters: Option<Value>,
}

fn api_error(code: u16, description: impl Into<String>) -> Failure {
    let description = description.into();
    Failure {
        code,
        description,
        parameters: None,
    }
}

fn bad_request(what: impl std::fmt::Display) -> Failure {
    api_error(400, format!("Bad Request: {what}"))
}

fn failure(code: u16) -> Failure {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason());
    let mut failure = api_error(code, reason.unwrap_or("Error"));
    if code == 429 {
        failure.description = "Too Many Requests: retry after 1".to_owned();
        failure.parameters = Some(json!({ "retry_after": 1 }));
    }
    failure
}

type Answer = Result<Value, Failure>;

/// The files uploaded with a multipart request, by part name.
type Files = HashMap<String, Vec<u8>>;

impl FakeTelegram {
    /// Starts the server on a free loopback port; it lives as long as the test's runtime.
    pub async fn start() -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Telegram");
        let fake = FakeTelegram {
            addr: listener.local_addr().expect("fake Telegram address"),
            state: Arc::default(),
            pushed: Arc::default(),
        };
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            // Telegram takes documents up to 50 MB.
            .layer(axum::extract::DefaultBodyLimit::max(50 * 1024 * 1024))
            .fallback(|| async { reply(Err(failure(404))) })
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake Telegram serves")
        });
        fake
    }

    /// The value for `telegram.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test must not poison the fake for the checks that follow.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request received, in order of arrival.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The requests to one method (case-insensitive), in order of arrival.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let mut calls = self.calls();
        calls.retain(|c| c.method.eq_ignore_ascii_case(method));
        calls
    }

    /// The messages in a chat as they stand now (edited in place, deleted ones gone).
    pub fn messages(&self, chat_id: i64) -> Vec<SentMessage> {
        let mut messages = self.all_messages();
        messages.retain(|m| m.chat_id == chat_id);
        messages
    }

    /// The messages in every chat, in the order they were sent.
    pub fn all_messages(&self) -> Vec<SentMessage> {
        let state = self.state();
        state.messages.iter().map(|s| s.message.clone()).collect()
    }

    /// How many calls were answered 429 Too Many Requests.
    pub fn too_many_requests(&self) -> usize {
        self.state().too_many_requests
    }

    /// `getUpdates` requests ended by a newer one (409 Conflict): two pollers of one bot.
    pub fn poll_conflicts(&self) -> usize {
        self.state().poll_conflicts
    }

    /// Makes the next `times` calls to `method` fail with `fault` (after any already queued).
    pub fn fail_next(&self, method: &str, times: usize, fault: Fault) {
        let faults = std::iter::repeat_n((method.to_owned(), fault), times);
        self.state().faults.extend(faults);
    }

    /// The next `calls` calls to `method` take the faults of `pattern` in turn, over and over (`None`
    /// answers normally): a deterministic share of failing calls, then none. Faults queued with
    /// [`FakeTelegram::fail_next`] come first.
    pub fn fail_share(&self, method: &str, pattern: Vec<Option<Fault>>, calls: usize) {
        let key = method.to_ascii_lowercase();
        self.state().patterns.insert(key, (pattern, calls, 0));
    }

    /// How many calls `fail_share` patterns have seen so far, over all methods.
    pub fn patterned_calls(&self) -> usize {
        self.state().patterns.values().map(|p| p.2).sum()
    }

    /// Makes sends and edits to the chat answer 403 "Forbidden: bot was blocked by the user".
    pub fn block_chat(&self, chat_id: i64) {
        self.state().blocked.insert(chat_id);
    }

    /// Makes sends and edits to `from` answer 400 with `parameters.migrate_to_chat_id = to`.
    pub fn migrate_chat(&self, from: i64, to: i64) {
        self.state().migrated.insert(from, to);
    }

    /// While down, every call answers 502 Bad Gateway with nginx's HTML page, as Telegram does.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// While set, every call answers 401 Unauthorized, as Telegram does for a wrong or revoked token.
    pub fn set_unauthorized(&self, unauthorized: bool) {
        self.state().unauthorized = unauthorized;
    }

    /// Makes flood control behave as if `by` had passed since every accepted send, so tests need
    /// not sleep through rate limits.
    pub fn pass_time(&self, by: Duration) {
        let mut state = self.state();
        let back = |at: &mut Instant| *at = at.checked_sub(by).unwrap_or(*at);
        state.last_send.values_mut().for_each(back);
        state.group_sends.values_mut().flatten().for_each(back);
        state.global_sends.iter_mut().for_each(back);
    }

    /// Sets the language `user`'s Telegram app is set to (an IETF tag such as `ru`): every update
    /// they cause from now on carries it as `from.language_code` (`en` until then).
    pub fn set_language(&self, user: i64, code: &str) {
        self.state().languages.insert(user, code.to_owned());
    }

    /// The commands registered for `language_code` (`None`: for every language without its own).
    pub fn commands(&self, language_code: Option<&str>) -> Vec<Value> {
        let state = self.state();
        state
            .commands
            .get(language_code.unwrap_or_default())
            .cloned()
            .unwrap_or_default()
    }

    /// Queues an update for `getUpdates`, numbering it when it has no `update_id`.
    pub fn push_update(&self, update: Value) {
        let mut state = self.state();
        let update = state.prepare_update(update);
        state.updates.push_back(update);
        drop(state);
        self.pushed.notify_waiters();
    }

    /// POSTs an update to a webhook as Telegram would, returning the HTTP status. Panics when the
    /// webhook cannot be reached.
    pub async fn post_webhook(&self, url: &str, secret: Option<&str>, update: Value) -> u16 {
        let update = self.state().prepare_update(update);
        let mut request = reqwest::Client::new().post(url).json(&update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(e) => panic!("webhook POST to {url} failed: {e}"),
        }
    }

    /// Polls `check` every 20 ms until it returns `Some`; panics naming `what` after `limit`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&FakeTelegram) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            if Instant::now() >= deadline {
                let calls = self.calls();
                let calls: Vec<_> = calls.iter().map(|c| (&c.method, c.status)).collect();
                panic!("timed out after {limit:?} waiting for {what}; calls so far: {calls:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn answer(
        &self,
        index: usize,
        bot: &str,
        method: &str,
        (params, files): &(Value, Files),
    ) -> Answer {
        let fault = {
            let mut state = self.state();
            if state.down {
                return Err(api_error(502, BAD_GATEWAY_PAGE));
            }
            if state.unauthorized {
                return Err(failure(401));
            }
            let fault = state.next_fault(method);
            state.calls[index].fault = fault;
            fault
        };
        match fault {
            Some(Fault::Status(code)) => return Err(failure(code)),
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::Lost) | None => {}
        }
        let answer = if !bot.starts_with("bot") {
            Err(failure(404))
        } else if method.eq_ignore_ascii_case("getUpdates") {
            self.get_updates(params).await
        } else {
            self.state().dispatch(method, params, files, Instant::now())
        };
        if fault == Some(Fault::Lost) {
            // Longer than any client waits; the test's runtime ends this task.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        answer
    }

    async fn get_updates(&self, params: &Value) -> Answer {
        let limit = int(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
        let timeout = int(params, "timeout").unwrap_or(0).clamp(0, 50) as u64;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let generation = {
            let mut state = self.state();
            state.poll_generation += 1;
            state.poll_generation
        };
        // A poll still waiting learns it was superseded.
        self.pushed.notify_waiters();
        loop {
            // Registered before looking, so an update pushed in between still wakes this poll.
            let pushed = self.pushed.notified();
            tokio::pin!(pushed);
            pushed.as_mut().enable();
            {
                let mut state = self.state();
                if state.webhook.is_some() {
                    return Err(api_error(409, WEBHOOK_CONFLICT));
                }
                if state.poll_generation != generation {
                    state.poll_conflicts += 1;
                    return Err(api_error(409, POLL_CONFLICT));
                }
                if let Some(offset) = int(params, "offset") {
                    state
                        .updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                }
                let ready: Vec<Value> = state.updates.iter().take(limit).cloned().collect();
                if !ready.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(Value::Array(ready));
                }
            }
            let _ = tokio::time::timeout_at(deadline, pushed).await;
        }
    }
}

async fn handle(
    Shared(fake): Shared<FakeTelegram>,
    Path((bot, mut method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = params_of(content_type.unwrap_or_default(), &body);
    // Telegram treats method names case-insensitively and teloxide sends "SendMessage": record the
    // documented spelling so tests can compare names directly.
    if let Some(first) = method.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    let recorded = params.as_ref().map_or(Value::Null, |(p, _)| p.clone());
    let call = Call {
        method: method.clone(),
        params: recorded,
        at: Instant::now(),
        status: 0,
        fault: None,
    };
    let index = {
        let mut state = fake.state();
        state.calls.push(call);
        state.calls.len() - 1
    };
    // Spawned so that a call whose client gave up (a delay fault) still takes effect, as it does
    // on the real API.
    let task = tokio::spawn(async move {
        let answer = match params {
            Ok(params) => fake.answer(index, &bot, &method, &params).await,
            Err(failure) => Err(failure),
        };
        let status = answer.as_ref().map_or_else(|f| f.code, |_| 200);
        let mut state = fake.state();
        state.calls[index].status = status;
        state.too_many_requests += usize::from(status == 429);
        answer
    });
    reply(task.await.unwrap_or_else(|_| Err(failure(500))))
}

fn reply(answer: Answer) -> Response {
    let (code, body) = match answer {
        Ok(result) => (200, json!({ "ok": true, "result": result })),
        Err(f) if f.description == BAD_GATEWAY_PAGE => {
            let html = [(header::CONTENT_TYPE, "text/html")];
            return (StatusCode::BAD_GATEWAY, html, BAD_GATEWAY_PAGE).into_response();
        }
        Err(f) => {
            let mut body =
                json!({ "ok": false, "error_code": f.code, "description": f.description });
            if let Some(parameters) = f.parameters {
                body["parameters"] = parameters;
            }
            (f.code, body)
        }
    };
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// The request's parameters from a JSON or multipart body (an empty body is no parameters), and
/// the files it uploads. Multipart fields that Telegram reads as JSON are parsed.
fn params_of(content_type: &str, body: &[u8]) -> Result<(Value, Files), Failure> {
    if content_type.starts_with("multipart/form-data") {
        let parts = multipart_parts(content_type, body);
        let parts = parts.ok_or_else(|| bad_request("invalid multipart body"))?;
        let mut params = json!({});
        let mut files = Files::new();
        for part in parts {
            let Some(file_name) = part.file_name else {
                let value = String::from_utf8_lossy(part.body).into_owned();
                let json_field = ["reply_markup", "commands", "allowed_updates", "media"]
                    .contains(&part.name.as_str());
                params[&part.name] = match serde_json::from_str(&value) {
                    Ok(parsed) if json_field => parsed,
                    _ => Value::String(value),
                };
                continue;
            };
            params[&part.name] = json!({ "file_name": file_name, "size": part.body.len() });
            files.insert(part.name, part.body.to_vec());
        }
        return Ok((params, files));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((json!({}), Files::new()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(object @ Value::Object(_)) => Ok((object, Files::new())),
        _ => Err(bad_request("request body is not a JSON object")),
    }
}

/// One part of a multipart body; `file_name` is set for an upload (its Content-Disposition has a
/// `filename`, possibly empty), whose bytes must stay as they are.
struct Part<'a> {
    name: String,
    file_name: Option<String>,
    body: &'a [u8],
}

fn multipart_parts<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?;
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        let end = find(rest, delimiter.as_bytes())?;
        let (part, next) = (&rest[..end], &rest[end + delimiter.len()..]);
        rest = next;
        let head_end = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..head_end]).ok()?;
        let value = &part[head_end + 4..];
        let attribute = |key: &str| {
            head.split([';', '\r', '\n'])
                .find_map(|p| p.trim().strip_prefix(key))
                .map(|v| v.trim_matches('"').to_owned())
        };
        parts.push(Part {
            name: attribute("name=")?,
            file_name: attribute("filename="),
            body: value.strip_suffix(b"\r\n").unwrap_or(value),
        });
    }
    Some(parts)
}

/// A file parameter: an uploaded part (under the parameter's own name, or named by
/// `attach://<part>`), or a file_id or URL for Telegram to resolve.
enum Upload<'a> {
    File(&'a [u8]),
    Reference(&'a str),
    Missing,
}

fn upload<'a>(p: &'a Value, files: &'a Files, key: &str) -> Upload<'a> {
    if let Some(bytes) = files.get(key) {
        return Upload::File(bytes);
    }
    match p.get(key).and_then(Value::as_str) {
        None | Some("") => Upload::Missing,
        Some(value) => match value.strip_prefix("attach://") {
            Some(part) => files.get(part).map_or(Upload::Missing, |b| Upload::File(b)),
            None => Upload::Reference(value),
        },
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A boolean parameter, sent as JSON or as a multipart field.
fn flag(params: &Value, key: &str) -> bool {
    params[key] == json!(true) || params[key] == json!("true")
}

/// An integer parameter, sent as a JSON number or as a string.
fn int(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

impl State {
    /// The fault for the next call to `method`: a queued one first, then the method's pattern.
    fn next_fault(&mut self, method: &str) -> Option<Fault> {
        let queued = self
            .faults
            .iter()
            .position(|(m, _)| m.eq_ignore_ascii_case(method));
        if let Some((_, fault)) = queued.and_then(|i| self.faults.remove(i)) {
            return Some(fault);
        }
        let (pattern, calls, seen) = self.patterns.get_mut(&method.to_ascii_lowercase())?;
        if *seen >= *calls || pattern.is_empty() {
            return None;
        }
        let fault = pattern[*seen % pattern.len()];
        *seen += 1;
        fault
    }

    /// Where the chat's message is in `messages`.
    fn find(&self, chat_id: i64, message_id: Option<i64>) -> Option<usize> {
        let is_it =
            |s: &Stored| s.message.chat_id == chat_id && Some(s.message.message_id) == message_id;
        self.messages.iter().position(is_it)
    }

    fn dispatch(&mut self, method: &str, p: &Value, files: &Files, now: Instant) -> Answer {
        match method.to_ascii_lowercase().as_str() {
            "getme" => Ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Postgram", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "sendmessage" => self.send_message(p, now),
            "senddocument" => self.send_document(p, files, now),
            "sendphoto" => self.send_photo(p, files, now),
            "editmessagemedia" => self.edit_media(p, files, now),
            "editmessagetext" => self.edit(p, now, true),
            "editmessagereplymarkup" => self.edit(p, now, false),
            "deletemessage" => {
                let found = self.find(self.chat(p)?, int(p, "message_id"));
                let index = found.ok_or_else(|| bad_request("message to delete not found"))?;
                self.messages.remove(index);
                Ok(json!(true))
            }
            "answercallbackquery" => match p.get("callback_query_id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() && self.answered.insert(id.to_owned()) => {
                    Ok(json!(true))
                }
                _ => Err(bad_request(
                    "query is too old and response timeout expired or query ID is invalid",
                )),
            },
            "setmycommands" => {
                let commands = p["commands"].as_array().cloned().unwrap_or_default();
                let valid = |c: &Value| {
                    let name = c["command"].as_str().unwrap_or_default();
                    let description = c["description"].as_str().unwrap_or_default();
                    (1..=32).contains(&name.len())
                        && name
                            .bytes()
                            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
                        && (1..=256).contains(&description.chars().count())
                };
                if commands.len() > 100 || !commands.iter().all(valid) {
                    return Err(bad_request("BOT_COMMAND_INVALID"));
                }
                let language = p["language_code"].as_str().unwrap_or_default().to_owned();
                self.commands.insert(language, commands);
                Ok(json!(true))
            }
            "getmycommands" => {
                let language = p["language_code"].as_str().unwrap_or_default();
                let commands = self.commands.get(language).cloned().unwrap_or_default();
                Ok(Value::Array(commands))
            }
            "setwebhook" => {
                match p.get("url").and_then(Value::as_str) {
                    Some("") => self.webhook = None,
                    Some(_) => self.webhook = Some(p.clone()),
                    None => return Err(bad_request("bad webhook: URL must be provided")),
                }
                if flag(p, "drop_pending_updates") {
                    self.updates.clear();
                }
                Ok(json!(true))
            }
            "deletewebhook" => {
                self.webhook = None;
                if flag(p, "drop_pending_updates") {
                    self.updates.clear();
                }
                Ok(json!(true))
            }
            "getwebhookinfo" => {
                let mut info = json!({
                    "url": "", "has_custom_certificate": false, "pending_update_count": self.updates.len(),
                });
                if let Some(webhook) = &self.webhook {
                    info["url"] = webhook["url"].clone();
                }
                Ok(info)
            }
            _ => Err(api_error(404, "Not Found: method not found")),
        }
    }

    /// The target chat, refused when blocked or migrated.
    fn chat(&self, p: &Value) -> Result<i64, Failure> {
        let chat_id = match p.get("chat_id") {
            None | Some(Value::Null) => return Err(bad_request("chat_id is empty")),
            Some(_) => int(p, "chat_id").ok_or_else(|| bad_request("chat not found"))?,
        };
        if self.blocked.contains(&chat_id) {
            return Err(api_error(403, "Forbidden: bot was blocked by the user"));
        }
        if let Some(to) = self.migrated.get(&chat_id) {
            let mut failure = bad_request("group chat was upgraded to a supergroup chat");
            failure.parameters = Some(json!({ "migrate_to_chat_id": to }));
            return Err(failure);
        }
        Ok(chat_id)
    }

    fn send_message(&mut self, p: &Value, now: Instant) -> Answer {
        let chat_id = self.chat(p)?;
        let text = p["text"].as_str().unwrap_or_default();
        let visible = visible_text(text, p, "message is too long")?;
        let reply_markup = inline_keyboard(p)?;
        let reply_keyboard = reply_keyboard(p, chat_id)?;
        self.flood_control(chat_id, now)?;
        let message = SentMessage {
            chat_id,
            message_id: 0,
            text: text.to_owned(),
            photo: None,
            reply_markup,
            reply_keyboard,
            edits: 0,
            sent_at: now,
        };
        Ok(self.store(message, visible))
    }

    /// Keeps a new message under its chat's next message id, and answers it as Telegram does.
    fn store(&mut self, mut message: SentMessage, visible: String) -> Value {
        let next = self.last_message_id.entry(message.chat_id).or_insert(0);
        *next += 1;
        message.message_id = *next;
        let stored = Stored {
            message,
            visible,
            date: now_unix(),
            edit_date: None,
        };
        let answer = message_json(&stored);
        self.messages.push(stored);
        answer
    }

    /// A document is stored as a message whose text is `document:` and the file's content, so tests
    /// can read what was sent.
    fn send_document(&mut self, p: &Value, files: &Files, now: Instant) -> Answer {
        let chat_id = self.chat(p)?;
        let content = match upload(p, files, "document") {
            Upload::File(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Upload::Reference(reference) => reference.to_owned(),
            Upload::Missing => String::new(),
        };
        if content.is_empty() {
            return Err(bad_request("file must be non-empty"));
        }
        self.flood_control(chat_id, now)?;
        let message = SentMessage {
            chat_id,
            message_id: 0,
            text: format!("document:\n{content}"),
            photo: None,
            reply_markup: None,
            reply_keyboard: None,
            edits: 0,
            sent_at: now,
        };
        Ok(self.store(message, String::new()))
    }

    fn edit(&mut self, p: &Value, now: Instant, with_text: bool) -> Answer {
        let chat_id = self.chat(p)?;
        let text = p["text"].as_str().unwrap_or_default();
        // Telegram answers MESSAGE_TOO_LONG for edits, not "message is too long" as for sends.
        let visible = if with_text {
            Some(visible_text(text, p, "MESSAGE_TOO_LONG")?)
        } else {
            None
        };
        let reply_markup = inline_keyboard(p)?;
        let found = self.find(chat_id, int(p, "message_id"));
        let index = found.ok_or_else(|| bad_request("message to edit not found"))?;
        let current = &self.messages[index].message;
        if with_text && current.photo.is_some() {
            return Err(bad_request("there is no text in the message to edit"));
        }
        if (!with_text || current.text == text) && current.reply_markup == reply_markup {
            return Err(not_modified());
        }
        self.flood_control(chat_id, now)?;
        let stored = &mut self.messages[index];
        if let Some(visible) = visible {
            stored.message.text = text.to_owned();
            stored.visible = visible;
        }
        // As with Telegram, an edit without reply_markup removes the keyboard.
        stored.message.reply_markup = reply_markup;
        stored.message.edits += 1;
        stored.edit_date = Some(now_unix());
        Ok(message_json(stored))
    }

    /// Telegram's flood limits on sends and edits; an accepted call is counted against them.
    fn flood_control(&mut self, chat_id: i64, now: Instant) -> Result<(), Failure> {
        let mut wait = Duration::ZERO;
        // One per second per chat, with 100 ms of tolerance for the sender's timer jitter.
        if let Some(last) = self.last_send.get(&chat_id) {
            let since = now.saturating_duration_since(*last);
            if since < Duration::from_millis(900) {
                wait = wait.max(Duration::from_secs(1).saturating_sub(since));
            }
        }
        let minute = Duration::from_secs(60);
        if chat_id < 0 {
            let group = self.group_sends.entry(chat_id).or_default();
            group.retain(|at| now.saturating_duration_since(*at) < minute);
            if group.len() >= 20 {
                wait = wait.max((group[0] + minute).saturating_duration_since(now));
            }
        }
        let second = Duration::from_secs(1);
        self.global_sends
            .retain(|at| now.saturating_duration_since(*at) < second);
        if self.global_sends.len() >= 30 {
            wait = wait.max((self.global_sends[0] + second).saturating_duration_since(now));
        }
        if !wait.is_zero() {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let seconds = seconds.max(1);
            return Err(Failure {
                code: 429,
                description: format!("Too Many Requests: retry after {seconds}"),
                parameters: Some(json!({ "retry_after": seconds })),
            });
        }
        self.last_send.insert(chat_id, now);
        if chat_id < 0 {
            self.group_sends.entry(chat_id).or_default().push_back(now);
        }
        self.global_sends.push_back(now);
        Ok(())
    }

    fn prepare_update(&mut self, mut update: Value) -> Value {
        match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => self.last_update_id = self.last_update_id.max(id),
            None => {
                self.last_update_id += 1;
                update["update_id"] = json!(self.last_update_id);
            }
        }
        // Telegram says which language the sender's app is set to in every update they cause.
        for pointer in ["/message/from", "/callback_query/from"] {
            if let Some(from) = update.pointer_mut(pointer)
                && let Some(code) = from["id"].as_i64().and_then(|id| self.languages.get(&id))
            {
                from["language_code"] = json!(code);
            }
        }
        // Telegram includes the message a pressed button belongs to, or the one a message replies
        // to, as it currently stands.
        for pointer in ["/callback_query/message", "/message/reply_to_message"] {
            if let Some(message) = update.pointer_mut(pointer) {
                let chat_id = message["chat"]["id"].as_i64().unwrap_or_default();
                if let Some(index) = self.find(chat_id, message["message_id"].as_i64()) {
                    *message = message_json(&self.messages[index]);
                }
            }
        }
        update
    }
}

fn not_modified() -> Failure {
    bad_request(
        "message is not modified: specified new message content and reply markup are \
         exactly the same as a current content and reply markup of the message",
    )
}

/// The text the recipient sees, checked for Telegram's markup, emptiness and length limits.
fn visible_text(text: &str, p: &Value, too_long: &str) -> Result<String, Failure> {
    let visible = parse_text(text, p)?;
    if visible.trim().is_empty() {
        return Err(bad_request("message text is empty"));
    }
    if visible.encode_utf16().count() > MAX_TEXT_UTF16 {
        return Err(bad_request(too_long));
    }
    Ok(visible)
}

/// A text or caption as the recipient sees it, checked for the markup of `p`'s `parse_mode`.
fn parse_text(text: &str, p: &Value) -> Result<String, Failure> {
    Ok(match p.get("parse_mode").and_then(Value::as_str) {
        Some(mode) if mode.eq_ignore_ascii_case("html") => {
            parse_html(text).map_err(|e| bad_request(format!("can't parse entities: {e}")))?
        }
        // Markdown is passed through unchecked: the service is expected to send HTML.
        Some(mode) if mode.is_empty() || mode.to_ascii_lowercase().starts_with("markdown") => {
            text.to_owned()
        }
        None => text.to_owned(),
        Some(_) => return Err(bad_request("unsupported parse_mode")),
    })
}

/// Telegram's HTML: the supported tags, properly nested and closed, and only the entities
/// `&lt;` `&gt;` `&amp;` `&quot;` and numeric ones. Stricter than Telegram about a bare `&`, which
/// always means the sender forgot to escape something.
fn parse_html(html: &str) -> Result<String, String> {
    let mut visible = String::with_capacity(html.len());
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(c) = html[i..].chars().next() {
        match c {
            '&' => {
                let (decoded, len) = html_entity(&html[i..])
                    .ok_or_else(|| format!("unsupported HTML entity at byte offset {i}"))?;
                visible.push(decoded);
                i += len;
            }
            '<' => {
                let end = html[i..]
                    .find('>')
                    .ok_or_else(|| format!("unclosed start tag at byte offset {i}"))?;
                let tag = &html[i + 1..i + end];
                if let Some(name) = tag.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match open.pop() {
                        Some(top) if top == name => {}
                        Some(top) => {
                            return Err(format!(
                                "unmatched end tag at byte offset {i}, expected \"</{top}>\", found \"</{name}>\""
                            ));
                        }
                        None => return Err(format!("unexpected end tag at byte offset {i}")),
                    }
                } else {
                    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
                    let name = tag[..name_end].to_ascii_lowercase();
                    if !HTML_TAGS.split(' ').any(|t| t == name) {
                        return Err(format!(
                            "unsupported start tag \"{name}\" at byte offset {i}"
                        ));
                    }
                    let attributes = tag[name_end..].replace('\'', "\"");
                    if name == "span" && !attributes.contains("class=\"tg-spoiler\"") {
                        return Err(format!(
                            "tag \"span\" must have class \"tg-spoiler\" at byte offset {i}"
                        ));
                    }
                    open.push(name);
                }
                i += end + 1;
            }
            _ => {
                visible.push(c);
                i += c.len_utf8();
            }
        }
    }
    match open.pop() {
        Some(top) => Err(format!(
            "can't find end tag corresponding to start tag \"{top}\""
        )),
        None => Ok(visible),
    }
}

/// The character an entity at the start of `s` stands for, and the entity's length in bytes.
fn html_entity(s: &str) -> Option<(char, usize)> {
    let end = s.get(..12).unwrap_or(s).find(';')?;
    let decoded = match &s[1..end] {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        name => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, end + 1))
}

/// The `reply_markup` parameter (a JSON object, or its text in a multipart field), if any.
fn markup_of(p: &Value) -> Result<Option<Value>, Failure> {
    let markup = match p.get("reply_markup") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|_| bad_request("can't parse reply keyboard markup JSON object"))?,
        Some(markup) => markup.clone(),
    };
    if !markup.is_object() {
        return Err(bad_request("object expected as reply markup"));
    }
    Ok(Some(markup))
}

/// The inline keyboard of `reply_markup`, checked as Telegram checks it; `None` when absent or
/// empty. Other kinds of markup are checked and kept by [`reply_keyboard`].
fn inline_keyboard(p: &Value) -> Result<Option<Value>, Failure> {
    let Some(markup) = markup_of(p)? else {
        return Ok(None);
    };
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok(None);
    };
    let rows = rows.as_array().ok_or_else(|| {
        bad_request("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
    })?;
    let mut buttons = 0;
    for row in rows {
        let row = row
            .as_array()
            .ok_or_else(|| bad_request("can't parse inline keyboard row: must be an Array"))?;
        for button in row {
            buttons += 1;
            if button.get("text").and_then(Value::as_str).is_none() {
                return Err(bad_request(
                    "can't parse inline keyboard button: Field \"text\" must be of type String",
                ));
            }
            if let Some(data) = button.get("callback_data") {
                let length = data.as_str().map_or(0, str::len);
                if length == 0 || length > MAX_CALLBACK_DATA {
                    return Err(bad_request("BUTTON_DATA_INVALID"));
                }
            } else if !BUTTON_ACTIONS
                .split_whitespace()
                .any(|a| button.get(a).is_some())
            {
                return Err(bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
        }
    }
    Ok((buttons > 0).then_some(markup))
}

/// A reply keyboard, `force_reply` or `remove_keyboard` in `reply_markup`, checked as Telegram checks
/// them; `None` for an inline keyboard or no markup. Buttons that ask the user for something
/// (people, chats, contact, location, polls, web apps) work in private chats only.
fn reply_keyboard(p: &Value, chat_id: i64) -> Result<Option<Value>, Failure> {
    let Some(markup) = markup_of(p)? else {
        return Ok(None);
    };
    if markup.get("inline_keyboard").is_some() {
        return Ok(None);
    }
    if let Some(rows) = markup.get("keyboard") {
        let rows = rows.as_array().ok_or_else(|| {
            bad_request("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array")
        })?;
        for row in rows {
            let row = row
                .as_array()
                .ok_or_else(|| bad_request("can't parse keyboard row: must be an Array"))?;
            for button in row {
                keyboard_button(button, chat_id)?;
            }
        }
        return Ok(Some(markup));
    }
    for key in ["force_reply", "remove_keyboard"] {
        if let Some(value) = markup.get(key) {
            if value != &json!(true) {
                return Err(bad_request(format!("field \"{key}\" must be true")));
            }
            return Ok(Some(markup));
        }
    }
    Err(bad_request("can't parse reply keyboard markup JSON object"))
}

/// One button of a reply keyboard: a string, or an object with a `text` and at most one request.
fn keyboard_button(button: &Value, chat_id: i64) -> Result<(), Failure> {
    if button.is_string() {
        return Ok(());
    }
    if button.get("text").and_then(Value::as_str).is_none() {
        return Err(bad_request(
            "can't parse keyboard button: Field \"text\" must be of type String",
        ));
    }
    let requests = [
        "request_users",
        "request_chat",
        "request_contact",
        "request_location",
        "request_poll",
        "web_app",
    ];
    let asks = requests.iter().filter(|r| button.get(r).is_some()).count();
    if asks > 1 {
        return Err(bad_request(
            "can't parse keyboard button: only one of the optional fields may be used",
        ));
    }
    if chat_id < 0 && asks > 0 {
        return Err(bad_request("BUTTON_TYPE_INVALID"));
    }
    if let Some(request) = button.get("request_users") {
        if !request.is_object() {
            return Err(bad_request(
                "can't parse keyboard button: Field \"request_users\" must be of type Object",
            ));
        }
        let id = request.get("request_id").and_then(Value::as_i64);
        if id.and_then(|id| i32::try_from(id).ok()).is_none() {
            return Err(bad_request(
                "can't parse keyboard button: Field \"request_id\" must be a 32-bit Integer",
            ));
        }
        if let Some(quantity) = request.get("max_quantity") {
            let quantity = quantity.as_i64().unwrap_or_default();
            if !(1..=10).contains(&quantity) {
                return Err(bad_request(
                    "can't parse keyboard button: max_quantity must be between 1 and 10",
                ));
            }
        }
    }
    Ok(())
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Postgram", "username": BOT_USERNAME })
}

fn user_json(user_id: i64, username: Option<&str>) -> Value {
    let mut user = json!({ "id": user_id, "is_bot": false, "first_name": format!("User {user_id}"), "language_code": "en" });
    if let Some(username) = username {
        user["username"] = json!(username);
    }
    user
}

/// `update` as sent by a person whose Telegram app is set to `language_code` (the fake's people
/// otherwise use `en`).
pub fn in_language(mut update: Value, language_code: &str) -> Value {
    for kind in ["message", "callback_query"] {
        if let Some(from) = update.get_mut(kind).and_then(|u| u.get_mut("from")) {
            from["language_code"] = json!(language_code);
        }
    }
    update
}

/// A private chat for a positive id, a supergroup for a negative one.
fn chat_json(chat_id: i64) -> Value {
    if chat_id > 0 {
        json!({ "id": chat_id, "type": "private", "first_name": format!("User {chat_id}") })
    } else {
        json!({ "id": chat_id, "type": "supergroup", "title": format!("Chat {chat_id}") })
    }
}

fn message_json(stored: &Stored) -> Value {
    let m = &stored.message;
    let mut message = json!({
        "message_id": m.message_id, "from": bot_user(), "chat": chat_json(m.chat_id),
        "date": stored.date,
    });
    match &m.photo {
        Some(photo) => {
            message["photo"] = photos::sizes(photo);
            if !stored.visible.is_empty() {
                message["caption"] = json!(stored.visible);
            }
        }
        None => message["text"] = json!(stored.visible),
    }
    if let Some(markup) = &m.reply_markup {
        message["reply_markup"] = markup.clone();
    }
    if let Some(edit_date) = stored.edit_date {
        message["edit_date"] = json!(edit_date);
    }
    message
}

// Users' messages and callback queries need ids of their own; high ones stay clear of the bot's.
static INCOMING_ID: AtomicI64 = AtomicI64::new(1_000_000);

/// A message from a user, without content yet.
fn incoming(user_id: i64, username: Option<&str>, chat_id: i64) -> Value {
    let mut chat = chat_json(chat_id);
    if let (true, Some(username)) = (chat_id > 0, username) {
        chat["username"] = json!(username);
    }
    json!({
        "message_id": INCOMING_ID.fetch_add(1, Ordering::Relaxed), "from": user_json(user_id, username),
        "chat": chat, "date": now_unix(),
    })
}

/// A message update from a user. The chat is private when `chat_id > 0`, a supergroup when
/// negative; a text starting with `/` carries a `bot_command` entity for the command alone (so
/// `/start <payload>` is the command `start` with its payload).
pub fn text_update(user_id: i64, username: Option<&str>, chat_id: i64, text: &str) -> Value {
    let mut message = incoming(user_id, username, chat_id);
    message["text"] = json!(text);
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        let length = command.encode_utf16().count();
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    json!({ "message": message })
}

/// A text message replying to the bot's message `message_id` (as a `force_reply` question asks).
/// Pushed or posted through the fake, the message replied to is filled in as it currently stands.
pub fn reply_update(
    user_id: i64,
    username: Option<&str>,
    chat_id: i64,
    message_id: i64,
    text: &str,
) -> Value {
    let mut update = text_update(user_id, username, chat_id, text);
    update["message"]["reply_to_message"] = json!({
        "message_id": message_id, "from": bot_user(), "chat": chat_json(chat_id), "date": now_unix(),
        "text": "",
    });
    update
}

/// The service message Telegram sends when the user picks people with a `request_users` keyboard
/// button: `users_shared` with the button's `request_id` and the person picked (their username
/// only when the button asked for it and they have one).
pub fn users_shared_update(
    user_id: i64,
    username: Option<&str>,
    chat_id: i64,
    request_id: i64,
    shared_user_id: i64,
    shared_username: Option<&str>,
) -> Value {
    let mut shared = json!({ "user_id": shared_user_id });
    if let Some(name) = shared_username {
        shared["username"] = json!(name);
    }
    let mut message = incoming(user_id, username, chat_id);
    message["users_shared"] = json!({ "request_id": request_id, "users": [shared] });
    json!({ "message": message })
}

/// A callback query for a button on the bot's message `message_id`. Pushed or posted through the
/// fake, the message is filled in as it currently stands.
pub fn callback_update(
    user_id: i64,
    username: Option<&str>,
    chat_id: i64,
    message_id: i64,
    data: &str,
) -> Value {
    let id = INCOMING_ID.fetch_add(1, Ordering::Relaxed);
    json!({ "callback_query": {
        "id": id.to_string(), "from": user_json(user_id, username), "chat_instance": format!("{chat_id}"),
        "data": data,
        "message": {
            "message_id": message_id, "from": bot_user(), "chat": chat_json(chat_id), "date": now_unix(),
            "text": "",
        },
    }})
}

/// How many alerts whose text contains `marker` a chat has been told of: the count of each storm digest
/// ("<b>N new alerts</b>") plus every individual alert message.
pub fn alerts_told(telegram: &FakeTelegram, chat: i64, marker: &str) -> usize {
    telegram
        .messages(chat)
        .iter()
        .map(|m| match m.text.split_once(" new alerts</b>") {
            Some((head, _)) => head
                .rsplit("<b>")
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0),
            None => usize::from(m.text.contains(marker)),
        })
        .sum()
}

impl FakeTelegram {
    /// The newest message in `chat` whose text contains `needle`, once there is one.
    pub async fn newest_containing(&self, chat: i64, needle: &str, limit: Duration) -> SentMessage {
        let needle = needle.to_owned();
        self.wait_for(&format!("{needle:?} in chat {chat}"), limit, move |t| {
            t.messages(chat)
                .into_iter()
                .rev()
                .find(|m| m.text.contains(&needle))
        })
        .await
    }

    /// Presses the button with callback `data` on `message` as `user`, and returns the text the press
    /// was answered with (once it is answered).
    pub async fn press(
        &self,
        user: i64,
        username: Option<&str>,
        message: &SentMessage,
        data: &str,
        limit: Duration,
    ) -> String {
        let update = callback_update(user, username, message.chat_id, message.message_id, data);
        self.press_with(update, limit).await
    }

    /// Sends a button press (`callback_update`, perhaps changed) and returns the text it was
    /// answered with (once it is answered).
    pub async fn press_with(&self, update: Value, limit: Duration) -> String {
        let before = self.calls_to("answerCallbackQuery").len();
        self.push_update(update);
        let call = self
            .wait_for("the button press to be answered", limit, move |t| {
                t.calls_to("answerCallbackQuery").get(before).cloned()
            })
            .await;
        call.params["text"].as_str().unwrap_or_default().to_owned()
    }
}

/// The inline buttons of a message: (label, callback data), row by row.
pub fn buttons(message: &SentMessage) -> Vec<(String, String)> {
    message
        .reply_markup
        .as_ref()
        .and_then(|m| m["inline_keyboard"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["text"].as_str().unwrap_or_default().to_owned(),
                b["callback_data"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
