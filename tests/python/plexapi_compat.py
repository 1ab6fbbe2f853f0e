"""python-plexapi, an existing Plex client library, against plex-butler-sim.

The simulator must be a Plex Media Server as far as other clients can
tell: python-plexapi connects with PlexServer(url, token) (which reads
GET / first), lists the Butler tasks and starts one, reads and changes the
Butler's settings, and lists who is watching, as against a real server.

It also checks the other way round: settings changed by the plex-butler
command read back through python-plexapi.

Usage: python plexapi_compat.py PATH_TO_PLEX_BUTLER_SIM PATH_TO_PLEX_BUTLER

Starts the simulator on 127.0.0.1 with a port the OS picks, and stops it
whatever happens. Exits non-zero on any failed check.
"""

import os
import subprocess
import sys
import tempfile

from plexapi.exceptions import BadRequest
from plexapi.server import PlexServer
from plexapi.settings import Settings

TOKEN = "plexapi-compat-token-3f1a"


def start_simulator(binary, *extra_args):
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--token", TOKEN, "--task-duration", "60s"]
        + list(extra_args),
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


def read_settings(server, ids):
    """The current values of the settings `ids`, as python-plexapi reads
    them (typed: bool, int or str), fetched afresh from the server.

    Builds Settings from a new GET /:/prefs as PlexServer.settings does:
    that property is cached, and Settings.reload() in plexapi 4.18.3 reads
    only the first <Setting> of the answer (it reloads from data[0]), so it
    cannot show a change."""
    settings = Settings(server, server.query(Settings.key))
    return {id: settings.get(id).value for id in ids}


def check_settings(server):
    """Reads the Butler's settings, changes some through python-plexapi's
    own calls, and sees the change in the settings and in the task list."""
    before = read_settings(
        server,
        ["ButlerStartHour", "ButlerEndHour", "ButlerTaskRefreshLibraries", "ButlerTaskBackupDatabase"],
    )
    check(
        before == {
            "ButlerStartHour": 2,
            "ButlerEndHour": 5,
            "ButlerTaskRefreshLibraries": False,
            "ButlerTaskBackupDatabase": True,
        },
        "settings() reads the window and the task switches with their types",
    )
    hours = server.settings.get("ButlerStartHour").enumValues
    check(sorted(hours) == list(range(24)), "the start hour offers the hours 0 to 23")

    server.settings.get("ButlerStartHour").set(3)
    server.settings.get("ButlerTaskOptimizeDatabase").set(False)
    server.settings.save()
    after = read_settings(server, ["ButlerStartHour", "ButlerTaskOptimizeDatabase"])
    check(
        after == {"ButlerStartHour": 3, "ButlerTaskOptimizeDatabase": False},
        "settings changed through python-plexapi read back changed",
    )
    optimize = next(task for task in server.butlerTasks() if task.name == "OptimizeDatabase")
    check(not optimize.enabled, "a switch turned off disables its task in butlerTasks()")


def plex_butler(cli, url, *args):
    """Runs the plex-butler command against the simulator; fails the check
    on a non-zero exit. The token travels in the environment, as the
    command's README advises; a home of its own keeps the user's config
    out and the command's state file in."""
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "PLEX_TOKEN": TOKEN}
        done = subprocess.run(
            [cli, "--server", url, *args], env=env, capture_output=True, text=True, timeout=60
        )
    if done.returncode != 0:
        raise AssertionError(f"plex-butler {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def check_cli_settings(cli, binary):
    """Changes the Butler's settings with the plex-butler command, on a
    simulator of its own, and reads them back through python-plexapi."""
    proc, url = start_simulator(binary)
    try:
        plex_butler(cli, url, "window", "set", "3-6")
        plex_butler(cli, url, "disable", "OptimizeDatabase")
        server = PlexServer(url, TOKEN, timeout=10)
        after = read_settings(
            server, ["ButlerStartHour", "ButlerEndHour", "ButlerTaskOptimizeDatabase"]
        )
        check(
            after == {"ButlerStartHour": 3, "ButlerEndHour": 6, "ButlerTaskOptimizeDatabase": False},
            "settings changed by plex-butler (window set 3-6, disable) read back through python-plexapi",
        )
        check(
            server.settings.get("ButlerStartHour").value == 3,
            "plex.settings.get('ButlerStartHour').value is 3",
        )
        optimize = next(task for task in server.butlerTasks() if task.name == "OptimizeDatabase")
        check(not optimize.enabled, "a task disabled by plex-butler is disabled in butlerTasks()")
    finally:
        stop(proc)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    check_cli_settings(sys.argv[2], sys.argv[1])
    proc, url = start_simulator(sys.argv[1], "--sessions", "2")
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

        check_settings(server)

        sessions = server.sessions()
        check(len(sessions) == 2, "sessions() lists the two playbacks")
        check(
            all(s.usernames and s.players and s.players[0].state == "playing" for s in sessions),
            "each playback has a user and a playing player",
        )
    finally:
        stop(proc)
    print("python-plexapi works against the simulator")


if __name__ == "__main__":
    main()
