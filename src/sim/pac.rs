//! A simulated PAC Access Central serving the OEM interface of protocol.md
//! over HTTPS, plus its control routes under `/_sim/`.
//!
//! ```text
//! let sim = PacSim::new(PacSimOptions::new(dir))?;
//! let app = sim.router();            // OEM interface + /_sim/ controls
//! let tls = sim.tls_server_config(); // its self-signed certificate
//! let _swipes = sim.spawn_swipes();  // when swipes_per_min > 0
//! let server = RunningServer::start(addr, Some(tls), app, sim.faults()).await?;
//! ```

mod check;
mod control;
mod external;
mod files;
mod oem;
mod reply;
mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{Mutex, watch};

pub use control::Stats;
pub use files::{CERTIFICATE_FILE, OEM_KEY_FILE, OemKeyFile, PRIVATE_KEY_FILE, SimFileError};

use crate::sim::faults::Faults;
use crate::sim::seed;

/// How to start a simulated PAC.
#[derive(Debug, Clone)]
pub struct PacSimOptions {
    /// Where the certificate, its key and the OEM key file live (made on first start).
    pub dir: PathBuf,
    /// The seed of the site: the same seed, the same keyholders.
    pub seed: u64,
    pub employees: usize,
    /// How many events PAC keeps before the oldest expire.
    pub event_history: usize,
    /// Swipes per minute of the generator ([`PacSim::spawn_swipes`]); 0: none.
    pub swipes_per_min: f64,
}

impl PacSimOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PacSimOptions {
            dir: dir.into(),
            seed: 1,
            employees: 300,
            event_history: 100_000,
            swipes_per_min: 0.0,
        }
    }
}

/// What the routes share.
pub(crate) struct Shared {
    pub state: Mutex<state::State>,
    /// The newest seq, for long-polls to wait on.
    pub seq_tx: watch::Sender<u64>,
    pub client_id: String,
    pub key: String,
    pub organization_name: String,
    pub faults: Arc<Faults>,
}

impl Shared {
    pub async fn swipe(&self, count: usize) -> u64 {
        let last = self.state.lock().await.swipe(count);
        self.seq_tx.send_replace(last);
        last
    }

    pub async fn swipe_on(&self, reader_id: u32, count: usize) -> u64 {
        let last = self.state.lock().await.swipe_on(reader_id, count);
        self.seq_tx.send_replace(last);
        last
    }

    pub async fn restore_backup(&self, through: u64) -> u64 {
        let mut st = self.state.lock().await;
        st.restore_backup(through);
        self.seq_tx.send_replace(st.last_seq);
        st.last_seq
    }

    pub async fn stats(&self) -> Stats {
        let st = self.state.lock().await;
        Stats {
            employees: st.employees.len(),
            events: st.events.len(),
            oldest_seq: st.oldest_seq(),
            last_seq: st.last_seq,
            revoked: st.revoked,
            doors_opened: st.doors_opened,
            external_stored: st.external.stored,
            external_duplicates: st.external.duplicates,
            external_rejected: st.external.rejected,
            requests: self.faults.stats(),
        }
    }
}

/// A simulated PAC Access Central.
#[derive(Clone)]
pub struct PacSim {
    shared: Arc<Shared>,
    tls: Arc<rustls::ServerConfig>,
    dir: PathBuf,
    swipes_per_min: f64,
    key: OemKeyFile,
    certificate_pem: String,
}

impl std::fmt::Debug for PacSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacSim")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl PacSim {
    /// Make (or reuse) the files in `opts.dir` and seed the site.
    pub fn new(opts: PacSimOptions) -> Result<PacSim, SimFileError> {
        std::fs::create_dir_all(&opts.dir).map_err(|source| SimFileError::Io {
            path: opts.dir.clone(),
            source,
        })?;
        let (cert, private_key) = files::certificate(&opts.dir)?;
        let key = files::oem_key(&opts.dir)?;
        let tls = files::server_config(&cert, &private_key, &opts.dir)?;
        let site = seed::pac_site(opts.seed, opts.employees);
        let rng = StdRng::seed_from_u64(opts.seed ^ 0x5041_4353_494d);
        let (seq_tx, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(state::State::new(site, opts.event_history, rng)),
            seq_tx,
            client_id: key.client_id.clone(),
            key: key.key.clone(),
            organization_name: "Simulated site".into(),
            faults: Arc::new(Faults::new()),
        });
        Ok(PacSim {
            shared,
            tls,
            dir: opts.dir,
            swipes_per_min: opts.swipes_per_min,
            key,
            certificate_pem: cert,
        })
    }

    /// The OEM interface and the `/_sim/` control routes.
    pub fn router(&self) -> axum::Router {
        oem::router(self.shared.clone())
            .merge(control::router(self.shared.clone()))
            .fallback(not_found)
    }

    /// The fault settings and request counters to hand to `sim::server::serve`.
    pub fn faults(&self) -> Arc<Faults> {
        self.shared.faults.clone()
    }

    pub fn tls_server_config(&self) -> Arc<rustls::ServerConfig> {
        self.tls.clone()
    }

    pub fn certificate_path(&self) -> PathBuf {
        self.dir.join(CERTIFICATE_FILE)
    }

    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    pub fn oem_key_path(&self) -> PathBuf {
        self.dir.join(OEM_KEY_FILE)
    }

    pub fn oem_key(&self) -> &OemKeyFile {
        &self.key
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make `count` swipes now; the new last seq.
    pub async fn swipe(&self, count: usize) -> u64 {
        self.shared.swipe(count).await
    }

    pub async fn stats(&self) -> Stats {
        self.shared.stats().await
    }

    /// Make `count` granted swipes on one reader; the new last seq.
    pub async fn swipe_on(&self, reader_id: u32, count: usize) -> u64 {
        self.shared.swipe_on(reader_id, count).await
    }

    /// PAC restored from a backup taken at seq `through` (its sequence goes
    /// back below a client's cursor); the new last seq.
    pub async fn restore_backup(&self, through: u64) -> u64 {
        self.shared.restore_backup(through).await
    }

    /// The external events PAC stored: `(source_id, seq)`, by seq.
    pub async fn external_events(&self) -> Vec<(String, u64)> {
        let st = self.shared.state.lock().await;
        let mut out: Vec<(String, u64)> = st
            .external
            .by_source
            .iter()
            .map(|(s, q)| (s.clone(), *q))
            .collect();
        out.sort_by_key(|(_, q)| *q);
        out
    }

    /// The serials of PAC's readers.
    pub async fn reader_serials(&self) -> Vec<String> {
        let st = self.shared.state.lock().await;
        st.readers.iter().map(|r| r.serial.clone()).collect()
    }

    /// Delete the external event stored under `source_id` behind the
    /// integration's back. Whether there was one.
    pub async fn delete_external(&self, source_id: &str) -> bool {
        self.shared.state.lock().await.delete_external(source_id)
    }

    /// Add a reader in PAC, or change one (serial, direction).
    pub async fn set_reader(&self, reader: crate::model::Reader) {
        self.shared.state.lock().await.set_reader(reader);
    }

    /// Start the swipe generator at `swipes_per_min` (nothing when 0).
    /// Abort the handle to stop it.
    pub fn spawn_swipes(&self) -> tokio::task::JoinHandle<()> {
        let shared = self.shared.clone();
        let rate = self.swipes_per_min;
        tokio::spawn(async move {
            crate::sim::swipes::run(rate, |n| {
                let shared = shared.clone();
                async move {
                    shared.swipe(n).await;
                }
            })
            .await;
        })
    }
}

async fn not_found() -> reply::Fail {
    reply::Fail::not_found("this path")
}
