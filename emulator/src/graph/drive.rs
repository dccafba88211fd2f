//! The drive: which items exist, and what committing an upload under a name does to them.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use resumable_core::digest::SourceHashes;
use resumable_core::digest::stored::hex;
use resumable_core::time::UnixTime;
use serde_json::{Value, json};

use super::path::DriveTarget;
use crate::config::DriveHashes;
use crate::ids::IdSource;

/// What to do when the name is taken (`@microsoft.graph.conflictBehavior`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum ConflictBehavior {
    /// The service default: answer `409`.
    #[default]
    Fail,
    Replace,
    Rename,
}

impl FromStr for ConflictBehavior {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text.to_ascii_lowercase().as_str() {
            "fail" => Ok(ConflictBehavior::Fail),
            "replace" => Ok(ConflictBehavior::Replace),
            "rename" => Ok(ConflictBehavior::Rename),
            _ => Err(()),
        }
    }
}

/// A file in the emulated drive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DriveItem {
    pub(crate) id: String,
    pub(crate) target: DriveTarget,
    pub(crate) size: u64,
    /// The hashes of the content.
    pub(crate) hashes: SourceHashes,
    pub(crate) version: u64,
    pub(crate) created: UnixTime,
    pub(crate) modified: UnixTime,
}

impl DriveItem {
    pub(crate) fn etag(&self) -> String {
        format!("\"{{{}}},{}\"", self.id, self.version)
    }

    /// The drive item JSON Graph answers with; `reported` says which hashes it carries.
    pub(crate) fn json(&self, reported: DriveHashes) -> Value {
        json!({
            "id": self.id,
            "name": self.target.name,
            "size": self.size,
            "eTag": self.etag(),
            "cTag": format!("\"c:{{{}}},{}\"", self.id, self.version),
            "createdDateTime": self.created.to_string(),
            "lastModifiedDateTime": self.modified.to_string(),
            "file": {
                "mimeType": "application/octet-stream",
                "hashes": hashes_json(&self.hashes, reported),
            },
            "parentReference": {
                "driveId": self.target.drive,
                "path": self.target.parent,
            },
        })
    }
}

/// The `hashes` resource: `quickXorHash` (base64) always; personal OneDrive adds `sha1Hash`
/// (upper-case hex) and `crc32Hash` (the CRC-32's bytes in little-endian order, upper-case
/// hex, as OneDrive writes it). No `sha256Hash`: Microsoft documents it as not supported.
pub(crate) fn hashes_json(hashes: &SourceHashes, reported: DriveHashes) -> Value {
    let mut json = json!({ "quickXorHash": hashes.quick_xor_base64().as_str() });
    if reported == DriveHashes::Personal {
        json["sha1Hash"] = Value::from(hex(&hashes.sha1.unwrap_or_default()));
        json["crc32Hash"] = Value::from(hex(&hashes.crc32.to_le_bytes()));
    }
    json
}

/// What a commit did.
#[derive(Debug)]
pub(crate) enum CommitOutcome {
    Created(DriveItem),
    Replaced(DriveItem),
    Conflict,
}

#[derive(Default)]
struct Items {
    by_key: HashMap<String, DriveItem>,
    key_of_id: HashMap<String, String>,
}

/// Every item uploaded to the emulator, across all drives.
#[derive(Default)]
pub(crate) struct DriveNamespace {
    items: Mutex<Items>,
}

impl DriveNamespace {
    fn items(&self) -> std::sync::MutexGuard<'_, Items> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn at(&self, target: &DriveTarget) -> Option<DriveItem> {
        self.items().by_key.get(&target.key()).cloned()
    }

    pub(crate) fn by_id(&self, id: &str) -> Option<DriveItem> {
        let items = self.items();
        let key = items.key_of_id.get(id)?;
        items.by_key.get(key).cloned()
    }

    /// Puts content with these `hashes` at `target`, as `behavior` says.
    pub(crate) fn commit(
        &self,
        target: &DriveTarget,
        behavior: ConflictBehavior,
        hashes: &SourceHashes,
        ids: &IdSource,
        now: UnixTime,
    ) -> CommitOutcome {
        let mut items = self.items();
        let mut target = target.clone();
        let existing = items.by_key.get(&target.key()).cloned();
        if let Some(existing) = existing {
            match behavior {
                ConflictBehavior::Fail => return CommitOutcome::Conflict,
                ConflictBehavior::Replace => {
                    let item = DriveItem {
                        size: hashes.size,
                        hashes: *hashes,
                        version: existing.version + 1,
                        modified: now,
                        ..existing
                    };
                    items.by_key.insert(target.key(), item.clone());
                    return CommitOutcome::Replaced(item);
                }
                ConflictBehavior::Rename => {
                    target = free_name(&items, &target);
                }
            }
        }
        let item = DriveItem {
            id: ids.item_id(),
            target,
            size: hashes.size,
            hashes: *hashes,
            version: 1,
            created: now,
            modified: now,
        };
        items.key_of_id.insert(item.id.clone(), item.target.key());
        items.by_key.insert(item.target.key(), item.clone());
        CommitOutcome::Created(item)
    }

    /// Puts someone else's file at `target` in place of whatever was there: a new item with
    /// these `hashes`, created and last modified at `when` (the `old-item` fault).
    pub(crate) fn plant(
        &self,
        target: &DriveTarget,
        hashes: &SourceHashes,
        ids: &IdSource,
        when: UnixTime,
    ) -> DriveItem {
        let mut items = self.items();
        if let Some(previous) = items.by_key.remove(&target.key()) {
            items.key_of_id.remove(&previous.id);
        }
        let item = DriveItem {
            id: ids.item_id(),
            target: target.clone(),
            size: hashes.size,
            hashes: *hashes,
            version: 1,
            created: when,
            modified: when,
        };
        items.key_of_id.insert(item.id.clone(), item.target.key());
        items.by_key.insert(item.target.key(), item.clone());
        item
    }
}

/// `name 1.ext`, `name 2.ext`, ...: the first free name in the folder, as OneDrive renames.
fn free_name(items: &Items, target: &DriveTarget) -> DriveTarget {
    let (stem, ext) = match target.name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (target.name.as_str(), String::new()),
    };
    (1u64..)
        .map(|n| target.renamed(&format!("{stem} {n}{ext}")))
        .find(|candidate| !items.by_key.contains_key(&candidate.key()))
        .unwrap_or_else(|| target.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str) -> DriveTarget {
        DriveTarget {
            drive: "me/drive".into(),
            parent: "root:".into(),
            name: name.into(),
        }
    }

    #[test]
    fn conflict_behaviors() {
        let drive = DriveNamespace::default();
        let ids = IdSource::new();
        let now = UnixTime::from_secs(1);
        let (a, b, c) = (
            SourceHashes::of(b"a"),
            SourceHashes::of(b"bb"),
            SourceHashes::of(b"ccc"),
        );
        let CommitOutcome::Created(first) =
            drive.commit(&target("a.bin"), ConflictBehavior::Fail, &a, &ids, now)
        else {
            panic!("first commit must create");
        };
        assert!(matches!(
            drive.commit(&target("A.BIN"), ConflictBehavior::Fail, &b, &ids, now),
            CommitOutcome::Conflict
        ));
        let CommitOutcome::Replaced(replaced) =
            drive.commit(&target("a.bin"), ConflictBehavior::Replace, &b, &ids, now)
        else {
            panic!("replace must replace");
        };
        assert_eq!(
            (replaced.id.as_str(), replaced.version),
            (first.id.as_str(), 2)
        );
        assert_eq!(drive.by_id(&first.id).unwrap().hashes, b);
        assert_eq!(drive.by_id(&first.id).unwrap().size, 2);
        for want in ["a 1.bin", "a 2.bin"] {
            let CommitOutcome::Created(renamed) =
                drive.commit(&target("a.bin"), ConflictBehavior::Rename, &c, &ids, now)
            else {
                panic!("rename must create");
            };
            assert_eq!(renamed.target.name, want);
        }
        assert_eq!("RePlace".parse(), Ok(ConflictBehavior::Replace));
        assert!("overwrite".parse::<ConflictBehavior>().is_err());
    }

    #[test]
    fn items_report_the_hashes_of_their_kind_of_drive() {
        let hashes = SourceHashes::of(b"abc");
        let business = hashes_json(&hashes, DriveHashes::Business);
        assert_eq!(
            business,
            json!({ "quickXorHash": hashes.quick_xor_base64().as_str() })
        );
        let personal = hashes_json(&hashes, DriveHashes::Personal);
        // crc32("abc") = 0x352441C2, written little-endian.
        assert_eq!(personal["crc32Hash"], "C2412435");
        assert_eq!(
            personal["sha1Hash"],
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert_eq!(personal["quickXorHash"], business["quickXorHash"]);
        assert!(personal.get("sha256Hash").is_none());
    }
}
