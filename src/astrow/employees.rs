//! Employees: the complete listing, one record, and writes that are safe to
//! repeat (create with an idempotency key, update and delete with If-Match).

use reqwest::Method;

use super::client::{AstrowClient, Call, MAX_RECORD_BYTES};
use super::error::AstrowError;
use super::wire::{self, Employee, EmployeeIn};
use crate::http::tolerant::SetAside;
use crate::http::{self, HttpError};
use crate::model::{self, PersNo};

impl AstrowClient {
    /// `GET /employees`, every page: a complete listing or an error.
    /// Records that cannot be read are left out (see
    /// [`Self::list_employees_tolerant`]).
    pub async fn list_employees(
        &self,
        include_inactive: bool,
    ) -> Result<Vec<model::AstrowEmployee>, AstrowError> {
        Ok(self.list_employees_tolerant(include_inactive).await?.0)
    }

    /// `GET /employees`, every page, and the records set aside as
    /// unreadable (one bad record never stops the listing).
    pub async fn list_employees_tolerant(
        &self,
        include_inactive: bool,
    ) -> Result<(Vec<model::AstrowEmployee>, Vec<SetAside>), AstrowError> {
        let extra = vec![("include_inactive", include_inactive.to_string())];
        let (items, aside): (Vec<Employee>, _) = self
            .list_all_tolerant("Astrow employees", "pers_no", "/employees", extra)
            .await?;
        check_ascending(&items, |e| e.pers_no.0, "Astrow GET /employees")?;
        Ok((
            items.into_iter().map(model::AstrowEmployee::from).collect(),
            aside,
        ))
    }

    /// `GET /employees/{pers_no}`; `None` when Astrow has no such employee.
    pub async fn get_employee(
        &self,
        pers_no: PersNo,
    ) -> Result<Option<model::AstrowEmployee>, AstrowError> {
        let call = Call::get(format!("/employees/{pers_no}"));
        match self.fetch::<Employee>(call, MAX_RECORD_BYTES).await {
            Ok(e) => Ok(Some(e.into())),
            Err(e) if e.api_code() == Some("not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /employees` with an `Idempotency-Key`: a repeat with the same key
    /// (after a lost answer, or a crash) creates nothing new. `e.pers_no` and
    /// `e.version` are ignored.
    pub async fn create_employee(
        &self,
        e: &model::AstrowEmployee,
        idempotency_key: &str,
    ) -> Result<model::AstrowEmployee, AstrowError> {
        let mut call = Call::new(Method::POST, "/employees");
        call = call.json(&EmployeeIn::from(e))?;
        call.idempotency_key = Some(idempotency_key.to_string());
        let created: Employee = self.fetch(call, MAX_RECORD_BYTES).await?;
        Ok(created.into())
    }

    /// `PUT /employees/{pers_no}` with `If-Match: e.version`; answers the
    /// employee as stored (a new version when something changed). A stale
    /// version is the error `version_mismatch`.
    pub async fn update_employee(
        &self,
        e: &model::AstrowEmployee,
    ) -> Result<model::AstrowEmployee, AstrowError> {
        let body = EmployeeIn::from(e);
        let mut call = Call::new(Method::PUT, format!("/employees/{}", e.pers_no));
        call = call.json(&body)?;
        call.if_match = Some(e.version);
        let endpoint = call.endpoint();
        let settle = |err: &HttpError, attempt: u32| {
            // A repeat after a lost answer meets our own change: done.
            if attempt < 2 || err.api_code() != Some("version_mismatch") {
                return None;
            }
            let current = err.api()?.current.as_ref()?;
            let current: Employee = serde_json::from_value(current.clone()).ok()?;
            let current = model::AstrowEmployee::from(current);
            (EmployeeIn::from(&current) == normalised(&body) && current.version > e.version)
                .then_some(current)
        };
        self.run(&call, settle, |r| async {
            let updated: Employee = http::read_json(r, &endpoint, MAX_RECORD_BYTES).await?;
            Ok(updated.into())
        })
        .await
    }

    /// `DELETE /employees/{pers_no}` with `If-Match: version`.
    pub async fn delete_employee(&self, pers_no: PersNo, version: u64) -> Result<(), AstrowError> {
        let mut call = Call::new(Method::DELETE, format!("/employees/{pers_no}"));
        call.if_match = Some(version);
        // A repeat after a lost answer finds the employee gone: done.
        let settle = |err: &HttpError, attempt: u32| {
            (attempt > 1 && err.api_code() == Some("not_found")).then_some(())
        };
        self.run(&call, settle, |_| async { Ok(()) }).await
    }
}

/// The body as Astrow stores it (an empty badge is no badge).
fn normalised(body: &EmployeeIn) -> EmployeeIn {
    EmployeeIn {
        badge_no: wire::clean_badge(body.badge_no.as_deref()),
        ..body.clone()
    }
}

pub(super) fn check_ascending<T>(
    items: &[T],
    key: impl Fn(&T) -> u64,
    endpoint: &str,
) -> Result<(), AstrowError> {
    match items.windows(2).find(|w| key(&w[0]) >= key(&w[1])) {
        None => Ok(()),
        Some(w) => Err(AstrowError::Answer {
            endpoint: endpoint.to_string(),
            detail: format!(
                "the listing is out of order or repeats ({} then {})",
                key(&w[0]),
                key(&w[1])
            ),
        }),
    }
}
