//! Checks that read the application store. They open its SQLite file read-only and query
//! columns that are stored in clear (roles, flags, times, counts), so they need no key: a root
//! key that cannot be opened fails the encryption control, not these.

use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};
use time::OffsetDateTime;

use super::{Finding, Status};
use crate::config::Config;
use crate::datadir::Layout;

/// A tenant key older than this should have been rotated.
pub const KEY_MAX_AGE_DAYS: i64 = 365;

/// The period whose break-glass accesses the report lists.
pub const BREAK_GLASS_PERIOD_DAYS: i64 = 30;

fn open(layout: &Layout) -> Result<Connection, String> {
    let path = layout.store();
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("the store {} cannot be opened: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| format!("the store cannot be read: {e}"))?;
    Ok(conn)
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs `query` against the store, turning any failure into a failing finding.
fn with_store<T>(
    name: &str,
    layout: &Layout,
    query: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, Finding> {
    let conn = open(layout).map_err(|problem| Finding::new(name, Status::Fail, problem))?;
    query(&conn)
        .map_err(|e| Finding::new(name, Status::Fail, format!("cannot read the store: {e}")))
}

/// Every enabled administrator and auditor has a second factor enrolled.
pub fn mfa_enforced(name: &str, config: &Config, layout: &Layout) -> Finding {
    let counts = with_store(name, layout, |conn| {
        conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(s.totp_secret IS NULL), 0)
             FROM users u LEFT JOIN user_security s ON s.user_id = u.id
             WHERE u.tenant = ?1 AND u.disabled = 0 AND u.role IN ('admin', 'auditor')",
            params![config.tenant],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
    });
    match counts {
        Err(finding) => finding,
        Ok((total, 0)) => Finding::new(
            name,
            Status::Pass,
            format!("all {total} enabled administrator and auditor accounts use TOTP"),
        ),
        Ok((total, missing)) => Finding::new(
            name,
            Status::Fail,
            format!(
                "{missing} of {total} enabled administrator and auditor accounts have no second factor; run `phigate users reset-mfa`"
            ),
        ),
    }
}

/// The active tenant key is younger than [`KEY_MAX_AGE_DAYS`].
pub fn key_rotation_age(name: &str, config: &Config, layout: &Layout) -> Finding {
    let created = with_store(name, layout, |conn| {
        conn.query_row(
            "SELECT MAX(created_at) FROM keys
             WHERE kind = 'tenant' AND tenant = ?1 AND state = 'active'",
            params![config.tenant],
            |r| r.get::<_, Option<i64>>(0),
        )
    });
    match created {
        Err(finding) => finding,
        Ok(None) => Finding::new(
            name,
            Status::NotApplicable,
            "no tenant key yet: nothing has been stored",
        ),
        Ok(Some(at)) => {
            let days = (now() - at) / 86_400;
            let evidence = format!(
                "the active tenant key is {days} day(s) old (rotate within {KEY_MAX_AGE_DAYS}: `phigate keys rotate`)"
            );
            if days <= KEY_MAX_AGE_DAYS {
                Finding::new(name, Status::Pass, evidence)
            } else {
                Finding::new(name, Status::Fail, evidence)
            }
        }
    }
}

/// How often the glass was broken in the period, for the privacy officer to review.
pub fn break_glass_use(name: &str, config: &Config, layout: &Layout) -> Finding {
    let since = now() - BREAK_GLASS_PERIOD_DAYS * 86_400;
    let counts = with_store(name, layout, |conn| {
        conn.query_row(
            "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM break_glass
             WHERE tenant = ?1 AND created_at >= ?2",
            params![config.tenant, since],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
    });
    match counts {
        Err(finding) => finding,
        Ok((uses, users)) => Finding::new(
            name,
            Status::Pass,
            format!(
                "{uses} break-glass access(es) by {users} user(s) in the last {BREAK_GLASS_PERIOD_DAYS} days; review each with `phigate users break-glass-report`"
            ),
        ),
    }
}
