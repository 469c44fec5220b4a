#!/usr/bin/env python3
"""The release binary against its budgets. Run with `make bench`, which builds the binary with
the `bench` feature first (adding GET /bench/hello, a bare axum route) and then runs this.

Prints one markdown table. Every figure comes from the binary at target/release, started in an
empty temporary folder with SQLite, the file mail provider and RUST_LOG=warn. Load runs wrk at
64 connections for BENCH_SECONDS (default 10) per route, all in the same run, so the ratios to
the bare route are fair on a noisy machine.
"""

import email
import http.client
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "Cargo.toml"), "rb") as manifest:
    # The binary is named after the package.
    BINARY = os.path.join(ROOT, "target", "release", tomllib.load(manifest)["package"]["name"])
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
KIB, MIB = 1024, 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The binary in `folder` on a free port, with the settings the bench needs."""

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "LEPTOS_SITE_ADDR": f"127.0.0.1:{self.port}",
            "MAGIC_LINK_AUTH_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "MAGIC_LINK_MAIL_PROVIDER": "file",
            "MAGIC_LINK_MAIL_OUTBOX": "outbox",
            # Each request below claims its own client address, so the per-IP limit stays out
            # of the way; the per-email limit is avoided with a new address per request.
            "MAGIC_LINK_AUTH_TRUSTED_PROXIES": "127.0.0.1",
            "RUST_LOG": "warn",
        }
        self.process = None

    def start(self):
        """Starts the binary; returns the seconds from spawn to the first 200 of /healthz."""
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [BINARY], cwd=self.folder, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        while True:
            try:
                status, _, _ = self.request("GET", "/healthz")
                if status == 200:
                    return time.perf_counter() - began
            except OSError:
                pass
            if self.process.poll() is not None:
                sys.exit("the server exited during start-up")
            if time.perf_counter() - began > 20:
                sys.exit("the server did not answer within 20 s")
            time.sleep(0.0005)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def form(**fields):
    return urllib.parse.urlencode(fields)


FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


def page_weight(server, encoding):
    """Bytes of the login page and of everything it loads, as sent with `encoding`, and the
    number of requests."""
    headers = {"Accept-Encoding": encoding}
    status, _, html = server.request("GET", "/", headers=headers)
    assert status == 200, status
    total = len(html)
    _, _, plain = server.request("GET", "/")
    text = plain.decode()
    # What the page loads (stylesheets, icons, scripts: not the pages its `<a>` links go to),
    # and the script's import() and module_or_path.
    loads = r'<(?:link|script|img|source)\b[^>]*?\b(?:href|src)="(/[^"]+)"'
    urls = set(re.findall(loads, text)) | set(re.findall(r'"(/pkg/[^"]+)"', text))
    # The JS imports the wasm split's loader (`__wasm_split.*.js`) before any island runs.
    for url in [u for u in urls if u.endswith(".js")]:
        _, _, script = server.request("GET", url)
        for name in re.findall(r'"\./(__wasm_split[^"]*\.js)"', script.decode()):
            urls.add(url.rsplit("/", 1)[0] + "/" + name)
    for url in sorted(urls):
        status, _, asset = server.request("GET", url, headers=headers)
        assert status == 200, (url, status)
        total += len(asset)
    return total, 1 + len(urls)


def wasm_weight(server):
    """The wasm bundle the login page loads: raw, and as sent with gzip and with brotli."""
    status, _, plain = server.request("GET", "/")
    assert status == 200, status
    urls = set(re.findall(r'"(/pkg/[^"]+\.wasm)"', plain.decode()))
    assert len(urls) == 1, f"expected one wasm bundle on the login page, found {urls}"
    (url,) = urls
    sizes = []
    for encoding in ["identity", "gzip", "br"]:
        status, headers, body = server.request("GET", url, headers={"Accept-Encoding": encoding})
        assert status == 200, (url, status)
        sent = dict((k.lower(), v) for k, v in headers).get("content-encoding", "identity")
        assert sent == encoding, f"{url} asked for {encoding}, sent as {sent}"
        sizes.append(len(body))
    return sizes


def text_part(path):
    with open(path, "rb") as raw:
        message = email.message_from_binary_file(raw)
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def row_counts(database):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def wrk(server, method, path, cookie):
    script = os.path.join(server.folder, f"{method.lower()}.lua")
    with open(script, "w") as lua:
        if method == "POST":
            lua.write('wrk.method = "POST"\n'
                      'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                      'wrk.headers["Accept"] = "application/json"\n')
    command = ["wrk", "-t2", "-c64", f"-d{SECONDS}s", "--latency", "-s", script]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command + [f"http://127.0.0.1:{server.port}{path}"],
                         capture_output=True, text=True, check=True).stdout
    if re.search(r"Socket errors|Non-2xx", out):
        sys.exit(f"errors under load on {method} {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return rps, float(p99.group(1)) * scale


def main():
    if not os.access(BINARY, os.X_OK):
        sys.exit("build it first: make bench does `cargo leptos build --release --bin-features ssr,bench`")
    folder = tempfile.mkdtemp(prefix="bench-")
    rows = []
    add = lambda figure, value, budget="": rows.append((figure, value, budget))

    add("release binary", f"{os.path.getsize(BINARY) / MIB:.1f} MiB")

    # Start-up, with the database already migrated by a first start.
    server = Server(folder)
    server.start()
    server.stop()
    starts = []
    for _ in range(10):
        starts.append(server.start() * 1000)
        server.stop()
    start_ms = statistics.median(starts)
    add("start to first 200 (median of 10, SQLite, migrated)", f"{start_ms:.1f} ms",
        f"≤ 50 ms: {'met' if start_ms <= 50 else 'missed'}")

    server.start()
    try:
        database = os.path.join(folder, "magic_link_auth.db")
        before = row_counts(database)
        br, requests = page_weight(server, "br")
        gz, _ = page_weight(server, "gzip")
        for path in ["/", "/check-your-email", "/magic-link-auth", "/favicon.svg", "/nowhere"]:
            server.request("GET", path)
        writes = sum(row_counts(database).values()) - sum(before.values())
        time.sleep(1)
        idle = server.rss_mib()
        add("login page over the wire, brotli", f"{br / 1024:.1f} KiB in {requests} requests",
            f"≤ 100 KiB: {'met' if br <= 100 * 1024 else 'missed'}")
        add("login page over the wire, gzip", f"{gz / 1000:.1f} KB in {requests} requests")
        raw, wasm_gz, wasm_br = wasm_weight(server)
        add("of which the wasm: raw / gzip / brotli",
            f"{raw / 1000:.1f} / {wasm_gz / 1000:.1f} / {wasm_br / 1000:.1f} KB")
        add("rows written by anonymous visits (pages and assets)", str(writes),
            f"0: {'met' if writes == 0 else 'missed'}")
        add("idle RSS (after start and the visits above)", f"{idle:.1f} MiB",
            f"≤ 12 MiB: {'met' if idle <= 12 else 'missed'}")

        # A link request: its reply, which does not wait for the mail, and the time until the
        # .eml is renamed into place by the mail queue.
        issue_ms, mailed_ms, tokens = [], [], []
        outbox = os.path.join(folder, "outbox")
        for n in range(SAMPLES):
            headers = dict(FORM, **{"X-Forwarded-For": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"})
            began = time.perf_counter()
            status, _, _ = server.request("POST", "/api/auth/request",
                                          form(email=f"bench-{n}@example.com"), headers)
            issue_ms.append((time.perf_counter() - began) * 1000)
            assert status == 200, status
            while not os.path.isdir(outbox) or len(
                    [f for f in os.listdir(outbox) if f.endswith(".eml")]) <= n:
                assert time.perf_counter() - began < 10, "no mail within 10 s"
                time.sleep(0.0005)
            mailed_ms.append((time.perf_counter() - began) * 1000)
        for name in sorted(f for f in os.listdir(outbox) if f.endswith(".eml")):
            link = re.search(r"token=([A-Za-z0-9_-]{43})", text_part(os.path.join(outbox, name)))
            tokens.append(link.group(1))
        assert len(tokens) == SAMPLES, len(tokens)
        redeem_ms, cookie = [], None
        for n, token in enumerate(tokens):
            headers = dict(FORM, **{"X-Forwarded-For": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"})
            began = time.perf_counter()
            status, response_headers, _ = server.request("POST", "/api/auth/redeem",
                                                         form(token=token), headers)
            redeem_ms.append((time.perf_counter() - began) * 1000)
            assert status == 200, status
            cookie = next(v.split(";")[0] for k, v in response_headers
                          if k.lower() == "set-cookie" and v.startswith("session="))
        add(f"link request, reply (p50 / p99 of {SAMPLES})",
            f"{percentile(issue_ms, .5):.1f} / {percentile(issue_ms, .99):.1f} ms")
        add(f"link request to email written (p50 / p99 of {SAMPLES})",
            f"{percentile(mailed_ms, .5):.1f} / {percentile(mailed_ms, .99):.1f} ms")
        add(f"redeem to session (p50 / p99 of {SAMPLES})",
            f"{percentile(redeem_ms, .5):.1f} / {percentile(redeem_ms, .99):.1f} ms")

        _, _, home = server.request("GET", "/", headers={"Cookie": cookie})
        assert b"Welcome back!" in home, "the cookie does not show the signed-in page"
        hello_rps, hello_p99 = wrk(server, "GET", "/bench/hello", None)
        home_rps, home_p99 = wrk(server, "GET", "/", cookie)
        session_rps, session_p99 = wrk(server, "POST", "/api/auth/session", cookie)
        add(f"bare axum hello route, 64 connections, {SECONDS} s",
            f"{hello_rps:,.0f} req/s, p99 {hello_p99:.2f} ms")
        home_ratio, session_ratio = home_rps / hello_rps, session_rps / hello_rps
        add("signed-in home page, same run", f"{home_rps:,.0f} req/s, p99 {home_p99:.2f} ms "
            f"({home_ratio:.1%} of bare)", f"≥ 10%: {'met' if home_ratio >= .10 else 'missed'}")
        add("POST /api/auth/session with a valid cookie, same run",
            f"{session_rps:,.0f} req/s, p99 {session_p99:.2f} ms ({session_ratio:.1%} of bare)",
            f"≥ 25%: {'met' if session_ratio >= .25 else 'missed'}")
    finally:
        server.stop()

    print("| figure | measured | budget |")
    print("| --- | --- | --- |")
    for figure, value, budget in rows:
        print(f"| {figure} | {value} | {budget} |")


if __name__ == "__main__":
    main()
