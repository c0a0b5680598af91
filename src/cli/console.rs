//! `astrow-pac` without a subcommand: the console. Until it exists, it says so.

use super::{GlobalArgs, exit, logging};
use crate::config;

pub fn run(global: &GlobalArgs) -> u8 {
    let path = config::resolve_config_path(global.config.clone());
    // The console never logs to the terminal: the log goes to a file.
    let settings = config::load_with(&path, false)
        .map(|l| l.settings)
        .unwrap_or_default();
    let file = logging::log_file_path(global.log_file.as_deref(), settings.log.file.as_deref());
    let _guard = match logging::init_file_logging(&settings.log.level, &file) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("astrow-pac: {e}");
            None
        }
    };
    tracing::info!(config = %path.display(), "console requested, but it is not built yet");
    eprintln!(
        "astrow-pac: the console is not built yet. For now run `astrow-pac check` to check \
         the settings file ({}); `astrow-pac --help` lists what is available.",
        path.display()
    );
    exit::USAGE
}
