//! Tests of the S3 + SQS input, part 3: visibility. The queue's own `VisibilityTimeout` is the
//! one asked for and extended at half, and at a stop messages not started are handed back
//! (ChangeMessageVisibility 0) so a restarted agent reads them at once. Played against the
//! `Fake` of `tests.rs`.

use std::time::Duration;

use super::tests::*;
use crate::source::Input;

#[test]
fn stop_hands_back_messages_not_started_and_reports_when_nothing_is_open() {
    let mut h = roomy();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[V2_GZ, V5_GZ], &[&[0], &[1]]);
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    assert_eq!(fake.held.len(), 1);
    let mut ctx = h.ctx();
    assert!(!input.handle_stop(&mut ctx), "an object is being read");
    fake.hold_gets = false;
    let o = fake.held.pop().expect("held");
    fake.serve(&mut h, &mut input, &o, None, None);
    let mut ctx = h.ctx();
    assert!(input.handle_stop(&mut ctx));
    h.deliver(&mut input);
    save(&mut input);
    fake.run(&mut h, &mut input);
    // The read message is deleted; the other was never started and is handed back to SQS
    // (visibility 0) so a restart sees it at once, and it is not touched again.
    assert_eq!(fake.deleted, ["msg-0"]);
    assert_eq!(fake.visibility, [("msg-1".to_string(), 0)]);
    assert_eq!(fake.count("GetObject"), 1);
    assert_eq!(fake.receives, 1);
    assert_eq!(exported(&mut h), expected(&[V2_GZ]));
    h.advance(Duration::from_secs(400));
    fake.run(&mut h, &mut input);
    assert_eq!(fake.visibility.len(), 1);
    assert_eq!(fake.count("ReceiveMessage"), 1);
}

#[test]
fn a_receive_answered_after_the_stop_hands_its_messages_back() {
    let mut h = roomy();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[V2_GZ, V5_GZ], &[&[0], &[1]]);
    answer_first_attributes(&mut h, &mut input, 300);
    // The long poll is out when the stop comes; its answer brings both messages.
    let outs = h.poll_all(&mut input);
    assert_eq!(outs.len(), 1);
    let mut ctx = h.ctx();
    assert!(input.handle_stop(&mut ctx), "nothing started");
    for o in outs {
        fake.answer(&mut h, &mut input, o);
    }
    fake.run(&mut h, &mut input);
    let mut handed_back = fake.visibility.clone();
    handed_back.sort();
    assert_eq!(
        handed_back,
        [("msg-0".to_string(), 0), ("msg-1".to_string(), 0)]
    );
    assert_eq!(fake.count("GetObject"), 0);
    assert!(fake.deleted.is_empty());
}

#[test]
fn the_queue_visibility_timeout_is_asked_for_and_extended_at_half() {
    let mut h = roomy();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[V2_GZ], &[&[0]]);
    fake.queue_visibility = 12;
    let t0 = h.now;
    fake.hold_gets = true;
    // The fake checks that ReceiveMessage asks for the queue's 12 s.
    fake.run(&mut h, &mut input);
    assert_eq!(
        fake.calls[..2],
        ["GetQueueAttributes", "ReceiveMessage max=2"]
    );
    assert_eq!(fake.held.len(), 1);
    let extended_at = extensions_until(&mut h, &mut input, &mut fake, t0, 25);
    assert_eq!(extended_at, [6, 12, 18, 24]);
    assert!(fake.visibility.iter().all(|(_, t)| *t == 12));
}
