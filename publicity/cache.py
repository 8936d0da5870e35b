"""The public pages' cache (django cache: Redis when REDIS_URL is set).

Every cached page is stored with the version number kept in the cache itself (`VERSION_KEY`);
posting a notice bumps it (`public_cache_clear`), which makes every cached page stale at once: a
page stored under another version is a miss and is rendered and stored again. The version and
the page are read in one round trip (`get_many`). Only pages without a form (no CSRF token) are
cached.

Text pages are stored gzip-compressed, once, when rendered (a 300-line notice: ~170 kB of HTML,
~10 kB compressed): a hit moves a few kB out of the cache and, to a client that accepts gzip
(every phone browser), onto the wire as is; any other client gets it decompressed
(bench/public_load.py, bench/README.md).
"""
from __future__ import annotations

import gzip
import hashlib
import re
from functools import wraps

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

VERSION_KEY = "publicity:version"
TIMEOUT = 600
ACCEPTS_GZIP = re.compile(r"\bgzip\b")
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")


def public_cache_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def public_cache_clear() -> None:
    """Bump the version: every cached public page is stale from now on."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not there yet (or evicted)
        cache.set(VERSION_KEY, 2, timeout=None)


def public_cached(view):
    """Cache a GET's body and content type per path, query string, language and version."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "GET":
            return view(request, *args, **kwargs)
        raw = f"{request.get_full_path()}|{get_language()}|{request.get_host()}"
        key = f"publicity:page:{hashlib.sha256(raw.encode()).hexdigest()}"
        found = cache.get_many([VERSION_KEY, key])
        version = found.get(VERSION_KEY)
        if version is None:
            version = public_cache_version()
        hit = found.get(key)
        if hit is not None and hit[0] == version:
            _version, content, content_type, disposition, compressed = hit
            if compressed and ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
                response = HttpResponse(content, content_type=content_type)
                response["Content-Encoding"] = "gzip"
            else:
                response = HttpResponse(gzip.decompress(content) if compressed else content,
                                        content_type=content_type)
            if disposition:
                response["Content-Disposition"] = disposition
            response["X-Public-Cache"] = "hit"
            patch_vary_headers(response, ["Accept-Encoding"])
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not getattr(response, "streaming", False):
            content_type = response["Content-Type"]
            compressed = content_type.startswith(COMPRESSIBLE)
            content = gzip.compress(response.content, compresslevel=6, mtime=0) if compressed else response.content
            cache.set(key, (version, content, content_type, response.get("Content-Disposition"), compressed),
                      TIMEOUT)
        patch_vary_headers(response, ["Accept-Encoding"])
        return response

    return wrapped
