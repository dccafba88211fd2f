use super::*;
use alloc::format;
use alloc::string::ToString;

#[test]
fn rfc_3986_reference_resolution_examples() {
    // RFC 3986 section 5.4, normal and abnormal examples.
    let base = "http://a/b/c/d;p?q";
    let cases = [
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../", "http://a/"),
        ("../../g", "http://a/g"),
        ("../../../g", "http://a/g"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        (".g", "http://a/b/c/.g"),
        ("g..", "http://a/b/c/g.."),
        ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g/./h", "http://a/b/c/g/h"),
        ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("https://other/x/../y", "https://other/y"),
    ];
    for (reference, expected) in cases {
        let resolved = resolve(base, reference).unwrap_or_else(|| panic!("{reference:?}"));
        assert_eq!(resolved, expected, "{reference:?}");
    }
}

#[test]
fn graph_locations_resolve_against_the_request_url() {
    let workbook =
        WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook").unwrap();
    let create = workbook.create_session();
    let absolute = "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook/operations/op1";
    let same = resolve(&create, absolute).unwrap();
    assert_eq!(same, absolute);
    assert!(workbook.is_same_origin(&same));
    assert_eq!(resolve(&create, "operations/op1").unwrap(), absolute);
    assert_eq!(
        resolve(&create, "/v1.0/me/drive/items/01AB/workbook/operations/op1").unwrap(),
        absolute
    );
    let explicit_port = resolve(&create, "https://GRAPH.microsoft.com:443/x").unwrap();
    assert!(workbook.is_same_origin(&explicit_port));
}

#[test]
fn foreign_origins_are_marked_and_non_web_urls_refused() {
    let workbook = WorkbookUrl::new("http://127.0.0.1:8080/drive/workbook").unwrap();
    let base = workbook.create_session();
    let base = base.as_str();
    for foreign in [
        "http://evil.example/op",
        "https://127.0.0.1:8080/op",
        "http://127.0.0.1:8081/op",
        "//evil.example/op",
        "http://user@evil.example/op",
    ] {
        let resolved = resolve(base, foreign).unwrap();
        assert!(!workbook.is_same_origin(&resolved), "{foreign}");
        // Relative to a foreign URL, a path stays on the foreign host.
        let relative = resolve(&resolved, "/session/1").unwrap();
        assert!(!workbook.is_same_origin(&relative), "{foreign}");
    }
    assert!(workbook.is_same_origin(&resolve(base, "http://127.0.0.1:8080/op").unwrap()));
    let ipv6 = WorkbookUrl::new("http://[::1]:80/w").unwrap();
    assert!(ipv6.is_same_origin(&resolve("http://[::1]:80/w", "http://[::1]/op").unwrap()));
    assert!(!workbook.is_same_origin("not a url"));
    for refused in [
        "javascript:alert(1)x://",
        "mailto:someone",
        "file:///etc/passwd",
        "ftp://h/x",
        "http://",
        "http:///x",
    ] {
        assert_eq!(resolve(base, refused), None, "{refused}");
    }
    assert_eq!(resolve("relative/base", "g"), None);
}

#[test]
fn base_urls_are_checked_and_normalised() {
    let url =
        WorkbookUrl::new(" https://h/v1.0/me/drive/root:/Book.xlsx:/workbook//?tenant=t#frag ")
            .unwrap();
    assert_eq!(
        url.as_str(),
        "https://h/v1.0/me/drive/root:/Book.xlsx:/workbook"
    );
    assert_eq!(
        url.create_session(),
        "https://h/v1.0/me/drive/root:/Book.xlsx:/workbook/createSession?tenant=t"
    );
    assert_eq!(
        url.to_string(),
        "https://h/v1.0/me/drive/root:/Book.xlsx:/workbook"
    );
    assert_eq!(
        format!("{url:?}"),
        "WorkbookUrl(https://h/v1.0/me/drive/root:/Book.xlsx:/workbook?tenant=t)"
    );
    let cases = [
        ("", WorkbookUrlError::NotAbsolute),
        ("/me/drive/items/1/workbook", WorkbookUrlError::NotAbsolute),
        ("1http://h/workbook", WorkbookUrlError::NotAbsolute),
        ("ftp://h/workbook", WorkbookUrlError::UnsupportedScheme),
        ("https:///workbook", WorkbookUrlError::MissingHost),
        ("https://h/work book", WorkbookUrlError::InvalidCharacter),
        ("https://h/work\nbook", WorkbookUrlError::InvalidCharacter),
    ];
    for (text, error) in cases {
        assert_eq!(WorkbookUrl::new(text), Err(error), "{text:?}");
        assert!(!error.to_string().is_empty());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any reference either resolves to an http(s) URL with a host, or to nothing; never a
    /// panic.
    #[test]
    fn any_reference_resolves_to_a_web_url_or_nothing(reference in "\\PC{0,60}") {
        let base = "https://graph.example/v1.0/me/drive/items/1/workbook/createSession";
        if let Some(resolved) = resolve(base, &reference) {
            let parts = UrlParts::split(&resolved).unwrap();
            proptest::prop_assert!(
                parts.scheme.eq_ignore_ascii_case("http") || parts.scheme.eq_ignore_ascii_case("https")
            );
            proptest::prop_assert!(!parts.authority.is_empty());
        }
    }
}
