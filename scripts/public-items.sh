#!/usr/bin/env bash
# Counts the public API of the library crates: every public path to a module-level item (module,
# struct, enum, trait, function, type alias, constant, static, macro), and how many distinct
# items those paths name. Methods, fields and variants are not counted; `#[doc(hidden)]` items
# are not either (rustdoc leaves them out). Two paths to one item (a `pub mod` whose items are
# also re-exported at the root) count as two paths and one item, so "paths = items" means every
# item has one path.
#
#   scripts/public-items.sh [--list] [CRATE...]   # default: resumable-core resumable-reqwest resumable-ureq
#
# Needs a nightly toolchain (rustdoc's JSON output is unstable): `rustup toolchain install nightly`.
# Builds with `--all-features`, so everything any feature offers is counted. Set CARGO_TARGET_DIR
# as usual; the JSON lands in "$CARGO_TARGET_DIR/doc/<crate>.json".
set -euo pipefail
cd "$(dirname "$0")/.."

list=0
if [[ ${1:-} == --list ]]; then list=1; shift; fi
crates=("$@")
[[ ${#crates[@]} -gt 0 ]] || crates=(resumable-core resumable-reqwest resumable-ureq)
target=${CARGO_TARGET_DIR:-$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}

for crate in "${crates[@]}"; do
    cargo +nightly rustdoc --quiet -p "$crate" --lib --all-features -- \
        -Z unstable-options --output-format json 2>/dev/null
    python3 - "$target/doc/${crate//-/_}.json" "$crate" "$list" <<'PY'
import json, sys

path, crate, listing = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
doc = json.load(open(path))
index = doc["index"]
COUNTED = {"module", "struct", "enum", "union", "trait", "trait_alias", "function", "type_alias",
           "constant", "static", "macro", "proc_macro", "extern_crate", "primitive"}

def kind(item):
    inner = item["inner"]
    return next(iter(inner)) if isinstance(inner, dict) else inner

def public(item):
    return item.get("visibility") == "public"

paths = []  # (path, id, kind)

def walk(module_id, prefix, seen):
    if module_id in seen:
        return
    seen = seen | {module_id}
    module = index.get(str(module_id))
    if module is None:
        return
    for child_id in module["inner"]["module"]["items"]:
        child = index.get(str(child_id))
        if child is None or not public(child):
            continue
        k = kind(child)
        if k in ("use", "import"):
            use = child["inner"][k]
            target = use.get("id")
            target_item = index.get(str(target)) if target is not None else None
            if use.get("is_glob") or use.get("glob"):
                if target_item is not None and kind(target_item) == "module":
                    walk(target, prefix, seen)
                continue
            name = use["name"]
            tk = kind(target_item) if target_item is not None else "foreign"
            paths.append((prefix + [name], target if target is not None else use["source"], tk))
            if tk == "module":
                walk(target, prefix + [name], seen)
        elif k in COUNTED:
            paths.append((prefix + [child["name"]], child_id, k))
            if k == "module":
                walk(child_id, prefix + [child["name"]], seen)

root = doc["root"]
walk(root, [crate.replace("-", "_")], frozenset())
items = {str(i) for _, i, _ in paths}
if listing:
    by_item = {}
    for p, i, k in paths:
        by_item.setdefault(str(i), []).append("::".join(p))
    for p, i, k in sorted(paths):
        dup = " (also " + ", ".join(x for x in by_item[str(i)] if x != "::".join(p)) + ")" if len(by_item[str(i)]) > 1 else ""
        print(f"{k:12} {'::'.join(p)}{dup}")
print(f"{crate}: {len(paths)} public paths to {len(items)} items")
PY
done
