# Generates testdata/percentiles.json: reference values from CPython's
# statistics module, computed the way LLMeter's summary_stats_from_list does
# (statistics.mean; statistics.median for p50; statistics.quantiles with
# method="exclusive" and n = 4, 10 or 100 for the other percentiles).
# Run: python3 testdata/gen_percentiles.py > testdata/percentiles.json
import json, random, statistics, sys

def pct(data, p):
    if len(data) == 1:
        return data[0]
    if p == 50:
        return statistics.median(data)
    base = 4 if p % 25 == 0 else 10 if p % 10 == 0 else 100
    return statistics.quantiles(data, n=base, method="exclusive")[p * base // 100 - 1]

rng = random.Random(20261127)
cases = []
for i in range(400):
    n = rng.choice([1, 2, 3, 4, 5, 7, 10, 31, 100, 257])
    kind = i % 4
    if kind == 0:
        data = [rng.random() for _ in range(n)]
    elif kind == 1:
        data = [rng.lognormvariate(-2, 1) for _ in range(n)]
    elif kind == 2:
        data = [float(rng.randint(0, 2000)) for _ in range(n)]
    else:
        data = [round(rng.uniform(0.05, 3.0), 6) for _ in range(n)]
    ps = [1, 5, 10, 25, 50, 75, 83, 90, 95, 99]
    cases.append({"data": data, "mean": statistics.mean(data),
                  "percentiles": {str(p): pct(sorted(data), p) for p in ps}})
json.dump({"python": sys.version.split()[0], "cases": cases}, sys.stdout)
