--- :SessionsSearch: full-text search over the repository's session history
--- (`sidecar/sessions/search`), through vim.ui.select or the quickfix list.
local client = require("session_sidecar.client")
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
local function to_quickfix(root, query, hits)
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

--- Search the sessions of `root`'s repository for `query` (asked with
--- vim.ui.input when empty) and offer the hits: in a picker, or with
--- `opts.quickfix` in the quickfix list.
--- @param root string
--- @param query string|nil
--- @param opts { quickfix: boolean|nil }|nil
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
      if opts.quickfix then
        to_quickfix(root, query, hits)
      else
        pick(root, query, hits)
      end
    end
  )
end

return M
