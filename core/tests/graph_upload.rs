//! The upload engine against a strict simulated Graph service, on virtual time.
//!
//! `server.rs` is the service (SPEC section 1), `harness.rs` plugs it into the shared simulator
//! (`sim/`) with the faults and checks of a Graph transport; the other modules are the tests:
//! one per SPEC section 5 lesson, the sizes and scenarios the engine must handle, the end of an
//! upload (crashes near it, commits, waits for the caller), misbehaving servers, and property
//! tests over seeds and sizes.
#![cfg(feature = "alloc")]
#![allow(clippy::print_stdout, clippy::print_stderr, unreachable_pub)]

mod sim;

mod graph_upload {
    mod finishing;
    pub mod harness;
    mod hostile;
    mod lessons;
    mod misbehaving;
    mod properties;
    mod scenarios;
    pub mod server;
}

mod smoke {
    use super::graph_upload::harness::{Outcome, Sim, upload};
    use super::graph_upload::server::Service;

    #[test]
    fn drive_upload_without_faults_stores_the_source() {
        let total = 1_000_000;
        let mut sim = Sim::new(Service::Drive, total, 1);
        let mut up = upload(Service::Drive, total, 1);
        let outcome = sim.run(&mut up);
        assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
        sim.assert_clean();
        sim.assert_stored_source();
    }
}
