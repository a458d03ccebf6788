//! Subscriptions: catch-up, then live appends, then an end when the store closes.

use std::time::Duration;

use store::ExpectedVersion;

use crate::support::*;

/// Generous bound for "eventually"; the test fails rather than hangs.
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_catches_up_then_follows_live_appends_then_ends() {
    let dir = temp_dir();
    let store = open(dir.path());
    for n in 0..5 {
        store
            .append(request("s", ExpectedVersion::Any, &[n]))
            .await
            .unwrap();
    }
    let mut sub = store.subscribe(2);
    for want in 3..=5 {
        let e = tokio::time::timeout(WAIT, sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(e.position, want);
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..600 {
                store
                    .append(request("t", ExpectedVersion::Any, &[n, n + 1]))
                    .await
                    .unwrap();
            }
        })
    };
    // 1,200 live events, more than one page, all in order with no gap.
    for want in 6..=1_205 {
        let e = tokio::time::timeout(WAIT, sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(e.position, want);
    }
    writer.await.unwrap();
    drop(store);
    assert!(tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_does_not_block_writers() {
    let dir = temp_dir();
    let store = open(dir.path());
    let _idle = store.subscribe(0);
    let mut late = store.subscribe(0);
    for n in 0..300 {
        store
            .append(request("s", ExpectedVersion::Any, &[n]))
            .await
            .unwrap();
    }
    assert_eq!(store.head(), 300);
    for want in 1..=300 {
        let e = tokio::time::timeout(WAIT, late.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(e.position, want);
    }
}
