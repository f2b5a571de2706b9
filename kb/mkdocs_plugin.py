"""The `kb` MkDocs plugin (mkdocs.yml `plugins: [..., kb]`): what MkDocs must decide when it reads its config.

Material's instant navigation only where the site's address is known. Instant navigation takes over only the
links listed in sitemap.xml, which needs `site_url` for absolute addresses; Material's documentation says to
set site_url with it. A build without KB_SITE_URL has no address (no made-up host in canonical links, sitemap
or feed), so there the feature is left out and links load pages the ordinary way. `mkdocs serve` (and
`kb serve`) sets site_url to its own local address before this runs.

Everything else kb adds to a site is plain files (generated pages, the assembled theme in .cache/theme), so
that other engines reading mkdocs.yml, which skip plugins they do not know, build the same site.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin

INSTANT = "navigation.instant"


class KbPlugin(BasePlugin):
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if not config.site_url:
            features = config.theme.get("features") or []
            config.theme["features"] = [f for f in features if f != INSTANT and not f.startswith(INSTANT + ".")]
        return config
