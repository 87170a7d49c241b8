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
eq(out.lines[idx.c]:match("^  %*  s%-c"), "  *  s-c", "active session marked")
eq(out.lines[idx.e]:match("^   %+ s%-e"), "   + s-e", "pinned session marked")
local both = format.session_line(session("p", "main", nil, { pinned = true }), { now = base, active_id = "p", width = 60 })
eq(both:match("^  %*%+ s%-p"), "  *+ s-p", "active and pinned: both marks")
eq(vim.fn.strdisplaywidth(both), vim.fn.strdisplaywidth(out.lines[idx.a]), "marks keep the columns")
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
local keys = {
  { lhs = "<CR>", label = "history" }, { lhs = "p", label = "preview" }, { lhs = "<Tab>", label = "expand" },
  { lhs = "gf", label = "open file" }, { lhs = "/", label = "filter" }, { lhs = "q", label = "close" },
}
local help = format.key_help(keys, 64)
eq(help, {
  "  <CR>  history    p     preview    <Tab> expand",
  "  gf    open file  /     filter     q     close",
  "  <CR> on the drift line: decide (:SessionsDecide)",
}, "key help in columns")
for _, l in ipairs(format.key_help(keys, 40)) do
  eq(vim.fn.strdisplaywidth(l) <= 52, true, "narrow help wraps: " .. l)
end
local with_help = format.panel({}, { scope = "branch", now = base, help = true, keys = keys, width = 64 })
eq(vim.list_slice(with_help.lines, 2, 1 + #help), help, "help shown")
eq(#vim.tbl_filter(function(h) return h.group == "SessionSidecarHelp" end, with_help.highlights), #help, "help dimmed")
eq(vim.tbl_contains(with_help.lines, "  (no sessions in this scope; press s to widen it)"), true, "empty hint")
local with_err = format.panel({}, { scope = "branch", now = base, error = "boom" })
eq(vim.tbl_contains(with_err.lines, "  error: boom"), true, "error line")

-- Filter: by name, branch or last prompt, case insensitive; the header says so.
local named = {
  session("f1", "main", "2025-01-01T01:00:00Z", { name = "Fix Login", lastPrompt = "why" }),
  session("f2", "feature/search", "2025-01-01T01:00:00Z", { name = "search" }),
  session("f3", "main", "2025-01-01T01:00:00Z", { name = "other", lastPrompt = "the LOGIN loop again" }),
}
local ids = function(ss) return vim.tbl_map(function(s) return s.id end, ss) end
eq(ids(format.filter_sessions(named, "login")), { "f1", "f3" }, "filter by name and last prompt")
eq(ids(format.filter_sessions(named, "feature/")), { "f2" }, "filter by branch")
eq(ids(format.filter_sessions(named, "")), { "f1", "f2", "f3" }, "empty filter keeps all")
eq(ids(format.filter_sessions(named, "%")), {}, "filter is plain text")
local filtered = format.panel(named, { scope = "repository", current_branch = "main", now = base, width = 60, filter = "login" })
eq(vim.endswith(filtered.lines[1], "  [filter: login]"), true, "filter in the header: " .. filtered.lines[1])
eq(vim.tbl_count(filtered.index), 2, "only matching sessions listed")
eq(vim.tbl_contains(filtered.lines, "main (2)  (current)"), true, "group counts the matches")
local none = format.panel(named, { scope = "repository", now = base, filter = "zzz" })
eq(vim.tbl_contains(none.lines, '  (no session matches "zzz"; / changes the filter, <Esc> clears it)'), true, "no match says how to clear")

-- Expanded sessions: their latest blocks under their line, dimmed ones dimmed.
local rendered = {
  { kind = "turn", seq = 3, seqs = { 3 }, title = "Prompt", body = "fix the\nlogin" },
  { kind = "tool", seq = 4, seqs = { 4, 5 }, title = "Edit app.py", status = "ok", paths = { "app.py" } },
  { kind = "tool", seq = 6, seqs = { 6, 7 }, title = "Bash pytest -q", status = "failed", exitCode = 1 },
  { kind = "bookkeeping", seq = 8, seqs = { 8, 9 }, title = "switched main → feature, continued", dimmed = true },
}
local ex = format.panel({ session("x", "main", "2025-01-01T01:00:00Z") }, {
  scope = "branch", current_branch = "main", now = base, width = 60, expanded = { x = rendered },
})
local xline = 0
for lnum, id in pairs(ex.index) do
  if id == "x" and not ex.rows[lnum] and (xline == 0 or lnum < xline) then
    xline = lnum
  end
end
eq(ex.lines[xline + 1], "         … 2 earlier events (<CR>: the whole history)", "earlier events counted")
eq(vim.trim(ex.lines[xline + 2]), "Prompt: fix the login" .. string.rep(" ", 60 - 7 - 4 - 2 - #"Prompt: fix the login") .. " #3", "turn row with its text")
eq(ex.lines[xline + 3]:match("^       ✓ Edit app%.py +#4$") ~= nil, true, "ok row: " .. ex.lines[xline + 3])
eq(ex.lines[xline + 4]:match("^       ✗ Bash pytest %-q · exit 1 +#6$") ~= nil, true, "failed row: " .. ex.lines[xline + 4])
eq(ex.lines[xline + 5]:match("^       · switched main → feature, continued +#8$") ~= nil, true, "dimmed row: " .. ex.lines[xline + 5])
eq(ex.rows[xline + 3].block.paths, { "app.py" }, "a row knows its block")
eq(ex.rows[xline + 3].id, "x", "a row knows its session")
eq(ex.index[xline + 5], "x", "rows act on their session")
local groups_of = {}
for _, h in ipairs(ex.highlights) do
  groups_of[h.lnum] = h.group
end
eq(groups_of[xline + 5], "SessionSidecarDimmed", "bookkeeping row dimmed")
eq(groups_of[xline + 1], "SessionSidecarDimmed", "earlier-events row dimmed")
eq(groups_of[xline + 4], "SessionSidecarFailed", "failed mark highlighted")
eq(groups_of[xline + 2], nil, "a turn row is not dimmed")
for i = 1, 5 do
  eq(vim.fn.strdisplaywidth(ex.lines[xline + i]) <= 60, true, "row fits: " .. ex.lines[xline + i])
end
local loading = format.panel({ session("x", "main", nil) }, { scope = "branch", now = base, expanded = { x = false } })
eq(vim.tbl_contains(loading.lines, "         loading…"), true, "loading row")
local many = {}
for i = 1, 12 do
  table.insert(many, { kind = "note", seq = i, seqs = { i }, title = "n" .. i })
end
local capped = format.panel({ session("x", "main", nil) }, { scope = "branch", now = base, expanded = { x = many } })
eq(vim.tbl_count(capped.rows), format.expanded_rows, "at most expanded_rows rows")
eq(vim.tbl_contains(capped.lines, "         … 4 earlier events (<CR>: the whole history)"), true, "cut rows counted")

-- HEAD's branch and the session's, when they differ.
eq(format.branch_label("main", "main"), "main", "same branch once")
eq(format.branch_label("main", "feature"), "main ≠ session: feature", "both branches")
local other = format.panel({}, { scope = "branch", current_branch = "main", session_branch = "feature", now = base })
eq(other.lines[1], "Sessions  [scope: branch]  branch: main ≠ session: feature", "header shows both branches")

-- Truncation keeps display width.
eq(format.truncate("abcdef", 4), "abc…", "truncate")
eq(format.truncate("abc", 4), "abc", "no truncate")
eq(vim.fn.strdisplaywidth(format.truncate("日本語のセッション名", 7)) <= 7, true, "truncate wide chars")
eq(format.session_label({ id = "0123456789abcdef", name = "" }), "session 89abcdef", "label from id")

-- Statusline.
eq(format.statusline(nil), "", "statusline without state")
eq(format.statusline({ branch = "main" }), "main · no session", "statusline before any session")
eq(format.statusline({ branch = "main", session = { id = "x", name = "fix login" } }), "main > fix login", "statusline session")
eq(format.statusline({ branch = "f", session = { id = "x", name = "n" }, drift = true }), "f > n [drift]", "statusline drift")
eq(
  format.statusline({ branch = "main", session = { id = "x", name = "n", boundary = { branch = "feature" } } }),
  "main ≠ session: feature > n",
  "statusline: HEAD's branch, and the session's when it differs"
)
eq(
  format.statusline({ branch = "main", session = { id = "x", name = "n", boundary = { branch = "main" } } }),
  "main > n",
  "statusline: one branch when they agree"
)

-- Decision choices are the server's: shown by their labels (recommended
-- marked), in its order; a native prompt's titles map back to them.
local choices = {
  { key = "fresh", action = "fresh", title = "Start fresh", label = "Start a fresh session on f", recommended = true },
  { key = "resume", action = "resume", sessionId = "S1", title = 'Resume "x"', label = 'Resume "x" on f' },
}
eq(format.choice_item(choices[1]), "Start a fresh session on f (recommended)", "recommended choice marked")
eq(format.choice_item(choices[2]), 'Resume "x" on f', "other choice: its label")
eq(format.choice_item({ title = "Start fresh" }), "Start fresh", "no label: the title")
local items = format.native_items({ { title = 'Resume "x"' }, { title = "Start fresh" }, { title = "Other" } }, { choices = choices })
eq(
  vim.tbl_map(format.choice_item, items),
  { 'Resume "x" on f', "Start a fresh session on f (recommended)", "Other" },
  "native actions keep the prompt's order and show the matching choices' labels"
)
eq(items[1].sessionId, "S1", "a native item is the server's option")
eq(format.native_items({ { title = "Start fresh" } }, nil)[1], { title = "Start fresh" }, "no choices known")
eq(format.decision_question({ question = "You switched.\nResume?", summary = "s" }), "You switched. Resume?", "question")
eq(format.decision_question({ question = "", summary = "Start fresh." }), "Start fresh.", "summary without a question")

-- No session yet: the panel says when one begins and how to resume one.
local bare = format.panel({}, { scope = "branch", current_branch = "main", now = base, width = 40, no_session = true })
local said = table.concat(vim.tbl_map(vim.trim, vim.list_slice(bare.lines, 3, 8)), " ")
eq(said:find("no session yet: one begins with the first prompt or edit", 1, true) ~= nil, true, "no session line: " .. said)
eq(said:find(":SessionsResume", 1, true) ~= nil, true, "no session line names :SessionsResume: " .. said)
for _, line in ipairs(format.no_session_lines(40)) do
  eq(vim.fn.strdisplaywidth(line) <= 40, true, "no session line fits: " .. line)
end
eq(
  vim.iter(format.panel({}, { scope = "branch", current_branch = "main", now = base }).lines):any(function(l)
    return l:find("no session yet", 1, true) ~= nil
  end),
  false,
  "no such line when a session is active"
)

-- The drift line: the whole summary, wrapped to the panel, and how to decide;
-- every one of its lines is marked so <CR> there decides.
local long = "Start a fresh session: the branch changed from main to feature/login-redirect-with-a-long-name, and nothing was done there yet."
local with_drift = format.panel(sessions, { scope = "branch", current_branch = "main", now = base, width = 40, drift = long })
local drift_lines = {}
for lnum in pairs(with_drift.drift) do
  table.insert(drift_lines, with_drift.lines[lnum])
end
table.sort(drift_lines)
eq(#drift_lines >= 3, true, "a long summary takes several lines")
eq(vim.startswith(with_drift.lines[3], "  ! drift: Start a fresh session:"), true, "drift line first: " .. with_drift.lines[3])
local shown = table.concat(vim.tbl_map(function(l) return l:sub(12) end, vim.list_slice(with_drift.lines, 3, 1 + #drift_lines)))
eq((shown:gsub("%s", "")), (long:gsub("%s", "")), "nothing of the summary is cut")
eq(with_drift.lines[2 + #drift_lines], "  ! <CR> or :SessionsDecide to decide", "how to decide")
for lnum in pairs(with_drift.drift) do
  eq(vim.fn.strdisplaywidth(with_drift.lines[lnum]) <= 40, true, "drift line fits: " .. with_drift.lines[lnum])
  eq(with_drift.index[lnum], nil, "a drift line is no session line")
end
eq(next(out.drift), nil, "no drift, no drift lines")

-- Wrapping: words kept whole, an over-long word cut.
eq(format.wrap("aa bb cc dd", 8), { "aa bb cc", "dd" }, "wrap at spaces")
eq(format.wrap("abcdefghijkl", 8), { "abcdefgh", "ijkl" }, "wrap a long word")
eq(format.wrap("", 8), { "" }, "wrap nothing")

-- History: a header, then each block's Markdown as the server renders it,
-- a blank line between blocks; every seq of a block maps to its first line.
local blocks = {
  { kind = "turn", seq = 1, seqs = { 1 }, title = "Prompt", markdown = "**You** · Prompt · 2025-01-01 00:00 · #1\n\nfix the login" },
  {
    kind = "tool", seq = 2, seqs = { 2, 3 }, title = "Bash pytest -q", status = "failed", exitCode = 1,
    markdown = "**Bash pytest -q** — ✗ exit 1 · 2025-01-01 00:01 · #2\n\n<details><summary>output</summary>\n\n```text\n1 failed\n```\n\n</details>",
  },
  { kind = "bookkeeping", seq = 4, seqs = { 4, 5 }, title = "switched main → feature, continued", dimmed = true,
    markdown = "_switched main → feature, continued_ · 2025-01-01 00:02 · #4" },
  { kind = "note", seq = 7, seqs = { 7 }, title = "no markdown" },
}
local h = format.history(session("t", "main", "2025-01-01T01:00:00Z", { name = "fix login" }), blocks, {
  checkpoints = { { id = "c1", name = "before", seq = 1 } },
})
eq(h.lines[1], "# fix login", "history title")
eq(vim.tbl_contains(h.lines, "- checkpoint `before` at #1"), true, "checkpoint listed")
local first_block = h.lines_by_seq[1]
eq(h.lines[first_block], "**You** · Prompt · 2025-01-01 00:00 · #1", "turn block starts at its line")
eq(h.lines[first_block - 1], "", "blank line before the first block")
eq(h.lines[first_block + 2], "fix the login", "turn body")
eq(h.lines[h.lines_by_seq[2]], "**Bash pytest -q** — ✗ exit 1 · 2025-01-01 00:01 · #2", "failed tool line")
eq(h.lines_by_seq[3], h.lines_by_seq[2], "a tool result maps to its call's block")
eq(h.lines[h.lines_by_seq[2] - 1], "", "blank line between blocks")
eq(h.lines[h.lines_by_seq[5]], "_switched main → feature, continued_ · 2025-01-01 00:02 · #4", "bookkeeping is one line")
eq(h.lines[h.lines_by_seq[7]], "**no markdown** · #7", "a block without markdown shows its title")
eq(format.line_of_seq(h.lines_by_seq, 6), h.lines_by_seq[5], "a seq between blocks goes to the block before")
eq(format.line_of_seq(h.lines_by_seq, 0), nil, "a seq before every block has no line")
for _, l in ipairs(h.lines) do
  eq(l:find("\n") == nil, true, "no line holds a new line")
end
eq(vim.tbl_contains(format.history(session("u", "m", nil), {}).lines, "_No events yet._"), true, "empty history")
local cut = format.history(session("u", "m", nil), blocks, { cut = 5000 }).lines
eq(cut[#cut]:find("first 5000 events", 1, true) ~= nil, true, "a cut history says so")

-- Buffer names: the session's name and the random end of its id.
eq(format.history_name({ id = "01jabcdefghjkmnpqrstvwxyz0", name = "fix login" }), "sidecar://history/fix login (stvwxyz0)", "history buffer name")

-- Search hits as picker lines: name, kind, snippet on one line, age.
eq(
  format.search_item({ sessionId = "S", sessionName = "fix login", seq = 3, kind = "prompt",
    time = "2025-01-01T00:00:00Z", snippet = "please fix the [login]\nredirect" }, base + 300),
  "fix login · prompt · please fix the [login] redirect · 5m ago",
  "search item"
)
eq(format.one_line("  a\n\tb  "), "a b", "one line")

if failures > 0 then
  io.stderr:write(string.format("%d check(s) failed\n", failures))
  os.exit(1)
end
print("format_test: all checks passed")
