"""Self and inclusive CPU share per function from `perf record -g` samples.

perf cannot read the symbols of a Swift release binary with its debug info on
this toolchain, so this maps the binary's frames itself (nm of a copy without
debug info) and demangles with `swift demangle`.

  perf record -F 2000 -g -p PID -- sleep 10
  python3 bench/perf-attribute.py perf.data BINARY [TOP] [NAME_IN_PERF_SCRIPT]

CALLERS=SUBSTRING (environment): instead, for the samples with a frame whose raw
symbol contains SUBSTRING (e.g. swift_getGenericMetadata, malloc), the share per
nearest caller in BINARY: which of our functions pay for that runtime work.
"""
import bisect
import collections
import subprocess
import sys

data, binary = sys.argv[1], sys.argv[2]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
import os
import tempfile

nodebug = os.path.join(tempfile.mkdtemp(prefix="perf-attribute-"), "nodebug")
subprocess.run(["objcopy", "--strip-debug", binary, nodebug], check=True)
syms = []
for line in subprocess.run(["nm", "-n", "--defined-only", nodebug], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        syms.append((int(parts[0], 16), parts[2]))
addrs = [a for a, _ in syms]
name_of_binary = sys.argv[4] if len(sys.argv) > 4 else binary.rsplit("/", 1)[-1]


def resolve(ip, sym, dso):
    if sym != "[unknown]" or name_of_binary not in dso:
        return sym if sym != "[unknown]" else dso.rsplit("/", 1)[-1].rstrip(")")
    i = bisect.bisect_right(addrs, ip) - 1
    return syms[i][1] if i >= 0 else "?"


out = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"], capture_output=True, text=True).stdout
self_c, incl_c = collections.Counter(), collections.Counter()
callers_of = os.environ.get("CALLERS")
samples = 0
for block in out.split("\n\n"):
    frames, in_binary = [], []
    for line in block.strip().splitlines():
        p = line.split(None, 1)
        if len(p) < 2:
            continue
        ip = int(p[0], 16)
        rest = p[1]
        sym, _, dso = rest.rpartition(" (")
        frames.append(resolve(ip, sym.strip(), dso))
        if callers_of:
            in_binary.append(name_of_binary in dso)
    if not frames:
        continue
    samples += 1
    if callers_of:
        hit = next((i for i, f in enumerate(frames) if callers_of in f), None)
        if hit is not None:
            caller = next((frames[j] for j in range(hit + 1, len(frames)) if in_binary[j]), "(none of ours)")
            self_c[caller] += 1
            incl_c[callers_of] += 1
        continue
    self_c[frames[0]] += 1
    for f in set(frames):
        incl_c[f] += 1

names = list({n for n, _ in self_c.most_common(top)} | {n for n, _ in incl_c.most_common(top * 2)})
dem = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names), capture_output=True,
                     text=True).stdout.splitlines()
pretty = dict(zip(names, dem)) if len(dem) == len(names) else {n: n for n in names}
print(f"{samples} samples")
if callers_of:
    print(f"--- {100 * incl_c[callers_of] / max(1, samples):.2f}% of samples are in {callers_of}; by nearest caller of ours:")
    for n, c in self_c.most_common(top):
        print(f"{100 * c / samples:6.2f}%  {pretty.get(n, n)[:160]}")
    sys.exit(0)
print("--- self")
for n, c in self_c.most_common(top):
    print(f"{100 * c / samples:6.2f}%  {pretty.get(n, n)[:160]}")
print("--- inclusive")
for n, c in incl_c.most_common(top * 2):
    print(f"{100 * c / samples:6.2f}%  {pretty.get(n, n)[:160]}")
