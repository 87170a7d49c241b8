--- :SessionsSearch in Telescope: the server's hits (`sidecar/sessions/search`)
--- in a picker, best first, with a preview of each hit's session history at
--- its event (the history buffer the plugin renders from the server's display
--- blocks), <CR> opening that history at the hit and <C-q> sending the hits
--- to the quickfix list. Loaded only when Telescope is installed.
local format = require("session_sidecar.format")
local history = require("session_sidecar.history")

local M = {}

--- True when Telescope can be required.
--- @return boolean
function M.available()
  return (pcall(require, "telescope"))
end

--- The picker's entry for one SearchHit: the hit itself as `value`, the line
--- vim.ui.select would show as `display`, and session name, kind and snippet
--- as `ordinal` (what the prompt filters on).
--- @param now number epoch seconds (for the age)
--- @return fun(hit: table): table
function M.entry_maker(now)
  return function(hit)
    return {
      value = hit,
      display = format.search_item(hit, now),
      ordinal = table.concat({ hit.sessionName or "", hit.kind or "", format.one_line(hit.snippet or "") }, " "),
    }
  end
end

local preview_ns = vim.api.nvim_create_namespace("session_sidecar.telescope")

--- Show the loaded history of `hit`'s session in the preview buffer `bufnr`,
--- the hit's block marked and at the top of `winid`.
local function show_history(bufnr, winid, src, hit)
  if not (vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_buf_is_valid(src)) then
    return
  end
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, vim.api.nvim_buf_get_lines(src, 0, -1, false))
  require("telescope.previewers.utils").highlighter(bufnr, "markdown")
  local lnum = history.line_of_seq(hit.sessionId, hit.seq)
  if not lnum then
    return
  end
  vim.api.nvim_buf_clear_namespace(bufnr, preview_ns, 0, -1)
  vim.api.nvim_buf_set_extmark(bufnr, preview_ns, lnum - 1, 0, { line_hl_group = "TelescopePreviewLine" })
  if winid and vim.api.nvim_win_is_valid(winid) and vim.api.nvim_win_get_buf(winid) == bufnr then
    vim.api.nvim_win_set_cursor(winid, { lnum, 0 })
    vim.api.nvim_win_call(winid, function()
      vim.cmd("normal! zt")
    end)
  end
end

--- A buffer previewer showing each hit's session history at its event.
--- @param root string
function M.previewer(root)
  return require("telescope.previewers").new_buffer_previewer({
    title = "Session history",
    define_preview = function(self, entry)
      local hit = entry.value
      local bufnr, winid = self.state.bufnr, self.state.winid
      history.load(root, hit.sessionId, function(src)
        show_history(bufnr, winid, src, hit)
      end)
    end,
  })
end

--- Offer `hits` (the server's answer to `query`, best first) in a Telescope
--- picker. `topts` are the caller's Telescope options (a theme...).
--- @param root string
--- @param query string
--- @param hits table[] SearchHit items
--- @param topts table|nil
function M.pick(root, query, hits, topts)
  topts = topts or {}
  local pickers = require("telescope.pickers")
  local finders = require("telescope.finders")
  local conf = require("telescope.config").values
  local actions = require("telescope.actions")
  local action_state = require("telescope.actions.state")

  --- The hits the picker holds now (narrowed by the prompt, as Telescope's
  --- own send_to_qflist reads them), else all of them.
  local function held(prompt_bufnr)
    local picker = action_state.get_current_picker(prompt_bufnr)
    if not (picker and picker.manager) then
      return hits
    end
    local out = {}
    for entry in picker.manager:iter() do
      table.insert(out, entry.value)
    end
    return out
  end

  pickers
    .new(topts, {
      prompt_title = string.format('Sessions matching "%s"', query),
      results_title = string.format("%d hits", #hits),
      finder = finders.new_table({ results = hits, entry_maker = M.entry_maker(os.time()) }),
      -- The generic sorter keeps the server's order (best first) until the
      -- prompt narrows the hits.
      sorter = conf.generic_sorter(topts),
      previewer = M.previewer(root),
      attach_mappings = function(prompt_bufnr, map)
        actions.select_default:replace(function()
          local entry = action_state.get_selected_entry()
          actions.close(prompt_bufnr)
          if entry and entry.value then
            history.open(root, entry.value.sessionId, { seq = entry.value.seq })
          end
        end)
        local function to_quickfix()
          local chosen = held(prompt_bufnr)
          actions.close(prompt_bufnr)
          if #chosen > 0 then
            require("session_sidecar.search").to_quickfix(root, query, chosen)
          end
        end
        map("i", "<C-q>", to_quickfix)
        map("n", "<C-q>", to_quickfix)
        return true
      end,
    })
    :find()
end

--- `:Telescope session_sidecar search query=...`: search the repository of
--- the current buffer (the query is asked when left out) in Telescope.
--- @param topts table|nil Telescope options; `query` is the search text
function M.search(topts)
  topts = vim.deepcopy(topts or {})
  local query = topts.query
  topts.query = nil
  require("session_sidecar").search(query, { picker = "telescope", telescope = topts })
end

return M
