--- :SessionsHistory: a read-only Markdown transcript of one session.
local client = require("session_sidecar.client")
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- Most events fetched for one transcript; older ones are elided with a note.
M.max_events = 5000

--- @type table<string, { buf: integer, root: string, generation: integer }>
M.views = {}

local function page_size()
  return 500
end

--- Fetch every event of `session_id` page by page, then call `done(err, events)`.
local function fetch_events(root, session_id, done)
  local events = {}
  local function page(after)
    client.request(
      root,
      "sidecar/sessions/events",
      { sessionId = session_id, afterSeq = after, limit = page_size() },
      function(err, res)
        if err then
          done(err, events)
          return
        end
        vim.list_extend(events, (res and res.items) or {})
        local next_after = res and res.nextAfterSeq
        if type(next_after) == "number" and next_after > after and #events < M.max_events then
          page(next_after)
        else
          done(nil, events)
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

--- Re-read the session and its events into the transcript buffer.
--- @param session_id string
--- @param done fun()|nil
function M.refresh(session_id, done)
  local view = M.views[session_id]
  if not view or not vim.api.nvim_buf_is_valid(view.buf) then
    return
  end
  view.generation = view.generation + 1
  local generation = view.generation
  client.request(view.root, "sidecar/sessions/show", { sessionId = session_id }, function(err, shown)
    if generation ~= view.generation or not vim.api.nvim_buf_is_valid(view.buf) then
      return
    end
    if err or not shown or not shown.session then
      set_lines(view.buf, { "# Session " .. session_id, "", "Error: " .. ((err and err.message) or "no session") })
      if done then
        done()
      end
      return
    end
    fetch_events(view.root, session_id, function(eerr, events)
      if generation ~= view.generation or not vim.api.nvim_buf_is_valid(view.buf) then
        return
      end
      local lines = format.transcript(shown.session, events, { checkpoints = shown.checkpoints })
      if eerr then
        table.insert(lines, "Error while reading events: " .. (eerr.message or vim.inspect(eerr)))
      end
      set_lines(view.buf, lines)
      if done then
        done()
      end
    end)
  end)
end

--- Open the transcript of `session_id` (default: the workspace's active
--- session) in the current window's place, or focus it if shown.
--- @param root string
--- @param session_id string|nil
--- @return integer|nil buf
function M.open(root, session_id)
  if not session_id or session_id == "" then
    local st = state.get(root)
    session_id = st.session and st.session.id or nil
  end
  if not session_id then
    client.notify("no active session; give an id: :SessionsHistory <id>", vim.log.levels.WARN)
    return nil
  end
  local view = M.views[session_id]
  if not view or not vim.api.nvim_buf_is_valid(view.buf) then
    local buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, "sidecar://history/" .. session_id)
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].swapfile = false
    vim.b[buf].session_sidecar_root = root
    vim.b[buf].session_sidecar_session = session_id
    vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, silent = true, desc = "close" })
    view = { buf = buf, root = root, generation = 0 }
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
  end
  local win = vim.fn.bufwinid(view.buf)
  if win ~= -1 then
    vim.api.nvim_set_current_win(win)
  elseif vim.bo.filetype == "sessionsidecar" then
    -- From the panel: keep the panel, show the transcript beside it.
    vim.cmd("wincmd l")
    if vim.bo.filetype == "sessionsidecar" then
      vim.cmd("vsplit")
    end
    vim.api.nvim_win_set_buf(0, view.buf)
  else
    vim.cmd("split")
    vim.api.nvim_win_set_buf(0, view.buf)
  end
  M.refresh(session_id)
  return view.buf
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
