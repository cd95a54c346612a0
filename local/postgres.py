"""The project-local Postgres warehouse: a real server, no Docker, data inside the project.

    python -m local.postgres start|stop|status|url|dotenv [--role ROLE]

Settings (environment variables, else the project's `.env`, else the defaults below):
    WAREHOUSE_PORT       TCP port on 127.0.0.1 (default 5433, so a system Postgres on 5432 is left alone)
    WAREHOUSE_DATA_DIR   cluster directory (default <project>/.pgdata)
    WAREHOUSE_USER       the owner, superuser created by initdb (default moovitamix)
    WAREHOUSE_PASSWORD   its password; WAREHOUSE_<ROLE>_PASSWORD those of the component roles
    WAREHOUSE_DB         database created on first start (default moovitamix)
    PG_BIN               directory of initdb/pg_ctl (default: newest /usr/lib/postgresql/*/bin)

`dotenv` writes the project's `.env` (git-ignored, mode 0600) with this server's
connection and generated passwords, adding what it lacks: Meltano reads that file under
whatever the shell sets, so `meltano run daily` from a plain shell reaches this server,
and its system database (state, runs) is the warehouse's schema `meltano`.

The server listens on 127.0.0.1 only and asks every connection for a password
(scram-sha-256); a cluster made by an earlier version with trust authentication is moved
to passwords at its next start. Each start applies the warehouse's roles and grants
(orchestrate/roles.sql) with the passwords of `.env`. Its memory, parallelism and WAL
settings are derived from the machine at each start (server_settings); a server already
running keeps the ones it was started with. A shared or production warehouse is reached
by setting WAREHOUSE_HOST, WAREHOUSE_USER and the passwords instead of starting this one.
"""

from __future__ import annotations

import argparse
import glob
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from dotenv import dotenv_values
from psycopg import sql

from orchestrate.project import DOTENV, PROJECT_ROOT, load_dotenv
from orchestrate.roles import COMPONENT_ROLES, password_variable, prepare_warehouse, role_passwords
from orchestrate.settings import number
from orchestrate.startup import StartupError, last_line, log, port_in_use

# The local server's connection: what `.env` says when nothing else does.
LOCAL_DEFAULTS = {
    "WAREHOUSE_HOST": "127.0.0.1",
    "WAREHOUSE_PORT": "5433",
    "WAREHOUSE_USER": "moovitamix",
    "WAREHOUSE_DB": "moovitamix",
}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def warehouse_is_local(settings: Mapping[str, str] = os.environ) -> bool:
    """Whether the configured warehouse is this project's server (else nothing to start)."""
    return settings.get("WAREHOUSE_HOST", LOCAL_DEFAULTS["WAREHOUSE_HOST"]) in LOCAL_HOSTS


def write_dotenv() -> None:
    """The local server's connection and this machine's own secrets, for Meltano and every
    step: what `.env` lacks is added, what it holds is kept."""
    held = dotenv_values(DOTENV) if DOTENV.exists() else {}
    wanted = {
        **LOCAL_DEFAULTS,
        # URL-safe: the loader's also goes into Meltano's database_uri.
        "WAREHOUSE_PASSWORD": secrets.token_urlsafe(24),
        **{password_variable(role): secrets.token_urlsafe(24) for role in COMPONENT_ROLES},
        # The salt of the pseudonymous user key: a real one, known to this machine only.
        "PII_SALT": secrets.token_urlsafe(32),
    }
    missing = [f"{name}={value}" for name, value in wanted.items() if name not in held]
    if not missing:
        log("dotenv.kept", path=str(DOTENV))
        return
    header = [] if DOTENV.exists() else [
        "# Written by `make install` for the project-local warehouse; never committed.",
        "# Meltano reads it under the shell's variables: export WAREHOUSE_* to go elsewhere.",
    ]
    descriptor = os.open(DOTENV, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as dotenv:
        dotenv.write("\n".join(header + missing) + "\n")
    DOTENV.chmod(0o600)
    log("dotenv.written", path=str(DOTENV), added=",".join(line.split("=")[0] for line in missing))


@dataclass(frozen=True)
class LocalPostgres:
    port: int
    data_dir: Path
    user: str
    database: str
    bin_dir: Path
    password: str = field(repr=False, default="")
    role_passwords: Mapping[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_env(cls, settings: Mapping[str, str] = os.environ) -> LocalPostgres:
        port = int(number("WAREHOUSE_PORT", settings) or LOCAL_DEFAULTS["WAREHOUSE_PORT"])
        data_dir = Path(settings.get("WAREHOUSE_DATA_DIR", PROJECT_ROOT / ".pgdata")).resolve()
        return cls(
            port=port,
            data_dir=data_dir,
            user=settings.get("WAREHOUSE_USER", LOCAL_DEFAULTS["WAREHOUSE_USER"]),
            database=settings.get("WAREHOUSE_DB", LOCAL_DEFAULTS["WAREHOUSE_DB"]),
            bin_dir=find_pg_bin(),
            password=settings.get("WAREHOUSE_PASSWORD", ""),
            role_passwords=role_passwords(settings),
        )

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "cluster"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def url_with_password(self, role: str | None = None) -> str:
        """What `make db-url` prints: the owner's URI, or a component role's, password included."""
        if role is None:
            user, password = self.user, self.password
        elif role in self.role_passwords:
            user, password = role, self.role_passwords[role]
        else:
            raise StartupError(f"no password for role {role!r} (roles: {', '.join(COMPONENT_ROLES)}; see .env)")
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{self.database}"

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname=database,
            autocommit=True, connect_timeout=15,
        )

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        # initdb and pg_ctl refuse to run as root: run them as the postgres system user then.
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def is_running(self) -> bool:
        if not (self.cluster_dir / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.cluster_dir)).returncode == 0

    def running_port(self) -> int | None:
        """Port of the running server, read from postmaster.pid (line 4)."""
        pid_file = self.cluster_dir / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def init_cluster(self) -> None:
        self.require_password()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        # initdb reads the owner's password from a file: never on a command line.
        password_file = self.data_dir / ".owner-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as secret:
            secret.write(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres", "postgres")
        try:
            result = self._run(
                "initdb",
                "-D",
                str(self.cluster_dir),
                "-U",
                self.user,
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            password_file.unlink()
        if result.returncode != 0:
            raise StartupError(f"initdb failed in {self.cluster_dir}: {last_line(result.stderr)}")
        log("warehouse.init", data_dir=str(self.cluster_dir))

    def start(self) -> None:
        if self.is_running():
            if self.running_port() != self.port:
                raise StartupError(
                    f"the warehouse in {self.cluster_dir} already runs on port {self.running_port()},"
                    f" not {self.port}: run `make stop` first or set WAREHOUSE_PORT={self.running_port()}"
                )
            self.require_password()
            self.ensure_database()  # WAREHOUSE_DB may name a database this server does not have yet
            log("warehouse.already_running", url=self.url)
            return
        if port_in_use(self.port):
            raise StartupError(f"port {self.port} on 127.0.0.1 is already in use (set WAREHOUSE_PORT to a free port)")
        if not (self.cluster_dir / "PG_VERSION").exists():
            self.init_cluster()
        self.require_password()
        # No unix socket: its path length is limited and the project may live deep in a tree.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        options += "".join(f" -c {name}={value}" for name, value in server_settings(*machine_resources()).items())
        result = self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.cluster_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
        )
        if result.returncode != 0:
            raise StartupError(
                f"Postgres could not start on port {self.port}: {last_line(result.stderr or result.stdout)}"
                f" (see {self.log_file})"
            )
        self.ensure_database()
        log("warehouse.started", url=self.url, data_dir=str(self.cluster_dir))

    def require_password(self) -> None:
        if not self.password:
            raise StartupError("WAREHOUSE_PASSWORD is not set: run `make install`, which writes it into .env")

    def ensure_database(self) -> None:
        """The database, the owner's password required, the roles and grants applied."""
        self.require_scram()
        try:
            with self.connect("postgres") as admin:
                if admin.execute("select 1 from pg_database where datname = %s", (self.database,)).fetchone() is None:
                    admin.execute(sql.SQL("create database {}").format(sql.Identifier(self.database)))
            with self.connect(self.database) as owner:
                prepare_warehouse(owner, self.role_passwords)
        except psycopg.OperationalError as error:
            raise StartupError(
                f"cannot log in to the warehouse on port {self.port} as {self.user}: {last_line(str(error))}"
                f" (WAREHOUSE_PASSWORD in .env must be the one this cluster in {self.cluster_dir} was made with)"
            ) from error

    def fresh_database(self, database: str) -> None:
        """An empty database with the warehouse's schemas and grants (tests, benchmarks)."""
        with self.connect("postgres") as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        with self.connect(database) as owner:
            prepare_warehouse(owner)

    def require_scram(self) -> None:
        """A cluster made with trust authentication (earlier versions) asks for passwords from now on."""
        hba = self.cluster_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        if not any(line.split()[-1:] == ["trust"] for line in lines if not line.lstrip().startswith("#")):
            return
        with self.connect("postgres") as admin:
            admin.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(self.user), sql.Literal(self.password)
                )
            )
        rewritten = [
            line.rsplit("trust", 1)[0] + "scram-sha-256"
            if not line.lstrip().startswith("#") and line.split()[-1:] == ["trust"]
            else line
            for line in lines
        ]
        hba.write_text("\n".join(rewritten) + "\n")
        result = self._run("pg_ctl", "reload", "-D", str(self.cluster_dir))
        if result.returncode != 0:
            raise StartupError(f"Postgres did not reload its authentication rules: {last_line(result.stderr)}")
        log("warehouse.passwords_required", hba=str(hba))

    def stop(self) -> None:
        if not self.is_running():
            log("warehouse.not_running", data_dir=str(self.cluster_dir))
            return
        # pg_ctl stops the server by the PID recorded in postmaster.pid.
        result = self._run("pg_ctl", "stop", "-D", str(self.cluster_dir), "-m", "fast", "-w")
        if result.returncode != 0:
            raise StartupError(f"Postgres did not stop: {last_line(result.stderr)}")
        log("warehouse.stopped", data_dir=str(self.cluster_dir))


def machine_resources() -> tuple[int, int]:
    """Physical memory in bytes and the CPUs this process may run on."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return memory, len(os.sched_getaffinity(0))


def server_settings(memory_bytes: int, cpus: int) -> dict[str, str]:
    """Server settings for a warehouse of a million records per endpoint, sized to the machine.

    Postgres' defaults fit a few hundred MB: at 1M records a build sorts, hashes and
    indexes ~70 M listens, which spilled to disk in 4 MB pieces and checkpointed every GB.
    The machine is shared with the recommender's Spark driver and executors, which run
    right after dbt, so Postgres takes a modest share of the memory and leaves the rest to
    the OS page cache (which it uses as much as its own buffers) and to Spark.
    """
    mb = memory_bytes // 2**20

    def clamp(value: int, low: int, high: int) -> str:
        return f"{max(low, min(value, high))}MB"

    workers = max(1, cpus // 2)
    return {
        # 1/16 of the memory: big scans and bulk writes use small ring buffers anyway, so
        # more would only duplicate the page cache and count against the job's memory.
        "shared_buffers": clamp(mb // 16, 128, 2048),
        # What the planner may assume is cached (own buffers + page cache): index scans of
        # the day-after lookups are then costed as the cheap reads they are.
        "effective_cache_size": clamp(mb // 2, 512, 65536),
        # Per sort or hash node, per process (hashes get hash_mem_multiplier = 2 times it):
        # 1/64 of the memory keeps a one-thread dbt build with its parallel workers within
        # a few GB, while a user's listens or a million-row join sort in memory.
        "work_mem": clamp(mb // 64, 4, 1024),
        # Index builds of the listen marts (70 M rows at 1M records) sort in few passes.
        "maintenance_work_mem": clamp(mb // 32, 64, 2048),
        # A leader plus one worker per two CPUs: parallel scans and hash joins speed up the
        # big builds without starving the other half of a machine shared with Spark.
        "max_parallel_workers_per_gather": str(workers),
        "max_parallel_maintenance_workers": str(workers),
        "max_parallel_workers": str(cpus),
        # A sandbox without replicas or archives: with minimal WAL a table created and
        # filled in one transaction (dbt's create table as, its indexes) writes no WAL at
        # all, only its data files. A replicated warehouse needs `replica`.
        "wal_level": "minimal",
        "max_wal_senders": "0",
        # The day after rewrites millions of rows in place (delete+insert by user): a
        # checkpoint every GB of WAL (the default) wrote the same pages again and again.
        "max_wal_size": "8GB",
        "checkpoint_timeout": "15min",
    }


def find_pg_bin() -> Path:
    configured = os.environ.get("PG_BIN")
    candidates = (
        [configured]
        if configured
        else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))[::-1]
    )
    for candidate in candidates:
        if candidate and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise StartupError("PostgreSQL server binaries not found (set PG_BIN, or install them: apt-get install postgresql)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status", "url", "dotenv"])
    parser.add_argument("--role", default=None, help="url: a component role's URI instead of the owner's")
    arguments = parser.parse_args(argv)
    action = arguments.action
    if action == "dotenv":
        write_dotenv()
        return 0
    load_dotenv()
    if action == "start" and not warehouse_is_local():
        log("warehouse.remote", host=os.environ["WAREHOUSE_HOST"])
        return 0
    try:
        warehouse = LocalPostgres.from_env()
        if action == "start":
            warehouse.start()
        elif action == "stop":
            warehouse.stop()
        elif action == "status":
            running = warehouse.is_running()
            print(f"{'running' if running else 'stopped'} {warehouse.url}")
            return 0 if running else 1
        else:
            warehouse.start()
            print(warehouse.url_with_password(arguments.role))
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
