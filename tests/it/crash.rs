//! The crash loop against the real server: `dunlog serve` is killed with SIGKILL at random moments
//! while several clients send mutations, then restarted on the same data directory. After each
//! restart every acknowledged mutation's events are there at the positions the client was told,
//! positions run 1..=head without a gap, `verifyLog` passes, retrying an acknowledged idempotency
//! key returns the same positions, and the restarted server's aging equals a rebuild from the log
//! (`dunlog aging`, which replays the whole log) taken while the server was down.
//!
//! `DUNLOG_E2E_CRASH_SEED` replays a run; the seed, cycles and acknowledged writes are printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{cli, Client, Ledger, Server};

/// Writing clients, each on its own accounts.
const CLIENTS: usize = 4;
/// The loop stops starting new cycles after this long (the whole test stays near a minute).
const BUDGET: Duration = Duration::from_secs(35);
const CYCLES_MAX: usize = 40;
const AS_OF: &str = "2026-03-31";

const OPEN: &str =
    "mutation($i: OpenAccountInput!) { openAccount(input: $i) { events { position type } } }";
const ISSUE: &str =
    "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position type } } }";
const PAY: &str =
    "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { events { position type } } }";

/// xorshift64*: enough randomness for kill moments, and replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The `step`-th mutation of client `client`: (idempotency key, query, variables).
fn mutation(client: usize, step: usize) -> (String, &'static str, Value) {
    let account = step / 3;
    let customer = format!("T{client}-A{account}");
    let key = format!("crash-{customer}-{}", step % 3);
    let (query, input) = match step % 3 {
        0 => (
            OPEN,
            json!({"customerId": customer, "name": format!("Customer {customer}"),
                   "currency": "EUR", "creditLimit": "50000.00", "terms": {"netDays": 30},
                   "openedOn": "2026-01-01"}),
        ),
        1 => (
            ISSUE,
            json!({"customerId": customer, "invoiceId": format!("{customer}-INV"),
                   "amount": format!("{}.00", 1000 + account), "issuedOn": "2026-01-05"}),
        ),
        _ => (
            PAY,
            json!({"customerId": customer, "paymentId": format!("{customer}-PAY"),
                   "amount": "400.00", "receivedOn": "2026-01-20",
                   "allocations": [{"invoiceId": format!("{customer}-INV"), "amount": "400.00"}]}),
        ),
    };
    let mut input = input;
    input["idempotencyKey"] = json!(key);
    (key, query, json!({ "i": input }))
}

/// An acknowledged mutation: its events' positions and types, in order.
type Acked = Vec<(u64, String)>;

fn events_of(answer: &Value) -> Option<Acked> {
    if answer.get("errors").is_some() {
        return None;
    }
    let data = answer.get("data")?.as_object()?;
    let (_, result) = data.iter().next()?;
    result["events"]
        .as_array()?
        .iter()
        .map(|e| {
            Some((
                e["position"].as_str()?.parse().ok()?,
                e["type"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Sends client `client`'s mutations from `*next` on until the server stops answering; each
/// acknowledged one is recorded and moves `*next` on. An answer that is an error fails the test.
async fn write_until_killed(
    client: Client,
    id: usize,
    next: Arc<Mutex<usize>>,
    acked: Arc<Mutex<BTreeMap<String, Acked>>>,
) {
    loop {
        let step = *next.lock().expect("lock");
        let (key, query, variables) = mutation(id, step);
        let Ok(answer) = client.try_query(query, variables).await else {
            return; // killed: this one is not acknowledged, and is sent again after the restart
        };
        let events = events_of(&answer)
            .unwrap_or_else(|| panic!("client {id}, {key}: not acknowledged: {answer}"));
        assert!(!events.is_empty(), "{key}: acknowledged without events");
        acked.lock().expect("lock").insert(key, events);
        *next.lock().expect("lock") = step + 1;
    }
}

/// Every event of the log as (position, type), read in pages as an admin.
async fn all_events(client: &Client) -> Vec<(u64, String)> {
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |(p, _): &(u64, String)| *p);
        let answer = client
            .query(
                "query($a: Position) { events(after: $a, first: 500) { nodes { position type } } }",
                json!({"a": after.to_string()}),
            )
            .await;
        let nodes = answer["data"]["events"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("events: {answer}"))
            .clone();
        if nodes.is_empty() {
            return events;
        }
        for n in nodes {
            events.push((
                n["position"]
                    .as_str()
                    .expect("position")
                    .parse()
                    .expect("u64"),
                n["type"].as_str().expect("type").to_owned(),
            ));
        }
    }
}

/// The aging as of [`AS_OF`] from the server, in the CLI's JSON shape (totals and rows).
async fn server_aging(client: &Client) -> Value {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    let mut totals;
    loop {
        let answer = client
            .query(
                "query($d: Date, $a: String) { aging(asOf: $d, first: 500, after: $a) {
                    totals { currency amounts unapplied total }
                    rows { nodes { customerId currency amounts unapplied total disputed }
                           pageInfo { hasNextPage endCursor } } } }",
                json!({"d": AS_OF, "a": after}),
            )
            .await;
        let aging = &answer["data"]["aging"];
        assert!(aging.is_object(), "aging: {answer}");
        totals = aging["totals"].clone();
        for r in aging["rows"]["nodes"].as_array().expect("rows") {
            rows.push(
                json!({"customer_id": r["customerId"], "currency": r["currency"],
                             "buckets": r["amounts"], "unapplied": r["unapplied"],
                             "total": r["total"], "disputed": r["disputed"]}),
            );
        }
        if aging["rows"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = aging["rows"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    json!({"rows": rows, "totals": totals})
}

/// The aging as of [`AS_OF`] rebuilt from the log by `dunlog aging` (server stopped).
fn rebuilt_aging(data: &Path) -> Value {
    let out = cli(data, &["aging", "--as-of", AS_OF, "--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("aging json");
    let rows: Vec<Value> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            json!({"customer_id": r["customer_id"], "currency": r["currency"],
                   "buckets": r["buckets"], "unapplied": r["unapplied"],
                   "total": r["total"], "disputed": r["disputed"]})
        })
        .collect();
    json!({"rows": rows, "totals": report["totals"]})
}

/// Checks everything promised after a restart; returns the head.
async fn check_after_restart(
    client: &Client,
    acked: &BTreeMap<String, Acked>,
    cycle: usize,
) -> u64 {
    let events = all_events(client).await;
    for (i, (position, _)) in events.iter().enumerate() {
        assert_eq!(
            *position,
            i as u64 + 1,
            "cycle {cycle}: positions have a gap"
        );
    }
    let by_position: BTreeMap<u64, &str> = events.iter().map(|(p, t)| (*p, t.as_str())).collect();
    for (key, acked_events) in acked {
        for (position, kind) in acked_events {
            assert_eq!(
                by_position.get(position).copied(),
                Some(kind.as_str()),
                "cycle {cycle}: {key} was acknowledged at {position} as {kind}, lost after the crash"
            );
        }
    }
    let head = events.len() as u64;
    let verified = client
        .query(
            "{ verifyLog { ok checked firstBadPosition message } }",
            json!({}),
        )
        .await;
    assert_eq!(
        verified["data"]["verifyLog"]["ok"], true,
        "cycle {cycle}: {verified}"
    );
    assert_eq!(verified["data"]["verifyLog"]["checked"], head.to_string());
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_of_the_server() {
    let seed = std::env::var("DUNLOG_E2E_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("crash loop: seed {seed} (DUNLOG_E2E_CRASH_SEED={seed} replays the kill moments)");
    let mut rng = Rng(seed);
    let ledger = Ledger::new();
    let data = ledger.data();
    let acked: Arc<Mutex<BTreeMap<String, Acked>>> = Arc::default();
    let next: Vec<Arc<Mutex<usize>>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let started = Instant::now();
    let mut cycles = 0;
    let mut server = Server::start(&data);
    while cycles < CYCLES_MAX && started.elapsed() < BUDGET {
        let client = Client::new(&server, Some(&ledger.admin));
        let writers: Vec<_> = (0..CLIENTS)
            .map(|id| {
                tokio::spawn(write_until_killed(
                    client.clone(),
                    id,
                    next[id].clone(),
                    acked.clone(),
                ))
            })
            .collect();
        // A random moment: sometimes almost at once, mostly after some hundreds of writes.
        let delay = match rng.below(5) {
            0 => rng.below(20),
            _ => 50 + rng.below(1200),
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.stop();
        for w in writers {
            w.await.expect("writer task");
        }
        cycles += 1;

        // Down: rebuild the aging from the log alone, then restart and compare.
        let rebuilt = rebuilt_aging(&data);
        server = Server::start(&data);
        let client = Client::new(&server, Some(&ledger.admin));
        let snapshot = acked.lock().expect("lock").clone();
        check_after_restart(&client, &snapshot, cycles).await;
        assert_eq!(
            server_aging(&client).await,
            rebuilt,
            "cycle {cycle}: the restarted server's aging differs from a rebuild",
            cycle = cycles
        );
        // Retrying the last acknowledged mutation of each client appends nothing and answers
        // the same positions.
        for (id, step) in next.iter().enumerate() {
            let step = *step.lock().expect("lock");
            if step == 0 {
                continue;
            }
            let (key, query, variables) = mutation(id, step - 1);
            let again = events_of(&client.query(query, variables).await);
            assert_eq!(
                again.as_ref(),
                snapshot.get(&key),
                "cycle {cycles}: retry of {key}"
            );
        }
    }
    let snapshot = acked.lock().expect("lock").clone();
    let head = check_after_restart(
        &Client::new(&server, Some(&ledger.admin)),
        &snapshot,
        cycles,
    )
    .await;
    server.stop();
    let acked = acked.lock().expect("lock");
    let events: usize = acked.values().map(Vec::len).sum();
    eprintln!(
        "crash loop: {cycles} SIGKILL cycles, {} acknowledged mutations ({events} events) all \
         present, log head {head} (the default policy and {} events of mutations in flight at \
         the last kill), in {:.1} s",
        acked.len(),
        head.saturating_sub(1 + events as u64),
        started.elapsed().as_secs_f64()
    );
    assert!(cycles >= 3, "too few cycles to mean anything");
    assert!(!acked.is_empty(), "nothing was acknowledged");
}
