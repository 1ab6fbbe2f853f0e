//! Changes of settings against scripted answers: a change is read back
//! before it is called done, and an answer whose ids collide is refused
//! before anything is sent.

use plex_butler::{Client, DesiredSettings, Error, MaintenanceWindow, RetryPolicy, TaskName};

use crate::support::{Reply, Server};

/// `GET /:/prefs` listing `settings`: `(id, type, value as JSON)`.
fn prefs(settings: &[(&str, &str, &str)]) -> Reply {
    let listed: Vec<String> = settings
        .iter()
        .map(|(id, kind, value)| {
            format!(r#"{{"id":"{id}","type":"{kind}","value":{value},"group":"butler"}}"#)
        })
        .collect();
    Reply::json(
        200,
        &format!(
            r#"{{"MediaContainer":{{"size":{},"Setting":[{}]}}}}"#,
            listed.len(),
            listed.join(",")
        ),
    )
}

/// The window `start`-`end` and two switches, on.
fn butler(start: u8, end: u8) -> Reply {
    prefs(&[
        ("ButlerStartHour", "int", &start.to_string()),
        ("ButlerEndHour", "int", &end.to_string()),
        ("ButlerTaskBackupDatabase", "bool", "true"),
        ("ButlerTaskOptimizeDatabase", "bool", "true"),
    ])
}

fn client(server: &Server) -> Client {
    Client::builder(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

fn one_to_six() -> DesiredSettings {
    DesiredSettings::new().window(MaintenanceWindow::new(1, 6).expect("hours"))
}

fn puts(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count()
}

#[tokio::test]
async fn a_change_answered_200_that_the_server_does_not_hold_names_each_setting_and_its_value() {
    for answer in [
        Reply::status(200),
        Reply::html(200, "<html><title>Sign in</title><form></form></html>"),
    ] {
        let server = Server::start([butler(2, 5), answer, butler(2, 5)]);
        let error = client(&server)
            .change_butler_settings(&one_to_six())
            .await
            .expect_err("the server still holds 2-5");
        let said = error.to_string();
        assert!(
            said.contains("the server answered the change but still holds ButlerStartHour = 2 (asked 1), ButlerEndHour = 5 (asked 6)"),
            "{said}"
        );
        assert!(
            matches!(&error, Error::SettingsNotApplied { mismatches, .. } if mismatches.len() == 2),
            "{error:?}"
        );
        assert_eq!(puts(&server), 1);
    }
}

#[tokio::test]
async fn a_change_that_holds_returns_what_the_server_holds_read_back() {
    let server = Server::start([butler(2, 5), Reply::status(200), butler(1, 6)]);
    let applied = client(&server)
        .change_butler_settings(&one_to_six().task(TaskName::BackupDatabase, true))
        .await
        .expect("the server holds 1-6");
    assert_eq!(applied.settings.window, MaintenanceWindow::new(1, 6).ok());
    assert_eq!(applied.before.window, MaintenanceWindow::new(2, 5).ok());
    let sent: Vec<String> = applied.changes.iter().map(ToString::to_string).collect();
    assert_eq!(sent, ["ButlerStartHour: 2 -> 1", "ButlerEndHour: 5 -> 6"]);
    assert_eq!(server.requests().len(), 3, "read, change, read back");
}

#[tokio::test]
async fn another_clients_value_read_back_is_a_mismatch_naming_what_the_server_holds() {
    let server = Server::start([butler(2, 5), Reply::status(200), butler(3, 5)]);
    let error = client(&server)
        .set_window(MaintenanceWindow::new(1, 6).expect("hours"))
        .await
        .expect_err("another window was read back");
    let said = error.to_string();
    assert!(said.contains("ButlerStartHour = 3 (asked 1)"), "{said}");
    assert!(said.contains("ButlerEndHour = 5 (asked 6)"), "{said}");
}

#[tokio::test]
async fn ids_the_same_but_for_case_are_refused_before_anything_is_sent() {
    let server = Server::start([prefs(&[
        ("ButlerStartHour", "int", "2"),
        ("butlerstarthour", "int", "3"),
        ("ButlerEndHour", "int", "5"),
    ])]);
    let error = client(&server)
        .change_butler_settings(&one_to_six())
        .await
        .expect_err("the start hour is listed twice");
    let said = error.to_string();
    assert!(
        said.contains(r#"("ButlerStartHour", "butlerstarthour")"#),
        "{said}"
    );
    assert!(matches!(&error, Error::AmbiguousSetting { ids, .. } if ids.len() == 2));
    assert_eq!(puts(&server), 0, "nothing was sent");

    // A switch asked for by its exact id is refused too: which of the two
    // the server would change is unknown.
    let server = Server::start([prefs(&[
        ("ButlerTaskBackupDatabase", "bool", "true"),
        ("ButlerTaskbackupdatabase", "bool", "false"),
    ])]);
    let error = client(&server)
        .set_task_enabled(TaskName::BackupDatabase, false)
        .await
        .expect_err("the switch is listed twice");
    let said = error.to_string();
    assert!(
        said.contains(r#"("ButlerTaskBackupDatabase", "ButlerTaskbackupdatabase")"#),
        "{said}"
    );
    assert_eq!(puts(&server), 0, "nothing was sent");
}

#[tokio::test]
async fn a_long_value_read_back_is_cut_short_in_the_message() {
    let long = "9".repeat(100_000);
    let server = Server::start([
        butler(2, 5),
        Reply::status(200),
        prefs(&[
            ("ButlerStartHour", "text", &format!("\"{long}\"")),
            ("ButlerEndHour", "int", "6"),
        ]),
    ]);
    let error = client(&server)
        .change_butler_settings(&one_to_six())
        .await
        .expect_err("the start hour is not 1");
    let said = error.to_string();
    assert!(said.contains("ButlerStartHour = 999"), "{}", &said[..300]);
    assert!(said.len() < 1_000, "{} bytes of message", said.len());
}

#[tokio::test]
async fn a_value_or_id_read_back_that_echoes_the_token_is_redacted_in_the_error() {
    let token = crate::support::TOKEN;
    let with_token = |server: &Server| {
        Client::builder(server.base_url())
            .token(token)
            .retry(RetryPolicy::none())
            .build()
            .expect("client")
    };
    let server = Server::start([
        butler(2, 5),
        Reply::status(200),
        prefs(&[
            ("ButlerStartHour", "text", &format!("\"login as {token}\"")),
            ("ButlerEndHour", "int", "6"),
        ]),
    ]);
    let error = with_token(&server)
        .change_butler_settings(&one_to_six())
        .await
        .expect_err("the start hour is not 1");
    assert!(
        matches!(&error, Error::SettingsNotApplied { .. }),
        "{error:?}"
    );
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(token), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    // Switch ids the same but for case that hold the token: found before
    // the change, and on reading back.
    let first = format!("ButlerTaskX{token}");
    let second = format!("BUTLERTASKX{token}");
    let both = [
        (first.as_str(), "bool", "true"),
        (second.as_str(), "bool", "false"),
    ];
    for replies in [
        vec![prefs(&both)],
        vec![prefs(&both[..1]), Reply::status(200), prefs(&both)],
    ] {
        let server = Server::start(replies);
        let error = with_token(&server)
            .set_task_enabled(TaskName::from(format!("X{token}")), false)
            .await
            .expect_err("the switch is listed twice");
        assert!(
            matches!(&error, Error::AmbiguousSetting { .. }),
            "{error:?}"
        );
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(token), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }
}

#[tokio::test]
async fn a_task_wanted_twice_with_two_values_is_refused_naming_both_before_anything_is_sent() {
    // A name the crate does not know keeps its case, as given.
    let conflicting = DesiredSettings::new()
        .task("CustomTask", false)
        .task(TaskName::BackupDatabase, true)
        .task("customtask", true);
    let server = Server::start([butler(2, 5)]);
    let error = client(&server)
        .change_butler_settings(&conflicting)
        .await
        .expect_err("on and off");
    let said = error.to_string();
    assert!(
        said.contains("'CustomTask' and 'customtask'") && said.contains("both on and off"),
        "{said}"
    );
    assert!(
        matches!(&error, Error::ConflictingTaskSwitches { first, second, .. }
            if first.as_str() == "CustomTask" && second.as_str() == "customtask"),
        "{error:?}"
    );
    let error = client(&server)
        .change_butler_settings(
            &DesiredSettings::new()
                .task("OptimizeDatabase", false)
                .task("optimizedatabase", true),
        )
        .await
        .expect_err("on and off");
    assert!(
        error
            .to_string()
            .starts_with("'OptimizeDatabase' is wanted both on and off"),
        "{error}"
    );
    assert_eq!(server.requests().len(), 0, "nothing was read or sent");

    // The same value twice is one wish.
    let server = Server::start([butler(2, 5), Reply::status(200), {
        prefs(&[
            ("ButlerStartHour", "int", "2"),
            ("ButlerEndHour", "int", "5"),
            ("ButlerTaskBackupDatabase", "bool", "true"),
            ("ButlerTaskOptimizeDatabase", "bool", "false"),
        ])
    }]);
    let applied = client(&server)
        .change_butler_settings(
            &DesiredSettings::new()
                .task("OptimizeDatabase", false)
                .task("optimizedatabase", false),
        )
        .await
        .expect("one change");
    assert_eq!(applied.changes.len(), 1);
}
