//! Replays the committed seed corpus of the wire-text, Graph (sessions and simple uploads),
//! workbook and checkpoint targets, so
//! ordinary `cargo test` keeps them passing (the codec targets are replayed beside their bodies).

use std::path::Path;

type Target = fn(&[u8]);

/// The targets in this directory's submodules, by corpus directory name.
const TARGETS: [(&str, Target); 8] = [
    ("wire_text", super::text::wire_text),
    ("graph_answer", super::graph::graph_answer),
    ("graph_upload", super::graph::graph_upload_hostile_answers),
    (
        "workbook_session",
        super::workbook::workbook_hostile_answers,
    ),
    ("checkpoint_decode", super::checkpoint::checkpoint_decode),
    ("simple_upload", |data| {
        let _ = super::simple::simple_upload_hostile_answers(data);
    }),
    ("stored_item", super::stored::stored_item),
    ("tus_upload", |data| {
        let _ = super::tus::tus_upload_hostile_answers(data);
    }),
];

#[test]
fn seed_corpus_of_the_protocol_targets_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (dir, target) in TARGETS {
        let entries = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("no seed corpus for {dir}: {e}"));
        let mut files = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            target(&data);
            files += 1;
        }
        assert!(files >= 3, "{dir} has only {files} seeds");
    }
}
