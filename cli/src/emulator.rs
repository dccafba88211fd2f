//! `resumable emulator serve`: the service emulator as a standalone server, for trying clients
//! (this one or any other) against strict services with faults.

use std::io::Write;
use std::net::SocketAddr;

use clap::{Args, Subcommand};
use resumable_emulator::{
    EmulatorConfig, EmulatorHandle, FaultProfile, FaultScript, OPTIONS, StorageMode, TimeScale,
    serve,
};

use crate::error::CliError;

/// The `emulator` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum EmulatorCommand {
    /// Serve Graph upload sessions, WOPI and workbook sessions on loopback until Ctrl-C. The
    /// first line on standard output is the base URL.
    Serve(ServeArgs),
}

/// `resumable emulator serve` options.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen (port 0 picks a free port; the first output line names it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The random fault mix: none, flaky (about one request in ten goes wrong) or hostile
    /// (about one in three, and sessions expire early).
    #[arg(long, default_value = "none", value_parser = str::parse::<FaultProfile>)]
    faults: FaultProfile,
    /// Seeds the fault plan: the same seed and requests give the same faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Faults at exact requests, such as `fragment#3=lose-answer,status#1=status:503`.
    #[arg(long, value_parser = str::parse::<FaultScript>)]
    script: Option<FaultScript>,
    /// How much faster than real time session expiries and creation delays run.
    #[arg(long, default_value = "1", value_parser = str::parse::<TimeScale>)]
    time_scale: TimeScale,
    /// Where received bytes go: `temp` (a temporary directory, deleted at exit), `dir:PATH`
    /// (kept), or `discard` (only sizes and SHA-256 are kept).
    #[arg(long, default_value = "temp", value_parser = str::parse::<StorageMode>)]
    storage: StorageMode,
    /// The bearer token session creations must carry (default: any non-empty token).
    #[arg(long, env = "RESUMABLE_EMULATOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Any other emulator setting, as NAME=VALUE (repeatable; applied after the flags above),
    /// such as `wopi-upload-sessions=false` or `workbook-creation-delay=20s`. `--options`
    /// lists every name.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
    /// List every setting `--set` accepts, with its syntax and an example, and exit.
    #[arg(long)]
    options: bool,
}

/// Splits `NAME=VALUE`; the emulator checks the name and the value.
fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE (for example `--set wopi-upload-sessions=false`; `--options` lists the names)"
        )),
    }
}

/// The `--options` table: one setting per line.
fn options_table() -> String {
    let width = OPTIONS.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut table = String::from("settings for --set NAME=VALUE:\n");
    for option in OPTIONS {
        table.push_str(&format!(
            "  {name:<width$}  {help}\n  {blank:<width$}  value: {syntax}; e.g. --set {name}={example}\n",
            name = option.name,
            blank = "",
            help = option.help,
            syntax = option.syntax,
            example = option.example,
        ));
    }
    table
}

/// Runs an `emulator` subcommand.
pub(crate) fn run(command: EmulatorCommand) -> Result<(), CliError> {
    let EmulatorCommand::Serve(args) = command;
    if args.options {
        let mut out = std::io::stdout().lock();
        out.write_all(options_table().as_bytes())
            .and_then(|()| out.flush())
            .map_err(CliError::output)?;
        return Ok(());
    }
    let mut config = EmulatorConfig::default()
        .with_addr(args.addr)
        .with_storage(args.storage)
        .with_faults(args.faults, args.seed)
        .with_time_scale(args.time_scale);
    if let Some(script) = args.script {
        config = config.with_script(script);
    }
    if let Some(token) = args.token {
        config = config.with_bearer_token(token);
    }
    for (name, value) in &args.settings {
        config.set(name, value).map_err(|e| {
            CliError::Invalid(format!("emulator: {e} (`--options` lists every setting)"))
        })?;
    }
    crate::runtime::block_on(async {
        serve(config, announce, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| CliError::Invalid(format!("emulator: {e}")))
    })
}

/// Prints where the emulator listens: the base URL first (for scripts), then a short guide.
fn announce(handle: &EmulatorHandle) {
    let base = handle.base_url();
    let mut out = std::io::stdout().lock();
    let guide = format!(
        "{base}\n\
         emulator listening on {base} (Ctrl-C stops it)\n\
         \x20 drive item:    POST {drive}\n\
         \x20 print:         POST {print}\n\
         \x20 attachment:    POST {mail}\n\
         \x20 WOPI file:          {wopi}?access_token=any\n\
         \x20 workbook:      POST {workbook}/createSession\n\
         \x20 tus 1.0:       POST {tus}\n\
         \x20 IETF draft:    POST {ietf} (interop versions 6 and 8)\n\
         \x20 stored files:  GET  {files}\n\
         \x20 counters:      GET  {stats}\n\
         try: RESUMABLE_TOKEN=any resumable upload FILE --endpoint {drive}\n",
        drive = handle.drive_upload_session_url("FILE"),
        print = handle.print_upload_session_url("printer-1", "job-1", "document-1"),
        mail = handle.mail_upload_session_url("message-1"),
        wopi = handle.wopi_file_url("FILE"),
        workbook = handle.workbook_url("ITEM"),
        tus = handle.tus_endpoint(),
        ietf = handle.ietf_endpoint(),
        files = handle.files_url(),
        stats = handle.stats_url(),
    );
    let _ = out.write_all(guide.as_bytes());
    let _ = out.flush();
}
