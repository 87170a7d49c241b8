--- :checkhealth session_sidecar
local M = {}

--- The command that prints the server's version (see server.version_cmd).
M.version_cmd = require("session_sidecar.server").version_cmd

--- Run the checks and report through vim.health.
function M.check()
  local health = vim.health
  local config = require("session_sidecar.config")
  local client = require("session_sidecar.client")
  local state = require("session_sidecar.state")
  local o = config.options
  local cmd = o.cmd or config.default_cmd()

  health.start("session_sidecar: Neovim")
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.11 or newer is needed", { "Upgrade Neovim." })
  end
  if not package.loaded["session_sidecar"] or not require("session_sidecar").did_setup then
    health.warn('setup() has not been called', { 'Add require("session_sidecar").setup({}) to your config.' })
  end
  local help = require("session_sidecar.helptags")
  local tags = help.where
  if tags then
    health.ok("help tags: " .. tags .. "/doc/tags")
  else
    health.warn("no help tags: the help of this plugin cannot be found", {
      "setup() makes them when the plugin's doc/tags is missing or old; call setup(), or run :helptags on the plugin's doc folder.",
    })
  end

  local picker = (o.search or {}).picker or "auto"
  local has_telescope = require("session_sidecar.telescope").available()
  if picker == "telescope" and not has_telescope then
    health.warn('search.picker is "telescope" but Telescope is not installed: :SessionsSearch uses vim.ui.select')
  else
    health.info(
      string.format(
        ":SessionsSearch picker: %s (%s)",
        require("session_sidecar.search").picker_for(),
        picker == "auto" and ("auto, Telescope " .. (has_telescope and "found" or "not found")) or "from setup"
      )
    )
  end

  health.start("session_sidecar: server")
  local server = require("session_sidecar.server")
  health.info("command: " .. table.concat(cmd, " ") .. (config.cmd_is_default and " (the default)" or " (from setup)"))
  local problem = server.problem(cmd, { env = o.cmd_env, cwd = vim.fn.getcwd(), is_default = config.cmd_is_default })
  if problem then
    local advice = vim.deepcopy(problem.details)
    table.insert(advice, "Install the server: " .. server.install .. " (or pip install session-sidecar into a virtualenv).")
    table.insert(advice, "Or point setup({ " .. server.cmd_example .. " }) at a Python that has it.")
    health.error(problem.summary, advice)
    return
  end
  health.ok(string.format("%q found at %s", cmd[1], vim.fn.exepath(cmd[1])))
  local version = M.version_cmd(cmd)
  local ok, res = pcall(function()
    return vim.system(version, { text = true, env = o.cmd_env, timeout = 10000 }):wait()
  end)
  if ok and res.code == 0 and (res.stdout or "") ~= "" then
    health.ok("server version: " .. vim.trim(res.stdout))
  else
    local advice = { "Run that command in a shell to see why; an old or broken install is the usual cause." }
    local detail = ok and server.last_line(res.stderr) or tostring(res)
    if detail ~= "" then
      table.insert(advice, 1, detail)
    end
    table.insert(advice, "Reinstall it: " .. server.install .. " --force")
    health.error("the server does not run: " .. table.concat(version, " ") .. " failed", advice)
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
            s and require("session_sidecar.format").session_label(s)
              or "none yet (one begins with the first prompt or edit)"
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
