""":SessionsSearch in Telescope, against the real server in a real Neovim.

Telescope itself is not installable here (it is on neither PyPI, npm nor Debian), so
these tests put a FAKE of Telescope's API on the runtimepath
(tests/nvim/fake_telescope/lua/telescope/: pickers.new, finders.new_table,
config.values.generic_sorter, previewers.new_buffer_previewer,
previewers.utils.highlighter, actions.select_default:replace, actions.close,
actions.state, register_extension/load_extension). The fake only records what the
plugin gives it; each test drives the recorded picker by hand: it calls the
entry_maker on the hits the picker was given, runs the replaced default action on
the second entry, the recorded <C-q> mapping and the previewer's define_preview, and
checks the outcome in Neovim (history buffer, cursor, quickfix list)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pynvim
import pytest

from .conftest import HERE, attached_driver
from .driver import Driver, lua_string

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]

FAKE_TELESCOPE = HERE / "fake_telescope"

QUERY = "kerfuffle"


def with_fake_telescope(d: Driver) -> None:
    """Put the fake Telescope on the runtimepath (first, like an installed plugin)."""
    d.lua("vim.opt.runtimepath:prepend(...)", str(FAKE_TELESCOPE))
    assert d.lua("return (pcall(require, 'telescope'))") is True


@pytest.fixture
def driver(nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]) -> Iterator[Driver]:
    """The plugin set up with default options, a file of `repo` open, and the fake
    Telescope installed."""
    d = attached_driver(nvim, repo, isolated_env)
    with_fake_telescope(d)
    yield d


# The two prompts that match QUERY, one per session.
LOGIN_TEXT = "the login kerfuffle again"
BILLING_TEXT = "a billing kerfuffle this time"


def prompt(text: str) -> list[dict[str, Any]]:
    """One user prompt event."""
    return [{"kind": "prompt", "actor": "user", "payload": {"text": text}}]


def text_of(hit: dict[str, Any]) -> str:
    """The prompt text `hit` found (its snippet marks the match, so compare words)."""
    return LOGIN_TEXT if "login" in hit["snippet"] else BILLING_TEXT


def seed(d: Driver) -> list[dict[str, Any]]:
    """Two sessions with a `kerfuffle` prompt each, amid other events; the server's
    hits for `kerfuffle` (best first), which must be two, in two sessions."""
    first = d.state(d.root())["session"]["id"]
    d.append(first, prompt("make the login redirect work"))
    d.append(first, prompt(LOGIN_TEXT))
    d.append(first, prompt("and now the tests"))
    second = d.request("sidecar/sessions/start", {"name": "billing"})["session"]["id"]
    d.append(second, prompt("look at the billing page"))
    d.append(second, prompt(BILLING_TEXT))
    d.append(second, prompt("ship it"))
    hits = d.request(
        "sidecar/sessions/search", {"query": QUERY, "scope": "repository", "limit": 100}
    )["items"]
    assert len(hits) == 2 and hits[0]["sessionId"] != hits[1]["sessionId"], hits
    return list(hits)


def picker(d: Driver) -> dict[str, Any]:
    """What the plugin gave the fake's latest pickers.new (functions left out)."""
    return dict(
        d.lua(
            "local p = _G.fake_telescope.pickers[#_G.fake_telescope.pickers]"
            " return { opts = p.opts, prompt_title = p.spec.prompt_title,"
            " finder = { kind = p.spec.finder.kind, results = p.spec.finder.results },"
            " sorter = p.spec.sorter.fake_sorter, previewer = p.spec.previewer.kind,"
            " previewer_title = p.spec.previewer.title,"
            " mapped = { i = vim.tbl_keys(p.mappings.i), n = vim.tbl_keys(p.mappings.n) } }"
        )
    )


# Lua: the entries the latest picker's entry_maker makes of its finder's results.
ENTRIES = (
    "local p = _G.fake_telescope.pickers[#_G.fake_telescope.pickers]"
    " local entries = vim.tbl_map(p.spec.finder.entry_maker, p.spec.finder.results)"
)


def block_line_condition(session_id: str, seq: int, text: str) -> str:
    """A Lua condition: the current window shows the history of `session_id`, loaded,
    with the cursor on the block of event `seq` (whose text, after a blank line, is
    `text`)."""
    return (
        f"(function() local v = require('session_sidecar.history').views[{session_id!r}]"
        " if not (v and v.loaded and vim.api.nvim_get_current_buf() == v.buf) then return false end"
        " local l = vim.api.nvim_win_get_cursor(0)[1]"
        " local lines = vim.api.nvim_buf_get_lines(0, l - 1, l + 2, false)"
        f" return vim.endswith(lines[1], '· #{seq}') and lines[3] == {lua_string(text)} end)()"
    )


def test_search_picks_in_telescope_and_opens_the_second_hit(driver: Driver) -> None:
    """With Telescope installed, :SessionsSearch gives a picker the server's hits in its
    order (generic sorter, buffer previewer); the default action on the second entry
    opens that hit's session history on its event, not vim.ui.select."""
    hits = seed(driver)
    driver.nvim.command(f"SessionsSearch {QUERY}")
    driver.wait("#_G.fake_telescope.pickers == 1", 8000, "the Telescope picker")
    shown = picker(driver)
    assert shown["prompt_title"] == f'Sessions matching "{QUERY}"'
    assert shown["finder"]["kind"] == "new_table"
    assert [(h["sessionId"], h["seq"]) for h in shown["finder"]["results"]] == [
        (h["sessionId"], h["seq"]) for h in hits
    ]
    assert shown["sorter"] == "generic_sorter"
    assert shown["previewer"] == "buffer_previewer"
    assert "<C-q>" in shown["mapped"]["i"] and "<C-q>" in shown["mapped"]["n"], shown
    assert not any(p["kind"] == "session_sidecar.search" for p in driver.prompts())

    entries = driver.lua(
        ENTRIES + " return vim.tbl_map(function(e) return { display = e.display,"
        " ordinal = e.ordinal, sessionId = e.value.sessionId, seq = e.value.seq } end, entries)"
    )
    assert [(e["sessionId"], e["seq"]) for e in entries] == [
        (h["sessionId"], h["seq"]) for h in hits
    ]
    for entry, hit in zip(entries, hits, strict=True):
        assert re.fullmatch(
            rf"{re.escape(hit['sessionName'])} · prompt · .*\[{QUERY}\].* · (now|\d+s ago)",
            entry["display"],
        ), entry
        assert hit["sessionName"] in entry["ordinal"] and QUERY in entry["ordinal"], entry

    second = hits[1]
    text = text_of(second)
    driver.lua(
        ENTRIES + " _G.fake_telescope.selected = entries[2]"
        " require('telescope.actions').select_default.replaced(p.prompt_bufnr)"
    )
    assert driver.lua("return _G.fake_telescope.closed") == [
        driver.lua("return _G.fake_telescope.pickers[1].prompt_bufnr")
    ]
    driver.wait(
        block_line_condition(second["sessionId"], second["seq"], text),
        8000,
        "the history of the second hit, on its block",
    )


def test_preview_shows_the_history_at_the_hit(driver: Driver) -> None:
    """The previewer fills Telescope's preview buffer with the hit's session history
    (the plugin's history buffer, Markdown-highlighted), the cursor on the hit's block."""
    hits = seed(driver)
    driver.nvim.command(f"SessionsSearch {QUERY}")
    driver.wait("#_G.fake_telescope.pickers == 1", 8000, "the Telescope picker")
    first = hits[0]
    text = text_of(first)
    driver.lua(
        ENTRIES + " local buf = vim.api.nvim_create_buf(false, true)"
        " vim.cmd('vsplit') vim.api.nvim_win_set_buf(0, buf)"
        " _G.preview = { state = { bufnr = buf, winid = vim.api.nvim_get_current_win() } }"
        " p.spec.previewer.define_preview(_G.preview, entries[1], {})"
    )
    driver.wait(block_line_condition_in_preview(first["seq"], text), 8000, "the preview at the hit")
    preview, history = driver.lua(
        "local v = require('session_sidecar.history').views[...]"
        " return { vim.api.nvim_buf_get_lines(_G.preview.state.bufnr, 0, -1, false),"
        " vim.api.nvim_buf_get_lines(v.buf, 0, -1, false) }",
        first["sessionId"],
    )
    assert preview == history and preview[0] == f"# {first['sessionName']}", preview
    assert {"bufnr": driver.lua("return _G.preview.state.bufnr"), "ft": "markdown"} in (
        driver.lua("return _G.fake_telescope.highlighted")
    )


def block_line_condition_in_preview(seq: int, text: str) -> str:
    """A Lua condition: the preview window's cursor is on the block of event `seq`."""
    return (
        "(function() local s = _G.preview.state"
        " local l = vim.api.nvim_win_get_cursor(s.winid)[1]"
        " local lines = vim.api.nvim_buf_get_lines(s.bufnr, l - 1, l + 2, false)"
        f" return #lines == 3 and vim.endswith(lines[1], '· #{seq}')"
        f" and lines[3] == {lua_string(text)} end)()"
    )


def test_ctrl_q_sends_the_held_hits_to_quickfix(driver: Driver) -> None:
    """<C-q> closes the picker and puts the hits it holds (narrowed by the prompt to
    the second one here) in the quickfix list, on the line of the hit's block."""
    hits = seed(driver)
    driver.nvim.command(f"SessionsSearch {QUERY}")
    driver.wait("#_G.fake_telescope.pickers == 1", 8000, "the Telescope picker")
    driver.lua(ENTRIES + " p.held = { entries[2] } p.mappings.i['<C-q>'](p.prompt_bufnr)")
    assert len(driver.lua("return _G.fake_telescope.closed")) == 1
    driver.wait(
        f"vim.fn.getqflist({{ title = 0 }}).title == 'Session Sidecar search: {QUERY}'",
        8000,
        "the quickfix list",
    )
    items = driver.lua(
        "return vim.tbl_map(function(e) return { lnum = e.lnum, text = e.text,"
        " line = vim.api.nvim_buf_get_lines(e.bufnr, e.lnum - 1, e.lnum, false)[1],"
        " session = vim.b[e.bufnr].session_sidecar_session } end, vim.fn.getqflist())"
    )
    assert len(items) == 1, items
    (item,) = items
    assert item["session"] == hits[1]["sessionId"]
    assert item["line"].endswith(f"· #{hits[1]['seq']}"), item
    assert f"[{QUERY}]" in item["text"], item


def test_extension_searches_in_telescope(driver: Driver) -> None:
    """`require("telescope").load_extension("session_sidecar").search({ query = ... })`
    (what `:Telescope session_sidecar search query=...` calls) opens the same picker,
    with the caller's Telescope options passed on to pickers.new."""
    hits = seed(driver)
    driver.lua(
        "require('telescope').load_extension('session_sidecar')"
        ".search({ query = ..., layout_strategy = 'vertical' })",
        QUERY,
    )
    driver.wait("#_G.fake_telescope.pickers == 1", 8000, "the Telescope picker")
    shown = picker(driver)
    assert shown["opts"] == {"layout_strategy": "vertical"}
    assert [h["seq"] for h in shown["finder"]["results"]] == [h["seq"] for h in hits]


@pytest.mark.parametrize("picker_option", ["select", "telescope"])
def test_select_option_or_missing_telescope_uses_vim_ui_select(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str], picker_option: str
) -> None:
    """`search = { picker = "select" }` bypasses an installed Telescope; asking for
    "telescope" without it installed warns and falls back: both pick with vim.ui.select
    and open the history at the hit."""
    d = attached_driver(nvim, repo, isolated_env, search={"picker": picker_option})
    if picker_option == "select":
        with_fake_telescope(d)
    hits = seed(d)
    d.lua("_G.sidecar_test.pick = 'first'")
    nvim.command(f"SessionsSearch {QUERY}")
    text = text_of(hits[0])
    d.wait(block_line_condition(hits[0]["sessionId"], hits[0]["seq"], text), 8000, "the hit")
    (shown,) = [p for p in d.prompts() if p["kind"] == "session_sidecar.search"]
    assert len(shown["titles"]) == 2, shown
    if picker_option == "select":
        assert d.lua("return #_G.fake_telescope.pickers") == 0
    else:
        assert d.lua("return package.loaded.telescope == nil")
        assert any("Telescope is not installed" in n for n in d.notes()), d.notes()


def test_bad_search_picker_is_rejected(nvim: pynvim.Nvim) -> None:
    """setup() names the option and the allowed values."""
    err = nvim.exec_lua(
        "local ok, err = pcall(require('session_sidecar').setup,"
        " { search = { picker = 'fzf' } }) return not ok and tostring(err) or ''"
    )
    assert "search.picker must be auto, telescope, select or quickfix" in err, err


def test_history_load_survives_a_refresh_that_supersedes_it(driver: Driver) -> None:
    """The previewer and <C-q> both wait on history.load: a refresh started while a
    load is under way (a second preview, a historyChanged) must not drop its callback."""
    session_id = driver.state(driver.root())["session"]["id"]
    driver.lua(
        "local h = require('session_sidecar.history') _G.loaded_buf = nil"
        " local root, id = ... h.load(root, id, function(buf) _G.loaded_buf = buf end)"
        " h.refresh(id)",
        driver.root(),
        session_id,
    )
    driver.wait("_G.loaded_buf ~= nil", 8000, "the load's callback")
    assert driver.lua(
        "return _G.loaded_buf == require('session_sidecar.history').views[...].buf", session_id
    )
