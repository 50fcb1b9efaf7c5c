"""What every benchmark result starts with: its name, when, which commit, which machine.
Imported by the Python parts of scripts/bench.sh and scripts/bench_steady.sh."""
import platform
import subprocess


def header(name):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    return {
        "name": name,
        "date_utc": subprocess.check_output(["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"]).decode().strip(),
        "git": subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip(),
        "machine": {"cpu": cpu, "cores": int(subprocess.check_output(["nproc"]).decode()),
                    "mem_gib": round(mem_kb / 2**20, 1), "kernel": platform.release(),
                    "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?")},
    }
