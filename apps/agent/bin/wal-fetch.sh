#!/bin/sh
# The restore_command a point-in-time restore writes when this file is there:
#
#   /bin/sh .../bin/wal-fetch.sh NODE .../dist/wal-fetch.js --socket PATH --source HOST/NAME [--spool DIR] %f %p
#
# Recovery runs it once per WAL file. A segment the daemon already put in the
# restore's spool (--spool, src/local-api/wal-spool.ts) is renamed into place:
# no request at all. The other common answers are done with curl
# (a few ms to start, where node takes 0.1-0.5 s on a busy 2-core host):
# 200 -> the file is written to %p through a temp name and a rename, exit 0;
# 404 -> not in the archive, exit 1 (recovery ends there cleanly). Everything
# else (no curl, unusual arguments or names, any other status, any curl
# failure) runs `NODE .../dist/wal-fetch.js ARGS...` with the same arguments,
# which retries and maps every failure to its exit code above 125
# (src/local-api/wal-fetch.ts): PostgreSQL must never take a failure for
# "no such file".
umask 077 # the WAL is plaintext: readable by the postgres OS user only, as the node entry writes it

[ $# -ge 2 ] || { echo 'usage: wal-fetch.sh NODE WAL_FETCH_JS --socket PATH --source HOST/NAME WAL_NAME TARGET_PATH' >&2; exit 130; }
node=$1
js=$2
shift 2

fallback() { exec "$node" "$js" "$@"; }

command -v curl >/dev/null 2>&1 || fallback "$@"

socket=/run/pbk-agent/agent.sock
spool=
source=
file=
target=
n=0
parse() {
  while [ $# -gt 0 ]; do
    case $1 in
      --socket) [ $# -ge 2 ] || return 1; socket=$2; shift ;;
      --source) [ $# -ge 2 ] || return 1; source=$2; shift ;;
      --spool) [ $# -ge 2 ] || return 1; spool=$2; shift ;;
      -*) return 1 ;;
      *)
        n=$((n + 1))
        case $n in 1) file=$1 ;; 2) target=$1 ;; *) return 1 ;; esac
        ;;
    esac
    shift
  done
  [ "$n" -eq 2 ]
}
parse "$@" || fallback "$@"

# Only plain names go into the URL as they are (no percent-encoding in sh): anything else takes the node path.
host=${source%%/*}
name=${source#*/}
case $host in '' | *[!A-Za-z0-9._-]*) fallback "$@" ;; esac
case $name in '' | *[!A-Za-z0-9._-]*) fallback "$@" ;; esac
# What recovery asks for: a segment (24 hex digits) or a timeline history file.
case $file in
  ???????????????????????? | ????????.history) ;;
  *) fallback "$@" ;;
esac
case ${file%.history} in *[!0-9A-F]*) fallback "$@" ;; esac

# Spooled ahead (same filesystem as %p: a rename). Its absence is no answer: ask the daemon.
if [ -n "$spool" ] && [ -f "$spool/$file" ] && mv -f "$spool/$file" "$target" 2>/dev/null; then
  exit 0
fi

tmp=$target.pbk-fetch
# -q: no ~/.curlrc; --noproxy: a proxy variable in PostgreSQL's environment must not redirect the request.
status=$(curl -q -s --noproxy '*' --max-time 300 --unix-socket "$socket" -o "$tmp" -w '%{http_code}' "http://pbk-agent/wal/$host/$name/$file")
rc=$?
if [ "$rc" -eq 0 ] && [ "$status" = 200 ]; then
  mv -f "$tmp" "$target" && exit 0
elif [ "$rc" -eq 0 ] && [ "$status" = 404 ]; then
  rm -f "$tmp"
  echo "pbk-agent: wal-fetch: $file is not in the archive of $host/$name" >&2
  exit 1
fi
rm -f "$tmp"
fallback "$@"
