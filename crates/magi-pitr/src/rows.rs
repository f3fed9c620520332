//! Rows per table, counted one way for both ends: the capture records them in its segments as the
//! database stood after a transaction, and the restore counts its rebuilt database the same way at that
//! point and refuses a result that differs. Virtual tables are left out (their rows live in their shadow
//! tables, which are counted, and their module may not be in this build), as are SQLite's own.

use magi_core::store::rusqlite::{self, Connection};

use crate::segment::RowCounts;

/// The rows of each ordinary table of the database `conn` reads, in its current transaction.
pub fn count(conn: &Connection) -> rusqlite::Result<RowCounts> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut tables = RowCounts::new();
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let rows: i64 =
            conn.query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |row| {
                row.get(0)
            })?;
        tables.insert(name, u64::try_from(rows).unwrap_or(0));
    }
    Ok(tables)
}

/// The first table whose rows differ between what was recorded and what was found: its name and both
/// counts (`None` for a table one side does not have).
pub fn first_difference(
    recorded: &RowCounts,
    found: &RowCounts,
) -> Option<(String, Option<u64>, Option<u64>)> {
    recorded
        .keys()
        .chain(found.keys())
        .find(|name| recorded.get(*name) != found.get(*name))
        .map(|name| {
            (
                name.clone(),
                recorded.get(name).copied(),
                found.get(name).copied(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ordinary_table_is_counted_whatever_its_name_and_no_virtual_one() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE chat (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT);
             CREATE TABLE \"odd \"\"name\"\" ß\" (x);
             CREATE VIRTUAL TABLE search USING fts5(body);
             INSERT INTO chat (body) VALUES ('a'), ('b'), ('c');
             INSERT INTO \"odd \"\"name\"\" ß\" VALUES (1);
             INSERT INTO search VALUES ('hello');",
        )
        .unwrap();
        let tables = count(&conn).unwrap();
        assert_eq!(tables["chat"], 3);
        assert_eq!(tables["odd \"name\" ß"], 1);
        assert!(!tables.contains_key("search"), "virtual");
        assert!(tables["search_data"] > 0, "its shadow tables are counted");
        assert!(!tables.contains_key("sqlite_sequence"));
    }

    #[test]
    fn the_first_difference_names_the_table_and_both_counts() {
        let recorded = RowCounts::from([("a".into(), 1), ("b".into(), 2)]);
        assert_eq!(first_difference(&recorded, &recorded.clone()), None);
        let fewer = RowCounts::from([("a".into(), 1), ("b".into(), 1)]);
        assert_eq!(
            first_difference(&recorded, &fewer),
            Some(("b".into(), Some(2), Some(1)))
        );
        let missing = RowCounts::from([("a".into(), 1)]);
        assert_eq!(
            first_difference(&recorded, &missing),
            Some(("b".into(), Some(2), None))
        );
    }
}
