"""Markdown from untrusted text: notes and output come out as the same characters, never markup."""

from __future__ import annotations

from runbook.report._mdtext import code, day, fenced, md, percent, table, utc

T = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


def test_inline_text_cannot_make_markup_or_html() -> None:
    note = "rack *B* | PDU_2 [ok](http://x) <script>`rm`</script>\nnext line"
    out = md(note)
    assert out == (
        r"rack \*B\* \| PDU\_2 \[ok\](http://x) &lt;script&gt;\`rm\`&lt;/script&gt; next line"
    )
    assert md(None) == md("") == ""


def test_terminal_escapes_are_spelled_out() -> None:
    assert "\x1b" not in md("\x1b[31mred\x1b[0m") and "\x1b" not in code("\x1b]0;title\x07")


def test_a_code_span_holds_any_backticks() -> None:
    assert code("ls") == "`ls`"
    assert code("echo `date`") == "`` echo `date` ``"  # padded: it ends with a backtick
    assert code("a``b") == "```a``b```"
    assert code("multi\nline") == "`multi line`"


def test_a_fenced_block_cannot_be_closed_by_its_output() -> None:
    assert fenced("ok") == "```text\nok\n```\n"
    out = fenced("before\n````\nafter\n", "sh")
    assert out == "`````sh\nbefore\n````\nafter\n`````\n"


def test_table_times_and_percentages() -> None:
    assert table(["step", "status"], [["power", "done"], ["mail", "failed"]]) == (
        "| step | status |\n|---|---|\n| power | done |\n| mail | failed |\n"
    )
    assert utc(T) == "2026-11-18 11:06:40 UTC"
    assert utc(T, with_date=False) == "11:06:40"
    assert utc(None) == "—"
    assert day(T) == "2026-11-18"
    assert percent(0.125) == "12%" and percent(1) == "100%" and percent(None) == "—"
