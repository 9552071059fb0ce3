//! Checks that read the application store: the SQLite file, opened read-only, or the
//! PostgreSQL schema `[store]` names. They query columns that are stored in clear (roles, flags,
//! times, counts), so they need no key: a root key that cannot be opened fails the encryption
//! control, not these.

use phigate_store::db::Sql;
use phigate_store::{Database, PostgresConfig, StoreError, params};
use time::OffsetDateTime;

use super::{Finding, Status};
use crate::config::Config;
use crate::datadir::Layout;

/// A tenant key older than this should have been rotated.
pub const KEY_MAX_AGE_DAYS: i64 = 365;

/// The period whose break-glass accesses the report lists.
pub const BREAK_GLASS_PERIOD_DAYS: i64 = 30;

/// The error and its causes, for the operator (connection and file errors carry no values).
fn chain(err: &StoreError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn open(config: &Config, layout: &Layout) -> Result<Database, String> {
    match &config.store.postgres_url {
        Some(url) => {
            let mut settings = PostgresConfig::new(url, &config.store.postgres_schema);
            settings.pool_size = 1;
            Database::open_postgres(settings).map_err(|e| {
                format!(
                    "the store in PostgreSQL schema {} cannot be opened: {}",
                    config.store.postgres_schema,
                    chain(&e)
                )
            })
        }
        None => {
            let path = layout.store();
            Database::open_read_only(&path).map_err(|e| {
                format!(
                    "the store {} cannot be opened: {}",
                    path.display(),
                    chain(&e)
                )
            })
        }
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs `query` against the store, turning any failure into a failing finding.
fn with_store<T>(
    name: &str,
    config: &Config,
    layout: &Layout,
    query: impl FnOnce(&Database) -> Result<T, StoreError>,
) -> Result<T, Finding> {
    let db = open(config, layout).map_err(|problem| Finding::new(name, Status::Fail, problem))?;
    query(&db).map_err(|e| {
        Finding::new(
            name,
            Status::Fail,
            format!("cannot read the store: {}", chain(&e)),
        )
    })
}

/// Every enabled administrator and auditor has a second factor enrolled.
pub fn mfa_enforced(name: &str, config: &Config, layout: &Layout) -> Finding {
    let counts = with_store(name, config, layout, |db| {
        // COUNT of a column counts its non-null values: the accounts with a secret.
        let row = db.query_one(
            "SELECT COUNT(*), COUNT(s.totp_secret)
             FROM users u LEFT JOIN user_security s ON s.user_id = u.id
             WHERE u.tenant = $1 AND u.disabled = 0 AND u.role IN ('admin', 'auditor')",
            params![config.tenant],
        )?;
        let total: i64 = row.get(0)?;
        Ok((total, total - row.get::<i64>(1)?))
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
    let created = with_store(name, config, layout, |db| {
        db.query_one(
            "SELECT MAX(created_at) FROM keys
             WHERE kind = 'tenant' AND tenant = $1 AND state = 'active'",
            params![config.tenant],
        )?
        .get::<Option<i64>>(0)
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
    let counts = with_store(name, config, layout, |db| {
        let row = db.query_one(
            "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM break_glass
             WHERE tenant = $1 AND created_at >= $2",
            params![config.tenant, since],
        )?;
        Ok((row.get::<i64>(0)?, row.get::<i64>(1)?))
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
