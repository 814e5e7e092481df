"""Markup out: HTML pages to text and metadata, snippets HTML-free, dates ISO 8601."""

from __future__ import annotations

from handlers.lithtrix.text import clean_snippet, iso_date, parse_html, strip_html

PAGE = """<!doctype html><html><head>
<title>Apollo 11 &amp; the Moon</title>
<meta name="description" content="ignored">
<meta property="article:published_time" content="2019-07-16T09:00:00Z">
<link rel="canonical" href="https://www.nasa.gov/apollo-11">
<style>body { color: red }</style><script>var secret = "no";</script>
</head><body><nav>Home</nav><h1>Apollo&nbsp;11</h1>
<p>The <strong>Eagle</strong> has landed.</p><p>One small step</p><br>for man.
<noscript>Enable JS</noscript><time datetime="2020-01-01">later</time></body></html>"""


def test_parse_html_gets_text_and_metadata():
    page = parse_html(PAGE)
    assert page.title == "Apollo 11 & the Moon"
    assert page.url == "https://www.nasa.gov/apollo-11"
    assert page.published_date == "2019-07-16T09:00:00Z"
    assert page.text == "Home Apollo 11 The Eagle has landed. One small step for man. later"
    assert "secret" not in page.text and "color" not in page.text and "Enable JS" not in page.text


def test_title_falls_back_to_og_title_then_h1():
    assert parse_html('<meta property="og:title" content="OG"><h1>H</h1>').title == "OG"
    assert parse_html("<h1>Only <em>heading</em></h1><p>x</p>").title == "Only heading"


def test_a_page_without_head_end_keeps_its_text():
    assert parse_html("<html><head><title>T</title><body><p>Body text</p>").text == "Body text"


def test_strip_html_leaves_plain_text_alone():
    assert strip_html("x < y and AT&amp;T &gt; 3") == "x < y and AT&T > 3"
    assert strip_html("The <strong>Moon</strong> &#x2014; July") == "The Moon \u2014 July"
    assert strip_html("a<br>b</p>c") == "a b c"
    assert strip_html("  many \n\t spaces ") == "many spaces"


def test_clean_snippet_is_bounded_at_a_word():
    text = "word " * 200
    snippet = clean_snippet(text, limit=50)
    assert len(snippet) <= 53 and snippet.endswith("...") and "  " not in snippet
    assert clean_snippet("<b>short</b>") == "short"


def test_iso_dates():
    assert iso_date("2024-05-01") == "2024-05-01"
    assert iso_date("2023-07-20T00:00:00") == "2023-07-20T00:00:00"
    assert iso_date("2019-07-16T09:00:00Z") == "2019-07-16T09:00:00+00:00"
    assert iso_date("July 20, 2023") is None and iso_date("2 days ago") is None
    assert iso_date(None) is None and iso_date("") is None
