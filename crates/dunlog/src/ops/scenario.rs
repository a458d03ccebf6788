//! `dunlog scenario`: runs scenario files against a fresh temporary ledger through the service
//! (the real store, the real read model), with `projections::scenario`'s runner.

use chrono::NaiveDate;
use domain::CustomerId;
use projections::scenario::{self, aging_rows_json, exposure_json, CommandOutcome, Target};
use serde_json::{Map, Value};

use crate::app::service::{Service, ServiceError};

/// Drives a service from synchronous scenario code.
pub struct ServiceTarget<'rt> {
    runtime: &'rt tokio::runtime::Runtime,
    service: Option<Service>,
    dir: Option<tempfile::TempDir>,
    /// The ledger's today (`--today`, or the file's `"today"`, which wins).
    pub today: Option<NaiveDate>,
}

impl<'rt> ServiceTarget<'rt> {
    pub fn new(runtime: &'rt tokio::runtime::Runtime) -> Self {
        ServiceTarget {
            runtime,
            service: None,
            dir: None,
            today: None,
        }
    }

    fn service(&self) -> Result<&Service, String> {
        self.service
            .as_ref()
            .ok_or_else(|| "scenario not started".to_owned())
    }
}

fn outcome<T>(result: Result<T, ServiceError>) -> Result<CommandOutcome, String> {
    match result {
        Ok(_) => Ok(Ok(())),
        Err(ServiceError::Rejected { kind, message }) => Ok(Err((kind.code().to_owned(), message))),
        Err(ServiceError::Internal(e)) => Err(format!("{e:#}")),
    }
}

impl Target for ServiceTarget<'_> {
    fn today(&mut self, today: Option<NaiveDate>) {
        if today.is_some() {
            self.today = today;
        }
    }

    fn start(&mut self, policy_document: &str) -> Result<(), String> {
        if let Some(old) = self.service.take() {
            self.runtime.block_on(old.close());
        }
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let service = self
            .runtime
            .block_on(Service::open(dir.path()))
            .map_err(|e| format!("{e:#}"))?
            .with_today(self.today);
        if policy_document != domain::policy::DEFAULT_POLICY_TOML {
            self.runtime
                .block_on(service.adopt_policy("scenario", policy_document, None))
                .map_err(|e| e.to_string())?;
        }
        self.service = Some(service);
        self.dir = Some(dir);
        Ok(())
    }

    fn command(&mut self, step: &Map<String, Value>) -> Result<CommandOutcome, String> {
        let service = self.service()?.clone();
        let name = step
            .get("command")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match name {
            "tick" => {
                let date = step
                    .get("date")
                    .and_then(Value::as_str)
                    .map(|d| {
                        d.parse::<NaiveDate>()
                            .map_err(|e| format!("date {d:?}: {e}"))
                    })
                    .transpose()?
                    .unwrap_or_else(|| service.today());
                outcome(self.runtime.block_on(service.tick(date)))
            }
            "adopt_policy" => {
                let document = step
                    .get("document")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                outcome(
                    self.runtime
                        .block_on(service.adopt_policy("scenario", document, None)),
                )
            }
            _ => match scenario::parse_command(step) {
                Ok(command) => outcome(
                    self.runtime
                        .block_on(service.execute("scenario", command, None)),
                ),
                Err(e) => Ok(Err((e.kind().code().to_owned(), e.to_string()))),
            },
        }
    }

    fn aging(&mut self, as_of: NaiveDate) -> Result<Vec<Value>, String> {
        Ok(aging_rows_json(
            &self.service()?.live.read().aging(as_of, None),
        ))
    }

    fn exposure(&mut self, customer_id: &str, as_of: NaiveDate) -> Result<Value, String> {
        let id = CustomerId::parse(customer_id).map_err(|e| e.to_string())?;
        self.service()?
            .live
            .read()
            .exposure(&id, as_of)
            .map(|e| exposure_json(&e))
            .ok_or_else(|| format!("customer_id = {customer_id:?}: not found"))
    }
}
