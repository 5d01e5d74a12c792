
# ---- The script's functions (the same in every runbook script; the steps follow them).

STEP=0 STEP_NODE=- STEP_TITLE='before the first step'
BACKGROUND=()
MONITOR_PID='' MONITOR_FILE='' LEDGER_DIR='' LEDGER_PID=''

for addr in "$NODE1" "$NODE2"; do
  [[ $addr =~ ^[A-Za-z0-9.:_-]+$ ]] || { echo "not a host address: $addr" >&2; exit 2; }
done
[[ $PGOSUSER =~ ^[a-z_][a-z0-9_-]*$ ]] || { echo "not a user name: $PGOSUSER" >&2; exit 2; }

# addr_of NODE: the address of node1 or node2.
addr_of() {
  case $1 in
    node1) echo "$NODE1" ;;
    node2) echo "$NODE2" ;;
    *) echo "$1" ;;
  esac
}

# fill TEXT: TEXT with @NODE1@ and @NODE2@ as the servers' addresses.
fill() {
  local text=${1//@NODE1@/$NODE1}
  printf '%s\n' "${text//@NODE2@/$NODE2}"
}

# step N NODE TITLE: the step that runs now, as FAIL and PAUSE lines name it.
step() {
  STEP=$1 STEP_NODE=$2 STEP_TITLE=$3
  echo "== step $STEP [$(where)] $STEP_TITLE"
}

where() {
  if [ "$STEP_NODE" = - ]; then echo -; else echo "$STEP_NODE $(addr_of "$STEP_NODE")"; fi
}

# fail EXPECTED [SEEN]: stops the script, saying where and what; in an optional step (run in a
# subshell with OPTIONAL=1) it ends only that step, saying so.
fail() {
  if [ -n "${OPTIONAL:-}" ]; then
    echo "optional step $STEP ($(where)): $STEP_TITLE: expected $1${2+, seen: $2}: not held, the runbook goes on"
  else
    echo "FAIL step $STEP ($(where)): $STEP_TITLE: expected $1${2+, seen: $2}" >&2
  fi
  exit 1
}

on_error() {
  echo "FAIL step $STEP ($(where)): $STEP_TITLE: expected exit status 0, seen: $1" >&2
}
trap 'on_error $?' ERR

# log_sync [adopt] (on a server, as postgres): appends what the server's log files gained since
# the last look to $STATE/log, file by file by offset; a file that shrank is read from its start;
# with `adopt` the files are taken as read (a data directory copied from the other server).
log_sync() {
  local f size seen from
  mkdir -p "$STATE"
  touch "$STATE/log" "$STATE/offsets"
  # shellcheck disable=SC2012 # the server names its log files
  for f in /disk1/pg_ctl.log $(ls -tr "$LOGDIR" 2>/dev/null | sed "s|^|$LOGDIR/|"); do
    [ -f "$f" ] || continue
    size=$(stat -c %s "$f")
    seen=$(awk -v f="$f" '$1 == f { s = $2 } END { print s + 0 }' "$STATE/offsets")
    from=$seen
    if [ "$size" -lt "$seen" ]; then from=0; fi
    if [ "${1:-}" != adopt ] && [ "$size" -gt "$from" ]; then
      tail -c +$((from + 1)) "$f" | head -c $((size - from)) >> "$STATE/log"
    fi
    echo "$f $size" >> "$STATE/offsets"
  done
}

# on NODE USER [VAR...]: runs the block on stdin on NODE as USER (root, or postgres through
# su), with PATH and PGDATA set and the shell variables VAR defined; @NODE1@ and @NODE2@ in the
# block are the servers' addresses.
on() {
  local node=$1 user=$2 host block shell=bash limit=()
  shift 2
  # ON_TIMEOUT=SECONDS bounds the whole call: a server that loses power mid-call leaves ssh
  # waiting on a connection nothing will ever close.
  if [ -n "${ON_TIMEOUT:-}" ]; then limit=(timeout "$ON_TIMEOUT"); fi
  host=$(addr_of "$node")
  block=$(fill "$(cat)")
  if [ "$user" != root ]; then shell="su - $PGOSUSER -c 'bash -s'"; fi
  {
    # shellcheck disable=SC2016 # expanded on the server
    printf 'set -e\nexport PATH=%q:"$PATH" PGDATA=%q LOGDIR=%q STATE=%q\n' \
      "$PGBIN" "$PGDATA" "$LOGDIR" "$STATE"
    declare -f log_sync
    if [ $# -gt 0 ]; then declare -p "$@"; fi
    printf '%s\n' "$block"
  } | ${limit[@]+"${limit[@]}"} "${SSH[@]}" "root@$host" "$shell"
}

# psql_on NODE DB [VAR...]: the first column of the first row of the SQL on stdin, run by psql
# on NODE; each VAR is a psql variable (:'VAR' in the SQL).
psql_on() {
  local node=$1 db=$2 sql out v
  shift 2
  sql=$(cat)
  out=$({
    printf 'psql -X -A -t -q -v ON_ERROR_STOP=1 -P null=NULL -d %q' "$db"
    for v in "$@"; do printf ' -v %q' "$v=${!v}"; done
    printf " <<'LAB_SQL'\n%s\nLAB_SQL\n" "$sql"
  } | on "$node" postgres) || return  # also where a caller tests it (errexit is off there)
  out=${out%%$'\n'*}
  printf '%s\n' "${out%%|*}"
}

# check_eq SEEN WANT WHAT: SEEN is WANT.
check_eq() {
  local want
  want=$(fill "$2")
  if [ "$1" != "$want" ]; then fail "$3: $want" "$1"; fi
}

# check_match OUTPUT REGEX: a line of OUTPUT matches REGEX.
check_match() {
  local re
  re=$(fill "$2")
  if ! grep -Eq -- "$re" <<< "$1"; then fail "output matching /$re/" "$1"; fi
}

# write_file NODE PATH [VAR...] / append_file: the text on stdin into PATH on NODE, as postgres;
# @VAR@ in it is the variable's value, quoted for a configuration file.
write_file() { file_to '>' "$@"; }
append_file() { file_to '>>' "$@"; }
file_to() {
  local op=$1 node=$2 path=$3 content v
  shift 3
  content=$(cat)
  for v in "$@"; do content=${content//@$v@/${!v//\'/\'\'}}; done
  printf 'cat %s %q <<%s\n%s\n%s\n' "$op" "$path" "'LAB_FILE'" "$content" LAB_FILE |
    on "$node" postgres
}

# background NODE USER: starts the block on stdin on NODE, in the background; the script stops
# it when it ends.
background() {
  local block
  block=$(cat)
  (
    # Its end is not a check (a load cut off by the fault ends that way): no FAIL line.
    trap - ERR
    # shellcheck disable=SC2016 # expanded on the server
    printf 'mkdir -p "$STATE"; echo $$ > "$STATE/bg%s.pid"\n%s\n' "$STEP" "$block" |
      on "$1" "$2" || echo "the background command of step $STEP on $1 ended with status $?"
  ) &
  BACKGROUND+=("$1:$2:$STEP:$!")
  echo "started in the background: step $STEP on $1 (local pid $!)"
}

stop_background() {
  local entry node user step pid
  for entry in "${BACKGROUND[@]}"; do
    IFS=: read -r node user step pid <<< "$entry"
    if kill -0 "$pid" 2>/dev/null; then
      echo "stopping the background command of step $step on $node"
      # shellcheck disable=SC2016 # expanded on the server
      printf 'p=$(cat "$STATE/bg%s.pid" 2>/dev/null) || exit 0\npkill -P "$p" || true\n' "$step" |
        on "$node" "$user" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

# log_offset NODE: how far NODE's server log reaches now (a mark; 0 if NODE cannot be asked).
log_offset() {
  local offset
  offset=$(on "$1" postgres <<'EOF'
log_sync
stat -c %s "$STATE/log"
EOF
) || offset=0
  echo "${offset:-0}"
}

# sync_logs NODE [adopt]: log_sync on NODE.
sync_logs() {
  printf 'log_sync %s\n' "${2:-}" | on "$1" postgres
}

# log_grep NODE FROM REGEX...: the REGEXes no line of NODE's server log after offset FROM matches.
log_grep() {
  local node=$1 from=$2
  shift 2
  {
    printf 'from=%q\nset --' "${from:-0}"
    printf ' %q' "$@"
    printf '\n'
    cat <<'EOF'
log_sync
for re in "$@"; do
  tail -c +$((from + 1)) "$STATE/log" | grep -Eq -- "$re" || echo "$re"
done
EOF
  } | on "$node" postgres
}

# expect_log NODE FROM REGEX...: every REGEX matches a line of NODE's server log after FROM.
expect_log() {
  local node=$1 from=$2 missing
  shift 2
  missing=$(log_grep "$node" "$from" "$@")
  if [ -n "$missing" ]; then
    fail "server log lines since offset $from matching: $*" "none matching: $missing"
  fi
}

# wait_log NODE FROM SECONDS REGEX: waits at most SECONDS for a log line matching REGEX.
wait_log() {
  local node=$1 from=$2 end=$((SECONDS + $3)) missing
  while :; do
    missing=$(log_grep "$node" "$from" "$4") || missing=$4
    if [ -z "$missing" ]; then return 0; fi
    if [ "$SECONDS" -ge "$end" ]; then fail "a log line matching /$4/ within $3 s" "none"; fi
    sleep 1
  done
}

# isready NODE: pg_isready's answer for NODE, asked on NODE itself (2 when NODE cannot be asked
# within 5 seconds).
isready() {
  local code
  code=$(printf 'pg_isready -h %q -q -U postgres -d postgres && echo 0 || echo $?\n' \
    "$(addr_of "$1")" | ON_TIMEOUT=5 on "$1" postgres 2>/dev/null) || code=2
  echo "${code:-2}"
}

# wait_isready NODE CODE SECONDS: waits at most SECONDS for pg_isready CODE.
wait_isready() {
  local seen end=$((SECONDS + $3))
  while :; do
    seen=$(isready "$1")
    if [ "$seen" = "$2" ]; then return 0; fi
    if [ "$SECONDS" -ge "$end" ]; then fail "pg_isready $2 within $3 s" "pg_isready $seen"; fi
    sleep 1
  done
}

# wait_sql NODE DB WANT SECONDS [VAR...]: waits at most SECONDS for the SQL on stdin to return WANT.
wait_sql() {
  local node=$1 db=$2 want seconds=$4 sql seen end
  want=$(fill "$3")
  shift 4
  sql=$(cat)
  end=$((SECONDS + seconds))
  while :; do
    seen=$(psql_on "$node" "$db" "$@" <<< "$sql" 2>&1) || true
    if [ "$seen" = "$want" ]; then return 0; fi
    if [ "$SECONDS" -ge "$end" ]; then fail "$want within $seconds s from: $sql" "$seen"; fi
    sleep 1
  done
}

# start_monitor SECONDS: asks both servers' pg_isready every SECONDS, in the background.
start_monitor() {
  MONITOR_FILE=$(mktemp)
  (
    set +eE  # a server that cannot be asked is a reading (2), never the monitor's end
    trap - ERR
    while :; do
      for n in node1 node2; do echo "$n $(isready "$n") $(date +%s)"; done
      sleep "$1"
    done
  ) >> "$MONITOR_FILE" 2>/dev/null &
  MONITOR_PID=$!
}

monitor_lines() {
  if [ -n "$MONITOR_FILE" ]; then wc -l < "$MONITOR_FILE"; else echo 0; fi
}

# expect_monitor NODE FROM CODE...: since line FROM, the monitor saw NODE's pg_isready go
# through CODEs in this order (repeats collapsed), its look at this moment included: it waits
# (at most 30 s) for two more rounds, so that a probe of NODE begun after the call is read.
expect_monitor() {
  local node=$1 from=${2:-0} seen have end=$((SECONDS + 30))
  shift 2
  if [ -z "$MONITOR_FILE" ]; then fail "a monitor (this drill has none)" "none"; fi
  have=$(monitor_lines)
  while [ "$(monitor_lines)" -lt $((have + 4)) ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
  seen=$(tail -n +$((from + 1)) "$MONITOR_FILE" |
    awk -v n="$node" -v last=none '$1 == n && $2 != last { printf "%s ", $2; last = $2 }')
  if ! awk -v want="$*" -v seen="$seen" 'BEGIN { nw = split(want, w, " "); ns = split(seen, s, " ");
      i = 1; for (j = 1; j <= ns && i <= nw; j++) if (s[j] == w[i]) i++; exit !(i > nw) }'; then
    fail "pg_isready of $node going through $* in this order" "${seen:-nothing}"
  fi
}

# pause TEXT: the operator does TEXT by hand (a physical fault), then presses Enter.
pause() {
  echo "PAUSE step $STEP: $(fill "$1"), then press Enter"
  read -r _ || fail "Enter after the pause" "the end of the input"
}

note() { echo "note: $1"; }

# ledger_start NODE: numbered inserts into NODE's lab_ledger (testdb), one at a time from this
# host every half second (each one an ssh call), in the background; each id whose INSERT
# returned is recorded as acknowledged.
ledger_start() {
  LEDGER_DIR=$(mktemp -d)
  echo "$1" > "$LEDGER_DIR/target"
  psql_on "$1" testdb > /dev/null <<'EOF'
CREATE TABLE IF NOT EXISTS lab_ledger (id bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now());
TRUNCATE lab_ledger
EOF
  ledger_writer "$LEDGER_DIR" &
  LEDGER_PID=$!
  echo "the ledger writes to $1"
}

ledger_writer() {
  local i=0 node
  while [ ! -e "$1/stop" ]; do
    i=$((i + 1))
    node=$(cat "$1/target")
    if echo "INSERT INTO lab_ledger(id) VALUES ($i)" | psql_on "$node" testdb > /dev/null 2>&1; then
      echo "$i" >> "$1/acked"
    fi
    sleep 0.5
  done
}

# ledger_retarget NODE: the ledger writes to NODE from now on.
ledger_retarget() {
  echo "$1" > "$LEDGER_DIR/target"
  echo "the ledger writes to $1"
}

# ledger_check NODE ALLOWED: stops the writer; at most ALLOWED (a number, or `any`) acknowledged
# ids may be missing from NODE's lab_ledger.
ledger_check() {
  local present acked lost
  touch "$LEDGER_DIR/stop"
  wait "$LEDGER_PID" || true
  touch "$LEDGER_DIR/acked"
  present=$(psql_on "$1" testdb <<'EOF'
SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM lab_ledger
EOF
)
  acked=$(sort -u "$LEDGER_DIR/acked" | wc -l)
  lost=$(comm -23 <(sort -u "$LEDGER_DIR/acked") <(tr ',' '\n' <<< "$present" | sort -u) | wc -l)
  echo "ledger: $((acked)) acknowledged ids, $((lost)) of them missing on $1"
  if [ "$2" != any ] && [ "$lost" -gt "$2" ]; then
    fail "at most $2 acknowledged id(s) missing" "$((lost)) missing"
  fi
}

# begin: each server's log is read from here on (offset 0 is the script's start).
begin() {
  local node
  for node in node1 node2; do
    on "$node" postgres <<'EOF'
rm -rf "$STATE"
log_sync adopt
EOF
  done
  trap cleanup EXIT
}

cleanup() {
  if [ -n "$LEDGER_DIR" ]; then touch "$LEDGER_DIR/stop"; fi
  if [ -n "$MONITOR_PID" ]; then kill "$MONITOR_PID" 2>/dev/null || true; fi
  stop_background
}

finish() {
  echo "== the runbook ran to its end: every check held"
}
