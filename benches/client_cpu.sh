#!/usr/bin/env bash
# Client CPU per GiB of `resumable upload`: two builds of the command (OLD, NEW), alternating,
# each uploading the same 1 GiB file in 10 MiB fragments to one `resumable emulator serve`
# process (discarding what it stores), timed by /usr/bin/time (user + system CPU, wall).
#   bash benches/client_cpu.sh path/to/old/resumable target/release/resumable 5
set -euo pipefail
OLD=$1; NEW=$2; RUNS=${3:-3}
mkdir -p /tmp/bench
FILE=/tmp/bench/1g.bin
[ -f $FILE ] || head -c 1073741824 /dev/urandom > $FILE
$NEW emulator serve --addr 127.0.0.1:18080 --set storage=discard > /tmp/bench/serve.log 2>&1 &
SERVER=$!
trap "kill $SERVER" EXIT
sleep 1
for run in $(seq 1 $RUNS); do
  for which in old new; do
    BIN=$OLD; [ $which = new ] && BIN=$NEW
    OUT=$( { RESUMABLE_TOKEN=any /usr/bin/time -f "TIME %U %S %e" $BIN upload $FILE --json --chunk-size 10MiB \
      --endpoint "http://127.0.0.1:18080/v1.0/me/drive/root:/$which-$run.bin:/createUploadSession" ; } 2>&1 )
    T=$(echo "$OUT" | grep '^TIME' | awk '{print $2+$3, $4}')
    ST=$(echo "$OUT" | grep -o '"status":"[a-z-]*"' | head -1)
    MS=$(echo "$OUT" | grep -o '"elapsed_ms":[0-9]*' | head -1)
    echo "$which run $run: cpu+wall $T $ST $MS"
  done
done
