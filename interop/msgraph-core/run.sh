#!/usr/bin/env bash
# Uploads files with Microsoft's Python Graph SDK (msgraph-core's LargeFileUploadTask) to the
# resumable emulator and prints the interop table (see README.md). Not part of CI: it needs PyPI.
#
# Usage: interop/msgraph-core/run.sh   (from anywhere in the workspace; PYTHON=python3.11 by default)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3.11}"
token="interop-token"

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
    if [[ -n "$emulator_pid" ]]; then kill "$emulator_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Pinned: the table in README.md was recorded with exactly these.
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
    msgraph-core==1.5.2 \
    microsoft-kiota-abstractions==1.16.0 \
    microsoft-kiota-http==1.16.0 \
    microsoft-kiota-serialization-json==1.16.0 \
    httpx==0.28.1

cargo build --quiet --manifest-path "$root/Cargo.toml" -p resumable-cli
"$root/target/debug/resumable" emulator serve --addr 127.0.0.1:0 --token "$token" \
    >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
for _ in $(seq 100); do
    [[ -s "$work/emulator.out" ]] && break
    sleep 0.1
done
base="$(head -n 1 "$work/emulator.out")"
[[ "$base" == http://* ]] || { echo "the emulator did not start:" >&2; cat "$work/emulator.err" >&2; exit 1; }

"$work/venv/bin/python" "$here/upload.py" "$base" "$token"
