//! Memory and first-sync plan time of `run --headless` at site scale.
//!
//! `cargo bench --bench memory` runs the release binary against
//! `sim both --employees N` (a second process) for N = 10,000 and 100,000
//! (`MEMORY_EMPLOYEES=1000,50000` chooses others; `MEMORY_RUNS` runs each,
//! default 3) and prints, per N, the medians of:
//! - the first-sync plan time: from the engine saying it runs to its log
//!   line "Employee sync: plan ..." (both listings read, the plan made and
//!   saved, the snapshot published);
//! - resident memory two seconds after that line (VmRSS) and the peak so far
//!   (VmHWM), from /proc (Linux).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_astrow-pac");
/// A first sync slower than this is a failure of the run, not a figure.
const FIRST_SYNC_LIMIT: Duration = Duration::from_secs(300);

/// A child killed when dropped (a failed run leaves nothing behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's output, read on a thread of their own.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    rx
}

/// Wait for a line containing `needle`; when it came.
fn wait_for(lines: &mpsc::Receiver<String>, needle: &str) -> Result<Instant, String> {
    let deadline = Instant::now() + FIRST_SYNC_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Ok(Instant::now()),
            Ok(line) => timing(&line),
            Err(e) => return Err(format!("no line with {needle:?}: {e}")),
        }
    }
}

/// A line of the engine's saying where the sync's time went, shown.
fn timing(line: &str) {
    if line.contains("_ms=") {
        println!("  {}", line.split_once("DEBUG").map_or(line, |(_, l)| l));
    }
}

/// `VmRSS` and `VmHWM` of process `pid`, in MB.
fn memory_mb(pid: u32) -> Result<(f64, f64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| -> Result<f64, String> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))?;
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("unreadable {line:?}"))?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

struct Run {
    plan_s: f64,
    rss_mb: f64,
    peak_mb: f64,
}

/// Simulators with `employees` a side, then the engine's first sync.
fn run_once(employees: usize, dir: &Path) -> Result<Run, String> {
    let mut sim = Killed(
        Command::new(BIN)
            .args([
                "sim",
                "both",
                "--employees",
                &employees.to_string(),
                "--dir",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the simulators: {e}"))?,
    );
    let sim_lines = lines_of(&mut sim.0);
    wait_for(&sim_lines, "config_path")?;
    let config: PathBuf = dir.join("astrow-pac.toml");
    let mut engine = Killed(
        Command::new(BIN)
            .args(["run", "--headless", "--config"])
            .arg(&config)
            // The sync's own timings, besides the usual lines.
            .env("RUST_LOG", "info,astrow_pac::engine::jobs::employees=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the engine: {e}"))?,
    );
    let lines = lines_of(&mut engine.0);
    let running = wait_for(&lines, "engine running headless")?;
    let planned = wait_for(&lines, "Employee sync: plan")?;
    std::thread::sleep(Duration::from_secs(2));
    for line in lines.try_iter() {
        timing(&line);
    }
    let (rss_mb, peak_mb) = memory_mb(engine.0.id())?;
    Ok(Run {
        plan_s: (planned - running).as_secs_f64(),
        rss_mb,
        peak_mb,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let sizes = env_list("MEMORY_EMPLOYEES", &[10_000, 100_000]);
    let runs = env_list("MEMORY_RUNS", &[3])[0].max(1);
    for employees in sizes {
        let mut done = Vec::new();
        for _ in 0..runs {
            let dir = tempfile::tempdir().expect("a temporary directory");
            match run_once(employees, dir.path()) {
                Ok(r) => {
                    println!(
                        "{employees} employees a side: first-sync plan {:.2} s, resident {:.0} MB, peak {:.0} MB",
                        r.plan_s, r.rss_mb, r.peak_mb
                    );
                    done.push(r);
                }
                Err(e) => println!("{employees} employees a side: run failed: {e}"),
            }
        }
        if done.is_empty() {
            continue;
        }
        println!(
            "{employees} employees a side, median of {}: first-sync plan {:.2} s (goal < 2 s at 100k), resident after it {:.0} MB (goal < 200 MB at 100k), peak {:.0} MB",
            done.len(),
            median(done.iter().map(|r| r.plan_s).collect()),
            median(done.iter().map(|r| r.rss_mb).collect()),
            median(done.iter().map(|r| r.peak_mb).collect()),
        );
    }
}
