//! Graph paths: which resource a `/v1.0/…` path names.
//!
//! Graph addresses items by path (`root:/docs/a.bin:`) and by id (`items/{id}`), under several
//! drive prefixes (`me/drive`, `drives/{id}`, `sites/{id}/drive`, `users/{id}/drive`,
//! `groups/{id}/drive`). Paths are percent-decoded before parsing; OneDrive names cannot contain
//! `:` or `/`, so those delimit the path syntax unambiguously.
//!
//! Every spelling of one item is normalised to one [`DriveTarget`]: `items/root:/docs/a.bin:`
//! (what Kiota sends, percent-encoded as `items/root:%2Fdocs%2Fa.bin:`) is `root:/docs/a.bin:`;
//! a path after `items/{id}:` may name sub-folders of that item; empty segments (`docs//a.bin`)
//! are dropped; and folder and item names compare without regard to case, as OneDrive's do.

/// Where a drive item goes: a drive, a parent folder and a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DriveTarget {
    /// `me/drive`, `drives/{id}`, `sites/{id}/drive`, ...
    pub(crate) drive: String,
    /// `root:` followed by the folder path (`root:` alone for the root, `root:/docs` below
    /// it), or `items/{id}` followed by a folder path below that item (`items/{id}:/sub`).
    pub(crate) parent: String,
    /// The item name.
    pub(crate) name: String,
}

impl DriveTarget {
    /// The path as `/_emulator/files` shows it (`me/drive/root:/docs/a.bin`).
    pub(crate) fn display(&self) -> String {
        match self.parent.strip_prefix("root:") {
            Some("") => format!("{}/root:/{}", self.drive, self.name),
            Some(dir) => format!("{}/root:{}/{}", self.drive, dir, self.name),
            None if self.parent.contains(":/") => {
                format!("{}/{}/{}", self.drive, self.parent, self.name)
            }
            None => format!("{}/{}:/{}", self.drive, self.parent, self.name),
        }
    }

    /// The key items are stored under: folder and item names are case-insensitive in OneDrive
    /// (item ids are not, so the `items/{id}` part keeps its case).
    pub(crate) fn key(&self) -> String {
        let (base, folders) = match self.parent.split_once(':') {
            Some((base, folders)) => (base, folders.to_lowercase()),
            None => (self.parent.as_str(), String::new()),
        };
        format!(
            "{}|{base}:{folders}|{}",
            self.drive,
            self.name.to_lowercase()
        )
    }

    /// The same place under another name.
    pub(crate) fn renamed(&self, name: &str) -> DriveTarget {
        DriveTarget {
            name: name.to_owned(),
            ..self.clone()
        }
    }
}

/// A workbook operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WorkbookOp {
    CreateSession,
    RefreshSession,
    CloseSession,
    SessionInfo { key: String },
    Operation { id: String },
    Worksheets,
}

/// What a `/v1.0/…` path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GraphRoute {
    /// `…/{parent}:/{name}:/createUploadSession`
    CreateDrive(DriveTarget),
    /// `…/items/{id}/createUploadSession`: replace an existing item.
    CreateDriveReplace { drive: String, item: String },
    /// `…/{parent}:/{name}:` (PUT with `@microsoft.graph.sourceUrl`).
    ItemByPath(DriveTarget),
    /// `…/{parent}:/{name}:/content` (PUT with the whole file: a simple upload).
    Content(DriveTarget),
    /// `…/items/{id}/content` (PUT with the whole file: new content for an existing item).
    ContentById { item: String },
    /// `…/items/{id}` (GET: the item).
    ItemById { item: String },
    /// `print/…/documents/{d}/createUploadSession`
    CreatePrint { document: String },
    /// `…/messages/{m}/attachments/createUploadSession`
    CreateMail { message: String },
    /// `…/workbook/…` on an item; `item` identifies the workbook.
    Workbook { item: String, op: WorkbookOp },
}

/// Parses the part of a path after `/v1.0/` (already percent-decoded).
pub(crate) fn parse(path: &str) -> Option<GraphRoute> {
    let path = path.trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("print/") {
        return parse_print(rest);
    }
    if let Some(route) = parse_mail(path) {
        return Some(route);
    }
    let (drive, rest) = split_drive(path)?;
    let (item, suffix) = if let Some(after_root) = rest.strip_prefix("root:/") {
        let (item_path, suffix) = after_root.split_once(':').unwrap_or((after_root, ""));
        (Item::Path(below(drive, "root", item_path)?), suffix)
    } else if let Some(after_items) = rest.strip_prefix("items/") {
        let id_end = after_items.find([':', '/']).unwrap_or(after_items.len());
        let (id, after_id) = after_items.split_at(id_end);
        if id.is_empty() {
            return None;
        }
        let base = if id == "root" {
            "root".to_owned()
        } else {
            format!("items/{id}")
        };
        match after_id.strip_prefix(":/") {
            Some(after) => {
                let (item_path, suffix) = after.split_once(':')?;
                (Item::Path(below(drive, &base, item_path)?), suffix)
            }
            None => (Item::Id(id.to_owned()), after_id),
        }
    } else {
        return None;
    };
    let item_key = match &item {
        Item::Path(target) => target.display(),
        Item::Id(id) => format!("{drive}/items/{id}"),
    };
    match (suffix, item) {
        ("/createUploadSession", Item::Path(target)) => Some(GraphRoute::CreateDrive(target)),
        ("/createUploadSession", Item::Id(item)) => Some(GraphRoute::CreateDriveReplace {
            drive: drive.to_owned(),
            item,
        }),
        ("", Item::Path(target)) => Some(GraphRoute::ItemByPath(target)),
        ("/content", Item::Path(target)) => Some(GraphRoute::Content(target)),
        ("/content", Item::Id(item)) => Some(GraphRoute::ContentById { item }),
        ("", Item::Id(item)) => Some(GraphRoute::ItemById { item }),
        (suffix, _) => {
            let op = parse_workbook(suffix.strip_prefix("/workbook/")?)?;
            Some(GraphRoute::Workbook { item: item_key, op })
        }
    }
}

enum Item {
    Path(DriveTarget),
    Id(String),
}

/// The item at `item_path` (`docs/a.bin`) below `base` (`root` or `items/{id}`), its empty
/// segments dropped; `None` if it names nothing or has a `.` or `..` segment.
fn below(drive: &str, base: &str, item_path: &str) -> Option<DriveTarget> {
    let segments: Vec<&str> = item_path.split('/').filter(|s| !s.is_empty()).collect();
    let (name, folders) = segments.split_last()?;
    if segments.iter().any(|segment| invalid_name(segment)) {
        return None;
    }
    let parent = match (base, folders) {
        ("root", []) => "root:".to_owned(),
        ("root", folders) => format!("root:/{}", folders.join("/")),
        (base, []) => base.to_owned(),
        (base, folders) => format!("{base}:/{}", folders.join("/")),
    };
    Some(target(drive, parent, name))
}

fn target(drive: &str, parent: String, name: &str) -> DriveTarget {
    DriveTarget {
        drive: drive.to_owned(),
        parent,
        name: name.to_owned(),
    }
}

fn invalid_name(name: &str) -> bool {
    name.is_empty() || name == "." || name == ".."
}

fn split_drive(path: &str) -> Option<(&str, &str)> {
    if let Some(rest) = path.strip_prefix("me/drive/") {
        return Some((&path[..8], rest));
    }
    let mut parts = path.splitn(3, '/');
    let collection = parts.next()?;
    let id = parts.next()?;
    let rest = parts.next()?;
    if id.is_empty() {
        return None;
    }
    match collection {
        "drives" => Some((&path[..collection.len() + 1 + id.len()], rest)),
        "sites" | "users" | "groups" => {
            let rest = rest.strip_prefix("drive/")?;
            Some((&path[..collection.len() + 1 + id.len() + 6], rest))
        }
        _ => None,
    }
}

fn parse_print(rest: &str) -> Option<GraphRoute> {
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [
            "printers" | "shares",
            p,
            "jobs",
            j,
            "documents",
            d,
            "createUploadSession",
        ] if !p.is_empty() && !j.is_empty() && !d.is_empty() => Some(GraphRoute::CreatePrint {
            document: format!("print/{}/{p}/jobs/{j}/documents/{d}", parts[0]),
        }),
        _ => None,
    }
}

fn parse_mail(path: &str) -> Option<GraphRoute> {
    let parts: Vec<&str> = path.split('/').collect();
    let (owner, m) = match parts.as_slice() {
        ["me", "messages", m, "attachments", "createUploadSession"] => ("me".to_owned(), *m),
        [
            "users",
            u,
            "messages",
            m,
            "attachments",
            "createUploadSession",
        ] => (format!("users/{u}"), *m),
        _ => return None,
    };
    (!m.is_empty()).then(|| GraphRoute::CreateMail {
        message: format!("{owner}/messages/{m}"),
    })
}

fn parse_workbook(op: &str) -> Option<WorkbookOp> {
    match op {
        "createSession" => Some(WorkbookOp::CreateSession),
        "refreshSession" => Some(WorkbookOp::RefreshSession),
        "closeSession" => Some(WorkbookOp::CloseSession),
        "worksheets" => Some(WorkbookOp::Worksheets),
        _ => {
            if let Some(id) = op.strip_prefix("operations/") {
                return (!id.is_empty() && !id.contains('/'))
                    .then(|| WorkbookOp::Operation { id: id.to_owned() });
            }
            let key = op
                .strip_prefix("sessionInfoResource(key='")?
                .strip_suffix("')")?;
            (!key.is_empty()).then(|| WorkbookOp::SessionInfo {
                key: key.to_owned(),
            })
        }
    }
}

/// Percent-decodes a URL path; `None` for malformed escapes or non-UTF-8 results.
pub(crate) fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(drive: &str, parent: &str, name: &str) -> DriveTarget {
        target(drive, parent.to_owned(), name)
    }

    #[test]
    fn create_upload_session_paths() {
        let cases = [
            (
                "me/drive/root:/big.bin:/createUploadSession",
                drive("me/drive", "root:", "big.bin"),
            ),
            (
                "me/drive/root:/docs/2026/big.bin:/createUploadSession",
                drive("me/drive", "root:/docs/2026", "big.bin"),
            ),
            (
                "drives/b!x/items/01PARENT:/a b.bin:/createUploadSession",
                drive("drives/b!x", "items/01PARENT", "a b.bin"),
            ),
            (
                "drives/d/items/root:/a.bin:/createUploadSession",
                drive("drives/d", "root:", "a.bin"),
            ),
            (
                "sites/s1/drive/items/p:/a.bin:/createUploadSession",
                drive("sites/s1/drive", "items/p", "a.bin"),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path), Some(GraphRoute::CreateDrive(want)), "{path}");
        }
        assert_eq!(
            parse("me/drive/items/01ITEM/createUploadSession"),
            Some(GraphRoute::CreateDriveReplace {
                drive: "me/drive".into(),
                item: "01ITEM".into()
            })
        );
    }

    #[test]
    fn simple_upload_paths() {
        let cases = [
            (
                "me/drive/root:/a b.txt:/content",
                drive("me/drive", "root:", "a b.txt"),
            ),
            (
                "me/drive/root:/Backups/a/b.txt:/content",
                drive("me/drive", "root:/Backups/a", "b.txt"),
            ),
            (
                "drives/d/items/01P:/x.bin:/content",
                drive("drives/d", "items/01P", "x.bin"),
            ),
            (
                "drives/d/items/01P:/sub/x.bin:/content",
                drive("drives/d", "items/01P:/sub", "x.bin"),
            ),
        ];
        for (path, target) in cases {
            assert_eq!(parse(path), Some(GraphRoute::Content(target)), "{path}");
        }
        assert_eq!(parse("me/drive/root:/:/content"), None);
        assert_eq!(
            parse("drives/d/items/01X/content"),
            Some(GraphRoute::ContentById { item: "01X".into() })
        );
        assert_eq!(
            parse("drives/d/items/01X"),
            Some(GraphRoute::ItemById { item: "01X".into() })
        );
    }

    #[test]
    fn other_graph_paths() {
        assert_eq!(
            parse("drives/d/items/p:/a.bin:"),
            Some(GraphRoute::ItemByPath(drive(
                "drives/d", "items/p", "a.bin"
            )))
        );
        assert_eq!(
            parse("print/printers/p1/jobs/j1/documents/d1/createUploadSession"),
            Some(GraphRoute::CreatePrint {
                document: "print/printers/p1/jobs/j1/documents/d1".into()
            })
        );
        assert_eq!(
            parse("me/messages/AAMk=/attachments/createUploadSession"),
            Some(GraphRoute::CreateMail {
                message: "me/messages/AAMk=".into()
            })
        );
        assert_eq!(
            parse("me/drive/items/01X/workbook/createSession"),
            Some(GraphRoute::Workbook {
                item: "me/drive/items/01X".into(),
                op: WorkbookOp::CreateSession
            })
        );
        assert_eq!(
            parse("me/drive/root:/book.xlsx:/workbook/operations/op1"),
            Some(GraphRoute::Workbook {
                item: "me/drive/root:/book.xlsx".into(),
                op: WorkbookOp::Operation { id: "op1".into() }
            })
        );
        assert_eq!(
            parse("me/drive/items/01X/workbook/sessionInfoResource(key='k1')"),
            Some(GraphRoute::Workbook {
                item: "me/drive/items/01X".into(),
                op: WorkbookOp::SessionInfo { key: "k1".into() }
            })
        );
    }

    #[test]
    fn malformed_paths_name_nothing() {
        for path in [
            "",
            "me/drive/root:/:/createUploadSession",
            "me/drive/root:/../x:/createUploadSession",
            "me/drive/items//createUploadSession",
            "me/drive/items/p:/a.bin:/upload",
            "drives//items/p:/a:/createUploadSession",
            "print/printers/p/jobs/j/documents//createUploadSession",
            "me/messages//attachments/createUploadSession",
            "me/drive/items/x/workbook/operations/",
            "me/drive/items/x/workbook/sessionInfoResource(key='')",
            "me/drive/items/x/workbook/charts",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }

    #[test]
    fn every_spelling_of_an_item_path_is_one_target() {
        let want = drive("me/drive", "root:/docs", "a.bin");
        for path in [
            "me/drive/root:/docs/a.bin:/createUploadSession",
            "me/drive/items/root:/docs/a.bin:/createUploadSession",
            "me/drive/root:/docs//a.bin/:/createUploadSession",
            "me/drive/root://docs/a.bin:/createUploadSession",
        ] {
            assert_eq!(
                parse(path),
                Some(GraphRoute::CreateDrive(want.clone())),
                "{path}"
            );
        }
        let decoded = percent_decode("me/drive/items/root:%2Fdocs%2Fa.bin:/createUploadSession");
        assert_eq!(
            decoded.as_deref().and_then(parse),
            Some(GraphRoute::CreateDrive(want.clone()))
        );
        let shouting = drive("me/drive", "root:/DOCS", "A.BIN");
        assert_eq!(shouting.key(), want.key());
        let under_id = parse("drives/d/items/01P:/sub/b.bin:/createUploadSession");
        let Some(GraphRoute::CreateDrive(under_id)) = under_id else {
            panic!("a sub-path below an item id is a drive item");
        };
        assert_eq!(under_id.parent, "items/01P:/sub");
        assert_eq!(under_id.display(), "drives/d/items/01P:/sub/b.bin");
        assert_ne!(
            under_id.key(),
            drive("drives/d", "items/01p:/sub", "b.bin").key(),
            "item ids keep their case"
        );
        for path in [
            "me/drive/items/root:/docs/..:/createUploadSession",
            "me/drive/items/p:/./a:/createUploadSession",
            "me/drive/items/p://:/createUploadSession",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }

    #[test]
    fn display_and_keys() {
        let t = drive("me/drive", "root:/Docs", "A.bin");
        assert_eq!(t.display(), "me/drive/root:/Docs/A.bin");
        assert_eq!(t.key(), t.renamed("a.BIN").key());
        assert_eq!(
            drive("drives/d", "items/p", "a").display(),
            "drives/d/items/p:/a"
        );
        assert_eq!(
            drive("me/drive", "root:", "a").display(),
            "me/drive/root:/a"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
