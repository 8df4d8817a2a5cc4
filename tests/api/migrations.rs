//! Migrations that move data: what was stored before an upgrade is there after it.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::helpers::TestDb;

/// The migrations before the move to one queue.
const BEFORE_ONE_QUEUE: u32 = 11;

#[tokio::test]
async fn the_move_to_one_queue_keeps_every_letter_job_and_window_in_every_state() {
    let db = TestDb::create().await;
    let conn = Database::connect(&db.url).await.unwrap();
    Migrator::up(&conn, Some(BEFORE_ONE_QUEUE)).await.unwrap();
    let backend = conn.get_database_backend();
    let run = |sql: &str| conn.execute_raw(Statement::from_string(backend, sql.to_owned()));
    run("INSERT INTO customers (project_id, email, email_normalized, password_hash, first_name, last_name, \
           status, customer_group_id, created_at, updated_at) \
         VALUES (1, 'jane@example.com', 'jane@example.com', '', 'Jane', 'Doe', 1, 2, \
           '2026-12-01 10:00:00+00:00', '2026-12-01 10:00:00+00:00')")
    .await
    .unwrap();
    // One letter in each state: waiting, held by a worker, retried, given up on, sent.
    for (subject, attempts, locked, sent, failed) in [
        ("waiting", 0, "NULL", "NULL", "NULL"),
        ("held", 1, "'2026-12-01 10:05:00+00:00'", "NULL", "NULL"),
        ("retried", 3, "NULL", "NULL", "NULL"),
        ("given up", 10, "NULL", "NULL", "'2026-12-01 11:00:00+00:00'"),
        ("sent", 1, "NULL", "'2026-12-01 10:01:00+00:00'", "NULL"),
    ] {
        run(&format!(
            "INSERT INTO outbox_emails (customer_id, recipient, subject, text_body, html_body, attempts, \
               last_error, next_attempt_at, locked_until, created_at, sent_at, failed_at) \
             VALUES (1, 'jane@example.com', '{subject}', 'text of {subject}', '<p>{subject}</p>', {attempts}, \
               'temporary: 451', '2026-12-01 10:02:00+00:00', {locked}, '2026-12-01 10:00:00+00:00', {sent}, {failed})"
        ))
        .await
        .unwrap();
    }
    run("INSERT INTO background_jobs (kind, customer_id, attempts, next_attempt_at, created_at) \
         VALUES ('link_guest_orders', 1, 0, '2026-12-01 10:00:00+00:00', '2026-12-01 10:00:00+00:00')")
    .await
    .unwrap();
    run("INSERT INTO login_failures (project_id, email_normalized, created_at) \
         VALUES (1, 'jane@example.com', '2026-12-01 10:00:00+00:00')")
    .await
    .unwrap();
    run("INSERT INTO reset_requests (project_id, email_normalized, created_at) \
         VALUES (1, 'jane@example.com', '2026-12-01 10:00:00+00:00')")
    .await
    .unwrap();

    Migrator::up(&conn, None).await.unwrap();

    let letters = crate::helpers::outbox::rows(&conn).await;
    let states: Vec<(String, i32, bool, bool, bool)> = letters
        .iter()
        .map(|l| {
            (l.text_body.clone(), l.attempts, l.sent_at.is_some(), l.failed_at.is_some(), l.is_waiting())
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("text of waiting".to_owned(), 0, false, false, true),
            ("text of held".to_owned(), 1, false, false, true),
            ("text of retried".to_owned(), 3, false, false, true),
            ("text of given up".to_owned(), 10, false, true, false),
            ("text of sent".to_owned(), 1, true, false, false),
        ]
    );
    assert!(letters.iter().all(|l| l.recipient == "jane@example.com" && l.customer_id == Some(1)));
    assert!(letters.iter().all(|l| l.last_error.as_deref() == Some("temporary: 451")));
    let ids: Vec<&str> = letters.iter().map(|l| l.message_id.as_str()).collect();
    assert_eq!(ids, ["outbox-1", "outbox-2", "outbox-3", "outbox-4", "outbox-5"], "Message-IDs are kept");
    let counts = customer_accounts::queue::counts(&conn, Some("link_guest_orders")).await.unwrap();
    assert_eq!(counts.pending, 1, "the background job moved too");
    for window in [
        customer_accounts::accounts::windows::Window::LoginFailures,
        customer_accounts::accounts::windows::Window::ResetRequests,
    ] {
        let times =
            customer_accounts::accounts::windows::times(&conn, window, "1:jane@example.com").await.unwrap();
        assert_eq!(times.len(), 1, "{window:?}");
    }
    conn.close().await.unwrap();
}
