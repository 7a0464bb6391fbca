//! Property tests of the replay input layer: the Received, Authentication-Results,
//! Received-SPF, ARC and failure-report readers never panic on arbitrary input and stay
//! within their bounds.

use proptest::prelude::*;
use spfcheck::message::auth_results::{MAX_RESULTS, parse, parse_arc, parse_received_spf};
use spfcheck::message::received;
use spfcheck::report::arf;

/// Text made of the characters these grammars care about, so that the cases reach deep.
fn header_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("from ".to_string()),
            Just("by ".to_string()),
            Just("with ".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("IPv6:".to_string()),
            Just(";".to_string()),
            Just("=".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("spf".to_string()),
            Just("192.0.2.1".to_string()),
            Just("2001:db8::1".to_string()),
            Just("\r\n ".to_string()),
            any::<String>(),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn received_never_panics(s in header_like()) {
        let h = received::parse(&s);
        for w in [&h.from, &h.by, &h.id, &h.from_rdns].into_iter().flatten() {
            prop_assert!(w.len() <= 255);
        }
    }

    #[test]
    fn auth_results_never_panic(s in header_like()) {
        let a = parse(&s);
        prop_assert!(a.results.len() <= MAX_RESULTS);
        let _ = parse_received_spf(&s);
        let _ = parse_arc(&s);
    }

    #[test]
    fn arf_never_panics(s in header_like(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = arf::parse(s.as_bytes());
        let _ = arf::parse(&bytes);
        let _ = spfcheck::report::input_kind(&bytes);
        let framed = format!("Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/feedback-report\n\n{s}\n--b\nContent-Type: message/rfc822\n\n{s}\n--b--\n");
        let _ = arf::parse(framed.as_bytes());
    }
}
