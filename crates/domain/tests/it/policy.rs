//! The policy document (SPEC §5): the shipped policies parse; every rejection names its line
//! and field.

use domain::policy::{
    AgingBasis, Anchor, OnBroken, DEFAULT_POLICY_TOML, SINGLE_REMINDER_POLICY_TOML,
};
use domain::Policy;

use crate::support::*;

/// Parses `document` and renders the rejection as `Err(KIND line N field)`.
#[track_caller]
fn rejects(document: &str, expect: &str) {
    match Policy::parse(document) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => assert_eq!(render_error(&e), expect, "{e}"),
    }
}

#[test]
fn default_policy_parses() {
    let p = Policy::parse(DEFAULT_POLICY_TOML).unwrap();
    assert_eq!(p.name, "default");
    assert_eq!(p.aging.basis, AgingBasis::Due);
    assert_eq!(p.aging.buckets, vec![30, 60, 90, 120]);
    assert_eq!((p.probation.days, p.probation.limit_ratio), (90, m("0.25")));
    assert_eq!(p.holds.days_past_due, Some(30));
    assert!(p.holds.over_limit && p.holds.auto_release);
    assert_eq!(
        (p.promises.grace_days, p.promises.on_broken),
        (2, OnBroken::CashOnly)
    );
    let fees = p.late_fees.as_ref().unwrap();
    assert_eq!(
        (fees.percent, fees.after_days, fees.every_days),
        (m("1.5"), 5, Some(30))
    );
    let steps: Vec<_> = p
        .ladder
        .iter()
        .map(|s| (s.step.as_str(), s.from, s.days))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("confirm_receipt", Anchor::Issue, 3),
            ("pre_due_reminder", Anchor::Due, -3),
            ("overdue_reminder", Anchor::Due, 5),
            ("call", Anchor::Due, 7),
            ("notify_sales_rep", Anchor::Due, 8),
            ("final_notice", Anchor::Due, 30),
            ("collection_agency", Anchor::Due, 90),
        ]
    );
    assert_eq!(&p, default_policy());
}

#[test]
fn single_reminder_policy_parses() {
    let p = Policy::parse(SINGLE_REMINDER_POLICY_TOML).unwrap();
    assert_eq!(p.name, "single-reminder");
    assert_eq!(p.late_fees, None);
    assert_eq!(p.holds.days_past_due, None);
    assert_eq!(p.promises.on_broken, OnBroken::None);
    let steps: Vec<_> = p
        .ladder
        .iter()
        .map(|s| (s.step.as_str(), s.from, s.days))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("reminder", Anchor::Issue, 15),
            ("collection_agency", Anchor::Issue, 45)
        ]
    );
}

#[test]
fn absent_sections_turn_their_rules_off() {
    let p = Policy::parse("name = \"bare\"\n").unwrap();
    assert_eq!(p.aging.buckets, vec![30, 60, 90, 120]);
    assert_eq!((p.probation.days, p.probation.limit_ratio), (0, m("1")));
    assert_eq!(p.holds.days_past_due, None);
    assert!(!p.holds.over_limit && p.holds.auto_release);
    assert_eq!(
        (p.promises.grace_days, p.promises.on_broken),
        (0, OnBroken::None)
    );
    assert_eq!(p.late_fees, None);
    assert!(p.ladder.is_empty());
}

#[test]
fn bucket_labels_and_ages() {
    let p = default_policy();
    assert_eq!(
        p.aging.labels(),
        ["Current", "1-30", "31-60", "61-90", "91-120", "121+"]
    );
    let buckets: Vec<_> = [-5, 0, 1, 30, 31, 120, 121]
        .iter()
        .map(|&d| p.aging.bucket_of(d))
        .collect();
    assert_eq!(buckets, [0, 0, 1, 1, 2, 4, 5]);
}

#[test]
fn buckets_must_strictly_increase() {
    rejects(
        "name = \"x\"\n[aging]\nbuckets = [30, 60,\n  60, 90]\n",
        "Err(VALIDATION line 4 aging.buckets)",
    );
    rejects(
        "name = \"x\"\n[aging]\nbuckets = [60, 30]\n",
        "Err(VALIDATION line 3 aging.buckets)",
    );
}

#[test]
fn buckets_must_be_above_zero() {
    rejects(
        "name = \"x\"\n[aging]\nbuckets = [0, 30]\n",
        "Err(VALIDATION line 3 aging.buckets)",
    );
    rejects(
        "name = \"x\"\n[aging]\nbuckets = [-30]\n",
        "Err(VALIDATION line 3 aging.buckets)",
    );
    rejects(
        "name = \"x\"\n[aging]\nbuckets = []\n",
        "Err(VALIDATION line 3 aging.buckets)",
    );
}

#[test]
fn unknown_keys_are_rejected() {
    rejects(
        "name = \"x\"\n\n[holds]\nover_limt = true\n",
        "Err(VALIDATION line 4 over_limt)",
    );
    rejects(
        "name = \"x\"\ncolour = \"red\"\n",
        "Err(VALIDATION line 2 colour)",
    );
    rejects(
        "name = \"x\"\n[agin]\nbasis = \"due\"\n",
        "Err(VALIDATION line 2 agin)",
    );
    rejects(
        "name = \"x\"\n[[ladder]]\nstep = \"a\"\nfrom = \"due\"\ndays = 1\nchannel = \"email\"\nwhen = 3\n",
        "Err(VALIDATION line 7 when)",
    );
}

#[test]
fn duplicate_step_names_are_rejected() {
    let doc = "name = \"x\"\n[[ladder]]\nstep = \"call\"\nfrom = \"due\"\ndays = 7\nchannel = \"phone\"\n\
               [[ladder]]\nstep = \"call\"\nfrom = \"due\"\ndays = 8\nchannel = \"phone\"\n";
    rejects(doc, "Err(VALIDATION line 8 ladder.step)");
}

#[test]
fn limit_ratio_must_be_between_0_and_1() {
    rejects(
        "name = \"x\"\n[probation]\ndays = 30\nlimit_ratio = \"1.01\"\n",
        "Err(VALIDATION line 4 probation.limit_ratio)",
    );
    rejects(
        "name = \"x\"\n[probation]\nlimit_ratio = \"-0.1\"\n",
        "Err(VALIDATION line 3 probation.limit_ratio)",
    );
    assert!(Policy::parse("name = \"x\"\n[probation]\nlimit_ratio = \"0\"\n").is_ok());
    assert!(Policy::parse("name = \"x\"\n[probation]\nlimit_ratio = 1\n").is_ok());
}

#[test]
fn ratio_is_never_a_float() {
    rejects(
        "name = \"x\"\n[probation]\nlimit_ratio = 0.25\n",
        "Err(VALIDATION line 3 probation.limit_ratio)",
    );
}

#[test]
fn negative_grace_is_rejected() {
    rejects(
        "name = \"x\"\n[promises]\ngrace_days = -1\n",
        "Err(VALIDATION line 3 promises.grace_days)",
    );
}

#[test]
fn on_broken_is_cash_only_hold_or_none() {
    rejects(
        "name = \"x\"\n[promises]\non_broken = \"sue\"\n",
        "Err(VALIDATION line 3 promises.on_broken)",
    );
}

#[test]
fn aging_basis_is_due_or_issue() {
    rejects(
        "name = \"x\"\n[aging]\nbasis = \"paid\"\n",
        "Err(VALIDATION line 3 aging.basis)",
    );
}

#[test]
fn late_fee_percent_is_above_zero() {
    rejects(
        "name = \"x\"\n[late_fees]\npercent = \"0\"\n",
        "Err(VALIDATION line 3 late_fees.percent)",
    );
}

#[test]
fn late_fees_every_days_is_at_least_one() {
    rejects(
        "name = \"x\"\n[late_fees]\npercent = \"1\"\nevery_days = 0\n",
        "Err(VALIDATION line 4 late_fees.every_days)",
    );
}

#[test]
fn ladder_from_is_issue_or_due() {
    rejects(
        "name = \"x\"\n[[ladder]]\nstep = \"a\"\nfrom = \"paid\"\ndays = 1\nchannel = \"email\"\n",
        "Err(VALIDATION line 4 ladder.from)",
    );
}

#[test]
fn policy_needs_a_name() {
    rejects("name = \"\"\n", "Err(VALIDATION line 1 name)");
    let missing = Policy::parse("[holds]\nover_limit = true\n").unwrap_err();
    assert_eq!(missing.kind(), domain::ErrorKind::Validation);
}

#[test]
fn syntax_errors_name_their_line() {
    let e = Policy::parse("name = \"x\"\n[holds]\nover_limit = tru\n").unwrap_err();
    assert!(
        matches!(e, domain::DomainError::InvalidPolicy { line: 3, .. }),
        "{e:?}"
    );
}

#[test]
fn min_open_amount_is_one_decimal_or_one_per_currency() {
    use domain::policy::MinOpenAmount;
    use rust_decimal::Decimal;
    let step = "name = \"x\"\n[[ladder]]\nstep = \"agency\"\nfrom = \"due\"\ndays = 90\nchannel = \"agency\"\n";
    let one = Policy::parse(&format!("{step}min_open_amount = \"300\"\n")).unwrap();
    assert_eq!(
        one.ladder[0].min_open_amount,
        Some(MinOpenAmount::Any(Decimal::from(300)))
    );
    assert!(one.ladder[0].offered_for(Decimal::from(300), "NOK"));
    assert!(!one.ladder[0].offered_for(Decimal::new(29999, 2), "EUR"));
    let table = Policy::parse(&format!(
        "{step}min_open_amount = {{ EUR = \"300\", NOK = 3000 }}\n"
    ))
    .unwrap();
    assert!(!table.ladder[0].offered_for(Decimal::from(2999), "NOK"));
    assert!(
        table.ladder[0].offered_for(Decimal::from(1), "RON"),
        "no minimum for RON"
    );
    rejects(
        &format!("{step}min_open_amount = \"-1\"\n"),
        "Err(VALIDATION line 7 ladder.min_open_amount)",
    );
    rejects(
        &format!("{step}min_open_amount = 300.5\n"),
        "Err(VALIDATION line 7 ladder.min_open_amount)",
    );
    rejects(
        &format!("{step}min_open_amount = {{ eur = \"300\" }}\n"),
        "Err(VALIDATION line 7 ladder.min_open_amount)",
    );
    rejects(
        &format!("{step}min_open_amount = {{ EUR = \"lots\" }}\n"),
        "Err(VALIDATION line 7 ladder.min_open_amount.EUR)",
    );
}
