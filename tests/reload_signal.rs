//! SIGHUP reloads the config, as in Prometheus. A test binary of its own: the signal goes to the
//! whole test process, so no other service may be running in it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use support::service::Ctx;
use support::{Backend, Service, eventually};

const OWNER_TOKEN: &str = "owner-token-for-signals-012";
const ADDED_TOKEN: &str = "added-token-for-signals-012";

fn config(ctx: &Ctx<'_>, added: bool) -> String {
    let added = if added {
        format!("\n  - {{ name: added, token: \"{ADDED_TOKEN}\", role: viewer }}")
    } else {
        String::new()
    };
    format!(
        "{head}\nowners: [1]\napi_tokens:\n  - {{ name: owner, token: \"{OWNER_TOKEN}\", role: owner }}{added}\n",
        head = ctx.head()
    )
}

async fn databases_status(service: &Service, token: &str) -> u16 {
    let url = format!("{}/databases", service.app.base);
    let response = service
        .app
        .client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config() {
    let Some(service) = Service::start_with(Backend::Sqlite, &[], |ctx| config(ctx, false)).await
    else {
        return;
    };
    assert_eq!(databases_status(&service, ADDED_TOKEN).await, 401);
    let path = service.state.dir.path().join("postgram.yaml");
    std::fs::write(&path, config(&service.ctx(), true)).unwrap();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    eventually(
        "the added token to be accepted",
        Duration::from_secs(20),
        || async { (databases_status(&service, ADDED_TOKEN).await == 200).then_some(()) },
    )
    .await;
    let audited = service
        .state_sql("SELECT actor FROM audit_log WHERE action = 'config.reload'")
        .await;
    assert_eq!(audited, ["SIGHUP"]);
    service.stop().await;
}
