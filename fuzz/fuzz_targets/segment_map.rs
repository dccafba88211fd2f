#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| resumable_core::fuzz_targets::segment_map_matches_stream(data));
