#!/usr/bin/env bash
# Fuzzes the host's hostile-input surfaces with cargo-fuzz (libFuzzer, nightly Rust):
#   chat_request  the POST /api/v1/chat body → wire types → validation → prompt
#   intent        intent and language detection, the cache's question normal form
#   prompt        prompt building and trimming with hostile questions, turns and names
#   gguf_header   the GGUF header check, on arbitrary bytes
#   sse_frame     the browser's SSE frame splitter, on arbitrary chunked streams
#
#   bash scripts/fuzz.sh [SECONDS]   # per target, default 60
#   TARGETS="intent prompt" bash scripts/fuzz.sh 10
#
# Each target runs for SECONDS from its corpus (fuzz/corpus/<target>/, kept in git); new inputs
# are merged back minimised, so the corpus only keeps what adds coverage. A crash leaves its
# input in fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <file>).
# Writes a summary (target, executions, crashes) to stdout and fuzz/target/summary.tsv; exits
# non-zero if any target crashed. Nightly is used here only: the product builds on stable.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-60}"
TARGETS=(${TARGETS:-chat_request intent prompt gguf_header sse_frame})
[[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "==> installing the nightly toolchain (fuzzing only)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cd "$ROOT/fuzz"
echo "==> building the fuzz targets (nightly, AddressSanitizer, debug assertions)"
cargo +nightly fuzz build

LOGS="$ROOT/fuzz/target/logs"
SUMMARY="$ROOT/fuzz/target/summary.tsv"
mkdir -p "$LOGS"
printf 'target\tseconds\texecutions\texec/s\tcorpus\tcrashes\n' > "$SUMMARY"
failed=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$LOGS/$t.log"
  echo "==> $t: ${SECONDS_PER_TARGET} s"
  rc=0
  # -timeout: an input that takes 10 s counts as a crash (a hang); leaks are reported too.
  cargo +nightly fuzz run "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 \
    > "$log" 2>&1 || rc=$?
  # libFuzzer's last words: `stat::number_of_executed_units: N`, or `#N DONE` (or the
  # `#N` of its last status line when it stopped on a crash).
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)"
  [ -n "$execs" ] || execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
  crash_files="$(grep -oE 'Test unit written to [^ ]+' "$log" | awk '{print $NF}' || true)"
  crashes="$(printf '%s' "$crash_files" | grep -c . || true)"
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # It died without writing an input (an abort outside the target, say).
  fi
  if [ "$crashes" -gt 0 ]; then
    failed=1
    echo "    CRASH (exit $rc): see $log" >&2
    printf '%s\n' "$crash_files" | sed 's/^/    input: /' >&2
  else
    # Keep only what adds coverage: the corpus stays small enough for git.
    cargo +nightly fuzz cmin "$t" "corpus/$t" >> "$log" 2>&1 || true
  fi
  corpus="$(find "corpus/$t" -type f | wc -l | tr -d ' ')"
  rate=$(( ${execs:-0} / SECONDS_PER_TARGET ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$SECONDS_PER_TARGET" "${execs:-?}" "$rate" "$corpus" "$crashes" >> "$SUMMARY"
done

echo
column -t -s $'\t' "$SUMMARY" 2>/dev/null || cat "$SUMMARY"
echo "corpus: $(du -sh corpus | cut -f1) in fuzz/corpus; logs: fuzz/target/logs"
exit "$failed"
