#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    resumable_core::fuzz_targets::stored::stored_item(data);
});
