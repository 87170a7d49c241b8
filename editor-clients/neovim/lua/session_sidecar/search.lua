--- :SessionsSearch: full-text search over the repository's session history
--- (`sidecar/sessions/search`), through Telescope (when installed),
--- vim.ui.select or the quickfix list.
local client = require("session_sidecar.client")
local config = require("session_sidecar.config")
local format = require("session_sidecar.format")
local history = require("session_sidecar.history")

local M = {}

--- The `kind` passed to vim.ui.select for search hits.
M.kind = "session_sidecar.search"

--- Hits asked for per search.
M.limit = 100

--- The quickfix list's title for `query`.
--- @param query string
--- @return string
function M.title(query)
  return "Session Sidecar search: " .. query
end

--- Offer `hits` with vim.ui.select; the chosen one opens its session's
--- history at its block.
local function pick(root, query, hits)
  local now = os.time()
  vim.ui.select(hits, {
    prompt = string.format('Sessions matching "%s"', query),
    kind = M.kind,
    format_item = function(hit)
      return format.search_item(hit, now)
    end,
  }, function(hit)
    if hit then
      history.open(root, hit.sessionId, { seq = hit.seq })
    end
  end)
end

--- Fill the quickfix list with `hits`: one entry per hit, in the history
--- buffer of its session (loaded first, so each entry has a buffer and the
--- line of the hit's block), the snippet as its text; then open the list.
--- @param root string
--- @param query string
--- @param hits table[] SearchHit items
function M.to_quickfix(root, query, hits)
  local sessions, order = {}, {}
  for _, hit in ipairs(hits) do
    if not sessions[hit.sessionId] then
      sessions[hit.sessionId] = false
      table.insert(order, hit.sessionId)
    end
  end
  local waiting = #order
  local function fill()
    local items = {}
    for _, hit in ipairs(hits) do
      local buf = sessions[hit.sessionId]
      table.insert(items, {
        bufnr = buf,
        lnum = history.line_of_seq(hit.sessionId, hit.seq) or 1,
        col = 1,
        text = format.one_line(hit.snippet),
      })
    end
    vim.fn.setqflist({}, " ", { title = M.title(query), items = items })
    vim.cmd("botright copen")
  end
  for _, id in ipairs(order) do
    history.load(root, id, function(buf)
      sessions[id] = buf
      waiting = waiting - 1
      if waiting == 0 then
        fill()
      end
    end)
  end
end

--- How hits are shown: "telescope", "select" or "quickfix". `opts.quickfix`
--- (the command's `!`) wins, then `opts.picker`, then the `search.picker`
--- option; "auto" is Telescope when `require("telescope")` succeeds, else
--- vim.ui.select. Asking for Telescope without it warns and uses vim.ui.select.
--- @param opts { quickfix: boolean|nil, picker: string|nil }|nil
--- @return "telescope"|"select"|"quickfix"
function M.picker_for(opts)
  opts = opts or {}
  if opts.quickfix then
    return "quickfix"
  end
  local choice = opts.picker or (config.options.search or {}).picker or "auto"
  if choice == "auto" then
    return require("session_sidecar.telescope").available() and "telescope" or "select"
  end
  if choice == "telescope" and not require("session_sidecar.telescope").available() then
    client.notify("search.picker is telescope but Telescope is not installed: using vim.ui.select", vim.log.levels.WARN)
    return "select"
  end
  if choice == "quickfix" or choice == "telescope" then
    return choice
  end
  return "select"
end

--- Search the sessions of `root`'s repository for `query` (asked with
--- vim.ui.input when empty) and offer the hits as M.picker_for(opts) says:
--- in Telescope, with vim.ui.select, or in the quickfix list.
--- `opts.telescope` is passed on to Telescope's pickers.new (a theme...).
--- @param root string
--- @param query string|nil
--- @param opts { quickfix: boolean|nil, picker: string|nil, telescope: table|nil }|nil
function M.run(root, query, opts)
  opts = opts or {}
  if not query or vim.trim(query) == "" then
    vim.ui.input({ prompt = "Search sessions: " }, function(input)
      if input and vim.trim(input) ~= "" then
        M.run(root, input, opts)
      end
    end)
    return
  end
  query = vim.trim(query)
  client.request(
    root,
    "sidecar/sessions/search",
    { query = query, scope = "repository", limit = M.limit },
    function(err, res)
      if err then
        client.notify("search failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
        return
      end
      local hits = (res and res.items) or {}
      if #hits == 0 then
        client.notify(string.format('no event in this repository\'s sessions matches "%s"', query))
        return
      end
      local how = M.picker_for(opts)
      if how == "quickfix" then
        M.to_quickfix(root, query, hits)
      elseif how == "telescope" then
        require("session_sidecar.telescope").pick(root, query, hits, opts.telescope)
      else
        pick(root, query, hits)
      end
    end
  )
end

return M
