//! The store's decoder on arbitrary bytes: a block, an envelope, and a payload of any event type
//! (the first byte picks the type). Never a panic; what decodes encodes and decodes back the same.
#![no_main]

use domain::event::EVENT_TYPES;
use libfuzzer_sys::fuzz_target;
use store::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = codec::decode_envelope(data) {
        let bytes = codec::encode_envelope(&envelope).expect("a decoded envelope encodes");
        assert_eq!(codec::decode_envelope(&bytes).as_ref(), Ok(&envelope));
    }
    let split = codec::split_block(data);
    if split.error.is_none() {
        let envelopes: Vec<Vec<u8>> = split
            .entries
            .iter()
            .map(|r| data[r.clone()].to_vec())
            .collect();
        assert_eq!(
            codec::encode_block(&envelopes),
            data,
            "a block that splits frames back the same"
        );
    }
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let event_type = EVENT_TYPES[usize::from(pick) % EVENT_TYPES.len()];
    for schema in [0, 1, 2, 3, 4] {
        if let Ok(event) = codec::decode_payload(event_type, schema, bytes) {
            let (ty, current, again) =
                codec::encode_payload(&event).expect("a decoded event encodes");
            assert_eq!(ty, event_type);
            assert_eq!(codec::decode_payload(ty, current, &again), Ok(event));
        }
    }
    let _ = codec::decode_payload("NoSuchEvent", 1, bytes);
});
