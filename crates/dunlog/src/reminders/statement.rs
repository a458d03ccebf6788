//! The statement of account a reminder encloses (SPEC §7, §12; decision 0036): which reminders
//! enclose it, its period, and its text in the customer's language. The figures are the read
//! model's (`projections::statement`), never computed again here.

use chrono::{Days, NaiveDate};
use domain::event::ReminderChannel;
use domain::policy::LadderStep;
use domain::Account;
use projections::statement::{Statement, StatementKind, STATEMENT_DAYS_MAX};
use rust_decimal::Decimal;

use super::compose::kind_of;
use super::style::{style, table};

/// Whether a reminder of this step encloses the statement of account (SPEC §7: "what a reminder
/// encloses"; §12: "a letter encloses the statement of account"): every letter, and every
/// reminder about money past due (`overdue`, `final`). A receipt confirmation or a note before the
/// due date asks for nothing owed yet, and a statement would read as dunning
/// (docs/decisions/0036-the-statement-a-reminder-encloses.md).
pub fn encloses_statement(step: &LadderStep, channel: ReminderChannel) -> bool {
    channel == ReminderChannel::Letter || matches!(kind_of(step), "overdue" | "final")
}

/// The period of the enclosed statement: from the issue date of the account's oldest invoice
/// still open on `date` to `date`, so the customer sees every movement since the oldest debt the
/// reminder is about, and an opening balance that holds nothing still owed from before it
/// (docs/decisions/0036-the-statement-a-reminder-encloses.md). With nothing open, the day itself.
/// A period longer than a statement may span starts at the earliest day it may.
pub fn statement_period(account: &Account, date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let oldest_open = account
        .invoices
        .iter()
        .filter(|i| i.issued_on <= date && i.open_on(date) > Decimal::ZERO)
        .map(|i| i.issued_on)
        .min()
        .unwrap_or(date);
    let earliest = u64::try_from(STATEMENT_DAYS_MAX)
        .ok()
        .and_then(|days| date.checked_sub_days(Days::new(days)))
        .unwrap_or(oldest_open);
    (oldest_open.max(earliest), date)
}

/// Words of the enclosed statement in each language.
struct StatementWords {
    /// What follows a label: `": "`, or `" : "` in French typography.
    colon: &'static str,
    period: &'static str,
    opening: &'static str,
    closing: &'static str,
    headers: [&'static str; 6],
    kinds: fn(StatementKind) -> &'static str,
}

// Long: one table of words per shipped language, side by side so a translator sees them all.
fn statement_words(lang: &str) -> StatementWords {
    use StatementKind as K;
    match lang {
        "pt" => StatementWords {
            colon: ": ",
            period: "Período",
            opening: "Saldo inicial",
            closing: "Saldo final",
            headers: [
                "Data",
                "Movimento",
                "Referência",
                "Débito",
                "Crédito",
                "Saldo",
            ],
            kinds: |k| match k {
                K::Invoice => "Fatura",
                K::LateFee => "Multa por atraso",
                K::FeeReversal => "Multa anulada",
                K::CreditNote => "Nota de crédito",
                K::Payment => "Pagamento",
                K::Discount => "Desconto",
                K::Reversal => "Pagamento estornado",
                K::UnappliedApplied => "Crédito imputado",
                K::WriteOff => "Anulação de dívida",
            },
        },
        "fr" => StatementWords {
            colon: " : ",
            period: "Période",
            opening: "Solde initial",
            closing: "Solde final",
            headers: ["Date", "Opération", "Référence", "Débit", "Crédit", "Solde"],
            kinds: |k| match k {
                K::Invoice => "Facture",
                K::LateFee => "Pénalité de retard",
                K::FeeReversal => "Pénalité annulée",
                K::CreditNote => "Avoir",
                K::Payment => "Règlement",
                K::Discount => "Escompte",
                K::Reversal => "Règlement rejeté",
                K::UnappliedApplied => "Avance imputée",
                K::WriteOff => "Passage en perte",
            },
        },
        "nb" => StatementWords {
            colon: ": ",
            period: "Periode",
            opening: "Inngående saldo",
            closing: "Utgående saldo",
            headers: ["Dato", "Bevegelse", "Referanse", "Debet", "Kredit", "Saldo"],
            kinds: |k| match k {
                K::Invoice => "Faktura",
                K::LateFee => "Forsinkelsesgebyr",
                K::FeeReversal => "Gebyr tilbakeført",
                K::CreditNote => "Kreditnota",
                K::Payment => "Innbetaling",
                K::Discount => "Rabatt",
                K::Reversal => "Innbetaling tilbakeført",
                K::UnappliedApplied => "Forskudd avregnet",
                K::WriteOff => "Avskrevet",
            },
        },
        "ro" => StatementWords {
            colon: ": ",
            period: "Perioada",
            opening: "Sold inițial",
            closing: "Sold final",
            headers: ["Data", "Operațiune", "Referință", "Debit", "Credit", "Sold"],
            kinds: |k| match k {
                K::Invoice => "Factură",
                K::LateFee => "Penalitate de întârziere",
                K::FeeReversal => "Penalitate anulată",
                K::CreditNote => "Factură de stornare",
                K::Payment => "Plată",
                K::Discount => "Reducere",
                K::Reversal => "Plată returnată",
                K::UnappliedApplied => "Avans compensat",
                K::WriteOff => "Creanță anulată",
            },
        },
        "id" => StatementWords {
            colon: ": ",
            period: "Periode",
            opening: "Saldo awal",
            closing: "Saldo akhir",
            headers: [
                "Tanggal",
                "Transaksi",
                "Referensi",
                "Debit",
                "Kredit",
                "Saldo",
            ],
            kinds: |k| match k {
                K::Invoice => "Faktur",
                K::LateFee => "Denda keterlambatan",
                K::FeeReversal => "Pembatalan denda",
                K::CreditNote => "Nota kredit",
                K::Payment => "Pembayaran",
                K::Discount => "Diskon",
                K::Reversal => "Pembayaran dibatalkan",
                K::UnappliedApplied => "Uang muka dialokasikan",
                K::WriteOff => "Penghapusan piutang",
            },
        },
        _ => StatementWords {
            colon: ": ",
            period: "Period",
            opening: "Opening balance",
            closing: "Closing balance",
            headers: [
                "Date",
                "Movement",
                "Reference",
                "Debit",
                "Credit",
                "Balance",
            ],
            kinds: |k| match k {
                K::Invoice => "Invoice",
                K::LateFee => "Late fee",
                K::FeeReversal => "Late fee reversed",
                K::CreditNote => "Credit note",
                K::Payment => "Payment",
                K::Discount => "Discount",
                K::Reversal => "Payment reversed",
                K::UnappliedApplied => "Credit applied",
                K::WriteOff => "Written off",
            },
        },
    }
}

/// The statement of account a reminder encloses (SPEC §7, §12), written from the read model
/// `projections::statement` — the one `dunlog statement` and the GraphQL `statement` query
/// answer with — in the letter's language: its period, opening balance, every movement with
/// its running balance, and the closing balance (the exposure as of the period's last day).
pub fn enclosed_statement(s: &Statement, lang: &str) -> String {
    let st = style(lang);
    let words = statement_words(lang);
    let currency = &s.currency;
    let amount = |v: Decimal| {
        if v == Decimal::ZERO {
            String::new()
        } else {
            st.money(currency, v)
        }
    };
    let mut rows = vec![words.headers.map(str::to_owned)];
    for l in &s.lines {
        rows.push([
            st.date(l.date),
            (words.kinds)(l.kind).to_owned(),
            l.reference.clone(),
            amount(l.debit),
            amount(l.credit),
            st.money(currency, l.balance),
        ]);
    }
    let colon = words.colon;
    let mut out = format!(
        "{}{colon}{} – {}\n{}{colon}{} {}\n",
        words.period,
        st.date(s.from),
        st.date(s.to),
        words.opening,
        st.money(currency, s.opening_balance),
        currency.as_str()
    );
    // Date, movement and reference read left to right; debit, credit and balance line up right.
    out.push_str(&table(&rows, [true, true, true, false, false, false]));
    out.push_str(&format!(
        "\n{}{colon}{} {}",
        words.closing,
        st.money(currency, s.closing_balance),
        currency.as_str()
    ));
    out
}
