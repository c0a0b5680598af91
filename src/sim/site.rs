//! Both simulators running together as one realistic site: what `sim both`,
//! `demo` and the end-to-end tests start.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use rand::Rng;

use super::astrow::{AstrowSim, AstrowSimOptions, DEFAULT_USERNAME};
use super::faults::Faults;
use super::pac::{PacSim, PacSimOptions, SimFileError};
use super::seed::pac_site;
use super::seed_astrow::astrow_site;
use super::server::RunningServer;

#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// PAC's certificate and key files live here.
    pub dir: PathBuf,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub pac_port: u16,
    pub astrow_port: u16,
    pub employees: usize,
    pub seed: u64,
    pub swipes_per_min: f64,
    /// How many events PAC keeps.
    pub event_history: usize,
}

impl SiteOptions {
    pub fn new(dir: impl Into<PathBuf>) -> SiteOptions {
        SiteOptions {
            dir: dir.into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            pac_port: 0,
            astrow_port: 0,
            employees: 300,
            seed: 1,
            swipes_per_min: 0.0,
            event_history: 100_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("PAC simulator files: {0}")]
    Files(#[from] SimFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Which simulators to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Pac,
    Astrow,
    Both,
}

/// Running simulators; stopped when dropped.
pub struct RunningSite {
    pub pac: Option<(PacSim, RunningServer)>,
    pub astrow: Option<(AstrowSim, RunningServer, Arc<Faults>)>,
    /// The password the Astrow simulator accepts for [`DEFAULT_USERNAME`].
    pub astrow_username: String,
    pub astrow_password: String,
    swipes: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSite {
    /// Seed and start the chosen simulators. Astrow is seeded to partly match
    /// PAC (linked, drifted, one-sided employees) so a first sync has work.
    pub async fn start(which: Which, opts: &SiteOptions) -> Result<RunningSite, SiteError> {
        let password: String = {
            let mut rng = rand::rng();
            (0..20)
                .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
                .collect()
        };
        let mut site = RunningSite {
            pac: None,
            astrow: None,
            astrow_username: DEFAULT_USERNAME.to_string(),
            astrow_password: password.clone(),
            swipes: None,
        };
        if which != Which::Astrow {
            let pac = PacSim::new(PacSimOptions {
                dir: opts.dir.clone(),
                seed: opts.seed,
                employees: opts.employees,
                event_history: opts.event_history,
                swipes_per_min: opts.swipes_per_min,
            })?;
            let addr = SocketAddr::new(opts.bind, opts.pac_port);
            let server = RunningServer::start(
                addr,
                Some(pac.tls_server_config()),
                pac.router(),
                pac.faults(),
            )
            .await
            .map_err(|source| SiteError::Bind { addr, source })?;
            if opts.swipes_per_min > 0.0 {
                site.swipes = Some(pac.spawn_swipes());
            }
            site.pac = Some((pac, server));
        }
        if which != Which::Pac {
            let faults = Arc::new(Faults::new());
            let mut aopts = AstrowSimOptions::with_password(&password);
            aopts.seed = opts.seed;
            aopts.site = Some(astrow_site(opts.seed, &pac_site(opts.seed, opts.employees)));
            aopts.faults = Some(faults.clone());
            let astrow = AstrowSim::new(aopts);
            let addr = SocketAddr::new(opts.bind, opts.astrow_port);
            let server = RunningServer::start(addr, None, astrow.router(), faults.clone())
                .await
                .map_err(|source| SiteError::Bind { addr, source })?;
            site.astrow = Some((astrow, server, faults));
        }
        Ok(site)
    }

    pub fn pac_addr(&self) -> Option<SocketAddr> {
        self.pac.as_ref().map(|(_, s)| s.addr)
    }

    pub fn pac_url(&self) -> Option<String> {
        self.pac_addr().map(|a| format!("https://{a}"))
    }

    pub fn astrow_url(&self) -> Option<String> {
        self.astrow
            .as_ref()
            .map(|(_, s, _)| format!("http://{}", s.addr))
    }

    /// Stop the swipe generator and both servers.
    pub async fn stop(mut self) {
        if let Some(h) = self.swipes.take() {
            h.abort();
        }
        if let Some((_, s)) = self.pac.take() {
            s.stop().await;
        }
        if let Some((_, s, _)) = self.astrow.take() {
            s.stop().await;
        }
    }
}

impl Drop for RunningSite {
    fn drop(&mut self) {
        if let Some(h) = self.swipes.take() {
            h.abort();
        }
    }
}
