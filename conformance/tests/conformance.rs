//! Every scenario of `resumable_conformance::scenarios`, once per transport: `reqwest::NAME`
//! for `resumable-reqwest`, `ureq::NAME` for `resumable-ureq`.

macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        mod reqwest {
            $(
                #[test]
                fn $scenario() {
                    resumable_conformance::scenarios::$scenario(
                        &resumable_conformance::ReqwestTransport,
                    );
                }
            )*
        }
        mod ureq {
            $(
                #[test]
                fn $scenario() {
                    resumable_conformance::scenarios::$scenario(
                        &resumable_conformance::UreqTransport,
                    );
                }
            )*
        }
    };
}

conformance!(
    graph_byte_identical,
    graph_5xx_storm,
    graph_drop_mid_body,
    graph_stored_but_answer_lost,
    graph_last_answer_lost,
    graph_resume,
    graph_cancel,
    graph_changed_source_restarts,
    graph_hostile_premature_item,
    graph_hostile_wrong_hash,
    wopi_byte_identical,
    wopi_resume,
    workbook_kept_alive_and_closed,
);
