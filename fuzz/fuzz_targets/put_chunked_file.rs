#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| resumable_core::fuzz_targets::put_chunked_file_body_decoder(data));
