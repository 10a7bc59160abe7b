"""Specifications of the status pages' branding (``api.title`` and ``api.branding``): checked
at load, shown on the page and the per-check pages as escaped text, its logo's origin the
only one the pages may load from."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from monitor.api.refresh import CSP
from monitor.config import load_config
from monitor.errors import ConfigError
from tests.api.conftest import StartApi, result, seed

CHECKS = "- {name: health, kind: http, url: '${TARGET}/health', group: Core}\n"
FIELDS = """\
logo_url: https://cdn.example.com:8443/brand/logo.svg
logo_alt: Acme & Co
links:
  - {name: Home <page>, url: 'https://example.com/?a=1&b=2'}
  - {name: Support, url: 'mailto:help@example.com'}
footer: "<script>alert(1)</script> Acme Corp"
"""
BRANDING = "title: Acme <status>\nbranding:\n" + textwrap.indent(FIELDS, "  ")


def write(tmp_path: Path, branding: str) -> Path:
    path = tmp_path / "smokewatch.yaml"
    text = "api:\n  branding:\n" + textwrap.indent(textwrap.dedent(branding), "    ")
    path.write_text(text + "checks:\n  - {name: one, kind: http, url: https://example.com}\n")
    return path


class TestBrandingConfig:
    @pytest.mark.parametrize(
        ("branding", "field", "message"),
        [
            ("logo_url: javascript:alert(1)\n", "api.branding.logo_url", "must start with"),
            ("logo_url: https:/no-host\n", "api.branding.logo_url", "absolute URL with a host"),
            ("logo_url: 'https://x.com/a b.png'\n", "api.branding.logo_url", "spaces, quotes"),
            ("links: [{name: x, url: 'ftp://x.com'}]\n", "api.branding.links[0].url", "mailto"),
            ("links: [{name: '', url: 'https://x.com'}]\n", "api.branding.links[0].name", "1"),
            ("footer: " + "x" * 501 + "\n", "api.branding.footer", "500"),
            ("colour: red\n", "api.branding.colour", "Extra inputs"),
        ],
        ids=["script-logo", "hostless-logo", "spaced-logo", "ftp-link", "empty-name",
             "long-footer", "unknown-field"],
    )  # fmt: skip
    def test_bad_branding_names_file_line_and_field(
        self, tmp_path: Path, branding: str, field: str, message: str
    ) -> None:
        """A bad branding value is a config error naming the file, the line and the field."""
        path = write(tmp_path, branding)
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        [problem] = info.value.problems
        assert (problem.field, problem.line) == (field, 3)
        assert str(problem).startswith(f"{path}:3: field '{field}'")
        assert message in str(problem)

    def test_good_branding_loads(self, tmp_path: Path) -> None:
        """A logo, http(s) and mailto links and a footer load as written."""
        path = write(tmp_path, FIELDS)
        brand = load_config(path, env={}).config.api.branding
        assert brand.logo_url == "https://cdn.example.com:8443/brand/logo.svg"
        assert [link.url for link in brand.links] == [
            "https://example.com/?a=1&b=2",
            "mailto:help@example.com",
        ]
        assert brand.footer == "<script>alert(1)</script> Acme Corp"


class TestBrandingOnPages:
    @pytest.mark.parametrize("path", ["/", "/checks/health"], ids=["page", "check-page"])
    def test_branding_is_shown_escaped(self, start_api: StartApi, path: str) -> None:
        """Title, logo, links and footer show on both pages, every one of them escaped."""
        api = start_api(checks=CHECKS, api=BRANDING)
        seed(api, result("health"))
        page = httpx.get(api.url + path, timeout=30).text
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme Corp" in page
        assert "Acme &lt;status&gt;" in page
        assert 'src="https://cdn.example.com:8443/brand/logo.svg" alt="Acme &amp; Co"' in page
        assert (
            '<a href="https://example.com/?a=1&amp;b=2" rel="noopener">Home &lt;page&gt;</a>'
            in (page)
        )
        assert '<a href="mailto:help@example.com" rel="noopener">Support</a>' in page

    @pytest.mark.parametrize(
        ("api", "img_src"),
        [
            (BRANDING, "img-src data: https://cdn.example.com:8443;"),
            ("title: Plain\n", "img-src data:;"),
        ],
        ids=["logo", "no-logo"],
    )
    def test_only_the_logo_origin_is_let_in(
        self, start_api: StartApi, api: str, img_src: str
    ) -> None:
        """The pages' CSP adds the logo's origin (scheme, host, port) to img-src, nothing
        else; without a logo it is the pages' usual policy."""
        live = start_api(checks=CHECKS, api=api)
        seed(live, result("health"))
        policies = {
            httpx.get(live.url + p, timeout=30).headers["content-security-policy"]
            for p in ("/", "/checks/health")
        }
        [policy] = policies
        assert img_src in policy
        assert policy.replace(img_src, "img-src data:;") == CSP
