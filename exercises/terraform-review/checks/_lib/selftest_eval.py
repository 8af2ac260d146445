#!/usr/bin/env python3
"""Unit tests of the evaluator (hclexpr, tfmodel) on small fixture modules. Run in the grader image:
docker run --rm -v $PWD/exercises/terraform-review/checks/_lib:/l:ro opslab/grader:latest python3 /l/selftest_eval.py
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hclexpr import Partial, Scope, Unknown, evaluate, parse_template  # noqa: E402
from tfmodel import Module, policy_object  # noqa: E402
from validate import validate  # noqa: E402

fails = 0


def check(name, got, want):
    global fails
    ok = got == want if not callable(want) else want(got)
    if not ok:
        fails += 1
        print(f"FAIL {name}: got {got!r}, want {want!r}")


def module(files, tfvars=None):
    d = tempfile.mkdtemp()
    for n, text in files.items():
        open(os.path.join(d, n), "w").write(text)
    tf = [os.path.join(d, n) for n in sorted(files) if n.endswith((".tf", ".tfvars")) and not n.endswith(".json")]
    parsed = json.loads(subprocess.run(["hcl2json", *tf], capture_output=True, text=True, check=True).stdout) if tf else {}
    tfd = {k: v for k, v in parsed.items() if k.endswith(".tf")}
    tvd = {k: v for k, v in parsed.items() if k.endswith(".tfvars")}
    js = {os.path.join(d, n): json.loads(t) for n, t in files.items() if n.endswith(".tf.json")}
    vj = {os.path.join(d, n): json.loads(t) for n, t in files.items() if n.endswith(".tfvars.json")}
    m = Module(d, tfd, js, tvd, vj)
    validate(m)
    return m


def ev(m, expr):
    return evaluate(parse_template("${" + expr + "}"), Scope(m))


m = module({"main.tf": '''
variable "project" { default = "invoicer" }
variable "env" { default = "dev" }
variable "ports" { default = [22, 80] }
variable "unset" {}
locals {
  prefix = "${var.project}-${var.env}"
  tags   = merge({ A = "1" }, { B = lookup({ x = "2" }, "x", "0") })
  names  = [for p in var.ports : format("%s-%d", local.prefix, p) if p != 80]
  m      = { for k, v in { a = 1, b = 2 } : upper(k) => v * 10 }
  cond   = var.env == "prod" ? "big" : "small"
  heredoc = <<-EOT
    {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "${aws_s3_bucket.b.arn}/*"}]}
  EOT
  esc    = "$${not} %%{x}"
  sub    = cidrsubnet("10.40.0.0/16", 8, 11)
  tr     = try(local.tags.missing, "fallback")
  un     = unknownfn(1)
  joined = join("/", concat(["a"], tolist(["b"])))
  splat  = aws_subnet.s[*].cidr_block
}
resource "aws_s3_bucket" "b" {
  bucket = local.prefix
}
resource "aws_subnet" "s" {
  count      = 2
  cidr_block = cidrsubnet("10.0.0.0/16", 8, count.index)
}
resource "aws_security_group" "g" {
  for_each = toset(["x", "y"])
  name     = "${local.prefix}-${each.key}"
  dynamic "ingress" {
    for_each = var.ports
    iterator = port
    content {
      from_port = port.value
      to_port   = port.value
    }
  }
}
''', "terraform.tfvars": 'env = "prod"\n', "b.auto.tfvars": 'env = "staging"\n', "a.auto.tfvars": 'env = "qa"\n'})
check("tfvars order", m.var_values["env"], "staging")
check("template", m.local("prefix"), "invoicer-staging")
check("merge/lookup", m.local("tags"), {"A": "1", "B": "2"})
check("for+format", m.local("names"), ["invoicer-staging-22"])
check("for object", m.local("m"), {"A": 10, "B": 20})
check("conditional", m.local("cond"), "small")
check("escapes", m.local("esc"), "${not} %{x}")
check("cidrsubnet", m.local("sub"), "10.40.11.0/24")
check("try", m.local("tr"), "fallback")
check("unknown function", m.local("un"), lambda v: isinstance(v, Unknown) and "unknownfn" in v.why)
check("join/concat", m.local("joined"), "a/b")
check("splat over count", m.local("splat"), ["10.0.0.0/24", "10.0.1.0/24"])
check("bucket arn", ev(m, "aws_s3_bucket.b.arn"), "arn:aws:s3:::invoicer-staging")
check("unset variable", ev(m, "var.unset"), lambda v: isinstance(v, Unknown) and not v.why and "var.unset" in v.refs)
check("heredoc policy", policy_object(m.local("heredoc"))["Statement"][0]["Resource"], "arn:aws:s3:::invoicer-staging/*")
insts, _ = m.instances("resource", "aws_security_group")
check("for_each instances", sorted(i.addr for i in insts), ['aws_security_group.g["x"]', 'aws_security_group.g["y"]'])
check("dynamic", [b["from_port"] for b in insts[0].value("ingress")], [22, 80])
check("each.key", insts[0].value("name"), "invoicer-staging-x")
check("no errors", m.errors, [])

m = module({"main.tf": '''
resource "aws_db_instance" "db" {
  storage_encrypted = true
  tags = { A = "1" }
}
provider "aws" { region = "eu-west-1" }
''', "db_override.tf": '''
resource "aws_db_instance" "db" {
  storage_encrypted = false
  lifecycle { ignore_changes = [tags] }
}
provider "aws" {
  default_tags { tags = { X = "y" } }
}
''', "extra.tf.json": json.dumps({"resource": {"aws_s3_bucket": {"j": {"bucket": "${aws_db_instance.db.id}-x"}}},
                                  "moved": [{"from": "aws_s3_bucket.old", "to": "aws_s3_bucket.j"}]})})
db = m.instances("resource", "aws_db_instance")[0][0]
check("override argument", db.value("storage_encrypted"), False)
check("override keeps others", db.value("tags"), {"A": "1"})
check("override lifecycle", db.ignored("tags"), True)
check("provider override", "default_tags" in m.providers[0][2] and m.providers[0][2]["region"] == "eu-west-1", True)
j = m.instances("resource", "aws_s3_bucket")[0][0]
check("tf.json resource", j.value("bucket"), lambda v: isinstance(v, Partial))
check("tf.json moved", m.moved[0][:2], ("aws_s3_bucket.old", "aws_s3_bucket.j"))

m = module({"main.tf": '''
resource "aws_s3_bucket" "a" { bucket = var.nope }
resource "aws_s3_bucket" "a" { bucket = "x" }
moved {
  from = aws_s3_bucket.a
  to   = aws_s3_bucket.b
}
'''})
check("dangling, duplicate, moved still declared", len(m.errors), 3)

print("evaluator tests:", "FAILED" if fails else "ok")
sys.exit(1 if fails else 0)
