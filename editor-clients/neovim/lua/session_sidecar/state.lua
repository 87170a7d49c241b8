--- What the plugin knows per repository root, and a tiny event bus.
---
--- The client module writes here when the server notifies; the panel, the
--- history buffer and the statusline read here and subscribe to changes. Keeping
--- the state in one place avoids modules requiring each other in circles.
local M = {}

--- @class session_sidecar.RootState
--- @field root string
--- @field client_id integer|nil
--- @field status table|nil last `sidecar/status` result
--- @field session table|nil the active session of this workspace
--- @field branch string|nil HEAD's branch in the worktree (never the session's)
--- @field drift table|nil last `sidecar/driftDetected` params not yet settled
--- @field start_error string|nil why the server cannot start (said once; commands retry)

--- @type table<string, session_sidecar.RootState>
M.roots = {}

--- The state of `root`, created on first use.
--- @param root string
--- @return session_sidecar.RootState
function M.get(root)
  local st = M.roots[root]
  if not st then
    st = { root = root }
    M.roots[root] = st
  end
  return st
end

--- The root whose client has id `client_id`, if any.
--- @param client_id integer
--- @return string|nil
function M.root_of_client(client_id)
  for root, st in pairs(M.roots) do
    if st.client_id == client_id then
      return root
    end
  end
  return nil
end

local listeners = {}

--- Call `fn(root, data)` whenever `event` is emitted ("session", "drift",
--- "history", "status", "exit").
--- @param event string
--- @param fn fun(root: string, data: any)
function M.on(event, fn)
  listeners[event] = listeners[event] or {}
  table.insert(listeners[event], fn)
end

--- Tell every listener of `event`; a failing listener is reported, not fatal.
--- @param event string
--- @param root string
--- @param data any
function M.emit(event, root, data)
  for _, fn in ipairs(listeners[event] or {}) do
    local ok, err = pcall(fn, root, data)
    if not ok then
      vim.notify("[session_sidecar] " .. event .. " listener failed: " .. tostring(err), vim.log.levels.ERROR)
    end
  end
end

--- Forget every root (used when the plugin is set up again).
function M.reset()
  M.roots = {}
end

return M
