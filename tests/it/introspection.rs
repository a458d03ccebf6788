//! Standard clients fetch the schema (issue 15): the introspection queries graphql-core and
//! graphql-js send — committed verbatim under `fixtures/` — pass every limit, and the schema
//! built from the answer is `docs/schema.graphql`, type by type and field by field. Hostile
//! introspection (twenty `ofType`s) is still `LIMIT`, and `--production` refuses introspection
//! with an error.

use std::collections::BTreeMap;

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use serde_json::{json, Value};

use crate::support::{error_code, Client, Ledger, Server};

/// Each fixture: the text `get_introspection_query()`/`getIntrospectionQuery()` returns.
const FIXTURES: [(&str, &str); 4] = [
    (
        "graphql-core 3.2.6",
        include_str!("fixtures/introspection-graphql-core-3.2.6.graphql"),
    ),
    (
        "graphql-core 3.2.6, every option",
        include_str!("fixtures/introspection-graphql-core-3.2.6-all-options.graphql"),
    ),
    (
        "graphql-js 16.15.0 (17.1.0 sends the same)",
        include_str!("fixtures/introspection-graphql-js-16.15.0.graphql"),
    ),
    (
        "graphql-js 16.15.0, every option",
        include_str!("fixtures/introspection-graphql-js-16.15.0-all-options.graphql"),
    ),
];

/// One type as a set of lines: `Type.field(arg: T): T`, `Input.field: T`, `Enum.VALUE`.
type Shape = BTreeMap<String, Vec<String>>;

/// `{kind: NON_NULL, ofType: {kind: LIST, ofType: {name: "X"}}}` → `[X]!`.
fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("?").to_owned(),
    }
}

/// The schema a client builds from the introspection answer.
fn shape_of_introspection(schema: &Value) -> Shape {
    let mut shape = Shape::new();
    for t in schema["types"].as_array().expect("types") {
        let name = t["name"].as_str().expect("type name");
        if name.starts_with("__") {
            continue;
        }
        let mut lines = vec![format!("kind {}", t["kind"].as_str().unwrap_or("?"))];
        for f in t["fields"].as_array().into_iter().flatten() {
            let args: Vec<String> = f["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    format!(
                        "{}: {}",
                        a["name"].as_str().unwrap_or("?"),
                        type_ref(&a["type"])
                    )
                })
                .collect();
            lines.push(format!(
                "{}({}): {}",
                f["name"].as_str().unwrap_or("?"),
                args.join(", "),
                type_ref(&f["type"])
            ));
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{}: {}",
                f["name"].as_str().unwrap_or("?"),
                type_ref(&f["type"])
            ));
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            lines.push(v["name"].as_str().unwrap_or("?").to_owned());
        }
        lines.sort();
        shape.insert(name.to_owned(), lines);
    }
    shape
}

/// The schema `docs/schema.graphql` declares, in the same form.
fn shape_of_sdl(sdl: &str) -> Shape {
    let document = async_graphql::parser::parse_schema(sdl).expect("docs/schema.graphql parses");
    let mut shape = Shape::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(t) = definition else {
            continue;
        };
        let t = t.node;
        let (kind, mut lines) = match &t.kind {
            TypeKind::Scalar => ("SCALAR", vec![]),
            TypeKind::Object(o) => ("OBJECT", fields(&o.fields)),
            TypeKind::Interface(i) => ("INTERFACE", fields(&i.fields)),
            TypeKind::Union(_) => ("UNION", vec![]),
            TypeKind::Enum(e) => (
                "ENUM",
                e.values
                    .iter()
                    .map(|v| v.node.value.node.to_string())
                    .collect(),
            ),
            TypeKind::InputObject(i) => (
                "INPUT_OBJECT",
                i.fields
                    .iter()
                    .map(|f| format!("{}: {}", f.node.name.node, f.node.ty.node))
                    .collect(),
            ),
        };
        lines.push(format!("kind {kind}"));
        lines.sort();
        shape.insert(t.name.node.to_string(), lines);
    }
    shape
}

fn fields(
    defs: &[async_graphql::Positioned<async_graphql::parser::types::FieldDefinition>],
) -> Vec<String> {
    defs.iter()
        .map(|f| {
            let args: Vec<String> = f
                .node
                .arguments
                .iter()
                .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                .collect();
            format!(
                "{}({}): {}",
                f.node.name.node,
                args.join(", "),
                f.node.ty.node
            )
        })
        .collect()
}

#[tokio::test]
async fn standard_introspection_queries_fetch_the_published_schema() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    // GraphiQL's docs pane and codegen tools fetch the schema before anyone pastes a token.
    let client = Client::new(&server, None);
    let sdl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/schema.graphql"
    ))
    .expect("docs/schema.graphql");
    let published = shape_of_sdl(&sdl);
    // The built-in scalars are in every introspection answer but not in printed SDL.
    let builtin = ["Boolean", "Float", "ID", "Int", "String"];
    for (client_name, query) in FIXTURES {
        let answer = client
            .query_named(query, "IntrospectionQuery", json!({}))
            .await;
        assert!(answer.get("errors").is_none(), "{client_name}: {answer}");
        let mut fetched = shape_of_introspection(&answer["data"]["__schema"]);
        for b in builtin {
            fetched.remove(b);
        }
        let only_fetched: Vec<&String> = fetched
            .keys()
            .filter(|k| !published.contains_key(*k))
            .collect();
        let only_published: Vec<&String> = published
            .keys()
            .filter(|k| !fetched.contains_key(*k))
            .collect();
        assert!(
            only_fetched.is_empty() && only_published.is_empty(),
            "{client_name}: types only in the answer {only_fetched:?}, only in docs {only_published:?}"
        );
        for (name, lines) in &published {
            assert_eq!(&fetched[name], lines, "{client_name}: type {name}");
        }
        assert_eq!(
            answer["data"]["__schema"]["queryType"]["name"], "QueryRoot",
            "{client_name}"
        );
    }
}

#[tokio::test]
async fn hostile_introspection_is_still_limited_and_production_refuses_it() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {}name{} }} }} }} }}",
        "{ ofType ".repeat(20),
        " }".repeat(20)
    );
    let answer = client.query(&deep, json!({})).await;
    assert_eq!(error_code(&answer).as_deref(), Some("LIMIT"), "{answer}");
    // Outside introspection the ordinary depth (12 fields) still holds: 13 is LIMIT, while
    // 12 gets as far as validation (these fields do not exist).
    let nested = |depth: usize| {
        format!(
            "{{ {}x{} }}",
            "a { ".repeat(depth - 1),
            " }".repeat(depth - 1)
        )
    };
    let answer = client.query(&nested(13), json!({})).await;
    assert_eq!(error_code(&answer).as_deref(), Some("LIMIT"), "{answer}");
    let answer = client.query(&nested(12), json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("VALIDATION"),
        "{answer}"
    );

    let production_ledger = Ledger::new();
    let production = Server::start_with(&production_ledger.data(), &["--production"]);
    let client = Client::new(&production, Some(&production_ledger.admin));
    let (_, query) = FIXTURES[0];
    let answer = client
        .query_named(query, "IntrospectionQuery", json!({}))
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("FORBIDDEN"),
        "{answer}"
    );
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("__schema") && message.contains("--production"),
        "{answer}"
    );
    let answer = client
        .query("{ __type(name: \"Exposure\") { name } }", json!({}))
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("FORBIDDEN"),
        "{answer}"
    );
}
