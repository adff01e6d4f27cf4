#!/usr/bin/env bash
# `make demo`: a simulated store, a POS export with bad rows, the quarantine, four weeks of
# decisions on what the store knew each morning, the audit chain; then a hub with three stores
# syncing, an outage and recovery, an approval through the API, retraining and a rollout, the
# lift against the store's old process, and the report with charts at the end.
# Everything runs on embedded defaults in .demo/ (deleted and rebuilt on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.demo
DB=$DEMO/store.db
rm -rf "$DEMO" && mkdir -p "$DEMO"

step() { printf '\n\033[1m== %s\033[0m  [%d:%02d]\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }
# A one-line progress bar over the progress lines a command prints on stderr (stdout: a file).
bar() { python scripts/demo_progress.py "$@"; }
day() { python -c "import datetime as d; print(d.date.fromisoformat('$1') + d.timedelta(days=$2))"; }
WEEKS=4  # the weeks of decisions each store makes on its own history

step "1. Simulate store S001: 2,000 SKUs x 120 days, written through the ingest path"
edge-agent simulate --store S001 --skus 2000 --days 120 --seed 7 --db "$DB" \
  --pos-export "$DEMO/pos_sales_lines.csv" --bad-rows 16 --json 2>&1 > "$DEMO/simulate.json" \
  | bar --total 11 --label "simulate S001" --log "$DEMO/simulate-S001.log"
python - "$DEMO/simulate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  {r['skus']} SKUs x {r['days']} days ending {r['end_date']} in {r['seconds']} s")
for kind, n in r["rows_loaded"].items():
    print(f"  {kind:<14} {n:>9,} rows")
e = r["pos_export"]
print(f"  POS export of {e['day']}: {e['lines']:,} lines ({e['bad_rows']} deliberately bad) -> {e['file']}")
PY

step "2. Ingest the day's POS export (payment and customer columns are dropped)"
edge-agent ingest --db "$DB" "$DEMO/pos_sales_lines.csv"

step "3. What went to quarantine, with file, line and reason"
edge-agent quarantine --db "$DB" --limit 16

step "4. Re-importing the same file changes nothing"
edge-agent ingest --db "$DB" "$DEMO/pos_sales_lines.csv"

step "5. The missing SKU arrives in a product file: its quarantined line is re-processed"
printf 'sku,category,case_pack,price\nSKU-NOT-LISTED,GROCERY,6,3.49\n' > "$DEMO/late_products.csv"
edge-agent ingest --db "$DB" "$DEMO/late_products.csv"

END=$(python -c "import json,sys; print(json.load(open('$DEMO/simulate.json'))['end_date'])")
FIRST_DAY=$(day "$END" $((1 - 7 * WEEKS)))
step "6. $WEEKS weeks of decisions, $FIRST_DAY .. $END: each morning's cycle on what the store knew then"
echo "  each day D: sales up to D-1, on hand reported before D, orders placed before D; a manager"
echo "  reviews the orders the policy holds, a clerk does the shelf checks and records what was there"
python scripts/demo_weeks.py --db "$DB" --from "$FIRST_DAY" --to "$END" --drop "$DEMO/erp-weeks-S001" \
  --json "$DEMO/weeks-S001.json"
echo "  the simulated shelves follow the store's old ordering process (the simulator does not take"
echo "  orders back): forecasts are judged on what sold; the kit's effect on stock-outs is the lift (step 26)"

step "7. Tomorrow's cycle, $(day "$END" 2): orders, staffing, shelf checks"
edge-agent cycle --db "$DB" --as-of "$(day "$END" 2)"

step "8. A person approves one pending order (works offline), and the lifecycle is audited"
PENDING=$(edge-agent decisions --db "$DB" --state pending --kind order --limit 1 --json \
  | python -c "import json,sys; d=json.load(sys.stdin)['decisions']; print(d[0]['decision_id'] if d else '')")
if [ -n "$PENDING" ]; then
  edge-agent decisions approve "$PENDING" --by store-manager --reason "checked the shelf" --db "$DB"
fi

step "9. Staff check three shelves; the first is missing (phantom inventory confirmed)"
CHECKS=$(edge-agent decisions --db "$DB" --kind shelf_check --state auto --limit 3 --json \
  | python -c "import json,sys; print(' '.join(d['decision_id'] for d in json.load(sys.stdin)['decisions']))")
FIRST=1
for CHECK in $CHECKS; do
  if [ "$FIRST" = 1 ]; then RESULT=--missing; FIRST=0; else RESULT=--found; fi
  edge-agent tasks complete "$CHECK" $RESULT --by clerk-7 --db "$DB"
done

step "10. Hand the executable decisions to the ERP: one atomic drop file"
edge-agent submit --db "$DB" --drop "$DEMO/erp-drop"

step "11. Summary"
python - "$DB" <<'PY'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
q = lambda sql: conn.execute(sql).fetchall()
orders = q("SELECT COUNT(*), ROUND(SUM(value), 2) FROM decisions WHERE kind = 'order'")[0]
print(f"  orders:        {orders[0]:>5}  worth {orders[1]:>10,.2f}")
gaps = q("SELECT COUNT(*), SUM(value) FROM decisions WHERE kind = 'staffing'")[0]
print(f"  staffing gaps: {gaps[0]:>5}  hours   {gaps[1] or 0:>10,.0f}")
checks = q("SELECT COUNT(*) FROM decisions WHERE kind = 'shelf_check'")[0][0]
done = q("SELECT COUNT(*), SUM(reason = 'missing from shelf') FROM decisions "
         "WHERE kind = 'shelf_check' AND state = 'confirmed'")[0]
print(f"  shelf checks:  {checks:>5}  completed {done[0]}, missing {done[1] or 0}")
for outcome, n in q("SELECT policy_outcome, COUNT(*) FROM decisions GROUP BY 1 ORDER BY 1"):
    print(f"  policy {outcome:<8} {n:>5}")
PY

step "12. Store status"
edge-agent status --db "$DB"

step "13. The audit log: last records, then the whole chain verified"
edge-agent audit show --db "$DB" --last 6
edge-agent audit verify --db "$DB"

step "14. Someone edits one audit record in a copy of the mirror: verification names it"
cp "$DB" "$DEMO/tampered.db"
python - "$DEMO/tampered.db" <<'PY'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("UPDATE audit_log SET payload = CAST(REPLACE(CAST(payload AS TEXT), 'ingested', "
             "'INGESTED') AS BLOB) WHERE seq = 3")
conn.commit()
print("  edited the payload of audit record seq 3")
PY
if edge-agent audit verify --db "$DEMO/tampered.db"; then
  echo "  UNEXPECTED: the tampered chain verified" >&2
  exit 1
fi

step "15. The hub: a store registry with one NATS identity per store, an embedded nats-server, ingest"
for STORE in S001 S002 S003; do
  RING=$([ "$STORE" = S001 ] && echo canary || echo main)
  cloud-hub stores add "$STORE" --ring "$RING" --tz Europe/Berlin --db "$DEMO/hub.db" --embedded-nats "$DEMO/nats" > /dev/null
done
cloud-hub stores list --db "$DEMO/hub.db" | sed 's/^/  /'
echo "  each store may publish only storeedge.<its id>.up.* and read only its own hub->store messages"
cloud-hub keys generate --db "$DEMO/hub.db" > /dev/null
cloud-hub keys public --db "$DEMO/hub.db" --out "$DEMO/hub-keys.pub" > /dev/null
cp -r "$(python -c 'from models import BOOTSTRAP_DIR; print(BOOTSTRAP_DIR)')" "$DEMO/models"
cloud-hub models sign "$DEMO/models" --db "$DEMO/hub.db" | sed 's/^/  /'
echo "  stores trust only $DEMO/hub-keys.pub: they run models signed by the hub's key, nothing else"
HUB_LOG=$DEMO/hub.log
# Rollout gates are checked every second here, on swap reports, refusals and error rates
# (live accuracy needs days of outcomes after a swap: the tests drive those days).
STOREEDGE_HUB_ROLLOUT_TICK_S=1 STOREEDGE_HUB_ROLLOUT_ACCURACY_WINDOW_DAYS=0 \
  cloud-hub serve --db "$DEMO/hub.db" --embedded-nats "$DEMO/nats" --grpc 127.0.0.1:0 > "$HUB_LOG" 2>&1 &
HUB_PID=$!
AGENTS=()
cleanup() {
  for pid in "${AGENTS[@]}" "$HUB_PID"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q "hub ingesting" "$HUB_LOG" && break; sleep 0.1; done
NATS=$(grep -o 'nats://127.0.0.1:[0-9]*' "$HUB_LOG" | head -1)
echo "  hub ingesting from $NATS (JetStream streams STOREEDGE_UP, STOREEDGE_STATUS, STOREEDGE_DOWN)"

step "16. Two more stores, S002 and S003 (300 SKUs x 90 days each), with the same $WEEKS weeks of decisions"
for STORE in S002 S003; do
  SEED=$([ "$STORE" = S002 ] && echo 11 || echo 12)
  edge-agent simulate --store "$STORE" --skus 300 --days 90 --seed "$SEED" --db "$DEMO/$STORE.db" --end "$END" \
    --json 2>&1 > "$DEMO/simulate-$STORE.json" | bar --total 11 --label "simulate $STORE" --log "$DEMO/simulate-$STORE.log"
  python scripts/demo_weeks.py --db "$DEMO/$STORE.db" --from "$FIRST_DAY" --to "$END" \
    --drop "$DEMO/erp-weeks-$STORE" --json "$DEMO/weeks-$STORE.json"
  edge-agent cycle --db "$DEMO/$STORE.db" --as-of "$(day "$END" 2)" > /dev/null
  echo "  $STORE: $(edge-agent decisions --db "$DEMO/$STORE.db" --limit 1000000 --json | python -c 'import json,sys; n = len(json.load(sys.stdin)["decisions"]); print(f"{n:,}")') decisions in all, tomorrow's included"
done
cp "$DB" "$DEMO/S001.db"

start_agent() {  # store -> background `edge-agent run` with the store's own NATS identity
  edge-agent run --db "$DEMO/$1.db" --nats "$NATS" --creds "$DEMO/creds/$1.nk" --http-port 0 \
    --models "$DEMO/models" --trust "$DEMO/hub-keys.pub" > "$DEMO/agent-$1.log" 2>&1 &
  AGENTS+=($!)
  eval "PID_$1=$!"
}

summary() {
  python - "$DEMO" <<'PY'
import json, subprocess, sys
demo = sys.argv[1]
hub = json.loads(subprocess.run(["cloud-hub", "status", "--db", f"{demo}/hub.db", "--json"],
                                capture_output=True, text=True).stdout)["stores"]
print(f"  {'store':<6} {'type':<16} {'committed':>9} {'at hub':>9}   chain")
for store in ("S001", "S002", "S003"):
    edge = json.loads(subprocess.run(["edge-agent", "status", "--db", f"{demo}/{store}.db", "--json"],
                                     capture_output=True, text=True).stdout)
    h = hub.get(store, {"received": {}, "chain_head": "-", "chain_ok": None})
    for key, counts in edge["sync"].items():
        if counts["committed"]:
            print(f"  {store:<6} {key:<16} {counts['committed']:>9,} {h['received'].get(key, 0):>9,}")
    same = "same head" if h["chain_head"] == edge["chain_head"] else "hub behind"
    print(f"  {store:<6} {'audit chain':<16} {'':>9} {'':>9}   {same}, verified: {h['chain_ok']}")
PY
}

wait_synced() {  # until every store's committed records are at the hub, with a progress bar
  python - "$DEMO" "$@" <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "scripts")
from demo_progress import Bar
demo, stores = sys.argv[1], sys.argv[2:]
def status(*argv):
    out = subprocess.run([*argv, "--json"], capture_output=True, text=True).stdout
    return json.loads(out or '{"stores": {}}')
def committed():
    return {s: {k: v["committed"] for k, v in status(
        "edge-agent", "status", "--db", f"{demo}/{s}.db")["sync"].items()} for s in stores}
bar = Bar(1, f"records at the hub ({', '.join(stores)})")
done, deadline = 0, time.monotonic() + 300
while time.monotonic() < deadline:
    target = committed()  # the daemons may still add a record or two: read again each time
    bar.total = max(sum(n for c in target.values() for n in c.values()), 1)
    hub = status("cloud-hub", "status", "--db", f"{demo}/hub.db")["stores"]
    now = sum(min(n, hub.get(s, {}).get("received", {}).get(k, 0))
              for s, c in target.items() for k, n in c.items())
    bar.step(f"{now:,} of {bar.total:,}", by=now - done)
    done = now
    if all(hub.get(s, {}).get("received") == c for s, c in target.items()):
        bar.finish(f"{bar.total:,} records")
        sys.exit(0)
    time.sleep(0.5)
print("  UNEXPECTED: the hub did not catch up", file=sys.stderr)
sys.exit(1)
PY
}

step "17. Three store daemons connect and sync (outbox + audit chain -> JetStream -> hub)"
for STORE in S001 S002 S003; do start_agent "$STORE"; done
wait_synced S001 S002 S003
summary

step "18. S003 loses its link: it keeps deciding, approving and checking shelves offline"
kill -TERM "$PID_S003"; wait "$PID_S003" 2>/dev/null || true
for offset in 3 4; do
  edge-agent cycle --db "$DEMO/S003.db" --as-of "$(day "$END" $offset)" > /dev/null
done
PENDING=$(edge-agent decisions --db "$DEMO/S003.db" --state pending --limit 1 --json \
  | python -c "import json,sys; d=json.load(sys.stdin)['decisions']; print(d[0]['decision_id'] if d else '')")
if [ -n "$PENDING" ]; then
  edge-agent decisions approve "$PENDING" --by store-manager --reason "approved offline" --db "$DEMO/S003.db" | sed 's/^/  /'
else
  echo "  (no decision held for approval in these cycles)"
fi
CHECK=$(edge-agent decisions --db "$DEMO/S003.db" --kind shelf_check --state auto --limit 1 --json \
  | python -c "import json,sys; d=json.load(sys.stdin)['decisions']; print(d[0]['decision_id'] if d else '')")
[ -z "$CHECK" ] || edge-agent tasks complete "$CHECK" --found --by clerk-3 --db "$DEMO/S003.db" | sed 's/^/  /'
edge-agent status --db "$DEMO/S003.db" --json > "$DEMO/S003-status.json"
python - "$DEMO/S003-status.json" <<'PY'
import json, sys
sync = json.load(open(sys.argv[1]))["sync"]
waiting = ", ".join(f"{key} {counts['pending']}" for key, counts in sync.items() if counts["pending"])
print(f"  S003 decided offline; waiting in its outbox: {waiting}")
PY

step "19. S003 is back: its backlog drains; every record arrived exactly once"
start_agent S003
wait_synced S001 S002 S003
summary
cloud-hub status --db "$DEMO/hub.db" > /dev/null && echo "  cloud-hub status: every store's chain verifies"

step "20. An approver approves a pending order through the hub's gRPC API; the store applies it"
cloud-hub api tokens create --name ana --role approver --region '*' --db "$DEMO/hub.db" --json \
  | python -c 'import json,sys; print(json.load(sys.stdin)["token"])' > "$DEMO/ana.token"
API=$(grep -o 'gRPC API listening on [0-9.]*:[0-9]*' "$HUB_LOG" | awk '{print $NF}')
AS_ANA=(--address "$API" --token-file "$DEMO/ana.token")
echo "  token for ana (approver, every region) in $DEMO/ana.token; API on $API (plaintext: loopback only)"
VIA_API=$(cloud-hub client decisions --store S001 --state pending --kind order --limit 1 --json "${AS_ANA[@]}" \
  | python -c "import json,sys; d=json.load(sys.stdin)['decisions']; print(d[0]['decision_id'] if d else '')")
if [ -n "$VIA_API" ]; then
  cloud-hub client approve "$VIA_API" --reason "promo next week" "${AS_ANA[@]}" | sed 's/^/  /'
  for _ in $(seq 100); do
    cloud-hub client decision "$VIA_API" --json "${AS_ANA[@]}" | python -c "
import json, sys
approvals = json.load(sys.stdin).get('approvals', [])
sys.exit(0 if approvals and approvals[-1].get('status') == 'APPROVAL_STATUS_APPLIED' else 1)" && break
    sleep 0.3
  done
  cloud-hub client decision "$VIA_API" "${AS_ANA[@]}" | sed 's/^/  /'
else
  echo "  (no pending order at S001 to approve)"
fi

step "21. S002's box is stolen: revoke its identity; the server drops it, the others stay connected"
cloud-hub stores revoke S002 --reason "box stolen" --db "$DEMO/hub.db" --embedded-nats "$DEMO/nats" | sed 's/^/  /'
for _ in $(seq 100); do grep -q "NATS refused" "$DEMO/agent-S002.log" && break; sleep 0.1; done
grep -m1 -o "NATS refused: .*Authorization Violation'" "$DEMO/agent-S002.log" | sed 's/^/  S002 agent: /'
for STORE in S001 S003; do
  grep -q "NATS refused" "$DEMO/agent-$STORE.log" && { echo "  UNEXPECTED: $STORE was refused" >&2; exit 1; }
done
echo "  S001 and S003: still connected (no refusal in their logs)"

step "22. A model changed after signing is refused, naming why; the hub's own audit log verifies"
cp -r "$DEMO/models" "$DEMO/models-tampered"
python - "$DEMO/models-tampered/labor.onnx" <<'PY'
import sys
path = sys.argv[1]
blob = bytearray(open(path, "rb").read())
blob[len(blob) // 2] ^= 0xFF
open(path, "wb").write(bytes(blob))
print("  flipped one byte of labor.onnx")
PY
if edge-agent cycle --db "$DEMO/S001.db" --models "$DEMO/models-tampered" --trust "$DEMO/hub-keys.pub" 2> "$DEMO/refused.txt"; then
  echo "  UNEXPECTED: the tampered model was served" >&2
  exit 1
fi
sed 's/^/  /' "$DEMO/refused.txt"
cloud-hub hub-audit show --db "$DEMO/hub.db" --limit 5 | sed 's/^/  /'
cloud-hub hub-audit verify --db "$DEMO/hub.db" | sed 's/^/  /'
step "23. The hub retrains replenishment on the daily outcomes the stores synced (challenger vs champion)"
cloud-hub train replenishment --db "$DEMO/hub.db" --by demo --json 2>&1 > "$DEMO/train.json" \
  | bar --total 7 --label "train replenishment" --log "$DEMO/train.log"
python - "$DEMO/train.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
champion = m["champion"]["error"] if m["champion"] else float("nan")
print(f"  {m['data']}")
print(f"  challenger {r['version']}: backtest error {m['challenger']['error']:.4f} vs the "
      f"champion's {champion:.4f} on the same held-out days -> promoted: {r['promoted']}")
for reason in r["reasons"]:
    print(f"    {reason}")
PY
NEW=$(python -c "import json; print(json.load(open('$DEMO/train.json'))['version'])")
PROMOTED=$(python -c "import json; print(json.load(open('$DEMO/train.json'))['promoted'])")
HUB_LINK=(--db "$DEMO/hub.db" --nats "$NATS" --creds "$DEMO/hub.nk")

step "24. Roll the artifacts stores serve out in rings: the canary store S001 first, then the rest, each gated"
FORCE=()
[ "$PROMOTED" = True ] || { FORCE=(--force); echo "  (not promoted on this data: rolled out with --force, which the hub audits)"; }
for ARTIFACT in replenishment_daily replenishment_protection_p90 replenishment_protection_mean; do
  cloud-hub rollout "$ARTIFACT" "$NEW" "${FORCE[@]}" --wait --by demo "${HUB_LINK[@]}" | sed 's/^/  /'
done
cloud-hub rollout status --db "$DEMO/hub.db" | sed 's/^/  /'

step "25. A bad labor model (outputs 10x the serving one's) fails the canary's shadow check: rolled back"
BAD=$DEMO/models-bad
mkdir -p "$BAD"
LABOR=$(python -c "import json; print(json.load(open('$DEMO/models/labor.manifest.json'))['version'])")
python - "$DEMO/models" "$BAD" "$LABOR" <<'PY'
import hashlib, json, sys
from pathlib import Path
import onnx
from onnx import TensorProto, helper
source, out, parent = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
model = onnx.load_from_string((source / "labor.onnx").read_bytes())
output = model.graph.output[0].name
for node in model.graph.node:
    node.output[:] = [f"{output}_raw" if o == output else o for o in node.output]
model.graph.initializer.append(helper.make_tensor("demo_scale", TensorProto.FLOAT, [1], [10.0]))
model.graph.node.append(helper.make_node("Mul", [f"{output}_raw", "demo_scale"], [output]))
if not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
    model.opset_import.append(helper.make_opsetid("", 15))
blob = model.SerializeToString()
(out / "labor.onnx").write_bytes(blob)
manifest = json.loads((source / "labor.manifest.json").read_text())
manifest.update(version="demo-bad-10x", parentVersion=parent, sha256=hashlib.sha256(blob).hexdigest())
(out / "labor.manifest.json").write_text(json.dumps(manifest, indent=2))
print("  built labor demo-bad-10x: every forecast x10")
PY
cloud-hub models sign "$BAD" --db "$DEMO/hub.db" > /dev/null
if cloud-hub rollout labor demo-bad-10x --from "$BAD" --force --wait --by demo "${HUB_LINK[@]}" > "$DEMO/bad-rollout.txt"; then
  echo "  UNEXPECTED: the bad model was rolled out" >&2
  exit 1
fi
sed 's/^/  /' "$DEMO/bad-rollout.txt"
edge-agent status --db "$DEMO/S001.db" --json | python -c "
import json, sys
print('  S001 serves labor', json.load(sys.stdin)['models'].get('labor'), '(the bad version never served)')"
cloud-hub hub-audit show --db "$DEMO/hub.db" --limit 4 | sed 's/^/  /'

step "26. Lift: the kit's ordering vs the store's old min/max process on the same simulated demand"
LIFT=$DEMO/lift.json
LIFT_SEEDS=1,2,3,4
echo "  paired worlds: each seed's demand, shocks and shrink run once under each process; the"
echo "  baseline is also tuned to the kit's average inventory (lift not bought with stock)"
edge-agent lift --stores 1 --skus 300 --days 56 --seeds "$LIFT_SEEDS" --out "$LIFT" --json 2>&1 > /dev/null \
  | bar --total 5 --label "lift over seeds $LIFT_SEEDS" --log "$DEMO/lift.log"
python - "$LIFT" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
def show(name, scale=1.0, unit=""):
    for arm in ("lift", "lift_vs_tuned"):
        e = m[name][arm]
        lo, hi = e["ci95"]
        versus = "the baseline" if arm == "lift" else "the tuned baseline"
        print(f"  {name:<20} kit - {versus:<18} {scale * e['mean']:+9.2f}{unit}  "
              f"[{scale * lo:+.2f}, {scale * hi:+.2f}] (95 %, per store and day)")
show("stockout_rate", 100, " pts")
show("avg_inventory_value")
show("lost_margin_value")
PY

step "27. The report: forecasts vs actuals, accuracy per model version, stock-outs, the approval funnel, lift and ROI"
ROI_ARGS=(--db "$DEMO/hub.db" --costs docs/roi-costs.example.toml --lift "$LIFT")
echo "  costs from docs/roi-costs.example.toml (an example: enter your own)"
cloud-hub roi "${ROI_ARGS[@]}" | sed 's/^/  /'
cloud-hub report "${ROI_ARGS[@]}" --out "$DEMO/report" | sed 's/^/  /'
python - "$DEMO/report/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["hub"]
print(f"  outcome windows: {h['joins_complete']:,} complete, {h['joins_partial']:,} still open "
      f"(their days are not over), {len(h['stores'])} stores, weeks {h['weeks'][0]} .. {h['weeks'][-1]}")
for series in r["accuracy_by_model"]["series"]:
    points = series["points"]
    n = sum(p["forecasts"] for p in points if p["wape"] is not None)
    n90 = sum(p["p90_forecasts"] for p in points if p["p90_coverage"] is not None)
    shown = []
    if n:
        wape = sum(p["wape"] * p["forecasts"] for p in points if p["wape"] is not None) / n
        shown.append(f"WAPE {wape:.2f} over {n:,} forecasts")
    if n90:
        hit = sum(p["p90_coverage"] * p["p90_forecasts"] for p in points
                  if p["p90_coverage"] is not None)
        shown.append(f"the P90 forecast covered what sold in {100 * hit / n90:.1f} % of "
                     f"{n90:,} order windows (target 90 %)")
    if shown:
        print(f"  {series['name']:<36} " + "; ".join(shown))
cats = [c for c in r["categories"] if c["stockout_rate"] is not None]
worst = sorted(cats, key=lambda c: -c["stockout_rate"])[:3]
print("  stock-out rate, highest categories: "
      + ", ".join(f"{c['category']} {100 * c['stockout_rate']:.1f} %" for c in worst))
f = r["funnel"]
print(f"  decisions: {f['decisions']:,}: auto {100 * f['share_auto']:.1f} %, approved "
      f"{100 * f['share_approved']:.1f} %, overridden {100 * f['share_overridden']:.1f} %, "
      f"rejected {100 * f['share_rejected']:.1f} %")
PY
REPORT_URL=$(python -c "import pathlib; print(pathlib.Path('$DEMO/report/index.html').resolve().as_uri())")

printf '\n\033[1mDemo complete.\033[0m The mirror is %s; try: .venv/bin/edge-agent status --db %s --json\n' "$DB" "$DB"
printf 'The report: open %s in a browser (numbers in %s)\n' "$REPORT_URL" "$DEMO/report/report.json"
