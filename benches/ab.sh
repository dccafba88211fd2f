#!/usr/bin/env bash
# Two builds of `resumable upload` (OLD, NEW), alternating, each uploading the same file to one
# `resumable emulator serve --set storage=discard` on 127.0.0.1:18080 (start it first), with
# the command's defaults (checkpoints in a state directory of each build's own). Prints each
# build's wall and CPU (user + system) per run; read the medians.
#   bash benches/ab.sh OLD NEW CHUNK [RUNS] [FILE] [PROTOCOL]
#   bash benches/ab.sh /path/to/old/resumable target/release/resumable 320KiB 7 big.bin
#   bash benches/ab.sh OLD NEW 10MiB 5 big.bin wopi
set -euo pipefail
OLD=$1; NEW=$2; CHUNK=$3; RUNS=${4:-5}; FILE=${5:-big.bin}; PROTOCOL=${6:-graph-drive}
STATE=$(mktemp -d)
trap 'rm -rf "$STATE"' EXIT
for run in $(seq 1 "$RUNS"); do
  for which in old new; do
    BIN=$OLD; [ "$which" = new ] && BIN=$NEW
    if [ "$PROTOCOL" = wopi ]; then
      ENDPOINT="http://127.0.0.1:18080/wopi/files/$which$run?access_token=t"
      EXTRA=(--protocol wopi)
    else
      ENDPOINT="http://127.0.0.1:18080/v1.0/me/drive/root:/$which.bin:/createUploadSession"
      EXTRA=(--upload-cutoff 0 --conflict replace)
    fi
    T=$( { RESUMABLE_TOKEN=t RESUMABLE_STATE_DIR="$STATE/$which" /usr/bin/time -f "%e %U %S" \
      "$BIN" upload "$FILE" --quiet --chunk-size "$CHUNK" "${EXTRA[@]}" --endpoint "$ENDPOINT" ; } 2>&1 | tail -1)
    echo "$which $T"
  done
done | awk '{wall[$1]=wall[$1]" "$2; cpu[$1]=cpu[$1]" "($3+$4)} END {for (k in wall) print k, "wall:"wall[k], " cpu:"cpu[k]}'
