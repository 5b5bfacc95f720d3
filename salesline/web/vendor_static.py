"""Static files served from npm packages (package.json pins them; `make` installs them into
node_modules/): only the browser builds the pages load, under `vendor/<package>/`, never the
whole package. A static-files finder, so `runserver`, WhiteNoise and `collectstatic` all see
them like our own files."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# package -> the files of its build directory the pages load, with the source maps they name
# (the production storage's manifest follows `sourceMappingURL` and fails on a missing file).
VENDOR_FILES = {
    "vega": ("vega.min.js",),
    "vega-lite": ("vega-lite.min.js", "vega-lite.min.js.map"),
    "vega-embed": ("vega-embed.min.js", "vega-embed.min.js.map"),
    "vega-interpreter": ("vega-interpreter.js", "vega-interpreter.js.map"),
}


def _build_dir(package: str) -> Path:
    return Path(settings.BASE_DIR) / "node_modules" / package / "build"


class NodeModulesFinder(BaseFinder):
    def _storages(self):
        for package, files in VENDOR_FILES.items():
            directory = _build_dir(package)
            if directory.is_dir():
                storage = FileSystemStorage(location=directory)
                storage.prefix = f"vendor/{package}"
                yield package, files, storage

    def find(self, path, find_all=False, **kwargs):
        found = []
        for package, files, storage in self._storages():
            prefix = f"vendor/{package}/"
            if path.startswith(prefix) and path[len(prefix) :] in files:
                full = storage.path(path[len(prefix) :])
                if Path(full).is_file():
                    if not find_all:
                        return full
                    found.append(full)
        return found

    def list(self, ignore_patterns):
        for _, files, storage in self._storages():
            for name in files:
                if storage.exists(name):
                    yield name, storage

    def check(self, **kwargs):
        from django.core.checks import Warning

        missing = [package for package in VENDOR_FILES if not _build_dir(package).is_dir()]
        if not missing:
            return []
        return [
            Warning(
                f"The chart libraries are not installed ({', '.join(missing)}): the dashboard "
                "shows its tables without pictures.",
                hint="Run `make node_modules/.installed` (npm ci).",
                id="salesline.W001",
            )
        ]
