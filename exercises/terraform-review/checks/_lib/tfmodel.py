"""The candidate's root module as Terraform would load it.

Files: every `*.tf` and `*.tf.json` of the directory; override files (`override.tf`, `*_override.tf`
and their `.tf.json` forms) merged into the primary blocks per Terraform's override rules. Variables:
their defaults, then `terraform.tfvars`, `terraform.tfvars.json`, `*.auto.tfvars(.json)` in lexical
order. Resources and data sources are expanded by `count`/`for_each`, `dynamic` blocks by their
`for_each`; expressions are evaluated by hclexpr. Configuration errors that make `terraform plan`
refuse the configuration (parse errors, duplicates, an override without a base, dangling
references, invalid moved blocks) are collected in `errors`.
"""
import json
import os
import re

from hclexpr import (EvalError, Encoded, Partial, Scope, Unknown, evaluate, is_known, merge_unknown,
                     parse_expression, parse_template, traversal_text)

META = {"count", "for_each", "lifecycle", "depends_on", "provider", "provisioner", "connection", "dynamic"}
SPECIAL_ROOTS = {"var", "local", "path", "terraform", "each", "count", "self", "module", "data", "ephemeral"}


def is_override(name):
    base = name[:-5] if name.endswith(".json") else name
    return base == "override.tf" or base.endswith("_override.tf")


def _norm_bodies(v):
    if isinstance(v, list):
        return [b for b in v if isinstance(b, dict)]
    return [v] if isinstance(v, dict) else []


def normalise(doc):
    """A file's top level in one shape (hcl2json and .tf.json differ in where lists are)."""
    out = {"resource": [], "data": [], "variable": [], "locals": [], "output": [], "provider": [],
           "moved": [], "removed": [], "module": [], "terraform": [], "import": [], "check": []}
    for key, val in doc.items():
        if key == "//":
            continue
        if key in ("resource", "data", "ephemeral"):
            for t, by_name in (val or {}).items():
                for n, bodies in (by_name or {}).items():
                    for b in _norm_bodies(bodies):
                        out["data" if key == "data" else "resource"].append((t, n, b)) if key != "ephemeral" else None
        elif key in ("variable", "output", "module"):
            for n, bodies in (val or {}).items():
                for b in _norm_bodies(bodies):
                    out[key].append((n, b))
        elif key == "provider":
            for n, bodies in (val or {}).items():
                for b in _norm_bodies(bodies):
                    out["provider"].append((n, b))
        elif key == "locals":
            out["locals"].extend(_norm_bodies(val))
        elif key in out:
            out[key].extend(_norm_bodies(val))
    return out


def bare(raw):
    """A reference written as an expression ("${aws_x.y}") or as text (aws_x.y) -> canonical text."""
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    m = re.fullmatch(r"\$\{\s*(.*?)\s*\}", s, re.S)
    if m:
        s = m.group(1)
    node = parse_expression(s)
    return traversal_text(node) if node[0] != "bad" else None


class Block:
    def __init__(self, kind, rtype, name, body, file):
        self.kind, self.type, self.name, self.body, self.file = kind, rtype, name, dict(body), file

    @property
    def addr(self):
        return f"data.{self.type}.{self.name}" if self.kind == "data" else f"{self.type}.{self.name}"


class Instance:
    """One instance of a resource or data source (count/for_each expanded)."""

    def __init__(self, mod, block, key, names):
        self.mod, self.block, self.key, self.names = mod, block, key, names
        self.type, self.name, self.body = block.type, block.name, block.body
        self._memo, self._full = {}, None

    @property
    def addr(self):
        if self.key is None:
            return self.block.addr
        return f"{self.block.addr}[{json.dumps(self.key)}]"

    def scope(self):
        return Scope(self.mod, self.names)

    def value(self, name):
        """One evaluated argument (or nested blocks, as a list of dicts); None when absent."""
        if name not in self._memo:
            if name in self.body or name in (self.body.get("dynamic") or {}):
                self._memo[name] = Unknown(why=f"{self.addr}.{name} refers to itself")
                self._memo[name] = self.mod.eval_arg(self.body, name, self.scope())
            else:
                self._memo[name] = None
        return self._memo[name]

    def has(self, name):
        return name in self.body or name in (self.body.get("dynamic") or {})

    def full(self):
        if self._full is None:
            self._full = {k: self.value(k) for k in list(self.body) + list(self.body.get("dynamic") or {})
                          if k not in META}
        return self._full

    def lifecycle(self):
        out = {}
        for lc in _norm_bodies(self.body.get("lifecycle")):
            out.update(lc)
        return out

    def ignored(self, attr):
        """Is attr (or all) under lifecycle.ignore_changes? Terraform then never applies a change to it."""
        ic = self.lifecycle().get("ignore_changes")
        if ic is None:
            return False
        if isinstance(ic, str):
            return bare(ic) == "all" or ic.strip() == "all"
        for x in ic if isinstance(ic, list) else [ic]:
            t = bare(x) if isinstance(x, str) else None
            if t and re.split(r"[.\[]", t)[0] == attr:
                return True
        return False

    def tf_attr(self, name):
        if self.has(name):
            v = self.value(name)
            if self.type == "aws_iam_policy_document" and name == "json":
                pass
            else:
                return v
        t = self.type
        if t == "aws_s3_bucket" and name in ("id", "bucket") and self.has("bucket"):
            return self.value("bucket")
        if t == "aws_s3_bucket" and name == "arn" and self.has("bucket"):
            b = self.value("bucket")
            if isinstance(b, str):
                return "arn:aws:s3:::" + b
        if self.block.kind == "data" and t == "aws_iam_policy_document" and name in ("json", "minified_json"):
            return self.mod.policy_document(self)
        if self.block.kind == "data" and t == "aws_iam_policy" and name == "arn" and self.has("name"):
            n = self.value("name")
            if isinstance(n, str):
                return "arn:aws:iam::aws:policy/" + n
        if self.block.kind == "data" and t in ("aws_iam_policy",) and name == "arn" and self.has("arn"):
            return self.value("arn")
        return Unknown({f"{self.addr}.{name}"})


class NS:
    def __init__(self, fn):
        self.fn = fn

    def tf_attr(self, name):
        return self.fn(name)


class Module:
    def __init__(self, directory, parsed_tf, json_docs, tfvars_hcl, tfvars_json, parse_errors=()):
        self.dir = directory
        self.errors = list(parse_errors)
        self.notes = []
        self.resources, self.data = {}, {}
        self.variables, self.locals_raw, self.outputs = {}, {}, {}
        self.providers = []   # (name, alias, body)
        self.moved, self.removed, self.imports = [], [], []
        self.files = set()
        self.modules = set()
        prim, over = [], []
        for name, doc in sorted({**parsed_tf, **json_docs}.items()):
            self.files.add(name)
            (over if is_override(name) else prim).append((name, normalise(doc)))
        for name, doc in prim:
            self._add(name, doc)
        for name, doc in over:
            self._override(name, doc)
        # variable values: defaults, then the values files Terraform loads by itself
        self.var_values, self.var_source = {}, {}
        for n, body in self.variables.items():
            if "default" in body:
                self.var_values[n] = self._const(body["default"])
                self.var_source[n] = "default"
        for fname in self.values_files(list(tfvars_hcl) + list(tfvars_json)):
            values = tfvars_hcl.get(fname, tfvars_json.get(fname)) or {}
            for k, v in values.items():
                self.var_values[k] = self._const(v) if fname in tfvars_hcl else v
                self.var_source[k] = os.path.basename(fname)
        for n, body in self.variables.items():
            if n in self.var_values:
                self.var_values[n] = self._convert(n, body, self.var_values[n])
        self._locals, self._busy = {}, set()
        self._expansions = {}

    @staticmethod
    def values_files(names):
        base = {os.path.basename(n): n for n in names}
        order = [base[x] for x in ("terraform.tfvars", "terraform.tfvars.json") if x in base]
        order += [base[x] for x in sorted(base) if x.endswith((".auto.tfvars", ".auto.tfvars.json"))]
        return order

    def _const(self, raw):
        return self.eval_raw(raw, Scope(_NoRefs()))

    def _convert(self, name, body, v):
        t = body.get("type")
        t = bare(t) if isinstance(t, str) else None
        try:
            if t == "number" and isinstance(v, str):
                return float(v) if "." in v else int(v)
            if t == "bool" and isinstance(v, str) and v in ("true", "false"):
                return v == "true"
            if t == "string" and isinstance(v, (int, float)) and not isinstance(v, bool):
                return str(v)
            if t == "string" and isinstance(v, bool):
                return "true" if v else "false"
        except ValueError:
            self.errors.append(f"variable {name}: value {v!r} is not a {t}")
        return v

    # --- loading ---------------------------------------------------------------------------

    def _add(self, fname, doc):
        f = os.path.basename(fname)
        for t, n, b in doc["resource"]:
            self._put(self.resources, f"{t}.{n}", Block("resource", t, n, b, f), f)
        for t, n, b in doc["data"]:
            self._put(self.data, f"data.{t}.{n}", Block("data", t, n, b, f), f)
        for n, b in doc["variable"]:
            self._put(self.variables, n, b, f, "variable")
        for n, b in doc["output"]:
            self._put(self.outputs, n, b, f, "output")
        for block in doc["locals"]:
            for k, v in block.items():
                self._put(self.locals_raw, k, v, f, "local")
        for n, b in doc["provider"]:
            alias = b.get("alias")
            key = (n, alias if isinstance(alias, str) else None)
            if any((p[0], p[1]) == key for p in self.providers):
                self.errors.append(f"{f}: duplicate provider configuration {n}{'.' + key[1] if key[1] else ''}")
            self.providers.append([n, key[1], dict(b)])
        for b in doc["moved"]:
            self.moved.append((bare(b.get("from")), bare(b.get("to")), f))
        for b in doc["removed"]:
            destroy = True
            for lc in _norm_bodies(b.get("lifecycle")):
                if lc.get("destroy") is False or lc.get("destroy") == "false":
                    destroy = False
            self.removed.append((bare(b.get("from")), destroy, f))
        for n, b in doc["module"]:
            self.modules.add(n)
        for b in doc["import"]:
            self.imports.append((bare(b.get("to")), f))

    def _put(self, table, key, val, f, what=None):
        if key in table:
            other = table[key].file if isinstance(table[key], Block) else ""
            self.errors.append(f"{f}: duplicate {what or ''} {key} (already declared{' in ' + other if other else ''})".replace("  ", " "))
            return
        if what in ("variable", "output") and isinstance(val, dict):
            val = dict(val)
            val["__file__"] = f
        table[key] = val

    def _override(self, fname, doc):
        f = os.path.basename(fname)
        for kind, table, items in (("resource", self.resources, doc["resource"]), ("data", self.data, doc["data"])):
            for t, n, b in items:
                key = f"data.{t}.{n}" if kind == "data" else f"{t}.{n}"
                if key not in table:
                    self.errors.append(f"{f}: override for {key}, which no primary file declares")
                    continue
                table[key].body = merge_body(table[key].body, b)
        for n, b in doc["variable"]:
            if n not in self.variables:
                self.errors.append(f"{f}: override for variable {n}, which no primary file declares")
                continue
            self.variables[n] = {**self.variables[n], **b}
        for n, b in doc["output"]:
            if n not in self.outputs:
                self.errors.append(f"{f}: override for output {n}, which no primary file declares")
                continue
            self.outputs[n] = {**self.outputs[n], **b}
        for block in doc["locals"]:
            for k, v in block.items():
                if k not in self.locals_raw:
                    self.errors.append(f"{f}: override for local.{k}, which no primary file declares")
                    continue
                self.locals_raw[k] = v
        for n, b in doc["provider"]:
            alias = b.get("alias") if isinstance(b.get("alias"), str) else None
            for p in self.providers:
                if p[0] == n and p[1] == alias:
                    p[2] = merge_body(p[2], b)
                    break
            else:
                self.errors.append(f"{f}: override for provider {n}, which no primary file configures")
        for b in doc["moved"]:
            self.moved.append((bare(b.get("from")), bare(b.get("to")), f))

    # --- evaluation ------------------------------------------------------------------------

    def eval_raw(self, raw, scope, is_block=False):
        if isinstance(raw, str):
            return evaluate(parse_template(raw), scope)
        if isinstance(raw, list):
            if raw and all(isinstance(x, dict) for x in raw):
                return [self.eval_block(x, scope) for x in raw]
            return [self.eval_raw(x, scope) for x in raw]
        if isinstance(raw, dict):
            if is_block:
                return self.eval_block(raw, scope)
            out = {}
            for k, v in raw.items():
                key = evaluate(parse_template(k), scope) if ("${" in k) else k
                if isinstance(key, Unknown):
                    return merge_unknown(key)
                out[str(key)] = self.eval_raw(v, scope)
            return out
        return raw

    def eval_block(self, body, scope):
        out = {}
        for k in list(body) + list(body.get("dynamic") or {}):
            if k in META or k == "__file__":
                continue
            out[k] = self.eval_arg(body, k, scope)
        return out

    def eval_arg(self, body, name, scope):
        """An argument or the nested blocks of one type (static ones and `dynamic` ones)."""
        try:
            dyn = (body.get("dynamic") or {}).get(name) if isinstance(body.get("dynamic"), dict) else None
            if dyn is None:
                return self.eval_raw(body.get(name), scope)
            out = []
            if name in body:
                static = self.eval_raw(body[name], scope, is_block=True)
                out.extend(static if isinstance(static, list) else [static])
            for d in _norm_bodies(dyn):
                it = bare(d.get("iterator")) if d.get("iterator") else name
                coll = self.eval_raw(d.get("for_each"), scope)
                if isinstance(coll, Unknown):
                    return merge_unknown(coll)
                items = sorted(coll.items()) if isinstance(coll, dict) else list(enumerate(coll or []))
                for kk, vv in items:
                    if isinstance(coll, list):
                        kk = vv if isinstance(vv, str) else kk
                    s2 = scope.child(**{it: {"key": kk, "value": vv}})
                    for c in _norm_bodies(d.get("content")):
                        out.append(self.eval_block(c, s2))
            return out
        except EvalError as e:
            return Unknown(why=f"invalid expression: {e}")

    # resolver interface (hclexpr)
    def root(self, name, node, scope):
        if name == "var":
            return NS(self.var)
        if name == "local":
            return NS(self.local)
        if name == "path":
            return {"module": ".", "root": ".", "cwd": "."}
        if name == "terraform":
            return {"workspace": "default"}
        if name in ("module", "ephemeral"):
            return NS(lambda n: Unknown({f"{name}.{n}"}))
        if name == "data":
            return NS(lambda t: NS(lambda n: self.collection(f"data.{t}.{n}")))
        if name in ("each", "count", "self"):
            raise EvalError(f"{name} is not available here")
        raise EvalError(f"unknown name {name!r}")

    def ref2(self, first, second, scope):
        if first in SPECIAL_ROOTS:
            return NotImplemented
        return self.collection(f"{first}.{second}")

    def ref3(self, data, t, n, scope):
        return self.collection(f"data.{t}.{n}")

    def var(self, name):
        if name not in self.variables:
            raise EvalError(f"reference to undeclared variable var.{name}")
        if name in self.var_values:
            return self.var_values[name]
        return Unknown({f"var.{name}"})

    def local(self, name):
        if name not in self.locals_raw:
            raise EvalError(f"reference to undeclared local value local.{name}")
        if name in self._locals:
            return self._locals[name]
        if name in self._busy:
            return Unknown(why=f"local.{name} refers to itself")
        self._busy.add(name)
        try:
            v = self.eval_raw(self.locals_raw[name], Scope(self))
        except EvalError as e:
            v = Unknown(why=f"local.{name}: {e}")
        self._busy.discard(name)
        self._locals[name] = v
        return v

    def collection(self, addr):
        table = self.data if addr.startswith("data.") else self.resources
        if addr not in table:
            raise EvalError(f"reference to undeclared {'data source' if addr.startswith('data.') else 'resource'} {addr}")
        exp = self.expand(table[addr])
        if isinstance(exp, Unknown):
            return exp
        mode, insts = exp
        if mode == "single":
            return insts[0]
        if mode == "count":
            return list(insts)
        return {i.key: i for i in insts}

    def expand(self, block):
        """("single"|"count"|"each", [Instance]) or Unknown (count/for_each not known at plan)."""
        if block.addr in self._expansions:
            return self._expansions[block.addr]
        self._expansions[block.addr] = Unknown(why=f"{block.addr}: count/for_each refers to itself")
        b = block.body
        try:
            if "count" in b:
                n = self.eval_raw(b["count"], Scope(self))
                if isinstance(n, Unknown):
                    r = Unknown(n.refs, n.why or f"{block.addr}: count is not known until apply")
                else:
                    n = int(n)
                    r = ("count", [Instance(self, block, i, {"count": {"index": i}}) for i in range(n)])
            elif "for_each" in b:
                fe = self.eval_raw(b["for_each"], Scope(self))
                if isinstance(fe, Unknown) or not is_known(list(fe) if isinstance(fe, dict) else fe):
                    u = fe if isinstance(fe, Unknown) else merge_unknown(fe)
                    r = Unknown(u.refs, u.why or f"{block.addr}: for_each keys are not known until apply")
                elif isinstance(fe, dict):
                    r = ("each", [Instance(self, block, k, {"each": {"key": k, "value": v}}) for k, v in sorted(fe.items())])
                elif isinstance(fe, list):
                    if not all(isinstance(x, str) for x in fe):
                        raise EvalError("for_each over a list must be a set of strings (toset())")
                    r = ("each", [Instance(self, block, k, {"each": {"key": k, "value": k}}) for k in sorted(set(fe))])
                else:
                    raise EvalError(f"for_each must be a map or a set, not {fe!r}")
            else:
                r = ("single", [Instance(self, block, None, {})])
        except (EvalError, ValueError, TypeError) as e:
            r = Unknown(why=f"{block.addr}: {e}")
        self._expansions[block.addr] = r
        return r

    def instances(self, kind="resource", rtype=None):
        """(instances, problems): problems name blocks whose instances cannot be known."""
        table = self.data if kind == "data" else self.resources
        out, problems = [], []
        for addr, block in table.items():
            if rtype and block.type != rtype and not (isinstance(rtype, (set, tuple)) and block.type in rtype):
                continue
            exp = self.expand(block)
            if isinstance(exp, Unknown):
                problems.append(f"{addr}: cannot tell its instances ({exp.why or 'count/for_each known only after apply'})")
                continue
            out.extend(exp[1])
        return out, problems

    def file_fn(self, name, args, scope):
        if not args or not isinstance(args[0], str):
            return merge_unknown(*args, why=f"{name}() of a path that is not known")
        p = args[0]
        path = os.path.normpath(os.path.join(self.dir, p))
        top = os.path.normpath(os.path.join(self.dir, ".."))
        if not (path + os.sep).startswith(top + os.sep) or not os.path.isfile(path):
            raise EvalError(f"{name}(): no such file {p}")
        with open(path, "rb") as fh:
            text = fh.read(1 << 20).decode("utf-8", "replace")
        if name == "file":
            return text
        vars_ = args[1] if len(args) > 1 else {}
        if isinstance(vars_, Unknown) or not isinstance(vars_, dict):
            return merge_unknown(vars_, why="templatefile() variables not known")
        node = parse_template(text)
        return evaluate(node, Scope(_NoRefs(), dict(vars_)))

    def policy_document(self, inst):
        """data.aws_iam_policy_document.X.json as a policy object (Encoded) or JSON text."""
        doc = {"Version": "2012-10-17", "Statement": []}
        for key in ("source_policy_documents", "source_json"):
            for src in _aslist(inst.value(key)):
                d = policy_object(src)
                if isinstance(d, dict):
                    doc["Statement"].extend(_aslist(d.get("Statement")))
                elif d is not None:
                    doc["Statement"].append(merge_unknown(d, why=None) if not isinstance(d, Unknown) else d)
        sts = inst.value("statement")
        if isinstance(sts, Unknown):
            doc["Statement"].append(sts)
        for st in _aslist(sts):
            if not isinstance(st, dict):
                continue
            o = {"Effect": st.get("effect") if st.get("effect") is not None else "Allow"}
            if st.get("sid") is not None:
                o["Sid"] = st["sid"]
            for k, j in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                         ("not_resources", "NotResource")):
                if st.get(k) is not None:
                    o[j] = st[k]
            for k, j in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
                ps = st.get(k)
                if ps:
                    pr = {}
                    for p in _aslist(ps):
                        if isinstance(p, dict):
                            pr.setdefault(p.get("type"), []).extend(_aslist(p.get("identifiers")))
                    o[j] = pr
            if st.get("condition"):
                o["Condition"] = st["condition"]
            sid = o.get("Sid")
            if sid is not None:
                doc["Statement"] = [s for s in doc["Statement"] if not (isinstance(s, dict) and s.get("Sid") == sid)]
            doc["Statement"].append(o)
        for key in ("override_policy_documents", "override_json"):
            for src in _aslist(inst.value(key)):
                d = policy_object(src)
                for s in _aslist(d.get("Statement")) if isinstance(d, dict) else [d]:
                    if isinstance(s, dict) and s.get("Sid") is not None:
                        doc["Statement"] = [x for x in doc["Statement"] if not (isinstance(x, dict) and x.get("Sid") == s["Sid"])]
                    doc["Statement"].append(s)
        return Encoded(doc)


class _NoRefs:
    def root(self, name, node, scope):
        raise EvalError(f"no references allowed here ({name})")

    def ref2(self, a, b, scope):
        raise EvalError(f"no references allowed here ({a}.{b})")

    def ref3(self, *a):
        raise EvalError("no references allowed here")

    def file_fn(self, name, args, scope):
        raise EvalError(f"{name}() is not allowed here")


def _aslist(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def policy_object(v):
    """A policy as a Python object: from JSON text, jsonencode() with unknowns, or an object."""
    if isinstance(v, Encoded):
        return v.value
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return Unknown(why="the policy text is not valid JSON")
    if isinstance(v, Partial):
        # JSON text with a computed value inside (a heredoc with ${aws_x.arn}): parse it with placeholders
        marks = {}
        text = ""
        for p in v.pieces:
            if isinstance(p, str):
                text += p
            else:
                k = f"\ufdd0{len(marks)}\ufdd0"
                marks[k] = p
                text += k
        try:
            obj = json.loads(text)
        except ValueError:
            return Unknown(v.refs, v.why or "the policy text is not valid JSON")

        def back(x):
            if isinstance(x, str):
                if x in marks:
                    return marks[x]
                if "\ufdd0" in x:
                    parts = re.split(r"(\ufdd0\d+\ufdd0)", x)
                    return Partial([marks.get(p, p) for p in parts if p])
                return x
            if isinstance(x, list):
                return [back(y) for y in x]
            if isinstance(x, dict):
                return {k: back(y) for k, y in x.items()}
            return x
        return back(obj)
    return v


def merge_body(base, over):
    """Terraform's override merge: arguments replace, nested blocks replace all blocks of their type,
    lifecycle merges argument by argument."""
    out = dict(base)
    dyn = dict(out.get("dynamic") or {})
    for k, v in over.items():
        if k == "lifecycle":
            lc = {}
            for b in _norm_bodies(out.get("lifecycle")):
                lc.update(b)
            for b in _norm_bodies(v):
                lc.update(b)
            out["lifecycle"] = [lc]
        elif k == "dynamic":
            for t, d in (v or {}).items():
                out.pop(t, None)
                dyn[t] = d
        else:
            out[k] = v
            dyn.pop(k, None)
    if dyn:
        out["dynamic"] = dyn
    else:
        out.pop("dynamic", None)
    return out
