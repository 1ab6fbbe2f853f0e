"""python-plexapi, an existing Plex client library, against plex-butler-sim.

The simulator must be a Plex Media Server as far as other clients can
tell: python-plexapi connects with PlexServer(url, token) (which reads
GET / first), lists the Butler tasks and starts one, as against a real
server.

Usage: python plexapi_compat.py PATH_TO_PLEX_BUTLER_SIM

Starts the simulator on 127.0.0.1 with a port the OS picks, and stops it
whatever happens. Exits non-zero on any failed check.
"""

import subprocess
import sys

from plexapi.exceptions import BadRequest
from plexapi.server import PlexServer

TOKEN = "plexapi-compat-token-3f1a"


def start_simulator(binary):
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--token", TOKEN, "--task-duration", "60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    prefix = "listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"the simulator did not say where it listens: {line!r}")
    return proc, line[len(prefix):]


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    proc, url = start_simulator(sys.argv[1])
    try:
        server = PlexServer(url, TOKEN, timeout=10)
        check(server.version.startswith("1.43.2"), "PlexServer connects and reads the version")

        tasks = server.butlerTasks()
        names = {task.name for task in tasks}
        check(len(tasks) == 23, "butlerTasks() lists the 23 tasks of a PMS 1.43.2")
        backup = next(task for task in tasks if task.name == "BackupDatabase")
        check(backup.interval == 3 and backup.enabled, "BackupDatabase runs every 3 days, enabled")
        check(backup.title == "Backup Database", "BackupDatabase has its title")

        server.runButlerTask("BackupDatabase")
        check(True, "runButlerTask('BackupDatabase') is accepted")
        butler = [a for a in server.activities if a.type == "butler"]
        check(len(butler) == 1, "the running backup shows among the activities")

        try:
            server.runButlerTask("NoSuchTask")
        except BadRequest:
            check(True, "runButlerTask of an unknown name is refused")
        else:
            raise AssertionError("runButlerTask of an unknown name was accepted")
        check("NoSuchTask" not in names, "the unknown name is not listed")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("python-plexapi works against the simulator")


if __name__ == "__main__":
    main()
