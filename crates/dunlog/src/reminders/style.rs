//! How a business letter in each shipped language writes numbers, dates and a table of
//! invoices: the one place a reminder's figures are formatted.

use chrono::NaiveDate;
use domain::Currency;
use rust_decimal::Decimal;

/// Numbers and dates as a business letter in that language writes them.
pub(super) struct Style {
    pub(super) thousands: &'static str,
    pub(super) decimal: &'static str,
    pub(super) date: &'static str,
    pub(super) headers: [&'static str; 5],
}

pub(super) fn style(lang: &str) -> Style {
    match lang {
        "pt" => Style {
            thousands: ".",
            decimal: ",",
            date: "%d/%m/%Y",
            headers: [
                "Fatura",
                "Valor",
                "Vencimento",
                "Dias de atraso",
                "Em aberto",
            ],
        },
        "fr" => Style {
            thousands: " ",
            decimal: ",",
            date: "%d/%m/%Y",
            headers: [
                "Facture",
                "Montant",
                "Échéance",
                "Jours de retard",
                "Reste dû",
            ],
        },
        "nb" => Style {
            thousands: " ",
            decimal: ",",
            date: "%d.%m.%Y",
            headers: [
                "Faktura",
                "Beløp",
                "Forfall",
                "Dager over forfall",
                "Utestående",
            ],
        },
        "ro" => Style {
            thousands: ".",
            decimal: ",",
            date: "%d.%m.%Y",
            headers: [
                "Factura",
                "Suma",
                "Scadența",
                "Zile de întârziere",
                "Rest de plată",
            ],
        },
        "id" => Style {
            thousands: ".",
            decimal: ",",
            date: "%d/%m/%Y",
            headers: [
                "Faktur",
                "Jumlah",
                "Jatuh tempo",
                "Hari terlambat",
                "Terutang",
            ],
        },
        _ => Style {
            thousands: ",",
            decimal: ".",
            date: "%Y-%m-%d",
            headers: ["Invoice", "Amount", "Due date", "Days overdue", "Open"],
        },
    }
}

impl Style {
    pub(super) fn number(&self, value: Decimal) -> String {
        let text = value.to_string();
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text.as_str()),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push_str(self.thousands);
            }
            grouped.push(c);
        }
        if frac.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}{}{frac}", self.decimal)
        }
    }

    pub(super) fn money(&self, currency: &Currency, value: Decimal) -> String {
        self.number(currency.display(value))
    }

    pub(super) fn date(&self, date: NaiveDate) -> String {
        date.format(self.date).to_string()
    }
}

/// Columns padded to their widest cell: a column whose `left` is true reads left to right (text),
/// the others line up on the right (amounts). One table for the invoice list and the statement.
pub(super) fn table<const N: usize>(rows: &[[String; N]], left: [bool; N]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, ((cell, w), left)) in row.iter().zip(widths).zip(left).enumerate() {
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            if i > 0 {
                line.push_str("  ");
            }
            if left {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim_end().to_owned()
}
