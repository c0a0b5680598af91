//! The console on a fixed snapshot, without an engine: for looking at the
//! screens while developing (`cargo run --example console_fixture`).
//! Commands sent to the "engine" are printed after the console closes.

use std::sync::Arc;

use astrow_pac::engine::handle::channels;
use astrow_pac::tui::{ConsoleOptions, run, testkit};

#[tokio::main]
async fn main() {
    let (handle, mut engine) = channels();
    let _ = engine
        .snapshots
        .send(Arc::new(testkit::snapshot_with(2_000, 500, false)));
    let opts = ConsoleOptions {
        demo: true,
        config_path: std::env::temp_dir().join("astrow-pac-fixture.toml"),
        no_color: std::env::args().any(|a| a == "--no-color"),
        read_only: std::env::args().any(|a| a == "--read-only"),
        ..ConsoleOptions::default()
    };
    let result = run(handle, opts).await;
    while let Ok(cmd) = engine.commands.try_recv() {
        println!("sent to the engine: {cmd:?}");
    }
    if let Err(e) = result {
        eprintln!("console: {e}");
        std::process::exit(1);
    }
}
