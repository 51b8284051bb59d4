//! End-to-end: `hallmark verify --json` and the service's `GET
//! /v1/codes/{code}` report a code in one vocabulary, built by one type
//! (`hallmark::report::Report`): for the same code, every report field is
//! equal in both.

use common::*;

use crate::common;

/// The report fields both print.
const FIELDS: [&str; 8] = hallmark::report::Report::FIELDS;

#[test]
fn verify_json_and_the_api_report_each_verdict_in_the_same_fields() {
    let dir = tempdir();
    let dir = dir.path();
    let (trust, rev_key) = revocation_signer(dir);
    let codes = mint_demo(dir, 2, &[]);
    let expired = mint_demo(dir, 1, &["--expiry", "2024-01-01"]);
    let other = tempdir();
    let foreign = stdout(&mint(&new_key(other.path(), "x")).part("P").lot("L").run())
        .trim()
        .to_owned();
    let mut forged = codes[0].clone();
    forged.replace_range(40..41, if &forged[40..41] == "A" { "B" } else { "A" });

    let db = dir.join("hallmark.db");
    let token_out = hallmark(&["token", "create", "--db", p(&db)])
        .args(&["--name", "ops", "--scope", "status"])
        .run();
    assert_eq!(code(&token_out), 0, "{}", stderr(&token_out));
    let token = stdout(&token_out).trim().to_owned();
    let (mut child, announced, log) = spawn_serve(
        dir,
        &["serve", "--listen", "127.0.0.1:0", "--trust", p(&trust)],
        &["--db", p(&db), "--revocation-key", p(&rev_key)],
    );
    let url = format!("http://127.0.0.1:{}", announced.port);
    let out = hallmark(&["status", "set", "--server", &url, "--code", &codes[1]])
        .args(&["--action", "revoke", "--reason", "stolen"])
        .env("HALLMARK_TOKEN", &token)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let snapshot = dir.join("revocations.bin");
    let out = hallmark(&["revocations", "pull", "--server", &url])
        .args(&["--trust", p(&trust)])
        .out(&snapshot)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let inputs = [&codes[0], &codes[1], &expired[0], &forged, &foreign];
    let out = verify(&trust)
        .revocations(&snapshot)
        .state_dir(&dir.join("state"))
        .json()
        .args(&inputs.map(String::as_str))
        .run();
    let cli = json_lines(&out);
    assert_eq!(cli.len(), inputs.len(), "{}", stderr(&out));
    let mut verdicts = Vec::new();
    for (input, cli) in inputs.iter().zip(&cli) {
        let r = http(
            announced.port,
            "GET",
            &format!("/v1/codes/{input}"),
            &[],
            b"",
        )
        .unwrap_or_else(|e| panic!("lookup: {e}"));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let api = r.json();
        for field in FIELDS {
            let from_api = api.get(field).cloned().unwrap_or(serde_json::Value::Null);
            assert_eq!(
                cli[field], from_api,
                "{field} of {input}: cli {cli} api {api}"
            );
        }
        // The old CLI name, kept for one release.
        assert_eq!(cli["key"], cli["key_name"], "{cli}");
        verdicts.push(cli["verdict"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        verdicts,
        [
            "genuine",
            "revoked",
            "expired",
            "bad-signature",
            "unknown-key"
        ]
    );
    // The contexts: a revoked code's revocation, an expired code's verified
    // payload, and no claims from a forged one.
    assert_eq!(cli[1]["revocation"]["reason"], "stolen");
    assert!(
        cli[1]["revocation"]["scope"]["serial"].is_u64(),
        "{}",
        cli[1]
    );
    assert_eq!(cli[2]["payload"]["expiry"], "2024-01-01");
    assert_eq!(cli[2]["error"], "expired");
    assert!(cli[3]["payload"].is_null() && cli[3]["kid"].is_null());
    assert_eq!(cli[3]["error"], "bad-signature");
    // The CLI lists every field, null when it does not apply.
    for field in FIELDS {
        assert!(cli[0].get(field).is_some(), "{field} missing: {}", cli[0]);
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(log);
}
