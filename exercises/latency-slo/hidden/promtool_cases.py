#!/usr/bin/env python3
"""The promtool unit tests the alert checks run, built when a check needs them (alertcheck.run_test);
`python3 promtool_cases.py DIR` writes them all into DIR for a look.

Traffic is 25 requests/s sampled every 15 s (375 requests per sample) for 45 minutes, with the
metric names and labels the README documents. Scenarios:
  fire-errors-<fault>: normal for 5 min, then 5% of requests fail with the fault's 5xx code
  fire-latency:        normal for 5 min, then 5% of requests take over 1 s (p99 ~2.5 s)
  quiet:               0.3% errors and p99 ~0.24 s (SLO: p99 < 1 s, errors < 1%), with 90-second blips of 3% errors (at 10 min)
                       and of p99 ~1.75 s (at 25 min) that must not page
"""
import os

STEP_S = 15
MINUTES = 45
SAMPLES = MINUTES * 60 // STEP_S
PER_STEP = 25 * STEP_S
LABELS = 'job="checkout",instance="127.0.0.1:8080",handler="/checkout"'
LE = ["0.01", "0.025", "0.05", "0.1", "0.2", "0.3", "0.5", "1", "2.5", "5", "10", "+Inf"]
# cumulative share of requests at or below each bound
NORMAL = [0, .02, .55, .93, .985, .997, .999, 1, 1, 1, 1, 1]
SLOW = [0, .02, .50, .85, .92, .93, .94, .95, .99, 1, 1, 1]
BLIP = [0, .02, .54, .91, .965, .975, .98, .98, 1, 1, 1, 1]
FAULT_CODES = {"pool": "503", "timeout": "504", "retry-storm": "502"}


def minute(i):
    return i * STEP_S / 60


def build(error_share, latency_shape, error_code):
    """error_share(m) / latency_shape(m): per-minute behaviour -> cumulative series text."""
    ok, err = [0.0], [0.0]
    buckets = {le: [0.0] for le in LE}
    total_sum = [0.0]
    for i in range(1, SAMPLES + 1):
        m = minute(i)
        e = PER_STEP * error_share(m)
        ok.append(ok[-1] + PER_STEP - e)
        err.append(err[-1] + e)
        shape = latency_shape(m)
        for le, share in zip(LE, shape):
            buckets[le].append(buckets[le][-1] + PER_STEP * share)
        total_sum.append(total_sum[-1] + PER_STEP * (0.06 if shape is NORMAL else 0.2))

    def fmt(vals):
        return " ".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in vals)

    series = [
        (f'http_requests_total{{{LABELS},code="200"}}', fmt(ok)),
        (f'http_requests_total{{{LABELS},code="{error_code}"}}', fmt(err)),
        ('up{job="checkout",instance="127.0.0.1:8080"}', f"1x{SAMPLES}"),
    ]
    for le in LE:
        series.append((f'http_request_duration_seconds_bucket{{{LABELS},le="{le}"}}', fmt(buckets[le])))
    series.append((f"http_request_duration_seconds_count{{{LABELS}}}", fmt(buckets["+Inf"])))
    series.append((f"http_request_duration_seconds_sum{{{LABELS}}}", fmt(total_sum)))
    return series


def write(path, series, evals, firing):
    lines = [
        f"# {os.path.basename(path)}: built by promtool_cases.py",
        "rule_files: [alerts.yml]",
        "evaluation_interval: 15s",
        "tests:",
        f"  - interval: {STEP_S}s",
        "    input_series:",
    ]
    for s, v in series:
        lines.append(f"      - series: '{s}'")
        lines.append(f"        values: '{v}'")
    lines.append("    promql_expr_test:")
    for t in evals:
        if firing:
            lines.append('      - expr: count(ALERTS{alertstate="firing",severity="page"}) > bool 0')
            lines.append(f"        eval_time: {t}")
            lines.append("        exp_samples: [{labels: '{}', value: 1}]")
        else:
            lines.append('      - expr: ALERTS{alertstate="firing",severity="page"}')
            lines.append(f"        eval_time: {t}")
            lines.append("        exp_samples: []")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


BASE_ERR = 0.003


def write_case(name, path):
    """Writes the test case `name` (fire-errors-<fault>.yml, fire-latency.yml or quiet.yml) to `path`."""
    if name.startswith("fire-errors-") and name[len("fire-errors-"):-len(".yml")] in FAULT_CODES:
        code = FAULT_CODES[name[len("fire-errors-"):-len(".yml")]]
        s = build(lambda m: 0.05 if m > 5 else BASE_ERR, lambda m: NORMAL, code)
        write(path, s, ["20m", "30m", "44m"], True)
    elif name == "fire-latency.yml":
        s = build(lambda m: BASE_ERR, lambda m: SLOW if m > 5 else NORMAL, "502")
        write(path, s, ["20m", "30m", "44m"], True)
    elif name == "quiet.yml":
        s = build(lambda m: 0.03 if 10 < m <= 11.5 else BASE_ERR,
                  lambda m: BLIP if 25 < m <= 26.5 else NORMAL, "502")
        write(path, s, [f"{m}m" for m in range(1, MINUTES)], False)
    else:
        raise ValueError(f"no test case named {name}")


CASES = [f"fire-errors-{fault}.yml" for fault in FAULT_CODES] + ["fire-latency.yml", "quiet.yml"]


if __name__ == "__main__":
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    for case in CASES:
        write_case(case, os.path.join(out, case))
