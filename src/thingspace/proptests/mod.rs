//! Property tests with fixed seeds, so they run the same cases on every `cargo test`:
//! - `parsing`: hostile answers (any status, content type and body) never panic, never echo a secret, and
//!   well-formed answers give back exactly what they carried;
//! - `redaction`: a secret echoed in any encoding a server could use, in any error shape, never reaches a message;
//! - `interleaving`: under any interleaving of outcomes on the token, log-in, reset and log-out calls (faults of the
//!   ThingSpace emulator), nothing that may have counted or taken effect is sent again, and the error's
//!   [`super::Effect`] agrees with what the emulator recorded.
//!
//! The cargo-fuzz target `fuzz/fuzz_targets/thingspace_response.rs` explores the parsing entry points without a case
//! limit.

mod interleaving;
mod parsing;
mod redaction;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::endpoints::Call;
use super::error::Error;

/// The same seed every run: a failure reproduces, and the suite's time stays fixed.
const SEED: [u8; 32] = *b"thingspace-response-parsing-0001";

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &SEED),
    )
}

/// A secret as ThingSpace makes them (passwords, GUID tokens): a fixed prefix keeps it from ever being a
/// substring of the fixed text of an error message by chance.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{8,20}".prop_map(|s| format!("Zq9{s}"))
}

fn kind() -> impl Strategy<Value = Call> {
    prop_oneof![
        Just(Call::Token),
        Just(Call::Login),
        Just(Call::Reset),
        Just(Call::Logout),
    ]
}

/// Every string an error can put in front of a user.
fn texts(error: &Error) -> String {
    format!("{error} {error:?}")
}
