//! What a decision may know besides the account: today, the instant, who asks, the policy.
//! The domain never reads a clock; the caller passes time in, so decisions replay exactly.

use chrono::{DateTime, NaiveDate, Utc};

use crate::policy::Policy;

#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The business date commands default to.
    pub today: NaiveDate,
    /// The instant the command is decided at (limits how far in the future a contact may be).
    pub now: DateTime<Utc>,
    /// Who asks (the token's name); recorded in envelopes by the caller.
    pub actor: &'a str,
    /// The policy in force.
    pub policy: &'a Policy,
}
