//! The drive: which items exist, and what committing an upload under a name does to them.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use resumable_core::time::UnixTime;
use serde_json::{Value, json};

use super::path::DriveTarget;
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
    pub(crate) sha256: String,
    pub(crate) version: u64,
    pub(crate) created: UnixTime,
    pub(crate) modified: UnixTime,
}

impl DriveItem {
    pub(crate) fn etag(&self) -> String {
        format!("\"{{{}}},{}\"", self.id, self.version)
    }

    /// The drive item JSON Graph answers with.
    pub(crate) fn json(&self) -> Value {
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
                "hashes": { "sha256Hash": self.sha256.to_uppercase() },
            },
            "parentReference": {
                "driveId": self.target.drive,
                "path": self.target.parent,
            },
        })
    }
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

    /// Puts content of `size` bytes hashing to `sha256` at `target`, as `behavior` says.
    pub(crate) fn commit(
        &self,
        target: &DriveTarget,
        behavior: ConflictBehavior,
        size: u64,
        sha256: &str,
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
                        size,
                        sha256: sha256.to_owned(),
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
            size,
            sha256: sha256.to_owned(),
            version: 1,
            created: now,
            modified: now,
        };
        items.key_of_id.insert(item.id.clone(), item.target.key());
        items.by_key.insert(item.target.key(), item.clone());
        CommitOutcome::Created(item)
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
        let CommitOutcome::Created(first) =
            drive.commit(&target("a.bin"), ConflictBehavior::Fail, 1, "aa", &ids, now)
        else {
            panic!("first commit must create");
        };
        assert!(matches!(
            drive.commit(&target("A.BIN"), ConflictBehavior::Fail, 2, "bb", &ids, now),
            CommitOutcome::Conflict
        ));
        let CommitOutcome::Replaced(replaced) = drive.commit(
            &target("a.bin"),
            ConflictBehavior::Replace,
            2,
            "bb",
            &ids,
            now,
        ) else {
            panic!("replace must replace");
        };
        assert_eq!(
            (replaced.id.as_str(), replaced.version),
            (first.id.as_str(), 2)
        );
        assert_eq!(drive.by_id(&first.id).unwrap().sha256, "bb");
        for want in ["a 1.bin", "a 2.bin"] {
            let CommitOutcome::Created(renamed) = drive.commit(
                &target("a.bin"),
                ConflictBehavior::Rename,
                3,
                "cc",
                &ids,
                now,
            ) else {
                panic!("rename must create");
            };
            assert_eq!(renamed.target.name, want);
        }
        assert_eq!("RePlace".parse(), Ok(ConflictBehavior::Replace));
        assert!("overwrite".parse::<ConflictBehavior>().is_err());
    }
}
