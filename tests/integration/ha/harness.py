"""Process-level harness: real Flink JobManager/TaskManager processes on this machine.

Each supported Flink version (HA_IT_VERSIONS) runs from its own distribution
($FLINKFLEET_CACHE/flink/<version>, assembled by the flink_dist role) with the adapter jar
module_utils/_ha_plugin.py picks for it.

Shared by the failover test, the soak run and bench/failover. Each cluster gets a work dir
whose lib/ is a real directory of symlinks into the read-only distribution (bin/ is
copied: the scripts resolve symlinks to find FLINK_HOME), plus our jar in lib/, a generated
conf/config.yaml and its own tmp, pid and log dirs.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

# The one exactly-once oracle (also used by the Ansible check module and the rollout scenario),
# imported the way Ansible sees module_utils.
import ansible.module_utils  # noqa: E402

for _utils in (REPO / "module_utils", REPO / "testbed" / "module_utils"):
    if str(_utils) not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(str(_utils))
from ansible.module_utils._flink_output import check_exactly_once, read_committed  # noqa: E402,F401
from ansible.module_utils._ha_plugin import adapter_module  # noqa: E402
HA_PLUGIN = REPO / "ha-plugin"
JOB_JAR = HA_PLUGIN / "test-job" / "target" / "flinkfleet-ha-test-job.jar"
JOB_CLASS = "io.flinkfleet.ha.testjob.SequenceJob"
# Extra JVM options of every JobManager and TaskManager started here. Tests on 2 cores: the C1
# compiler only (no C2) starts a JobManager with ~40% less CPU (10 s -> 6 s measured). The
# benchmarks set it empty (`make bench-failover`): their figures are for the JVM as shipped.
JVM_OPTS = os.environ.get("FLINKFLEET_HA_IT_JVM_OPTS", "-XX:TieredStopAtLevel=1")
DEFAULT_VERSION = "2.3.0"
# The versions the failover tests run on (the latest patch of each supported line); the Makefile's
# ha-it assembles each distribution first. FLINKFLEET_HA_IT_VERSIONS overrides (space-separated).
HA_IT_VERSIONS = tuple(os.environ.get("FLINKFLEET_HA_IT_VERSIONS", "2.3.0 1.20.5 2.0.2 2.1.3 2.2.1").split())


def one_per_adapter(versions) -> tuple:
    """The newest of the given versions for each adapter module (2.0.x-2.2.x share one): the
    standby test runs once per adapter, the SIGKILL test on every version (CI time)."""
    newest = {}
    for version in versions:
        module = adapter_module(version, str(HA_PLUGIN))
        key = tuple(int(part) for part in version.split("."))
        if module not in newest or key > newest[module][0]:
            newest[module] = (key, version)
    return tuple(v for v in versions if v in {version for _key, version in newest.values()})


def plugin_jar(version: str = DEFAULT_VERSION) -> Path:
    module = adapter_module(version, str(HA_PLUGIN))
    return HA_PLUGIN / module / "target" / f"flinkfleet-ha-{module}-0.1.0-SNAPSHOT.jar"


def pvc_factory(version: str = DEFAULT_VERSION) -> str:
    """io.flinkfleet.ha.flink<major><minor>.PvcHaServicesFactory of the version's adapter."""
    module = adapter_module(version, str(HA_PLUGIN))
    return f"io.flinkfleet.ha.{module.replace('-', '').replace('.', '')}.PvcHaServicesFactory"


PLUGIN_JAR = plugin_jar()
PVC_FACTORY = pvc_factory()


def cache_dir() -> Path:
    return Path(os.environ.get("FLINKFLEET_CACHE") or Path.home() / ".cache/flinkfleet")


def flink_home(version: str = DEFAULT_VERSION) -> Path:
    if version == DEFAULT_VERSION and os.environ.get("FLINK_HOME"):
        return Path(os.environ["FLINK_HOME"])
    return cache_dir() / "flink" / version


# --- Every process we start is recorded, so that reap.py can end what an interrupted run left --

def registry_path() -> Path:
    return cache_dir() / "ha-it" / "processes.json"


def proc_start_time(pid: int) -> str | None:
    """The kernel's start time of pid (field 22 of /proc/<pid>/stat), None if it is gone.

    Stays the same across exec (the launcher script execs java), unlike the command line, and a
    reused pid gets a different one: pid + start time names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _update_registry(change) -> None:
    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entries = json.loads(path.read_text()) if path.exists() else []
        except ValueError:
            entries = []
        entries = change(entries)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        os.replace(tmp, path)


def record_process(pid: int, name: str, cmd: list[str]) -> None:
    entry = {"pid": pid, "start_time": proc_start_time(pid), "name": name, "cmdline": cmd,
             "recorded_by": os.getpid()}
    _update_registry(lambda entries: [e for e in entries if e.get("pid") != pid] + [entry])


def forget_process(pid: int) -> None:
    _update_registry(lambda entries: [e for e in entries if e.get("pid") != pid])


def ensure_jars() -> None:
    """Builds the plugin and test job if they are missing (offline after the first build)."""
    if JOB_JAR.exists() and all(plugin_jar(v).exists() for v in HA_IT_VERSIONS):
        return
    flink_runtime = Path.home() / ".m2/repository/org/apache/flink/flink-runtime"
    offline = ["-o"] if all((flink_runtime / v).exists() for v in ("2.3.0", "2.0.2", "1.20.5")) else []
    subprocess.run(["mvn", "-B", "-q", *offline, "-f", str(HA_PLUGIN), "-DskipTests", "package"], check=True)


_ISSUED_PORTS: set[int] = set()


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range, not handed out before in this process.

    Below the range, because a port bind(0) returned is from the same pool the kernel draws
    every outgoing connection's source port from (Prometheus scraping a JobManager not up yet,
    a TaskManager's RPC and data ports): one of them can take it before the JobManager binds
    it, and the JobManager exits. Not handed out before, because two JobManagers given the
    same metrics port scrape as one."""
    low = _ephemeral_low()
    while True:
        # Below 30000 too: the Kubernetes NodePort range (30000-32767) reaches loopback on a testbed node.
        port = random.randrange(max(1024, low - 20000), min(low, 30000))
        if port in _ISSUED_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ISSUED_PORTS.add(port)
        return port


def _yaml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(str(v)) if isinstance(v, str) else str(v)


class FlinkWork:
    """One test cluster's directory. `ha` holds the HA keys (ours or ZooKeeper's)."""

    def __init__(self, root: Path, ha: dict, extra: dict | None = None, launch: str = "script",
                 version: str = DEFAULT_VERSION):
        self.root = root
        self.version = version
        self.plugin_jar = plugin_jar(version)
        self.launch = launch
        # JVM command lines the scripts produced, per set of -D overrides (one per JobManager
        # "slot": a standby with its own ports is a second slot).
        self._jm_cmdlines: dict[tuple, list[str] | None] = {}
        self.home = flink_home(version)
        if not (self.home / "lib" / f"flink-dist-{version}.jar").exists():
            raise RuntimeError(f"Flink {version} distribution not found at {self.home} (make ha-it assembles it)")
        self.rest_port = free_port()
        self.rpc_port = free_port()
        self.procs: list[Proc] = []
        self._layout()
        self.write_config(ha, extra or {})

    def _layout(self) -> None:
        for d in ("bin", "lib", "conf", "log", "tmp", "pid", "ha", "checkpoints", "savepoints", "out"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        # bin/ scripts resolve their own symlinks to find FLINK_HOME, so they are copied (small).
        for f in (self.home / "bin").iterdir():
            if not (self.root / "bin" / f.name).exists():
                shutil.copy2(f, self.root / "bin" / f.name)
        for f in (self.home / "lib").iterdir():
            link = self.root / "lib" / f.name
            if not link.exists():
                link.symlink_to(f)
        jar = self.root / "lib" / self.plugin_jar.name
        if not jar.exists():
            jar.symlink_to(self.plugin_jar)
        for sub in ("opt", "plugins"):
            if not (self.root / sub).exists() and (self.home / sub).exists():
                (self.root / sub).symlink_to(self.home / sub)
        for f in (self.home / "conf").iterdir():
            if f.name.startswith("log4j") or f.name.startswith("logback"):
                shutil.copy(f, self.root / "conf" / f.name)

    def write_config(self, ha: dict, extra: dict) -> None:
        dist_opts = ""
        for line in (self.home / "conf" / "config.yaml").read_text().splitlines():
            if line.strip().startswith("all:") and "--add-opens" in line:
                dist_opts = line.split("all:", 1)[1].strip()
        r = self.root
        conf = {
            "env.java.opts.all": " ".join(filter(None, [dist_opts, JVM_OPTS])),
            "env.pid.dir": str(r / "pid"),
            "env.log.dir": str(r / "log"),
            "io.tmp.dirs": str(r / "tmp"),
            "web.tmpdir": str(r / "tmp"),
            "jobmanager.bind-host": "127.0.0.1",
            "jobmanager.rpc.address": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.host": "127.0.0.1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": self.rest_port,
            "jobmanager.rpc.port": self.rpc_port,
            "jobmanager.memory.process.size": "1024m",
            "taskmanager.memory.process.size": "1280m",
            "taskmanager.numberOfTaskSlots": 2,
            "parallelism.default": 1,
            "state.checkpoints.dir": f"file://{r / 'checkpoints'}",
            "state.savepoints.dir": f"file://{r / 'savepoints'}",
            "state.checkpoints.num-retained": 3,
            "high-availability.storageDir": f"file://{r / 'ha'}",
            "high-availability.cluster-id": "flinkfleet-test",
            # REST caches stats for web.refresh-interval otherwise; recovery figures would lag.
            "rest.cache.execution-graph.timeout": "100ms",
            "rest.cache.checkpoint-statistics.timeout": "100ms",
            "web.refresh-interval": "1s",
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 1000,
            "restart-strategy.fixed-delay.delay": "1s",
        }
        conf.update(ha)
        conf.update(extra)
        self.conf = conf
        text = "".join(f"{k}: {_yaml_value(v)}\n" for k, v in conf.items())
        (self.root / "conf" / "config.yaml").write_text(text)

    def _env(self) -> dict:
        env = dict(os.environ)
        env.pop("FLINK_HOME", None)  # the scripts must use the work dir, not the dist
        env["FLINK_PID_DIR"] = str(self.root / "pid")
        env["FLINK_LOG_DIR"] = str(self.root / "log")
        env["FLINK_CONF_DIR"] = str(self.root / "conf")
        return env

    def start(self, kind: str, name: str, **overrides) -> "Proc":
        """Starts a JobManager or TaskManager; overrides become -D dynamic properties.

        With launch="direct", a JobManager restart re-executes the JVM command line that the
        scripts produced for the first JobManager with the same overrides, skipping the scripts'
        helper JVMs (as a container whose entrypoint execs java would); "script" always goes
        through bin/.
        """
        script = {"jm": "jobmanager.sh", "tm": "taskmanager.sh"}[kind]
        log = self.root / "log" / f"{name}.out"
        dyn = [a for k, v in overrides.items() for a in ("-D", f"{k}={v}")]
        slot = tuple(sorted((k, str(v)) for k, v in overrides.items()))
        if kind == "jm" and self.launch == "direct" and self._jm_cmdlines.get(slot):
            cmd = self._jm_cmdlines[slot]
        else:
            cmd = [str(self.root / "bin" / script), "start-foreground", *dyn]
        p = Proc(name, cmd, log, self._env())
        self.procs.append(p)
        if kind == "jm" and slot not in self._jm_cmdlines:
            self._jm_cmdlines[slot] = p.jvm_cmdline()
        return p

    def flink_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.root / "bin" / "flink"), *args], env=self._env(), capture_output=True,
                              text=True, timeout=timeout)

    def rest(self) -> "Rest":
        return Rest(f"http://127.0.0.1:{self.rest_port}")

    def log_tails(self, lines: int = 25) -> str:
        """The last lines of every log of this work dir, for a failure message."""
        parts = []
        for f in sorted((self.root / "log").glob("*")):
            if f.is_file():
                tail = f.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {f.name} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts) or f"(no logs under {self.root / 'log'})"

    def stop_all(self) -> None:
        for p in self.procs:
            p.kill9()
        self.procs.clear()


class Proc:
    """A process in its own session, so SIGKILL reaches the JVM under the launcher script."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict):
        self.name = name
        self.log = log
        self._fh = open(log, "ab")
        self.popen = subprocess.Popen(cmd, stdout=self._fh, stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True)
        self.pid = self.popen.pid
        record_process(self.pid, name, cmd)

    def jvm_cmdline(self, timeout: float = 60) -> list[str] | None:
        """The JVM's argv once the launcher script has exec'd java (None if it never does)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            try:
                argv = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                return None
            if argv and argv[0].endswith(b"java") and any(a.startswith(b"org.apache.flink") for a in argv):
                return [a.decode() for a in argv if a]
            time.sleep(0.05)
        return None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> float:
        """SIGKILL the process group; returns the time of the kill."""
        t = time.monotonic()
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait(timeout=30)
        self._fh.close()
        forget_process(self.pid)
        return t

    def wait_exit(self, timeout: float) -> int | None:
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        # Its process group may still hold children (helper JVMs): kill9() forgets it later.
        return rc


class Rest:
    def __init__(self, base: str):
        self.base = base

    def get(self, path: str, timeout: float = 2.0):
        with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
            return json.loads(r.read())

    def try_get(self, path: str):
        try:
            return self.get(path)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, json.JSONDecodeError):
            return None

    def post(self, path: str, body: dict, timeout: float = 10.0):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def job_running_restored(rest: Rest, job_id: str):
    """The job is RUNNING, every task RUNNING, and restored from a checkpoint: the restore info."""
    job = rest.try_get(f"/jobs/{job_id}")
    if not job or job.get("state") != "RUNNING":
        return None
    if not job.get("vertices") or any(v.get("status") != "RUNNING" for v in job["vertices"]):
        return None
    cps = rest.try_get(f"/jobs/{job_id}/checkpoints")
    restored = (cps or {}).get("latest", {}).get("restored") if cps else None
    return restored or None


def checkpoint_in_flight(rest: Rest, job_id: str) -> bool:
    cps = rest.try_get(f"/jobs/{job_id}/checkpoints")
    return bool(cps and cps.get("counts", {}).get("in_progress", 0) > 0)


def latest_completed_id(rest: Rest, job_id: str) -> int | None:
    cps = rest.try_get(f"/jobs/{job_id}/checkpoints")
    done = (cps or {}).get("latest", {}).get("completed") if cps else None
    return done["id"] if done else None


def submit_job(work: FlinkWork, *job_args: str) -> str:
    r = work.flink_cli("run", "-d", "-c", JOB_CLASS, str(JOB_JAR), *job_args)
    if r.returncode != 0:
        raise RuntimeError(f"flink run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    for line in r.stdout.splitlines():
        if "JobID" in line:
            return line.split()[-1]
    raise RuntimeError(f"no JobID in flink run output:\n{r.stdout}")


def read_output(out_dir: Path) -> list[tuple[int, int, int]]:
    """Committed sink output only (testbed/module_utils/_flink_output.py: hidden files are uncommitted)."""
    return read_committed(str(out_dir))


# --- The failover scenario, shared by the test, the soak run and the benchmark -------------

def start_cluster(work: FlinkWork, job_args: list[str], startup_timeout: float = 120, tm_overrides: dict | None = None):
    """JobManager + TaskManager up, the job submitted and two checkpoints completed."""
    jm = work.start("jm", "jm-1")
    tm = work.start("tm", "tm-1", **(tm_overrides or {}))
    rest = work.rest()

    def up():
        for p in (jm, tm):
            if not p.alive():
                raise RuntimeError(f"{p.name} exited ({p.popen.returncode}) before the cluster was up:\n"
                                   + work.log_tails())
        return (rest.try_get("/overview") or {}).get("taskmanagers", 0) > 0

    try:
        wait_for(up, startup_timeout, interval=0.2, what="JobManager REST and a TaskManager")
    except TimeoutError as e:
        raise TimeoutError(f"{e}\n{work.log_tails()}") from None
    job_id = submit_job(work, *job_args)
    wait_for(lambda: (latest_completed_id(rest, job_id) or 0) >= 2, startup_timeout, interval=0.2,
             what="two completed checkpoints")
    return jm, rest, job_id


def kill_during_checkpoint_and_restart(work: FlinkWork, jm: Proc, rest: Rest, job_id: str, n: int,
                                       recovery_timeout: float = 180) -> tuple[Proc, dict]:
    """SIGKILLs the JobManager while a checkpoint is in flight, restarts it at once (as a pod
    restart would), and waits until the job runs again restored from a checkpoint."""
    # Progress first (a checkpoint completed by this JobManager), so each kill loses real work.
    wait_for(lambda: latest_completed_id(rest, job_id), 90, interval=0.1, what="a completed checkpoint")
    wait_for(lambda: checkpoint_in_flight(rest, job_id), 60, interval=0.02, what="a checkpoint in flight")
    before = latest_completed_id(rest, job_id) or 0
    in_flight = checkpoint_in_flight(rest, job_id)
    t_kill = jm.kill9()
    wall_kill_ms = time.time() * 1000
    new_jm = work.start("jm", f"jm-{n}")
    restored = wait_for(lambda: job_running_restored(rest, job_id), recovery_timeout, interval=0.05,
                        what=f"job RUNNING and restored after kill {n - 1}")
    t_restored = time.monotonic()
    return new_jm, {
        "kill": n - 1,
        "completed_before_kill": before,
        "checkpoint_in_flight_at_kill": in_flight,
        "restored_id": restored["id"],
        "restore_timestamp_ms": restored.get("restore_timestamp"),
        "kill_wall_ms": wall_kill_ms,
        "recovery_s": round(t_restored - t_kill, 3),
        # Other work on the machine slows JVM start-up; keep the context with each figure.
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
    }


def latest_epoch(meta: Path) -> int:
    """The newest epoch taken under the metadata root (epochs/epoch-<n>), 0 if none."""
    epochs = meta / "epochs"
    return max((int(p.name.split("-")[1]) for p in epochs.iterdir()), default=0) if epochs.exists() else 0


# --- A leader and a standby on one volume (the soak test and bench/failover's pvc-standby) ---

class JobManagerSlot:
    """One JobManager's ports; restarting the slot re-executes the same JVM command line
    (launch="direct"), so a killed leader comes back as the same process would in its pod."""

    def __init__(self, name: str, rest_port: int, metrics_port: int, overrides: dict):
        self.name = name
        self.rest = Rest(f"http://127.0.0.1:{rest_port}")
        self.metrics_port = metrics_port
        self.overrides = overrides
        self.proc: Proc | None = None
        self.starts = 0

    def start(self, work: FlinkWork) -> None:
        self.starts += 1
        self.proc = work.start("jm", f"{self.name}-{self.starts}", **self.overrides)

    def metrics(self) -> dict[str, float] | None:
        return scrape_ha_metrics(self.metrics_port)


def second_slot(name: str, metrics_port: int, leader_server_port: int | None = None) -> JobManagerSlot:
    """A second JobManager on the same config with its own REST, RPC, metrics (and leader server) ports."""
    rest_port = free_port()
    overrides = {"rest.port": rest_port, "jobmanager.rpc.port": free_port(),
                 "high-availability.pvc.metrics.port": metrics_port}
    if leader_server_port:
        overrides["high-availability.pvc.leader-server.port"] = leader_server_port
    return JobManagerSlot(name, rest_port, metrics_port, overrides)


def standby_waiting(slot: JobManagerSlot, leader: JobManagerSlot):
    """The slot's HA metrics once it waits on the lock; raises at once if it leads beside the leader."""
    m = slot.metrics()
    if m and m["flinkfleet_ha_leader"] == 1:
        raise AssertionError(f"{slot.name} leads while {leader.name} is alive (its metrics: {leader.metrics()}): {m}")
    return m if m and m["flinkfleet_ha_lock_waiting"] == 1 else None


def kill_leader_standby_takes_over(work: FlinkWork, leader: JobManagerSlot, standby: JobManagerSlot, job_id: str,
                                   meta: Path, n: int, recovery_timeout: float = 180) -> dict:
    """SIGKILLs the leader while a checkpoint is in flight; the standby takes the lock and the
    next epoch; the killed slot is restarted at once (it must come back as the new standby);
    returns when the job runs again on the standby, restored. The caller swaps the roles."""
    rest = leader.rest
    # Progress first (a checkpoint completed by this leader), so each kill loses real work.
    wait_for(lambda: latest_completed_id(rest, job_id), 90, interval=0.1, what="a completed checkpoint")
    wait_for(lambda: checkpoint_in_flight(rest, job_id), 60, interval=0.02, what="a checkpoint in flight")
    before = latest_completed_id(rest, job_id) or 0
    in_flight = checkpoint_in_flight(rest, job_id)
    epoch = latest_epoch(meta)
    # Wall time before the kill: the standby may log its lock before kill9() has reaped the leader.
    wall_kill_ms = time.time() * 1000
    t_kill = leader.proc.kill9()
    wait_for(lambda: latest_epoch(meta) > epoch, 90, interval=0.02, what=f"kill {n}: the standby's epoch")
    takeover_s = time.monotonic() - t_kill
    epoch_after = latest_epoch(meta)
    # Only after the takeover, so that the standby, not the restarted JVM, is the one to get the lock.
    leader.start(work)
    restored = wait_for(lambda: job_running_restored(standby.rest, job_id), recovery_timeout, interval=0.05,
                        what=f"kill {n}: job RUNNING and restored on {standby.name}")
    return {
        "kill": n,
        "epoch_before": epoch,
        "epoch_after": epoch_after,
        "new_leader": standby.name,
        "completed_before_kill": before,
        "checkpoint_in_flight_at_kill": in_flight,
        "restored_id": restored["id"],
        "restore_timestamp_ms": restored.get("restore_timestamp"),
        "kill_wall_ms": wall_kill_ms,
        "takeover_s": round(takeover_s, 3),
        "recovery_s": round(time.monotonic() - t_kill, 3),
        "loadavg_1m": os.getloadavg()[0],
    }


def stop_job(rest: Rest, job_id: str, target: Path, timeout: float = 120) -> None:
    """Stop-with-savepoint (no drain): the sink commits everything up to the savepoint."""
    rest.post(f"/jobs/{job_id}/stop", {"targetDirectory": f"file://{target}", "drain": False})
    wait_for(lambda: (rest.try_get(f"/jobs/{job_id}") or {}).get("state") == "FINISHED", timeout,
             interval=0.2, what="job FINISHED after stop-with-savepoint")


class ZooKeeper:
    """Debian's ZooKeeper on loopback with its own data dir and port (the bench baseline)."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        (root / "data").mkdir(parents=True, exist_ok=True)
        cfg = root / "zoo.cfg"
        # Defaults as shipped (tickTime 2000 → max session 40 s); only port/dirs are ours.
        cfg.write_text(f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={root / 'data'}\n"
                       f"clientPort={self.port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n")
        jar = Path("/usr/share/java/zookeeper.jar")
        if not jar.exists():
            raise RuntimeError("Debian zookeeper is not installed (apt-get install zookeeper)")
        self.proc = Proc("zookeeper", ["java", "-Xmx256m", "-cp", f"{root}:{jar}",
                                       "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)],
                         root / "zookeeper.out", dict(os.environ))
        wait_for(self._ruok, 60, interval=0.2, what="ZooKeeper")

    def _ruok(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"srvr")
                return b"Zookeeper version" in s.recv(1024)
        except OSError:
            return False

    @property
    def quorum(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.kill9()


# --- The HA metrics endpoint (high-availability.pvc.metrics.port) and a real Prometheus -------

def scrape_ha_metrics(port: int) -> dict[str, float] | None:
    """Samples of a JobManager's HA metrics endpoint, name (with labels) -> value; None if down."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


class Prometheus:
    """Debian's Prometheus (/usr/bin/prometheus) on loopback scraping the given targets every
    second, with its own config and data dir; recorded like every other process (reap.py)."""

    def __init__(self, root: Path, targets: list[str], job: str = "flinkfleet-ha"):
        binary = Path("/usr/bin/prometheus")
        if not binary.exists():
            raise RuntimeError("Debian prometheus is not installed (apt-get install prometheus)")
        self.root = root
        self.port = free_port()
        (root / "data").mkdir(parents=True, exist_ok=True)
        cfg = root / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                       f"  - job_name: {job}\n    static_configs:\n      - targets: {json.dumps(targets)}\n")
        self.proc = Proc("prometheus", [str(binary), f"--config.file={cfg}", f"--storage.tsdb.path={root / 'data'}",
                                        f"--web.listen-address=127.0.0.1:{self.port}"],
                         root / "prometheus.out", dict(os.environ))
        wait_for(lambda: self._get("/-/ready") is not None, 60, interval=0.2, what="Prometheus ready")

    def _get(self, path: str):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as r:
                return r.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return None

    def query(self, promql: str) -> list[dict]:
        """Instant vector result of promql ([] while nothing matches)."""
        body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        return json.loads(body)["data"]["result"] if body else []

    def stop(self) -> None:
        self.proc.kill9()
