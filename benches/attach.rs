//! Attaching to an engine over its control socket, measured:
//! - time to the first full frame of an engine holding 100,000 employees a
//!   side, and the bytes of that frame (goal: under 300 ms);
//! - bytes on the wire per bookings-only update (goal: under 8 KB);
//! - CPU of an idle attached console and its server (goal: under 1 % of a core).
//!
//! The engine's side is played by the bench (its channels); the server and
//! the client are the product's. `cargo bench --bench attach`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use astrow_pac::control::parts::{ROWS_PER_FRAME, Sent};
use astrow_pac::control::wire::{self, ServerFrame};
use astrow_pac::control::{self, AttachOptions};
use astrow_pac::engine::handle::channels;
use astrow_pac::engine::snapshot::Snapshot;
use astrow_pac::tui::testkit::{feed, snapshot_with};

const EMPLOYEES: usize = 100_000;
const ROUNDS: usize = 7;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// CPU time of this process so far (user + system).
fn cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: utime is the 14th, stime the 15th (in ticks).
    let after = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The bytes the server writes for `snap` to a client that has what `sent` says.
fn wire_bytes(sent: &mut Sent, snap: &Snapshot) -> usize {
    let rows = sent.employees(snap);
    let mut n = 0;
    for chunk in rows.iter().flat_map(|r| r.chunks(ROWS_PER_FRAME)) {
        n += wire::encode_rows(chunk).map_or(0, |b| b.len()) + 4;
    }
    let frame = ServerFrame::Snapshot(Box::new(sent.frame(snap, rows.map(|r| r.len()))));
    n + wire::encode(&frame).map_or(0, |b| b.len()) + 4
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (handle, engine) = channels();
    let mut snap = snapshot_with(EMPLOYEES, 500, false);
    snap.version = 1;
    let first_bytes = wire_bytes(&mut Sent::default(), &snap);
    engine.snapshots.send_replace(Arc::new(snap.clone()));
    let access = control::Access::default();
    let server = control::serve(
        dir.path(),
        &access,
        control::Policy::for_this_process(&access),
        control::Source::of(&handle),
    )
    .expect("serves");

    // Where the time goes: the whole list encoded and decoded once.
    let t0 = Instant::now();
    let text = serde_json::to_vec(&*snap.employees).expect("encodes");
    let enc = t0.elapsed();
    let t0 = Instant::now();
    let back: Vec<astrow_pac::engine::snapshot::EmployeeRow> =
        serde_json::from_slice(&text).expect("decodes");
    let dec = t0.elapsed();
    println!(
        "the employee list as JSON: encode {enc:?}, decode {dec:?} ({} rows, {:.1} MB)",
        back.len(),
        text.len() as f64 / 1e6
    );

    let t0 = Instant::now();
    let bin = postcard::to_allocvec(&*snap.employees).expect("encodes");
    let enc = t0.elapsed();
    let t0 = Instant::now();
    let back: Vec<astrow_pac::engine::snapshot::EmployeeRow> =
        postcard::from_bytes(&bin).expect("decodes");
    let dec = t0.elapsed();
    println!(
        "the employee list in postcard (the wire): encode {enc:?}, decode {dec:?} ({} rows, {:.1} MB)",
        back.len(),
        bin.len() as f64 / 1e6
    );

    // Time to the first full frame.
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        let mut a = control::attach(&server.endpoint, AttachOptions::default())
            .await
            .expect("attaches");
        a.handle
            .snapshots
            .wait_for(|s| s.employees.len() == EMPLOYEES)
            .await
            .expect("a full frame");
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "attach to {EMPLOYEES} employees a side: first full frame median {:.0} ms (min {:.0}, max {:.0}), {:.1} MB",
        median(times.clone()),
        times.iter().copied().fold(f64::MAX, f64::min),
        times.iter().copied().fold(0.0, f64::max),
        first_bytes as f64 / 1e6
    );

    // Bookings-only updates: what crosses the wire for each.
    let mut a = control::attach(&server.endpoint, AttachOptions::default())
        .await
        .expect("attaches");
    a.handle
        .snapshots
        .wait_for(|s| s.employees.len() == EMPLOYEES)
        .await
        .expect("a full frame");
    let mut sent = Sent::default();
    let _ = wire_bytes(&mut sent, &snap);
    let mut sizes = Vec::new();
    let mut arrive = Vec::new();
    let swipes = feed(600);
    for i in 0..50u64 {
        let mut b = (*snap.bookings).clone();
        b.feed.remove(0);
        // A new swipe (the next sequence number), as the engine adds them.
        let next = b.feed.last().map_or(1, |e| e.seq.0 + 1);
        b.feed.push(astrow_pac::engine::snapshot::FeedEntry {
            seq: astrow_pac::model::Seq(next),
            ..swipes[(i as usize) % swipes.len()].clone()
        });
        b.delivered += 1;
        snap.bookings = Arc::new(b);
        snap.version += 1;
        sizes.push(wire_bytes(&mut sent, &snap) as f64);
        let v = snap.version;
        let t0 = Instant::now();
        engine.snapshots.send_replace(Arc::new(snap.clone()));
        a.handle
            .snapshots
            .wait_for(|s| s.version == v)
            .await
            .expect("the update");
        arrive.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "bookings-only update ({} feed entries kept): median {:.0} bytes a frame, arrives in median {:.2} ms",
        snap.bookings.feed.len(),
        median(sizes),
        median(arrive)
    );

    // An idle attached console and its server.
    let idle = Duration::from_secs(5);
    let c0 = cpu_time();
    tokio::time::sleep(idle).await;
    let used = cpu_time() - c0;
    println!(
        "idle attached console and server: {:.2} % of a core over {idle:?}",
        used.as_secs_f64() / idle.as_secs_f64() * 100.0
    );
    drop(a);
    server.stop().await;
}
