"""The status pages' branding (``api.title`` and ``api.branding``) and the one extra origin
it may load from.

The pages load nothing from anywhere (:data:`monitor.api.refresh.CSP`); a configured logo
is the exception, and only its own origin is added to ``img-src``.  Everything else is
text, escaped by the templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.api.refresh import CSP
from monitor.config.models import ApiSettings


@dataclass(frozen=True, slots=True)
class BrandView:
    title: str
    logo_url: str | None
    logo_alt: str
    links: tuple[tuple[str, str], ...]  # (text, url)
    footer: str


def brand_view(settings: ApiSettings) -> BrandView:
    brand = settings.branding
    return BrandView(
        title=settings.title,
        logo_url=brand.logo_url,
        logo_alt=brand.logo_alt,
        links=tuple((link.name, link.url) for link in brand.links),
        footer=brand.footer,
    )


def page_csp(settings: ApiSettings) -> str:
    """The pages' Content-Security-Policy: :data:`CSP`, plus the logo's origin if any."""
    logo = settings.branding.logo_url
    if logo is None:
        return CSP
    parts = urlsplit(logo)
    origin = f"{parts.scheme.lower()}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return CSP.replace("img-src data:", f"img-src data: {origin}", 1)
