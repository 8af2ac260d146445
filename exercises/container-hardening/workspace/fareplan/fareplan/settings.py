"""Settings from the environment. For running it on a laptop, the maps token may also come from a file in the
working directory (.env or config/maps.ini), which is never meant to leave it."""
import configparser
import os


def _dev_token():
    try:
        if os.path.isfile(".env"):
            with open(".env") as f:
                for line in f:
                    key, _, value = line.strip().partition("=")
                    if key == "MAPS_TOKEN":
                        return value.strip().strip('"')
        if os.path.isfile("config/maps.ini"):
            ini = configparser.ConfigParser()
            ini.read("config/maps.ini")
            return ini.get("maps", "token", fallback=None)
    except (OSError, configparser.Error):
        pass
    return None


def maps_token():
    """MAPS_TOKEN, or the file MAPS_TOKEN_FILE names (a compose or swarm secret), or a developer's file."""
    if os.environ.get("MAPS_TOKEN"):
        return os.environ["MAPS_TOKEN"]
    path = os.environ.get("MAPS_TOKEN_FILE")
    if path:
        with open(path) as f:
            return f.read().strip()
    return _dev_token()


PORT = int(os.environ.get("FAREPLAN_PORT", "8080"))
STATE_DIR = os.environ.get("FAREPLAN_STATE_DIR", "/var/lib/fareplan")
CACHE_URL = os.environ.get("FAREPLAN_CACHE_URL", "")
