#!/bin/bash
# Uploads the same file to the same tus server with resumable, tuspy and tus-js-client,
# alternating, and prints each run's wall time, the median times, and the median (min, max) of
# the per-round ratios of each peer's time to resumable's (for BENCHMARKS.md).
#
#   scripts/tus-peers.sh [SIZE_MIB] [ROUNDS] [ENDPOINT]
#
# Defaults: 256 MiB, 5 rounds, tusd from ../shared/partners on 127.0.0.1:1080 (started with
# the partners' script if nothing listens there). Every client sends 8 MiB requests, no
# checksums (tusd offers none), one upload at a time. Peers are installed into
# $TUS_PARTNERS_DIR (default $TMPDIR/tus-partners): tuspy 1.1.0 (PyPI), tus-js-client 4.3.1
# (npm, on Node).
set -euo pipefail
SIZE_MIB=${1:-256}
ROUNDS=${2:-5}
ENDPOINT=${3:-http://127.0.0.1:1080/files/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${TUS_PARTNERS_DIR:-${TMPDIR:-/tmp}/tus-partners}
if ! curl -sf -o /dev/null -X OPTIONS "$ENDPOINT"; then
  bash "${RESUMABLE_TUS_PARTNERS:-$ROOT/../shared/partners}/start-tus-partners.sh"
fi
mkdir -p "$W"
[ -x "$W/peervenv/bin/python" ] || { python3 -m venv "$W/peervenv" && "$W/peervenv/bin/pip" install -q tuspy==1.1.0; }
[ -d "$W/node_modules/tus-js-client" ] || ( cd "$W" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --silent tus-js-client@4.3.1 )
cargo build --release -q -p resumable-cli --manifest-path "$ROOT/Cargo.toml"
BIN="$ROOT/target/release/resumable"
FILE=$(mktemp -d)/peer.bin
head -c $((SIZE_MIB << 20)) /dev/urandom > "$FILE"
cat > "$W/peer-tuspy.py" <<'PY'
import sys
from tusclient import client
c = client.TusClient(sys.argv[2])
c.uploader(sys.argv[1], chunk_size=8 << 20, metadata={"filename": "peer.bin"}).upload()
PY
cat > "$W/peer-tusjs.mjs" <<'JS'
import * as fs from 'node:fs'
import * as tus from 'tus-js-client'
const file = fs.createReadStream(process.argv[2])
const size = fs.statSync(process.argv[2]).size
await new Promise((resolve, reject) => {
  new tus.Upload(file, {endpoint: process.argv[3], chunkSize: 8 << 20, uploadSize: size,
    metadata: {filename: 'peer.bin'}, retryDelays: [0, 1000], onError: reject, onSuccess: resolve}).start()
})
JS
now() { date +%s.%N; }
declare -A times
for round in $(seq "$ROUNDS"); do
  for client in resumable tuspy tus-js-client; do
    start=$(now)
    case $client in
      resumable) "$BIN" upload "$FILE" --protocol tus --endpoint "$ENDPOINT" --chunk-size 8MiB --checksum off --json >/dev/null ;;
      tuspy) "$W/peervenv/bin/python" "$W/peer-tuspy.py" "$FILE" "$ENDPOINT" ;;
      tus-js-client) ( cd "$W" && node peer-tusjs.mjs "$FILE" "$ENDPOINT" ) ;;
    esac
    t=$(echo "$(now) - $start" | bc)
    # The stored copies are not needed (and would fill the disk): the default tusd's go.
    [ "$ENDPOINT" = http://127.0.0.1:1080/files/ ] && rm -f "$W"/data/tusd/*
    times[$client]+="$t "
    printf 'round %d %-14s %6.2f s  %7.1f MiB/s\n' "$round" "$client" "$t" "$(echo "$SIZE_MIB / $t" | bc -l)"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
read -ra base <<< "${times[resumable]}"
for client in resumable tuspy tus-js-client; do
  m=$(echo "${times[$client]}" | median)
  read -ra own <<< "${times[$client]}"
  ratios=""
  for i in "${!own[@]}"; do ratios+="$(echo "${own[$i]} / ${base[$i]}" | bc -l) "; done
  r=$(echo "$ratios" | median)
  lo=$(echo "$ratios" | tr ' ' '\n' | grep -v '^$' | sort -g | head -1)
  hi=$(echo "$ratios" | tr ' ' '\n' | grep -v '^$' | sort -g | tail -1)
  printf 'median %-14s %6.2f s  %7.1f MiB/s  paired time ratio to resumable %.2fx (min %.2f, max %.2f)\n' \
    "$client" "$m" "$(echo "$SIZE_MIB / $m" | bc -l)" "$r" "$lo" "$hi"
done
rm -f "$FILE"
