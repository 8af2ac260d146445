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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hclexpr import Unknown, Partial, Encoded, EvalError, cannot, is_known, find_unknowns  # noqa: E402,F401


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
    return module_files(directory)[0]


def hcl2json(files):
    """(parsed dict, None) or (None, error message). Each run of the parser costs about half a second (it is
    WebAssembly), so results are cached in the grader's own /tmp for the checks that follow."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0" + open(f, "rb").read() + b"\0")
    # The platform gives each check its own TMPDIR; the checks of one grading run share the grader's
    # /tmp, so the parse is cached there (keyed by the files' names and contents) and runs once per run.
    base = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else tempfile.gettempdir()
    cache = os.path.join(base, f"opslab-tfreview-{os.getuid()}-{h.hexdigest()}.json")
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


def module_files(directory=None):
    """(tf, tf.json, tfvars, tfvars.json) paths of the root module, as Terraform picks them."""
    d = directory or infra_dir()
    out = ([], [], [], [])
    if not os.path.isdir(d):
        return out
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        if not os.path.isfile(p) or n.startswith("."):
            continue
        if n.endswith(".tf"):
            out[0].append(p)
        elif n.endswith(".tf.json"):
            out[1].append(p)
        elif n == "terraform.tfvars" or n.endswith(".auto.tfvars"):
            out[2].append(p)
        elif n == "terraform.tfvars.json" or n.endswith(".auto.tfvars.json"):
            out[3].append(p)
    return out


def _json_file(path):
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(4 << 20).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"{os.path.basename(path)}: not valid JSON: {e}"
    if not isinstance(doc, dict):
        return None, f"{os.path.basename(path)}: the top level is not an object"
    return doc, None


def load_module(fail_on_errors=True):
    """The root module, evaluated. Configuration errors (Terraform would refuse to plan) fail the
    check: a configuration that cannot be applied fixes nothing."""
    from tfmodel import Module
    from validate import validate
    tf, tfj, tv, tvj = module_files()
    if not tf and not tfj:
        failed("No Terraform files found in /root/work/infra.", f"no *.tf under {infra_dir()}")
    ws = workspace()
    parsed = {}
    if tf or tv:
        parsed, err = hcl2json(tf + tv)
        if parsed is None:
            failed("The Terraform configuration does not parse (run hcl-check in /root/work/infra).",
                   err.replace(ws, "/root/work"))
    errors = []
    json_docs, vars_json = {}, {}
    for p in tfj + tvj:
        doc, e = _json_file(p)
        if e:
            errors.append(e)
        else:
            (json_docs if p in tfj else vars_json)[p] = doc
    tf_docs = {k: v for k, v in parsed.items() if k in tf}
    vars_hcl = {k: v for k, v in parsed.items() if k in tv}
    mod = Module(infra_dir(), tf_docs, json_docs, vars_hcl, vars_json, errors)
    validate(mod)
    if mod.modules and fail_on_errors:
        failed("The configuration calls modules (" + ", ".join(sorted(mod.modules)) + "), which the grader "
               "cannot evaluate: keep the stack's resources in the root module.",
               "module blocks: " + ", ".join(sorted(mod.modules)))
    if mod.errors and fail_on_errors:
        failed("The configuration is not valid Terraform, so none of it could be applied: "
               + mod.errors[0].replace(ws, "/root/work")[:300],
               "\n".join(e.replace(ws, "/root/work") for e in mod.errors))
    return mod


def load(require_files=True):
    return load_module()


def strip_ref(value):
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{\s*(.*?)\s*\}", value.strip(), re.S)
        return m.group(1) if m else value.strip()
    return value


def blocks(value):
    """Nested blocks as a list of bodies (lists of dicts; tolerate a single dict)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [b for b in value if isinstance(b, dict)]
    if isinstance(value, dict):
        return [value]
    return []


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def show(v, n=120):
    return repr(v)[:n]


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


def mod_scope(mod):
    from hclexpr import Scope
    return Scope(mod)


def bare_ref(raw):
    from tfmodel import bare
    return bare(raw) if isinstance(raw, str) else None


def text_of(v, placeholder="\x00"):
    """A known string, or a Partial's text with placeholders for its computed pieces; else None."""
    if isinstance(v, Partial):
        return v.text(placeholder)
    if isinstance(v, str):
        return v
    return None


def bucket_index(mod):
    """aws_s3_bucket instances and how a satellite resource may point at each (name or address)."""
    insts, problems = mod.instances("resource", "aws_s3_bucket")
    return insts, problems


def targets_bucket(value, bucket):
    """Does a satellite's `bucket` argument name this bucket instance?"""
    name = bucket.tf_attr("bucket")
    if isinstance(value, str) and isinstance(name, str):
        return value == name
    if isinstance(value, Unknown) and not isinstance(value, Partial):
        return any(r.rsplit(".", 1)[0] == bucket.addr for r in value.refs)
    return False


def removed_live(mod, addresses):
    """removed blocks with destroy = false for these addresses: the object stays live, unmanaged."""
    out = []
    for src, destroy, f in mod.removed:
        if src and not destroy and any(a == src or a.startswith(src + "[") for a in addresses):
            out.append(f"{f}: removed {{ from = {src} }} with destroy = false leaves the live object as it is")
    return out


def hidden_addresses():
    """hidden/addresses for this variant: (keep, removable, counted)."""
    keep, removable, counted = set(), set(), set()
    path = os.path.join(os.environ.get("EXERCISE", "/exercise"), "hidden", "addresses")
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        broken(f"cannot read {path}: {e}")
    for line in lines:
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        addr, conds = line[0], line[1:]
        ok, rem = True, False
        for c in conds:
            if c == "removable":
                rem = True
                continue
            if c == "count":
                counted.add(addr)
                continue
            neg = "!=" in c
            k, v = c.split("!=" if neg else "=", 1)
            ok = ok and ((variant(k) in v.split(",")) != neg)
        if ok:
            (removable if rem else keep).add(addr)
    return keep, removable, counted
