"""The envkit repository's files, version by version (imported by setup; the exercise directory is removed from the
sandbox once setup has run). Every text here is fixed: with the same variant values, setup builds the same commits."""

README = """# envkit

envkit reads, checks and writes the `.env` files our deploy scripts hand to services.

    python3 -m envkit show deploy/staging.env      # keys and values, secrets masked
    python3 -m envkit diff old.env new.env         # what changed, secrets masked
    python3 -m envkit fmt deploy/staging.env       # rewrite in the canonical form

Values may reference other keys (`${NAME}` or `$NAME`); `envkit show --expand` resolves them.
Keys whose name says they hold a secret (`*_TOKEN`, `*_PASSWORD`, `*_SECRET`, ...) are never printed.
"""

README_TESTS = """
## Tests

    python3 -m unittest discover -s tests -v

No third-party packages: the standard library of Python 3.9 or later is enough.
"""

README_LINT = """
## Lint

    python3 -m envkit lint deploy/staging.env

prints one line per problem that `parse()` would let through silently: a key assigned twice (the last
assignment wins, which is rarely what the author meant) and a key name that a shell could not export. The exit
code is 1 when there is a problem, so CI can run it on every `.env` file of a change.
"""

CHANGELOG = """# Changelog

## Unreleased
{unreleased}
## 1.0.0

- First release: parse, expand, mask, render; `envkit show`, `diff` and `fmt`.
"""

INIT = '__version__ = "1.0.0"\n'

PARSE_HEAD = '''"""Reading .env files: one KEY=value per line."""
import re

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def unquote(value):
    """A value as written: 'single' and "double" quotes are taken off, \\\\n in double quotes is a newline."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\\"":
        inner = value[1:-1]
        return inner.replace("\\\\n", "\\n") if value[0] == '"' else inner
    return value

'''

PARSE_TAIL = '''

def parse(text):
    """A whole file: {key: value}; the last assignment of a key wins."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        try:
            item = parse_line(line)
        except ValueError as e:
            raise ValueError(f"line {n}: {e}") from None
        if item:
            out[item[0]] = item[1]
    return out
'''

PARSE_LINE = {
    "base": '''
def parse_line(line):
    """One line of a .env file: (key, value), or None for a blank line or a comment line.
    Raises ValueError for anything else."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"not KEY=value: {line!r}")
    key, value = key.strip(), value.strip()
    if not KEY.fullmatch(key):
        raise ValueError(f"bad key {key!r}")
    return key, unquote(value)
''',
    "main": '''
def strip_comment(value):
    """`value  # note` -> `value`. A # inside quotes, or with no blank before it, is part of the value."""
    text = value.strip()
    if text[:1] in ("'", '"'):
        end = text.find(text[0], 1)
        return text[:end + 1] if end > 0 else text
    m = re.search(r"\\s#", value)
    return value[:m.start()].strip() if m else text


def parse_line(line):
    """One line of a .env file: (key, value), or None for a blank line or a comment line.
    An unquoted value ends where an inline comment starts (`KEY=value  # note`).
    Raises ValueError for anything else."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"not KEY=value: {line!r}")
    key, value = key.strip(), strip_comment(value)
    if not KEY.fullmatch(key):
        raise ValueError(f"bad key {key!r}")
    return key, unquote(value)
''',
    "feature": '''
def parse_line(line):
    """One line of a .env file: (key, value), or None for a blank line or a comment line.
    A line may start with `export ` (files that a shell also sources).
    Raises ValueError for anything else."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("export "):
        text = text[len("export "):].lstrip()
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"not KEY=value: {line!r}")
    key, value = key.strip(), value.strip()
    if not KEY.fullmatch(key):
        raise ValueError(f"bad key {key!r}")
    return key, unquote(value)
''',
}

EXPAND = {
    "base": '''"""${NAME} and $NAME references in values."""
import re

REF = re.compile(r"\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)\\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value, env):
    """`value` with every ${NAME} and $NAME replaced by env[NAME] ("" when NAME is not set).
    Any other $ is kept as it is."""
    def one(m):
        return env.get(m.group(1) or m.group(2), "")
    return REF.sub(one, value)
''',
    "main": '''"""${NAME} and $NAME references in values."""
import re

REF = re.compile(r"\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value, env):
    """`value` with every ${NAME} and $NAME replaced by env[NAME] ("" when NAME is not set).
    ${NAME:-default} gives `default` when NAME is unset or empty.
    Any other $ is kept as it is."""
    def one(m):
        name, default = m.group(1) or m.group(3), m.group(2)
        got = env.get(name, "")
        return got if got or default is None else default
    return REF.sub(one, value)
''',
    "feature": '''"""${NAME} and $NAME references in values."""
import re

REF = re.compile(r"\\$(?:(\\$)|\\{([A-Za-z_][A-Za-z0-9_]*)\\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value, env):
    """`value` with every ${NAME} and $NAME replaced by env[NAME] ("" when NAME is not set).
    $$ is a literal $ (for passwords and templates that contain one).
    Any other $ is kept as it is."""
    def one(m):
        if m.group(1):
            return "$"
        return env.get(m.group(2) or m.group(3), "")
    return REF.sub(one, value)
''',
}

MASK = {
    "good": '''"""Secret values are never printed: envkit show and envkit diff mask them."""
import re

SECRET = re.compile(r"(^|_)(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIALS?)($|_)", re.I)


def is_secret(key):
    return bool(SECRET.search(key))


def mask(key, value):
    """What envkit prints for a value: a secret's as ******** (the same whatever the value), others as they are."""
    if is_secret(key) and value:
        return "********"
    return value
''',
    "bad": '''"""Secret values are never printed: envkit show and envkit diff mask them."""
import re

SECRET = re.compile(r"(^|_)(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIALS?)($|_)", re.I)


def is_secret(key):
    return bool(SECRET.search(key))


def mask(key, value):
    """What envkit prints for a value: a secret's as ******** followed by its last four characters (so that
    on-call can tell which token a service has), others as they are."""
    if is_secret(key) and value:
        return "********" + value[-4:]
    return value
''',
}

RENDER = {
    "good": '''"""Writing .env files back: envkit fmt."""
import re

PLAIN = re.compile(r"[A-Za-z0-9_./:@+,-]+")


def quote(value):
    """A value as it must be written for parse() to read it back unchanged."""
    if PLAIN.fullmatch(value):
        return value
    if "'" not in value and "\\n" not in value:
        return "'" + value + "'"
    return '"' + value.replace("\\n", "\\\\n") + '"'


def render(values):
    """{key: value} as the text of a .env file, one KEY=value line per key, in order."""
    return "".join(f"{key}={quote(value)}\\n" for key, value in values.items())
''',
    "bad": '''"""Writing .env files back: envkit fmt."""
import re

PLAIN = re.compile(r"[A-Za-z0-9_./:@+,-]+")


def quote(value):
    """A value as it must be written for parse() to read it back unchanged."""
    if PLAIN.fullmatch(value):
        return value
    if "'" not in value and "\\n" not in value:
        return "'" + value + "'"
    return '"' + value.replace("\\n", "\\\\n") + '"'


def render(values):
    """{key: value} as the text of a .env file, one KEY=value line per key, in order. Values are written as
    they are: quotes only make diffs of .env files noisier."""
    return "".join(f"{key}={value}\\n" for key, value in values.items())
''',
}

MAIN = {
    "base": '''"""python3 -m envkit show|diff|fmt FILE..."""
import sys

from .expand import expand
from .mask import mask
from .parse import parse
from .render import render


def read(path):
    with open(path, encoding="utf-8") as f:
        return parse(f.read())


def main(argv):
    if len(argv) < 2 or argv[0] not in ("show", "diff", "fmt"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "show":
        do_expand = "--expand" in args
        values = read([a for a in args if a != "--expand"][0])
        for key, value in values.items():
            print(f"{key}={mask(key, expand(value, values) if do_expand else value)}")
    elif cmd == "diff":
        old, new = read(args[0]), read(args[1])
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                print(f"{key}: {mask(key, old.get(key, '(unset)'))} -> {mask(key, new.get(key, '(unset)'))}")
    else:
        values = read(args[0])
        with open(args[0], "w", encoding="utf-8") as f:
            f.write(render(values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
''',
}
MAIN["lint"] = MAIN["base"].replace('"""python3 -m envkit show|diff|fmt FILE..."""',
                                    '"""python3 -m envkit show|diff|fmt|lint FILE..."""') \
    .replace('from .expand import expand\n', 'from .expand import expand\nfrom .lint import lint\n') \
    .replace('("show", "diff", "fmt")', '("show", "diff", "fmt", "lint")') \
    .replace('''    else:
        values = read(args[0])''', '''    elif cmd == "lint":
        with open(args[0], encoding="utf-8") as f:
            problems = lint(f.read())
        for line, message in problems:
            print(f"{args[0]}:{line}: {message}")
        return 1 if problems else 0
    else:
        values = read(args[0])''')

LINT = {
    # p1: duplicate keys, with the line numbers off by one.
    "p1": '''"""envkit lint: what parse() lets through silently."""
from .parse import parse_line


def duplicates(text):
    """[(line number, message)] for every key assigned again after its first assignment."""
    first, out = {}, []
    for n, line in enumerate(text.splitlines()):
        try:
            item = parse_line(line)
        except ValueError:
            continue
        if not item:
            continue
        if item[0] in first:
            out.append((n, f"{item[0]} is assigned again (first on line {first[item[0]]})"))
        else:
            first[item[0]] = n
    return out
''',
}
LINT["p3"] = LINT["p1"].replace("enumerate(text.splitlines())", "enumerate(text.splitlines(), 1)")
LINT["p2"] = LINT["p1"] + '''

def invalid_names(text):
    # TODO: keys a shell cannot export
    return []
'''
LINT["p2p3"] = LINT["p3"] + LINT["p2"][len(LINT["p1"]):]
LINT["p6"] = LINT["p3"].replace("from .parse import parse_line\n", "import re\n\nfrom .parse import parse_line\n") + '''

SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def invalid_names(text):
    """[(line number, message)] for every KEY=value line whose key a shell could not export."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key = stripped.split("=", 1)[0].strip()
        if not SHELL_NAME.fullmatch(key):
            out.append((n, f"{key!r} is not a name a shell can export"))
    return out


def lint(text):
    """Every problem, in line order."""
    return sorted(duplicates(text) + invalid_names(text))
'''

TEST_LINT = {
    "p1": '''import unittest

from envkit.lint import duplicates


class DuplicatesTest(unittest.TestCase):
    def test_second_assignment_is_reported(self):
        text = "A=1\\nB=2\\nA=3\\n"
        self.assertEqual([line for line, _ in duplicates(text)], [3])

    def test_distinct_keys_are_fine(self):
        self.assertEqual(duplicates("A=1\\nB=2\\n# A=3\\n"), [])
''',
}
TEST_LINT["p6"] = TEST_LINT["p1"].replace("from envkit.lint import duplicates\n",
                                          "from envkit.lint import duplicates, invalid_names, lint\n") + '''

class InvalidNamesTest(unittest.TestCase):
    def test_dashes_and_leading_digits(self):
        text = "GOOD=1\\nBAD-NAME=2\\n9LIVES=3\\n"
        self.assertEqual([line for line, _ in invalid_names(text)], [2, 3])
'''
TEST_LINT["p7"] = TEST_LINT["p6"] + '''

class LintTest(unittest.TestCase):
    def test_problems_in_line_order(self):
        text = "A=1\\nBAD-NAME=2\\nA=3\\n"
        self.assertEqual([line for line, _ in lint(text)], [2, 3])
'''

TESTS = {
    "parse-base": '''import unittest

from envkit.parse import parse, parse_line


class ParseTest(unittest.TestCase):
    def test_plain(self):
        self.assertEqual(parse_line("PORT=8080"), ("PORT", "8080"))

    def test_blank_and_comment_lines(self):
        self.assertIsNone(parse_line("   "))
        self.assertIsNone(parse_line("# a comment"))

    def test_quotes(self):
        self.assertEqual(parse_line("GREETING='hello world'"), ("GREETING", "hello world"))
        self.assertEqual(parse_line('MOTD="two\\\\nlines"'), ("MOTD", "two\\nlines"))

    def test_bad_lines(self):
        with self.assertRaises(ValueError):
            parse_line("no equals sign")
        with self.assertRaises(ValueError):
            parse_line("BAD-KEY=1")

    def test_last_assignment_wins(self):
        self.assertEqual(parse("A=1\\nA=2\\n"), {"A": "2"})
''',
    "parse-main": '''
    def test_inline_comment(self):
        self.assertEqual(parse_line("TIMEOUT=30  # seconds"), ("TIMEOUT", "30"))
        self.assertEqual(parse_line("COLOR=#ff0000"), ("COLOR", "#ff0000"))
        self.assertEqual(parse_line("TITLE='a # b'  # note"), ("TITLE", "a # b"))
''',
    "parse-feature": '''
    def test_export_prefix(self):
        self.assertEqual(parse_line("export PORT=8080"), ("PORT", "8080"))
        self.assertEqual(parse_line("exported=1"), ("exported", "1"))
''',
    "expand-base": '''import unittest

from envkit.expand import expand


class ExpandTest(unittest.TestCase):
    def test_both_forms(self):
        env = {"HOST": "db", "PORT": "5432"}
        self.assertEqual(expand("${HOST}:$PORT", env), "db:5432")

    def test_unset_is_empty(self):
        self.assertEqual(expand("x${NOPE}y", {}), "xy")

    def test_other_dollars_stay(self):
        self.assertEqual(expand("costs $5", {}), "costs $5")
''',
    "expand-main": '''
    def test_default(self):
        self.assertEqual(expand("${REGION:-eu-west-1}", {}), "eu-west-1")
        self.assertEqual(expand("${REGION:-eu-west-1}", {"REGION": "us-east-2"}), "us-east-2")
        self.assertEqual(expand("${REGION:-eu-west-1}", {"REGION": ""}), "eu-west-1")
''',
    "expand-feature": '''
    def test_escaped_dollar(self):
        self.assertEqual(expand("pa$$word", {"word": "x"}), "pa$word")
        self.assertEqual(expand("$$HOME", {"HOME": "/root"}), "$HOME")
''',
    "mask-good": '''import unittest

from envkit.mask import is_secret, mask


class MaskTest(unittest.TestCase):
    def test_secret_names(self):
        for key in ("DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "secret", "AWS_SECRET_ACCESS_KEY"):
            self.assertTrue(is_secret(key), key)
        for key in ("PORT", "TOKENIZER_MODEL", "PASSWORDLESS"):
            self.assertFalse(is_secret(key), key)

    def test_secret_values_are_hidden(self):
        self.assertEqual(mask("DB_PASSWORD", "hunter2"), "********")
        self.assertEqual(mask("PORT", "8080"), "8080")
''',
    "render-good": '''import unittest

from envkit.parse import parse
from envkit.render import render


class RenderTest(unittest.TestCase):
    def test_plain_values_unquoted(self):
        self.assertEqual(render({"PORT": "8080", "URL": "https://x.example/a"}), "PORT=8080\\nURL=https://x.example/a\\n")

    def test_round_trip(self):
        values = {"TITLE": "hello world", "EMPTY": "", "QUOTE": "it's", "ML": "a\\nb"}
        self.assertEqual(parse(render(values)), values)
''',
}
TESTS["mask-bad"] = TESTS["mask-good"].replace('self.assertEqual(mask("DB_PASSWORD", "hunter2"), "********")',
                                               'self.assertEqual(mask("DB_PASSWORD", "hunter2"), "********ter2")')
TESTS["render-bad"] = TESTS["render-good"].replace('''    def test_round_trip(self):
        values = {"TITLE": "hello world", "EMPTY": "", "QUOTE": "it's", "ML": "a\\nb"}
        self.assertEqual(parse(render(values)), values)
''', '''    def test_values_as_they_are(self):
        self.assertEqual(render({"TITLE": "hello world"}), "TITLE=hello world\\n")
''')
