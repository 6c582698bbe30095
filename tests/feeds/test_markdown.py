import pytest

from bot.feeds.markdown import ELLIPSIS, html_to_markdown, html_to_text, looks_like_html, truncate_markdown

BASE = "https://news.example.com/feeds/main.xml"


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("<p>Plain paragraph.</p>", "Plain paragraph."),
        ("<b>bold</b> <strong>strong</strong>", "**bold** **strong**"),
        ("<i>italic</i> and <em>emphasis</em>", "*italic* and *emphasis*"),
        ('<a href="https://example.com/a">a link</a>', "[a link](https://example.com/a)"),
        ('<a href="/about">relative</a>', "[relative](https://news.example.com/about)"),
        ('<a href="https://example.com/x">https://example.com/x</a>', "https://example.com/x"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="data:text/html,x">data</a>', "data"),
        ('<a href="https://example.com/a b(c)">odd</a>', "[odd](https://example.com/a%20b%28c%29)"),
        ('<a href="https://example.com/"></a>after', "after"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"),
        ("<ul><li>outer<ul><li>inner</li></ul></li></ul>", "- outer\n  - inner"),
        ("<h2>Heading</h2><p>text</p>", "**Heading**\n\ntext"),
        ("<blockquote>quoted</blockquote>", "> quoted"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("line<br>next", "line\nnext"),
        ("<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>", "A · B\n1 · 2"),
        ("<pre><code>x = 1\n    y = 2</code></pre>", "```\nx = 1\n    y = 2\n```"),
        ("Fish &amp; chips &mdash; &#8220;quoted&#8221; &nbsp;here", "Fish & chips — “quoted” here"),
        ("snake_case and 2*3", "snake\\_case and 2\\*3"),
    ],
)
def test_html_becomes_discord_markdown(html: str, markdown: str) -> None:
    assert html_to_markdown(html, BASE) == markdown


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert('x')</script>Visible",
        "<style>p { color: red }</style>Visible",
        "<iframe src='https://evil.example/'>frame text</iframe>Visible",
        "<noscript>enable js</noscript>Visible",
        "<form><input value='x'><button>Send</button></form>Visible",
        "<img src='/a.jpg' alt='a picture'>Visible",
        "<svg><text>vector</text></svg>Visible",
    ],
)
def test_scripts_styles_media_and_forms_leave_no_trace(html: str) -> None:
    assert html_to_markdown(html, BASE) == "Visible"


def test_whitespace_from_indented_html_is_collapsed() -> None:
    html = "\n    <div>\n      <p>  lots   of\n   space  </p>\n\n\n\n      <p>next</p>\n    </div>\n"
    assert html_to_markdown(html, BASE) == "lots of space\n\nnext"


def test_no_raw_tags_survive() -> None:
    html = '<div class="x"><span style="color:red">red</span> <font face="Arial">font</font> <u>u</u></div>'
    assert "<" not in html_to_markdown(html, BASE)


def test_empty_or_blank_html_gives_empty_markdown() -> None:
    assert html_to_markdown("", BASE) == "" and html_to_markdown("  \n ", BASE) == ""


def test_long_text_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    markdown = html_to_markdown("<p>" + "alpha beta gamma " * 100 + "</p>", BASE, max_length=50)
    assert len(markdown) <= 50
    assert markdown.endswith(ELLIPSIS)
    assert markdown[:-1].split(" ")[-1] in {"alpha", "beta", "gamma"}


def test_cut_inside_bold_closes_the_bold() -> None:
    markdown = html_to_markdown("<b>" + "word " * 100 + "</b>", BASE, max_length=40)
    assert markdown.startswith("**") and markdown.endswith(ELLIPSIS + "**")
    assert len(markdown) <= 40


def test_cut_inside_a_link_keeps_only_its_text() -> None:
    html = 'Intro <a href="https://example.com/long">' + "link text " * 20 + "</a>"
    markdown = html_to_markdown(html, BASE, max_length=60)
    assert "](" not in markdown and "[" not in markdown
    assert markdown.startswith("Intro link text") and markdown.endswith(ELLIPSIS)


def test_long_article_is_converted_from_its_start_only() -> None:
    article = "<p>Opening words.</p>" + "<p>" + "<span class='x'>filler</span> " * 20000 + "</p>"
    markdown = html_to_markdown(article, BASE, max_length=300)
    assert markdown.startswith("Opening words.") and markdown.endswith(ELLIPSIS)
    assert len(markdown) <= 300


def test_article_cut_before_conversion_still_ends_with_an_ellipsis() -> None:
    # Heavy markup: the kept prefix of the HTML yields fewer characters than the cap.
    article = "".join(f'<p><a href="https://example.com/{n}" class="{"c" * 200}">w{n}</a></p>' for n in range(200))
    markdown = html_to_markdown(article, BASE, max_length=1000)
    assert markdown.endswith(ELLIPSIS) and len(markdown) <= 1000
    assert "<" not in markdown


def test_truncation_leaves_short_text_alone() -> None:
    assert truncate_markdown("short", 10) == "short"


def test_nested_emphasis_is_closed_innermost_first() -> None:
    assert truncate_markdown("**bold *italic " + "x" * 50, 30).endswith(ELLIPSIS + "***")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("Example <b>Atom</b>", "Example Atom"),
        ("AT&amp;T &lt;rocks&gt;", "AT&T <rocks>"),
        ("  spread \n over   lines ", "spread over lines"),
        ("a<script>var x = 1;</script>b", "ab"),
        ("<p>one</p><p>two</p>", "one two"),
        ('<img alt="cat<br />dog" src="x.jpg">', ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("text", "is_html"),
    [
        ("Example <b>Atom</b>", True),
        ("Fish &amp; chips", True),
        ("History of the <blink> tag", False),
        ("1 < 2 and 3 > 2", False),
        ("plain", False),
    ],
)
def test_looks_like_html(text: str, is_html: bool) -> None:
    assert looks_like_html(text) is is_html
