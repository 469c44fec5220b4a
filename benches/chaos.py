#!/usr/bin/env python3
"""The fault run: two release instances on one PostgreSQL under a steady load of sign-in
requests, while one instance is killed with SIGKILL, PostgreSQL restarts, and the mail
provider refuses for 30 s. Run with `make chaos`, which builds the release binary first.

On this machine only, bounded in time (about three minutes). It needs PostgreSQL's server
programs (/usr/lib/postgresql/*/bin) and the `postgres` user, and starts a PostgreSQL of its
own in a temporary folder on a free port, so the shared server is never touched. The mail
provider is a Mailgun stand-in in this script that records every message.

Every request asks for a link for an address of its own, from a client address of its own
(`X-Forwarded-For`, with 127.0.0.1 trusted), so no limit is in play. A load balancer is
played by the script: a connection refused by one instance is sent to the other.

At the end it prints one markdown table: requests by status, mails delivered, how many
requests that got a 200 got their email exactly once, twice, or never, and how long each fault
took to heal. It exits non-zero if any request got a 500 or any 200 lost its email.
"""

import http.client
import http.server
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

# The release binary's path and a free port, as the release benchmark finds them (this folder
# is on the import path when the script runs).
from release import BINARY, free_port

RATE = float(os.environ.get("CHAOS_RATE", "10"))  # requests per second, both instances
# How long the Mailgun stand-in takes to accept a message: long enough that an instance
# killed at a random moment is usually in the middle of handing one over.
MAIL_DELAY = float(os.environ.get("CHAOS_MAIL_DELAY", "0.3"))
KILL_AT, RESTART_AFTER = 15, 5
POSTGRES_AT, POSTGRES_DOWN = 40, 3
REFUSE_AT, REFUSE_FOR = 65, 30
LOAD_FOR = 110
SETTLE_FOR = 150  # the longest the outbox may take to empty once the load stops


def log(message):
    print(f"[{time.monotonic() - START:6.1f} s] {message}", file=sys.stderr, flush=True)


class Mailgun:
    """A Mailgun stand-in: records every message's recipient and when it arrived, and answers
    503 while refusing."""

    def __init__(self):
        self.port = free_port()
        self.refusing = False
        self.delivered = []  # (recipient, time)
        self.refused = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = urllib.parse.parse_qs(body)
                if not outer.refusing:
                    time.sleep(MAIL_DELAY)
                with outer.lock:
                    if outer.refusing:
                        outer.refused += 1
                        status, reply = 503, b"refusing"
                    else:
                        outer.delivered.append((form["to"][0], time.monotonic()))
                        status, reply = 200, b'{"message":"Queued. Thank you."}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the instance was killed while waiting for the answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}"


class Postgres:
    """A PostgreSQL server of this run's own, in a temporary folder, run as `postgres`."""

    def __init__(self, folder):
        versions = sorted(os.listdir("/usr/lib/postgresql"))
        self.bin = os.path.join("/usr/lib/postgresql", versions[-1], "bin")
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        self.data = os.path.join(folder, "data")
        self.port = free_port()
        self.run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def run(self, program, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(self.bin, program), *args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "server.log"),
                 "-o", options, "-w", "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def outbox_rows(self):
        out = subprocess.run(
            [os.path.join(self.bin, "psql"), self.url(), "-Atc", "SELECT count(*) FROM auth_outbox"],
            capture_output=True, text=True)
        return int(out.stdout.strip()) if out.returncode == 0 else None


class Instance:
    def __init__(self, name, folder, database, mailgun):
        self.name = name
        self.folder = folder
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "LEPTOS_SITE_ADDR": f"127.0.0.1:{self.port}",
            "MAGIC_LINK_AUTH_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "DATABASE_URL": database,
            "MAGIC_LINK_MAIL_PROVIDER": "mailgun",
            "MAGIC_LINK_MAILGUN_API_URL": mailgun,
            "MAGIC_LINK_MAILGUN_DOMAIN_NAME": "mg.example.com",
            "MAGIC_LINK_MAILGUN_API_KEY": "key",
            "MAGIC_LINK_AUTH_TRUSTED_PROXIES": "127.0.0.1",
            "RUST_LOG": "warn",
        }
        self.process = None
        shutil.copy(BINARY, os.path.join(folder, "server"))

    def start(self):
        self.process = subprocess.Popen([os.path.join(self.folder, "server")], cwd=self.folder,
                                        env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.folder, "log"), "ab"))
        return self.wait_ready()

    def wait_ready(self):
        started = time.monotonic()
        while time.monotonic() - started < 60:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"instance {self.name} did not become ready")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class Load:
    """Requests a link for a new address every 1/RATE s, alternating instances."""

    def __init__(self, instances):
        self.instances = instances
        self.results = []  # (address, status, instance name, sent at, answered at)
        self.lock = threading.Lock()
        self.count = 0
        self.pool = ThreadPoolExecutor(max_workers=32)

    def one(self, n):
        address = f"user{n}@example.com"
        client = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        body = urllib.parse.urlencode({"email": address})
        order = [self.instances[n % 2], self.instances[(n + 1) % 2]]
        sent = time.monotonic()
        status, served_by = "refused", None
        for instance in order:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
                connection.request("POST", "/api/auth/request", body, {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                    "X-Forwarded-For": client,
                })
                response = connection.getresponse()
                response.read()
                status, served_by = response.status, instance.name
                break
            except ConnectionRefusedError:
                continue  # the load balancer tries the other instance
            except OSError as err:
                status = f"error: {type(err).__name__}"
                break
        with self.lock:
            self.results.append((address, status, served_by, sent, time.monotonic()))

    def run(self, seconds):
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            self.pool.submit(self.one, self.count)
            self.count += 1
            time.sleep(1 / RATE)
        self.pool.shutdown(wait=True)


def first_ok_after(results, moment):
    times = [answered for _, status, _, sent, answered in results if status == 200 and sent >= moment]
    return min(times) if times else None


def main():
    global START
    START = time.monotonic()
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: run `make chaos`, which builds it")
    folder = tempfile.mkdtemp(prefix="chaos-")
    os.chmod(folder, 0o755)
    pg_folder = os.path.join(folder, "pg")
    os.mkdir(pg_folder)
    postgres = Postgres(pg_folder)
    mailgun = Mailgun()
    instances = []
    for name in ("a", "b"):
        own = os.path.join(folder, name)
        os.mkdir(own)
        instances.append(Instance(name, own, postgres.url(), mailgun.url()))
    heal = {}
    try:
        for instance in instances:
            instance.start()
        log("two instances up")
        load = Load(instances)
        loader = threading.Thread(target=load.run, args=(LOAD_FOR,))
        load_started = time.monotonic()
        loader.start()

        time.sleep(KILL_AT)
        killed_at = time.monotonic()
        instances[0].kill()
        log("instance a killed with SIGKILL")
        time.sleep(RESTART_AFTER)
        restart_at = time.monotonic()
        ready = instances[0].start()
        heal["kill -9: the killed instance serving again, after its restart"] = ready - restart_at
        log("instance a restarted")

        time.sleep(POSTGRES_AT - (time.monotonic() - load_started))
        pg_down_at = time.monotonic()
        postgres.stop("immediate")
        log("PostgreSQL stopped")
        time.sleep(POSTGRES_DOWN)
        postgres.start()
        pg_up_at = time.monotonic()
        log("PostgreSQL started again")

        time.sleep(REFUSE_AT - (time.monotonic() - load_started))
        mailgun.refusing = True
        refuse_at = time.monotonic()
        log("the mail provider refuses")
        time.sleep(REFUSE_FOR)
        mailgun.refusing = False
        answer_at = time.monotonic()
        log("the mail provider answers again")

        loader.join()
        log(f"load done: {load.count} requests")
        # Wait for the outbox to empty (a lease left by the killed instance runs 30 s).
        settle_started = time.monotonic()
        while time.monotonic() - settle_started < SETTLE_FOR:
            if postgres.outbox_rows() == 0:
                break
            time.sleep(0.5)
        time.sleep(2)
    finally:
        for instance in instances:
            instance.stop()
        try:
            postgres.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        mailgun.server.shutdown()

    results = load.results
    by_status = {}
    for _, status, _, _, _ in results:
        by_status[status] = by_status.get(status, 0) + 1
    with mailgun.lock:
        delivered = list(mailgun.delivered)
    mails = {}
    last_mail = {}
    for to, at in delivered:
        mails[to] = mails.get(to, 0) + 1
        last_mail[to] = at
    ok = [address for address, status, _, _, _ in results if status == 200]
    once = sum(1 for a in ok if mails.get(a, 0) == 1)
    twice = sum(1 for a in ok if mails.get(a, 0) == 2)
    more = sum(1 for a in ok if mails.get(a, 0) > 2)
    lost = [a for a in ok if mails.get(a, 0) == 0]
    strays = sum(n for to, n in mails.items() if to not in set(ok))

    # Heal times.
    first_ok = first_ok_after(results, pg_down_at)
    if first_ok is not None:
        heal["PostgreSQL stopped 3 s and started (immediate mode)"] = first_ok - pg_down_at
    during_refusal = [a for a, status, _, sent, _ in results
                      if status == 200 and refuse_at - 10 <= sent < answer_at]
    if during_refusal:
        last = max(last_mail.get(a, answer_at) for a in during_refusal)
        heal["mail provider refusing 30 s (last of its backlog delivered, after it answered)"] = last - answer_at
    before_kill = [a for a, status, who, sent, _ in results
                   if status == 200 and who == "a" and sent < killed_at]
    if before_kill:
        last = max(last_mail.get(a, killed_at) for a in before_kill)
        heal["kill -9: the last email the killed instance had accepted, delivered"] = last - killed_at

    print("| figure | value |")
    print("| --- | ---: |")
    print(f"| requests | {len(results)} at {RATE:g}/s for {LOAD_FOR} s |")
    for status in sorted(by_status, key=str):
        print(f"| answered {status} | {by_status[status]} |")
    print(f"| mails delivered | {len(delivered)} (refused while refusing: {mailgun.refused}) |")
    print(f"| 200s whose email arrived exactly once | {once} of {len(ok)} |")
    print(f"| 200s whose email arrived twice (sent by the killed instance, then again after its lease) | {twice} |")
    print(f"| 200s whose email arrived more than twice | {more} |")
    print(f"| 200s whose email never arrived | {len(lost)} |")
    print(f"| emails for a request that got no 200 | {strays} |")
    for fault, seconds in heal.items():
        print(f"| heal: {fault} | {seconds:.1f} s |")
    shutil.rmtree(folder, ignore_errors=True)
    if by_status.get(500) or lost:
        sys.exit(f"failed: {by_status.get(500, 0)} answers of 500, {len(lost)} lost emails")


if __name__ == "__main__":
    main()
