--- Whether the server command can run, and what to tell the user when it
--- cannot: which command and PATH were tried, why it failed, what to do.
--- Used before a client starts, when one exits at once, and by :checkhealth.
local M = {}

--- How to install the server.
M.install = "pipx install session-sidecar"

--- An example `cmd` for a server installed in a virtualenv.
M.cmd_example = 'cmd = { "/path/to/venv/bin/python", "-m", "sidecar", "serve" }'

--- What to do, for every message: install, or point `cmd` at a working server.
--- @return string
function M.advice()
  return string.format(
    "Install the server (%s) and restart Neovim, or set %s in setup(). :checkhealth session_sidecar shows more.",
    M.install,
    M.cmd_example
  )
end

--- The interpreter of a `{ python, "-m", "sidecar", ... }` command, else nil.
--- @param cmd string[]
--- @return string|nil
function M.module_interpreter(cmd)
  if cmd[2] == "-m" and cmd[3] == "sidecar" then
    return cmd[1]
  end
  return nil
end

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

--- The last non-empty line of a program's error output (a traceback's last
--- line says what is wrong).
--- @param text string|nil
--- @return string
function M.last_line(text)
  local lines = vim.tbl_filter(function(l)
    return vim.trim(l) ~= ""
  end, vim.split(text or "", "\n", { plain = true }))
  return vim.trim(lines[#lines] or "")
end

--- @class session_sidecar.ServerProblem
--- @field summary string what is wrong, naming the command
--- @field details string[] what was tried (the PATH searched, the output)

--- Why `cmd` cannot start the server, or nil when it looks startable: its
--- program must be executable and, for `python -m sidecar`, that Python must
--- have the `sidecar` module (checked by running it, with `env` and in `cwd`
--- as the server would run). `is_default` says the plugin chose the command
--- (no `cmd` in setup()), so the message names both commands it tried.
--- @param cmd string[]
--- @param opts { env: table|nil, cwd: string|nil, is_default: boolean|nil }|nil
--- @return session_sidecar.ServerProblem|nil
function M.problem(cmd, opts)
  opts = opts or {}
  local path = "PATH searched: " .. (vim.env.PATH or "(PATH is not set)")
  local program = cmd[1]
  local python = M.module_interpreter(cmd)
  local tried = opts.is_default and python and '"session-sidecar" is not on PATH and ' or ""
  if vim.fn.executable(program) ~= 1 then
    return {
      summary = string.format(
        "cannot start the server: %s%q is not an executable program",
        tried,
        program
      ),
      details = { path },
    }
  end
  if not python then
    return nil
  end
  local found = vim.fn.exepath(program)
  local ok, res = pcall(function()
    return vim.system({
      python,
      "-c",
      "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('sidecar') else 3)",
    }, { text = true, env = opts.env, cwd = opts.cwd, timeout = 10000 }):wait()
  end)
  if not ok then
    return {
      summary = string.format("cannot start the server: %s (%s) does not run: %s", program, found, tostring(res)),
      details = { path },
    }
  end
  if res.code == 3 then
    return {
      summary = string.format(
        'cannot start the server: %s%s (%s) has no module "sidecar"',
        tried,
        program,
        found
      ),
      details = { "command: " .. table.concat(cmd, " "), path },
    }
  end
  if res.code ~= 0 then
    return {
      summary = string.format(
        "cannot start the server: %s (%s) failed (exit %s): %s",
        program,
        found,
        tostring(res.code),
        M.last_line(res.stderr)
      ),
      details = { "command: " .. table.concat(cmd, " "), path },
    }
  end
  return nil
end

--- The message for a problem: the summary, what was tried, what to do.
--- @param problem session_sidecar.ServerProblem
--- @return string
function M.message(problem)
  local lines = { problem.summary }
  vim.list_extend(lines, problem.details or {})
  table.insert(lines, M.advice())
  return table.concat(lines, "\n")
end

--- Say why the server started by `cmd` exited before it answered
--- `initialize`: run its version command (with `env`) and call
--- `done(message)` on the main loop with what it printed.
--- @param cmd string[]
--- @param code integer the server's exit code
--- @param env table|nil
--- @param done fun(message: string)
function M.explain_exit(cmd, code, env, done)
  local version = M.version_cmd(cmd)
  local function finish(said)
    local lines = {
      string.format(
        "the server exited at once (exit code %s): %s (%s)",
        tostring(code),
        table.concat(cmd, " "),
        vim.fn.exepath(cmd[1]) ~= "" and vim.fn.exepath(cmd[1]) or "not found"
      ),
    }
    if said ~= "" then
      table.insert(lines, table.concat(version, " ") .. " says: " .. said)
    end
    table.insert(lines, "PATH searched: " .. (vim.env.PATH or "(PATH is not set)"))
    table.insert(
      lines,
      string.format(
        "Reinstall the server (%s --force) and restart Neovim, or set %s in setup(). :LspLog has the server's output.",
        M.install,
        M.cmd_example
      )
    )
    done(table.concat(lines, "\n"))
  end
  local ok = pcall(vim.system, version, { text = true, env = env, timeout = 10000 }, function(res)
    local said = M.last_line(res.stderr)
    if said == "" and res.code ~= 0 then
      said = M.last_line(res.stdout)
    end
    vim.schedule(function()
      finish(res.code == 0 and "" or said)
    end)
  end)
  if not ok then
    finish("")
  end
end

return M
