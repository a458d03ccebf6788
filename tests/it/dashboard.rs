//! The dashboard in a real browser (SPEC §11): headless Chromium against the real
//! `dunlog serve --demo`. Each test reads as a person's steps and looks for what a person sees —
//! headings, labelled fields, buttons and links by name, tables by caption.
//! Screenshots land in `target/screenshots/` (three of them are in docs/img/).

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::chromium::{canonical_amount, literal, Browser};
use crate::support::{token, Client, Server};

/// Customers of the demo ledger the tests serve: enough for every kind of account and a
/// worklist, few enough to generate quickly. `DUNLOG_DASHBOARD_DEMO_CUSTOMERS=200` serves the
/// full `serve --demo` ledger (for the screenshots in docs/img and the timings in docs/dashboard.md).
const DEMO_CUSTOMERS: &str = "60";

/// How many Tabs from the top of the overview may come before the chart (skip link, pages,
/// search, sign out, then the chart).
const TABS_TO_THE_CHART_MAX: usize = 20;

fn demo_customers() -> String {
    std::env::var("DUNLOG_DASHBOARD_DEMO_CUSTOMERS").unwrap_or_else(|_| DEMO_CUSTOMERS.to_owned())
}

/// A demo ledger served with tokens of every role made before it started.
struct Demo {
    _dir: tempfile::TempDir,
    server: Server,
    admin: String,
    collector: String,
    viewer: String,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().expect("temp dir");
        let data: PathBuf = dir.path().join("data");
        let admin = token(&data, "admin", "admin");
        let collector = token(&data, "collector", "collector");
        let viewer = token(&data, "viewer", "viewer");
        let customers = demo_customers();
        let server = Server::start_with(&data, &["--demo", "--demo-customers", &customers]);
        Demo {
            _dir: dir,
            server,
            admin,
            collector,
            viewer,
        }
    }

    fn client(&self, secret: &str) -> Client {
        Client::new(&self.server, Some(secret))
    }

    fn url(&self) -> String {
        format!("{}/", self.server.base)
    }
}

async fn data(client: &Client, query: &str, variables: Value) -> Value {
    let answer = client.query(query, variables).await;
    assert!(answer.get("errors").is_none(), "{query}: {answer}");
    answer["data"].clone()
}

/// Opens the dashboard and signs in with `secret`; waits for the overview.
async fn sign_in(browser: &Browser, demo: &Demo, secret: &str) {
    browser.open(&demo.url()).await;
    browser.heading("Sign in").await;
    browser.fill("API token", secret).await;
    browser
        .button("Sign in")
        .await
        .click()
        .await
        .expect("click");
    browser.heading("Overview").await;
}

async fn go(browser: &Browser, link: &str) {
    browser
        .wait_for(
            &format!("the “{link}” page link"),
            &format!("//nav//a[normalize-space(.)={}]", literal(link)),
        )
        .await
        .click()
        .await
        .expect("follow the link");
}

#[tokio::test]
async fn a_bad_token_gets_a_clear_message_and_a_viewer_sees_no_action_buttons() {
    let demo = Demo::start();
    let browser = Browser::start().await;

    // A token nobody issued.
    browser.open(&demo.url()).await;
    browser.heading("Sign in").await;
    browser
        .fill("API token", "dlk_not_a_token_anyone_issued")
        .await;
    browser
        .button("Sign in")
        .await
        .click()
        .await
        .expect("click");
    let alert = browser
        .wait_for(
            "the refusal",
            "//*[@role='alert' and normalize-space(.)!='']",
        )
        .await;
    let message = alert.text().await.expect("text");
    assert!(
        message.contains("not accepted") && message.contains("revoked"),
        "{message}"
    );
    // Still on the sign-in page: no navigation is offered.
    browser.heading("Sign in").await;
    let nav = browser.all("//nav[@aria-label='Pages']").await;
    for n in nav {
        assert!(
            !n.is_displayed().await.expect("displayed"),
            "a refused token must not be signed in"
        );
    }

    // A viewer reads everything and is offered nothing to do.
    sign_in(&browser, &demo, &demo.viewer).await;
    go(&browser, "Worklist").await;
    browser.table("Worklist for").await;
    let rows = browser.rows("Worklist for").await;
    assert!(!rows.is_empty(), "the demo worklist has items today");
    for name in [
        "Log call",
        "Take promise",
        "Record reminder",
        "Notify sales rep",
    ] {
        assert!(
            browser
                .all(&format!(
                    "//main//button[normalize-space(.)={}]",
                    literal(name)
                ))
                .await
                .is_empty(),
            "a viewer is offered “{name}”"
        );
    }
    let first_customer = browser
        .wait_for(
            "a customer link",
            "//table//a[starts-with(@href, '#/customer/')]",
        )
        .await;
    first_customer.click().await.expect("open the customer");
    browser.table("Open invoices of").await;
    for name in ["Hold account", "Release account", "Change credit limit"] {
        assert!(
            browser
                .all(&crate::chromium::button_xpath(name))
                .await
                .is_empty(),
            "a viewer is offered “{name}”"
        );
    }
    // The audit pages say why they are closed rather than failing.
    go(&browser, "Audit").await;
    browser
        .wait_until("the audit page explains the role", |t| {
            t.contains("auditor role")
        })
        .await;
}

#[tokio::test]
async fn the_overview_chart_totals_equal_the_aging_query_and_a_bucket_lists_its_accounts() {
    let demo = Demo::start();
    let admin = demo.client(&demo.admin);
    let browser = Browser::start().await;
    sign_in(&browser, &demo, &demo.admin).await;
    browser.table("Aging totals per currency").await;
    eprintln!(
        "overview loaded in {} ms ({} demo customers)",
        browser.loaded_ms().await,
        demo_customers()
    );
    browser.screenshot_page("overview").await;

    let aging = data(
        &admin,
        "{ aging(first: 1) { buckets totals { currency amounts total } } }",
        json!({}),
    )
    .await;
    let buckets: Vec<String> =
        serde_json::from_value(aging["aging"]["buckets"].clone()).expect("buckets");
    let totals = aging["aging"]["totals"].as_array().expect("totals").clone();
    assert!(!totals.is_empty());
    for total in &totals {
        let currency = total["currency"].as_str().expect("currency");
        // The chart's own label for the currency carries its total…
        let bar = browser
            .wait_for(
                &format!("the {currency} bar"),
                &format!("//*[local-name()='g' and @aria-label='{currency} aging']"),
            )
            .await;
        let label = bar
            .find(fantoccini::Locator::XPath("./*[local-name()='text']"))
            .await
            .expect("bar label")
            .text()
            .await
            .expect("text");
        let shown = label.split("total").nth(1).unwrap_or_default();
        assert_eq!(
            canonical_amount(shown),
            canonical_amount(total["total"].as_str().expect("total")),
            "{currency}: the chart says {label:?}"
        );
        // …and each segment, the amount of its bucket.
        for (i, amount) in total["amounts"]
            .as_array()
            .expect("amounts")
            .iter()
            .enumerate()
        {
            let amount = amount.as_str().expect("amount");
            let segment = browser
                .all(&format!(
                    // Within the chart: the totals table's links carry the same label.
                    "//*[local-name()='svg']//*[local-name()='a' and starts-with(@aria-label, {})]",
                    literal(&format!("{currency} {}: ", buckets[i]))
                ))
                .await;
            if canonical_amount(amount) == "0" {
                assert!(
                    segment.is_empty(),
                    "{currency} {}: an empty bucket has no segment",
                    buckets[i]
                );
                continue;
            }
            let segment = segment.first().expect("a segment per non-empty bucket");
            // Drawn, not only present: a bar a person can see and click.
            let (_, _, width, height) = segment.rectangle().await.expect("segment size");
            assert!(
                width > 0.0 && height > 0.0,
                "{currency} {}: the segment is not drawn",
                buckets[i]
            );
            let name = segment
                .attr("aria-label")
                .await
                .expect("attr")
                .unwrap_or_default();
            let shown = name
                .split(": ")
                .nth(1)
                .unwrap_or_default()
                .split(" — ")
                .next()
                .unwrap_or_default();
            assert_eq!(canonical_amount(shown), canonical_amount(amount), "{name}");
        }
        // The totals table agrees too.
        let cell = browser
            .wait_for(
                "the total in the table",
                &format!("//table//a[starts-with(@aria-label, '{currency} total: ')]"),
            )
            .await
            .text()
            .await
            .expect("text");
        assert_eq!(
            canonical_amount(&cell),
            canonical_amount(total["total"].as_str().expect("total")),
            "{currency} total in the table: {cell}"
        );
    }

    // A new invoice reaches the open overview by itself (the events subscription).
    let currency0 = totals[0]["currency"].as_str().expect("currency").to_owned();
    let someone = data(
        &admin,
        "query($c: String) { aging(currency: $c, first: 1) { asOf rows { nodes { customerId } } } }",
        json!({"c": currency0}),
    )
    .await;
    let today = someone["aging"]["asOf"].as_str().expect("asOf").to_owned();
    let customer = someone["aging"]["rows"]["nodes"][0]["customerId"]
        .as_str()
        .expect("id")
        .to_owned();
    data(
        &admin,
        "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position } } }",
        json!({"i": {"customerId": customer, "invoiceId": "INV-LIVE-1", "amount": "1000.00", "issuedOn": today,
                     "overrideReason": "browser test: a sale the overview must show"}}),
    )
    .await;
    let new_total = data(
        &admin,
        "query($c: String) { aging(currency: $c, first: 1) { totals { total } } }",
        json!({"c": currency0}),
    )
    .await["aging"]["totals"][0]["total"]
        .as_str()
        .expect("total")
        .to_owned();
    let bar_label =
        format!("//*[local-name()='g' and @aria-label='{currency0} aging']/*[local-name()='text']");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let shown = match browser.all(&bar_label).await.first() {
            Some(label) => label.text().await.unwrap_or_default(),
            None => String::new(),
        };
        if canonical_amount(shown.split("total").nth(1).unwrap_or_default())
            == canonical_amount(&new_total)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the overview never showed the new {currency0} total {new_total}: {shown}"
        );
        tokio::task::yield_now().await;
    }
    let totals = data(
        &admin,
        "{ aging(first: 1) { totals { currency amounts total } } }",
        json!({}),
    )
    .await["aging"]["totals"]
        .as_array()
        .expect("totals")
        .clone();

    // The chart works from the keyboard: Tab reaches the first bar's first drawn segment, Enter
    // opens its list.
    let first_currency = totals[0]["currency"].as_str().expect("currency").to_owned();
    let first_drawn = totals[0]["amounts"]
        .as_array()
        .expect("amounts")
        .iter()
        .position(|a| canonical_amount(a.as_str().unwrap_or("0")) != "0")
        .expect("a bucket with an amount");
    let wanted = format!("{first_currency} {}: ", buckets[first_drawn]);
    let mut reached = false;
    for _ in 0..TABS_TO_THE_CHART_MAX {
        let active = browser.client.active_element().await.expect("focus");
        active
            .send_keys(&fantoccini::key::Key::Tab)
            .await
            .expect("Tab");
        let now = browser.client.active_element().await.expect("focus");
        if now
            .attr("aria-label")
            .await
            .expect("attr")
            .is_some_and(|l| l.starts_with(&wanted))
        {
            now.send_keys(&fantoccini::key::Key::Enter)
                .await
                .expect("Enter");
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the segment “{wanted}…”");
    browser
        .heading(&format!("Aging {first_currency}: {}", buckets[first_drawn]))
        .await;
    browser.client.back().await.expect("back");
    browser.table("Aging totals per currency").await;

    // Click the first overdue bucket of the first currency that holds something: its accounts
    // are listed.
    let first = &totals[0];
    let currency = first["currency"].as_str().expect("currency");
    let amounts: Vec<String> = serde_json::from_value(first["amounts"].clone()).expect("amounts");
    let bucket = (1..amounts.len())
        .find(|&i| canonical_amount(&amounts[i]) != "0")
        .unwrap_or(0);
    let segment = browser
        .wait_for(
            "the bucket's segment",
            &format!(
                "//*[local-name()='a' and starts-with(@aria-label, {})]",
                literal(&format!("{currency} {}: ", buckets[bucket]))
            ),
        )
        .await;
    segment.click().await.expect("click the bucket");
    let title = format!("Aging {currency}: {}", buckets[bucket]);
    browser.heading(&title).await;
    let listed: Vec<String> = browser
        .rows(&title)
        .await
        .into_iter()
        .filter_map(|cells| cells.get(1).cloned())
        .collect();

    let rows = data(
        &admin,
        "query($c: String) { aging(currency: $c, first: 500) { rows { nodes { customerId amounts } } } }",
        json!({"c": currency}),
    )
    .await;
    let expected: Vec<String> = rows["aging"]["rows"]["nodes"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| canonical_amount(r["amounts"][bucket].as_str().unwrap_or("0")) != "0")
        .map(|r| r["customerId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        listed, expected,
        "the accounts with {currency} in {}",
        buckets[bucket]
    );
}

/// The worklist item a collector would call about: a `call` step if there is one.
async fn an_item(browser: &Browser, step: Option<&str>) -> (String, String, String) {
    let table = browser.table("Worklist for").await;
    let rows = table
        .find_all(fantoccini::Locator::XPath("./tbody/tr"))
        .await
        .expect("rows");
    let mut chosen = None;
    for row in rows {
        let cells = row
            .find_all(fantoccini::Locator::XPath("./th|./td"))
            .await
            .expect("cells");
        if cells.len() < 3 {
            continue;
        }
        let step_text = cells[2].text().await.expect("step");
        if step.is_none_or(|s| step_text.starts_with(s)) {
            chosen = Some(row);
            break;
        }
    }
    let row = match chosen {
        Some(row) => row,
        None => return Box::pin(an_item(browser, None)).await,
    };
    let cells = row
        .find_all(fantoccini::Locator::XPath("./th|./td"))
        .await
        .expect("cells");
    let name = cells[0].text().await.expect("customer");
    let invoice = cells[1].text().await.expect("invoice");
    let href = cells[0]
        .find(fantoccini::Locator::XPath(".//a"))
        .await
        .expect("customer link")
        .attr("href")
        .await
        .expect("attr")
        .unwrap_or_default();
    let customer = href.trim_start_matches("#/customer/").to_owned();
    (customer, name, invoice)
}

async fn worklist_invoices(browser: &Browser) -> Vec<String> {
    browser
        .rows("Worklist for")
        .await
        .into_iter()
        .filter_map(|cells| cells.get(1).cloned())
        .collect()
}

#[tokio::test]
async fn a_call_and_a_promise_taken_from_the_worklist_show_on_the_customer_page() {
    let demo = Demo::start();
    let admin = demo.client(&demo.admin);
    let today = data(&admin, "{ aging(first: 1) { asOf } }", json!({})).await["aging"]["asOf"]
        .as_str()
        .expect("asOf")
        .to_owned();
    let browser = Browser::start().await;
    sign_in(&browser, &demo, &demo.collector).await;

    // Record a call about an item on today's worklist.
    go(&browser, "Worklist").await;
    browser.table("Worklist for").await;
    eprintln!("worklist loaded in {} ms", browser.loaded_ms().await);
    browser.screenshot("worklist").await;
    // Only the calls due: the filter offers the steps on today's list.
    let steps = browser.field("Step").await;
    let _ = steps.select_by_value("call").await;
    let (customer, name, invoice) = an_item(&browser, Some("call")).await;
    browser
        .button(&format!("Log call: {name} {invoice}"))
        .await
        .click()
        .await
        .expect("open the call form");
    browser
        .field("Outcome")
        .await
        .select_by_value("promised")
        .await
        .expect("choose");
    let note = "Spoke to accounts payable; the invoice is approved for the next run";
    browser.fill("Notes", note).await;
    // A double click on Save: two clicks before the first answer comes back.
    let save = browser.button("Save").await;
    browser
        .client
        .execute(
            "arguments[0].click(); arguments[0].click();",
            vec![serde_json::to_value(&save).expect("element")],
        )
        .await
        .expect("double-click Save");
    browser
        .wait_until("the call is recorded", |t| {
            t.contains("recorded at position")
        })
        .await;
    browser.table("Worklist for").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while worklist_invoices(&browser).await.contains(&invoice) {
        assert!(
            std::time::Instant::now() < deadline,
            "{invoice} is still on the worklist after the call"
        );
        tokio::task::yield_now().await;
    }

    // It is in that customer's timeline, with who recorded it.
    browser.fill("Find a customer", &customer).await;
    browser.button("Find").await.click().await.expect("search");
    browser
        .link(&name)
        .await
        .click()
        .await
        .expect("open the customer");
    browser.heading(&name).await;
    let timeline = browser.rows(&format!("Timeline of {name}")).await;
    let call = timeline
        .iter()
        .find(|cells| cells.iter().any(|c| c.contains(note)))
        .unwrap_or_else(|| panic!("no call with the note in the timeline: {timeline:?}"));
    assert!(call.iter().any(|c| c == "CallLogged"), "{call:?}");
    let recorded = timeline
        .iter()
        .filter(|cells| cells.iter().any(|c| c.contains(note)))
        .count();
    assert_eq!(
        recorded, 1,
        "a double click records the call once: {timeline:?}"
    );
    assert!(
        call.iter().any(|c| c == "collector"),
        "the actor is the token's name: {call:?}"
    );
    eprintln!("customer page loaded in {} ms", browser.loaded_ms().await);
    browser.screenshot_page("customer").await;

    // Take a promise on another item: it shows on that customer's page, due in a week.
    go(&browser, "Worklist").await;
    let (customer2, name2, invoice2) = an_item(&browser, None).await;
    browser
        .button(&format!("Take promise: {name2} {invoice2}"))
        .await
        .click()
        .await
        .expect("open the promise form");
    browser.button("Save").await.click().await.expect("save");
    browser.table("Worklist for").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while worklist_invoices(&browser).await.contains(&invoice2) {
        assert!(
            std::time::Instant::now() < deadline,
            "{invoice2} is still on the worklist after the promise"
        );
        tokio::task::yield_now().await;
    }
    browser
        .open(&format!("{}#/customer/{customer2}", demo.url()))
        .await;
    browser.heading(&name2).await;
    let promises = browser.rows(&format!("Promises of {name2}")).await;
    // The form proposes a week from today (the server's today, never a date written here).
    let week = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").expect("today")
        + chrono::Days::new(7);
    assert!(
        promises
            .iter()
            .any(|cells| cells.iter().any(|c| c == &invoice2)
                && cells.iter().any(|c| c == "open")
                && cells.iter().any(|c| c == &week.to_string())),
        "the promise on {invoice2} is not listed as open: {promises:?}"
    );

    // The same page on a phone: nothing wider than the screen but the tables' own scrolling.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("resize");
    go(&browser, "Worklist").await;
    browser.table("Worklist for").await;
    let overflow = browser
        .run("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    browser.screenshot("worklist-phone").await;
    assert!(
        overflow.as_i64().unwrap_or(0) <= 0,
        "the page is wider than a phone by {overflow} px"
    );
}

#[tokio::test]
async fn time_travel_to_before_a_payment_shows_the_earlier_balance() {
    let demo = Demo::start();
    let admin = demo.client(&demo.admin);
    // A customer who owes something today.
    let aging = data(
        &admin,
        "{ aging(first: 500) { asOf rows { nodes { customerId currency total } } } }",
        json!({}),
    )
    .await;
    let today = aging["aging"]["asOf"].as_str().expect("asOf").to_owned();
    let row = aging["aging"]["rows"]["nodes"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| {
            // More than 100 whole units owed: the payment of 100.00 below changes the balance.
            r["total"].as_str().is_some_and(|t| {
                let whole = canonical_amount(t);
                let whole = whole.split('.').next().unwrap_or_default();
                !whole.starts_with('-') && whole.parse::<u64>().is_ok_and(|units| units > 100)
            })
        })
        .expect("someone owes more than 100")
        .clone();
    let customer = row["customerId"].as_str().expect("id").to_owned();
    let exposure_query = "query($c: ID!) { exposure(customerId: $c) { exposure } }";
    let before = data(&admin, exposure_query, json!({"c": customer})).await["exposure"]["exposure"]
        .as_str()
        .expect("exposure")
        .to_owned();
    // The instant the ledger last changed before the payment: the newest event's recordedAt.
    let health: Value = reqwest::get(format!("{}/health", demo.server.base))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    let head: u64 = health["head"]
        .as_str()
        .expect("head")
        .parse()
        .expect("number");
    let newest = data(
        &admin,
        "query($a: Position) { events(after: $a, first: 1) { nodes { recordedAt } } }",
        json!({"a": (head - 1).to_string()}),
    )
    .await;
    let known_at = newest["events"]["nodes"][0]["recordedAt"]
        .as_str()
        .expect("recordedAt")
        .to_owned();

    let paid = data(
        &admin,
        "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { exposure { exposure } } }",
        json!({"i": {"customerId": customer, "paymentId": "PAY-BROWSER-TEST", "amount": "100.00", "receivedOn": today}}),
    )
    .await;
    let after = paid["recordPayment"]["exposure"]["exposure"]
        .as_str()
        .expect("after")
        .to_owned();
    assert_ne!(canonical_amount(&before), canonical_amount(&after));

    let browser = Browser::start().await;
    sign_in(&browser, &demo, &demo.admin).await;
    go(&browser, "Audit").await;
    browser.heading("Audit").await;
    browser
        .fill("Known at (UTC instant, RFC 3339)", &known_at)
        .await;
    browser.fill("Customer id (optional)", &customer).await;
    browser
        .button("Show as known then")
        .await
        .click()
        .await
        .expect("travel");
    let rows = browser
        .rows(&format!("Customer {customer} then and now"))
        .await;
    let exposure = rows
        .iter()
        .find(|cells| cells.first().is_some_and(|c| c == "Exposure"))
        .unwrap_or_else(|| panic!("no exposure row: {rows:?}"));
    assert_eq!(
        canonical_amount(&exposure[1]),
        canonical_amount(&before),
        "then: {exposure:?}"
    );
    assert_eq!(
        canonical_amount(&exposure[2]),
        canonical_amount(&after),
        "now: {exposure:?}"
    );
    assert_eq!(exposure[3], "changed", "{exposure:?}");
    browser.screenshot("audit-time-travel").await;

    // An admin holds an account from its page, and a refused change shows the server's reason
    // beside the form's button.
    let ok = data(
        &admin,
        "{ exposures(status: OK, first: 1) { nodes { customerId currency } } }",
        json!({}),
    )
    .await;
    let ok_customer = ok["exposures"]["nodes"][0]["customerId"]
        .as_str()
        .expect("an OK account")
        .to_owned();
    let ok_currency = ok["exposures"]["nodes"][0]["currency"]
        .as_str()
        .expect("currency")
        .to_owned();
    browser.fill("Find a customer", &ok_customer).await;
    browser.button("Find").await.click().await.expect("search");
    browser
        .wait_for(
            "the customer link",
            &format!("//table//a[@href='#/customer/{ok_customer}']"),
        )
        .await
        .click()
        .await
        .expect("open the customer");
    browser
        .button("Change credit limit")
        .await
        .click()
        .await
        .expect("open the form");
    browser
        .fill(&format!("New limit ({ok_currency})"), "-5")
        .await;
    browser.button("Save").await.click().await.expect("save");
    let refusal = browser
        .wait_for(
            "the refusal beside Save",
            "//dialog//*[@role='alert' and normalize-space(.)!='']",
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(
        refusal.contains("-5") || refusal.to_lowercase().contains("limit"),
        "{refusal}"
    );
    browser
        .button("Cancel")
        .await
        .click()
        .await
        .expect("cancel");
    browser
        .button("Hold account")
        .await
        .click()
        .await
        .expect("open the form");
    browser
        .fill("Reason", "Cheque bounced twice; call before shipping")
        .await;
    browser.button("Save").await.click().await.expect("save");
    browser
        .wait_until("the account shows its hold and why", |t| {
            t.contains("HELD") && t.contains("Cheque bounced twice; call before shipping")
        })
        .await;
}
