use super::*;

#[test]
fn route_labels_take_templates_and_refuse_raw_paths() {
    assert_eq!(
        RouteLabel::new(Some("/v1/drafts/{id}")).as_str(),
        "/v1/drafts/{id}"
    );
    assert_eq!(
        RouteLabel::new(Some("/.well-known/openid-configuration")).as_str(),
        "/.well-known/openid-configuration"
    );
    assert_eq!(RouteLabel::new(None).as_str(), "unmatched");
    for raw in [
        "/v1/drafts/Jane Doe",
        "/v1/patients/MRN-0012345",
        "/v1/x?name=smith",
        "v1/messages",
        "/v1/{}",
        "/v1/drafts/{id",
    ] {
        assert_eq!(RouteLabel::new(Some(raw)).as_str(), "other", "{raw}");
    }
}

#[test]
fn methods_outside_the_standard_set_are_other() {
    assert_eq!(labels::method_label("GET"), "GET");
    assert_eq!(labels::method_label("BREW"), "OTHER");
    assert_eq!(labels::method_label("get"), "OTHER");
}

#[test]
fn every_family_is_exported_with_its_labels() {
    let m = metrics();
    m.http_request(
        RouteLabel::new(Some("/v1/messages")),
        "POST",
        200,
        Duration::from_millis(12),
    );
    m.upstream_error("anthropic", "overloaded");
    m.upstream_retry("anthropic");
    m.deid_entities("NAME", 3);
    m.leak_gate_block("SSN");
    m.injection_detected("task_input", "high");
    m.audit_append(true, Duration::from_millis(2));
    m.audit_lag(7);
    m.key_cache(true);
    m.incident_opened("failed_sign_ins", "high");
    m.webhook_delivery("delivered");
    let text = m.encode();
    for line in [
        r#"phigate_http_requests_total{route="/v1/messages",method="POST",status="200"}"#,
        r#"phigate_http_request_duration_seconds_bucket{le="0.025",route="/v1/messages",method="POST",status="200"}"#,
        r#"phigate_upstream_errors_total{provider="anthropic",kind="overloaded"}"#,
        r#"phigate_upstream_retries_total{provider="anthropic"}"#,
        r#"phigate_deid_entities_total{entity="NAME"}"#,
        r#"phigate_leak_gate_blocks_total{entity="SSN"}"#,
        r#"phigate_injection_detections_total{source="task_input",risk="high"}"#,
        r#"phigate_audit_append_duration_seconds_count{outcome="ok"}"#,
        "phigate_audit_unsigned_entries 7",
        r#"phigate_key_cache_lookups_total{outcome="hit"}"#,
        r#"phigate_incidents_opened_total{rule="failed_sign_ins",severity="high"}"#,
        r#"phigate_webhook_deliveries_total{outcome="delivered"}"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"));
}
