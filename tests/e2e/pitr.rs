//! magi-pitr, the real binary: `check` on real SQLite databases in a bare MAGI home.

use std::fs;

use rusqlite::Connection;

use crate::backup::{BareHome, code, text};
use crate::cloud::json_lines;

#[test]
fn pitr_check_names_a_rollback_journal_database_and_how_to_switch_it() {
    let bare = BareHome::new("");
    let webui = bare.home().join("data/open-webui/webui.db");
    let chroma = bare.home().join("data/open-webui/vector_db/chroma.sqlite3");
    fs::create_dir_all(chroma.parent().unwrap()).unwrap();
    // Open WebUI's database in the rollback-journal mode SQLite starts in; Chroma's in WAL.
    Connection::open(&webui)
        .unwrap()
        .execute_batch("CREATE TABLE chat (id TEXT PRIMARY KEY, chat TEXT)")
        .unwrap();
    let chroma_conn = Connection::open(&chroma).unwrap();
    chroma_conn
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE embeddings (id INTEGER PRIMARY KEY, v BLOB);
             INSERT INTO embeddings (v) VALUES (zeroblob(10000));",
        )
        .unwrap();

    let json = bare.run("magi-pitr", &["check", "--json"]);
    assert_eq!(code(&json), 1, "a database to switch fails the check");
    let found = json_lines(&json);
    let by_path = |path: &std::path::Path| {
        found
            .iter()
            .find(|d| d["path"] == path.display().to_string())
            .unwrap_or_else(|| panic!("{} not listed: {found:?}", path.display()))
            .clone()
    };
    let webui_found = by_path(&webui);
    assert_eq!(webui_found["mode"], "rollback");
    assert_eq!(webui_found["service"], "open-webui");
    let advice = webui_found["advice"].as_str().unwrap();
    assert!(
        advice.contains("docker stop magi-cortex")
            && advice.contains(&format!(
                "sqlite3 {} 'PRAGMA journal_mode=WAL;'",
                webui.display()
            )),
        "{advice}"
    );
    let chroma_found = by_path(&chroma);
    assert_eq!(chroma_found["mode"], "wal");
    assert!(
        chroma_found["wal_bytes"].as_u64().unwrap() > 10_000,
        "{chroma_found}"
    );
    assert!(chroma_found.get("advice").is_none());
    let n8n = by_path(&bare.home().join("data/n8n/database.sqlite"));
    assert_eq!(n8n["mode"], "missing");

    let table = bare.run("magi-pitr", &["check"]);
    assert_eq!(code(&table), 1);
    let shown = text(&table.stdout);
    assert!(shown.starts_with("SERVICE"), "{shown}");
    assert!(shown.contains("uses a rollback journal"), "{shown}");

    // Switched as the advice says (with the application stopped), the check passes.
    Connection::open(&webui)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL")
        .unwrap();
    let after = bare.run("magi-pitr", &["check", "--service", "open-webui", "--json"]);
    assert_eq!(code(&after), 0);
    assert!(json_lines(&after).iter().all(|d| d["mode"] == "wal"));

    let unknown = bare.run("magi-pitr", &["check", "--service", "nope"]);
    assert_eq!(code(&unknown), 2);
    assert!(
        text(&unknown.stderr).contains("nope"),
        "{}",
        text(&unknown.stderr)
    );
    drop(chroma_conn);
}
