"""The URL pattern of media and callback fields: a URL it accepts is one httpx and urllib read."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kieframe.authoring import url_pattern

HTTP = re.compile(url_pattern())
OTHERS = re.compile(url_pattern("https", "asset", "oss"))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.from_regex(HTTP, fullmatch=True))
def test_every_url_the_pattern_accepts_is_read_by_httpx_and_urllib(url: str) -> None:
    parsed = httpx.URL(url)
    assert parsed.scheme in ("http", "https")
    assert parsed.host
    parts = urlsplit(url)
    assert parts.hostname
    assert parts.port is None or 0 < parts.port <= 65535
    url.encode()  # no lone surrogate


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.from_regex(OTHERS, fullmatch=True))
def test_every_url_of_other_schemes_the_pattern_accepts_is_read_by_urllib(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https", "asset", "oss")
    assert parts.hostname
    assert parts.port is None or 0 < parts.port <= 65535


_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_NAMES = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_LABEL, min_size=0, max_size=3),
    st.from_regex(r"[a-z]{2,8}", fullmatch=True),
)
_HOSTS = _NAMES | st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(lambda a: f"[{a}]")
_PATHS = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), exclude_characters="#?"),
    max_size=30,
).map(lambda text: "/" + text)


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=_HOSTS,
    port=st.none() | st.integers(1, 65535),
    path=st.none() | _PATHS,
    query=st.none() | st.from_regex(r"[a-z0-9=&%]{0,20}", fullmatch=True),
)
def test_a_well_formed_url_is_accepted(
    scheme: str, host: str, port: int | None, path: str | None, query: str | None
) -> None:
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}{path or ''}"
    url += "" if query is None else f"?{query}"
    assert HTTP.search(url), url


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/a.png",  # an unclosed IPv6 bracket
        "http://[::1]]/a.png",
        "http://[1:2:3:4:5:6:7:8:9]/a.png",
        "http://[example.com]/a.png",
        "https://example.com:99999/a.png",  # a port past 65535
        "https://example.com:0/a.png",
        "https://example.com:/a.png",
        "https://999.1.1.1/a.png",  # neither an IPv4 address nor a name
        "https://example.com/a\x7f.png",  # DEL, control characters, whitespace
        "https://example.com/a\x00.png",
        "https://example.com/a\x85.png",
        "https://example.com/a b.png",
        "https://example.com/a\u3000b.png",
        "https://example.com/a.png\n",
        "https://exa mple.com/a.png",
        "https://example.com/\ud800.png",
        "https://",
        "https:///a.png",
        "https://.../a.png",
        "https://bücher.de/a.png",  # a name that is not ASCII: send its punycode
        "ftp://example.com/a.png",
        "HTTPS://example.com/a.png",
        " https://example.com/a.png",
    ],
)
def test_a_malformed_url_is_refused(url: str) -> None:
    assert HTTP.search(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",
        "https://example.com",
        "https://a?",
        "http://localhost:8080/cb",
        "http://127.0.0.1:8787/callback?x=1#top",
        "http://[::1]:8787/callback",
        "http://[::ffff:192.0.2.1]/a.png",
        "https://user:p%40ss@example.com/a.png",
        "https://xn--bcher-kva.de/ä ö.png".replace(" ", "%20"),
        "https://example.com/a.png?X-Amz-Signature=abc&x=[1]",
    ],
)
def test_ordinary_urls_are_accepted(url: str) -> None:
    assert HTTP.search(url)


@given(char=st.characters())
def test_a_path_may_hold_any_character_but_whitespace_controls_and_surrogates(char: str) -> None:
    refused = char.isspace() or unicodedata.category(char) in ("Cc", "Cs")
    assert (HTTP.search(f"https://example.com/a{char}b.png") is None) == refused
