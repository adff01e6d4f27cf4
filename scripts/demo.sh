#!/usr/bin/env bash
# `make demo`: a simulated store, a POS export with bad rows, the quarantine, the audit chain.
# Everything runs on embedded defaults in .demo/ (deleted and rebuilt on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.demo
DB=$DEMO/store.db
rm -rf "$DEMO" && mkdir -p "$DEMO"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Simulate store S001: 2,000 SKUs x 120 days, written through the ingest path"
edge-agent simulate --store S001 --skus 2000 --days 120 --seed 7 --db "$DB" \
  --pos-export "$DEMO/pos_sales_lines.csv" --bad-rows 16 --json > "$DEMO/simulate.json"
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

step "6. Decision cycles for the next three business days (orders, staffing, shelf checks)"
END=$(python -c "import json,sys; print(json.load(open('$DEMO/simulate.json'))['end_date'])")
for offset in 2 3 4; do
  DAY=$(python -c "import datetime as d; print(d.date.fromisoformat('$END') + d.timedelta(days=$offset))")
  edge-agent cycle --db "$DB" --as-of "$DAY"
done

step "7. A person approves one pending order (works offline), and the lifecycle is audited"
PENDING=$(edge-agent decisions --db "$DB" --state pending --kind order --limit 1 --json \
  | python -c "import json,sys; d=json.load(sys.stdin)['decisions']; print(d[0]['decision_id'] if d else '')")
if [ -n "$PENDING" ]; then
  edge-agent decisions approve "$PENDING" --by store-manager --reason "checked the shelf" --db "$DB"
fi

step "8. Staff check three shelves; the first is missing (phantom inventory confirmed)"
CHECKS=$(edge-agent decisions --db "$DB" --kind shelf_check --state auto --limit 3 --json \
  | python -c "import json,sys; print(' '.join(d['decision_id'] for d in json.load(sys.stdin)['decisions']))")
FIRST=1
for CHECK in $CHECKS; do
  if [ "$FIRST" = 1 ]; then RESULT=--missing; FIRST=0; else RESULT=--found; fi
  edge-agent tasks complete "$CHECK" $RESULT --by clerk-7 --db "$DB"
done

step "9. Hand the executable decisions to the ERP: one atomic drop file"
edge-agent submit --db "$DB" --drop "$DEMO/erp-drop"

step "10. Summary"
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

step "11. Store status"
edge-agent status --db "$DB"

step "12. The audit log: last records, then the whole chain verified"
edge-agent audit show --db "$DB" --last 6
edge-agent audit verify --db "$DB"

step "13. Someone edits one audit record in a copy of the mirror: verification names it"
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
printf '\n\033[1mDemo complete.\033[0m The mirror is %s; try: .venv/bin/edge-agent status --db %s --json\n' "$DB" "$DB"
