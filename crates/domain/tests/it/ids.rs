//! Ids compare by their text's bytes (the replay looks accounts up by bytes, never checking each
//! key as UTF-8): the order and equality must be exactly the text's, inline or on the heap.

use std::collections::BTreeMap;

use domain::CustomerId;
use proptest::prelude::*;

fn id_text() -> impl Strategy<Value = String> {
    // Short (inline) and long (on the heap) ids alike.
    "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
}

proptest! {
    #[test]
    fn order_and_equality_are_the_texts(a in id_text(), b in id_text()) {
        let (x, y) = (CustomerId::parse(&a).unwrap(), CustomerId::parse(&b).unwrap());
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!(x == y, a == b);
    }

    #[test]
    fn an_ordered_map_finds_an_id_by_its_text_or_its_bytes(
        ids in proptest::collection::btree_set(id_text(), 1..40),
    ) {
        let map: BTreeMap<CustomerId, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, text)| (CustomerId::parse(text).unwrap(), i))
            .collect();
        for (i, text) in ids.iter().enumerate() {
            prop_assert_eq!(map.get(text.as_str()), Some(&i));
            prop_assert_eq!(map.get(text.as_bytes()), Some(&i));
        }
        prop_assert_eq!(map.get(b"no-such-id".as_slice()), map.get("no-such-id"));
    }
}

/// An account whose lookups were never built (restored, or reset) still finds what was
/// appended before and after, and a repeated id finds its latest item, as a built index does.
#[test]
fn lookups_built_late_find_every_item_appended_before_them() {
    use crate::support::*;
    use domain::event::{Event, InvoiceIssued};
    use domain::InvoiceId;
    let mut account = account_after(&[
        opened(),
        issued("A", "100.00", "2026-03-01"),
        issued("B", "200.00", "2026-03-02"),
        pay("P", "50.00", "2026-03-03"),
    ]);
    account.restore_indexes();
    assert!(!account.indexes_built());
    // Applied while the lookups are not built (release builds skip the debug check that would
    // build them).
    account.invoices.push(domain::invoice::Invoice::issued(
        InvoiceId::parse("C").unwrap(),
        m("300.00"),
        d("2026-03-04"),
        d("2026-04-03"),
        net(30),
        None,
    ));
    for (id, amount) in [("A", "100.00"), ("B", "200.00"), ("C", "300.00")] {
        let found = account.invoice(&InvoiceId::parse(id).unwrap());
        assert_eq!(found.map(|i| i.amount()), Some(m(amount)), "{id}");
    }
    assert!(account
        .payment(&domain::PaymentId::parse("P").unwrap())
        .is_some());
    assert!(account.indexes_built());
    // Built now: an event applied from here on is indexed as it comes.
    let mut state = Some(account);
    domain::evolve(
        &mut state,
        &Event::InvoiceIssued(InvoiceIssued {
            invoice_id: InvoiceId::parse("D").unwrap(),
            amount: m("400.00"),
            issued_on: d("2026-03-05"),
            due_on: d("2026-04-04"),
            terms: net(30),
            reference: None,
            override_reason: None,
        }),
    );
    let account = state.unwrap();
    let found = account.invoice(&InvoiceId::parse("D").unwrap());
    assert_eq!(found.map(|i| i.amount()), Some(m("400.00")));
}
