//! The control socket against hostile and mismatched peers: a client of
//! another protocol version is told why and others are served; random,
//! truncated and huge frames close only their own connection while a
//! well-behaved client is served throughout; a server of another version is
//! named by the client. The engine side is played by the test (its channels).

#![cfg(unix)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use astrow_pac::control::wire::{self, ServerFrame, ServerHello};
use astrow_pac::control::{self, AttachError, AttachOptions, Attached, ControlServer, transport};
use astrow_pac::engine::command::Command;
use astrow_pac::engine::handle::{EngineChannels, channels};
use astrow_pac::engine::snapshot::Snapshot;
use futures::{SinkExt, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::Framed;

/// A served fake engine: the test holds the engine's side of the channels.
fn serve(
    dir: &Path,
) -> (
    ControlServer,
    EngineChannels,
    astrow_pac::engine::handle::EngineHandle,
) {
    let (handle, engine) = channels();
    let access = control::Access::default();
    let server = control::serve(
        dir,
        &access,
        control::Policy::for_this_process(&access),
        control::Source::of(&handle),
    )
    .unwrap();
    (server, engine, handle)
}

/// A good client proves it is served: a command reaches the engine with
/// the peer's user, and the reply comes back.
async fn still_served(good: &Attached, engine: &mut EngineChannels) {
    let call = good.caller.call(Command::Pause);
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let (r, req) = tokio::join!(call, engine.commands.recv());
        (r, req)
    })
    .await
    .expect("the good client is answered");
    assert_eq!(got.0, Ok(()));
    let req = got.1.expect("the engine gets the command");
    assert_eq!(req.command, Command::Pause);
    assert_eq!(
        req.actor.user,
        transport::unix_name(transport::own_uid().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_protocol_is_told_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut engine, _handle) = serve(dir.path());
    let good = control::attach(&server.endpoint, AttachOptions::default())
        .await
        .unwrap();
    let stream = transport::connect(&server.endpoint).await.unwrap();
    let mut old = Framed::new(stream, wire::codec(wire::MAX_SERVER_FRAME));
    let hello = br#"{"hello":{"protocol":99,"product":"9.9.9","ssh_from":null,"read_only":false}}"#;
    old.send(bytes::Bytes::from_static(hello)).await.unwrap();
    let answer = old.next().await.unwrap().unwrap();
    match wire::decode::<ServerFrame>(&answer).unwrap() {
        ServerFrame::Refused {
            reason, protocol, ..
        } => {
            assert_eq!(protocol, wire::PROTOCOL);
            assert!(
                reason.contains(&format!("control protocol {}", wire::PROTOCOL)),
                "{reason}"
            );
            assert!(
                reason.contains("the client 99 (astrow-pac 9.9.9)"),
                "{reason}"
            );
        }
        other => panic!("not refused: {other:?}"),
    }
    assert!(old.next().await.is_none(), "the connection is closed after");
    still_served(&good, &mut engine).await;
    server.stop().await;
}

#[tokio::test]
async fn a_server_of_another_version_is_named_by_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let listener = transport::listen(dir.path(), &control::Access::default()).unwrap();
    let fake = tokio::spawn(async move {
        use interprocess::local_socket::tokio::prelude::*;
        let s = listener.accept().await.unwrap();
        let mut f = Framed::new(s, wire::codec(wire::MAX_SERVER_FRAME));
        let _hello = f.next().await;
        let reply = ServerFrame::Hello(ServerHello {
            protocol: wire::PROTOCOL + 1,
            product: "0.2.0".into(),
            pid: 1,
            you_are: "x".into(),
        });
        f.send(wire::encode(&reply).unwrap()).await.unwrap();
    });
    let r = control::attach(&control::endpoint(dir.path()), AttachOptions::default()).await;
    match r {
        Err(AttachError::Refused(why)) => {
            assert!(
                why.contains(&format!(
                    "control protocol {} (astrow-pac 0.2.0)",
                    wire::PROTOCOL + 1
                )),
                "{why}"
            );
        }
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("attached to a server of another protocol"),
    }
    fake.await.unwrap();
}

/// What a hostile peer sends: garbage, a frame with a garbage or cut body,
/// a huge length, a valid command before any hello.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    let garbage = prop::collection::vec(any::<u8>(), 0..300);
    let framed_garbage = prop::collection::vec(any::<u8>(), 0..200).prop_map(|body| {
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend(body);
        v
    });
    let truncated =
        (1u32..10_000, prop::collection::vec(any::<u8>(), 0..100)).prop_map(|(claimed, body)| {
            let mut v = (claimed + body.len() as u32).to_be_bytes().to_vec();
            v.extend(body);
            v
        });
    let huge = (wire::MAX_CLIENT_FRAME as u32 + 1..u32::MAX).prop_map(|n| n.to_be_bytes().to_vec());
    let command_first = Just({
        let body = br#"{"command":{"id":1,"command":"pause"}}"#;
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    });
    let cut_hello = (1usize..60).prop_map(|cut| {
        let body =
            br#"{"hello":{"protocol":1,"product":"0.1.0","ssh_from":null,"read_only":false}}"#;
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(&body[..cut.min(body.len())]);
        v
    });
    prop_oneof![
        garbage,
        framed_garbage,
        truncated,
        huge,
        command_first,
        cut_hello
    ]
}

#[test]
fn hostile_frames_close_only_their_connection() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, engine, handle) = rt.block_on(async { serve(dir.path()) });
    let engine = tokio::sync::Mutex::new(engine);
    let _ = handle;
    let good = rt
        .block_on(control::attach(&server.endpoint, AttachOptions::default()))
        .unwrap();
    let endpoint = server.endpoint.clone();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let result = runner.run(&hostile(), |bytes| {
        rt.block_on(async {
            // A raw Unix socket: its shutdown really ends the peer's input.
            let mut s = tokio::net::UnixStream::connect(&endpoint).await.unwrap();
            // The server may close before reading it all: a write error is fine.
            let _ = s.write_all(&bytes).await;
            let _ = s.shutdown().await;
            // The server closes this connection (a refusal frame at most).
            let mut rest = Vec::new();
            let closed = tokio::time::timeout(
                Duration::from_secs(12),
                tokio::io::AsyncReadExt::read_to_end(&mut s, &mut rest),
            )
            .await;
            assert!(closed.is_ok(), "the hostile connection was not closed");
            if rest.len() > 4 {
                let frame: ServerFrame = wire::decode(&rest[4..]).unwrap();
                assert!(matches!(frame, ServerFrame::Refused { .. }), "{frame:?}");
            }
            let mut engine = engine.lock().await;
            still_served(&good, &mut engine).await;
        });
        Ok(())
    });
    result.unwrap();
    // And the picture still reaches the good client.
    rt.block_on(async {
        let mut rx = good.handle.snapshots.clone();
        let s = Snapshot {
            version: 99,
            ..Snapshot::default()
        };
        engine.lock().await.snapshots.send_replace(Arc::new(s));
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| s.version == 99))
            .await
            .expect("snapshots still flow")
            .unwrap();
        server.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_console_sends_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut engine, _handle) = serve(dir.path());
    let ro = control::attach(
        &server.endpoint,
        AttachOptions {
            read_only: true,
            ..AttachOptions::default()
        },
    )
    .await
    .unwrap();
    let mut events = ro.handle.events.resubscribe();
    ro.handle.commands.try_send(Command::Pause).unwrap();
    let told = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(told.message.contains("read-only"), "{}", told.message);
    // Even a write that gets past the console is refused by the server.
    let refused = ro.caller.call(Command::Approve(vec!["i1".into()])).await;
    assert!(refused.unwrap_err().contains("read-only"));
    // A run now is refused too: in auto apply mode it applies its plan.
    let ask = Command::RunNow(astrow_pac::engine::snapshot::JobKind::Employees);
    let refused = ro.caller.call(ask).await;
    assert!(refused.unwrap_err().contains("read-only"));
    // The engine got nothing; a writing console's run still reaches it.
    assert!(engine.commands.try_recv().is_err());
    let rw = control::attach(&server.endpoint, AttachOptions::default())
        .await
        .unwrap();
    let ask = Command::RunNow(astrow_pac::engine::snapshot::JobKind::Employees);
    rw.caller.call(ask.clone()).await.unwrap();
    let got = engine.commands.recv().await.unwrap();
    assert_eq!(got.command, ask);
    assert!(engine.commands.try_recv().is_err());
    server.stop().await;
}

/// A client that never reads (a console suspended with Ctrl-Z) cannot hold
/// up the stop, even with the server blocked writing to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_hang_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let (server, engine, _handle) = serve(dir.path());
    let stream = transport::connect(&server.endpoint).await.unwrap();
    let mut stuck = Framed::new(stream, wire::codec(wire::MAX_SERVER_FRAME));
    let hello = format!(
        r#"{{"hello":{{"protocol":{},"product":"0.1.0","ssh_from":null,"read_only":false}}}}"#,
        wire::PROTOCOL
    );
    stuck.send(bytes::Bytes::from(hello)).await.unwrap();
    // Far more than a socket buffer holds, never read.
    let big = "x".repeat(60_000);
    for _ in 0..200 {
        let _ = engine
            .events
            .send(astrow_pac::engine::command::EngineEvent {
                time: chrono::Utc::now(),
                level: astrow_pac::engine::command::EventLevel::Info,
                message: big.clone(),
                answer: None,
            });
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("the stop does not wait for a client that does not read");
    drop(stuck);
}

/// An old server stopped after a newer one took the path leaves the newer
/// socket in place (it removes only the file it made).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_server_never_removes_a_newer_engines_socket() {
    let dir = tempfile::tempdir().unwrap();
    let (old, _engine, _handle) = serve(dir.path());
    let (new, mut engine2, _handle2) = serve(dir.path());
    assert_eq!(old.endpoint, new.endpoint);
    old.stop().await;
    assert!(new.endpoint.exists(), "the newer socket is still there");
    let good = control::attach(&new.endpoint, AttachOptions::default())
        .await
        .unwrap();
    still_served(&good, &mut engine2).await;
    let at = new.endpoint.clone();
    new.stop().await;
    assert!(!at.exists(), "a server removes its own socket on stop");
}
