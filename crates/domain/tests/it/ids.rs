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
