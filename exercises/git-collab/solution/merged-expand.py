"""${NAME} and $NAME references in values."""
import re

REF = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value, env):
    """`value` with every ${NAME} and $NAME replaced by env[NAME] ("" when NAME is not set).
    ${NAME:-default} gives `default` when NAME is unset or empty.
    $$ is a literal $ (for passwords and templates that contain one).
    Any other $ is kept as it is."""
    def one(m):
        if m.group(1):
            return "$"
        name, default = m.group(2) or m.group(4), m.group(3)
        got = env.get(name, "")
        return got if got or default is None else default
    return REF.sub(one, value)
