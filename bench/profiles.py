"""Sampling profiles of running processes with py-spy (``bench/tickets.py --profile DIR``):
one collapsed-stack file per process, and the frames where the samples were taken.

Idle threads are left out (py-spy's default), so the counts are where CPU went.
"""
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
RATE = 50  # samples a second: the profiler's own cost stays small on a loaded machine
OWN_CODE = ("services/", "gateway/", "bench/")


class Profiler:
    """``py-spy record`` on each ``{pid: label}`` until :meth:`stop`."""

    def __init__(self, directory: Path, processes: dict[int, str], tag: str):
        directory.mkdir(parents=True, exist_ok=True)
        self.files, self.runs = {}, []
        for pid, label in processes.items():
            path = directory / f"{tag}-{label}-{pid}.txt"
            self.files[path] = label
            self.runs.append(subprocess.Popen(
                [str(PY_SPY), "record", "--nonblocking", "--format", "raw", "--rate", str(RATE),
                 "--full-filenames",
                 "--pid", str(pid), "--output", str(path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> dict[str, list[Path]]:
        for run in self.runs:
            run.send_signal(signal.SIGINT)
        for run in self.runs:
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
        by_label = {}
        for path, label in self.files.items():
            if path.exists():
                by_label.setdefault(label, []).append(path)
        return by_label


def _stacks(paths: list[Path]):
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                yield stack.split(";"), int(count)


def _short(frame: str) -> str:
    """``function (path:line)`` with the path cut to what follows site-packages or the
    project's root."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    for own in OWN_CODE:
        if own in where:
            where = own + where.split(own, 1)[1]
    return f"{name} ({where.rsplit(':', 1)[0]})"


ROOT = Path(__file__).resolve().parents[1]
# py-spy without --full-filenames names some project files by their base name alone.
OWN_NAMES = {path.name for top in ("services", "gateway") for path in (ROOT / top).rglob("*.py")}


def _own(frame: str) -> bool:
    where = frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]
    return any(part in where for part in OWN_CODE) or ("/" not in where and where in OWN_NAMES)


def top_frames(paths: list[Path], count: int = 8) -> tuple[int, list, list]:
    """(samples, the frames most samples were in (self), the project's own frames most
    samples passed through (inclusive))."""
    own, inclusive, total = Counter(), Counter(), 0
    for frames, n in _stacks(paths):
        total += n
        own[_short(frames[-1])] += n
        seen = {_short(frame) for frame in frames if _own(frame)}
        for frame in seen:
            inclusive[frame] += n
    return total, own.most_common(count), inclusive.most_common(count)


def report(by_label: dict[str, list[Path]], count: int = 8) -> list[str]:
    lines = []
    for label, paths in sorted(by_label.items()):
        total, own, inclusive = top_frames(paths, count)
        if not total:
            continue
        lines.append(f"-- {label}: {total} samples")
        lines.append("   self:      " + "; ".join(f"{100 * n / total:.0f}% {frame}"
                                                   for frame, n in own))
        lines.append("   inclusive: " + "; ".join(f"{100 * n / total:.0f}% {frame}"
                                                   for frame, n in inclusive))
    return lines
