"""HCL expressions and templates: a parser to a small AST and an evaluator.

Values are Python values (None, bool, int/float, str, list, dict) plus Unknown: a value Terraform
would only know at apply time (a computed attribute, a variable without a value), or one this
evaluator cannot compute (`why` says what: an unsupported function, an invalid operation). Unknown
remembers the references it came from (`refs`) so that checks can tell where a value comes from.
"""
import base64
import hashlib
import ipaddress
import json
import re


class EvalError(Exception):
    """The expression is invalid in Terraform (a missing key, a type error): plan would fail."""


class Unknown:
    __slots__ = ("refs", "why", "alts")

    def __init__(self, refs=(), why=None, alts=()):
        self.refs = frozenset(refs)
        self.why = why        # None: only known after apply; a string: the grader cannot evaluate it
        self.alts = tuple(alts)  # known values it may take (the branches of a conditional...)

    def __repr__(self):
        if self.why:
            return f"<cannot evaluate: {self.why}>"
        return "<known after apply" + (f": {', '.join(sorted(self.refs))}" if self.refs else "") + ">"

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


class Partial(Unknown):
    """A string with unknown pieces (a template with a computed ARN in it)."""
    __slots__ = ("pieces",)

    def __init__(self, pieces):
        refs, whys = set(), []
        for p in pieces:
            if isinstance(p, Unknown):
                refs |= p.refs
                if p.why:
                    whys.append(p.why)
        super().__init__(refs, "; ".join(whys) or None)
        self.pieces = pieces

    def text(self, placeholder="\x00"):
        return "".join(p if isinstance(p, str) else placeholder for p in self.pieces)


class Encoded(Unknown):
    """jsonencode() of a value with unknown parts: the value itself is kept for the checks."""
    __slots__ = ("value",)

    def __init__(self, value):
        super().__init__(collect_refs(value), None)
        self.value = value


def collect_refs(v, out=None):
    out = set() if out is None else out
    if isinstance(v, Unknown):
        out |= v.refs
    elif isinstance(v, list):
        for x in v:
            collect_refs(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            collect_refs(x, out)
    return out


def find_unknowns(v, out=None):
    out = [] if out is None else out
    if isinstance(v, Unknown):
        out.append(v)
    elif isinstance(v, list):
        for x in v:
            find_unknowns(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            find_unknowns(x, out)
    return out


def cannot(v):
    """The first 'cannot evaluate' reason inside v, or None."""
    for u in find_unknowns(v):
        if u.why:
            return u.why
        if isinstance(u, Encoded):
            r = cannot(u.value)
            if r:
                return r
    return None


def is_known(v):
    return not find_unknowns(v)


def merge_unknown(*vals, why=None):
    refs, whys = set(), [why] if why else []
    for v in vals:
        for u in find_unknowns(v):
            refs |= u.refs
            if u.why:
                whys.append(u.why)
    return Unknown(refs, "; ".join(dict.fromkeys(whys)) or None)


# --- parser --------------------------------------------------------------------------------

_NUM = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_OPS = ["||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%"]
_PREC = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4, "+": 5, "-": 5,
         "*": 6, "/": 6, "%": 6}


class ParseError(Exception):
    pass


class _P:
    def __init__(self, s):
        self.s, self.i = s, 0

    def ws(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "#" or s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j
            elif s.startswith("/*", self.i):
                j = s.find("*/", self.i + 2)
                self.i = len(s) if j < 0 else j + 2
            else:
                break

    def peek(self, k=1):
        self.ws()
        return self.s[self.i:self.i + k]

    def eat(self, tok):
        self.ws()
        if self.s.startswith(tok, self.i):
            self.i += len(tok)
            return True
        return False

    def need(self, tok):
        if not self.eat(tok):
            raise ParseError(f"expected {tok!r} at {self.i}: {self.s[self.i:self.i + 20]!r}")

    def keyword(self, word):
        self.ws()
        m = _ID.match(self.s, self.i)
        if m and m.group(0) == word:
            self.i = m.end()
            return True
        return False

    def expr(self):
        cond = self.binop(0)
        if self.peek() == "?":
            self.i += 1
            a = self.expr()
            self.need(":")
            b = self.expr()
            return ("cond", cond, a, b)
        return cond

    def binop(self, minprec):
        left = self.unary()
        while True:
            self.ws()
            op = next((o for o in _OPS if self.s.startswith(o, self.i)), None)
            if op is None or _PREC[op] < minprec:
                return left
            self.i += len(op)
            right = self.binop(_PREC[op] + 1)
            left = ("binop", op, left, right)

    def unary(self):
        self.ws()
        if self.s.startswith("!", self.i) and not self.s.startswith("!=", self.i):
            self.i += 1
            return ("unop", "!", self.unary())
        if self.s.startswith("-", self.i):
            self.i += 1
            return ("unop", "-", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node):
        while True:
            self.ws()
            s = self.s
            if s.startswith(".*", self.i) or s.startswith("[*]", self.i):
                self.i += 2 if s.startswith(".*", self.i) else 3
                ops = []
                while True:
                    self.ws()
                    if s.startswith(".", self.i) and not s.startswith(".*", self.i):
                        self.i += 1
                        m = _ID.match(s, self.i) or _NUM.match(s, self.i)
                        if not m:
                            raise ParseError("bad splat attribute")
                        self.i = m.end()
                        ops.append(("attr", m.group(0)))
                    elif s.startswith("[", self.i) and not s.startswith("[*]", self.i):
                        self.i += 1
                        k = self.expr()
                        self.need("]")
                        ops.append(("index", k))
                    else:
                        break
                node = ("splat", node, ops)
            elif s.startswith(".", self.i) and not s.startswith("...", self.i):
                self.i += 1
                self.ws()
                m = re.compile(r"\d+").match(s, self.i) or _ID.match(s, self.i)
                if not m:
                    raise ParseError("bad attribute")
                self.i = m.end()
                name = m.group(0)
                node = ("index", node, ("lit", int(name))) if name.isdigit() else ("attr", node, name)
            elif s.startswith("[", self.i):
                self.i += 1
                k = self.expr()
                self.need("]")
                node = ("index", node, k)
            else:
                return node

    def primary(self):
        self.ws()
        s, c = self.s, self.s[self.i:self.i + 1]
        if not c:
            raise ParseError("unexpected end")
        if c == "(":
            self.i += 1
            e = self.expr()
            self.need(")")
            return ("paren", e)
        if c == '"':
            self.i += 1
            t = self.template('"')
            if all(isinstance(p, str) for p in t[1]):
                return ("lit", "".join(t[1]))
            return t
        if s.startswith("<<", self.i):
            m = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n").match(s, self.i)
            if not m:
                raise ParseError("bad heredoc")
            end = re.compile(r"^[ \t]*" + re.escape(m.group(2)) + r"[ \t]*$", re.M).search(s, m.end())
            if not end:
                raise ParseError("unterminated heredoc")
            body = s[m.end():end.start()]
            self.i = end.end()
            if m.group(1):
                lines = body.split("\n")
                ind = min((len(l) - len(l.lstrip(" \t")) for l in lines if l.strip()), default=0)
                body = "\n".join(l[ind:] for l in lines)
            return parse_template(body)
        if c == "[":
            self.i += 1
            if self.keyword("for"):
                return self.for_expr("]")
            items = []
            while not self.eat("]"):
                items.append(self.expr())
                if not self.eat(","):
                    self.need("]")
                    break
            return ("tuple", items)
        if c == "{":
            self.i += 1
            if self.keyword("for"):
                return self.for_expr("}")
            items = []
            while not self.eat("}"):
                self.ws()
                m = _ID.match(s, self.i)
                if m and re.match(r"\s*[=:](?!=)", s[m.end():]):
                    self.i = m.end()
                    key = ("lit", m.group(0))
                else:
                    key = self.expr()
                if not (self.eat("=") or self.eat(":")):
                    raise ParseError("expected = in object")
                items.append((key, self.expr()))
                self.eat(",")
            return ("object", items)
        m = _NUM.match(s, self.i)
        if m:
            self.i = m.end()
            t = m.group(0)
            return ("lit", float(t) if any(x in t for x in ".eE") else int(t))
        m = _ID.match(s, self.i)
        if m:
            self.i = m.end()
            word = m.group(0)
            if word in ("true", "false"):
                return ("lit", word == "true")
            if word == "null":
                return ("lit", None)
            if s.startswith("::", self.i):  # provider::name::function
                m2 = re.compile(r"(::[A-Za-z_][A-Za-z0-9_-]*)+").match(s, self.i)
                self.i = m2.end()
                word += m2.group(0)
            self.ws()
            if s.startswith("(", self.i):
                self.i += 1
                args, expand = [], False
                while not self.eat(")"):
                    args.append(self.expr())
                    if self.eat("..."):
                        expand = True
                    if not self.eat(","):
                        self.need(")")
                        break
                return ("call", word, args, expand)
            return ("name", word)
        raise ParseError(f"unexpected {c!r}")

    def for_expr(self, close):
        m1 = self.ident()
        m2 = None
        if self.eat(","):
            m2 = self.ident()
        if not self.keyword("in"):
            raise ParseError("expected in")
        coll = self.expr()
        self.need(":")
        k, v = (m1, m2) if m2 else (None, m1)
        if close == "]":
            val = self.expr()
            cond = self.expr() if self.keyword("if") else None
            self.need("]")
            return ("for_t", k, v, coll, val, cond)
        key = self.expr()
        self.need("=>")
        val = self.expr()
        group = self.eat("...")
        cond = self.expr() if self.keyword("if") else None
        self.need("}")
        return ("for_o", k, v, coll, key, val, group, cond)

    def ident(self):
        self.ws()
        m = _ID.match(self.s, self.i)
        if not m:
            raise ParseError("expected identifier")
        self.i = m.end()
        return m.group(0)

    def template(self, quote):
        """Parse template text up to the closing quote (or the end when quote is None)."""
        s = self.s
        parts, buf = [], []
        stack = [("root", parts)]

        def cur():
            return stack[-1][1]

        def flush():
            if buf:
                cur().append("".join(buf))
                buf.clear()

        while True:
            if self.i >= len(s):
                if quote:
                    raise ParseError("unterminated string")
                break
            c = s[self.i]
            if quote and c == quote:
                self.i += 1
                break
            if quote and c == "\\":
                nxt = s[self.i + 1:self.i + 2]
                if nxt == "u":
                    buf.append(chr(int(s[self.i + 2:self.i + 6], 16)))
                    self.i += 6
                    continue
                if nxt == "U":
                    buf.append(chr(int(s[self.i + 2:self.i + 10], 16)))
                    self.i += 10
                    continue
                buf.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}.get(nxt, nxt))
                self.i += 2
                continue
            if s.startswith("$${", self.i) or s.startswith("%%{", self.i):
                buf.append(s[self.i + 1:self.i + 3])
                self.i += 3
                continue
            if s.startswith("${", self.i):
                self.i += 2
                if self.s.startswith("~", self.i):
                    self.i += 1
                    if buf:
                        buf[-1] = buf[-1].rstrip()
                flush()
                e = self.expr()
                self.ws()
                self.eat("~")
                self.need("}")
                cur().append(e)
                continue
            if s.startswith("%{", self.i):
                self.i += 2
                self.eat("~")
                flush()
                if self.keyword("if"):
                    cond = self.expr()
                    node = ["if", cond, [], []]
                    cur().append(node)
                    stack.append(("if", node[2], node))
                elif self.keyword("else"):
                    if stack[-1][0] != "if":
                        raise ParseError("else without if")
                    node = stack.pop()[2]
                    stack.append(("else", node[3], node))
                elif self.keyword("endif"):
                    if stack[-1][0] not in ("if", "else"):
                        raise ParseError("endif without if")
                    stack.pop()
                elif self.keyword("for"):
                    a = self.ident()
                    b = self.ident() if self.eat(",") else None
                    if not self.keyword("in"):
                        raise ParseError("expected in")
                    coll = self.expr()
                    k, v = (a, b) if b else (None, a)
                    node = ["for", k, v, coll, []]
                    cur().append(node)
                    stack.append(("for", node[4], node))
                elif self.keyword("endfor"):
                    if stack[-1][0] != "for":
                        raise ParseError("endfor without for")
                    stack.pop()
                else:
                    raise ParseError("bad template directive")
                self.ws()
                self.eat("~")
                self.need("}")
                continue
            buf.append(c)
            self.i += 1
        flush()
        if len(stack) != 1:
            raise ParseError("unclosed template directive")
        return ("tmpl", parts)


_cache = {}


def parse_template(text):
    """A string as hcl2json (or a .tf.json file) gives it: a template."""
    key = ("t", text)
    if key not in _cache:
        if "${" not in text and "%{" not in text:
            _cache[key] = ("lit", text)
        else:
            p = _P(text)
            try:
                node = p.template(None)
            except (ParseError, IndexError, ValueError, RecursionError) as e:
                node = ("bad", f"cannot parse {text[:80]!r}: {e}")
            # "${expr}" alone is the expression's own value, not a string
            if node[0] == "tmpl" and len(node[1]) == 1 and isinstance(node[1][0], tuple):
                node = node[1][0]
            _cache[key] = node
    return _cache[key]


def parse_expression(text):
    p = _P(text)
    try:
        node = p.expr()
        p.ws()
        if p.i != len(p.s):
            raise ParseError("trailing text")
        return node
    except (ParseError, IndexError, ValueError, RecursionError) as e:
        return ("bad", f"cannot parse {text[:80]!r}: {e}")


def traversal_text(node):
    """`aws_s3_bucket.x["a"]` for a reference node, else None."""
    if node[0] == "name":
        return node[1]
    if node[0] == "attr":
        t = traversal_text(node[1])
        return t and f"{t}.{node[2]}"
    if node[0] == "index" and node[2][0] == "lit":
        t = traversal_text(node[1])
        return t and f"{t}[{json.dumps(node[2][1])}]"
    if node[0] == "paren":
        return traversal_text(node[1])
    return None


# --- evaluation ----------------------------------------------------------------------------

def type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return "null" if v is None else type(v).__name__


def to_str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return v
    if v is None:
        raise EvalError("null value in a string")
    raise EvalError(f"cannot use a {type_name(v)} as a string")


def to_num(v):
    if isinstance(v, bool):
        raise EvalError("a bool is not a number")
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            f = float(v)
            return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f
        except ValueError:
            raise EvalError(f"{v!r} is not a number")
    raise EvalError(f"a {type_name(v)} is not a number")


def to_bool(v):
    if isinstance(v, bool):
        return v
    if v in ("true", "false"):
        return v == "true"
    raise EvalError(f"{v!r} is not a bool")


def truthy(v):
    return to_bool(v)


class Scope:
    """Names visible to an expression: the module's resolver plus local iterator variables."""

    def __init__(self, resolver, names=None):
        self.resolver, self.names = resolver, names or {}

    def child(self, **kw):
        n = dict(self.names)
        n.update(kw)
        return Scope(self.resolver, n)


def evaluate(node, scope):
    try:
        return _ev(node, scope)
    except RecursionError:
        return Unknown(why="expression too deeply nested")


def _ev(node, sc):
    k = node[0]
    if k == "lit":
        return node[1]
    if k == "paren":
        return _ev(node[1], sc)
    if k == "bad":
        return Unknown(why=node[1])
    if k == "tmpl":
        return _template(node[1], sc)
    if k == "name":
        if node[1] in sc.names:
            return sc.names[node[1]]
        return sc.resolver.root(node[1], node, sc)
    if k == "attr":
        base = node[1]
        # resource and data references are resolved as a whole (type.name, data.type.name)
        if base[0] == "name" and base[1] not in sc.names:
            r = sc.resolver.ref2(base[1], node[2], sc)
            if r is not NotImplemented:
                return r
        if base[0] == "attr" and base[1][0] == "name" and base[1][1] == "data" and "data" not in sc.names:
            r = sc.resolver.ref3("data", base[2], node[2], sc)
            if r is not NotImplemented:
                return r
        return get_attr(_ev(base, sc), node[2])
    if k == "index":
        return get_index(_ev(node[1], sc), _ev(node[2], sc))
    if k == "splat":
        coll = _ev(node[1], sc)
        if isinstance(coll, Unknown):
            return coll
        if coll is None:
            return []
        items = coll if isinstance(coll, list) else [coll]
        out = []
        for it in items:
            for op in node[2]:
                it = get_attr(it, op[1]) if op[0] == "attr" else get_index(it, _ev(op[1], sc))
            out.append(it)
        return out
    if k == "tuple":
        return [_ev(x, sc) for x in node[1]]
    if k == "object":
        out = {}
        for kn, vn in node[1]:
            key = _ev(kn, sc) if kn[0] != "name" else kn[1]
            if isinstance(key, Unknown):
                return merge_unknown(key)
            out[to_str(key)] = _ev(vn, sc)
        return out
    if k == "unop":
        v = _ev(node[2], sc)
        if isinstance(v, Unknown):
            return merge_unknown(v)
        return (not to_bool(v)) if node[1] == "!" else -to_num(v)
    if k == "binop":
        return _binop(node[1], node[2], node[3], sc)
    if k == "cond":
        c = _ev(node[1], sc)
        if isinstance(c, Unknown):
            a, b = _ev(node[2], sc), _ev(node[3], sc)
            if is_known(a) and is_known(b) and a == b:
                return a
            u = merge_unknown(c, a, b)
            u.alts = tuple(x for x in (a, b))
            return u
        return _ev(node[2], sc) if to_bool(c) else _ev(node[3], sc)
    if k == "call":
        return call(node[1], node[2], node[3], sc)
    if k in ("for_t", "for_o"):
        return _for(node, sc)
    raise EvalError(f"unsupported expression {k}")


def _binop(op, ln, rn, sc):
    if op in ("&&", "||"):
        a = _ev(ln, sc)
        if not isinstance(a, Unknown):
            if op == "&&" and not to_bool(a):
                return False
            if op == "||" and to_bool(a):
                return True
        b = _ev(rn, sc)
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            if not isinstance(b, Unknown):
                if op == "&&" and not to_bool(b):
                    return False
                if op == "||" and to_bool(b):
                    return True
            return merge_unknown(a, b)
        return to_bool(b)
    a, b = _ev(ln, sc), _ev(rn, sc)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return merge_unknown(a, b)
    if op == "==":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    x, y = to_num(a), to_num(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        if y == 0:
            raise EvalError("division by zero")
        r = x / y
        return int(r) if r == int(r) else r
    if op == "%":
        return x % y
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def _eq(a, b):
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type_name(a) != type_name(b):
        return False
    return a == b


def _template(parts, sc):
    pieces = []
    for p in parts:
        if isinstance(p, str):
            pieces.append(p)
        elif isinstance(p, tuple):
            v = _ev(p, sc)
            if isinstance(v, Partial):
                pieces.extend(v.pieces)
            elif isinstance(v, Unknown):
                pieces.append(v)
            else:
                pieces.append(to_str(v))
        elif p[0] == "if":
            c = _ev(p[1], sc)
            if isinstance(c, Unknown):
                pieces.append(merge_unknown(c))
            else:
                v = _template(p[2] if to_bool(c) else p[3], sc)
                pieces.extend(v.pieces if isinstance(v, Partial) else [v])
        elif p[0] == "for":
            coll = _ev(p[3], sc)
            if isinstance(coll, Unknown):
                pieces.append(merge_unknown(coll))
                continue
            for kk, vv in _iter(coll):
                names = {p[2]: vv}
                if p[1]:
                    names[p[1]] = kk
                v = _template(p[4], sc.child(**names))
                pieces.extend(v.pieces if isinstance(v, Partial) else [v])
    if any(isinstance(p, Unknown) for p in pieces):
        merged = []
        for p in pieces:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            else:
                merged.append(p)
        return Partial(merged)
    return "".join(pieces)


def _iter(coll):
    if isinstance(coll, dict):
        return sorted(coll.items())
    if isinstance(coll, list):
        return list(enumerate(coll))
    raise EvalError(f"cannot iterate over a {type_name(coll)}")


def _for(node, sc):
    if node[0] == "for_t":
        _, kn, vn, colln, valn, condn = node
    else:
        _, kn, vn, colln, keyn, valn, group, condn = node
    coll = _ev(colln, sc)
    if isinstance(coll, Unknown):
        return merge_unknown(coll)
    out_l, out_d = [], {}
    for kk, vv in _iter(coll):
        names = {vn: vv}
        if kn:
            names[kn] = kk
        s2 = sc.child(**names)
        if condn is not None:
            c = _ev(condn, s2)
            if isinstance(c, Unknown):
                return merge_unknown(c)
            if not to_bool(c):
                continue
        if node[0] == "for_t":
            out_l.append(_ev(valn, s2))
        else:
            key = _ev(keyn, s2)
            if isinstance(key, Unknown):
                return merge_unknown(key)
            key = to_str(key)
            val = _ev(valn, s2)
            if group:
                out_d.setdefault(key, []).append(val)
            else:
                if key in out_d:
                    raise EvalError(f"duplicate key {key!r} in a for expression")
                out_d[key] = val
    return out_l if node[0] == "for_t" else out_d


def get_attr(v, name):
    if isinstance(v, Unknown):
        return Unknown(v.refs, v.why)
    if hasattr(v, "tf_attr"):
        return v.tf_attr(name)
    if isinstance(v, dict):
        if name in v:
            return v[name]
        raise EvalError(f"no attribute {name!r}")
    if v is None:
        raise EvalError(f"attribute {name!r} of null")
    raise EvalError(f"a {type_name(v)} has no attribute {name!r}")


def get_index(v, k):
    if isinstance(v, Unknown):
        return Unknown(v.refs, v.why)
    if isinstance(k, Unknown):
        return merge_unknown(k)
    if hasattr(v, "tf_attr"):
        return v.tf_attr(to_str(k))
    if isinstance(v, list):
        i = to_num(k)
        if not isinstance(i, int) and not (isinstance(i, float) and i.is_integer()):
            raise EvalError("a list index must be a whole number")
        i = int(i)
        if i < 0 or i >= len(v):
            raise EvalError(f"index {i} out of range (length {len(v)})")
        return v[i]
    if isinstance(v, dict):
        key = to_str(k)
        if key not in v:
            raise EvalError(f"no key {key!r}")
        return v[key]
    raise EvalError(f"cannot index a {type_name(v)}")


# --- functions -----------------------------------------------------------------------------

LAZY = {"try", "can"}


def call(name, argn, expand, sc):
    if name in LAZY:
        if name == "can":
            try:
                v = _ev(argn[0], sc)
                return merge_unknown(v) if isinstance(v, Unknown) and v.why else True
            except EvalError:
                return False
        last = None
        for a in argn:
            try:
                return _ev(a, sc)
            except EvalError as e:
                last = e
        raise EvalError(f"try(): no argument could be evaluated ({last})")
    args = [_ev(a, sc) for a in argn]
    if expand and args:
        tail = args.pop()
        if isinstance(tail, Unknown):
            return merge_unknown(tail)
        args.extend(tail if isinstance(tail, list) else list(tail.values()) if isinstance(tail, dict) else [tail])
    if name == "file" or name == "templatefile":
        return sc.resolver.file_fn(name, args, sc)
    fn = FUNCS.get(name)
    if fn is None:
        if name.startswith("provider::"):
            return merge_unknown(*args, why=f"provider function {name}() is not supported by the grader")
        if name in UNKNOWN_AT_PLAN:
            return merge_unknown(*args)
        return merge_unknown(*args, why=f"function {name}() is not supported by the grader")
    if name in PASS_UNKNOWN:
        try:
            return fn(*args)
        except (TypeError, ValueError) as e:
            raise EvalError(f"{name}(): {e}")
    if name == "coalesce":
        known = [a for a in args if not isinstance(a, Unknown)]
        if any(isinstance(a, Unknown) for a in args):
            u = merge_unknown(*args)
            u.alts = tuple(known)
            return u
    if name == "jsonencode":
        if not is_known(args[0]):
            return Encoded(args[0])
    elif not is_known(args):
        # Partial strings keep what is known around an unknown (format/join of an ARN and a suffix)
        if name in ("format", "join") and all(isinstance(a, (str, Partial, list)) for a in args):
            try:
                return fn(*args)
            except (EvalError, TypeError):
                pass
        return merge_unknown(*args)
    try:
        return fn(*args)
    except EvalError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as e:
        raise EvalError(f"{name}(): {e}")


def _flatten(v):
    out = []
    for x in v:
        if isinstance(x, list):
            out.extend(_flatten(x))
        else:
            out.append(x)
    return out


def _uniq(v):
    out = []
    for x in v:
        if not any(_eq(x, y) for y in out):
            out.append(x)
    return out


def _format(fmt, *args):
    # Partial-aware: pieces stay unknown where an argument is
    if not isinstance(fmt, str):
        raise EvalError("format string is not known")
    pieces, ai = [], 0
    for m in re.finditer(r"%(?:\[(\d+)\])?([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])|[^%]+", fmt):
        if not m.group(0).startswith("%"):
            pieces.append(m.group(0))
            continue
        verb = m.group(5)
        if verb == "%":
            pieces.append("%")
            continue
        if m.group(1):
            ai = int(m.group(1)) - 1
        if ai >= len(args):
            raise EvalError("format(): not enough arguments")
        a = args[ai]
        ai += 1
        if isinstance(a, Partial):
            pieces.extend(a.pieces)
            continue
        if isinstance(a, Unknown):
            pieces.append(a)
            continue
        if verb in "sv":
            s = to_str(a) if not isinstance(a, (list, dict)) else json.dumps(a)
        elif verb == "q":
            s = json.dumps(to_str(a))
        elif verb == "d":
            s = str(int(to_num(a)))
        elif verb in "fFeEgG":
            s = ("%" + (("." + m.group(4)) if m.group(4) else "") + verb.lower()) % to_num(a)
        elif verb == "t":
            s = "true" if to_bool(a) else "false"
        elif verb in "xX":
            s = format(int(to_num(a)), verb)
        else:
            raise EvalError(f"format(): verb %{verb} is not supported")
        if m.group(3):
            w = int(m.group(3))
            s = s.ljust(w) if "-" in (m.group(2) or "") else s.rjust(w, "0" if "0" in (m.group(2) or "") else " ")
        pieces.append(s)
    if any(isinstance(p, Unknown) for p in pieces):
        return Partial(pieces)
    return "".join(pieces)


def _join(sep, *lists):
    items = [x for l in lists for x in (l if isinstance(l, list) else [l])]
    if isinstance(sep, Unknown) or any(isinstance(l, Unknown) for l in lists):
        return merge_unknown(sep, *lists)
    pieces = []
    for i, x in enumerate(items):
        if i:
            pieces.append(sep)
        if isinstance(x, Partial):
            pieces.extend(x.pieces)
        elif isinstance(x, Unknown):
            pieces.append(x)
        else:
            pieces.append(to_str(x))
    if any(isinstance(p, Unknown) for p in pieces):
        return Partial(pieces)
    return "".join(pieces)


def _lookup(m, k, *default):
    if not isinstance(m, dict):
        raise EvalError("lookup() needs a map")
    k = to_str(k)
    if k in m:
        return m[k]
    if default:
        return default[0]
    raise EvalError(f"lookup(): no key {k!r}")


def _merge(*maps):
    out = {}
    for m in maps:
        if m is None:
            continue
        if not isinstance(m, dict):
            raise EvalError(f"merge() of a {type_name(m)}")
        out.update(m)
    return out


def _element(l, i):
    if not l:
        raise EvalError("element() of an empty list")
    return l[int(to_num(i)) % len(l)]


def _cidrsubnet2(prefix, newbits, netnum):
    net = ipaddress.ip_network(prefix, strict=False)
    nb, nn = int(newbits), int(netnum)
    plen = net.prefixlen + nb
    if plen > net.max_prefixlen or nn >= (1 << nb):
        raise EvalError("cidrsubnet(): out of range")
    addr = int(net.network_address) + (nn << (net.max_prefixlen - plen))
    return f"{ipaddress.ip_address(addr) if net.version == 4 else ipaddress.IPv6Address(addr)}/{plen}"


def _cidrhost(prefix, hostnum):
    net = ipaddress.ip_network(prefix, strict=False)
    return str(net.network_address + int(hostnum))


def _range(*a):
    a = [to_num(x) for x in a]
    if len(a) == 1:
        a = [0, a[0], 1]
    elif len(a) == 2:
        a = [a[0], a[1], 1 if a[1] >= a[0] else -1]
    out, x = [], a[0]
    while (x < a[1]) if a[2] > 0 else (x > a[1]):
        out.append(x)
        x += a[2]
        if len(out) > 10000:
            raise EvalError("range() too long")
    return out


def _substr(s, off, ln):
    s, off, ln = to_str(s), int(to_num(off)), int(to_num(ln))
    if off < 0:
        off += len(s)
    return s[off:] if ln < 0 else s[off:off + ln]


def _setop(op):
    def f(*sets):
        base = list(sets[0])
        for s in sets[1:]:
            if op == "union":
                base += [x for x in s if not any(_eq(x, y) for y in base)]
            elif op == "inter":
                base = [x for x in base if any(_eq(x, y) for y in s)]
            else:
                base = [x for x in base if not any(_eq(x, y) for y in s)]
        return _uniq(base)
    return f


def _tolist(v):
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        raise EvalError("cannot convert a map to a list")
    raise EvalError(f"cannot convert a {type_name(v)} to a list")


def _toset(v):
    return sorted(_uniq(_tolist(v)), key=lambda x: json.dumps(x, sort_keys=True))


def _tomap(v):
    if not isinstance(v, dict):
        raise EvalError(f"cannot convert a {type_name(v)} to a map")
    return v


def _jsonencode(v):
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def _jsondecode(s):
    try:
        return json.loads(to_str(s))
    except ValueError as e:
        raise EvalError(f"jsondecode(): {e}")


def _one(l):
    if isinstance(l, list):
        if len(l) > 1:
            raise EvalError("one(): more than one element")
        return l[0] if l else None
    return l


def _zipmap(k, v):
    if len(k) != len(v):
        raise EvalError("zipmap(): lengths differ")
    return {to_str(a): b for a, b in zip(k, v)}


def _trim(s, chars):
    return to_str(s).strip(to_str(chars))


def _replace(s, old, new):
    s, old, new = to_str(s), to_str(old), to_str(new)
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        raise EvalError("replace() with a regular expression is not supported by the grader")
    return s.replace(old, new)


def _length(v):
    if isinstance(v, (list, dict, str)):
        return len(v)
    raise EvalError(f"length() of a {type_name(v)}")


def _slice(l, a, b):
    a, b = int(to_num(a)), int(to_num(b))
    if a < 0 or b > len(l) or a > b:
        raise EvalError("slice(): out of range")
    return l[a:b]


def _chunklist(l, n):
    n = int(to_num(n))
    return [l[i:i + n] for i in range(0, len(l), n)] if n > 0 else [l]


def _coalesce(*a):
    for x in a:
        if x is not None and x != "":
            return x
    raise EvalError("coalesce(): no non-null argument")


def _coalescelist(*a):
    for x in a:
        if x:
            return x
    raise EvalError("coalescelist(): no non-empty list")


def _contains(l, v):
    return any(_eq(x, v) for x in (l if isinstance(l, list) else []))


def _index(l, v):
    for i, x in enumerate(l):
        if _eq(x, v):
            return i
    raise EvalError("index(): not found")


def _formatlist(fmt, *args):
    n = max((len(a) for a in args if isinstance(a, list)), default=1)
    return [_format(fmt, *[a[i] if isinstance(a, list) else a for a in args]) for i in range(n)]


FUNCS = {
    "merge": _merge, "concat": lambda *l: [x for y in l for x in _tolist(y)], "lookup": _lookup,
    "tolist": _tolist, "toset": _toset, "tomap": _tomap, "tostring": lambda v: None if v is None else to_str(v),
    "tonumber": lambda v: None if v is None else to_num(v), "tobool": lambda v: None if v is None else to_bool(v),
    "format": _format, "formatlist": _formatlist, "join": _join,
    "split": lambda sep, s: to_str(s).split(to_str(sep)),
    "lower": lambda s: to_str(s).lower(), "upper": lambda s: to_str(s).upper(), "title": lambda s: to_str(s).title(),
    "replace": _replace, "trimspace": lambda s: to_str(s).strip(), "trim": _trim,
    "trimprefix": lambda s, p: to_str(s)[len(p):] if to_str(s).startswith(to_str(p)) else to_str(s),
    "trimsuffix": lambda s, p: to_str(s)[:-len(p)] if p and to_str(s).endswith(to_str(p)) else to_str(s),
    "chomp": lambda s: to_str(s).rstrip("\r\n"), "substr": _substr, "length": _length,
    "keys": lambda m: sorted(_tomap(m).keys()), "values": lambda m: [v for _, v in sorted(_tomap(m).items())],
    "element": _element, "flatten": lambda l: _flatten(_tolist(l)), "distinct": lambda l: _uniq(_tolist(l)),
    "compact": lambda l: [x for x in _tolist(l) if x is not None and x != ""], "contains": _contains,
    "coalesce": _coalesce, "coalescelist": _coalescelist, "zipmap": _zipmap, "jsonencode": _jsonencode,
    "jsondecode": _jsondecode, "cidrsubnet": _cidrsubnet2, "cidrhost": _cidrhost,
    "cidrnetmask": lambda p: str(ipaddress.ip_network(p, strict=False).netmask),
    "range": _range, "min": lambda *a: min(to_num(x) for x in a), "max": lambda *a: max(to_num(x) for x in a),
    "abs": lambda x: abs(to_num(x)), "ceil": lambda x: -int(-to_num(x) // 1), "floor": lambda x: int(to_num(x) // 1),
    "sort": lambda l: sorted(to_str(x) for x in l), "reverse": lambda l: list(reversed(_tolist(l))),
    "setunion": _setop("union"), "setintersection": _setop("inter"), "setsubtract": _setop("sub"),
    "one": _one, "sensitive": lambda v: v, "nonsensitive": lambda v: v,
    "base64encode": lambda s: base64.b64encode(to_str(s).encode()).decode(),
    "base64decode": lambda s: base64.b64decode(to_str(s)).decode("utf-8", "replace"),
    "startswith": lambda s, p: to_str(s).startswith(to_str(p)), "endswith": lambda s, p: to_str(s).endswith(to_str(p)),
    "strcontains": lambda s, p: to_str(p) in to_str(s), "md5": lambda s: hashlib.md5(to_str(s).encode()).hexdigest(),
    "sha1": lambda s: hashlib.sha1(to_str(s).encode()).hexdigest(),
    "sha256": lambda s: hashlib.sha256(to_str(s).encode()).hexdigest(), "slice": _slice, "index": _index,
    "alltrue": lambda l: all(to_bool(x) for x in l), "anytrue": lambda l: any(to_bool(x) for x in l),
    "sum": lambda l: sum(to_num(x) for x in l), "chunklist": _chunklist,
    "type": lambda v: type_name(v),
}
PASS_UNKNOWN = {"format", "join"}
UNKNOWN_AT_PLAN = {"timestamp", "uuid", "bcrypt", "uuidv5", "plantimestamp"}
