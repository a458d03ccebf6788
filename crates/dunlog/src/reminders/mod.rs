//! Delivering reminders (SPEC §12): templates in the customer's language, e-mail over SMTP and
//! letters as files, each accepted message recorded exactly once as `ReminderSent`. Never records
//! a reminder as sent before the receiver accepted it (decision 0035).

pub mod compose;
pub mod outbox;
pub mod statement;
mod style;
pub mod templates;
pub mod transport;

pub use compose::{Draft, Request, Sender};
pub use outbox::{Delivered, DeliveryOptions, Reminders};
pub use templates::Templates;
