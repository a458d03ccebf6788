//! The account's own commands: open it, change its credit limit, terms, contact details and sales
//! rep, and the checks of those values. Never an invoice's or a payment's rule.

use rust_decimal::Decimal;

use super::{check_optional_text, check_text, CONTACT_ENTRIES_MAX, TERMS_DAYS_MAX};
use crate::account::Account;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;
use crate::money::Currency;

pub(super) fn open_account(c: &OpenAccount) -> Result<Vec<Event>, DomainError> {
    check_text("name", &c.name, true)?;
    let currency = Currency::parse_active("currency", &c.currency)?;
    check_limit(&currency, "credit_limit", c.credit_limit)?;
    check_terms(&c.terms)?;
    check_contacts(&c.contacts)?;
    check_optional_text("sales_rep", &c.sales_rep)?;
    Ok(vec![AccountOpened {
        customer_id: c.customer_id.clone(),
        name: c.name.trim().to_owned(),
        currency,
        credit_limit: c.credit_limit,
        terms: c.terms.clone(),
        opened_on: c.opened_on,
        contacts: c.contacts.clone(),
        sales_rep: c.sales_rep.clone(),
    }
    .into()])
}

pub(super) fn change_credit_limit(
    account: &Account,
    c: &ChangeCreditLimit,
) -> Result<Vec<Event>, DomainError> {
    check_limit(&account.currency, "new_limit", c.new_limit)?;
    check_text("reason", &c.reason, false)?;
    Ok(vec![CreditLimitChanged {
        new_limit: c.new_limit,
        reason: c.reason.clone(),
    }
    .into()])
}

pub(super) fn change_terms(c: &ChangeTerms) -> Result<Vec<Event>, DomainError> {
    check_terms(&c.terms)?;
    Ok(vec![TermsChanged {
        terms: c.terms.clone(),
    }
    .into()])
}

pub(super) fn update_contact_details(c: &UpdateContactDetails) -> Result<Vec<Event>, DomainError> {
    check_contacts(&c.contacts)?;
    Ok(vec![ContactDetailsUpdated {
        contacts: c.contacts.clone(),
    }
    .into()])
}

pub(super) fn verify_contact_details(
    c: &VerifyContactDetails,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let by = c.by.clone().unwrap_or_else(|| ctx.actor.to_owned());
    check_text("by", &by, true)?;
    Ok(vec![ContactDetailsVerified {
        verified_on: c.verified_on.unwrap_or(ctx.today),
        by,
    }
    .into()])
}

pub(super) fn assign_sales_rep(c: &AssignSalesRep) -> Result<Vec<Event>, DomainError> {
    check_text("sales_rep", &c.sales_rep, true)?;
    Ok(vec![SalesRepAssigned {
        sales_rep: c.sales_rep.clone(),
    }
    .into()])
}

fn check_limit(
    currency: &Currency,
    field: &'static str,
    limit: Decimal,
) -> Result<(), DomainError> {
    if limit < Decimal::ZERO {
        return Err(DomainError::invalid(field, limit, "must not be negative"));
    }
    currency.check_scale(field, limit)
}

/// Also checks the terms an invoice gives for itself ([`super::invoice`]).
pub(super) fn check_terms(terms: &Terms) -> Result<(), DomainError> {
    if terms.net_days > TERMS_DAYS_MAX {
        return Err(DomainError::invalid(
            "terms.net_days",
            terms.net_days,
            &format!("must be at most {TERMS_DAYS_MAX}"),
        ));
    }
    match (terms.discount_percent, terms.discount_days) {
        (None, None) => Ok(()),
        (Some(p), Some(d)) => {
            if p <= Decimal::ZERO || p >= Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    "terms.discount_percent",
                    p,
                    "must be between 0 and 100, exclusive",
                ));
            }
            if d > TERMS_DAYS_MAX {
                return Err(DomainError::invalid(
                    "terms.discount_days",
                    d,
                    &format!("must be at most {TERMS_DAYS_MAX}"),
                ));
            }
            Ok(())
        }
        (Some(p), None) => Err(DomainError::invalid(
            "terms.discount_days",
            format!("none (discount_percent = {p})"),
            "a discount needs both discount_percent and discount_days",
        )),
        (None, Some(d)) => Err(DomainError::invalid(
            "terms.discount_percent",
            format!("none (discount_days = {d})"),
            "a discount needs both discount_percent and discount_days",
        )),
    }
}

fn check_contacts(contacts: &Contacts) -> Result<(), DomainError> {
    if contacts.emails.len() > CONTACT_ENTRIES_MAX {
        return Err(DomainError::invalid(
            "contacts.emails",
            contacts.emails.len(),
            &format!("at most {CONTACT_ENTRIES_MAX}"),
        ));
    }
    if contacts.phones.len() > CONTACT_ENTRIES_MAX {
        return Err(DomainError::invalid(
            "contacts.phones",
            contacts.phones.len(),
            &format!("at most {CONTACT_ENTRIES_MAX}"),
        ));
    }
    for email in &contacts.emails {
        check_text("contacts.emails", email, true)?;
        if !email.contains('@') {
            return Err(DomainError::invalid(
                "contacts.emails",
                email,
                "is not an e-mail address",
            ));
        }
    }
    for phone in &contacts.phones {
        check_text("contacts.phones", phone, true)?;
    }
    check_optional_text("contacts.postal_address", &contacts.postal_address)?;
    check_optional_text("contacts.billing_contact", &contacts.billing_contact)?;
    if let Some(email) = &contacts.billing_email {
        check_text("contacts.billing_email", email, true)?;
        if !email.contains('@') {
            return Err(DomainError::invalid(
                "contacts.billing_email",
                email,
                "is not an e-mail address",
            ));
        }
    }
    if let Some(language) = &contacts.language {
        if !is_language_tag(language) {
            return Err(DomainError::invalid(
                "contacts.language",
                language,
                "is not a BCP 47 language tag (e.g. \"en\", \"pt-BR\", \"nb\")",
            ));
        }
    }
    Ok(())
}

/// The shape of a BCP 47 tag: a primary language of 2–3 letters, then subtags of 1–8 letters or
/// digits separated by hyphens. Which tags have templates is the delivery's business (it falls
/// back to `en`); the record only needs a well-formed tag.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
