//! Table-driven tests of server document parsing: what is read, and every refusal (403 with a
//! detail naming the field).

use axum::http::StatusCode;

use super::*;

#[test]
fn a_full_document_is_read() {
    let body = br#"{"data": {"id": "server4", "type": "servers",
        "attributes": {"parameters": {"address": "127.0.0.1", "port": 3002, "protocol": "MySQLBackend", "shard": 1}},
        "relationships": {"services": {"data": [{"id": "orders_rw", "type": "services"}]},
                          "monitors": {"data": [{"id": "prod.orders", "type": "monitors"}]}}}}"#;
    let parsed = parse_server_body(body).expect("parses");
    assert_eq!(
        parsed,
        ServerBody {
            id: Some("server4".into()),
            address: Some("127.0.0.1".into()),
            port: Some(3002),
            shard: Some(1),
            monitors: Some(vec!["prod.orders".into()]),
            services: Some(vec!["orders_rw".into()]),
        }
    );
    let new = parsed.into_new_server().expect("a new server");
    assert_eq!((new.name.as_str(), new.host.as_str(), new.port, new.cluster.as_deref(), new.shard), ("server4", "127.0.0.1", 3002, Some("prod.orders"), 1));
}

#[test]
fn the_minimal_document_takes_shard_zero_and_no_monitor() {
    let body = br#"{"data": {"id": "server3", "type": "servers", "attributes": {"parameters": {"address": "db3", "port": 3003}}}}"#;
    let new = parse_server_body(body).and_then(ServerBody::into_new_server).expect("a new server");
    assert_eq!((new.shard, new.cluster), (0, None));
}

#[test]
fn a_partial_patch_changes_only_what_it_names() {
    let body = br#"{"data": {"attributes": {"parameters": {"port": 3310}}}}"#;
    let patch = parse_server_body(body).and_then(ServerBody::into_patch).expect("a patch");
    assert_eq!((patch.name, patch.host, patch.port, patch.cluster, patch.services), (None, None, Some(3310), None, None));
}

#[test]
fn bad_documents_are_refused_with_403() {
    let cases: [(&[u8], &str); 14] = [
        (b"{not json", "request body is not valid json"),
        (b"", "request body is not valid json"),
        (b"[]", "no \"data\" object"),
        (br#"{"data": 1}"#, "no \"data\" object"),
        (br#"{"data": {"id": 7}}"#, "data.id must be a string"),
        (br#"{"data": {"type": "monitors"}}"#, "data.type must be \"servers\""),
        (br#"{"data": {"attributes": []}}"#, "data.attributes must be an object"),
        (br#"{"data": {"attributes": {"parameters": {"port": 70000}}}}"#, "parameter \"port\" must be a number in 1..=65535"),
        (br#"{"data": {"attributes": {"parameters": {"port": "3306"}}}}"#, "parameter \"port\" must be a number"),
        (br#"{"data": {"attributes": {"parameters": {"address": null}}}}"#, "parameter \"address\" must be a string"),
        (br#"{"data": {"attributes": {"parameters": {"weight": 3}}}}"#, "parameter \"weight\" is not supported"),
        (br#"{"data": {"attributes": {"parameters": {"protocol": "pgsql"}}}}"#, "\"pgsql\" is not supported"),
        (br#"{"data": {"attributes": {"parameters": {"shard": -1}}}}"#, "must be a shard index"),
        (br#"{"data": {"relationships": {"monitors": {"data": [{"id": "x", "type": "services"}]}}}}"#, "data.relationships.monitors.data entries"),
    ];
    for (body, fragment) in cases {
        let error = parse_server_body(body).expect_err(fragment);
        assert_eq!(error.status, StatusCode::FORBIDDEN, "{fragment}");
        assert!(error.detail.contains(fragment), "{fragment}: {}", error.detail);
    }
}

/// (body, conversion, fragment of the refusal)
type ConversionCase = (ServerBody, fn(ServerBody) -> Result<(), MaxError>, &'static str);

#[test]
fn incomplete_creations_and_bad_patches_are_refused() {
    let parse = |body: &[u8]| parse_server_body(body).expect("parses");
    let cases: [ConversionCase; 5] = [
        (parse(br#"{"data": {"attributes": {"parameters": {"address": "a", "port": 1}}}}"#), |b| b.into_new_server().map(drop), "data.id (the server name) is required"),
        (parse(br#"{"data": {"id": "s", "attributes": {"parameters": {"port": 1}}}}"#), |b| b.into_new_server().map(drop), "\"address\" is required"),
        (parse(br#"{"data": {"id": "s", "attributes": {"parameters": {"address": "a"}}}}"#), |b| b.into_new_server().map(drop), "\"port\" is required"),
        (
            parse(br#"{"data": {"id": "s", "attributes": {"parameters": {"address": "a", "port": 1}}, "relationships": {"monitors": {"data": [{"id": "a.b"}, {"id": "c.d"}]}}}}"#),
            |b| b.into_new_server().map(drop),
            "exactly one monitor",
        ),
        (parse(br#"{"data": {"attributes": {"parameters": {"shard": 2}}}}"#), |b| b.into_patch().map(drop), "\"shard\" cannot be changed"),
    ];
    for (body, convert, fragment) in cases {
        let error = convert(body).expect_err(fragment);
        assert_eq!(error.status, StatusCode::FORBIDDEN);
        assert!(error.detail.contains(fragment), "{fragment}: {}", error.detail);
    }
}
