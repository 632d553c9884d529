#!/usr/bin/env bash
# switchboard.sh: a tiny Switchboard client in bash, using protoc (text format <->
# protobuf) and socat (the Unix socket). No python, no jq.
#
#   switchboard.sh complete [--socket S] [--route R] [--json] "prompt"
#   switchboard.sh stream   [--socket S] [--route R] [--json] "prompt"
#   switchboard.sh health   [--socket S] [--json]
#   switchboard.sh explain  [--socket S] [--json] REQUEST_ID
#   switchboard.sh decode-frame FILE        # print a framed message as text format
#   switchboard.sh encode-frame < TEXT      # text-format Frame on stdin -> framed bytes on stdout
#
# Run `switchboard.sh --help` for every option. Needs bash >= 4, protoc
# (protobuf-compiler), socat and coreutils (head, od).
set -uo pipefail

SB_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SB_PROTO=${SWITCHBOARD_PROTO:-$SB_SCRIPT_DIR/../../proto/switchboard/v1/switchboard.proto}
SB_SOCKET_DEFAULT=${SWITCHBOARD_SOCKET:-/run/switchboard/switchboard.sock}
SB_MAX_FRAME=$((64 * 1024 * 1024))

EXIT_STATUS=1   # the daemon answered with an error Status (or health: not serving)
EXIT_USAGE=2    # bad command line
EXIT_CLIENT=3   # cannot connect, connection lost, protocol error, missing tool

usage() {
  cat <<'EOF'
Usage: switchboard.sh [OPTIONS] COMMAND [OPTIONS] [ARG]   (options go before or after the command)

Commands:
  complete PROMPT      run a completion, print the answer
  stream PROMPT        run a streaming completion, print deltas as they arrive
  health               print the daemon's health; exit 0 when serving
  explain REQUEST_ID   print the explanation of one routing decision
  decode-frame FILE    print a framed Frame (flags + length + protobuf) as text format
  encode-frame         read a text-format Frame on stdin, write the framed bytes

Options:
  --socket PATH        daemon socket (env SWITCHBOARD_SOCKET, default /run/switchboard/switchboard.sock)
  --route NAME         route (policy) from the daemon's config
  --provider NAME      explicit provider (with --model) instead of a route
  --model NAME         explicit model
  --system TEXT        system message before the prompt
  --max-tokens N       maximum output tokens
  --temperature T      sampling temperature
  --tenant NAME        budget scope
  --tag KEY=VALUE      label recorded with the decision (repeatable)
  --request-id ID      client-chosen request id
  --timeout SECONDS    overall deadline (sent to the daemon; the client gives up 2s later)
  --json               complete/health/explain: print the response as one JSON object;
                       stream: print one JSON object per event (delta/restart/response).
                       Proto3 JSON conventions, as `switchboard --json`: proto field
                       names, enum names, 64-bit integers as strings
  -h, --help           this help

Errors: the daemon's Status is printed to stderr as
  switchboard: CODE (reason_code): message [request_id=...]
and the exit code is 1 (2 = usage, 3 = connection or protocol failure, 130 = Ctrl-C:
the call is cancelled first).
When a stream restarts on another provider, a notice goes to stderr: the text printed
before it is void (`complete` or `stream --json` give exactly the final answer).
Environment: SWITCHBOARD_PROTO overrides the path of switchboard.proto.
EOF
}

die() { # die EXIT_CODE MESSAGE
  local code=$1; shift
  printf 'switchboard: %s\n' "$*" >&2
  exit "$code"
}

need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die $EXIT_CLIENT "'$t' not found (install: protoc -> protobuf-compiler, socat -> socat)"
  done
  [ -f "$SB_PROTO" ] || die $EXIT_CLIENT "proto file not found: $SB_PROTO (set SWITCHBOARD_PROTO)"
}

pb_encode() { protoc -I "$(dirname "$SB_PROTO")" --encode=switchboard.v1.Frame "$(basename "$SB_PROTO")"; }
pb_decode() { protoc -I "$(dirname "$SB_PROTO")" --decode=switchboard.v1.Frame "$(basename "$SB_PROTO")"; }

# ------------------------------------------------------------------ text format helpers

# tp_quote STRING: STRING as a text-format string literal.
tp_quote() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# tp_unquote LITERAL: prints the bytes of a text-format string literal ("..." with C escapes).
tp_unquote() {
  local v=$1
  v=${v#\"}
  v=${v%\"}
  # bash's printf understands exactly the escapes protoc writes: \n \r \t \" \' \\ \NNN \xHH
  printf -- "${v//%/%%}"
}

# tp_get TEXT NAME: the raw value of the first top-level "NAME: value" line of TEXT
# (a message body printed by protoc, fields at two-space indent). Empty if absent.
tp_get() {
  local line
  while IFS= read -r line; do
    if [[ $line == "  $2: "* ]]; then
      printf '%s' "${line#"  $2: "}"
      return 0
    fi
  done <<<"$1"
  return 1
}

# tp_body TEXT KIND: the lines inside the first "KIND {" ... "}" block of TEXT, dedented
# so that the block's own fields sit at two-space indent (what tp_get expects).
tp_body() {
  local line inside=0 indent=""
  while IFS= read -r line; do
    if [ $inside = 0 ]; then
      if [[ $line =~ ^(\ *)"$2 {"$ ]]; then
        indent=${BASH_REMATCH[1]}
        inside=1
      fi
    else
      [ "$line" = "$indent}" ] && return 0
      printf '%s\n' "${line#"$indent"}"
    fi
  done <<<"$1"
}

# frame_kind TEXT: the Frame body's name (completion_response, status, ...).
frame_kind() {
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^([a-z_]+)\ \{$ ]]; then
      printf '%s' "${BASH_REMATCH[1]}"
      return 0
    fi
  done <<<"$1"
  return 1
}

# ------------------------------------------------------------------ text format -> JSON

# Repeated fields of switchboard.proto (they become JSON arrays): message-typed ones
# (matched on "name {" lines) and scalar ones (matched on "name: value" lines).
# CompletionResponse.attempts is a number while DecisionEvent.attempts is a list of
# messages, hence the split. A map field (DecisionEvent.tags) is a list of its
# {"key":…,"value":…} entries (text format prints a map as repeated entries).
SB_REPEATED_MSG=" messages tool_calls tools tool_call_deltas circuits budgets candidates attempts events key_overrides parts caps router_attempts tags "
SB_REPEATED_SCALAR=" stop warnings errors required_capabilities budget_scopes charged_scopes excluded events_json refused "
# 64-bit integer fields: printed as JSON strings, as proto3 JSON (and the CLI) does.
# Every (u)int64 field of the proto (clients/shell/test.sh checks the list against it).
SB_INT64_FIELDS=" baseline_cost_micro_usd call_id cooldown_ms cooldown_remaining_ms cost_delta_micro_usd cost_micro_usd extra_cost_micro_usd hard_limit_micro_usd hard_micro_usd headroom_micro_usd max_cost_micro_usd overage_micro_usd reserved_micro_usd router_cost_micro_usd seed since_ms soft_limit_micro_usd soft_micro_usd spent_micro_usd started_offset_ms timestamp_ms total_spend_micro_usd until_ms uptime_ms worst_case_micro_usd "

json_str() { # json_str STRING: a JSON string literal
  local s=$1 i c
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
    for i in $(seq 1 31); do
      printf -v c "\\$(printf '%03o' "$i")"
      s=${s//"$c"/$(printf '\\u%04x' "$i")}
    done
  fi
  printf '"%s"' "$s"
}

json_scalar() { # json_scalar RAW_TEXT_FORMAT_VALUE [FIELD_NAME]
  local v=$1 s
  case $v in
    \"*) printf -v s -- "$(tp_raw_printf_arg "$v")"; json_str "$s" ;;
    true | false) printf '%s' "$v" ;;
    inf) printf '"Infinity"' ;;
    -inf) printf '"-Infinity"' ;;
    nan | -nan) printf '"NaN"' ;;
    -[0-9]* | [0-9]*)
      if [[ $SB_INT64_FIELDS == *" ${2:-} "* ]]; then printf '"%s"' "$v"; else printf '%s' "$v"; fi ;;
    *) printf '"%s"' "$v" ;; # enum value name
  esac
}

tp_raw_printf_arg() { # the printf format that reproduces a text-format string literal's bytes
  local v=$1
  v=${v#\"}
  v=${v%\"}
  printf '%s' "${v//%/%%}"
}

# tp_to_json: reads message-body text format on stdin (any indentation), prints JSON.
tp_to_json() {
  local line name value depth=0
  local -a first arr
  first[0]=1
  arr[0]=""
  printf '{'
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"} # trim leading spaces
    [ -z "$line" ] && continue
    if [ "$line" = "}" ]; then
      [ -n "${arr[depth]}" ] && printf ']'
      depth=$((depth - 1))
      printf '}'
      continue
    fi
    if [[ $line =~ ^([A-Za-z0-9_]+)\ \{$ ]]; then
      name=${BASH_REMATCH[1]}
      value=""
    elif [[ $line =~ ^([A-Za-z0-9_]+):\ (.*)$ ]]; then
      name=${BASH_REMATCH[1]}
      value=${BASH_REMATCH[2]}
    else
      continue
    fi
    # separator / array bookkeeping at this depth
    if [ -n "${arr[depth]}" ] && [ "${arr[depth]}" = "$name" ]; then
      printf ','
    else
      [ -n "${arr[depth]}" ] && printf ']'
      arr[depth]=""
      [ "${first[depth]}" = 1 ] || printf ','
      first[depth]=0
      printf '"%s":' "$name"
      if { [ -z "$value" ] && [[ $SB_REPEATED_MSG == *" $name "* ]]; } ||
        { [ -n "$value" ] && [[ $SB_REPEATED_SCALAR == *" $name "* ]]; }; then
        printf '['
        arr[depth]=$name
      fi
    fi
    if [ -z "$value" ]; then
      printf '{'
      depth=$((depth + 1))
      first[depth]=1
      arr[depth]=""
    else
      json_scalar "$value" "$name"
    fi
  done
  [ -n "${arr[depth]}" ] && printf ']'
  printf '}'
}

# ------------------------------------------------------------------ socket I/O

SB_TMP=""
SOCAT_PID=""
WATCHDOG_PID=""
CALL_ID=1
INTERRUPTED=0
TIMED_OUT_FLAG=""

cleanup() {
  exec 3>&- 4<&-
  [ -n "$WATCHDOG_PID" ] && kill "$WATCHDOG_PID" 2>/dev/null
  [ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null
  [ -n "$SOCAT_PID" ] && wait "$SOCAT_PID" 2>/dev/null
  [ -n "$SB_TMP" ] && rm -rf "$SB_TMP"
  SOCAT_PID=""
  WATCHDOG_PID=""
}

# be32 N: 4-byte big-endian N
be32() {
  local n=$1
  printf "\\$(printf '%03o' $(((n >> 24) & 255)))\\$(printf '%03o' $(((n >> 16) & 255)))\\$(printf '%03o' $(((n >> 8) & 255)))\\$(printf '%03o' $((n & 255)))"
}

# frame_file TEXT OUT: encodes the text-format Frame TEXT into the framed file OUT.
frame_file() {
  local payload=$2.payload n
  printf '%s\n' "$1" | pb_encode >"$payload" || die $EXIT_CLIENT "protoc could not encode the request"
  n=$(wc -c <"$payload" | tr -d ' ')
  { printf '\000'; be32 "$n"; cat "$payload"; } >"$2"
  rm -f "$payload"
}

connect() { # connect SOCKET: socat in the background, fd 3 = to the daemon, fd 4 = from it
  local sock=$1
  [ -S "$sock" ] || die $EXIT_CLIENT "cannot connect to $sock: no such socket (is switchboardd running? pass --socket PATH or set SWITCHBOARD_SOCKET)"
  SB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-sh.XXXXXX") || die $EXIT_CLIENT "mktemp failed"
  trap cleanup EXIT
  mkfifo "$SB_TMP/in" "$SB_TMP/out" || die $EXIT_CLIENT "mkfifo failed"
  # socat runs in its own session (setsid: same pid, no fork here) so that Ctrl-C reaches
  # only this script, which then sends Cancel for the call instead of dropping the connection.
  local detach=()
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  "${detach[@]}" socat -t 1 - UNIX-CONNECT:"$sock" <"$SB_TMP/in" >"$SB_TMP/out" 2>"$SB_TMP/socat.err" &
  SOCAT_PID=$!
  exec 3>"$SB_TMP/in" 4<"$SB_TMP/out"
}

send_frame() { # send_frame TEXT
  frame_file "$1" "$SB_TMP/req.frame"
  if ! cat "$SB_TMP/req.frame" >&3 2>/dev/null; then
    sleep 0.1
    die $EXIT_CLIENT "connection lost while sending: $(cat "$SB_TMP/socat.err" 2>/dev/null)"
  fi
}

send_cancel() {
  frame_file "call_id: $CALL_ID
cancel { reason: \"interrupted (switchboard.sh)\" }" "$SB_TMP/cancel.frame"
  cat "$SB_TMP/cancel.frame" >&3 2>/dev/null
}

# read_frame: reads the next frame from fd 4; sets FRAME (decoded text) and KIND.
# Returns 1 when the connection ended.
read_frame() {
  local hdr n got
  # shellcheck disable=SC2046
  set -- $(head -c 5 <&4 | od -An -v -tu1)
  if [ $# -ne 5 ]; then
    return 1
  fi
  [ "$1" = 0 ] || die $EXIT_CLIENT "protocol error: frame flags $1"
  n=$((($2 << 24) | ($3 << 16) | ($4 << 8) | $5))
  [ $n -le $SB_MAX_FRAME ] || die $EXIT_CLIENT "protocol error: frame of $n bytes"
  head -c "$n" <&4 >"$SB_TMP/frame.bin"
  got=$(wc -c <"$SB_TMP/frame.bin" | tr -d ' ')
  [ "$got" = "$n" ] || return 1
  FRAME=$(pb_decode <"$SB_TMP/frame.bin") || die $EXIT_CLIENT "protocol error: undecodable frame"
  KIND=$(frame_kind "$FRAME") || KIND=""
  return 0
}

# status_die BODY: prints the Status and exits 1
status_die() {
  local body=$1 code reason msg rid retry text
  code=$(tp_get "$body" code) || code=OK
  reason=$(tp_get "$body" reason_code) && reason=$(tp_unquote "$reason")
  msg=$(tp_get "$body" message) && msg=$(tp_unquote "$msg")
  rid=$(tp_get "$body" request_id) && rid=$(tp_unquote "$rid")
  retry=$(tp_get "$body" retry_after_ms) || retry=""
  text="$code"
  [ -n "$reason" ] && text+=" ($reason)"
  [ -n "$msg" ] && text+=": $msg"
  [ -n "$retry" ] && text+=" (retry after ${retry}ms)"
  [ -n "$rid" ] && text+=" [request_id=$rid]"
  if [ "$JSON" = 1 ]; then
    printf '{"status":%s}\n' "$(printf '%s\n' "$body" | tp_to_json)"
  fi
  printf 'switchboard: %s\n' "$text" >&2
  [ $INTERRUPTED = 1 ] && exit 130
  exit $EXIT_STATUS
}

on_int() {
  INTERRUPTED=1
}

# next_frame_or_die: like read_frame, but handles interrupts, timeouts and EOF.
next_frame_or_die() {
  local tries=0
  while ! read_frame; do
    if [ $INTERRUPTED = 1 ] && [ $tries = 0 ]; then
      # Ctrl-C killed the reader: cancel the call and wait (briefly) for its end.
      tries=1
      send_cancel
      continue
    fi
    [ $INTERRUPTED = 1 ] && exit 130
    if [ -n "$TIMED_OUT_FLAG" ] && [ -f "$TIMED_OUT_FLAG" ]; then
      printf 'switchboard: DEADLINE_EXCEEDED (client_timeout): no answer within the timeout\n' >&2
      exit $EXIT_STATUS
    fi
    local why
    why=$(cat "$SB_TMP/socat.err" 2>/dev/null)
    die $EXIT_CLIENT "connection closed by the daemon${why:+: $why}"
  done
}

# ------------------------------------------------------------------ commands

SOCKET=$SB_SOCKET_DEFAULT
ROUTE=""
PROVIDER=""
MODEL=""
SYSTEM=""
MAX_TOKENS=""
TEMPERATURE=""
TENANT=""
REQUEST_ID=""
TIMEOUT=""
JSON=0
TAGS=()
ARGS=()

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --socket) SOCKET=${2?--socket needs a value}; shift 2 ;;
      --socket=*) SOCKET=${1#*=}; shift ;;
      --route) ROUTE=${2?--route needs a value}; shift 2 ;;
      --route=*) ROUTE=${1#*=}; shift ;;
      --provider) PROVIDER=${2?--provider needs a value}; shift 2 ;;
      --model) MODEL=${2?--model needs a value}; shift 2 ;;
      --system) SYSTEM=${2?--system needs a value}; shift 2 ;;
      --max-tokens) MAX_TOKENS=${2?--max-tokens needs a value}; shift 2 ;;
      --temperature) TEMPERATURE=${2?--temperature needs a value}; shift 2 ;;
      --tenant) TENANT=${2?--tenant needs a value}; shift 2 ;;
      --tag) TAGS+=("${2?--tag needs KEY=VALUE}"); shift 2 ;;
      --request-id) REQUEST_ID=${2?--request-id needs a value}; shift 2 ;;
      --timeout) TIMEOUT=${2?--timeout needs a value}; shift 2 ;;
      --json) JSON=1; shift ;;
      -h | --help) usage; exit 0 ;;
      --) shift; ARGS+=("$@"); break ;;
      -*) usage >&2; die $EXIT_USAGE "unknown option $1" ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
  [[ -z $MAX_TOKENS || $MAX_TOKENS =~ ^[0-9]+$ ]] || die $EXIT_USAGE "--max-tokens must be a number"
  [[ -z $TEMPERATURE || $TEMPERATURE =~ ^[0-9]*\.?[0-9]+$ ]] || die $EXIT_USAGE "--temperature must be a number"
  [[ -z $TIMEOUT || $TIMEOUT =~ ^[0-9]*\.?[0-9]+$ ]] || die $EXIT_USAGE "--timeout must be a number of seconds"
}

start_watchdog() {
  [ -n "$TIMEOUT" ] || return 0
  TIMED_OUT_FLAG=$SB_TMP/timed-out
  local limit
  limit=$(awk -v t="$TIMEOUT" 'BEGIN { printf "%.3f", t + 2 }')
  # Gives up 2s after the daemon-side deadline: kills our socat (by pid) and marks the timeout.
  (
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$limit" &
    sp=$!
    wait "$sp" && : >"$TIMED_OUT_FLAG" && kill "$SOCAT_PID" 2>/dev/null
  ) &
  WATCHDOG_PID=$!
}

completion_text() { # completion_text STREAM(true|false)
  local t="call_id: $CALL_ID
completion_request {"
  [ -n "$ROUTE" ] && t+="
  route: $(tp_quote "$ROUTE")"
  [ -n "$PROVIDER" ] && t+="
  provider: $(tp_quote "$PROVIDER")"
  [ -n "$MODEL" ] && t+="
  model: $(tp_quote "$MODEL")"
  [ -n "$SYSTEM" ] && t+="
  messages { role: ROLE_SYSTEM content: $(tp_quote "$SYSTEM") }"
  t+="
  messages { role: ROLE_USER content: $(tp_quote "$PROMPT") }"
  [ -n "$MAX_TOKENS" ] && t+="
  max_tokens: $MAX_TOKENS"
  [ -n "$TEMPERATURE" ] && t+="
  temperature: ${TEMPERATURE/#./0.}"
  t+="
  stream: $1"
  [ -n "$TENANT" ] && t+="
  tenant: $(tp_quote "$TENANT")"
  local tag
  for tag in "${TAGS[@]}"; do
    [[ $tag == *=* ]] || die $EXIT_USAGE "--tag needs KEY=VALUE, got '$tag'"
    t+="
  tags { key: $(tp_quote "${tag%%=*}") value: $(tp_quote "${tag#*=}") }"
  done
  if [ -n "$TIMEOUT" ]; then
    t+="
  deadline_ms: $(awk -v t="$TIMEOUT" 'BEGIN { printf "%d", t * 1000 }')"
  fi
  [ -n "$REQUEST_ID" ] && t+="
  request_id: $(tp_quote "$REQUEST_ID")"
  t+="
}"
  printf '%s' "$t"
}

print_response() { # print_response BODY
  if [ "$JSON" = 1 ]; then
    printf '%s\n' "$1" | tp_to_json
    printf '\n'
  else
    local content
    content=$(tp_get "$1" content) && tp_unquote "$content"
    printf '\n'
  fi
}

cmd_complete() {
  [ ${#ARGS[@]} -eq 1 ] || die $EXIT_USAGE "complete needs exactly one PROMPT argument"
  PROMPT=${ARGS[0]}
  need_tools protoc socat head od
  connect "$SOCKET"
  trap on_int INT
  start_watchdog
  send_frame "$(completion_text false)"
  while true; do
    next_frame_or_die
    case $KIND in
      completion_response) print_response "$(tp_body "$FRAME" completion_response)"; exit 0 ;;
      status) status_die "$(tp_body "$FRAME" status)" ;;
      *) : ;; # chunks of a unary call (none expected)
    esac
  done
}

cmd_stream() {
  [ ${#ARGS[@]} -eq 1 ] || die $EXIT_USAGE "stream needs exactly one PROMPT argument"
  PROMPT=${ARGS[0]}
  need_tools protoc socat head od
  connect "$SOCKET"
  trap on_int INT
  start_watchdog
  send_frame "$(completion_text true)"
  local body delta printed=0 reason next
  while true; do
    next_frame_or_die
    case $KIND in
      completion_chunk)
        body=$(tp_body "$FRAME" completion_chunk)
        if [ "$JSON" = 1 ]; then
          printf '{"delta":%s}\n' "$(printf '%s\n' "$body" | tp_to_json)"
        elif delta=$(tp_get "$body" delta); then
          tp_unquote "$delta"
          printed=1
        fi
        ;;
      stream_restart)
        body=$(tp_body "$FRAME" stream_restart)
        if [ "$JSON" = 1 ]; then
          printf '{"restart":%s}\n' "$(printf '%s\n' "$body" | tp_to_json)"
        else
          reason=$(tp_get "$body" reason_code) && reason=$(tp_unquote "$reason")
          next=$(tp_get "$body" next_provider) && next=$(tp_unquote "$next")
          [ $printed = 1 ] && printf '\n'
          printf 'switchboard: stream restarted on %s (%s): discard the text above\n' "${next:-another provider}" "${reason:-unknown}" >&2
          printed=0
        fi
        ;;
      completion_response)
        if [ "$JSON" = 1 ]; then
          printf '{"response":%s}\n' "$(tp_body "$FRAME" completion_response | tp_to_json)"
        else
          printf '\n'
        fi
        exit 0
        ;;
      status)
        [ $printed = 1 ] && [ "$JSON" != 1 ] && printf '\n'
        status_die "$(tp_body "$FRAME" status)"
        ;;
    esac
  done
}

admin_call() { # admin_call KIND_TEXT -> sets BODY to the admin_response's inner message text
  need_tools protoc socat head od
  connect "$SOCKET"
  trap on_int INT
  start_watchdog
  send_frame "call_id: $CALL_ID
admin_request { $1 }"
  while true; do
    next_frame_or_die
    case $KIND in
      admin_response) BODY=$(tp_body "$FRAME" admin_response); return 0 ;;
      status) status_die "$(tp_body "$FRAME" status)" ;;
    esac
  done
}

cmd_health() {
  [ ${#ARGS[@]} -eq 0 ] || die $EXIT_USAGE "health takes no arguments"
  admin_call "health { }"
  local inner serving
  inner=$(tp_body "$BODY" health)
  serving=$(tp_get "$inner" serving) || serving=false
  if [ "$JSON" = 1 ]; then
    printf '%s\n' "$inner" | tp_to_json
    printf '\n'
  else
    local version uptime inflight digest
    version=$(tp_get "$inner" version) && version=$(tp_unquote "$version")
    uptime=$(tp_get "$inner" uptime_ms) || uptime=0
    inflight=$(tp_get "$inner" in_flight) || inflight=0
    if [ "$serving" = true ]; then printf 'serving'; else printf 'NOT serving'; fi
    printf ' version=%s uptime_ms=%s in_flight=%s\n' "${version:-?}" "$uptime" "$inflight"
    # circuits and budgets, one line each
    local line section="" kv=""
    while IFS= read -r line; do
      case $line in
        "  circuits {") section=circuit; kv="" ;;
        "  budgets {") section=budget; kv="" ;;
        "  }") [ -n "$section" ] && printf '  %s%s\n' "$section" "$kv"; section="" ;;
        "    "*:*) [ -n "$section" ] && kv+=" ${line#    }" ;;
      esac
    done <<<"$inner"
  fi
  [ "$serving" = true ] || exit $EXIT_STATUS
  exit 0
}

cmd_explain() {
  [ ${#ARGS[@]} -eq 1 ] || die $EXIT_USAGE "explain needs exactly one REQUEST_ID argument"
  admin_call "explain { request_id: $(tp_quote "${ARGS[0]}") }"
  local inner text
  inner=$(tp_body "$BODY" explain)
  if [ "$JSON" = 1 ]; then
    printf '%s\n' "$inner" | tp_to_json
    printf '\n'
  else
    text=$(tp_get "$inner" text) && tp_unquote "$text"
    printf '\n'
  fi
}

cmd_decode_frame() {
  [ ${#ARGS[@]} -eq 1 ] || die $EXIT_USAGE "decode-frame needs exactly one FILE argument"
  need_tools protoc od head
  local f=${ARGS[0]} n size
  [ -f "$f" ] || die $EXIT_USAGE "no such file: $f"
  # shellcheck disable=SC2046
  set -- $(head -c 5 "$f" | od -An -v -tu1)
  [ $# -eq 5 ] || die $EXIT_CLIENT "$f: shorter than a frame header"
  [ "$1" = 0 ] || die $EXIT_CLIENT "$f: frame flags $1 (must be 0)"
  n=$((($2 << 24) | ($3 << 16) | ($4 << 8) | $5))
  size=$(wc -c <"$f" | tr -d ' ')
  [ $((size - 5)) = $n ] || die $EXIT_CLIENT "$f: header says $n payload bytes, file has $((size - 5))"
  tail -c +6 "$f" | pb_decode || die $EXIT_CLIENT "$f: payload is not a switchboard.v1.Frame"
}

cmd_encode_frame() {
  need_tools protoc
  local tmp n
  tmp=$(mktemp) || die $EXIT_CLIENT "mktemp failed"
  pb_encode >"$tmp" || { rm -f "$tmp"; die $EXIT_CLIENT "protoc could not encode stdin"; }
  n=$(wc -c <"$tmp" | tr -d ' ')
  printf '\000'
  be32 "$n"
  cat "$tmp"
  rm -f "$tmp"
}

main() {
  [ $# -ge 1 ] || { usage >&2; exit $EXIT_USAGE; }
  [ "$1" = help ] && { usage; exit 0; }
  # Options may come before or after the command: the first positional is the command.
  parse_args "$@"
  [ ${#ARGS[@]} -ge 1 ] || { usage >&2; die $EXIT_USAGE "no command given"; }
  local cmd=${ARGS[0]}
  ARGS=("${ARGS[@]:1}")
  case $cmd in
    help) usage; exit 0 ;;
    complete) cmd_complete ;;
    stream) cmd_stream ;;
    health) cmd_health ;;
    explain) cmd_explain ;;
    decode-frame) cmd_decode_frame ;;
    encode-frame) cmd_encode_frame ;;
    *) usage >&2; die $EXIT_USAGE "unknown command '$cmd'" ;;
  esac
}

# Sourcing the script (for tests) defines the functions without running a command.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
