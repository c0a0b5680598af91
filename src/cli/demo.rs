//! `astrow-pac demo`: the whole product on simulators started inside the
//! process, with a realistic drifting site and swipes arriving.

use clap::Args;

use super::console::{Look, console, options};
use super::sim::settings_for;
use super::{GlobalArgs, exit, logging};
use crate::config;
use crate::engine::runtime::{EngineOptions, start};
use crate::sim::site::{RunningSite, SiteOptions, Which};
use crate::tui::LogBuffer;

pub const LONG_ABOUT: &str = "Start simulators of PAC Access Central and Astrow inside this \
process (a site with hundreds of employees, PAC and Astrow drifted apart, readers, swipes \
arriving), a temporary store and settings file, and open the console on them. Nothing \
outside the temporary folder is touched; it is removed when you quit.

Try: 3 for the Changes pane (the first sync's plan), a to approve all, x to apply; \
5 for the bookings arriving (a there shows Astrow's web and mobile bookings going to PAC); \
6 to edit a setting; ? for every key.";

/// Bookings per minute on Astrow's web clock and mobile app in the demo.
pub const DEMO_OWN_BOOKINGS_PER_MIN: f64 = 12.0;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Employees in the simulated PAC
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub employees: u32,
    /// Seed of the simulated site
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Badge swipes per minute
    #[arg(long, default_value_t = 120.0)]
    pub swipes_per_min: f64,
}

pub fn run(global: &GlobalArgs, args: &DemoArgs, look: Look) -> u8 {
    if let Some(code) = super::console::needs_terminal() {
        return code;
    }
    if !(0.0..=60_000.0).contains(&args.swipes_per_min) {
        eprintln!("astrow-pac demo: --swipes-per-min must be between 0 and 60000");
        return exit::USAGE;
    }
    let dir = std::env::temp_dir().join(format!("astrow-pac-demo-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("astrow-pac demo: cannot create {}: {e}", dir.display());
        return exit::PROBLEMS;
    }
    let log = LogBuffer::default();
    let file = global
        .log_file
        .clone()
        .unwrap_or_else(|| dir.join("logs").join("astrow-pac.log"));
    let guard = logging::init_console_logging("info", &file, &log).ok();
    let Some(rt) = super::common::runtime() else {
        return exit::PROBLEMS;
    };
    let code = rt.block_on(async {
        let mut opts = SiteOptions::new(dir.join("sim"));
        opts.employees = args.employees as usize;
        opts.seed = args.seed;
        opts.swipes_per_min = args.swipes_per_min;
        let site = match RunningSite::start(Which::Both, &opts).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("astrow-pac demo: the simulators did not start: {e}");
                return exit::PROBLEMS;
            }
        };
        let mut settings = settings_for(&site, &dir);
        // Livelier than a real site: plans every minute.
        settings.sync.employee_interval_s = 60;
        settings.sync.definitions_interval_s = 300;
        settings.log.file = Some(file.clone());
        // The other direction too: a trickle of bookings on Astrow's web
        // clock and mobile app goes to PAC as attendance events.
        settings.bookings.astrow_to_pac = true;
        if let Some((astrow, _, _)) = &site.astrow {
            astrow.set_own_booking_rate(DEMO_OWN_BOOKINGS_PER_MIN);
        }
        let config_path = dir.join("astrow-pac.toml");
        if let Err(e) = config::save(&config_path, &settings) {
            eprintln!(
                "astrow-pac demo: cannot write {}: {e}",
                config_path.display()
            );
            site.stop().await;
            return exit::PROBLEMS;
        }
        let engine_opts = EngineOptions {
            settings,
            config_path: config_path.clone(),
            read_only: look.read_only,
            demo: true,
        };
        let (handle, engine) = match start(engine_opts).await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("astrow-pac demo: the engine did not start: {e}");
                site.stop().await;
                return exit::PROBLEMS;
            }
        };
        let code = console(
            handle,
            Some(engine),
            None,
            options(&config_path, look, log, true, None),
        )
        .await;
        site.stop().await;
        code
    });
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
    code
}
