--- :SessionsHistory: a read-only Markdown view of one session, made of the
--- server's display blocks (`sidecar/sessions/render`), so it shows what the
--- VS Code view, `sessions show` and the Markdown export show.
local client = require("session_sidecar.client")
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- Most events read for one history; the rest is left out with a note.
M.max_events = 5000

--- Events per `sidecar/sessions/render` page.
M.page_size = 500

--- @class session_sidecar.HistoryView
--- @field buf integer
--- @field root string
--- @field generation integer bumps per refresh, so late answers are dropped
--- @field lines_by_seq table<integer, integer> event seq -> first line of its block
--- @field loaded boolean the buffer shows the server's answer (not "Loading...")
--- @field goto_seq integer|nil put the cursor on this event's block after the next refresh
--- @field pending boolean|nil a refresh is scheduled
--- @field waiters fun()[] M.load callbacks waiting for the first answer (a
--- refresh that supersedes another still runs them)

--- @type table<string, session_sidecar.HistoryView>
M.views = {}

--- Read every display block of `session_id` page by page (as Markdown), then
--- call `done(err, blocks, cut)`; `cut` is the number of events read when
--- the session has more than `M.max_events`.
local function fetch_blocks(root, session_id, done)
  local blocks, events = {}, 0
  local function page(after)
    client.request(
      root,
      "sidecar/sessions/render",
      { sessionId = session_id, afterSeq = after, limit = M.page_size, markdown = true },
      function(err, res)
        if err then
          done(err, blocks, nil)
          return
        end
        for _, block in ipairs((res and res.items) or {}) do
          table.insert(blocks, block)
          events = events + #(block.seqs or { block.seq })
        end
        local next_after = res and res.nextAfterSeq
        if type(next_after) ~= "number" or next_after <= after then
          done(nil, blocks, nil)
        elseif events >= M.max_events then
          done(nil, blocks, events)
        else
          page(next_after)
        end
      end
    )
  end
  page(0)
end

local function set_lines(buf, lines)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

--- The buffer named exactly `name` (bufnr() would read it as a pattern).
local function buf_named(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b) == name then
      return b
    end
  end
  return nil
end

--- Name the buffer after the session (again after a rename), unless another
--- buffer has that name.
local function rename(buf, session)
  local name = format.history_name(session)
  local old = vim.api.nvim_buf_get_name(buf)
  if old == name or buf_named(name) or not pcall(vim.api.nvim_buf_set_name, buf, name) then
    return
  end
  -- Renaming a shown buffer leaves its old name behind as an empty alternate buffer.
  local stale = buf_named(old)
  if stale and stale ~= buf and not vim.api.nvim_buf_is_loaded(stale) then
    pcall(vim.api.nvim_buf_delete, stale, { force = true })
  end
end

--- Put the cursor of `win` on line `lnum`, at the top of the window.
local function cursor_to_top(win, lnum)
  vim.api.nvim_win_set_cursor(win, { lnum, 0 })
  vim.api.nvim_win_call(win, function()
    vim.cmd("normal! zt")
  end)
end

--- Put the cursor of every window showing `view` on the block of `seq`.
local function jump(view, seq)
  local lnum = format.line_of_seq(view.lines_by_seq, seq)
  if not lnum then
    return
  end
  for _, win in ipairs(vim.fn.win_findbuf(view.buf)) do
    cursor_to_top(win, lnum)
  end
end

--- Re-read the session and its blocks into the history buffer.
--- @param session_id string
--- @param done fun()|nil called once the buffer shows the answer
function M.refresh(session_id, done)
  local view = M.views[session_id]
  if not view or not vim.api.nvim_buf_is_valid(view.buf) then
    return
  end
  view.generation = view.generation + 1
  local generation = view.generation
  local function current()
    return generation == view.generation and vim.api.nvim_buf_is_valid(view.buf)
  end
  local function finish(lines)
    set_lines(view.buf, lines)
    view.loaded = true
    if view.goto_seq then
      local seq = view.goto_seq
      view.goto_seq = nil
      jump(view, seq)
    end
    if done then
      done()
    end
    local waiters = view.waiters
    view.waiters = {}
    for _, waiter in ipairs(waiters) do
      waiter()
    end
  end
  client.request(view.root, "sidecar/sessions/show", { sessionId = session_id }, function(err, shown)
    if not current() then
      return
    end
    if err or not shown or not shown.session then
      view.lines_by_seq = {}
      finish({ "# Session " .. session_id, "", "Error: " .. ((err and err.message) or "no session") })
      return
    end
    rename(view.buf, shown.session)
    fetch_blocks(view.root, session_id, function(rerr, blocks, cut)
      if not current() then
        return
      end
      local out = format.history(shown.session, blocks, { checkpoints = shown.checkpoints, cut = cut })
      if rerr then
        table.insert(out.lines, "Error while reading the history: " .. (rerr.message or vim.inspect(rerr)))
      end
      view.lines_by_seq = out.lines_by_seq
      finish(out.lines)
    end)
  end)
end

--- The history buffer of `session_id`, created (and filled) if needed, not
--- shown in any window. `done(buf)` runs once it shows the server's answer.
--- @param root string
--- @param session_id string
--- @param done fun(buf: integer)|nil
--- @return integer buf
function M.load(root, session_id, done)
  local view = M.views[session_id]
  if view and vim.api.nvim_buf_is_valid(view.buf) then
    if done then
      if view.loaded then
        done(view.buf)
      else
        -- Its first refresh (or a later one superseding it) is under way.
        table.insert(view.waiters, function()
          done(view.buf)
        end)
      end
    end
    return view.buf
  end
  local buf = vim.api.nvim_create_buf(false, true)
  -- Renamed to the session's name once the server has answered.
  vim.api.nvim_buf_set_name(buf, "sidecar://history/" .. session_id)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.b[buf].session_sidecar_root = root
  vim.b[buf].session_sidecar_session = session_id
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, silent = true, desc = "close" })
  view = { buf = buf, root = root, generation = 0, lines_by_seq = {}, loaded = false, waiters = {} }
  M.views[session_id] = view
  vim.api.nvim_create_autocmd("BufWipeout", {
    buffer = buf,
    once = true,
    callback = function()
      M.views[session_id] = nil
    end,
  })
  set_lines(buf, { "# Session " .. session_id, "", "_Loading..._" })
  vim.bo[buf].filetype = "markdown"
  if done then
    table.insert(view.waiters, function()
      done(buf)
    end)
  end
  M.refresh(session_id)
  return buf
end

--- The line of the block that shows event `seq` in the loaded history of
--- `session_id` (nil before it is loaded).
--- @param session_id string
--- @param seq integer
--- @return integer|nil
function M.line_of_seq(session_id, seq)
  local view = M.views[session_id]
  return view and format.line_of_seq(view.lines_by_seq, seq) or nil
end

--- Put the cursor of `win` (which shows the loaded history of
--- `session_id`) on the block of event `seq`, at the top of the window.
--- @param session_id string
--- @param seq integer
--- @param win integer
function M.show_seq(session_id, seq, win)
  local lnum = M.line_of_seq(session_id, seq)
  if lnum and vim.api.nvim_win_is_valid(win) then
    cursor_to_top(win, lnum)
  end
end

--- Open the history of `session_id` (default: the workspace's active
--- session) in the current window's place, or focus it if shown; with
--- `opts.seq` the cursor goes to the block of that event.
--- @param root string
--- @param session_id string|nil
--- @param opts { seq: integer|nil }|nil
--- @return integer|nil buf
function M.open(root, session_id, opts)
  opts = opts or {}
  if not session_id or session_id == "" then
    local st = state.get(root)
    session_id = st.session and st.session.id or nil
  end
  if not session_id then
    client.notify(
      "no session yet (one begins with the first prompt or edit): give an id, :SessionsHistory <id>,"
        .. " or pick a session in :Sessions",
      vim.log.levels.WARN
    )
    return nil
  end
  local existed = M.views[session_id] ~= nil and vim.api.nvim_buf_is_valid(M.views[session_id].buf)
  local buf = M.load(root, session_id)
  local view = M.views[session_id]
  view.goto_seq = opts.seq
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    vim.api.nvim_set_current_win(win)
  elseif vim.bo.filetype == "sessionsidecar" then
    -- From the panel: keep the panel, show the history beside it.
    vim.cmd("wincmd l")
    if vim.bo.filetype == "sessionsidecar" then
      vim.cmd("vsplit")
    end
    vim.api.nvim_win_set_buf(0, buf)
  else
    vim.cmd("split")
    vim.api.nvim_win_set_buf(0, buf)
  end
  if existed then
    M.refresh(session_id)
  end
  return buf
end

-- Bursts of appends arrive as bursts of notifications: re-read once per burst.
state.on("history", function(_, params)
  local view = params and params.sessionId and M.views[params.sessionId]
  if not view or view.pending then
    return
  end
  view.pending = true
  vim.defer_fn(function()
    view.pending = false
    M.refresh(params.sessionId)
  end, 50)
end)

return M
