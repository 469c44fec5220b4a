#!/usr/bin/env bash
# Load on the release server: 64 connections for 30 s each on the session check and on the
# signed-in home page, with a real session cookie. Run with `make load`.
# Prints wrk's figures (requests/s and the latency percentiles, p99 included) and fails on
# any socket error or any answer outside 2xx/3xx, which wrk reports on lines of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
# The binary is named after the package.
binary=target/release/$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ -x "$binary" ] || { echo "build it first: cargo leptos build --release" >&2; exit 1; }

work=$(mktemp -d)
addr=127.0.0.1:3917
DATABASE_URL="sqlite://$work/load.db?mode=rwc" \
  MAGIC_LINK_MAIL_PROVIDER=file MAGIC_LINK_MAIL_OUTBOX="$work/outbox" \
  LEPTOS_SITE_ADDR=$addr MAGIC_LINK_AUTH_PUBLIC_URL="http://$addr" RUST_LOG=warn "$binary" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://$addr/healthz" >/dev/null && break; sleep 0.1; done

# Sign in for real: ask for a link, read it from the outbox, redeem it.
curl -sf -X POST -H 'Accept: application/json' --data 'email=load%40example.com' \
  "http://$addr/api/auth/request" >/dev/null
# The mail goes out after the reply: wait for it.
for _ in $(seq 100); do ls "$work"/outbox/*.eml >/dev/null 2>&1 && break; sleep 0.05; done
eml=$(ls "$work"/outbox/*.eml | head -n 1)
token=$(python3 - "$eml" <<'PY'
import base64, email, re, sys
message = email.message_from_binary_file(open(sys.argv[1], "rb"))
text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
print(re.search(r"token=([A-Za-z0-9_-]{43})", text.get_payload(decode=True).decode()).group(1))
PY
)
cookie=$(curl -sf -D - -o /dev/null -X POST -H 'Accept: application/json' \
  --data "token=$token" "http://$addr/api/auth/redeem" |
  sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
curl -sf -H "Cookie: $cookie" "http://$addr/" | grep -q 'Welcome back!' ||
  { echo "the cookie does not show the signed-in page" >&2; exit 1; }

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
LUA

run() {
  local name=$1 path=$2 script=$3
  echo "== $name: 64 connections, 30 s"
  wrk -t2 -c64 -d30s --latency -H "Cookie: $cookie" -s "$script" "http://$addr$path" | tee "$work/out"
  if grep -qE 'Socket errors|Non-2xx' "$work/out"; then
    echo "errors under load on $name" >&2
    exit 1
  fi
}
run "POST /api/auth/session (signed in)" /api/auth/session "$work/post.lua"
: >"$work/get.lua"
run "GET / (signed-in home page)" / "$work/get.lua"
