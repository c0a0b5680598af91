//! Job runs: each job's start, end, result and counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{SqlContext, Store, StoreError, parse_time, time_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobRunId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub id: JobRunId,
    pub job: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub counts: BTreeMap<String, u64>,
}

impl Store {
    pub fn job_started(&mut self, job: &str) -> Result<JobRunId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO job_runs (job, started_at) VALUES (?1, ?2)",
                params![job, time_text(Utc::now())],
            )
            .ctx("record a job start")?;
        Ok(JobRunId(self.conn.last_insert_rowid()))
    }

    pub fn job_finished(
        &mut self,
        id: JobRunId,
        result: &str,
        counts: &BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        let counts = serde_json::to_string(counts).map_err(|e| StoreError::Corrupt {
            what: "job counts",
            value: e.to_string(),
        })?;
        self.conn
            .execute(
                "UPDATE job_runs SET finished_at = ?1, result = ?2, counts = ?3 WHERE id = ?4",
                params![time_text(Utc::now()), result, counts, id.0],
            )
            .ctx("record a job end")?;
        Ok(())
    }

    /// The latest run of every job, by job name.
    pub fn last_job_runs(&self) -> Result<Vec<JobRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, job, started_at, finished_at, result, counts FROM job_runs
                 WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job) ORDER BY job",
            )
            .ctx("prepare the job run listing")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .ctx("list job runs")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read a job run")?;
        rows.into_iter()
            .map(|(id, job, started, finished, result, counts)| {
                let counts = match counts {
                    None => BTreeMap::new(),
                    Some(text) => serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                        what: "job counts",
                        value: text,
                    })?,
                };
                Ok(JobRun {
                    id: JobRunId(id),
                    job,
                    started_at: parse_time("a job start", &started)?,
                    finished_at: finished.map(|t| parse_time("a job end", &t)).transpose()?,
                    result,
                    counts,
                })
            })
            .collect()
    }
}
