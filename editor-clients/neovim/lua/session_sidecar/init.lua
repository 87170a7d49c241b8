--- Session Sidecar for Neovim: session history panel, drift prompts and a
--- statusline component on top of the `session-sidecar` language server.
---
--- ```lua
--- require("session_sidecar").setup({ prompts = "native" })
--- ```
local M = {}

--- True once setup() ran (read by :checkhealth).
M.did_setup = false

local function root_or_warn()
  local root = require("session_sidecar.client").root_for(0)
  if not root then
    require("session_sidecar.client").notify(
      "not inside a git repository (open a file in one, or :cd into it)",
      vim.log.levels.WARN
    )
  end
  return root
end

--- Open the :Sessions panel for the current repository.
--- @param scope string|nil branch|worktree|repository|all
function M.open_panel(scope)
  local root = root_or_warn()
  if root then
    return require("session_sidecar.panel").open(root, scope)
  end
end

--- Open the history of a session (default: the active one).
--- @param session_id string|nil
function M.open_history(session_id)
  local root = root_or_warn()
  if root then
    return require("session_sidecar.history").open(root, session_id)
  end
end

--- Search the repository's session history for `query` (asked when empty)
--- and offer the hits in Telescope, with vim.ui.select, or in the quickfix
--- list (the `search.picker` option; `opts.quickfix` or `opts.picker` win).
--- @param query string|nil
--- @param opts { quickfix: boolean|nil, picker: "auto"|"telescope"|"select"|"quickfix"|nil, telescope: table|nil }|nil
function M.search(query, opts)
  local root = root_or_warn()
  if root then
    require("session_sidecar.search").run(root, query, opts)
  end
end

--- Open the pending drift decision again (after its prompt was dismissed,
--- or while it waits for normal mode); says so when none is pending.
function M.decide()
  local root = root_or_warn()
  if root then
    require("session_sidecar.prompt").reopen(root)
  end
end

--- Start a fresh session on the current boundary.
--- @param name string|nil
function M.fresh(name)
  local root = root_or_warn()
  if root then
    require("session_sidecar.actions").fresh(root, name)
  end
end

--- Resume a session by id, or pick one with vim.ui.select.
--- @param session_id string|nil
function M.resume(session_id)
  local root = root_or_warn()
  if not root then
    return
  end
  local actions = require("session_sidecar.actions")
  if session_id and session_id ~= "" then
    actions.resume(root, session_id)
    return
  end
  local client = require("session_sidecar.client")
  local format = require("session_sidecar.format")
  client.request(root, "sidecar/sessions/list", { scope = "repository", limit = 50 }, function(err, res)
    if err then
      client.notify("list failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local items = (res and res.items) or {}
    if #items == 0 then
      client.notify("no sessions in this repository yet")
      return
    end
    local now = os.time()
    vim.ui.select(items, {
      prompt = "Resume session",
      kind = "session_sidecar.session",
      format_item = function(s)
        return string.format(
          "%s  [%s, %s, %s ago, %d events]",
          format.session_label(s),
          (s.boundary and s.boundary.branch) or "?",
          s.status or "?",
          format.age(s.lastEventAt or s.updatedAt, now),
          s.eventCount or 0
        )
      end,
    }, function(choice)
      if choice then
        actions.resume(root, choice.id)
      end
    end)
  end)
end

--- Fork a session (default: the active one) at its latest event.
--- @param session_id string|nil
function M.fork(session_id)
  local root = root_or_warn()
  if not root then
    return
  end
  if not session_id or session_id == "" then
    local st = require("session_sidecar.state").get(root)
    session_id = st.session and st.session.id or nil
  end
  if not session_id then
    require("session_sidecar.client").notify(
      "no session yet (one begins with the first prompt or edit): give an id, :SessionsFork <id>,"
        .. " or press f on a session in :Sessions",
      vim.log.levels.WARN
    )
    return
  end
  require("session_sidecar.actions").fork(root, session_id)
end

--- The statusline component (branch, session, drift marker); "" outside a
--- repository the sidecar runs in. Cheap: reads cached state only.
--- @param opts { bufnr: integer|nil, max_name: integer|nil }|nil
--- @return string
function M.statusline(opts)
  return require("session_sidecar.statusline").get(opts)
end

--- Send any sidecar request to the current repository's server.
--- @param method string e.g. "sidecar/sessions/list"
--- @param params table|nil
--- @param cb fun(err: any, result: any)|nil
--- @param root string|nil default: the current buffer's repository
function M.request(method, params, cb, root)
  require("session_sidecar.client").request(root or root_or_warn(), method, params, cb)
end

local function complete_session_ids(arglead)
  local ids = {}
  for _, st in pairs(require("session_sidecar.state").roots) do
    if st.session and st.session.id and vim.startswith(st.session.id, arglead) then
      table.insert(ids, st.session.id)
    end
  end
  local panel = require("session_sidecar.panel")
  for _, p in pairs(panel.panels) do
    for _, s in ipairs(p.sessions or {}) do
      if vim.startswith(s.id, arglead) and not vim.tbl_contains(ids, s.id) then
        table.insert(ids, s.id)
      end
    end
  end
  return ids
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("Sessions", function(a)
    M.open_panel(a.args ~= "" and a.args or nil)
  end, {
    nargs = "?",
    complete = function()
      return require("session_sidecar.format").scopes
    end,
    desc = "Session Sidecar: open the sessions panel",
  })
  cmd("SessionsHistory", function(a)
    M.open_history(a.args ~= "" and a.args or nil)
  end, { nargs = "?", complete = complete_session_ids, desc = "Session Sidecar: session history" })
  cmd("SessionsSearch", function(a)
    M.search(a.args ~= "" and a.args or nil, { quickfix = a.bang })
  end, {
    nargs = "*",
    bang = true,
    desc = "Session Sidecar: search the history (! fills the quickfix list)",
  })
  cmd("SessionsDecide", function()
    M.decide()
  end, { nargs = 0, desc = "Session Sidecar: open the pending drift decision again" })
  cmd("SessionsFresh", function(a)
    M.fresh(a.args ~= "" and a.args or nil)
  end, { nargs = "?", desc = "Session Sidecar: start a fresh session" })
  cmd("SessionsResume", function(a)
    M.resume(a.args ~= "" and a.args or nil)
  end, { nargs = "?", complete = complete_session_ids, desc = "Session Sidecar: resume a session" })
  cmd("SessionsFork", function(a)
    M.fork(a.args ~= "" and a.args or nil)
  end, { nargs = "?", complete = complete_session_ids, desc = "Session Sidecar: fork a session" })
end

--- Configure the plugin, define its commands, and start a sidecar client for
--- every file buffer inside a git repository (one client per repository).
--- @param opts session_sidecar.Options|nil
function M.setup(opts)
  local config = require("session_sidecar.config")
  config.setup(opts)
  create_commands()
  require("session_sidecar.helptags").ensure()
  M.did_setup = true
  local group = vim.api.nvim_create_augroup("session_sidecar", { clear = true })
  if config.options.autostart then
    local client = require("session_sidecar.client")
    vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
      group = group,
      callback = function(ev)
        client.attach(ev.buf)
      end,
    })
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) then
        client.attach(buf)
      end
    end
  end
end

return M
