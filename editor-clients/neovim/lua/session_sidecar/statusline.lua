--- The statusline component: cheap enough to run on every redraw (it reads
--- cached state only; the root of a buffer is looked up once and remembered).
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- The repository root of `bufnr`, cached in a buffer variable
--- (false when the buffer is outside any repository).
local function cached_root(bufnr)
  local cached = vim.b[bufnr].session_sidecar_root
  if cached ~= nil then
    return cached
  end
  local root = false
  if vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= "" then
    local found = vim.fs.root(bufnr, ".git")
    if found then
      root = vim.uv.fs_realpath(found) or found
    end
  end
  vim.b[bufnr].session_sidecar_root = root
  return root
end

--- `branch > session name [drift]` for the current buffer's repository, or
--- "" when the sidecar does not run there.
--- @param opts { bufnr: integer|nil, max_name: integer|nil }|nil
--- @return string
function M.get(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local root = cached_root(bufnr)
  if not root then
    return ""
  end
  local st = state.roots[root]
  if not st or not st.client_id then
    return ""
  end
  return format.statusline({ branch = st.branch, session = st.session, drift = st.drift ~= nil }, opts)
end

return M
