/**
 * The two sides of a recorded change, for VS Code's diff editor: what a block's
 * unified diff (or `apply_patch` patch) says the text was before and after.
 *
 * An event records the change itself (an edit's old and new strings, a
 * patch), not the whole file at that moment; rebuilding "before" by
 * reverse-applying the diff to today's file would show today's surroundings,
 * which may not have existed then. So each side holds exactly what the diff
 * holds: its context and its removed (left) or added (right) lines, hunks
 * separated by a `⋯` line on both sides. Pure, no VS Code import.
 */

export interface ChangeSides {
  /** The file, as the diff names it (worktree-relative when the server could). */
  path: string;
  before: string;
  after: string;
  /** The file did not exist before (a new file) / after (a deleted file). */
  added: boolean;
  deleted: boolean;
}

const HUNK_GAP = '⋯';

interface Building extends ChangeSides {
  beforeLines: string[];
  afterLines: string[];
  hunks: number;
}

function stripPrefix(name: string): string {
  return name.replace(/^"|"$/g, '').replace(/^[ab]\//, '').replace(/\t.*$/, '');
}

/** Split a unified diff or an `apply_patch` patch into per-file before/after texts. */
export function changeSides(diff: string, fallbackPath = 'change'): ChangeSides[] {
  const files: Building[] = [];
  let current: Building | undefined;
  let pendingOld: string | undefined;

  const start = (path: string, added = false, deleted = false): void => {
    current = { path, before: '', after: '', added, deleted, beforeLines: [], afterLines: [], hunks: 0 };
    files.push(current);
  };
  const ensure = (): Building => {
    if (!current) start(fallbackPath);
    return current as Building;
  };

  const lines = diff.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if (line.startsWith('diff --git ')) {
      current = undefined;
      pendingOld = undefined;
      continue;
    }
    if ((m = /^\*\*\* (Update|Add|Delete) File: (.+)$/.exec(line))) {
      start(m[2].trim(), m[1] === 'Add', m[1] === 'Delete');
      continue;
    }
    if (/^\*\*\* (Begin|End) Patch|^\*\*\* Move to: |^\*\*\* End of File/.test(line)) continue;
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      pendingOld = line.slice(4).trim();
      continue;
    }
    if (line.startsWith('+++ ') && pendingOld !== undefined) {
      const next = line.slice(4).trim();
      const added = pendingOld === '/dev/null';
      const deleted = next === '/dev/null';
      start(stripPrefix(deleted ? pendingOld : next), added, deleted);
      pendingOld = undefined;
      continue;
    }
    if (/^(index |new file mode|deleted file mode|similarity index|rename (from|to) )/.test(line) && !current?.hunks) continue;
    if (line.startsWith('@@')) {
      const file = ensure();
      if (file.hunks > 0) {
        file.beforeLines.push(HUNK_GAP);
        file.afterLines.push(HUNK_GAP);
      }
      file.hunks++;
      continue;
    }
    if (line.startsWith('\\')) continue; // "\ No newline at end of file"
    if (line.startsWith('... ') && / more lines$/.test(line)) continue; // the server's cut
    const file = ensure();
    if (line.startsWith('+')) file.afterLines.push(line.slice(1));
    else if (line.startsWith('-')) file.beforeLines.push(line.slice(1));
    else if (line.startsWith(' ') || line === '') {
      if (line === '' && !file.hunks && !file.beforeLines.length && !file.afterLines.length) continue;
      file.beforeLines.push(line.slice(1));
      file.afterLines.push(line.slice(1));
    }
  }
  return files
    .filter((f) => f.beforeLines.length || f.afterLines.length || f.added || f.deleted)
    .map(({ path, added, deleted, beforeLines, afterLines }) => ({
      path,
      added,
      deleted,
      before: trimTrailingEmpty(beforeLines),
      after: trimTrailingEmpty(afterLines),
    }));
}

function trimTrailingEmpty(lines: string[]): string {
  const out = [...lines];
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.length ? `${out.join('\n')}\n` : '';
}
