--- Options given to setup(), merged over the defaults.
local M = {}

--- The command that starts the server when the user gives none: the
--- installed console script if it is on PATH, else the module through python3.
--- @return string[]
function M.default_cmd()
  if vim.fn.executable("session-sidecar") == 1 then
    return { "session-sidecar", "serve" }
  end
  return { "python3", "-m", "sidecar", "serve" }
end

--- @class session_sidecar.Options
--- @field cmd string[]|nil server command (default: see default_cmd())
--- @field cmd_env table<string,string>|nil extra environment for the server
--- @field prompts "native"|"custom"|"off"|nil how drift is asked about
--- @field db_path string|nil database file (initializationOptions.dbPath)
--- @field stale_hours number|nil idle hours before a session counts as stale
--- @field requester string|nil
--- @field task string|nil
--- @field phase string|nil
--- @field provider string|nil
--- @field scope "branch"|"worktree"|"repository"|"all"|nil the panel's first scope
--- @field autostart boolean|nil start a client when a file inside a git repository opens
--- @field attach_buffers boolean|nil attach file buffers (didOpen/didSave/didClose)
--- @field panel_width integer|nil width of the :Sessions split
--- @field search { picker: "auto"|"telescope"|"select"|"quickfix"|nil }|nil how :SessionsSearch shows its hits

M.defaults = {
  cmd = nil,
  cmd_env = nil,
  prompts = "native",
  db_path = nil,
  stale_hours = nil,
  requester = nil,
  task = nil,
  phase = nil,
  provider = nil,
  scope = "repository",
  autostart = true,
  attach_buffers = true,
  panel_width = 64,
  -- "auto": Telescope when it is installed, else vim.ui.select.
  search = { picker = "auto" },
}

--- The options in effect (set by setup()).
M.options = vim.deepcopy(M.defaults)

--- True when setup() was given no `cmd` and the plugin chose one (see
--- default_cmd()), so errors can name both commands it tried.
M.cmd_is_default = true

local valid_prompts = { native = true, custom = true, off = true }
local valid_scopes = { branch = true, worktree = true, repository = true, all = true }
local valid_pickers = { auto = true, telescope = true, select = true, quickfix = true }

--- Merge `opts` over the defaults and check them; errors name the bad option.
--- @param opts session_sidecar.Options|nil
--- @return session_sidecar.Options
function M.setup(opts)
  opts = opts or {}
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  if opts.cmd ~= nil then
    -- A list must replace the default, not be merged into it index by index.
    merged.cmd = vim.deepcopy(opts.cmd)
  end
  M.cmd_is_default = merged.cmd == nil
  merged.cmd = merged.cmd or M.default_cmd()
  vim.validate("cmd", merged.cmd, "table")
  if not valid_prompts[merged.prompts] then
    error(
      string.format(
        "session_sidecar: prompts must be native, custom or off, got %s",
        vim.inspect(merged.prompts)
      )
    )
  end
  if not valid_scopes[merged.scope] then
    error(
      string.format(
        "session_sidecar: scope must be branch, worktree, repository or all, got %s",
        vim.inspect(merged.scope)
      )
    )
  end
  if type(merged.search) ~= "table" or not valid_pickers[merged.search.picker] then
    error(
      string.format(
        "session_sidecar: search.picker must be auto, telescope, select or quickfix, got %s",
        vim.inspect(type(merged.search) == "table" and merged.search.picker or merged.search)
      )
    )
  end
  M.options = merged
  return merged
end

--- initializationOptions for the server, from the options (unset ones omitted).
--- @param o session_sidecar.Options
--- @return table
function M.init_options(o)
  local init = {
    prompts = o.prompts,
    dbPath = o.db_path,
    staleHours = o.stale_hours,
    requester = o.requester,
    task = o.task,
    phase = o.phase,
    provider = o.provider,
  }
  return init
end

return M
