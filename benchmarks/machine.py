"""The machine line every benchmark report starts with: on a shared host the load explains more of
the variance than the code does, so it is always given."""

import os
import platform
from pathlib import Path


def _proc_field(path: str, key: str) -> str | None:
    try:
        return next((line.split(":", 1)[1].strip() for line in Path(path).read_text().splitlines()
                     if line.startswith(key)), None)
    except OSError:
        return None


def machine(load_when: str = "at start") -> str:
    """CPU model and count, RAM, Python, OS, and the 1/5/15-minute load average (`load_when`: when it
    was read, e.g. "at start" or "at the end")."""
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    mem_kib = _proc_field("/proc/meminfo", "MemTotal")
    ram = f", {int(mem_kib.split()[0]) / 2**20:.1f} GiB RAM" if mem_kib else ""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({cpu}){ram}, Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}; load average {load_when} {load}")
