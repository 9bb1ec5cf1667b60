#!/usr/bin/env bash
# Issue 12's figures in one sitting: every tuibench scenario for two trees of
# prime-logs and lnav, interleaved (new, old, lnav, new, old, lnav ...), so the
# machine's noise falls on all of them alike. One JSON object a run, on stdout,
# each tagged with its viewer: {"who": "new", "scenario": "latency", ...}.
#
#   bash scripts/sitting12.sh NEW_TREE OLD_TREE [ROUNDS] > sitting.jsonl
#
# A tree is a checkout or a `git archive` of one (run with PYTHONPATH=TREE from
# /tmp, so the editable install does not shadow it). TUIBENCH points at tuibench.py
# (default ../shared/bench/tuibench.py); PY is the Python with the dashboard's
# dependencies (default python3). Needs tmux and lnav. Memory and sustained ingest
# have their own scripts (bench.py memory, ingest.py): they take minutes a run.
set -euo pipefail
NEW=$(realpath "$1")
OLD=$(realpath "$2")
ROUNDS=${3:-2}
PY=${PY:-python3}
B=$(realpath "${TUIBENCH:-$(dirname "$0")/../../shared/bench/tuibench.py}")
cd /tmp

ours() { echo "env PYTHONPATH=$1 $PY -m prime_rl_logs watch {dir}"; }

run() {  # run WHO SCENARIO ARGS... -- CMD
  local who=$1
  shift
  local out
  if out=$($PY "$B" "$@" 2>/dev/null | tail -n 1) && [ -n "$out" ]; then
    echo "{\"who\": \"$who\", ${out#\{}"
  else
    echo "{\"who\": \"$who\", \"scenario\": \"$1\", \"failed\": true}"
  fi
}

for _ in $(seq "$ROUNDS"); do
  for who in new old; do
    tree=$NEW; [ $who = old ] && tree=$OLD
    run $who keys --files 64 --rate 500 -- "$(ours "$tree")"
    run $who keys --files 256 --rate 500 -- "$(ours "$tree")"
  done
  for who in new old lnav; do
    cmd="lnav {files}"; [ $who = new ] && cmd=$(ours "$NEW"); [ $who = old ] && cmd=$(ours "$OLD")
    run $who latency --files 64 --rate 10000 --timeout 5 -- "$cmd"
  done
  for who in new lnav; do
    cmd="lnav {files}"; [ $who = new ] && cmd=$(ours "$NEW")
    run $who idle --files 256 -- "$cmd"
    run $who open --size-mb 1 -- "$cmd"
    run $who open --size-mb 1 -- "$cmd"
  done
done
run new open --size-mb 1024 --timeout 120 -- "$(ours "$NEW")"
