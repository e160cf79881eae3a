#!/usr/bin/env python3
"""Turns bench/run's raw results into the table (stdout) and bench/results.json.

Every figure is the median over the rounds. Rows have the keys figure, ours, peer, ratio,
target, pass (plus units and p99s); threshold rows (latency, memory, start) compare ours with
the limit itself: ratio = ours / limit.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

if len(sys.argv) == 3 and sys.argv[1] == "--markdown":
    # The table of a results.json as Markdown (for docs/contributor/performance.md).
    d = json.load(open(sys.argv[2]))

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "**pass**" if v else "**FAIL**"
        if isinstance(v, float) and abs(v) >= 100:
            return f"{v:,.0f}"
        return str(v)

    print("| figure | ours | peer | ratio | target | pass | p99 ours / peer (ms) |")
    print("|---|---:|---:|---:|---|---|---:|")
    for r in d["rows"]:
        unit = "" if r["peer"] is not None else " " + r["unit"]
        p99 = f"{cell(r['ours_p99_ms'])} / {cell(r['peer_p99_ms'])}" if "ours_p99_ms" in r else ""
        passed = cell(r["pass"]) if r["pass"] is not None else "info"
        print(f"| {r['figure']} | {cell(r['ours'])}{unit} | {cell(r['peer'])} | {cell(r['ratio'])} | {r['target']} | {passed} | {p99} |")
    sys.exit(0)

raw_path, facts_path, out_path, params, jarvis_version, commit = sys.argv[1:7]
raw = [json.loads(l) for l in open(raw_path) if l.strip()]
facts = {}
for l in open(facts_path):
    if l.strip():
        f = json.loads(l)
        facts[(f["backend"], f["fact"])] = f["value"]


def med(backend, figure, who, key):
    xs = [r["r"][key] for r in raw if (r["backend"], r["figure"], r["who"]) == (backend, figure, who)]
    return round(statistics.median(xs), 2) if xs else None


def errors(backend, figure, who):
    return sum(r["r"]["non2xx"] + r["r"]["socket_errors"] for r in raw
               if (r["backend"], r["figure"], r["who"]) == (backend, figure, who))


rows = []


def throughput(backend, figure, peer, label, target):
    ours = med(backend, figure, "ours", "rps")
    theirs = med(backend, figure, peer, "rps")
    if ours is None or theirs is None:
        return
    ratio = round(ours / theirs, 2) if theirs else None
    # Failed requests are fast: a contender answering errors does not get to pass.
    total = sum(r["r"]["requests"] for r in raw if (r["backend"], r["figure"], r["who"]) == (backend, figure, "ours"))
    clean = errors(backend, figure, "ours") <= 0.01 * max(total, 1)
    rows.append({
        "figure": label,
        "ours": ours,
        "peer": theirs,
        "ratio": ratio,
        "target": f">= {target:.2f}x peer" if target else "info",
        "pass": (ratio is not None and ratio >= target and clean) if target else None,
        "unit": "requests/s",
        "ours_p99_ms": med(backend, figure, "ours", "p99_ms"),
        "peer_p99_ms": med(backend, figure, peer, "p99_ms"),
        "errors": {"ours": errors(backend, figure, "ours"), "peer": errors(backend, figure, peer)},
    })


def limit(label, value, lim, unit, extra=None):
    if value is None:
        return
    row = {
        "figure": label,
        "ours": value,
        "peer": None,
        "ratio": round(value / lim, 2),
        "target": f"< {lim} {unit}",
        "pass": value < lim,
        "unit": unit,
    }
    row.update(extra or {})
    rows.append(row)


def at_least(label, value, lim, unit, extra=None):
    if value is None:
        return
    row = {
        "figure": label,
        "ours": value,
        "peer": None,
        "ratio": round(value / lim, 2),
        "target": f">= {lim} {unit}",
        "pass": value >= lim,
        "unit": unit,
    }
    row.update(extra or {})
    rows.append(row)


def param(name, default=None):
    for p in params.split():
        if p.startswith(name + "="):
            return p.split("=", 1)[1]
    return default


PAGES = (("overview", "gym overview /app/gyms/{id}"), ("voice", "voice overview /app/gyms/{id}/voice"),
         ("sessions", "conversation list /app/gyms/{id}/voice/sessions"),
         ("members", "member list /app/gyms/{id}/members"))

for b, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
    if not any(r["backend"] == b for r in raw) and not any(k[0] == b for k in facts):
        continue
    if any(r["backend"] == b and r["figure"] in ("badge", "heartbeat") for r in raw):
        if b == "sqlite":
            throughput(b, "badge", "sqlx-loop", f"{name} badge lookup vs sqlx loop of the same SQL", 0.6)
            throughput(b, "heartbeat", "sqlx-loop", f"{name} heartbeat vs sqlx loop of its per-request SQL (token check)", 0.6)
            throughput(b, "heartbeat", "sqlx-loop-write", f"{name} heartbeat vs sqlx loop writing every heartbeat", None)
        else:
            throughput(b, "badge", "pgbench", f"{name} badge lookup vs pgbench of the same SQL", 0.6)
            throughput(b, "badge", "node", f"{name} badge lookup vs Node.js fastify+pg", 2.0)
            throughput(b, "heartbeat", "pgbench", f"{name} heartbeat vs pgbench of its per-request SQL (token check)", 0.6)
            throughput(b, "heartbeat", "pgbench-write", f"{name} heartbeat vs pgbench writing every heartbeat", None)
            throughput(b, "heartbeat", "node", f"{name} heartbeat vs Node.js fastify+pg", 2.0)
        limit(f"{name} heartbeat p99 at {param('connections')} kiosks during badge lookups",
              med(b, "mixed-heartbeat", "ours", "p99_ms"), 20, "ms",
              {"badge_rps_meanwhile": med(b, "mixed-badge", "ours", "rps"),
               "heartbeat_rps": med(b, "mixed-heartbeat", "ours", "rps"),
               "errors": {"ours": errors(b, "mixed-heartbeat", "ours") + errors(b, "mixed-badge", "ours")}})
        extra = {}
        if (b, "node_idle_rss_mb") in facts:
            extra = {"node_rss_mb": facts[(b, "node_idle_rss_mb")]}
        limit(f"{name} resident memory idle after start", facts.get((b, "idle_rss_mb")), 30, "MB", extra)
        extra = {}
        if (b, "node_loaded_rss_mb") in facts:
            extra = {"node_rss_mb": facts[(b, "node_loaded_rss_mb")]}
        limit(f"{name} resident memory after the load", facts.get((b, "loaded_rss_mb")), 60, "MB", extra)
        if b == "sqlite":
            limit(f"{name} start to ready, existing database", facts.get((b, "ready_ms")), 300, "ms",
                  {"rerun_after_load_ms": facts.get((b, "ready_ms_rerun")),
                   "resolution": "polled every ~5 ms with curl"})

    # Target 4: the dashboard at scale.
    scale = param("scale")
    if (b, "scale_seed_secs") in facts:
        limit(f"{name} jarvis demo seed --scale {scale}", facts[(b, "scale_seed_secs")], 120, "s",
              {"members": facts.get((b, "scale_members")), "turns": facts.get((b, "scale_turns"))})
    for page, label in PAGES:
        errs = errors(b, f"page-{page}", "ours")
        limit(f"{name} {label} p95, {scale} members, {param('page_connections')} users",
              med(b, f"page-{page}", "ours", "p95_ms"), 50, "ms",
              {"rps": med(b, f"page-{page}", "ours", "rps"),
               "p99_ms": med(b, f"page-{page}", "ours", "p99_ms"),
               "errors": {"ours": errs}})
        # Failed requests are fast: a page answering errors does not get to pass.
        if errs and rows and rows[-1]["figure"].startswith(f"{name} {label}"):
            rows[-1]["pass"] = False
    # Target 7: sign-in storm while kiosks heartbeat.
    signin_errs = errors(b, "signin", "ours")
    at_least(f"{name} sign-ins/s (Argon2id 19 MiB, t=2, p=1; {param('signin_connections')} at once) while kiosks heartbeat",
             med(b, "signin", "ours", "rps"), 20, "sign-ins/s",
             {"p99_ms": med(b, "signin", "ours", "p99_ms"), "errors": {"ours": signin_errs}})
    if signin_errs and rows and rows[-1]["figure"].startswith(f"{name} sign-ins/s"):
        rows[-1]["pass"] = False
    limit(f"{name} heartbeat p99 during the sign-in storm", med(b, "signin-heartbeat", "ours", "p99_ms"), 20, "ms",
          {"heartbeat_rps": med(b, "signin-heartbeat", "ours", "rps"),
           "errors": {"ours": errors(b, "signin-heartbeat", "ours")}})
    # Target 3: voice starts (overhead from the server's own timing) and memory per live call.
    if any(r["backend"] == b and r["figure"] == "voice-start" for r in raw):
        n = param("voice_calls")
        errs = errors(b, "voice-start", "ours")
        limit(f"{name} voice start overhead p99 at {n} concurrent starts (total minus the wait on the fake OpenAI)",
              med(b, "voice-start", "ours", "overhead_p99_ms"), 5, "ms",
              {"overhead_p50_ms": med(b, "voice-start", "ours", "overhead_p50_ms"),
               "provider_p50_ms": med(b, "voice-start", "ours", "provider_p50_ms"),
               "provider_p99_ms": med(b, "voice-start", "ours", "provider_p99_ms"),
               "total_p99_ms": med(b, "voice-start", "ours", "total_p99_ms"),
               "client_p99_ms": med(b, "voice-start", "ours", "client_p99_ms"),
               "errors": {"ours": errs}})
        # A start that failed or was not timed does not get to pass.
        timed = sum(r["r"]["timed"] for r in raw if (r["backend"], r["figure"]) == (b, "voice-start"))
        created = sum(r["r"]["created"] for r in raw if (r["backend"], r["figure"]) == (b, "voice-start"))
        if rows and rows[-1]["figure"].startswith(f"{name} voice start") and (errs or timed != created):
            rows[-1]["pass"] = False
        live = facts.get((b, "voice_live_calls"))
        before, during = facts.get((b, "voice_rss_before_mb")), facts.get((b, "voice_rss_live_mb"))
        if live and before is not None and during is not None:
            limit(f"{name} memory per live call ({live} live calls with the fake)",
                  round((during - before) / live, 3), 1, "MB",
                  {"rss_before_mb": before, "rss_live_mb": during, "live_calls": live})
            if str(live) != str(n):
                rows[-1]["pass"] = False
    # Target 8: scale-out.
    throughput(b, "scaleout-badge", "one-instance",
               f"{name} badge lookup, 2 instances vs 1 behind a round-robin balancer", 1.6)
    throughput(b, "scaleout-heartbeat", "one-instance",
               f"{name} heartbeat, 2 instances vs 1 behind a round-robin balancer", 1.6)


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return None


cpu = None
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
mem_gb = None
try:
    mem_gb = round(int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 1024 / 1024, 1)
except Exception:
    pass

machine = {
    "cpus": os.cpu_count(),
    "cpu": cpu,
    "memory_gb": mem_gb,
    "kernel": platform.release(),
    "load_average_at_start": facts.get(("machine", "load_average_at_start")),
    "load_average_at_end": os.getloadavg(),
    "postgresql": sh("psql", "--version"),
    "node": sh("node", "--version"),
    "wrk": (sh("sh", "-c", "wrk -v 2>&1 | head -1") or "").strip(),
    "rustc": sh("rustc", "--version"),
    "note": "everything (load generator, server, database) shares these cores on loopback; "
            "other processes may have been running",
}
doc = {
    "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "commit": commit,
    "jarvis": jarvis_version,
    "parameters": params,
    "machine": machine,
    "rows": rows,
    "facts": {f"{b}.{k}": v for (b, k), v in facts.items()},
    "runs": raw,
}
with open(out_path, "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "pass" if v else "FAIL"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


head = ["figure", "ours", "peer", "ratio", "target", "pass", "p99 ours/peer ms", "errors"]
table = [head]
for r in rows:
    p99 = ""
    if "ours_p99_ms" in r:
        p99 = f"{fmt(r['ours_p99_ms'])} / {fmt(r['peer_p99_ms'])}"
    table.append([r["figure"], f"{fmt(r['ours'])} {r['unit']}" if r["peer"] is None else fmt(r["ours"]),
                  fmt(r["peer"]), fmt(r["ratio"]), r["target"], fmt(r["pass"]) if r["pass"] is not None else "info", p99,
                  "/".join(str(v) for v in r.get("errors", {}).values())])
w = [max(len(str(row[i])) for row in table) for i in range(len(head))]
print()
print(f"JARVIS bench ({params}; {machine['cpus']} CPUs {cpu})")
for i, row in enumerate(table):
    print("  ".join(str(c).ljust(w[j]) for j, c in enumerate(row)))
    if i == 0:
        print("  ".join("-" * x for x in w))
print(f"\nwrote {out_path}")
