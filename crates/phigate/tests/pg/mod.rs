//! A store schema, an audit schema and an audit application role of the test's own on the
//! PostgreSQL server at `127.0.0.1:5432` (trust authentication, database `test`), dropped when
//! the test ends, and a configuration putting Phigate's store and audit log there.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use postgres::types::{FromSql, Type};
use postgres::{Client, NoTls};

/// The server, as its administrator.
pub const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// Runs `phigate --config CONFIG ARGS`, with no configuration from the environment.
pub fn phigate(config: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("the phigate binary runs")
}

/// A running `phigate serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens (`127.0.0.1:PORT`).
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `phigate serve` with the configuration in `config`.
pub fn serve(config: &Path) -> Server {
    serve_with(&["--config".as_ref(), config.as_os_str()])
}

/// Starts `phigate SELECTOR serve` (`--config FILE` or `--data-dir DIR`) on a free loopback
/// port, with no configuration from the environment, once it says where it listens.
pub fn serve_with(selector: &[&OsStr]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .args(selector)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("serve did not start: {line}"));
    let addr = url.trim_start_matches("http://").to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 exchange; returns the status, the `request-id` header and the body. `headers`
/// are whole lines, each ending in `\r\n`.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let request_id = head
        .lines()
        .find_map(|l| l.strip_prefix("request-id: "))
        .unwrap_or_default()
        .to_owned();
    (status, request_id, body.to_owned())
}

/// This test's schemas and audit role.
pub struct Scratch {
    /// Where the application store lives.
    pub store_schema: String,
    /// Where the audit log lives.
    pub audit_schema: String,
    /// The audit log's application role (select and insert only).
    pub audit_role: String,
}

impl Scratch {
    /// `None` (after saying so) where no server answers, unless `POSTGRES_TESTS_REQUIRED` is
    /// set, when the test fails instead.
    pub fn new(tag: &str) -> Option<Self> {
        let Ok(mut admin) = Client::connect(ADMIN, NoTls) else {
            assert!(
                std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
                "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
            );
            eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
            return None;
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let unique = format!("{tag}_{}_{nanos}", std::process::id());
        let scratch = Self {
            store_schema: format!("store_{unique}"),
            audit_schema: format!("audit_{unique}"),
            audit_role: format!("audit_app_{unique}"),
        };
        admin
            .batch_execute(&format!("CREATE ROLE {} LOGIN", scratch.audit_role))
            .unwrap();
        phigate_audit::postgres::create_schema(
            &mut admin,
            &scratch.audit_schema,
            &scratch.audit_role,
        )
        .unwrap();
        Some(scratch)
    }

    /// Writes `phigate.toml` in `dir`: the data directory `dir/data`, the store and the audit
    /// log in this test's schemas, then `extra` (more sections).
    pub fn write_config(&self, dir: &Path, extra: &str) -> PathBuf {
        let path = dir.join("phigate.toml");
        let text = format!(
            r#"data_dir = "{data}"

[store]
postgres_url = "{ADMIN}"
postgres_schema = "{store}"
pool_size = 4

[audit]
postgres_url = "host=127.0.0.1 port=5432 user={role} dbname=test"
postgres_schema = "{audit}"

{extra}"#,
            data = dir.join("data").display(),
            store = self.store_schema,
            role = self.audit_role,
            audit = self.audit_schema,
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Every audit entry as (sequence number, action, body), in sequence order.
    pub fn audit_entries(&self) -> Vec<(i64, String, Vec<u8>)> {
        let mut admin = Client::connect(ADMIN, NoTls).unwrap();
        admin
            .query(
                &format!(
                    "SELECT seq, action, body FROM {}.audit_log ORDER BY seq",
                    self.audit_schema
                ),
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| {
                let body: Option<Vec<u8>> = row.get(2);
                (row.get(0), row.get(1), body.unwrap_or_default())
            })
            .collect()
    }

    /// Every text and bytes value of every row of every table in both schemas, one buffer per
    /// table, named `schema.table`.
    pub fn stored_values(&self) -> Vec<(String, Vec<u8>)> {
        let mut admin = Client::connect(ADMIN, NoTls).unwrap();
        let tables: Vec<(String, String)> = admin
            .query(
                "SELECT table_schema::text, table_name::text FROM information_schema.tables
                 WHERE table_schema = $1 OR table_schema = $2",
                &[&self.store_schema, &self.audit_schema],
            )
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let mut out = Vec::new();
        for (schema, table) in tables {
            let mut bytes = Vec::new();
            for row in admin
                .query(&format!("SELECT * FROM {schema}.{table}"), &[])
                .unwrap()
            {
                for (index, column) in row.columns().iter().enumerate() {
                    let ty = column.type_();
                    if *ty == Type::BYTEA {
                        let value: Option<Vec<u8>> = row.get(index);
                        bytes.extend(value.unwrap_or_default());
                    } else if <String as FromSql>::accepts(ty) {
                        let value: Option<String> = row.get(index);
                        bytes.extend(value.unwrap_or_default().into_bytes());
                    }
                }
            }
            out.push((format!("{schema}.{table}"), bytes));
        }
        out
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(ADMIN, NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE; DROP SCHEMA IF EXISTS {} CASCADE;
                 DROP OWNED BY {role}; DROP ROLE IF EXISTS {role};",
                self.store_schema,
                self.audit_schema,
                role = self.audit_role
            ));
        }
    }
}
