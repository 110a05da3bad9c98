//! The agent with fake inputs (`fakes::Fake`, an `Input` written for these tests), a fake AWS
//! port and a real pipeline: routing of answers and bodies, acknowledgement before checkpoint,
//! state restore, stop.
#![allow(clippy::disallowed_methods)] // the test is its own driver: it starts the virtual clock

mod fakes;
mod refresh;

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::state::{CollectorLoss, StateFile, TransportStats, parse_checkpoints};
use super::{Agent, AgentError, SAVE_INTERVAL, STOP_LINGER};
use crate::aws::client::AwsEvent;
use crate::aws::credentials::CacheId;
use crate::config::config::Config;
use crate::export::Serial;
use crate::source::Tag;
use fakes::{Bench, FLOWS_PER_LOG, Fake, LOG, checkpoint_of, failed, pipeline, plan, settings};

#[test]
fn answers_reach_the_input_that_asked_in_its_account_and_region() {
    let (a, seen_a, ctl_a) = Fake::new("cwl:a", None);
    let (b, seen_b, ctl_b) = Fake::new("cwl:b", None);
    let mut bench = Bench::new(
        vec![
            (
                plan("cwl:a", "111111111111", Some("eu-west-1")),
                Box::new(a),
            ),
            (plan("cwl:b", "222222222222", None), Box::new(b)),
        ],
        Default::default(),
    );
    ctl_a.borrow_mut().wants.extend([false, false]);
    ctl_b.borrow_mut().wants.extend([false]);
    // No account known: nobody may call.
    bench.work();
    assert!(bench.port.take().is_empty());
    bench
        .agent
        .handle_account_known(CacheId(3), "111111111111", "us-west-2");
    bench.work();
    let first = bench.port.take();
    assert_eq!(first.len(), 2);
    for s in &first {
        assert_eq!((s.account, s.region.as_str()), (CacheId(3), "eu-west-1"));
    }
    // The second account's input takes the account's default region.
    bench
        .agent
        .handle_account_known(CacheId(5), "222222222222", "ap-south-1");
    bench.work();
    let second = bench.port.take();
    assert_eq!(second.len(), 1);
    assert_eq!(
        (second[0].account, second[0].region.as_str()),
        (CacheId(5), "ap-south-1")
    );
    // Answers in another order than asked: each goes to its input under its own tag.
    bench.done(second[0].call, b"for b");
    bench.event(failed(first[1].call));
    bench.done(first[0].call, b"for a");
    let a = seen_a.borrow();
    let b = seen_b.borrow();
    assert_eq!(a.responses.len(), 2);
    assert_eq!(a.responses[0].0, a.tags[1]);
    assert!(
        a.responses[0]
            .1
            .as_ref()
            .is_err_and(|e| e.contains("GetCallerIdentity")),
        "{:?}",
        a.responses[0]
    );
    assert_eq!(a.responses[1], (a.tags[0], Ok(b"for a".to_vec())));
    assert_eq!(b.responses, vec![(b.tags[0], Ok(b"for b".to_vec()))]);
    assert_eq!(bench.agent.calls_out(), 0);
    // An event for a call nobody knows (canceled) is dropped.
    drop((a, b));
    bench.done(first[0].call, b"again");
    assert_eq!(seen_a.borrow().responses.len(), 2);
}

#[test]
fn streamed_bodies_pause_when_the_input_is_full_and_resume_by_themselves() {
    let (a, seen, ctl) = Fake::new("s3:a", None);
    let mut bench = Bench::new(
        vec![(plan("s3:a", "111111111111", Some("us-east-1")), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.push_back(true);
    ctl.borrow_mut().room = 40;
    bench.work();
    let s = bench.port.take();
    assert!(s[0].streamed);
    let call = s[0].call;
    bench.event(AwsEvent::StreamStart {
        call,
        status: 200,
        headers: Default::default(),
    });
    bench
        .port
        .bodies
        .insert(call, LOG.iter().copied().collect());
    bench
        .agent
        .handle_body_ready(call, &mut bench.port, bench.now, bench.wall);
    // 40 bytes taken, then no room: the call is stalled and the agent wants a turn soon.
    assert_eq!(seen.borrow().stream_bytes.len(), 40);
    let wake = bench.agent.poll_timeout().expect("a recheck");
    assert!(wake <= bench.now + super::STALL_RECHECK, "{wake:?}");
    // A turn without room changes nothing; with room, the rest is read without a new BodyReady.
    bench.work();
    assert_eq!(seen.borrow().stream_bytes.len(), 40);
    ctl.borrow_mut().room = usize::MAX;
    bench.advance(Duration::from_millis(20));
    bench.work();
    assert_eq!(seen.borrow().stream_bytes, LOG);
    // The end of a streamed call is a stream end, not a response.
    bench.done(call, b"");
    assert_eq!(seen.borrow().stream_starts, vec![(Tag(1), 200)]);
    assert_eq!(seen.borrow().stream_ends, vec![(Tag(1), true)]);
    assert!(seen.borrow().responses.is_empty());
    assert_eq!(bench.agent.pipeline().stats.flows(), FLOWS_PER_LOG);
}

#[test]
fn a_streamed_call_that_breaks_is_ended_with_its_error() {
    let (a, seen, ctl) = Fake::new("s3:a", None);
    let mut bench = Bench::new(
        vec![(plan("s3:a", "111111111111", None), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.extend([true, true]);
    bench.work();
    let s = bench.port.take();
    bench.event(AwsEvent::StreamStart {
        call: s[0].call,
        status: 200,
        headers: Default::default(),
    });
    bench.event(failed(s[0].call));
    // Failed before its head: an ordinary failed response.
    bench.event(failed(s[1].call));
    let seen = seen.borrow();
    assert_eq!(seen.stream_ends, vec![(Tag(1), false)]);
    assert_eq!(seen.responses.len(), 1);
    assert_eq!(seen.responses[0].0, Tag(2));
}

#[test]
fn checkpoints_advance_only_with_delivery_and_are_marked_only_when_written() {
    let (a, seen, ctl) = Fake::new("cwl:a", None);
    let mut bench = Bench::new(
        vec![(plan("cwl:a", "111111111111", None), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.push_back(false);
    bench.work();
    let call = bench.port.take()[0].call;
    bench.done(call, LOG);
    // Records are in export but not written to the collector: no ack, no checkpoint.
    bench.work();
    assert!(seen.borrow().acked.is_empty());
    let w = bench.writes(true);
    assert!(checkpoint_of(&w).is_none(), "nothing acknowledged yet");
    // Written to the socket: the next turn hands the acknowledgement over, then it is saved.
    bench.transmit();
    assert!(bench.agent.has_work());
    assert_eq!(bench.agent.poll_timeout(), Some(bench.now));
    bench.work();
    assert_eq!(seen.borrow().acked, vec![Serial(FLOWS_PER_LOG)]);
    assert_eq!(seen.borrow().marks, 0);
    // A failed write leaves it unsaved, and is retried after SAVE_INTERVAL, not at once.
    let w = bench.writes(false);
    assert_eq!(
        checkpoint_of(&w).expect("a save")["cwl:a"],
        json!({"position": 1})
    );
    assert_eq!(seen.borrow().marks, 0);
    assert!(checkpoint_of(&bench.writes(true)).is_none());
    bench.advance(SAVE_INTERVAL);
    let w = bench.writes(true);
    assert_eq!(
        checkpoint_of(&w).expect("retried")["cwl:a"],
        json!({"position": 1})
    );
    assert_eq!(seen.borrow().marks, 1);
    // Saved: nothing more until the next change.
    bench.advance(SAVE_INTERVAL);
    assert!(checkpoint_of(&bench.writes(true)).is_none());
    assert!(bench.sent > 0);
}

#[test]
fn a_save_is_followed_by_a_turn_at_once_for_the_calls_it_allows() {
    let (a, _seen, ctl) = Fake::new("s3:a", None);
    let mut bench = Bench::new(
        vec![(plan("s3:a", "111111111111", None), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.push_back(false);
    ctl.borrow_mut().call_after_save = true;
    bench.work();
    let call = bench.port.take()[0].call;
    bench.done(call, LOG);
    bench.transmit();
    bench.work();
    bench.advance(Duration::from_millis(3));
    assert!(checkpoint_of(&bench.writes(true)).is_some());
    // The input may now delete what the save covers: the agent wants a turn now, not later.
    assert_eq!(bench.agent.poll_timeout(), Some(bench.now));
    bench.work();
    assert_eq!(bench.port.take().len(), 1, "the delete went out");
    assert!(bench.agent.poll_timeout() > Some(bench.now));
}

#[test]
fn saves_are_at_most_one_per_interval() {
    let (a, _seen, ctl) = Fake::new("cwl:a", None);
    let mut bench = Bench::new(
        vec![(plan("cwl:a", "111111111111", None), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    let mut saves = 0;
    for _ in 0..10 {
        ctl.borrow_mut().wants.push_back(false);
        bench.work();
        let call = bench.port.take()[0].call;
        bench.done(call, LOG);
        bench.transmit();
        bench.work();
        saves += usize::from(checkpoint_of(&bench.writes(true)).is_some());
        bench.advance(Duration::from_millis(250));
    }
    // 10 units in 2.5 s: saved at 0, 1 s and 2 s.
    assert_eq!(saves, 3);
}

#[test]
fn restore_gives_each_input_its_entry_and_keeps_entries_of_other_inputs() {
    let mut doc = serde_json::Map::new();
    doc.insert("cwl:a".into(), json!({"position": 7}));
    doc.insert("kinesis:gone".into(), json!({"shards": {"s-1": "4960"}}));
    let bytes = serde_json::to_vec(&json!({"version": 1, "inputs": doc})).unwrap();
    let mut entries = parse_checkpoints(Some(&bytes)).unwrap();
    let (a, _seen, ctl) = Fake::new("cwl:a", entries.remove("cwl:a").as_ref());
    let mut bench = Bench::new(
        vec![(plan("cwl:a", "111111111111", None), Box::new(a))],
        entries,
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.push_back(false);
    bench.work();
    let call = bench.port.take()[0].call;
    bench.done(call, LOG);
    bench.transmit();
    bench.work();
    let saved = checkpoint_of(&bench.writes(true)).expect("saved");
    // The unit after the restored position 7; the other entry is kept.
    assert_eq!(saved["cwl:a"], json!({"position": 8}));
    assert_eq!(saved["kinesis:gone"], json!({"shards": {"s-1": "4960"}}));
}

#[test]
fn from_config_restores_real_inputs_and_refuses_a_damaged_file() {
    let cfg = Config::parse(
        "[input cwl:arn:aws:logs:us-east-1:123456789012:log-group:flows]\n\
         [input s3:arn:aws:s3:::bucket]\nqueue = https://sqs.us-east-1.amazonaws.com/123456789012/q\n",
    )
    .unwrap();
    let now = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400);
    // First run: no file. Its final checkpoint document is the second run's input.
    let mut first = Agent::from_config(&cfg, pipeline(), None, settings(), now, wall).unwrap();
    assert_eq!(
        first.input_names().collect::<Vec<_>>(),
        ["cwl:flows", "s3:bucket"]
    );
    let doc = first.final_writes(now, wall).remove(0);
    assert_eq!(doc.file, StateFile::Checkpoints);
    let entries = parse_checkpoints(Some(&doc.bytes)).unwrap();
    // LATEST starts "since the first run": that instant is in the checkpoint.
    assert_eq!(entries["cwl:flows"]["since"], json!(1_768_478_400_000i64));
    // Second run, an hour later, with an extra entry of an input no longer configured.
    let mut doc2 = entries.clone();
    doc2.insert("cwl:old".into(), json!({"x": 1}));
    let bytes = serde_json::to_vec(&json!({"version": 1, "inputs": doc2})).unwrap();
    let later = wall + Duration::from_secs(3600);
    let mut second =
        Agent::from_config(&cfg, pipeline(), Some(&bytes), settings(), now, later).unwrap();
    let again = parse_checkpoints(Some(&second.final_writes(now, later)[0].bytes)).unwrap();
    assert_eq!(
        again["cwl:flows"], entries["cwl:flows"],
        "restored, not restarted"
    );
    assert_eq!(again["s3:bucket"], entries["s3:bucket"]);
    assert_eq!(again["cwl:old"], json!({"x": 1}));
    // A damaged file stops the start with a line naming it.
    let e = Agent::from_config(
        &cfg,
        pipeline(),
        Some(b"{\"version\":1,"),
        settings(),
        now,
        wall,
    )
    .err()
    .expect("refused");
    assert!(matches!(e, AgentError::State(_)));
    assert!(e.to_string().starts_with("checkpoints.json: "), "{e}");
}

#[test]
fn stop_waits_for_in_flight_units_delivery_and_save_then_cancels_lingering_calls() {
    let (a, seen_a, ctl_a) = Fake::new("cwl:a", None);
    let (b, seen_b, ctl_b) = Fake::new("s3:b", None);
    let mut bench = Bench::new(
        vec![
            (plan("cwl:a", "111111111111", None), Box::new(a)),
            (plan("s3:b", "111111111111", None), Box::new(b)),
        ],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl_a.borrow_mut().wants.push_back(false);
    ctl_b.borrow_mut().wants.push_back(false);
    ctl_b.borrow_mut().idle_with_calls = true;
    bench.work();
    let calls = bench.port.take();
    assert_eq!(calls.len(), 2, "a's call, b's call");
    ctl_a.borrow_mut().wants.push_back(false);
    bench.agent.handle_stop(bench.now, bench.wall);
    bench.work();
    // Inputs were told, and a's second call was never made.
    assert!(seen_a.borrow().stops > 0 && seen_b.borrow().stops > 0);
    assert!(bench.port.take().is_empty());
    assert!(!bench.agent.is_done());
    // a's unit comes back with records: they must be delivered and saved first.
    bench.done(calls[0].call, LOG);
    bench.work();
    assert!(!bench.agent.is_done(), "records not delivered");
    bench.transmit();
    bench.work();
    assert_eq!(seen_a.borrow().acked, vec![Serial(FLOWS_PER_LOG)]);
    // At stop a save does not wait for SAVE_INTERVAL.
    let w = bench.writes(true);
    assert_eq!(
        checkpoint_of(&w).expect("saved")["cwl:a"],
        json!({"position": 1})
    );
    bench.work();
    // b's call (a long poll: b says it is idle) is still out: the agent lingers, then cancels it.
    assert!(!bench.agent.is_done());
    let wake = bench.agent.poll_timeout().expect("linger deadline");
    assert_eq!(wake, bench.now + STOP_LINGER);
    bench.advance(STOP_LINGER - Duration::from_millis(1));
    bench.work();
    assert!(bench.port.canceled.is_empty() && !bench.agent.is_done());
    bench.advance(Duration::from_millis(1));
    bench.work();
    assert_eq!(bench.port.canceled, vec![calls[1].call]);
    assert!(bench.agent.is_done());
    assert!(seen_b.borrow().responses.is_empty());
    // The last writes: checkpoints (as saved) and the status file.
    let last = bench.agent.final_writes(bench.now, bench.wall);
    assert_eq!(
        checkpoint_of(&last).expect("final")["cwl:a"],
        json!({"position": 1})
    );
    assert!(last.iter().any(|w| w.file == StateFile::Status));
}

#[test]
fn a_stop_does_not_end_while_an_input_has_work_in_flight() {
    let (a, _seen, ctl) = Fake::new("cwl:a", None);
    let mut bench = Bench::new(
        vec![(plan("cwl:a", "111111111111", None), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.push_back(false);
    bench.work();
    let call = bench.port.take()[0].call;
    bench.agent.handle_stop(bench.now, bench.wall);
    // However long it takes, the agent does not cancel what the input still waits for.
    for _ in 0..5 {
        bench.advance(STOP_LINGER);
        bench.work();
        bench.writes(true);
        assert!(!bench.agent.is_done());
    }
    assert!(bench.port.canceled.is_empty());
    bench.done(call, b"");
    bench.work();
    bench.writes(true);
    bench.work();
    assert!(bench.agent.is_done());
}

#[test]
fn the_status_file_counts_inputs_and_collectors() {
    let (a, _seen, ctl) = Fake::new("cwl:a", None);
    let mut bench = Bench::new(
        vec![(plan("cwl:a", "111111111111", None), Box::new(a))],
        Default::default(),
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "111111111111", "us-east-1");
    ctl.borrow_mut().wants.push_back(false);
    bench.work();
    let call = bench.port.take()[0].call;
    bench.done(call, LOG);
    bench.transmit();
    bench.work();
    bench.agent.note_transport(&TransportStats {
        datagrams: 1,
        bytes: 10,
        lost: 2,
        reconnects: 0,
        lost_by_collector: vec![CollectorLoss {
            datagrams: 2,
            records: 31,
        }],
    });
    bench.advance(super::STATUS_FILE_INTERVAL);
    let w = bench.writes(true);
    let status = w
        .iter()
        .find(|w| w.file == StateFile::Status)
        .expect("status written");
    let v: Value = serde_json::from_slice(&status.bytes).unwrap();
    assert_eq!(v["inputs"][0]["name"], "cwl:a");
    assert_eq!(v["inputs"][0]["units_acked"], 1);
    assert_eq!(v["inputs"][0]["active"], true);
    assert_eq!(v["collectors"][0]["address"], "127.0.0.1:4739");
    assert_eq!(v["collectors"][0]["records"], FLOWS_PER_LOG);
    assert_eq!(v["export"]["datagrams_lost"], 2);
    assert_eq!(v["collectors"][0]["datagrams_lost"], 2);
    assert_eq!(v["collectors"][0]["records_lost"], 31);
    assert_eq!(v["lines"]["flows"], FLOWS_PER_LOG);
}
