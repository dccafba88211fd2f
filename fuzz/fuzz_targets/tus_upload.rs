#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = resumable_core::fuzz_targets::tus::tus_upload_hostile_answers(data);
});
