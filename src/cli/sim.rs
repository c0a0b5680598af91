//! `astrow-pac sim`: the simulators in the foreground, for trying the product,
//! for tests, and for fault injection through `/_sim/`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::stop_signal::wait_for_stop;
use super::{GlobalArgs, exit, logging};
use crate::config::{self, Secret, Settings};
use crate::sim::site::{RunningSite, SiteOptions, Which};

pub const LONG_ABOUT: &str = "Run simulators of PAC Access Central (OEM interface, HTTPS) and \
the Astrow Web API (HTTP) in the foreground, seeded with a realistic site.

With `both`, it also writes DIR/astrow-pac.toml, a complete settings file pointing at them \
(state under DIR), and when ready prints one JSON line on stdout: \
{\"pac_url\", \"astrow_url\", \"config_path\", \"certificate_path\", \"oem_key_path\"}. \
Then, in another terminal: astrow-pac check --config DIR/astrow-pac.toml

Each simulator also serves a control API under /_sim/ (never part of a real server): \
POST /_sim/swipes {\"count\": N}, POST /_sim/edit {\"count\": N}, \
PUT /_sim/faults {\"error_rate\", \"latency_ms\", \"drop_rate\", \"rate_limit\", \
\"retry_after_s\", \"truncate_rate\", \"expire_tokens\"}, GET /_sim/stats, GET /_sim/requests.

Stops cleanly on Ctrl-C or SIGTERM.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimWhich {
    Pac,
    Astrow,
    Both,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Which simulators to run
    #[arg(value_enum, default_value = "both")]
    pub which: SimWhich,
    /// Folder for the PAC certificate, the OEM key file, the settings file and the store
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Address to listen on (ports are picked free unless given)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// PAC's port (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub pac_port: u16,
    /// Astrow's port (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub astrow_port: u16,
    /// Employees in PAC (Astrow is seeded to partly match them)
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub employees: u32,
    /// Seed of the site: the same seed gives the same people
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Badge swipes per minute made by PAC's generator (0: only on request)
    #[arg(long, default_value_t = 0.0)]
    pub swipes_per_min: f64,
}

pub fn run(global: &GlobalArgs, args: &SimArgs) -> u8 {
    if let Err(e) = logging::init_stderr_logging("info") {
        eprintln!("astrow-pac: {e}");
    }
    let _ = global;
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("astrow-pac sim: cannot start the runtime: {e}");
            return exit::PROBLEMS;
        }
    };
    rt.block_on(serve(args))
}

async fn serve(args: &SimArgs) -> u8 {
    if !(0.0..=60_000.0).contains(&args.swipes_per_min) {
        eprintln!(
            "astrow-pac sim: --swipes-per-min must be between 0 and 60000, not {}",
            args.swipes_per_min
        );
        return exit::USAGE;
    }
    let which = match args.which {
        SimWhich::Pac => Which::Pac,
        SimWhich::Astrow => Which::Astrow,
        SimWhich::Both => Which::Both,
    };
    let opts = SiteOptions {
        dir: args.dir.clone(),
        bind: args.bind,
        pac_port: args.pac_port,
        astrow_port: args.astrow_port,
        employees: args.employees as usize,
        seed: args.seed,
        swipes_per_min: args.swipes_per_min,
        event_history: 100_000,
    };
    let site = match RunningSite::start(which, &opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("astrow-pac sim: {e}");
            return exit::PROBLEMS;
        }
    };
    let mut ready = serde_json::json!({
        "pac_url": site.pac_url(),
        "astrow_url": site.astrow_url(),
    });
    if let Some((pac, _)) = &site.pac {
        ready["certificate_path"] = pac.certificate_path().display().to_string().into();
        ready["oem_key_path"] = pac.oem_key_path().display().to_string().into();
    }
    if site.astrow.is_some() {
        ready["astrow_username"] = site.astrow_username.clone().into();
    }
    if which == Which::Both {
        let path = args.dir.join("astrow-pac.toml");
        match write_settings(&site, &args.dir, &path) {
            Ok(()) => ready["config_path"] = path.display().to_string().into(),
            Err(e) => {
                eprintln!("astrow-pac sim: cannot write {}: {e}", path.display());
                site.stop().await;
                return exit::PROBLEMS;
            }
        }
    } else if site.astrow.is_some() {
        // Alone, the Astrow password has nowhere else to go.
        ready["astrow_password"] = site.astrow_password.clone().into();
    }
    println!("{ready}");
    tracing::info!("simulators ready; Ctrl-C or SIGTERM stops them");
    wait_for_stop().await;
    tracing::info!("stopping simulators");
    site.stop().await;
    exit::OK
}

/// A complete settings file pointing at the running simulators, with the
/// store and log under `dir`.
pub fn settings_for(site: &RunningSite, dir: &Path) -> Settings {
    let mut s = Settings::default();
    if let Some((pac, server)) = &site.pac {
        s.pac.address = server.addr.ip().to_string();
        s.pac.port = server.addr.port();
        s.pac.certificate_path = pac.certificate_path();
        s.pac.oem_key_path = pac.oem_key_path();
        s.pac.organization_id = 1;
    }
    if let Some(url) = site.astrow_url() {
        s.astrow.url = url;
        s.astrow.username = site.astrow_username.clone();
        s.astrow.password = Some(Secret::new(site.astrow_password.clone()));
        s.astrow.default_cycle_code = "STD".into();
        s.astrow.default_paygroup_code = "MONTHLY".into();
    }
    s.store.dir = Some(dir.join("store"));
    s.log.file = Some(dir.join("logs").join("astrow-pac.log"));
    s
}

fn write_settings(site: &RunningSite, dir: &Path, path: &Path) -> Result<(), String> {
    config::save(path, &settings_for(site, dir)).map_err(|e| e.to_string())
}
