"""MkDocs hook (mkdocs.yml `hooks:`): Material's instant navigation only where the site's address is known.

Instant navigation takes over only the links listed in sitemap.xml, which needs `site_url` for absolute
addresses; Material's documentation says to set site_url with it. A build without KB_SITE_URL has no address
(no made-up host in canonical links, sitemap or feed), so there the feature is left out and links load pages
the ordinary way. `mkdocs serve` (and `kb serve`) sets site_url to its own local address before this runs.
"""

INSTANT = "navigation.instant"


def on_config(config):
    if not config.site_url:
        features = config.theme.get("features") or []
        config.theme["features"] = [f for f in features if f != INSTANT and not f.startswith(INSTANT + ".")]
    return config
