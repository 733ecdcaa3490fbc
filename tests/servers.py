"""Real servers started on loopback for tests: PostgreSQL now, Redis later.

Each returns None with a reason when the server cannot be had on this machine, so the
calling fixture can skip visibly instead of failing obscurely.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: list[str]
    counter: int = 0

    def url(self, database: str) -> str:
        return f"postgresql://slate@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg2
        self.counter += 1
        name = f"slate_test_{os.getpid()}_{self.counter}"
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="slate", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(self.run_as + [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_postgres() -> tuple[PostgresServer | None, str]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        return None, "PostgreSQL is not installed (apt-get install postgresql)"
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="slate-pg-"))
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as the postgres system user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' user to run the server as"
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    port = free_port()
    try:
        subprocess.run(run_as + [str(bin_dir / "initdb"), "-D", str(data), "-U", "slate", "-A", "trust",
                       "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run(run_as + [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l",
                       str(root / "log"), "-o",
                       f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                       "start"], check=True, capture_output=True, timeout=90)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        return None, f"PostgreSQL could not be started: {exc}"
    server = PostgresServer(bin_dir, data, port, run_as)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, ""
        except OSError:
            time.sleep(0.2)
    server.stop()
    return None, "PostgreSQL started but never accepted connections"


@dataclass
class RedisServer:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_redis() -> tuple[RedisServer | None, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        return None, "redis-server is not installed (scripts/system-packages installs it as root)"
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--protected-mode", "yes"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return RedisServer(process, port), ""
        except OSError:
            time.sleep(0.1)
    process.kill()
    return None, "redis-server started but never accepted connections"
