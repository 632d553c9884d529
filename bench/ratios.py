"""Prints the side-by-side table of bench/peers.sh from its JSON lines."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]


def find(label_prefix, closed):
    for r in rows:
        label = r.get("label", "")
        mode = r.get("mode", label)
        if label.startswith(label_prefix) and ("c=" in mode) == closed and "skipped" not in r:
            return r
    return None


def cpu(r):
    if r is None:
        return None
    if "cpu_us" in r and isinstance(r["cpu_us"], list):
        return r["cpu_us"][0] if r["cpu_us"] else None
    return r.get("cpu_us")


sb_c, sb_o = find("switchboard", True), find("switchboard", False)
mock_o = find("mock-alone", False)
print(f"{'system':<40}{'req/s c=64':>12}{'x SB':>7}{'CPU us/req':>12}{'x SB':>7}{'p50 ms':>9}{'p99 ms':>9}{'p999 ms':>9}  (open loop)")
for name, label in [("switchboard (socket, separate client)", "switchboard"), ("liter-llm (client, no router)", "liter-llm"),
                    ("tensorzero (embedded gateway)", "tensorzero"), ("litellm Router", "litellm"), ("mock alone", "mock-alone")]:
    skipped = [r for r in rows if r.get("label") == label and "skipped" in r]
    if skipped:
        print(f"{name:<40} skipped: {skipped[0]['skipped']}")
        continue
    c, o = find(label, True), find(label, False)
    if c is None:
        continue
    rps_ratio = c["rps"] / sb_c["rps"] if sb_c else float("nan")
    cu = cpu(c)
    cpu_ratio = cu / cpu(sb_c) if (cu is not None and sb_c and cpu(sb_c)) else float("nan")
    cu_s = f"{cu:.0f}" if cu is not None else "-"
    ol = f"{o['p50_ms']:>9.2f}{o['p99_ms']:>9.2f}{o['p999_ms']:>9.2f}  at {o.get('mode', o['label'])}" if o else ""
    print(f"{name:<40}{c['rps']:>12.0f}{rps_ratio:>7.2f}{cu_s:>12}{cpu_ratio:>7.2f}{ol}")
if mock_o:
    print(f"(the mock alone adds p99 {mock_o['p99_ms']:.2f} ms at 1,000 req/s; CPU per request is the daemon's for"
          " Switchboard, the whole process's incl. its Python driver for the in-process peers)")
