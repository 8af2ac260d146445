"""Shared helpers for the terraform-review checks.

The candidate's configuration is read with `hcl2json` (HashiCorp's HCL2 parser). Block structure comes
back as JSON; expressions come back as "${...}" strings, which `parse_expr` turns into Python values
(objects, tuples, strings, numbers) with Ref / Call / Opaque nodes for what is not a literal.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile


# --- verdicts ------------------------------------------------------------------------------

def passed(msg, details=""):
    print(msg)
    if details:
        print(details, file=sys.stderr)
    sys.exit(0)


def failed(msg, details=""):
    print(msg)
    if details:
        print(details[:3900], file=sys.stderr)
    sys.exit(1)


def broken(msg):
    print("The check could not run; the interviewer has the details.")
    print(msg, file=sys.stderr)
    sys.exit(2)


def workspace():
    ws = os.environ.get("WORKSPACE")
    if not ws:
        broken("WORKSPACE is not set")
    return ws


def infra_dir():
    return os.path.join(workspace(), "infra")


def variant(name):
    value = os.environ.get("OPSLAB_VAR_" + name.upper())
    if value is None:
        broken(f"OPSLAB_VAR_{name.upper()} is not set")
    return value


def seeded_secret():
    """The plaintext password that setup planted for this attempt's seed."""
    seed = os.environ.get("OPSLAB_SEED")
    if seed is None:
        return None
    digest = hashlib.sha256(("opslab-terraform-review:" + seed).encode()).hexdigest()
    return "Inv0icer-" + digest[:6] + "-" + digest[6:12]


# --- parsing -------------------------------------------------------------------------------

def tf_files(directory=None):
    d = directory or infra_dir()
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d)
                  if n.endswith(".tf") and os.path.isfile(os.path.join(d, n)))


def hcl2json(files):
    """(parsed dict, None) or (None, error message). Each run of the parser costs seconds (it is
    WebAssembly), so results are cached in the grader's own /tmp for the checks that follow."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0" + open(f, "rb").read() + b"\0")
    cache = os.path.join(tempfile.gettempdir(), f"opslab-tfreview-{os.getuid()}-{h.hexdigest()}.json")
    try:
        with open(cache) as fh:
            hit = json.load(fh)
        return hit.get("parsed"), hit.get("error")
    except (OSError, ValueError):
        pass
    result = _hcl2json(files)
    try:
        tmp = f"{cache}.{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump({"parsed": result[0], "error": result[1]}, fh)
        os.replace(tmp, cache)
    except OSError:
        pass
    return result


def _hcl2json(files):
    try:
        p = subprocess.run(["hcl2json", *files], capture_output=True, text=True, timeout=50)
    except FileNotFoundError:
        broken("hcl2json is not installed in the grader")
    except subprocess.TimeoutExpired:
        broken("hcl2json timed out")
    if p.returncode == 0:
        try:
            return json.loads(p.stdout), None
        except ValueError as e:
            broken(f"hcl2json printed no JSON: {e}")
    if p.returncode == 2 and p.stderr.strip():
        return None, p.stderr.strip()
    broken(f"hcl2json exited {p.returncode}: {p.stderr.strip()[:500]}")


class Config:
    """The merged view of every *.tf file of the candidate's infra directory."""

    def __init__(self, parsed):
        self.files = parsed
        self.resources = []   # (type, name, body, file)
        self.data = []        # (type, name, body, file)
        self.variables = {}   # name -> body
        self.locals = {}      # name -> raw value
        self.providers = []   # (name, body)
        self.moved = []       # (from, to)
        self.removed = []     # from
        self.outputs = {}
        for file, doc in parsed.items():
            for rtype, by_name in (doc.get("resource") or {}).items():
                for name, bodies in by_name.items():
                    for body in bodies:
                        self.resources.append((rtype, name, body, file))
            for dtype, by_name in (doc.get("data") or {}).items():
                for name, bodies in by_name.items():
                    for body in bodies:
                        self.data.append((dtype, name, body, file))
            for name, bodies in (doc.get("variable") or {}).items():
                for body in bodies:
                    self.variables[name] = body
            for block in doc.get("locals") or []:
                self.locals.update(block)
            for name, bodies in (doc.get("provider") or {}).items():
                for body in bodies:
                    self.providers.append((name, body))
            for block in doc.get("moved") or []:
                self.moved.append((strip_ref(block.get("from")), strip_ref(block.get("to"))))
            for block in doc.get("removed") or []:
                self.removed.append(strip_ref(block.get("from")))
            for name, bodies in (doc.get("output") or {}).items():
                self.outputs[name] = bodies[0] if bodies else {}

    def of_type(self, rtype):
        return [(n, b) for t, n, b, _ in self.resources if t == rtype]

    def addresses(self):
        return {f"{t}.{n}" for t, n, _, _ in self.resources}


def load(require_files=True):
    """The parsed configuration, or a failed verdict when it cannot be read."""
    files = tf_files()
    if not files:
        failed("No Terraform files found in /root/work/infra.", f"no *.tf under {infra_dir()}")
    parsed, err = hcl2json(files)
    if parsed is None:
        ws = workspace()
        failed("The Terraform configuration does not parse (run hcl-check in /root/work/infra).",
               err.replace(ws, "/root/work"))
    return Config(parsed)


def strip_ref(value):
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{\s*(.*?)\s*\}", value.strip(), re.S)
        return m.group(1) if m else value.strip()
    return value


def blocks(value):
    """A nested block as a list of bodies (hcl2json gives lists; tolerate a single dict)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [b for b in value if isinstance(b, dict)]
    if isinstance(value, dict):
        return [value]
    return []


# --- expressions ---------------------------------------------------------------------------

class Ref(str):
    """A traversal such as local.common_tags or aws_s3_bucket.logs.arn."""


class Call:
    def __init__(self, name, args):
        self.name, self.args = name, args

    def __repr__(self):
        return f"Call({self.name}, {self.args!r})"


class Opaque(str):
    """Any other expression, kept as its source text."""


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class _Parser:
    def __init__(self, text):
        self.s, self.i = text, 0

    def ws(self, newlines=True):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif s.startswith("#", self.i) or s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j
            elif s.startswith("/*", self.i):
                j = s.find("*/", self.i + 2)
                self.i = len(s) if j < 0 else j + 2
            else:
                break

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_string(self):
        # at an opening quote; returns the raw content (escapes resolved for the simple cases)
        s, i = self.s, self.i + 1
        out, depth = [], 0
        while i < len(s):
            c = s[i]
            if depth == 0 and c == '"':
                self.i = i + 1
                return "".join(out)
            if c == "\\" and i + 1 < len(s):
                nxt = s[i + 1]
                out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt) if depth == 0 else c + nxt)
                i += 2
                continue
            if s.startswith("${", i) or s.startswith("%{", i):
                depth += 1
                out.append(s[i:i + 2])
                i += 2
                continue
            if depth and c == "}":
                depth -= 1
            elif depth and c == '"':
                # a string inside an interpolation: copy it whole
                j = i + 1
                while j < len(s) and s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
                out.append(s[i:j + 1])
                i = j + 1
                continue
            out.append(c)
            i += 1
        raise ValueError("unterminated string")

    def skip_balanced(self):
        # from an opening bracket to its match; returns the text
        s, start = self.s, self.i
        depth = 0
        while self.i < len(s):
            c = s[self.i]
            if c == '"':
                self.skip_string()
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return s[start:self.i]
            self.i += 1
        raise ValueError("unbalanced brackets")

    def rest_of_expression(self, start):
        # consume an operator expression up to a delimiter at depth 0
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == '"':
                self.skip_string()
            elif c in "([{":
                self.skip_balanced()
            elif c in ",)]}\n":
                break
            else:
                self.i += 1
        return Opaque(s[start:self.i].strip())

    def expr(self):
        self.ws()
        start = self.i
        value = self.primary()
        self.ws(newlines=False)
        c = self.peek()
        if c and c in "?:+-*/%<>=!&|" and not self.s.startswith("=>", self.i):
            if c == ":" or (c == "=" and not self.s.startswith("==", self.i)):
                return value  # an object key separator, not an operator
            return self.rest_of_expression(start)
        return value

    def primary(self):
        s = self.s
        c = self.peek()
        if c == "{":
            if re.match(r"\{\s*for\s", s[self.i:]):
                return Opaque(self.skip_balanced())
            return self.obj()
        if c == "[":
            if re.match(r"\[\s*for\s", s[self.i:]):
                return Opaque(self.skip_balanced())
            return self.tup()
        if c == '"':
            return self.skip_string()
        if c == "(":
            self.i += 1
            v = self.expr()
            self.ws()
            if self.peek() == ")":
                self.i += 1
            return v
        if s.startswith("<<", self.i):
            m = re.compile(r"<<-?([A-Za-z_]+)[ \t]*\n").match(s, self.i)
            if m:
                marker = m.group(1)
                end = re.compile(r"^[ \t]*" + re.escape(marker) + r"[ \t]*$", re.M).search(s, m.end())
                if end:
                    body = s[m.end():end.start()]
                    self.i = end.end()
                    lines = body.split("\n")
                    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
                    return "\n".join(l[indent:] for l in lines)
            raise ValueError("bad heredoc")
        m = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?").match(s, self.i)
        if m:
            self.i = m.end()
            t = m.group(0)
            return float(t) if any(x in t for x in ".eE") else int(t)
        m = _IDENT.match(s, self.i)
        if m:
            self.i = m.end()
            word = m.group(0)
            if word in ("true", "false"):
                return word == "true"
            if word == "null":
                return None
            self.ws(newlines=False)
            if self.peek() == "(":
                return Call(word, self.args())
            while True:
                if self.peek() == ".":
                    m2 = re.compile(r"\.(\*|\d+|[A-Za-z_][A-Za-z0-9_-]*)").match(s, self.i)
                    if not m2:
                        break
                    self.i = m2.end()
                elif self.peek() == "[":
                    self.skip_balanced()
                else:
                    break
            return Ref(s[m.start():self.i])
        if c in "!-":
            self.i += 1
            inner = self.primary()
            return Opaque(s[self.i - 1:self.i]) if inner is None else Opaque(f"{c}{inner}")
        raise ValueError(f"unexpected {c!r} at {self.i}")

    def args(self):
        self.i += 1  # (
        out = []
        while True:
            self.ws()
            if self.peek() == ")":
                self.i += 1
                return out
            out.append(self.expr())
            self.ws()
            if self.s.startswith("...", self.i):
                self.i += 3
                self.ws()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != ")":
                raise ValueError("bad call arguments")

    def tup(self):
        self.i += 1
        out = []
        while True:
            self.ws()
            if self.peek() == "]":
                self.i += 1
                return out
            out.append(self.expr())
            self.ws()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "]":
                raise ValueError("bad tuple")

    def obj(self):
        self.i += 1
        out = {}
        while True:
            self.ws()
            if self.peek() == ",":
                self.i += 1
                continue
            if self.peek() == "}":
                self.i += 1
                return out
            if self.peek() == '"':
                key = self.skip_string()
            elif self.peek() == "(":
                key = Opaque(self.skip_balanced())
            else:
                m = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*").match(self.s, self.i)
                if not m:
                    raise ValueError("bad object key")
                key = m.group(0)
                self.i = m.end()
            self.ws()
            if self.peek() not in ("=", ":"):
                raise ValueError("expected = or :")
            self.i += 1
            out[key] = self.expr()


def parse_expr(text):
    """An HCL expression's source text -> Python value (Opaque when it cannot be read)."""
    try:
        p = _Parser(text)
        v = p.expr()
        p.ws()
        if p.i < len(p.s):
            return Opaque(text.strip())
        return v
    except (ValueError, IndexError, RecursionError):
        return Opaque(text.strip())


def value_of(raw):
    """An attribute as hcl2json gives it -> Python value: "${expr}" strings are parsed."""
    if isinstance(raw, str):
        m = re.fullmatch(r"\$\{(.*)\}", raw, re.S)
        if m and _balanced_interpolation(raw):
            return parse_expr(m.group(1))
        return raw
    if isinstance(raw, list):
        return [value_of(x) for x in raw]
    if isinstance(raw, dict):
        return {k: value_of(v) for k, v in raw.items()}
    return raw


def _balanced_interpolation(raw):
    # "${a}-${b}" is a template, not one expression
    depth, i = 0, 0
    while i < len(raw):
        if raw.startswith("${", i):
            depth += 1
            i += 2
            continue
        if raw[i] == "{" and depth > 0:
            depth += 1
        elif raw[i] == "}":
            depth -= 1
            if depth == 0 and i != len(raw) - 1:
                return False
        elif raw[i] == '"' and depth > 0:
            j = i + 1
            while j < len(raw) and raw[j] != '"':
                j += 2 if raw[j] == "\\" else 1
            i = j
        i += 1
    return True


def resolve(cfg, value, depth=0):
    """Follow local.X / var.X (its default) and merge()/tomap()/jsondecode-free calls where possible."""
    if depth > 10:
        return Opaque("...")
    if isinstance(value, Ref):
        parts = value.split(".")
        if parts[0] == "local" and len(parts) >= 2 and parts[1] in cfg.locals:
            v = resolve(cfg, value_of(cfg.locals[parts[1]]), depth + 1)
            for p in parts[2:]:
                v = v.get(p) if isinstance(v, dict) else Opaque(value)
            return v
        if parts[0] == "var" and len(parts) == 2 and parts[1] in cfg.variables:
            body = cfg.variables[parts[1]]
            if "default" in body:
                return resolve(cfg, value_of(body["default"]), depth + 1)
        return value
    if isinstance(value, Call):
        if value.name == "merge":
            out = {}
            for a in value.args:
                a = resolve(cfg, a, depth + 1)
                if not isinstance(a, dict):
                    return Opaque("merge(...)")
                out.update(a)
            return out
        if value.name in ("tomap", "tolist", "toset", "flatten", "distinct", "compact") and len(value.args) == 1:
            return resolve(cfg, value.args[0], depth + 1)
        if value.name == "concat":
            out = []
            for a in value.args:
                a = resolve(cfg, a, depth + 1)
                if not isinstance(a, list):
                    return Opaque("concat(...)")
                out.extend(a)
            return out
        return value
    if isinstance(value, str) and not isinstance(value, Opaque) and "${" in value:
        return value
    if isinstance(value, list):
        return [resolve(cfg, x, depth + 1) for x in value]
    if isinstance(value, dict):
        return {k: resolve(cfg, v, depth + 1) for k, v in value.items()}
    return value


def attr(cfg, body, name):
    return resolve(cfg, value_of(body.get(name))) if name in body else None


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def refs_in(raw):
    """Every resource/data/var/local reference in an attribute's source (hcl2json form)."""
    out = set()

    def walk(x):
        if isinstance(x, str):
            for m in re.finditer(r"\$\{", x):
                out.update(_REF.findall(_interp(x, m.start())))
        elif isinstance(x, list):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)
    walk(raw)
    return out


_REF = re.compile(r"(?<![\w.\"/:-])((?:data\.[a-z][a-z0-9_]*|var|local|[a-z][a-z0-9]*_[a-z0-9_]+)\.[A-Za-z_][A-Za-z0-9_-]*)")


def _interp(text, start):
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 2:i]
        i += 1
    return text[start + 2:]


def bucket_targets(body):
    """Names of the aws_s3_bucket resources a satellite resource (encryption, access block...) points at."""
    names = set()
    for key in ("bucket", "for_each"):
        if key in body:
            text = json.dumps(body[key])
            names.update(re.findall(r"aws_s3_bucket\.([A-Za-z_][A-Za-z0-9_-]*)", text))
    return names


def literal_bucket(body):
    b = body.get("bucket")
    return b if isinstance(b, str) and "${" not in b else None


# Resource types of the AWS provider that accept tags (those a stack like this one uses, and more).
TAGGABLE = {
    "aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_egress_only_internet_gateway", "aws_eip",
    "aws_nat_gateway", "aws_route_table", "aws_security_group", "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule", "aws_network_acl", "aws_vpc_endpoint", "aws_flow_log",
    "aws_s3_bucket", "aws_kms_key", "aws_db_instance", "aws_db_subnet_group", "aws_db_parameter_group",
    "aws_db_option_group", "aws_rds_cluster", "aws_rds_cluster_instance", "aws_instance", "aws_ebs_volume",
    "aws_launch_template", "aws_autoscaling_group", "aws_lb", "aws_lb_target_group", "aws_lb_listener",
    "aws_lb_listener_rule", "aws_iam_role", "aws_iam_policy", "aws_iam_instance_profile", "aws_iam_user",
    "aws_cloudwatch_log_group", "aws_cloudwatch_metric_alarm", "aws_secretsmanager_secret",
    "aws_ssm_parameter", "aws_sns_topic", "aws_sqs_queue", "aws_acm_certificate", "aws_ecr_repository",
    "aws_lambda_function", "aws_dynamodb_table", "aws_elasticache_cluster", "aws_efs_file_system",
    "aws_wafv2_web_acl", "aws_cloudfront_distribution", "aws_route53_zone",
}

REQUIRED_TAGS = ["Project", "Environment", "Owner", "CostCenter"]


def read_text(path, limit=1 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
