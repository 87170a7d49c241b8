"""Small helpers to drive the plugin inside a real Neovim through pynvim."""

from __future__ import annotations

import json
from typing import Any

import pynvim

# Replaces vim.ui.select / vim.ui.input: records every prompt (its kind,
# prompt text, item titles as the user would see them, and the `key` of each
# item that has one: a drift choice's resume/fresh/continue/remember) and
# answers with the item whose title or key is _G.sidecar_test.pick ("first" =
# the first item), or cancels. Every vim.notify message is recorded too (and
# still shown).
RECORDING_UI = r"""
_G.sidecar_test = { prompts = {}, inputs = {}, notes = {}, pick = "fresh", input = nil }
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(_G.sidecar_test.notes, msg)
  return notify(msg, level, opts)
end
vim.ui.select = function(items, opts, on_choice)
  opts = opts or {}
  local fmt = opts.format_item or tostring
  local titles, keys = {}, {}
  for _, item in ipairs(items) do
    table.insert(titles, fmt(item))
    table.insert(keys, type(item) == "table" and item.key or vim.NIL)
  end
  table.insert(_G.sidecar_test.prompts,
    { kind = opts.kind, prompt = opts.prompt, titles = titles, keys = keys })
  local pick = _G.sidecar_test.pick
  for i, title in ipairs(titles) do
    if title == pick or keys[i] == pick or (pick == "first" and i == 1) then
      return on_choice(items[i], i)
    end
  end
  on_choice(nil, nil)
end
_G.sidecar_test.drifts = {}
require("session_sidecar.state").on("drift", function(_, params)
  table.insert(_G.sidecar_test.drifts, params.recommendation)
end)
require("session_sidecar.state").on("exit", function(root, how)
  _G.sidecar_test.exited = { root = root, code = how.code, signal = how.signal }
end)
vim.ui.input = function(opts, on_confirm)
  table.insert(_G.sidecar_test.inputs, { prompt = opts.prompt, default = opts.default })
  on_confirm(_G.sidecar_test.input)
end
"""


def lua_string(text: str) -> str:
    """`text` as a Lua string literal (JSON's \\u escapes are not Lua's, so
    other characters are written as they are)."""
    return json.dumps(text, ensure_ascii=False)


class Driver:
    """The plugin inside one embedded Neovim."""

    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim

    def lua(self, code: str, *args: Any) -> Any:
        """Run Lua code (`...` are the args) and return its value."""
        return self.nvim.exec_lua(code, *args)

    def setup(self, cmd: list[str] | None, **opts: Any) -> None:
        """Install the recording UI, then call setup() with `cmd` (None: the
        plugin's default command) and `opts`."""
        self.lua(RECORDING_UI)
        self.lua(
            "local cmd, opts = ... if cmd ~= vim.NIL then opts.cmd = cmd end"
            ' require("session_sidecar").setup(opts)',
            cmd,
            opts,
        )

    def opened(self, path: str) -> str:
        """Edit `path` and wait until its repository's server has told its status
        (the client is up; nothing else is implied); the root."""
        self.nvim.command(f"edit {path}")
        root = self.root()
        self.wait(
            f"(require('session_sidecar.state').roots[{root!r}] or {{}}).status ~= nil",
            20000,
            "the server's status",
        )
        return root

    def begin_session(self) -> dict[str, Any]:
        """Save the current file: a save is a first real event, so the server begins a
        session (an editor start alone begins none). The session, once the plugin has it."""
        root = self.root()
        self.nvim.command("write")
        self.wait(
            f"(require('session_sidecar.state').roots[{root!r}] or {{}}).session ~= nil",
            10000,
            "the session the save began",
        )
        return dict(self.state(root)["session"])

    def append(self, session_id: str, events: list[dict[str, Any]]) -> list[int]:
        """Append `events` to `session_id` through the real server; their seqs."""
        result = self.lua(
            "local root, id, events = ..."
            " local r, err = require('session_sidecar.client').request_sync(root,"
            " 'sidecar/events/append', { sessionId = id, events = events }, 5000)"
            " assert(not err, vim.inspect(err)) return r.seqs",
            self.root(),
            session_id,
            events,
        )
        return list(result)

    def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send `method` to the current repository's server and return its result."""
        return self.lua(
            "local root, method, params = ..."
            " local r, err = require('session_sidecar.client')"
            ".request_sync(root, method, params, 5000)"
            " assert(not err, vim.inspect(err)) return r",
            self.root(),
            method,
            params,
        )

    def wait(self, condition: str, timeout_ms: int = 10000, what: str = "") -> None:
        """Keep Neovim's loop (and its LSP traffic) running until the Lua
        expression `condition` is true; fail after `timeout_ms`."""
        # A dead server cannot satisfy anything: stop waiting and say so.
        outcome = self.lua(
            f"local function cond() return ({condition}) and true or false end"
            " local function dead() return _G.sidecar_test and _G.sidecar_test.exited ~= nil end"
            f" vim.wait({timeout_ms}, function() return cond() or dead() end, 20)"
            " if cond() then return 'ok' end"
            " if dead() then return 'server exited ' .. vim.inspect(_G.sidecar_test.exited) end"
            f" return 'timed out after {timeout_ms} ms'"
        )
        if outcome != "ok":
            messages = self.lua('return vim.api.nvim_exec2("messages", { output = true }).output')
            log = self.lua(
                "local p = vim.lsp.get_log_path()"
                " return vim.uv.fs_stat(p) and vim.fn.readfile(p, '', -15) or {}"
            )
            raise AssertionError(
                f"{outcome} waiting for {what or condition}\n"
                f"prompts: {json.dumps(self.prompts(), indent=1)}\n"
                f"notes: {json.dumps(self.notes(), indent=1)}\n"
                f"state: {self.state_dump()}\n"
                f"messages: {messages}\n"
                "lsp.log tail:\n" + "\n".join(line[:400] for line in log)
            )

    def drifts(self) -> list[dict[str, Any]]:
        """The recommendation of every sidecar/driftDetected so far, as the server sent it."""
        return list(self.lua("return _G.sidecar_test and _G.sidecar_test.drifts or {}"))

    def notes(self) -> list[str]:
        """Every vim.notify message shown so far."""
        return list(self.lua("return _G.sidecar_test and _G.sidecar_test.notes or {}"))

    def noted(self, text: str) -> str:
        """A Lua condition: some vim.notify message so far contains `text`."""
        return (
            "vim.iter(_G.sidecar_test.notes):any(function(m)"
            f" return m:find({lua_string(text)}, 1, true) ~= nil end)"
        )

    def buffer_lines(self) -> list[str]:
        """The lines of the current buffer."""
        return list(self.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))

    def prompts(self) -> list[dict[str, Any]]:
        """Every vim.ui.select prompt shown so far."""
        return list(self.lua("return _G.sidecar_test and _G.sidecar_test.prompts or {}"))

    def root(self) -> str:
        """The repository root the current buffer maps to."""
        return str(self.lua('return require("session_sidecar.client").root_for(0)'))

    def state(self, root: str) -> dict[str, Any]:
        """The plugin's cached state for `root` (branch, session, drift)."""
        return dict(
            self.lua(
                "local st = require('session_sidecar.state').roots[...] or {}"
                " return { branch = st.branch, session = st.session, drift = st.drift ~= nil,"
                " client = st.client_id }",
                root,
            )
        )

    def state_dump(self) -> str:
        """All cached state, for failure messages."""
        return str(self.lua("return vim.inspect(require('session_sidecar.state').roots)"))

    def panel_lines(self, root: str) -> list[str]:
        """The lines of the :Sessions panel buffer of `root`."""
        return list(
            self.lua(
                "local p = require('session_sidecar.panel').panels[...]"
                " if not p then return {} end"
                " return vim.api.nvim_buf_get_lines(p.buf, 0, -1, false)",
                root,
            )
        )

    def panel_ready(self, root: str) -> str:
        """A Lua condition: the panel of `root` has rendered a listing."""
        return (
            f"(function() local p = require('session_sidecar.panel').panels[{json.dumps(root)}]"
            " return p and p.generation and p.generation > 0 and not p.pending end)()"
        )

    def panel_has(self, root: str, text: str) -> str:
        """A Lua condition: some line of the panel of `root` contains `text`."""
        return (
            f"(function() local p = require('session_sidecar.panel').panels[{json.dumps(root)}]"
            " if not p then return false end"
            " for _, l in ipairs(vim.api.nvim_buf_get_lines(p.buf, 0, -1, false)) do"
            f" if l:find({lua_string(text)}, 1, true) then return true end end return false end)()"
        )

    def press(self, keys: str) -> None:
        """Type keys in normal mode in the current window (mappings apply)."""
        # feedkeys "x" runs the keys (and their mappings, "m") before returning,
        # unlike nvim_input, which only queues them.
        codes = self.nvim.replace_termcodes(keys, True, False, True)
        self.nvim.feedkeys(codes, "mx", False)

    def cursor_to(self, text: str) -> None:
        """Move the cursor to the first line containing `text`."""
        lnum = self.lua(
            "for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do"
            " if l:find(..., 1, true) then return i end end return 0",
            text,
        )
        assert lnum, f"no line contains {text!r}"
        self.nvim.current.window.cursor = (lnum, 0)

    def panel_sessions(self, root: str) -> list[dict[str, Any]]:
        """The sessions the panel of `root` last listed."""
        return list(
            self.lua(
                "return (require('session_sidecar.panel').panels[...] or {}).sessions or {}", root
            )
        )

    def cursor_to_session(self, root: str, session_id: str) -> None:
        """Move the cursor to the panel line of `session_id`."""
        lnum = self.lua(
            "local root, id = ... local p = require('session_sidecar.panel').panels[root]"
            " for l, sid in pairs(p.index) do if sid == id then return l end end return 0",
            root,
            session_id,
        )
        assert lnum, f"session {session_id} is not in the panel"
        self.nvim.current.window.cursor = (lnum, 0)


def server_items(rec: dict[str, Any]) -> list[str]:
    """The items a drift prompt must show for recommendation `rec`: the server's
    choice labels in the server's order, the recommended one marked."""
    return [c["label"] + (" (recommended)" if c.get("recommended") else "") for c in rec["choices"]]
