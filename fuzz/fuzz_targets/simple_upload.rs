#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = resumable_core::fuzz_targets::simple::simple_upload_hostile_answers(data);
});
