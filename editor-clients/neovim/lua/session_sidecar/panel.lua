--- The :Sessions panel: a scratch buffer listing sessions grouped by branch,
--- with what a trouble.nvim user expects of a panel: expand a session's
--- latest events in place, preview, jump to a file, filter, yank, pin.
local actions = require("session_sidecar.actions")
local client = require("session_sidecar.client")
local config = require("session_sidecar.config")
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- The highlight groups of the key help and the expanded rows, linked by
--- default (a colorscheme may set them); again after every :colorscheme,
--- which clears them.
local function define_highlights()
  vim.api.nvim_set_hl(0, "SessionSidecarHelp", { default = true, link = "Comment" })
  vim.api.nvim_set_hl(0, "SessionSidecarDimmed", { default = true, link = "Comment" })
  vim.api.nvim_set_hl(0, "SessionSidecarFailed", { default = true, link = "DiagnosticError" })
  vim.api.nvim_set_hl(0, "SessionSidecarOk", { default = true, link = "DiagnosticOk" })
end
define_highlights()
vim.api.nvim_create_autocmd("ColorScheme", {
  group = vim.api.nvim_create_augroup("session_sidecar_panel", { clear = true }),
  callback = define_highlights,
})

--- The namespace of the panel's highlights.
M.ns = vim.api.nvim_create_namespace("session_sidecar_panel")

--- Events read to show a session's latest blocks when it is expanded
--- (several events fold into one block, so more than the rows shown).
M.expand_events = 40

--- @class session_sidecar.Panel
--- @field buf integer
--- @field root string
--- @field scope string
--- @field help boolean
--- @field index table<integer, string> line number -> session id (its row and its expanded rows)
--- @field rows table<integer, { id: string, block: table }> line number -> expanded event row
--- @field drift_lines table<integer, true> the lines about a pending drift decision
--- @field sessions table[] the last listing
--- @field expanded table<string, table[]|false> session id -> its latest blocks (false while loading)
--- @field filter string|nil show only sessions whose name, branch or last prompt contain it
--- @field preview_win integer|nil the window `p` shows histories in
--- @field error string|nil
--- @field pending boolean a refresh is scheduled
--- @field generation integer bumps per refresh, so late answers are dropped

--- @type table<string, session_sidecar.Panel>
M.panels = {}

local function valid(panel)
  return panel and vim.api.nvim_buf_is_valid(panel.buf)
end

--- What the cursor of `win` is on, to find it again after the lines move:
--- a session id and, on an expanded row, the block's seq.
local function item_at(panel, win)
  local lnum = vim.api.nvim_win_get_cursor(win)[1]
  local row = panel.rows and panel.rows[lnum]
  return {
    id = panel.index and panel.index[lnum] or nil,
    seq = row and row.block.seq or nil,
    lnum = lnum,
  }
end

--- The line now showing `item` (its session row, or its event row).
local function line_of(panel, item)
  if not item.id then
    return nil
  end
  local best
  for lnum, id in pairs(panel.index) do
    if id == item.id then
      local row = panel.rows[lnum]
      if item.seq and row and row.block.seq == item.seq then
        return lnum
      end
      if not row and (not best or lnum < best) then
        best = lnum
      end
    end
  end
  return best
end

--- The key help entries: the first lhs of every key (M.keys, below) and
--- its label.
local function help_entries()
  return vim.tbl_map(function(k)
    return { lhs = type(k.lhs) == "table" and k.lhs[1] or k.lhs, label = k.label }
  end, M.keys)
end

--- Write the panel's lines from its last listing (no server round trip),
--- keeping the cursor on the same session or event.
--- @param panel session_sidecar.Panel
function M.render(panel)
  if not valid(panel) then
    return
  end
  local st = state.get(panel.root)
  local drift
  if st.drift and type(st.drift.recommendation) == "table" then
    drift = format.decision_question(st.drift.recommendation)
  end
  local width = config.options.panel_width
  local wins = vim.fn.win_findbuf(panel.buf)
  if wins[1] then
    width = vim.api.nvim_win_get_width(wins[1])
  end
  local cursors = {}
  for _, win in ipairs(wins) do
    cursors[win] = item_at(panel, win)
  end
  local out = format.panel(panel.sessions or {}, {
    scope = panel.scope,
    current_branch = st.branch,
    session_branch = st.session and st.session.boundary and st.session.boundary.branch or nil,
    active_id = st.session and st.session.id or nil,
    -- Only once the server has said so (before its status nothing is known).
    no_session = st.status ~= nil and st.session == nil and st.client_id ~= nil,
    now = os.time(),
    root = panel.root,
    width = width,
    help = panel.help,
    keys = help_entries(),
    drift = drift,
    error = panel.error,
    filter = panel.filter,
    expanded = panel.expanded,
  })
  panel.index = out.index
  panel.rows = out.rows
  panel.drift_lines = out.drift
  vim.bo[panel.buf].modifiable = true
  vim.api.nvim_buf_set_lines(panel.buf, 0, -1, false, out.lines)
  vim.bo[panel.buf].modifiable = false
  vim.bo[panel.buf].modified = false
  vim.api.nvim_buf_clear_namespace(panel.buf, M.ns, 0, -1)
  for _, h in ipairs(out.highlights) do
    if h.end_col == -1 then
      vim.api.nvim_buf_set_extmark(panel.buf, M.ns, h.lnum - 1, 0, { line_hl_group = h.group })
    else
      vim.api.nvim_buf_set_extmark(panel.buf, M.ns, h.lnum - 1, h.col, { end_col = h.end_col, hl_group = h.group })
    end
  end
  for win, item in pairs(cursors) do
    local lnum = line_of(panel, item) or math.min(item.lnum, #out.lines)
    pcall(vim.api.nvim_win_set_cursor, win, { lnum, 0 })
  end
end

--- Read the latest blocks of every expanded session (that is still listed),
--- then call `done()`.
local function fetch_expanded(panel, generation, done)
  local listed = {}
  for _, s in ipairs(panel.sessions or {}) do
    listed[s.id] = s
  end
  local waiting = 1
  local function one_done()
    waiting = waiting - 1
    if waiting == 0 then
      done()
    end
  end
  for id in pairs(panel.expanded) do
    local s = listed[id]
    if not s then
      panel.expanded[id] = nil
    else
      waiting = waiting + 1
      client.request(panel.root, "sidecar/sessions/render", {
        sessionId = id,
        afterSeq = math.max(0, (s.eventCount or 0) - M.expand_events),
        limit = 200,
      }, function(err, res)
        if generation == panel.generation and panel.expanded[id] ~= nil then
          if err then
            panel.expanded[id] = {
              { kind = "note", seq = 0, title = "could not read the events: " .. (err.message or "?"), dimmed = true },
            }
          else
            panel.expanded[id] = (res and res.items) or {}
          end
        end
        one_done()
      end)
    end
  end
  one_done()
end

--- Fetch the sessions of the panel's scope (and the latest events of the
--- expanded ones) and render them.
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
    fetch_expanded(panel, generation, function()
      if generation ~= panel.generation then
        return
      end
      M.render(panel)
      if done then
        done()
      end
    end)
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

--- The session id on the cursor line of the panel (its row or one of its
--- expanded rows), or nil.
--- @param panel session_sidecar.Panel
--- @return string|nil
function M.session_at_cursor(panel)
  local lnum = vim.api.nvim_win_get_cursor(0)[1]
  return panel.index and panel.index[lnum] or nil
end

--- The expanded event row on the cursor line, or nil.
--- @param panel session_sidecar.Panel
--- @return { id: string, block: table }|nil
function M.row_at_cursor(panel)
  local lnum = vim.api.nvim_win_get_cursor(0)[1]
  return panel.rows and panel.rows[lnum] or nil
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

--- Show or hide the latest events of the session under the cursor.
--- @param panel session_sidecar.Panel
--- @param done fun()|nil called once the panel shows them
function M.toggle_expand(panel, done)
  with_session(panel, function(id)
    if panel.expanded[id] ~= nil then
      panel.expanded[id] = nil
      M.render(panel)
      if done then
        done()
      end
      return
    end
    panel.expanded[id] = false
    M.render(panel)
    M.refresh(panel, done)
  end)
end

--- A window to open files and histories in, other than the panel and its
--- preview: the previous window if it qualifies, else the first that does.
local function main_window(panel)
  local function usable(win)
    return win ~= 0
      and vim.api.nvim_win_is_valid(win)
      and vim.api.nvim_win_get_buf(win) ~= panel.buf
      and win ~= panel.preview_win
      and vim.api.nvim_win_get_config(win).relative == ""
  end
  local previous = vim.fn.win_getid(vim.fn.winnr("#"))
  if usable(previous) then
    return previous
  end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if usable(win) then
      return win
    end
  end
  return nil
end

--- Show the history of the session under the cursor in a preview window
--- (at the event on an expanded row); the cursor stays in the panel.
--- @param panel session_sidecar.Panel
--- @param done fun(win: integer)|nil called once the preview shows the history
function M.preview(panel, done)
  with_session(panel, function(id)
    local row = M.row_at_cursor(panel)
    local panel_win = vim.api.nvim_get_current_win()
    require("session_sidecar.history").load(panel.root, id, function(buf)
      if not valid(panel) then
        return
      end
      local win = panel.preview_win
      if win and vim.api.nvim_win_is_valid(win) then
        vim.api.nvim_win_set_buf(win, buf)
      else
        local main = main_window(panel)
        if main then
          win = vim.api.nvim_open_win(buf, false, { split = "above", win = main })
        else
          win = vim.api.nvim_open_win(buf, false, { split = "right", win = panel_win })
          if vim.api.nvim_win_is_valid(panel_win) then
            vim.api.nvim_win_set_width(panel_win, config.options.panel_width)
          end
        end
        vim.wo[win].previewwindow = true
        panel.preview_win = win
      end
      if row then
        require("session_sidecar.history").show_seq(id, row.block.seq, win)
      else
        vim.api.nvim_win_set_cursor(win, { 1, 0 })
      end
      if done then
        done(win)
      end
    end)
  end)
end

--- The absolute path of `path` (worktree-relative, as blocks give paths) in
--- the session's worktree when it exists here, else in the panel's.
local function file_path(panel, id, path)
  if vim.startswith(path, "/") then
    return path
  end
  local s = session_by_id(panel, id)
  local worktree = s and s.boundary and s.boundary.worktree
  if not (worktree and vim.fn.isdirectory(worktree) == 1) then
    worktree = panel.root
  end
  return vim.fs.joinpath(worktree, path)
end

--- Open the file of the expanded row under the cursor (asks which one when
--- the event touched several) in the window beside the panel.
--- @param panel session_sidecar.Panel
function M.goto_file(panel)
  local row = M.row_at_cursor(panel)
  local paths = row and row.block.paths or {}
  if #paths == 0 then
    client.notify("no file on this line (expand a session with <Tab>, then gf on a file row)", vim.log.levels.WARN)
    return
  end
  local function open(path)
    local full = file_path(panel, row.id, path)
    local win = main_window(panel)
    if win then
      vim.api.nvim_set_current_win(win)
    else
      vim.cmd("rightbelow vsplit")
      local panel_win = vim.fn.bufwinid(panel.buf)
      if panel_win ~= -1 then
        vim.api.nvim_win_set_width(panel_win, config.options.panel_width)
      end
    end
    vim.cmd.edit(vim.fn.fnameescape(full))
  end
  if #paths == 1 then
    open(paths[1])
    return
  end
  vim.ui.select(paths, { prompt = "Open which file?", kind = "session_sidecar.file" }, function(path)
    if path then
      open(path)
    end
  end)
end

--- Ask for a filter (name, branch or last prompt); empty clears it.
--- @param panel session_sidecar.Panel
function M.ask_filter(panel)
  vim.ui.input({ prompt = "Filter sessions (name, branch, last prompt): ", default = panel.filter or "" }, function(text)
    text = text and vim.trim(text) or ""
    panel.filter = text ~= "" and text or nil
    M.render(panel)
  end)
end

--- Put the id of the session under the cursor in the unnamed register, and
--- in the clipboard (`+`) when Neovim has one.
--- @param panel session_sidecar.Panel
function M.yank_id(panel)
  with_session(panel, function(id)
    vim.fn.setreg('"', id)
    local where = '"'
    if vim.fn.has("clipboard") == 1 and pcall(vim.fn.setreg, "+", id) then
      where = '" and +'
    end
    client.notify(string.format("session id %s copied to %s", id, where))
  end)
end

local function close(panel)
  if panel.preview_win and vim.api.nvim_win_is_valid(panel.preview_win) then
    pcall(vim.api.nvim_win_close, panel.preview_win, false)
  end
  panel.preview_win = nil
  local win = vim.fn.bufwinid(panel.buf)
  if win ~= -1 and #vim.api.nvim_list_wins() > 1 then
    vim.api.nvim_win_close(win, false)
  else
    vim.api.nvim_buf_delete(panel.buf, { force = true })
  end
end

local function after(panel)
  return function()
    M.refresh(panel)
  end
end

--- The keys of the panel, in the order the help lists them: `lhs` (a
--- string or a list of aliases), a short `label` for the help, a `desc` for
--- `:map`, and `run(panel)`. The mappings and the `?` help are both made
--- from this list.
--- @type { lhs: string|string[], label: string, desc: string, run: fun(panel: session_sidecar.Panel) }[]
M.keys = {
  {
    lhs = "<CR>",
    label = "history",
    desc = "open the session's history (at the event on an expanded row); on the drift line, decide",
    run = function(panel)
      local lnum = vim.api.nvim_win_get_cursor(0)[1]
      if panel.drift_lines and panel.drift_lines[lnum] then
        require("session_sidecar.prompt").reopen(panel.root)
        return
      end
      local row = M.row_at_cursor(panel)
      with_session(panel, function(id)
        require("session_sidecar.history").open(panel.root, id, { seq = row and row.block.seq or nil })
      end)
    end,
  },
  {
    lhs = "p",
    label = "preview",
    desc = "preview the session's history; the cursor stays in the panel",
    run = M.preview,
  },
  {
    lhs = { "<Tab>", "za" },
    label = "expand",
    desc = "show or hide the session's latest events",
    run = M.toggle_expand,
  },
  {
    lhs = "gf",
    label = "open file",
    desc = "open the file of an expanded event row",
    run = M.goto_file,
  },
  { lhs = "/", label = "filter", desc = "filter by name, branch or last prompt", run = M.ask_filter },
  {
    lhs = "<Esc>",
    label = "no filter",
    desc = "clear the filter",
    run = function(panel)
      if panel.filter then
        panel.filter = nil
        M.render(panel)
      end
    end,
  },
  { lhs = "yy", label = "yank id", desc = "copy the session id", run = M.yank_id },
  {
    lhs = "P",
    label = "pin",
    desc = "pin or unpin the session",
    run = function(panel)
      with_session(panel, function(id, s)
        actions.pin(panel.root, id, not s.pinned, after(panel))
      end)
    end,
  },
  {
    lhs = "r",
    label = "resume",
    desc = "resume the session",
    run = function(panel)
      with_session(panel, function(id)
        actions.resume(panel.root, id, after(panel))
      end)
    end,
  },
  {
    lhs = "f",
    label = "fork",
    desc = "fork the session",
    run = function(panel)
      with_session(panel, function(id)
        actions.fork(panel.root, id, nil, after(panel))
      end)
    end,
  },
  {
    lhs = "R",
    label = "rename",
    desc = "rename the session",
    run = function(panel)
      with_session(panel, function(id, s)
        vim.ui.input({ prompt = "New name: ", default = s.name or "" }, function(name)
          if name and name ~= "" then
            actions.rename(panel.root, id, name, after(panel))
          end
        end)
      end)
    end,
  },
  {
    lhs = "e",
    label = "end",
    desc = "end the session",
    run = function(panel)
      with_session(panel, function(id)
        actions.end_session(panel.root, id, after(panel))
      end)
    end,
  },
  {
    lhs = "d",
    label = "delete",
    desc = "delete the session (asks first)",
    run = function(panel)
      with_session(panel, function(id, s)
        vim.ui.select({ "Delete", "Cancel" }, {
          prompt = string.format('Delete session "%s" and its history?', format.session_label(s)),
          kind = "session_sidecar.confirm",
        }, function(choice)
          if choice == "Delete" then
            actions.delete(panel.root, id, after(panel))
          end
        end)
      end)
    end,
  },
  {
    lhs = "x",
    label = "export",
    desc = "export the session to a file (.md or .jsonl)",
    run = function(panel)
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
  {
    lhs = "c",
    label = "checkpoint",
    desc = "create a checkpoint in the session",
    run = function(panel)
      with_session(panel, function(id)
        vim.ui.input({ prompt = "Checkpoint name: " }, function(name)
          if name and name ~= "" then
            actions.checkpoint(panel.root, id, name, after(panel))
          end
        end)
      end)
    end,
  },
  {
    lhs = "s",
    label = "scope",
    desc = "cycle the scope: branch, worktree, repository, all",
    run = function(panel)
      panel.scope = format.next_scope(panel.scope)
      M.refresh(panel)
    end,
  },
  { lhs = "q", label = "close", desc = "close the panel (and its preview)", run = close },
  {
    lhs = "?",
    label = "help",
    desc = "show or hide the key help",
    run = function(panel)
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
  local panel = {
    buf = buf,
    root = root,
    scope = scope,
    help = false,
    index = {},
    rows = {},
    sessions = {},
    expanded = {},
  }
  for _, key in ipairs(M.keys) do
    for _, lhs in ipairs(type(key.lhs) == "table" and key.lhs or { key.lhs }) do
      vim.keymap.set("n", lhs, function()
        key.run(panel)
      end, { buffer = buf, nowait = true, silent = true, desc = "Sessions: " .. key.desc })
    end
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
    panel.error = how and how.message
      or string.format("the server stopped (exit code %s); :Sessions restarts it", tostring(how and how.code))
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
