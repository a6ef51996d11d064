#!/usr/bin/env python3
"""Concord fault harness: clients drive cases with Idempotency-Keys while the service is SIGKILLed and PostgreSQL
is restarted with `-m immediate`; every answer is recorded and compared with the event log at the end.

    python3 scripts/faults.py                        # private cluster, 50 commands/s, 3 kills, 3 PG restarts
    python3 scripts/faults.py --binary .build/debug/concord --rate 100 --kills 5 --pg-restarts 5

Checks (exit status 1 when any fails, 2 when the harness itself could not run):
  lost              every command answered 2xx is in the log (found by its idempotency key in event metadata)
  duplicated        no key produced two writes
  differing         every answer to a key (retry, racing copy, later replay) has the status, ETag and id of its
                    first 2xx
  refused_written   no key answered only with a definitive 4xx while the log holds its write
  answer_vs_log     a 2xx names the stream and the version the log holds for that key
  refused           no legal command refused (the harness only sends legal commands)
  readable          every case created reads back (GET, 200) at its last acknowledged version or later
  unresolved        every command, and every copy of it, got a definitive answer before --give-up
  projection        the projection reaches the log head within --projection-deadline s of the last fault
  verify            `concord audit verify` says the log is sound
  self_healing      the service never exited by itself, never needed the --liveness watchdog, answers at the end
  sigterm           the service exits within 10 s of SIGTERM at the end

Standard library only. docs/operations.md ("Fault harness") says how to read the output.
"""

from __future__ import annotations

import argparse
import collections
import glob
import http.client
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def now() -> float:
    return time.monotonic()


def wall_clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}"


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


class HarnessError(Exception):
    """The harness could not set up or run (exit status 2): not a finding about the service."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_definitive(status: int | None) -> bool:
    """2xx, or 4xx other than 408 and 429: an answer the client acts on. Anything else is retried."""
    if status is None:
        return False
    return 200 <= status < 300 or (400 <= status < 500 and status not in (408, 429))


# --------------------------------------------------------------------------------------------------------------
# PostgreSQL


class Cluster:
    """A private PostgreSQL cluster under the work directory (Unix socket only), or the server of DATABASE_URL."""

    def __init__(self, args, workdir: str):
        self.args = args
        self.workdir = workdir
        self.own = not os.environ.get("DATABASE_URL")
        self.bindir = args.pg_bin or self._find_bindir()
        self.psql = os.path.join(self.bindir, "psql") if self.bindir else shutil.which("psql")
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.own:
            if not self.bindir:
                raise HarnessError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (give --pg-bin)")
            self.port = free_port()
            self.datadir = os.path.join(workdir, "pg", "data")
            self.sockdir = os.path.join(workdir, "pg")
            self.logfile = os.path.join(workdir, "pg", "postgres.log")
            query = f"host={self.sockdir}&port={self.port}"
            self.owner_url = f"postgres:///concord?{query}&user=postgres"
            self.service_url = f"postgres:///concord?{query}&user=concord_service"
            self.maintenance_url = f"postgres:///postgres?{query}&user=postgres"
        else:
            self.owner_url = os.environ["DATABASE_URL"]
            self.service_url = os.environ.get("CONCORD_SERVICE_DATABASE_URL") or self.owner_url
        if not self.psql:
            raise HarnessError("psql not found (install postgresql-client or give --pg-bin)")

    @staticmethod
    def _find_bindir() -> str | None:
        dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(re.sub(r"\D", "", d) or 0))
        dirs = [d for d in dirs if os.path.exists(os.path.join(d, "pg_ctl"))]
        return dirs[-1] if dirs else None

    def _pg(self, tool: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = self.as_postgres + [os.path.join(self.bindir, tool), *argv]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise HarnessError(f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        return result

    def create(self) -> None:
        if not self.own:
            return
        pgdir = os.path.dirname(self.datadir)
        os.makedirs(pgdir, exist_ok=True)
        if self.as_postgres:
            shutil.chown(pgdir, "postgres", "postgres")
            # The postgres user must be able to enter every directory above its data.
            path = pgdir
            while path not in ("/", ""):
                path = os.path.dirname(path)
                if path.startswith(self.workdir) or path == self.workdir:
                    os.chmod(path, os.stat(path).st_mode | 0o711)
        self._pg("initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                 "--no-instructions")
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as conf:
            conf.write(
                "\n# concord fault harness: Unix socket only\n"
                f"listen_addresses = ''\nunix_socket_directories = '{self.sockdir}'\nport = {self.port}\n"
                "max_connections = 200\n")
        self.start()
        self.sql("CREATE DATABASE concord", url=self.maintenance_url)

    def start(self) -> None:
        self._pg("pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60", "start")

    def restart_immediate(self) -> None:
        if self.own:
            self._pg("pg_ctl", "-D", self.datadir, "-l", self.logfile, "-m", "immediate", "-w", "-t", "60",
                     "restart")
        else:
            result = subprocess.run(self.args.pg_restart_command, shell=True, capture_output=True, text=True,
                                    timeout=120)
            if result.returncode != 0:
                raise HarnessError(f"--pg-restart-command failed ({result.returncode}): {result.stderr.strip()}")

    def stop(self) -> None:
        if self.own and os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            try:
                self._pg("pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "-t", "60", "stop")
            except (HarnessError, subprocess.TimeoutExpired) as error:
                log(f"stopping PostgreSQL: {error}")

    def sql(self, query: str, url: str | None = None, timeout: float = 60) -> list[list[str]]:
        """Rows of `query` (tab-separated text); raises HarnessError on failure."""
        cmd = [self.psql, url or self.owner_url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
               "-c", query]
        env = dict(os.environ, PGCONNECT_TIMEOUT="3")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if result.returncode != 0:
            raise HarnessError(f"psql: {result.stderr.strip()}")
        return [line.split("\t") for line in result.stdout.splitlines() if line]


# --------------------------------------------------------------------------------------------------------------
# The service


class Service:
    """`concord serve` on a free port; restarted at once after a kill, and after an exit of its own."""

    def __init__(self, args, cluster: Cluster, env: dict, workdir: str):
        self.args = args
        self.cluster = cluster
        self.env = env
        self.port = args.port or free_port()
        self.logpath = os.path.join(workdir, "serve.log")
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.expected_exit = False
        self.unexpected_exits: list[tuple[float, int]] = []
        self.unreachable: list[tuple[float, float]] = []  # stretches without /healthz 200, not caused by a kill
        self.watchdog_restarts = 0
        self.restarting = False  # a kill and restart of the harness's own is under way
        self.starts = 0
        self.supervising = True
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)

    def start(self) -> None:
        with self.lock:
            self.starts += 1
            with open(self.logpath, "ab") as logf:
                logf.write(f"\n===== faults.py: start #{self.starts} at {time.strftime('%H:%M:%S')} =====\n".encode())
                logf.flush()
                self.proc = subprocess.Popen(
                    [self.args.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                    env=self.env, cwd=os.path.dirname(self.logpath), stdout=logf, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self.expected_exit = False

    def wait_up(self, timeout: float = 60) -> float:
        """Seconds until GET /healthz answers 200."""
        start = now()
        while now() - start < timeout:
            status, _, _, _ = request("127.0.0.1", self.port, "GET", "/healthz", None, {}, timeout=1)
            if status == 200:
                return now() - start
            time.sleep(0.05)
        raise HarnessError(f"concord serve did not answer /healthz within {timeout} s (see {self.logpath})")

    def kill(self) -> None:
        with self.lock:
            self.expected_exit = True
            proc = self.proc
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def terminate(self, timeout: float = 10) -> float | None:
        """SIGTERM; seconds until it exited, or None if it did not within `timeout` (then SIGKILL)."""
        self.supervising = False
        with self.lock:
            self.expected_exit = True
            proc = self.proc
        if not proc or proc.poll() is not None:
            return 0.0
        start = now()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
            return now() - start
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return None

    def _supervise(self) -> None:
        # An exit that was not ours (a crash, a start that failed while PostgreSQL restarted): start it again,
        # as systemd's Restart=on-failure would, and note it. A process that is alive but does not answer
        # /healthz for --liveness seconds is killed and started again, as a liveness probe would, and noted: the
        # service is meant to heal itself, so each such restart is a finding.
        down_since = None
        while self.supervising:
            time.sleep(0.5)
            with self.lock:
                proc, expected, ours = self.proc, self.expected_exit, self.restarting
            if not self.supervising:
                break
            if proc and not expected and proc.poll() is not None:
                self.unexpected_exits.append((now(), proc.returncode))
                log(f"concord serve exited on its own (status {proc.returncode}); starting it again")
                time.sleep(0.5)
                self.start()
                down_since = None
                continue
            if ours:
                # The harness's own kill: a stretch that began before it counts up to now.
                if down_since is not None:
                    self.unreachable.append((down_since, now()))
                down_since = None
                continue
            status, _, _, _ = request("127.0.0.1", self.port, "GET", "/healthz", None, {}, timeout=2)
            t = now()
            if status == 200:
                if down_since is not None:
                    self.unreachable.append((down_since, t))
                down_since = None
                continue
            if down_since is None:
                down_since = t
                continue
            if self.args.liveness and t - down_since > self.args.liveness:
                self.unreachable.append((down_since, t))
                self.watchdog_restarts += 1
                log(f"concord serve alive but not answering /healthz for {t - down_since:.0f} s; "
                    "killing it and starting it again (watchdog)")
                self.kill()
                self.start()
                down_since = None
        if down_since is not None:
            self.unreachable.append((down_since, now()))


# --------------------------------------------------------------------------------------------------------------
# HTTP


def request(host: str, port: int, method: str, path: str, body: bytes | None, headers: dict, timeout: float):
    """(status, headers, body text, error): status None on a connection error or timeout."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data.decode("utf-8", "replace"), None
    except (OSError, http.client.HTTPException) as error:
        return None, {}, "", f"{type(error).__name__}: {error}"
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------------------
# What the clients send

NAMES = ["Amina Diallo", "Joseph Otieno", "Grace Wanjiru", "Moussa Keita", "Fatou Ndiaye", "Peter Mwangi"]


def lodge_body(rng: random.Random, n: int) -> dict:
    body = {"channel": rng.choice(["walk_in", "hotline", "letter"]), "programme": "CCT",
            "category": rng.choice(["payment_delay", "targeting_eligibility", "service_quality"]),
            "description": f"Fault harness complaint {n}: the payment has not arrived.", "area": "D-01",
            "office": "OFF-001", "sensitive": False}
    if rng.random() < 0.5:
        body.update(anonymous=False, complainant={"name": rng.choice(NAMES), "phone": f"+2547{rng.randrange(10**8):08d}"},
                    contact_preference="sms")
    else:
        body.update(anonymous=True, contact_preference="none")
    return body


def referral_body(rng: random.Random, n: int) -> dict:
    return {"source": "OFF-001", "receiver": "HEALTH",
            "person": {"kind": "household", "reference": f"HH-{n}", "form_fields": {"members": str(rng.randint(1, 9))}},
            "reason": f"Fault harness referral {n}: nutrition assessment.",
            "urgency": rng.choice(["routine", "priority"]), "referral_type": "nutrition"}


def flow_steps(kind: str, rng: random.Random, n: int) -> tuple[str, list[tuple[str, str, dict]]]:
    """(collection, [(command, token, body)]): the first step creates the case. Every step is legal in order."""
    if kind == "referral":
        return "referrals", [
            ("create", "office", referral_body(rng, n)),
            ("acknowledge", "health", {}),
            ("accept", "health", {}),
            ("start_service", "health", {}),
            ("complete", "health", {"outcome": "delivered"}),
            ("post_feedback", "health", {"outcome": "Assessed; enrolled.", "services_given": ["assessment"],
                                         "notes": f"run {n}"}),
            ("acknowledge_feedback", "office", {}),
        ]
    handler = "cct"
    steps = [("lodge", "office", lodge_body(rng, n)),
             ("acknowledge", "cct", {}),
             ("assign", "cct", {"programme": "CCT", "officer": f"officer-{rng.randint(1, 9)}"})]
    if kind == "transfer":
        steps.append(("transfer", "cct", {"to_programme": "PENSION", "reason": "The complainant is a pensioner."}))
        handler = "pension"
    steps += [("record_finding", handler, {"text": f"Checked the payroll, case {n}."}),
              ("resolve", handler, {"outcome": "upheld", "actions_taken": "Paid with arrears."}),
              ("notify_complainant", "office", {"method": "sms"}),
              ("close", "office", {"satisfaction": "satisfied"})]
    return "complaints", steps


class Command:
    def __init__(self, key, flow, collection, name, token, method, path, body):
        self.key, self.flow, self.collection, self.name, self.token = key, flow, collection, name, token
        self.method, self.path, self.body = method, path, body
        self.payload = json.dumps(body, separators=(",", ":")).encode()


class Answer:
    __slots__ = ("key", "copy", "attempt", "status", "etag", "version", "id", "title", "detail", "error", "t0", "t1",
                 "wall")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))

    def definitive(self) -> bool:
        return is_definitive(self.status)

    def describe(self) -> str:
        sent = wall_clock(self.wall) if self.wall else "?"
        took = f"{(self.t1 - self.t0) * 1000:.0f} ms"
        if self.status is None:
            return f"{self.copy}#{self.attempt} sent {sent}, {took}: {self.error}"
        extra = f" ETag {self.etag} id {self.id}" if self.status < 300 else f" {self.title}: {self.detail}"
        return f"{self.copy}#{self.attempt} sent {sent}, {took}: {self.status}{extra}"


class Recorder:
    """Every answer, client side: in memory for the checks, and as JSON lines in answers.jsonl."""

    def __init__(self, path: str):
        self.path = path
        self.file = open(path, "w")
        self.lock = threading.Lock()
        self.commands: dict[str, Command] = {}
        self.answers: dict[str, list[Answer]] = collections.defaultdict(list)
        self.attempts = collections.Counter()  # kind of attempt -> count
        self.statuses = collections.Counter()
        self.flows_done = collections.Counter()
        self.flows_stopped = collections.Counter()  # the load ended mid-flow
        self.flows_aborted = collections.Counter()  # a command got no 2xx
        self.gave_up: list[tuple[str, str, int, Answer]] = []  # copies retried to --give-up without an answer
        self.cases: dict[str, tuple[str, str]] = {}  # case id -> (collection, key of its creation)

    def register(self, command: Command) -> None:
        with self.lock:
            self.commands[command.key] = command

    def record(self, command: Command, answer: Answer, response_headers: dict, text: str, t_wall: float) -> None:
        line = {"key": command.key, "copy": answer.copy, "attempt": answer.attempt, "flow": command.flow,
                "command": command.name, "token": command.token, "method": command.method, "path": command.path,
                "request": command.body, "status": answer.status, "etag": answer.etag, "error": answer.error,
                "at": round(t_wall, 6), "ms": round((answer.t1 - answer.t0) * 1000, 2), "body": text}
        with self.lock:
            self.answers[command.key].append(answer)
            kind = "first" if answer.copy == "first" and answer.attempt == 1 else \
                "race" if answer.copy == "race" and answer.attempt == 1 else \
                "replay" if answer.copy == "replay" and answer.attempt == 1 else "retry"
            self.attempts[kind] += 1
            self.statuses[answer.status if answer.status is not None else "conn-error"] += 1
            if not self.file.closed:  # a client still retrying after the end writes nothing more
                self.file.write(json.dumps(line, separators=(",", ":")) + "\n")

    def close(self) -> None:
        with self.lock:
            self.file.close()


def parse_answer(status, headers, text) -> tuple:
    """(etag version, body version, id, title, detail) of an answer."""
    etag = headers.get("etag")
    version = ident = title = detail = None
    if text:
        try:
            doc = json.loads(text)
            if isinstance(doc, dict):
                version, ident = doc.get("version"), doc.get("id")
                title, detail = doc.get("title"), doc.get("detail")
        except ValueError:
            pass
    return etag, version, ident, title, detail


class Pacer:
    """A steady rate of first sends shared by all clients; time lost in an outage is not made up in a burst."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self.next = now()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            t = max(self.next, now())
            self.next = t + self.interval
        delay = t - now()
        if delay > 0:
            time.sleep(delay)


class Clients:
    def __init__(self, args, service: Service, tokens: dict, recorder: Recorder, run_id: str):
        self.args = args
        self.service = service
        self.tokens = tokens
        self.recorder = recorder
        self.run_id = run_id
        self.pacer = Pacer(args.rate)
        self.stop = threading.Event()
        self.counter = 0
        self.counter_lock = threading.Lock()
        weights = {}
        for part in args.flows.split(","):
            name, _, weight = part.partition("=")
            if name not in ("complaint", "transfer", "referral"):
                raise HarnessError(f"--flows: unknown flow {name} (complaint, transfer, referral)")
            weights[name] = float(weight or 1)
        self.flow_names, self.flow_weights = list(weights), list(weights.values())
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(args.clients)]

    def next_number(self) -> int:
        with self.counter_lock:
            self.counter += 1
            return self.counter

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> bool:
        deadline = now() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - now()))
        return not any(t.is_alive() for t in self.threads)

    def _client(self, index: int) -> None:
        rng = random.Random(f"{self.args.seed}-{index}")
        while not self.stop.is_set():
            kind = rng.choices(self.flow_names, self.flow_weights)[0]
            self._flow(kind, rng)

    def _flow(self, kind: str, rng: random.Random) -> None:
        n = self.next_number()
        collection, steps = flow_steps(kind, rng, n)
        case_id = None
        replays: list[tuple[Command, Answer]] = []
        outcome = self.recorder.flows_done
        for name, token, body in steps:
            if self.stop.is_set():
                outcome = self.recorder.flows_stopped
                break
            self.pacer.wait()
            key = f"faults-{self.run_id}-{n}-{name}"
            path = f"/v1/{collection}" if case_id is None else f"/v1/{collection}/{case_id}/{name}"
            command = Command(key, kind, collection, name, token, "POST", path, body)
            self.recorder.register(command)
            answer = self._send(command, race=rng.random() < self.args.race_fraction)
            if answer is None or not (200 <= answer.status < 300):
                outcome = self.recorder.flows_aborted
                break
            if case_id is None:
                case_id = answer.id
                if not case_id:
                    outcome = self.recorder.flows_aborted
                    break
                with self.recorder.lock:
                    self.recorder.cases[case_id] = (collection, key)
            if rng.random() < self.args.replay_fraction:
                replays.append((command, answer))
        # Replays after the case moved on: the same request with the same key must get the original answer.
        for command, _ in replays:
            self._retry_loop(command, "replay")
        with self.recorder.lock:
            outcome[kind] += 1

    def _send(self, command: Command, race: bool) -> Answer | None:
        """The first copy's definitive answer (None if it never got one); with `race`, a second copy is sent at
        the same moment, as a client that retries on a timeout while the first attempt is still running."""
        if not race:
            return self._retry_loop(command, "first")
        barrier = threading.Barrier(2)
        racer = threading.Thread(target=self._retry_loop, args=(command, "race", barrier), daemon=True)
        racer.start()
        answer = self._retry_loop(command, "first", barrier)
        racer.join()
        if answer is None or not (200 <= answer.status < 300):
            # The racing copy may have got the 2xx: the flow goes on with that one (the mismatch is a finding).
            with self.recorder.lock:
                others = [a for a in self.recorder.answers[command.key] if a.definitive() and a.status < 300]
            if others:
                return others[0]
        return answer

    def _retry_loop(self, command: Command, copy: str, barrier: threading.Barrier | None = None) -> Answer | None:
        headers = {"Authorization": f"Bearer {self.tokens[command.token]}", "Content-Type": "application/json",
                   "Idempotency-Key": command.key}
        deadline = now() + self.args.give_up
        backoff = 0.05
        attempt = 0
        if barrier is not None:
            try:
                barrier.wait(5)
            except threading.BrokenBarrierError:
                pass
        while True:
            attempt += 1
            t_wall = time.time()
            t0 = now()
            status, response_headers, text, error = request(
                "127.0.0.1", self.service.port, command.method, command.path, command.payload, headers,
                timeout=self.args.request_timeout)
            t1 = now()
            etag, version, ident, title, detail = parse_answer(status, response_headers, text)
            answer = Answer(key=command.key, copy=copy, attempt=attempt, status=status, etag=etag, version=version,
                            id=ident, title=title, detail=detail, error=error, t0=t0, t1=t1, wall=t_wall)
            self.recorder.record(command, answer, response_headers, text, t_wall)
            if answer.definitive():
                return answer
            if now() > deadline:
                with self.recorder.lock:
                    self.recorder.gave_up.append((command.key, copy, attempt, answer))
                return None
            delay = backoff
            retry_after = response_headers.get("retry-after")
            if retry_after and retry_after.isdigit():
                delay = max(delay, min(float(retry_after), 1.0))
            time.sleep(delay * (0.5 + random.random()))
            backoff = min(backoff * 2, 1.0)


# --------------------------------------------------------------------------------------------------------------
# Watching the projection


class ProjectionWatch:
    """Samples the projection's checkpoint and the log's head (SQL, the truth) every 0.2 s, and /readyz (what the
    service says about itself) every second."""

    def __init__(self, cluster: Cluster, service: Service):
        self.cluster = cluster
        self.service = service
        self.samples: list[tuple[float, int, int]] = []  # (t, checkpoint, head)
        self.readyz: list[tuple[float, int | None, str]] = []
        self.stop = threading.Event()
        self.sql_source = True
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[int, int] | None:
        if self.sql_source:
            try:
                rows = self.cluster.sql(
                    "SELECT (SELECT position FROM projection.checkpoints WHERE name = 'cases'), "
                    "(SELECT coalesce(max(position), 0) FROM events)", timeout=5)
                if rows and rows[0][0]:
                    return int(rows[0][0]), int(rows[0][1])
            except HarnessError as error:
                if "does not exist" in str(error):
                    self.sql_source = False  # another schema: fall back to what the service reports
                return None
            except subprocess.TimeoutExpired:
                return None
        status, _, text, _ = request("127.0.0.1", self.service.port, "GET", "/metrics", None, {}, timeout=2)
        if status == 200:
            checkpoint = re.search(r'^concord_projection_checkpoint\{[^}]*projection="cases"[^}]*\}\s+(\d+)', text, re.M)
            head = re.search(r"^concord_log_head_position(?:\{[^}]*\})?\s+(\d+)", text, re.M)
            if checkpoint and head:
                return int(checkpoint.group(1)), int(head.group(1))
        return None

    def _run(self) -> None:
        last_readyz = 0.0
        while not self.stop.is_set():
            t = now()
            value = self.sample()
            if value:
                self.samples.append((t, *value))
            if t - last_readyz >= 1.0:
                last_readyz = t
                status, _, text, error = request("127.0.0.1", self.service.port, "GET", "/readyz", None, {}, timeout=3)
                self.readyz.append((t, status, text.strip() if status else error))
            self.stop.wait(0.2)

    def caught_up_after(self, t_fault: float) -> float | None:
        """Seconds from `t_fault` until the checkpoint reached the head as it was first seen after `t_fault`."""
        reference = None
        for t, checkpoint, head in self.samples:
            if t < t_fault:
                continue
            if reference is None:
                reference = head
            if checkpoint >= reference:
                return t - t_fault
        return None

    def stale_readyz(self, threshold: float = 5.0) -> tuple[int, int]:
        """(readyz 200 answers while the projection had not moved for > threshold s with events waiting, such
        answers' total)."""
        moved_at, last_checkpoint = None, None
        stale_periods = []
        for t, checkpoint, head in self.samples:
            if checkpoint != last_checkpoint:
                moved_at, last_checkpoint = t, checkpoint
            stale_periods.append((t, head > checkpoint and t - moved_at > threshold))
        lying = total = 0
        for t, status, _ in self.readyz:
            if status != 200:
                continue
            total += 1
            before = [stale for (ts, stale) in stale_periods if ts <= t]
            if before and before[-1]:
                lying += 1
        return lying, total


# --------------------------------------------------------------------------------------------------------------
# Running it


def concord(args, env: dict, *argv: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([args.binary, *argv], env=env, capture_output=True, text=True, timeout=timeout,
                            cwd=args.workdir)
    if check and result.returncode != 0:
        raise HarnessError(f"concord {' '.join(argv)} failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def make_token(args, env: dict, role: str, scope: str | None) -> str:
    argv = ["token", "create", "--role", role, "--label", "fault harness"]
    if scope:
        argv += ["--scope", scope]
    out = concord(args, env, *argv).stdout
    for line in out.splitlines():
        if line.startswith("concord_"):
            return line.strip()
    raise HarnessError(f"no secret in the output of concord token create: {out!r}")


def read_log(args, env: dict, prefix: str) -> tuple[dict[str, list[dict]], int]:
    """Events whose metadata carries one of this run's idempotency keys, by key, read the auditor's way
    (`concord audit export`); and the number of events in the log."""
    out_path = os.path.join(args.workdir, "export.ndjson")
    with open(out_path, "w") as out:
        result = subprocess.run([args.binary, "audit", "export"], env=env, stdout=out, stderr=subprocess.PIPE,
                                text=True, timeout=600, cwd=args.workdir)
    if result.returncode != 0:
        raise HarnessError(f"concord audit export failed ({result.returncode}): {result.stderr.strip()}")
    by_key: dict[str, list[dict]] = collections.defaultdict(list)
    total = 0
    with open(out_path) as lines:
        for line in lines:
            if not line.strip():
                continue
            total += 1
            event = json.loads(line)
            key = (event.get("metadata") or {}).get("idempotency_key")
            if key and key.startswith(prefix):
                by_key[key].append({k: event[k] for k in ("position", "stream_type", "stream_id", "stream_version",
                                                           "event_type")})
    return by_key, total


def read_idempotency(cluster: Cluster, prefix: str) -> dict[str, tuple] | None:
    """The append_idempotency rows of this run's keys: key -> (stream_id, first_version, last_version); None when
    the table cannot be read (the check then rests on the events alone)."""
    try:
        rows = cluster.sql("SELECT idempotency_key, stream_id, first_version, last_version FROM append_idempotency "
                           f"WHERE idempotency_key LIKE '{prefix}%'", timeout=300)
    except (HarnessError, subprocess.TimeoutExpired) as error:
        log(f"append_idempotency not read ({error}); duplicates are judged from the events alone")
        return None
    return {key: (stream, int(first), int(last)) for key, stream, first, last in rows}


def writes_of(events: list[dict], recorded: tuple | None = None) -> int:
    """Separate writes among the events of one key: runs of consecutive versions of one stream, in log order; and,
    when the key's append_idempotency row is known, one more for any event outside the versions it records."""
    writes = 0
    previous = None
    for event in sorted(events, key=lambda e: e["position"]):
        stream = (event["stream_type"], event["stream_id"])
        if previous is None or previous[0] != stream or event["stream_version"] != previous[1] + 1:
            writes += 1
        previous = (stream, event["stream_version"])
    if recorded and events:
        stream_id, first, last = recorded
        outside = [e for e in events if e["stream_id"] != stream_id or not first <= e["stream_version"] <= last]
        if outside:
            writes = max(writes, 2)
    return writes


def etag_version(etag: str | None) -> int | None:
    if not etag:
        return None
    match = re.search(r"(\d+)", etag)
    return int(match.group(1)) if match else None


def analyse(recorder: Recorder, log_by_key: dict, idempotency: dict | None) -> dict:
    findings = {name: [] for name in ("lost", "duplicated", "differing", "refused_written", "answer_vs_log",
                                      "refused", "unresolved")}
    acknowledged = 0
    for key, command in recorder.commands.items():
        answers = recorder.answers.get(key, [])
        definitive = sorted((a for a in answers if a.definitive()), key=lambda a: a.t1)
        ok = [a for a in definitive if a.status < 300]
        events = log_by_key.get(key, [])
        label = f"{key} {command.name} {command.path}"
        trail = "; ".join(a.describe() for a in sorted(answers, key=lambda a: a.t0))
        recorded = (idempotency or {}).get(key)
        writes = writes_of(events, recorded)
        if events and writes > 1:
            findings["duplicated"].append(f"{label}: {writes} writes in the log (append_idempotency: {recorded}): "
                                          + ", ".join(f"{e['stream_id']} v{e['stream_version']} @{e['position']}"
                                                      for e in events))
        if ok:
            acknowledged += 1
            first = ok[0]
            if not events:
                findings["lost"].append(f"{label}: answered {first.status} ETag {first.etag}, not in the log")
            for other in definitive:
                if other is first:
                    continue
                if (other.status, other.etag, other.id) != (first.status, first.etag, first.id):
                    findings["differing"].append(
                        f"{label}: first 2xx {first.describe()}, then {other.describe()}")
            if events:
                last = max(events, key=lambda e: e["position"])
                mismatch = []
                if etag_version(first.etag) != last["stream_version"]:
                    mismatch.append(f"ETag {first.etag} but the log's write ends at version {last['stream_version']}")
                if first.id and first.id != last["stream_id"]:
                    mismatch.append(f"id {first.id} but the log wrote {last['stream_id']}")
                if mismatch:
                    findings["answer_vs_log"].append(f"{label}: " + "; ".join(mismatch))
        elif definitive:
            if events:
                findings["refused_written"].append(
                    f"{label}: answered only {', '.join(str(a.status) for a in definitive)} but written "
                    f"({events[0]['stream_id']} v{events[0]['stream_version']}); answers: {trail}")
            else:
                findings["refused"].append(f"{label}: {trail}")
        else:
            findings["unresolved"].append(f"{label}: no definitive answer ({len(answers)} attempts); "
                                          f"{'written' if events else 'not written'}")
    for key, copy, attempts, last in recorder.gave_up:
        command = recorder.commands[key]
        ok = [a for a in recorder.answers.get(key, []) if a.definitive() and a.status < 300]
        if ok:  # the key got its 2xx on another copy; this retry never got it back
            findings["unresolved"].append(
                f"{key} {command.name} {command.path}: the {copy} copy gave up after {attempts} attempts without a "
                f"definitive answer (last: {last.describe()}) although {ok[0].describe()}")
    findings["acknowledged"] = acknowledged
    return findings


def read_back(args, service: Service, tokens: dict, recorder: Recorder, log_by_key: dict) -> list[str]:
    """Every case the run created, read with the office token that created it (an office reads what it lodged
    or sent): it must answer 200 at the version of the last acknowledged command on it, or later."""
    last_version: dict[str, int] = {}
    for key, events in log_by_key.items():
        for event in events:
            last_version[event["stream_id"]] = max(last_version.get(event["stream_id"], 0), event["stream_version"])
    problems = []
    headers = {"Authorization": f"Bearer {tokens['office']}"}
    for case_id, (collection, key) in sorted(recorder.cases.items()):
        status = None
        for _ in range(5):
            status, response_headers, text, error = request(
                "127.0.0.1", service.port, "GET", f"/v1/{collection}/{case_id}", None, headers,
                timeout=args.request_timeout)
            if is_definitive(status):
                break
            time.sleep(0.5)
        if status != 200:
            _, _, _, title, detail = parse_answer(status, response_headers, text)
            problems.append(f"{case_id} (created by {key}): GET answered {status or error} {title or ''} "
                            f"{detail or ''}".rstrip())
            continue
        version = etag_version(response_headers.get("etag"))
        if version is None or version < last_version.get(case_id, 0):
            problems.append(f"{case_id}: GET answered version {version}, the log holds "
                            f"{last_version.get(case_id)} for this run's commands")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(REPO, ".build/release/concord"),
                        help="the concord executable (default: .build/release/concord of this checkout)")
    parser.add_argument("--reference", default=os.path.join(REPO, "deploy/demo-reference.json"),
                        help="reference data to import (default: deploy/demo-reference.json)")
    parser.add_argument("--rate", type=float, default=50, help="first sends of commands per second (default 50)")
    parser.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the service (default 3)")
    parser.add_argument("--pg-restarts", type=int, default=3, help="pg_ctl restart -m immediate (default 3)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before the first fault (default 5)")
    parser.add_argument("--interval", type=float, default=8, help="seconds between two faults (default 8)")
    parser.add_argument("--tail", type=float, default=10,
                        help="seconds of load after the last fault (default 10)")
    parser.add_argument("--flows", default="complaint=2,transfer=1,referral=1",
                        help="weights of the case flows (default complaint=2,transfer=1,referral=1)")
    parser.add_argument("--race-fraction", type=float, default=0.1,
                        help="share of commands sent as two identical copies at the same moment (default 0.1)")
    parser.add_argument("--replay-fraction", type=float, default=0.1,
                        help="share of 2xx commands sent again, same key and body, at the end of their flow "
                             "(default 0.1)")
    parser.add_argument("--request-timeout", type=float, default=10, help="client timeout per request (default 10)")
    parser.add_argument("--give-up", type=float, default=120,
                        help="seconds a client retries one command before it counts as unresolved (default 120)")
    parser.add_argument("--projection-deadline", type=float, default=5,
                        help="seconds after the last fault for the projection to reach the head (default 5)")
    parser.add_argument("--settle", type=float, default=30,
                        help="seconds to wait, after the load, for the projection to reach the head (default 30)")
    parser.add_argument("--liveness", type=float, default=20,
                        help="a service alive but not answering /healthz for this many seconds is killed and started "
                             "again, and the self_healing check fails; 0: never (default 20)")
    parser.add_argument("--seed", default=None, help="seed of the clients' choices (default: random)")
    parser.add_argument("--port", type=int, default=0, help="the service's port (default: a free one)")
    parser.add_argument("--pg-bin", default=None, help="PostgreSQL server binaries (default: newest under "
                                                        "/usr/lib/postgresql)")
    parser.add_argument("--pg-restart-command", default=None,
                        help="with DATABASE_URL: shell command that restarts that server (immediate)")
    parser.add_argument("--workdir", default=None, help="where records and logs go (default: a new /tmp dir)")
    parser.add_argument("--keep-cluster", action="store_true", help="keep the private cluster's data at the end")
    args = parser.parse_args()

    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        print(f"faults: no concord executable at {args.binary} (build it, or give --binary)", file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL") and args.pg_restarts and not args.pg_restart_command:
        print("faults: with DATABASE_URL, give --pg-restart-command (or --pg-restarts 0)", file=sys.stderr)
        return 2
    args.seed = args.seed or uuid.uuid4().hex[:8]
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="concord-faults-", dir="/tmp"))
    os.makedirs(args.workdir, exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    try:
        return run(args, run_id)
    except HarnessError as error:
        print(f"faults: harness error: {error}", file=sys.stderr)
        return 2


def binary_origin(binary: str) -> str:
    """The commit of the checkout the binary was built in (`+dirty` with uncommitted changes), and its build time."""
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(os.path.getmtime(binary)))
    if "/.build/" not in binary:
        return f"built {built}"
    checkout = binary.split("/.build/")[0]
    try:
        commit = subprocess.run(["git", "-C", checkout, "describe", "--always", "--dirty=+dirty", "--abbrev=12"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return f"checkout {checkout} at {commit or '?'} (now), built {built}"


def run(args, run_id: str) -> int:
    args.origin = binary_origin(args.binary)
    log(f"run {run_id}, seed {args.seed}, binary {args.binary} ({args.origin}), records in {args.workdir}")
    cluster = Cluster(args, args.workdir)
    service = None
    watch = None
    try:
        cluster.create()
        env = dict(os.environ, DATABASE_URL=cluster.owner_url, CONCORD_SERVICE_DATABASE_URL=cluster.service_url)
        env.setdefault("LOG_LEVEL", "info")
        concord(args, env, "migrate")
        concord(args, env, "reference", "import", args.reference)
        if not (os.environ.get("CONCORD_MASTER_KEY_FILE") or os.environ.get("CONCORD_MASTER_KEY")):
            key_file = os.path.join(args.workdir, "master.key")
            if not os.path.exists(key_file):
                concord(args, env, "subject", "keygen", key_file)
            env["CONCORD_MASTER_KEY_FILE"] = key_file
        tokens = {"office": make_token(args, env, "office", "OFF-001"),
                  "cct": make_token(args, env, "programme", "CCT"),
                  "pension": make_token(args, env, "programme", "PENSION"),
                  "health": make_token(args, env, "programme", "HEALTH")}
        service = Service(args, cluster, env, args.workdir)
        service.start()
        service.wait_up()
        service.supervisor.start()
        log(f"concord serve on 127.0.0.1:{service.port}; PostgreSQL "
            + (f"private cluster {cluster.datadir}" if cluster.own else "from DATABASE_URL"))

        recorder = Recorder(os.path.join(args.workdir, "answers.jsonl"))
        clients = Clients(args, service, tokens, recorder, run_id)
        watch = ProjectionWatch(cluster, service)
        watch.thread.start()
        t_load = now()
        clients.start()

        faults = []
        plan = []
        for i in range(max(args.kills, args.pg_restarts)):
            if i < args.kills:
                plan.append("kill")
            if i < args.pg_restarts:
                plan.append("pg")
        time.sleep(args.warmup)
        for index, fault in enumerate(plan):
            if index:
                time.sleep(args.interval)
            t0 = now()
            w0 = time.time()
            if fault == "kill":
                service.restarting = True
                service.kill()
                service.start()
                try:
                    up = service.wait_up(timeout=60)
                except HarnessError as error:
                    log(str(error))
                    up = None
                service.restarting = False
                t1 = now()
                log(f"fault {index + 1}/{len(plan)} at {wall_clock(w0)}: SIGKILL of concord serve; restarted, "
                    "/healthz after " + (f"{up:.2f} s" if up is not None else "never"))
            else:
                cluster.restart_immediate()
                t1 = now()
                log(f"fault {index + 1}/{len(plan)} at {wall_clock(w0)}: PostgreSQL restart -m immediate, accepting "
                    f"after {t1 - t0:.2f} s")
            faults.append((fault, t0, t1, w0))
        time.sleep(args.tail)
        t_last_fault = faults[-1][2] if faults else t_load

        log("load stops; waiting for in-flight commands")
        clients.stop.set()
        if not clients.join(args.give_up + args.request_timeout + 30):
            log("some clients are still retrying; they count as unresolved")
        t_load_end = now()
        # The projection after the load: how long until it holds the whole log.
        settle = None
        while now() - t_load_end < args.settle:
            value = watch.sample()
            if value and value[0] >= value[1]:
                settle = now() - t_load_end
                break
            time.sleep(0.2)
        watch.stop.set()
        watch.thread.join()
        final = watch.sample()
        recorder.close()

        log("reading the log (concord audit export) and verifying it (concord audit verify)")
        log_by_key, log_events = read_log(args, env, f"faults-{run_id}-")
        verify = concord(args, env, "audit", "verify", check=False, timeout=600)
        verify_text = (verify.stdout + verify.stderr).strip()
        verify_ok = verify.returncode == 0 and "log is sound" in verify.stdout
        reachable_at_end = request("127.0.0.1", service.port, "GET", "/healthz", None, {}, timeout=2)[0] == 200
        log(f"reading back the {len(recorder.cases)} cases the run created")
        unreadable = read_back(args, service, tokens, recorder, log_by_key)
        sigterm = service.terminate(10)
        service.supervisor.join(5)
        service_exits = [code for _, code in service.unexpected_exits]
        unreachable = [b - a for a, b in service.unreachable]
        watchdog = service.watchdog_restarts
        service = None

        idempotency = read_idempotency(cluster, f"faults-{run_id}-")
        findings = analyse(recorder, log_by_key, idempotency)
        per_key = collections.Counter(len(v) for v in log_by_key.values())
        caught = watch.caught_up_after(t_last_fault)
        lying, ready_total = watch.stale_readyz()
        summary = {
            "run": run_id, "seed": args.seed, "binary": args.binary, "binary_origin": args.origin,
            "workdir": args.workdir,
            "load_seconds": round(t_load_end - t_load, 1),
            "commands_sent": len(recorder.commands),
            "achieved_rate": round(len(recorder.commands) / max(t_load_end - t_load, 1e-9), 1),
            "latency_2xx_ms": latency_figures(recorder),
            "commands_2xx": findings["acknowledged"],
            "cases_created": len(recorder.cases),
            "attempts": dict(recorder.attempts),
            "retries": sum(v for k, v in recorder.attempts.items() if k != "first"),
            "statuses": {str(k): v for k, v in sorted(recorder.statuses.items(), key=lambda kv: str(kv[0]))},
            "flows_completed": dict(recorder.flows_done), "flows_stopped_by_end_of_load": dict(recorder.flows_stopped),
            "flows_cut_short_by_a_refusal": dict(recorder.flows_aborted),
            "fault_times": [f"{'SIGKILL' if f[0] == 'kill' else 'PostgreSQL restart'} at {wall_clock(f[3])}, "
                            f"back after {f[2] - f[1]:.2f} s" for f in faults],
            "kills": sum(1 for f in faults if f[0] == "kill"),
            "pg_restarts": sum(1 for f in faults if f[0] == "pg"),
            "service_exits_on_its_own": service_exits,
            "service_unreachable_s": {"total": round(sum(unreachable), 1),
                                      "longest": round(max(unreachable, default=0), 1),
                                      "stretches": len(unreachable)},
            "watchdog_restarts": watchdog,
            "reachable_at_end": reachable_at_end,
            "log_events_total": log_events,
            "log_events_of_run": sum(len(v) for v in log_by_key.values()),
            "events_per_key": {str(k): v for k, v in sorted(per_key.items())},
            "time_to_projection_head_after_last_fault_s": None if caught is None else round(caught, 2),
            "projection_head_after_load_s": None if settle is None else round(settle, 2),
            "projection_final": None if final is None else {"checkpoint": final[0], "head": final[1]},
            "readyz_200_while_projection_stalled": f"{lying} of {ready_total}",
            "verify": verify_text.splitlines()[-1] if verify_text else "",
            "sigterm_exit_s": None if sigterm is None else round(sigterm, 2),
        }
        checks = {
            "lost": len(findings["lost"]) == 0,
            "duplicated": len(findings["duplicated"]) == 0,
            "differing": len(findings["differing"]) == 0,
            "refused_written": len(findings["refused_written"]) == 0,
            "answer_vs_log": len(findings["answer_vs_log"]) == 0,
            "refused": len(findings["refused"]) == 0,
            "readable": len(unreadable) == 0,
            "unresolved": len(findings["unresolved"]) == 0,
            "projection": caught is not None and caught <= args.projection_deadline and settle is not None,
            "verify": verify_ok,
            "self_healing": watchdog == 0 and not service_exits and reachable_at_end,
            "sigterm": sigterm is not None,
        }
        summary["checks"] = {name: ("ok" if passed else "FAILED") for name, passed in checks.items()}
        findings["readable"] = unreadable
        summary["findings"] = {name: findings[name] for name in checks if isinstance(findings.get(name), list)}
        with open(os.path.join(args.workdir, "summary.json"), "w") as out:
            json.dump(summary, out, indent=2)
        print_summary(summary, findings, checks, args)
        if not all(checks.values()):
            args.keep_cluster = True  # for looking into the findings (psql on the socket; pg_ctl start first)
        return 0 if all(checks.values()) else 1
    finally:
        if watch:
            watch.stop.set()
        if service:
            service.supervising = False
            service.kill()
        cluster.stop()
        if cluster.own and not args.keep_cluster:
            shutil.rmtree(os.path.join(args.workdir, "pg", "data"), ignore_errors=True)
        elif cluster.own:
            log(f"cluster data kept: {cluster.datadir} (start it with pg_ctl -D as its owner; then psql "
                f"'{cluster.owner_url}')")


def latency_figures(recorder: Recorder) -> str:
    with recorder.lock:
        times = sorted((a.t1 - a.t0) * 1000 for answers in recorder.answers.values() for a in answers
                       if a.status is not None and 200 <= a.status < 300)
    if not times:
        return "-"
    pick = lambda q: times[min(len(times) - 1, int(len(times) * q))]
    return f"p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms"


def print_summary(summary: dict, findings: dict, checks: dict, args) -> None:
    a = summary["attempts"]
    lines = [
        "",
        "===== concord fault harness =====",
        f"binary             {summary['binary']} ({summary['binary_origin']})",
        f"load               {summary['load_seconds']} s, target {args.rate:g} commands/s, achieved "
        f"{summary['achieved_rate']:g}/s (faults and retries included), {args.clients} clients; 2xx latency "
        f"{summary['latency_2xx_ms']}",
        f"commands sent      {summary['commands_sent']} (distinct idempotency keys)",
        f"answered 2xx       {summary['commands_2xx']}",
        f"retries            {summary['retries']} (after an error or 5xx: {a.get('retry', 0)}, racing copies: "
        f"{a.get('race', 0)}, replays after 2xx: {a.get('replay', 0)})",
        f"statuses           " + ", ".join(f"{k}: {v}" for k, v in summary["statuses"].items()),
        f"flows              completed {sum(summary['flows_completed'].values())}, ended by the end of the load "
        f"{sum(summary['flows_stopped_by_end_of_load'].values())}, cut short by a refusal or no answer "
        f"{sum(summary['flows_cut_short_by_a_refusal'].values())} {summary['flows_cut_short_by_a_refusal'] or ''}",
        f"faults             {summary['kills']} SIGKILLs, {summary['pg_restarts']} PostgreSQL restarts "
        f"(-m immediate)",
        *[f"                     {line}" for line in summary["fault_times"]],
        f"service            exits on its own: {len(summary['service_exits_on_its_own'])} (statuses "
        f"{summary['service_exits_on_its_own'] or '-'}; negative: killed by that signal, e.g. -4 SIGILL from a "
        f"Swift trap); see serve.log",
        f"                   unreachable {summary['service_unreachable_s']['total']} s outside the kills "
        f"(longest {summary['service_unreachable_s']['longest']} s); watchdog restarts {summary['watchdog_restarts']} "
        f"(--liveness {args.liveness:g} s); answering at the end: {'yes' if summary['reachable_at_end'] else 'NO'}",
        f"log                {summary['log_events_total']} events, {summary['log_events_of_run']} with this run's keys "
        f"(events per key: {summary['events_per_key']})",
        f"lost               {len(findings['lost'])}",
        f"duplicated         {len(findings['duplicated'])}",
        f"differing replays  {len(findings['differing'])}",
        f"refused, written   {len(findings['refused_written'])}",
        f"answer vs log      {len(findings['answer_vs_log'])}",
        f"refused (4xx)      {len(findings['refused'])}",
        f"unreadable cases   {len(findings['readable'])} of {summary['cases_created']} read back",
        f"unresolved         {len(findings['unresolved'])}",
        "projection head    "
        + (f"{summary['time_to_projection_head_after_last_fault_s']} s after the last fault"
           if summary["time_to_projection_head_after_last_fault_s"] is not None else "NEVER reached after the last fault")
        + "; after the load: "
        + (f"{summary['projection_head_after_load_s']} s" if summary["projection_head_after_load_s"] is not None
           else f"not within {args.settle:g} s")
        + f"; final {summary['projection_final']}",
        f"readyz             200 while the projection was stalled: {summary['readyz_200_while_projection_stalled']}",
        f"audit verify       {summary['verify']}",
        "SIGTERM            " + (f"exited in {summary['sigterm_exit_s']} s" if summary["sigterm_exit_s"] is not None
                                  else "did NOT exit within 10 s (killed)"),
        "checks             " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in checks.items()),
    ]
    for name, items in findings.items():
        if isinstance(items, list) and items:
            lines.append(f"--- {name}: {len(items)} (first 5)")
            lines += [f"    {item[:400]}" for item in items[:5]]
    lines.append(f"records            {args.workdir}/answers.jsonl, summary.json, serve.log"
                 + (", pg/postgres.log" if not os.environ.get("DATABASE_URL") else ""))
    lines.append("RESULT             " + ("PASS" if all(checks.values()) else
                                          "FAIL: " + ", ".join(k for k, v in checks.items() if not v)))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
