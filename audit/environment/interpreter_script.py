"""The script another interpreter runs to say what it has installed (stdlib only, as a string).

It runs in isolated mode and without ``site`` (``-I -S``); it finds site-packages the way
``site`` would, without running ``.pth`` code, and reads distribution metadata from files.
"""

from __future__ import annotations

__all__ = ["SCRIPT"]

# NOTE: stdlib only, and syntax that old Pythons can still parse, so that they fail with a
# clear message instead of a SyntaxError.
SCRIPT = r"""
import json, os, platform, re, site, sys, warnings
warnings.simplefilter("ignore")
try:
    import importlib.metadata as metadata
except ImportError:
    sys.exit("Python %s has no importlib.metadata (3.8 or newer is needed)"
             % platform.python_version())


def prefixes():
    # What site.venv() decides, without its side effects (it runs .pth files).
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    venv = os.path.dirname(exe_dir)
    for conf in (os.path.join(exe_dir, "pyvenv.cfg"), os.path.join(venv, "pyvenv.cfg")):
        if os.path.isfile(conf):
            system = "true"
            with open(conf, encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, eq, value = line.partition("=")
                    if eq and key.strip().lower() == "include-system-site-packages":
                        system = value.strip().lower()
            return [venv, sys.prefix] if system == "true" else [venv]
    return [sys.prefix]


def pth_dirs(sitedir, name):
    # The folders a .pth file adds; its "import" lines are code, and are not run.
    found = []
    try:
        with open(os.path.join(sitedir, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("#", "import ", "import\t")) or not line.strip():
                    continue
                path = os.path.join(sitedir, line.rstrip())
                if os.path.isdir(path):
                    found.append(path)
    except OSError:
        pass
    return found


def site_dirs():
    if not sys.flags.no_site:
        return []  # site ran anyway (a ._pth file asked for it): sys.path is complete
    dirs = []
    for sitedir in site.getsitepackages(prefixes()):
        if os.path.isdir(sitedir):
            dirs.append(sitedir)  # then the folders of its .pth files, as site.addsitedir does
            for name in sorted(os.listdir(sitedir)):
                if name.endswith(".pth") and not name.startswith("."):
                    dirs.extend(pth_dirs(sitedir, name))
    return dirs


def main():
    path = list(sys.path)
    path.extend(d for d in site_dirs() if d not in path)
    seen, dists, torch = set(), {}, None
    for dist in metadata.distributions(path=path):
        try:
            name, version = dist.metadata["Name"].strip(), dist.version.strip()
        except Exception:
            continue  # a broken distribution: no METADATA, no Name or no Version
        key = re.sub(r"[-_.]+", "-", name).lower()
        if not name or not version or key in seen:
            continue  # the first on the path is the one that imports
        seen.add(key)
        dists[name] = version
        if key == "torch":
            try:
                requires = list(dist.requires or [])
            except Exception:
                requires = []
            torch = {"version": version, "requires": requires}
    answer = {"python_version": platform.python_version(), "distributions": dists, "torch": torch}
    sys.stdout.write(json.dumps(answer))


main()
"""
