"""What `terraform validate`/`plan` would reject before doing anything: references to nothing that is
declared, and invalid moved blocks. Appends to mod.errors."""
import re

_REF = re.compile(r"(?<![\w.\"/:-])((?:data\.[a-z][a-z0-9_]*|var|local|[a-z][a-z0-9]*_[a-z0-9_]+)\.[A-Za-z_][A-Za-z0-9_-]*)")
_ITER = re.compile(r"\bfor\s+([A-Za-z_][\w-]*)\s*(?:,\s*([A-Za-z_][\w-]*)\s*)?in\b")


def _interps(text):
    """The source of every ${...} in a template string."""
    out, i = [], 0
    while True:
        j = text.find("${", i)
        if j < 0:
            return out
        if j > 0 and text[j - 1] == "$":
            i = j + 2
            continue
        depth, k = 0, j
        while k < len(text):
            if text.startswith("${", k):
                depth += 1
                k += 2
                continue
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        out.append(text[j + 2:k])
        i = k + 1


def _strings(raw, out):
    if isinstance(raw, str):
        out.append(raw)
    elif isinstance(raw, list):
        for x in raw:
            _strings(x, out)
    elif isinstance(raw, dict):
        for k, x in raw.items():
            if k in ("depends_on", "lifecycle", "provider"):
                continue
            _strings(k, out)
            _strings(x, out)
    return out


def validate(mod):
    declared = set(mod.resources) | set(mod.data)
    declared |= {f"var.{n}" for n in mod.variables} | {f"local.{n}" for n in mod.locals_raw}
    iters = set()
    bodies = []
    for b in list(mod.resources.values()) + list(mod.data.values()):
        bodies.append((b.addr, b.file, b.body))
        for t, ds in (b.body.get("dynamic") or {}).items() if isinstance(b.body.get("dynamic"), dict) else []:
            iters.add(t)
            for d in ds if isinstance(ds, list) else [ds]:
                if isinstance(d, dict) and isinstance(d.get("iterator"), str):
                    iters.add(d["iterator"].strip("${} "))
    for n, raw in mod.locals_raw.items():
        bodies.append((f"local.{n}", "", raw))
    for n, b in mod.outputs.items():
        bodies.append((f"output.{n}", b.get("__file__", ""), b))
    for p in mod.providers:
        bodies.append((f"provider.{p[0]}", "", p[2]))
    dangling = set()
    for where, f, body in bodies:
        for s in _strings(body, []):
            for e in _interps(s):
                local_iters = set(iters)
                for m in _ITER.finditer(e):
                    local_iters |= {x for x in m.groups() if x}
                for ref in _REF.findall(e):
                    parts = ref.split(".")
                    if parts[0] in local_iters or parts[0] in ("each", "count", "self", "path", "terraform",
                                                               "module", "ephemeral"):
                        continue
                    if parts[0] == "data":
                        m = re.match(r"data\.[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*", e[e.find(ref):])
                        key = m.group(0) if m else ref
                    else:
                        key = ".".join(parts[:2])
                    if key not in declared:
                        dangling.add(f"{f + ': ' if f else ''}{where} refers to {key}, which is not declared")
    mod.errors.extend(sorted(dangling))

    # moved blocks (Terraform: "Moved object still exists", cross-type moves, duplicates, cycles)
    seen = {}
    base = lambda a: re.sub(r"\[.*\]$", "", a or "")
    for src, dst, f in mod.moved:
        if not src or not dst:
            mod.errors.append(f"{f}: a moved block needs from and to resource addresses")
            continue
        bs, bd = base(src), base(dst)
        ts, td = bs.split(".")[0], bd.split(".")[0]
        if bs.startswith("module.") or bd.startswith("module."):
            continue
        if ts != td or bs.count(".") != 1 or bd.count(".") != 1:
            mod.errors.append(f"{f}: moved {src} -> {dst}: an object cannot move to another resource type")
        if src == dst:
            mod.errors.append(f"{f}: moved {src} -> {dst}: from and to are the same")
        if "[" not in src and bs in mod.resources:
            mod.errors.append(f"{f}: moved from {src}, which is still declared (Moved object still exists)")
        if src in seen:
            mod.errors.append(f"{f}: two moved blocks from {src}")
        seen[src] = dst
    for start in seen:
        cur, steps = start, 0
        while cur in seen and steps <= len(seen):
            cur, steps = seen[cur], steps + 1
        if steps > len(seen):
            mod.errors.append(f"moved blocks from {start} form a cycle")
            break
