--- :checkhealth session_sidecar
local M = {}

--- The command that prints the server's version: `serve` swapped for
--- `--version` in the configured server command.
--- @param cmd string[]
--- @return string[]
function M.version_cmd(cmd)
  local out = {}
  for _, part in ipairs(cmd) do
    if part == "serve" then
      break
    end
    table.insert(out, part)
  end
  table.insert(out, "--version")
  return out
end

--- Run the checks and report through vim.health.
function M.check()
  local health = vim.health
  local config = require("session_sidecar.config")
  local client = require("session_sidecar.client")
  local state = require("session_sidecar.state")
  local o = config.options

  health.start("session_sidecar: Neovim")
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.11 or newer is needed", { "Upgrade Neovim." })
  end
  if not package.loaded["session_sidecar"] or not require("session_sidecar").did_setup then
    health.warn('setup() has not been called', { 'Add require("session_sidecar").setup({}) to your config.' })
  end

  health.start("session_sidecar: server")
  health.info("command: " .. table.concat(o.cmd, " "))
  if vim.fn.executable(o.cmd[1]) ~= 1 then
    health.error(string.format("%q is not executable", o.cmd[1]), {
      "Install the server: pipx install session-sidecar (or pip install into a venv).",
      'Or point setup({ cmd = { "/path/to/python", "-m", "sidecar", "serve" } }) at it.',
    })
    return
  end
  health.ok(string.format("%q found at %s", o.cmd[1], vim.fn.exepath(o.cmd[1])))
  local ok, res = pcall(function()
    return vim.system(M.version_cmd(o.cmd), { text = true, env = o.cmd_env }):wait(10000)
  end)
  if ok and res.code == 0 and (res.stdout or "") ~= "" then
    health.ok("server version: " .. vim.trim(res.stdout))
  else
    local advice = { "Run that command in a shell to see why; an old or broken install is the usual cause." }
    local detail = ok and vim.trim(res.stderr or "") or tostring(res)
    if detail ~= "" then
      -- The last line of a traceback says what is wrong.
      local last = vim.split(detail, "\n", { plain = true })
      table.insert(advice, last[#last])
    end
    health.warn("could not read the server version from " .. table.concat(M.version_cmd(o.cmd), " "), advice)
  end

  health.start("session_sidecar: workspaces")
  local any = false
  for root, st in pairs(state.roots) do
    if client.get(root) then
      any = true
      local status, err = client.request_sync(root, "sidecar/status", {}, 5000)
      if err or type(status) ~= "table" then
        health.error(root .. ": sidecar/status failed: " .. ((err and err.message) or "no answer"), {
          "Look at :LspLog for the server's stderr.",
        })
      else
        health.ok(string.format("%s: server %s running", root, tostring(status.version)))
        health.info("database: " .. tostring(status.dbPath))
        local db_dir = vim.fs.dirname(tostring(status.dbPath))
        if vim.fn.filewritable(db_dir) ~= 2 then
          health.error("database folder is not writable: " .. db_dir, {
            "Fix its permissions, or set SIDECAR_DB / setup({ db_path = ... }) to a writable file.",
          })
        end
        local mode = status.watcherMode
        if mode == "native" or mode == "editor" then
          health.ok("watcher mode: " .. mode)
        else
          health.warn("watcher mode: " .. tostring(mode), {
            "Branch switches are not noticed; check the inotify limit (fs.inotify.max_user_watches).",
          })
        end
        local b = type(status.boundary) == "table" and status.boundary or {}
        local s = type(status.activeSession) == "table" and status.activeSession or nil
        health.info(
          string.format(
            "branch: %s, active session: %s",
            tostring(b.branch),
            s and require("session_sidecar.format").session_label(s) or "none"
          )
        )
      end
    end
  end
  if not any then
    local db = o.db_path or vim.env.SIDECAR_DB
    health.info("database: " .. (db or "the server's default (its user data folder)"))
    health.warn("no sidecar client is running", {
      "Open a file inside a git repository, or run :Sessions there.",
    })
  end
end

return M
