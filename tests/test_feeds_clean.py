"""html_to_text and fold_whitespace."""

from __future__ import annotations

import pytest

from newsintel.feeds.clean import fold_whitespace, html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain text", "plain text"),
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("Line<br>break<br/>here", "Line\nbreak\nhere"),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        ("Tom &amp; Jerry&#8217;s &lt;show&gt; &nbsp;today", "Tom & Jerry\u2019s <show> today"),
        ("<script>var x = '<p>no</p>';</script>kept<style>p {color: red}</style>", "kept"),
        ("<ul><li>a</li><li>b</li></ul>", "a\nb"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("  lots   of \n\n\t space  ", "lots of\nspace"),
        ("<!-- hidden -->visible", "visible"),
        ("<div><p>nested</p></div>\n\n\n<div>blocks</div>", "nested\nblocks"),
        ("broken <b>markup <i>never closed", "broken markup never closed"),
        ("<p>Price fell 3%<img src='x.png'>today</p>", "Price fell 3% today"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_fold_whitespace() -> None:
    assert fold_whitespace("  a \n\t b\u00a0c  ") == "a b c"
    assert fold_whitespace("") == ""
