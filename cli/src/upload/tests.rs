//! The options of `resumable upload`, checked before anything is sent.

use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
struct Wrapper {
    #[command(flatten)]
    args: UploadArgs,
}

fn parse(line: &[&str]) -> UploadArgs {
    let mut argv = vec!["upload"];
    argv.extend_from_slice(line);
    Wrapper::try_parse_from(argv).unwrap().args
}

#[test]
fn drive_chunk_sizes_must_be_multiples_of_320_kib() {
    let target = Target::DriveItem(DriveItem::new());
    let error = check_chunk_size(ProtocolArg::Drive, &target, 1_000_000).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid --chunk-size 1000000: fragment size 1000000 is not a multiple of 327680 bytes; \
         try 983040 or 1310720 (graph-drive fragments are multiples of 327680 bytes (320 KiB), \
         at most 62586880 bytes, such as 5MiB or 10MiB)"
    );
    assert!(check_chunk_size(ProtocolArg::Drive, &target, 10 << 20).is_ok());
    let too_big = check_chunk_size(ProtocolArg::Drive, &target, 64 << 20).unwrap_err();
    assert!(
        too_big.to_string().contains("exceeds the maximum"),
        "{too_big}"
    );
}

#[test]
fn mail_chunks_are_at_most_4_mb() {
    let target = Target::MailAttachment(MailAttachment::new("a"));
    assert!(check_chunk_size(ProtocolArg::Attachment, &target, 4_000_000).is_ok());
    let error = check_chunk_size(ProtocolArg::Attachment, &target, 4 << 20).unwrap_err();
    assert!(
        error.to_string().contains("at most 4000000 bytes"),
        "{error}"
    );
}

#[test]
fn drive_options_build_the_drive_item() {
    let args = parse(&["big.bin", "--conflict", "rename", "--defer-commit"]);
    let built = target(&args, "big.bin").unwrap();
    let Target::DriveItem(item) = built else {
        panic!("{built:?}")
    };
    assert_eq!(item.conflict, Some(ConflictBehavior::Rename));
    assert!(item.defer_commit);
    assert_eq!(item.name, None, "drive items take their name from the URL");
    let named = parse(&[
        "big.bin",
        "--name",
        "x.bin",
        "--endpoint",
        "https://g/x:/createUploadSession",
    ]);
    let error = target(&named, "big.bin").unwrap_err();
    assert!(
        error.to_string().contains("--name does not apply"),
        "{error}"
    );
}

#[test]
fn drive_only_options_are_refused_for_other_targets() {
    let args = parse(&[
        "a.pdf",
        "--protocol",
        "graph-print",
        "--conflict",
        "replace",
    ]);
    let error = target(&args, "a.pdf").unwrap_err();
    assert_eq!(
        error.to_string(),
        "--conflict applies to graph-drive uploads only, not to graph-print"
    );
    let args = parse(&["a.pdf", "--protocol", "graph-attachment", "--defer-commit"]);
    assert!(target(&args, "a.pdf").is_err());
}

#[test]
fn print_documents_get_a_name_and_a_content_type() {
    let args = parse(&["report.PDF", "--protocol", "graph-print"]);
    let Target::PrintDocument(doc) = target(&args, "report.PDF").unwrap() else {
        panic!()
    };
    assert_eq!(doc.document_name, "report.PDF");
    assert_eq!(doc.content_type, "application/pdf");
    assert_eq!(content_type("x.unknown"), "application/octet-stream");
}

#[test]
fn chunk_sizes_parse_with_units() {
    let args = parse(&["a", "--chunk-size", "10MiB"]);
    assert_eq!(args.chunk_size, Some(10 << 20));
    let wrong = Wrapper::try_parse_from(["upload", "a", "--chunk-size", "ten"]).unwrap_err();
    assert!(wrong.to_string().contains("not a size"), "{wrong}");
}
