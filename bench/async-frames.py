"""Async frame sizes of a Swift binary, largest first.

An async function's frame (its context, allocated on the task's heap when it is
called and held until it returns) has a fixed size, stored in the function's async
function pointer (symbol suffix `Tu`): a 32-bit relative offset, then the size as a
32-bit word. Reading those off the binary says what each call in flight holds,
without a run. Works on release and debug builds (debug frames are larger).

  python3 bench/async-frames.py BINARY [SUBSTRING] [TOP]

SUBSTRING filters the demangled names (e.g. RequestExecutor); TOP defaults to 40.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

binary = sys.argv[1]
pattern = sys.argv[2] if len(sys.argv) > 2 else ""
top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
# nm cannot read the symbols of a Swift binary with its debug info on this toolchain.
nodebug = os.path.join(tempfile.mkdtemp(prefix="async-frames-"), "nodebug")
subprocess.run(["objcopy", "--strip-debug", binary, nodebug], check=True)
sections = []
for line in subprocess.run(["readelf", "-S", "-W", nodebug], capture_output=True, text=True, check=True).stdout.splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m and int(m.group(2), 16):
        sections.append((int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16)))
data = open(nodebug, "rb").read()


def file_offset(address):
    for start, offset, size in sections:
        if start <= address < start + size:
            return offset + address - start
    return None


frames = []
for line in subprocess.run(["nm", "--defined-only", nodebug], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[2].endswith("Tu"):
        offset = file_offset(int(parts[0], 16))
        if offset is not None and offset + 8 <= len(data):
            frames.append((struct.unpack_from("<iI", data, offset)[1], parts[2]))
frames.sort(reverse=True)
names = subprocess.run(["swift", "demangle", "--compact"], input="\n".join(s for _, s in frames),
                       capture_output=True, text=True, check=True).stdout.splitlines()
shown = 0
for (size, _), name in zip(frames, names):
    name = name.removeprefix("async function pointer to ")
    if pattern in name:
        print(f"{size:7d}  {name[:220]}")
        shown += 1
        if shown >= top:
            break
