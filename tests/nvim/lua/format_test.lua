-- Unit checks of the pure formatting module (run with nvim --headless -l).
-- Exits 1 with a message on the first failed check.
local format = require("session_sidecar.format")

local failures = 0
local function eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    failures = failures + 1
    io.stderr:write(
      string.format("FAIL %s\n  expected: %s\n  actual:   %s\n", what, vim.inspect(expected), vim.inspect(actual))
    )
  end
end

local function session(id, branch, last, extra)
  local s = {
    id = id,
    name = "s-" .. id,
    status = "active",
    boundary = { branch = branch, repository = "r", worktree = "/w", requester = "u", machine = "m" },
    createdAt = "2025-01-01T00:00:00+00:00",
    updatedAt = last,
    lastEventAt = last,
    eventCount = 3,
  }
  return vim.tbl_extend("force", s, extra or {})
end

-- Timestamps: Z, offsets, fractions all convert to the same epoch.
local base = 1735689600 -- 2025-01-01T00:00:00Z
eq(format.parse_time("2025-01-01T00:00:00Z"), base, "parse Z")
eq(format.parse_time("2025-01-01T00:00:00+00:00"), base, "parse +00:00")
eq(format.parse_time("2025-01-01T02:00:00+02:00"), base, "parse +02:00")
eq(format.parse_time("2024-12-31T19:00:00-05:00"), base, "parse -05:00")
eq(format.parse_time("2025-01-01T00:00:00.5+00:00"), base + 0.5, "parse fraction")
eq(format.parse_time("2024-02-29T00:00:00Z"), 1709164800, "parse leap day")
eq(format.parse_time("garbage"), nil, "parse garbage")
eq(format.parse_time(nil), nil, "parse nil")

-- Ages.
eq(format.age("2025-01-01T00:00:00Z", base + 2), "now", "age now")
eq(format.age("2025-01-01T00:00:00Z", base + 42), "42s", "age seconds")
eq(format.age("2025-01-01T00:00:00Z", base + 300), "5m", "age minutes")
eq(format.age("2025-01-01T00:00:00Z", base + 3 * 3600 + 5), "3h", "age hours")
eq(format.age("2025-01-01T00:00:00Z", base + 2 * 86400), "2d", "age days")
eq(format.age("2025-01-01T00:00:00Z", base + 21 * 86400), "3w", "age weeks")
eq(format.age(nil, base), "-", "age unknown")

-- Scope cycle.
eq(format.next_scope("branch"), "worktree", "scope branch->worktree")
eq(format.next_scope("worktree"), "repository", "scope worktree->repository")
eq(format.next_scope("repository"), "all", "scope repository->all")
eq(format.next_scope("all"), "branch", "scope all->branch")

-- Grouping: current branch first, then other branches by recent activity;
-- inside a group pinned first, then newest first.
local sessions = {
  session("a", "main", "2025-01-01T01:00:00Z"),
  session("b", "feature", "2025-01-01T05:00:00Z"),
  session("c", "main", "2025-01-01T03:00:00Z"),
  session("d", "old", "2025-01-01T00:30:00Z"),
  session("e", "main", "2025-01-01T00:10:00Z", { pinned = true }),
}
local groups = format.group_by_branch(sessions, "main")
eq(vim.tbl_map(function(g) return g.branch end, groups), { "main", "feature", "old" }, "group order")
eq(vim.tbl_map(function(s) return s.id end, groups[1].sessions), { "e", "c", "a" }, "sessions order")
local groups2 = format.group_by_branch(sessions, "nowhere")
eq(vim.tbl_map(function(g) return g.branch end, groups2), { "feature", "main", "old" }, "group order without current")
eq(format.group_by_branch({}, "main"), {}, "no sessions, no groups")

-- Panel lines: header with scope and branch, group headers, one line per session.
local out = format.panel(sessions, {
  scope = "repository",
  current_branch = "main",
  active_id = "c",
  now = base + 6 * 3600,
  root = "/tmp/proj",
  width = 60,
})
eq(out.lines[1], "Sessions - proj  [scope: repository]  branch: main", "panel header")
eq(out.lines[4], "main (3)  (current)", "current group header")
local idx = {}
for lnum, id in pairs(out.index) do
  idx[id] = lnum
end
eq(out.lines[idx.c]:match("^  %* s%-c"), "  * s-c", "active session marked")
eq(out.lines[idx.e]:match("^  %+ s%-e"), "  + s-e", "pinned session marked")
eq(out.lines[idx.a]:match("active%s+5h%s+3 ev$") ~= nil, true, "status, age, count on line: " .. out.lines[idx.a])
eq(idx.e < idx.c and idx.c < idx.a and idx.a < idx.b and idx.b < idx.d, true, "line order follows groups")
eq(out.lines[idx.b - 1], "feature (1)", "feature group header")
eq(vim.tbl_count(out.index), 5, "every session indexed")
local widths = {}
for id, lnum in pairs(idx) do
  widths[id] = vim.fn.strdisplaywidth(out.lines[lnum])
end
eq(widths.a == widths.b and widths.b == widths.d, true, "columns line up")

-- Help toggles, empty scope hint, error line.
local with_help = format.panel({}, { scope = "branch", now = base, help = true })
eq(vim.list_slice(with_help.lines, 2, 4), format.help_lines, "help shown")
eq(vim.tbl_contains(with_help.lines, "  (no sessions in this scope; press s to widen it)"), true, "empty hint")
local with_err = format.panel({}, { scope = "branch", now = base, error = "boom" })
eq(vim.tbl_contains(with_err.lines, "  error: boom"), true, "error line")

-- Truncation keeps display width.
eq(format.truncate("abcdef", 4), "abc…", "truncate")
eq(format.truncate("abc", 4), "abc", "no truncate")
eq(vim.fn.strdisplaywidth(format.truncate("日本語のセッション名", 7)) <= 7, true, "truncate wide chars")
eq(format.session_label({ id = "0123456789abcdef", name = "" }), "session 89abcdef", "label from id")

-- Statusline.
eq(format.statusline(nil), "", "statusline without state")
eq(format.statusline({ branch = "main" }), "main", "statusline branch only")
eq(format.statusline({ branch = "main", session = { id = "x", name = "fix login" } }), "main > fix login", "statusline session")
eq(format.statusline({ branch = "f", session = { id = "x", name = "n" }, drift = true }), "f > n [drift]", "statusline drift")

-- Prompt titles map to decisions.
eq(format.action_for_title("Start fresh"), { action = "fresh" }, "title fresh")
eq(format.action_for_title('Resume "fix login"'), { action = "resume" }, "title resume")
eq(format.action_for_title("Continue here"), { action = "continue" }, "title continue")
eq(format.action_for_title("Don't ask again for this branch"), { action = "continue", remember = true }, "title remember")
eq(format.action_for_title("whatever"), nil, "title unknown")

-- Custom prompt choices: resume first when recommended, absent without a target.
local titles = function(cs) return vim.tbl_map(function(c) return c.title end, cs) end
eq(
  titles(format.drift_choices({ action = "resume", targetSessionId = "S1" }, "fix login")),
  { 'Resume "fix login"', "Start fresh", "Continue here", "Don't ask again for this branch" },
  "choices for resume"
)
eq(
  titles(format.drift_choices({ action = "fresh" })),
  { "Start fresh", "Continue here", "Don't ask again for this branch" },
  "choices for fresh"
)
eq(format.drift_choices({ action = "resume", targetSessionId = "S1" }, "n")[1].sessionId, "S1", "resume carries id")

-- Transcript: header, event sections, text / summary / JSON payloads.
local tr = format.transcript(session("t", "main", "2025-01-01T01:00:00Z", { name = "fix login" }), {
  { seq = 1, kind = "prompt", actor = "user", time = "2025-01-01T00:00:01Z", payload = { text = "hello\nworld" } },
  { seq = 2, kind = "branch_change", actor = "system", time = "t", payload = { from = "main", to = "feature" } },
  { seq = 3, kind = "tool_call", actor = "agent", time = "t", payload = { name = "grep", n = 1 } },
}, { checkpoints = { { id = "c1", name = "before", seq = 1 } } })
eq(tr[1], "# fix login", "transcript title")
eq(vim.tbl_contains(tr, "## #1 prompt (user) 2025-01-01T00:00:01Z"), true, "event heading")
eq(vim.tbl_contains(tr, "hello") and vim.tbl_contains(tr, "world"), true, "multi-line text")
eq(vim.tbl_contains(tr, "main -> feature"), true, "branch change summary")
eq(vim.tbl_contains(tr, "```json"), true, "json payload block")
eq(vim.tbl_contains(tr, "- checkpoint `before` at #1"), true, "checkpoint listed")
eq(vim.tbl_contains(format.transcript(session("u", "m", nil), {}), "_No events yet._"), true, "empty transcript")

if failures > 0 then
  io.stderr:write(string.format("%d check(s) failed\n", failures))
  os.exit(1)
end
print("format_test: all checks passed")
