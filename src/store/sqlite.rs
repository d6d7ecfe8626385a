//! The store's SQLite file: one `tasks` table in WAL mode. `synchronous = NORMAL` makes
//! a commit survive a crash of the process (it is written to the WAL before `COMMIT`
//! returns); `FULL` also fsyncs the WAL on every commit, so it survives power loss.
//!
//! A task costs two writes: its acceptance and its final view. Attempts are not written
//! as they start; the `attempts` column counts the runs of the process that ended with the
//! task not final, one each (the attempt that may have been running when it died). The
//! release of 2026-12-02 (`user_version` 0) wrote every attempt as it started instead, the
//! running one included; opening its file converts the column once.

use std::path::Path;

use rusqlite::{params, Connection};

use super::record::StoredView;
use super::{Durability, FinishedTask, Op, PendingTask, Recovered, Retention, StoredTask};
use crate::tasks::Status;

pub const FILE: &str = "tasks.sqlite3";

/// The file's format: 1 since attempts are counted at restart, not as they start.
const USER_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY NOT NULL,
    task_type TEXT NOT NULL,
    label TEXT NOT NULL,
    parameters_json TEXT NOT NULL,
    deadline_unix_ms INTEGER,
    submitted_unix_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    view_json TEXT,
    finished_unix_ms INTEGER,
    tenant TEXT NOT NULL DEFAULT 'anonymous'
);
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (finished_unix_ms)
    WHERE finished_unix_ms IS NOT NULL;
";

pub struct Db {
    conn: Connection,
    retention: Retention,
}

impl Db {
    pub fn open(
        path: &Path,
        durability: Durability,
        retention: Retention,
    ) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        // Fails at once (not at the first write) when another process holds the file.
        conn.busy_timeout(std::time::Duration::from_millis(500))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "the file system does not support WAL (journal_mode = {mode})"
            )));
        }
        let synchronous = match durability {
            // `Journal::open` refuses `Off` before it gets here.
            Durability::Off | Durability::Os => "NORMAL",
            Durability::Fsync => "FULL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous = {synchronous};"))?;
        conn.execute_batch(SCHEMA)?;
        add_tenant_column(&conn)?;
        Ok(Self { conn, retention })
    }

    /// Applies every operation in one transaction.
    pub fn commit(&mut self, ops: impl Iterator<Item = Op>) -> Result<(), String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        for op in ops {
            apply(&tx, op).map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// Counts one attempt for every task that is not final: the process that wrote it
    /// stopped before its result, perhaps while it ran. Run once when the store opens.
    pub fn count_restart(&mut self) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version < USER_VERSION {
            // Started attempts, the running one included: that one is counted below.
            tx.execute(
                "UPDATE tasks SET attempts = max(attempts - 1, 0) WHERE view_json IS NULL",
                [],
            )?;
            tx.execute_batch(&format!("PRAGMA user_version = {USER_VERSION};"))?;
        }
        tx.execute(
            "UPDATE tasks SET attempts = attempts + 1 WHERE view_json IS NULL",
            [],
        )?;
        tx.commit()
    }

    /// Tasks not final, oldest first, and final ones still within retention.
    pub fn recover(&self) -> rusqlite::Result<Recovered> {
        let mut recovered = Recovered::default();
        let mut query = self.conn.prepare(
            "SELECT task_id, task_type, label, parameters_json, deadline_unix_ms,
                    submitted_unix_ms, attempts, view_json, finished_unix_ms, tenant
             FROM tasks ORDER BY submitted_unix_ms, rowid",
        )?;
        let mut rows = query.query([])?;
        while let Some(row) = rows.next()? {
            let view_json: Option<String> = row.get(7)?;
            let finished_unix_ms: Option<i64> = row.get(8)?;
            if let (Some(json), Some(at)) = (view_json, finished_unix_ms) {
                match serde_json::from_str::<StoredView>(&json) {
                    Ok(stored) => recovered.finished.push(FinishedTask {
                        view: stored.into(),
                        finished_unix_ms: at.max(0) as u64,
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable final task in the store; skipped")
                    }
                }
                continue;
            }
            let deadline: Option<i64> = row.get(4)?;
            let submitted: i64 = row.get(5)?;
            let attempts: i64 = row.get(6)?;
            recovered.pending.push(PendingTask {
                task: StoredTask {
                    task_id: row.get(0)?,
                    task_type: row.get(1)?,
                    label: row.get(2)?,
                    parameters_json: row.get(3)?,
                    tenant: row.get(9)?,
                    deadline_unix_ms: deadline.map(|d| d.max(0) as u64),
                    submitted_unix_ms: submitted.max(0) as u64,
                },
                attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
            });
        }
        recovered
            .finished
            .sort_by_key(|finished| finished.finished_unix_ms);
        Ok(recovered)
    }

    /// Drops final tasks past their retention, then the oldest beyond the count bound.
    pub fn prune(&mut self, now_unix_ms: u64) -> rusqlite::Result<()> {
        let oldest_kept = now_unix_ms.saturating_sub(self.retention.age.as_millis() as u64);
        self.conn.execute(
            "DELETE FROM tasks WHERE finished_unix_ms IS NOT NULL AND finished_unix_ms < ?1",
            params![oldest_kept as i64],
        )?;
        let finished: i64 = self.conn.query_row(
            "SELECT count(*) FROM tasks WHERE finished_unix_ms IS NOT NULL",
            [],
            |row| row.get(0),
        )?;
        let excess = finished - self.retention.max_finished as i64;
        if excess > 0 {
            self.conn.execute(
                "DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks
                 WHERE finished_unix_ms IS NOT NULL ORDER BY finished_unix_ms LIMIT ?1)",
                params![excess],
            )?;
        }
        Ok(())
    }
}

/// Files written before tenants have no `tenant` column: their tasks are the anonymous
/// tenant's.
fn add_tenant_column(conn: &Connection) -> rusqlite::Result<()> {
    let has = conn
        .prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'tenant'")?
        .exists([])?;
    if !has {
        conn.execute_batch(
            "ALTER TABLE tasks ADD COLUMN tenant TEXT NOT NULL DEFAULT 'anonymous';",
        )?;
    }
    Ok(())
}

fn apply(tx: &rusqlite::Transaction<'_>, op: Op) -> rusqlite::Result<()> {
    match op {
        Op::Accept(task) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO tasks (task_id, task_type, label, parameters_json,
                     deadline_unix_ms, submitted_unix_ms, tenant)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                task.task_id,
                task.task_type,
                task.label,
                task.parameters_json,
                task.deadline_unix_ms.map(|d| d as i64),
                task.submitted_unix_ms as i64,
                task.tenant,
            ])?;
        }
        Op::Finish { view, unix_ms } => {
            debug_assert!(view.status != Status::Queued && view.status != Status::Running);
            let json = serde_json::to_string(&StoredView::from(&view))
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            tx.prepare_cached(
                "UPDATE tasks SET view_json = ?2, finished_unix_ms = ?3
                 WHERE task_id = ?1 AND view_json IS NULL",
            )?
            .execute(params![view.task_id, json, unix_ms as i64])?;
        }
        Op::Sync(_) | Op::After(_) => {} // run by the writer after the commit
    }
    Ok(())
}
