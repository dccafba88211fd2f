//! The workbook URL a user gives, checked to be a workbook *base* (`…/workbook`), with the
//! usual slips explained: an action URL copied from the documentation, an item URL without
//! `/workbook`.

use resumable_core::workbook::WorkbookUrl;

use crate::error::CliError;

/// Path segments that follow the workbook base in the URLs people copy: the session actions
/// and the resources inside a workbook.
const AFTER_BASE: [&str; 9] = [
    "createsession",
    "refreshsession",
    "closesession",
    "operations",
    "worksheets",
    "tables",
    "names",
    "functions",
    "application",
];

/// Reads `text` as a workbook base URL: an absolute `http(s)` URL whose path ends with
/// `/workbook`. The errors say what the URL should look like.
///
/// The refusals name only the URL's path: a query string may carry a credential.
pub(crate) fn workbook_url(text: &str) -> Result<WorkbookUrl, CliError> {
    let url = WorkbookUrl::new(text).map_err(|error| {
        CliError::Invalid(format!(
            "invalid workbook URL: {error}; give the workbook base, such as {EXAMPLE}"
        ))
    })?;
    let path = path_of(url.as_str());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(position) = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("workbook"))
    else {
        return Err(CliError::Invalid(format!(
            "{path} is not a workbook URL (its path does not end with /workbook): if it names a drive item, add /workbook, as in {EXAMPLE}"
        )));
    };
    if position + 1 < segments.len() {
        let base = format!("/{}", segments[..=position].join("/"));
        let next = segments[position + 1];
        let what = if AFTER_BASE
            .iter()
            .any(|s| next.to_ascii_lowercase().starts_with(s))
        {
            "names something inside the workbook"
        } else {
            "goes on past /workbook"
        };
        return Err(CliError::Invalid(format!(
            "{path} {what}: give the workbook base, which ends with /workbook ({base}); the command adds createSession, refreshSession and closeSession itself"
        )));
    }
    Ok(url)
}

/// The documented form of a workbook base.
const EXAMPLE: &str = "https://graph.microsoft.com/v1.0/me/drive/items/{item-id}/workbook";

/// The path of `scheme://authority/path` (`/` if there is none).
fn path_of(base: &str) -> &str {
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    after_scheme.find('/').map_or("/", |at| &after_scheme[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        match workbook_url(text) {
            Err(CliError::Invalid(message)) => message,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn workbook_bases_are_accepted() {
        for (text, base) in [
            (
                "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook",
                "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook",
            ),
            (
                "https://graph.microsoft.com/v1.0/me/drive/root:/book.xlsx:/Workbook/",
                "https://graph.microsoft.com/v1.0/me/drive/root:/book.xlsx:/Workbook",
            ),
            (
                "http://127.0.0.1:8080/v1.0/sites/s/drive/items/9/workbook?x=1",
                "http://127.0.0.1:8080/v1.0/sites/s/drive/items/9/workbook",
            ),
        ] {
            assert_eq!(workbook_url(text).unwrap().as_str(), base, "{text}");
        }
    }

    #[test]
    fn action_and_resource_urls_are_sent_back_to_the_base() {
        let message =
            refusal("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook/createSession");
        assert_eq!(
            message,
            "/v1.0/me/drive/items/01AB/workbook/createSession names something inside the workbook: give the workbook base, which ends with /workbook (/v1.0/me/drive/items/01AB/workbook); the command adds createSession, refreshSession and closeSession itself"
        );
        let message = refusal("https://h/v1.0/me/drive/items/01AB/workbook/worksheets('Sheet1')");
        assert!(
            message.contains("names something inside the workbook"),
            "{message}"
        );
        let message = refusal("https://h/v1.0/me/drive/items/01AB/workbook/extra");
        assert!(message.contains("goes on past /workbook"), "{message}");
    }

    #[test]
    fn item_urls_and_non_urls_say_what_to_give() {
        let message = refusal("https://graph.microsoft.com/v1.0/me/drive/items/01AB?token=secret");
        assert_eq!(
            message,
            format!(
                "/v1.0/me/drive/items/01AB is not a workbook URL (its path does not end with /workbook): if it names a drive item, add /workbook, as in {EXAMPLE}"
            )
        );
        assert!(!message.contains("secret"));
        let message = refusal("graph.microsoft.com/v1.0/me/drive/items/01AB/workbook");
        assert!(message.starts_with("invalid workbook URL: the workbook URL must be absolute"));
        assert!(message.ends_with(EXAMPLE), "{message}");
        assert!(refusal("ftp://host/workbook").contains("http or https"));
        assert!(refusal("https://host").contains("/ is not a workbook URL"));
    }
}
