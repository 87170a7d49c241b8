--- The :Sessions panel: a scratch buffer listing sessions grouped by branch.
local actions = require("session_sidecar.actions")
local client = require("session_sidecar.client")
local config = require("session_sidecar.config")
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- @class session_sidecar.Panel
--- @field buf integer
--- @field root string
--- @field scope string
--- @field help boolean
--- @field index table<integer, string> line number -> session id
--- @field drift_lines table<integer, true> the lines about a pending drift decision
--- @field sessions table[] the last listing
--- @field error string|nil
--- @field pending boolean a refresh is scheduled
--- @field generation integer bumps per refresh, so late answers are dropped

--- @type table<string, session_sidecar.Panel>
M.panels = {}

local function valid(panel)
  return panel and vim.api.nvim_buf_is_valid(panel.buf)
end

--- Write the panel's lines from its last listing (no server round trip).
--- @param panel session_sidecar.Panel
function M.render(panel)
  if not valid(panel) then
    return
  end
  local st = state.get(panel.root)
  local drift
  if st.drift and type(st.drift.recommendation) == "table" then
    drift = st.drift.recommendation.summary or st.drift.recommendation.action
  end
  local width = config.options.panel_width
  local win = vim.fn.bufwinid(panel.buf)
  if win ~= -1 then
    width = vim.api.nvim_win_get_width(win)
  end
  local out = format.panel(panel.sessions or {}, {
    scope = panel.scope,
    current_branch = st.branch,
    active_id = st.session and st.session.id or nil,
    now = os.time(),
    root = panel.root,
    width = width,
    help = panel.help,
    drift = drift,
    error = panel.error,
  })
  panel.index = out.index
  panel.drift_lines = out.drift
  vim.bo[panel.buf].modifiable = true
  vim.api.nvim_buf_set_lines(panel.buf, 0, -1, false, out.lines)
  vim.bo[panel.buf].modifiable = false
  vim.bo[panel.buf].modified = false
end

--- Fetch the sessions of the panel's scope and render them.
--- @param panel session_sidecar.Panel
--- @param done fun()|nil called after the panel shows the new listing
function M.refresh(panel, done)
  if not valid(panel) then
    return
  end
  panel.generation = (panel.generation or 0) + 1
  local generation = panel.generation
  client.request(panel.root, "sidecar/sessions/list", { scope = panel.scope, limit = 200 }, function(err, res)
    if generation ~= panel.generation then
      return
    end
    if err then
      panel.error = err.message or vim.inspect(err)
    else
      panel.error = nil
      panel.sessions = (res and res.items) or {}
    end
    M.render(panel)
    if done then
      done()
    end
  end)
end

--- Refresh soon, folding bursts of notifications into one request.
--- @param panel session_sidecar.Panel
function M.schedule_refresh(panel)
  if panel.pending then
    return
  end
  panel.pending = true
  vim.defer_fn(function()
    panel.pending = false
    M.refresh(panel)
  end, 30)
end

--- The session id on the cursor line of the panel, or nil.
--- @param panel session_sidecar.Panel
--- @return string|nil
function M.session_at_cursor(panel)
  local lnum = vim.api.nvim_win_get_cursor(0)[1]
  return panel.index and panel.index[lnum] or nil
end

--- The session table (from the listing) with id `id`.
local function session_by_id(panel, id)
  for _, s in ipairs(panel.sessions or {}) do
    if s.id == id then
      return s
    end
  end
  return nil
end

local function with_session(panel, fn)
  local id = M.session_at_cursor(panel)
  if not id then
    client.notify("no session on this line", vim.log.levels.WARN)
    return
  end
  fn(id, session_by_id(panel, id) or { id = id })
end

--- The panel's keys: key -> { description, function(panel) }.
M.keys = {
  ["<CR>"] = {
    "open the session's history; on the drift line, decide",
    function(panel)
      local lnum = vim.api.nvim_win_get_cursor(0)[1]
      if panel.drift_lines and panel.drift_lines[lnum] then
        require("session_sidecar.prompt").reopen(panel.root)
        return
      end
      with_session(panel, function(id)
        require("session_sidecar.history").open(panel.root, id)
      end)
    end,
  },
  r = {
    "resume the session",
    function(panel)
      with_session(panel, function(id)
        actions.resume(panel.root, id, function()
          M.refresh(panel)
        end)
      end)
    end,
  },
  f = {
    "fork the session",
    function(panel)
      with_session(panel, function(id)
        actions.fork(panel.root, id, nil, function()
          M.refresh(panel)
        end)
      end)
    end,
  },
  R = {
    "rename the session",
    function(panel)
      with_session(panel, function(id, s)
        vim.ui.input({ prompt = "New name: ", default = s.name or "" }, function(name)
          if name and name ~= "" then
            actions.rename(panel.root, id, name, function()
              M.refresh(panel)
            end)
          end
        end)
      end)
    end,
  },
  e = {
    "end the session",
    function(panel)
      with_session(panel, function(id)
        actions.end_session(panel.root, id, function()
          M.refresh(panel)
        end)
      end)
    end,
  },
  d = {
    "delete the session (asks first)",
    function(panel)
      with_session(panel, function(id, s)
        vim.ui.select({ "Delete", "Cancel" }, {
          prompt = string.format('Delete session "%s" and its history?', format.session_label(s)),
          kind = "session_sidecar.confirm",
        }, function(choice)
          if choice == "Delete" then
            actions.delete(panel.root, id, function()
              M.refresh(panel)
            end)
          end
        end)
      end)
    end,
  },
  x = {
    "export the session to a file (.md or .jsonl)",
    function(panel)
      with_session(panel, function(id, s)
        local default = (format.session_label(s):gsub("[^%w%-_]+", "-")) .. ".md"
        vim.ui.input({ prompt = "Export to: ", default = default, completion = "file" }, function(path)
          if path and path ~= "" then
            actions.export(panel.root, id, path)
          end
        end)
      end)
    end,
  },
  c = {
    "create a checkpoint in the session",
    function(panel)
      with_session(panel, function(id)
        vim.ui.input({ prompt = "Checkpoint name: " }, function(name)
          if name and name ~= "" then
            actions.checkpoint(panel.root, id, name, function()
              M.refresh(panel)
            end)
          end
        end)
      end)
    end,
  },
  s = {
    "cycle the scope: branch, worktree, repository, all",
    function(panel)
      panel.scope = format.next_scope(panel.scope)
      M.refresh(panel)
    end,
  },
  q = {
    "close the panel",
    function(panel)
      local win = vim.fn.bufwinid(panel.buf)
      if win ~= -1 and #vim.api.nvim_list_wins() > 1 then
        vim.api.nvim_win_close(win, false)
      else
        vim.api.nvim_buf_delete(panel.buf, { force = true })
      end
    end,
  },
  ["?"] = {
    "show or hide the key help",
    function(panel)
      panel.help = not panel.help
      M.render(panel)
    end,
  },
}

local function create(root, scope)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, "sidecar://sessions/" .. root)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  vim.b[buf].session_sidecar_root = root
  local panel = { buf = buf, root = root, scope = scope, help = false, index = {}, sessions = {} }
  for lhs, spec in pairs(M.keys) do
    vim.keymap.set("n", lhs, function()
      spec[2](panel)
    end, { buffer = buf, nowait = true, silent = true, desc = "Sessions: " .. spec[1] })
  end
  vim.api.nvim_create_autocmd("BufWipeout", {
    buffer = buf,
    once = true,
    callback = function()
      if M.panels[root] == panel then
        M.panels[root] = nil
      end
    end,
  })
  vim.bo[buf].filetype = "sessionsidecar"
  M.panels[root] = panel
  return panel
end

--- Open (or focus) the panel for `root` and refresh it.
--- @param root string
--- @param scope string|nil
--- @return session_sidecar.Panel
function M.open(root, scope)
  local panel = M.panels[root]
  if not valid(panel) then
    panel = create(root, scope or config.options.scope)
  elseif scope then
    panel.scope = scope
  end
  local win = vim.fn.bufwinid(panel.buf)
  if win == -1 then
    vim.cmd("topleft vsplit")
    vim.api.nvim_win_set_buf(0, panel.buf)
    vim.api.nvim_win_set_width(0, config.options.panel_width)
    vim.wo.number = false
    vim.wo.relativenumber = false
    vim.wo.wrap = false
    vim.wo.cursorline = true
    vim.wo.winfixwidth = true
  else
    vim.api.nvim_set_current_win(win)
  end
  M.render(panel)
  M.refresh(panel)
  return panel
end

local function refresh_root(root)
  local panel = M.panels[root]
  if valid(panel) then
    M.schedule_refresh(panel)
  end
end

state.on("session", refresh_root)
state.on("history", refresh_root)
-- A drift usually means a new branch: what "branch" scope lists changed too.
state.on("drift", refresh_root)
state.on("exit", function(root, how)
  local panel = M.panels[root]
  if valid(panel) then
    panel.error = string.format(
      "the server stopped (exit code %s); :Sessions restarts it",
      tostring(how and how.code)
    )
    M.render(panel)
  end
end)
state.on("status", function(root)
  local panel = M.panels[root]
  if valid(panel) then
    M.render(panel)
  end
end)

return M
