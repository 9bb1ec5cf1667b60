#!/usr/bin/env bash
# tmux.sh: follow a prime-rl run's logs in a tmux session, one titled pane per
# component (Trainer, Orchestrator, Inference, Env workers), each running `tail -F`.
#
# The fallback to `prime-logs watch` for machines where only a shell and tmux are
# at hand; shipped inside the package (`prime-logs tmux OUTPUT_DIR` runs it and adds
# a window with the dashboard) and as scripts/tmux.sh in the repository.
#
#   tmux.sh [-s SESSION] [-o OUTPUT_DIR] [-n LINES] [-d]
#
#   -s SESSION     tmux session name (default: prime-rl)
#   -o OUTPUT_DIR  the run's output folder, the one holding logs/ (default: outputs)
#   -n LINES       lines of each existing file to show first (default: 10)
#   -d             do not attach; create the session (or find it) and say how to attach
#
# Re-running with the same session name attaches to the existing session instead of
# making a second one; without a terminal (or with -d) it only reports it.
#
# Both directory layouts are followed: the library's (logs/trainer/rank_N.log,
# logs/orchestrator.log, logs/inference.stdout, logs/env_workers/NAME.log) and
# prime-rl's newer one, read through the logs/latest symlink (trainer.log,
# trainer/node_N.log, torchrun's attempt_K/RANK/{stdout,stderr}.log, orchestrator.log,
# inference.log, inference/node_N.log, envs/{train,eval}/NAME.log).
#
# Files created later: `tail -F` given a glob only follows the files that existed when
# it started, so each pane instead re-evaluates its globs every few seconds and starts
# a `tail -F` for every file that has appeared since (shown from its first line).
# When logs/latest is swapped to a new attempt the pane says so and follows the new
# attempt's files. A file recreated or truncated at the same path is handled by
# `tail -F` itself. Lines in the Trainer and Env workers panes start with their source
# (r3, n0, gsm8k, gsm8k:eval), as in `prime-logs tail`.
#
# Environment:
#   PRIME_LOGS_TMUX_SOCKET  run on a separate tmux server: a socket name (tmux -L) or,
#                           when it holds a "/", a socket path (tmux -S).
#   PRIME_LOGS_TMUX_RESCAN  seconds between glob re-scans in each pane (default: 2).
#
# Needs bash and tmux >= 3.0. Exit codes: 0 ok, 2 bad usage or tmux missing.

set -u

PROG=tmux.sh
SESSION=prime-rl
OUTPUT_DIR=outputs
LINES_FIRST=10
DETACH=0
PANE=""
RESCAN=${PRIME_LOGS_TMUX_RESCAN:-2}

usage() {
  cat <<EOF
usage: $PROG [-s SESSION] [-o OUTPUT_DIR] [-n LINES] [-d]

Follow a prime-rl run's logs in tmux: panes Trainer, Orchestrator, Inference and
Env workers, each running tail -F on its files (both log layouts, logs/latest aware).

  -s SESSION     tmux session name (default: prime-rl)
  -o OUTPUT_DIR  the run's output folder holding logs/ (default: outputs)
  -n LINES       lines of each existing file to show first (default: 10)
  -d             do not attach; only create or find the session
  -h             show this help

Re-running attaches to the existing session. PRIME_LOGS_TMUX_SOCKET=NAME uses a
separate tmux server (tmux -L NAME, or -S PATH when it holds a '/').
EOF
}

die_usage() {
  echo "$PROG: $1 (see $PROG -h)" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    -s | --session | --session-name)
      [ $# -ge 2 ] && [ -n "$2" ] || die_usage "$1 needs a session name"
      SESSION=$2
      shift 2
      ;;
    -o | --output-dir)
      [ $# -ge 2 ] && [ -n "$2" ] || die_usage "$1 needs a folder"
      OUTPUT_DIR=$2
      shift 2
      ;;
    -n | --lines)
      [ $# -ge 2 ] || die_usage "$1 needs a number"
      case $2 in '' | *[!0-9]*) die_usage "$1 needs a number, not '$2'" ;; esac
      LINES_FIRST=$2
      shift 2
      ;;
    -d | --detach)
      DETACH=1
      shift
      ;;
    --pane)
      # Internal: what each pane runs (see follow_pane).
      [ $# -ge 2 ] || die_usage "--pane needs a component"
      PANE=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      die_usage "unknown argument '$1'"
      ;;
  esac
done

case $RESCAN in '' | *[!0-9.]*) RESCAN=2 ;; esac

# An absolute path, whether or not the folder exists yet (the run may not have started).
case $OUTPUT_DIR in
  /*) ;;
  *) OUTPUT_DIR=$PWD/$OUTPUT_DIR ;;
esac
OUTPUT_DIR=${OUTPUT_DIR%/}
[ -n "$OUTPUT_DIR" ] || OUTPUT_DIR=/

# ---------------------------------------------------------------------------
# Inside a pane: follow one component's files.

# The files of one component under base folder $1 (logs/ or logs/latest), one a line.
candidates() {
  local b=$1 f
  shopt -s nullglob
  case $PANE in
    trainer)
      for f in "$b"/trainer.log "$b"/trainer/*.log "$b"/rank_*.log; do
        [ -f "$f" ] && printf '%s\n' "$f"
      done
      # torchrun's --log-dir tree: .../{rdzv_id}/attempt_K/RANK/{stdout,stderr}.log
      find -H "$b" -maxdepth 6 -type f -path '*/attempt_*/[0-9]*/std*.log' 2>/dev/null | sort
      ;;
    orchestrator)
      for f in "$b"/orchestrator.log "$b"/orchestrator/*.log; do
        [ -f "$f" ] && printf '%s\n' "$f"
      done
      ;;
    inference)
      for f in "$b"/inference.stdout "$b"/inference.stderr "$b"/inference.log "$b"/inference/*.log; do
        [ -f "$f" ] && printf '%s\n' "$f"
      done
      ;;
    env)
      for f in "$b"/env_workers/*.log "$b"/envs/*.log "$b"/envs/*/*.log; do
        [ -f "$f" ] && printf '%s\n' "$f"
      done
      ;;
  esac
}

# The short source label of a file path relative to logs/, as `prime-logs tail` shows it.
tag_of() {
  local rel=${1#latest/} name stem tag
  name=${rel##*/}
  stem=${name%.*}
  case $rel in
    */attempt_*/[0-9]*/stderr.log)
      tag=${rel%/stderr.log}
      tag="r${tag##*/}!"
      ;;
    */attempt_*/[0-9]*/stdout.log)
      tag=${rel%/stdout.log}
      tag="r${tag##*/}"
      ;;
    trainer.log) tag=train ;;
    */rank_* | rank_*) tag="r${stem#rank_}" ;;
    trainer/node_*) tag="n${stem#node_}" ;;
    envs/eval/*) tag="$stem:eval" ;;
    *) tag=$stem ;;
  esac
  # Only characters that are safe inside a sed replacement.
  printf '%s' "${tag//[^A-Za-z0-9_.:!+-]/_}"
}

# A file name made safe to print: control characters (ESC, BEL, ...), the C1
# controls and the bidi overrides as UTF-8 become '?', so a name cannot retitle,
# clear, write the clipboard or reorder what follows it.
shown() {
  local LC_ALL=C s
  s=${1//[[:cntrl:]]/?}
  s=${s//$'\xc2'[$'\x80'-$'\x9f']/?}
  s=${s//$'\xe2\x80'[$'\xa8'-$'\xae']/?}
  printf '%s' "${s//$'\xe2\x81'[$'\xa6'-$'\xa9']/?}"
}

follow_pane() {
  local logs=$OUTPUT_DIR/logs pids="" seen="" target="" current="" started=0 waiting=0
  local base f n rel prefix=0 esc
  case $PANE in
    trainer | env) prefix=1 ;;
    orchestrator | inference) ;;
    *)
      echo "$PROG: unknown pane '$PANE'" >&2
      exit 2
      ;;
  esac
  esc=$(printf '\033')
  trap '[ -n "$pids" ] && kill $pids 2>/dev/null' EXIT
  trap 'exit 0' HUP INT TERM

  while :; do
    if [ -d "$logs/latest" ]; then
      base=$logs/latest
      target=$(readlink "$logs/latest" 2>/dev/null) || target=latest
    else
      base=$logs
      target=""
    fi
    if [ "$target" != "$current" ]; then
      if [ -n "$pids" ]; then
        # logs/latest now points at a new attempt: follow its files from the start.
        kill $pids 2>/dev/null
        wait 2>/dev/null
        pids=""
        seen=""
        printf '\n==> logs/latest -> %s <==\n' "$(shown "$target")"
      fi
      current=$target
    fi
    while IFS= read -r f; do
      [ -n "$f" ] || continue
      case $'\n'"$seen" in *$'\n'"$f"$'\n'*) continue ;; esac
      seen="$seen$f"$'\n'
      if [ "$started" = 1 ]; then n=+1; else n=$LINES_FIRST; fi
      rel=${f#"$logs"/}
      if [ "$prefix" = 1 ]; then
        # One tail per file, each line labelled with its source (dim).
        tail -F -n "$n" "$f" > >(sed "s/^/$esc[2m$(printf '%-6s' "$(tag_of "$rel")")$esc[0m /") &
      else
        printf '==> %s <==\n' "$(shown "$rel")"
        tail -F -n "$n" "$f" &
      fi
      pids="$pids $!"
    done < <(candidates "$base")
    if [ -z "$seen" ] && [ "$waiting" = 0 ]; then
      printf 'waiting for %s files under %s ...\n' "$PANE" "$logs"
      waiting=1
    fi
    started=1
    sleep "$RESCAN"
  done
}

if [ -n "$PANE" ]; then
  follow_pane
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: create the session, or find it.

if ! command -v tmux >/dev/null 2>&1; then
  echo "$PROG: tmux is not installed (install it, e.g. apt-get install tmux, or use prime-logs watch)" >&2
  exit 2
fi

TMUX_CMD=(tmux)
ATTACH_HINT="tmux attach -t"
SOCKET=${PRIME_LOGS_TMUX_SOCKET:-}
if [ -n "$SOCKET" ]; then
  case $SOCKET in
    */*) TMUX_CMD=(tmux -S "$SOCKET") ;;
    *) TMUX_CMD=(tmux -L "$SOCKET") ;;
  esac
  ATTACH_HINT="${TMUX_CMD[*]} attach -t"
fi
t() { "${TMUX_CMD[@]}" "$@"; }

# tmux turns '.' and ':' into '_' in session names; do the same so re-runs find it.
SESSION=${SESSION//[.:]/_}
SELF=${BASH_SOURCE[0]}
case $SELF in /*) ;; *) SELF=$PWD/$SELF ;; esac
BASH_BIN=${BASH:-bash}

attach() {
  if [ "$DETACH" = 1 ] || ! [ -t 0 ] || ! [ -t 1 ]; then
    return 1
  fi
  if [ -n "${TMUX:-}" ] && [ -z "$SOCKET" ]; then
    exec tmux switch-client -t "=$SESSION"
  fi
  TMUX="" exec "${TMUX_CMD[@]}" attach-session -t "=$SESSION"
}

if t has-session -t "=$SESSION" 2>/dev/null; then
  following=$(t show-options -qv -t "=$SESSION:" @prime_logs_output_dir 2>/dev/null)
  if [ -n "$following" ] && [ "$following" != "$OUTPUT_DIR" ]; then
    echo "$PROG: session '$SESSION' follows $following, not $OUTPUT_DIR (use -s NAME for another run)" >&2
  fi
  attach || echo "$PROG: session '$SESSION' already exists; attach with: $ATTACH_HINT $SESSION"
  exit 0
fi

size=()
if [ "$DETACH" = 1 ] || ! [ -t 0 ] || ! [ -t 1 ]; then
  size=(-x 200 -y 50)
fi

start_dir=$OUTPUT_DIR
[ -d "$start_dir" ] || start_dir=$PWD

# Panes run the command directly (several arguments: no shell in between, so paths
# with spaces or a fish default-shell are fine). remain-on-exit keeps a failed pane's
# last words on screen.
export PRIME_LOGS_TMUX_RESCAN=$RESCAN
first=$(t new-session -d -s "$SESSION" -n logs -c "$start_dir" "${size[@]}" -P -F '#{pane_id}' \
  "$BASH_BIN" "$SELF" --pane trainer -o "$OUTPUT_DIR" -n "$LINES_FIRST") || {
  echo "$PROG: could not create tmux session '$SESSION'" >&2
  exit 1
}
t set-option -t "$first" @prime_logs_output_dir "$OUTPUT_DIR"
t set-option -w -t "$first" remain-on-exit on
t set-option -w -t "$first" pane-border-status top
t set-option -w -t "$first" pane-border-format ' #{pane_index}: #{pane_title} '
t select-pane -t "$first" -T Trainer

# Each split goes after the pane it splits, so splitting the newest keeps this order.
pane=$first
for spec in orchestrator:Orchestrator inference:Inference "env:Env workers"; do
  component=${spec%%:*}
  title=${spec#*:}
  pane=$(t split-window -d -t "$pane" -c "$start_dir" -P -F '#{pane_id}' \
    "$BASH_BIN" "$SELF" --pane "$component" -o "$OUTPUT_DIR" -n "$LINES_FIRST") || {
    echo "$PROG: could not split a pane for $title" >&2
    exit 1
  }
  t select-pane -t "$pane" -T "$title"
  t select-layout -t "$first" tiled >/dev/null
done
t select-pane -t "$first"

attach || echo "$PROG: session '$SESSION' follows $OUTPUT_DIR; attach with: $ATTACH_HINT $SESSION"
exit 0
