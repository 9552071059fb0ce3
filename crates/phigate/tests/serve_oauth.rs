//! `phigate serve` runs the OAuth server beside the gateway: a client registered with
//! `phigate clients add` gets a token from `/oauth/token` and calls `/v1/models` with it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &std::path::Path) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--data-dir")
        .arg(data_dir)
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
        .unwrap();
    let addr = url.trim_start_matches("http://").to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 exchange; returns the status and the body.
fn http(addr: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn a_registered_client_gets_a_token_from_serve_and_uses_it_on_the_gateway() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(common::phigate(dir, &["init"]).status.success());
    let added = common::phigate(
        dir,
        &["clients", "add", "bridge", "--method", "client_secret_post"],
    );
    assert!(added.status.success());
    let added = String::from_utf8(added.stdout).unwrap();
    let field = |name: &str| {
        added
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (id, secret) = (field("client_id"), field("client_secret"));
    let server = serve(dir);

    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let (status, body) = http(
        &server.addr,
        &format!(
            "POST /oauth/token HTTP/1.1\r\nHost: {}\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            server.addr,
            form.len()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let access = token["access_token"].as_str().unwrap();

    let get = |path: &str, auth: &str| {
        http(
            &server.addr,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {auth}\r\n\
                 Connection: close\r\n\r\n",
                server.addr
            ),
        )
    };
    let (status, body) = get("/v1/models", access);
    assert_eq!(status, 200, "{body}");
    let (status, _) = get("/v1/models", "forged.token.value");
    assert_eq!(status, 401);
    let (status, body) = get("/.well-known/smart-configuration", "");
    assert_eq!(status, 200);
    assert!(body.contains("\"token_endpoint\""));
}
