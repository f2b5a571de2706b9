"""The `kb` MkDocs plugin (mkdocs.yml `plugins: [..., kb]`): what MkDocs must decide when it reads its config.

Material's instant navigation only where the site's address is known. Instant navigation takes over only the
links listed in sitemap.xml, which needs `site_url` for absolute addresses; Material's documentation says to
set site_url with it. A build without KB_SITE_URL has no address (no made-up host in canonical links, sitemap
or feed), so there the feature is left out and links load pages the ordinary way. `mkdocs serve` (and
`kb serve`) sets site_url to its own local address before this runs.

No whole-site search index where Pagefind is the search (`extra: kb_search: pagefind`). Material's search plugin
stays, because the search box and dialog it adds to every page are what kb-pagefind.js drives, but its indexing
is taken off: it parses every built page again to write search_index.json, which the Pagefind site never fetches
(main.html detaches Material's search script), and at 10,000 entries that is a large share of the build.

Everything else kb adds to a site is plain files (generated pages, the assembled theme in .cache/theme), so
that other engines reading mkdocs.yml, which skip plugins they do not know, build the same site.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin

INSTANT = "navigation.instant"
MATERIAL_SEARCH = "material/search"
SEARCH_INDEX_EVENTS = ("page_context", "post_build")  # where Material's search plugin indexes pages and writes


class KbPlugin(BasePlugin):
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if not config.site_url:
            features = config.theme.get("features") or []
            config.theme["features"] = [f for f in features if f != INSTANT and not f.startswith(INSTANT + ".")]
        if (config.extra or {}).get("kb_search") == "pagefind":
            _drop_search_indexing(config)
        return config


def _drop_search_indexing(config: MkDocsConfig) -> None:
    """Unregister the Material search plugin's indexing handlers; it keeps its other work (the search box)."""
    search = config.plugins.get(MATERIAL_SEARCH)
    for event in SEARCH_INDEX_EVENTS:
        handlers = config.plugins.events[event]
        handlers[:] = [handler for handler in handlers if getattr(handler, "__self__", None) is not search]
