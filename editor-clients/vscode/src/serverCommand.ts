/**
 * Which command starts the server. Pure: the caller gathers the facts
 * (setting, PATH lookup, the Python extension's interpreter) and this decides.
 * The server bundled in the extension (bundledServer.ts) comes right after the
 * setting; these lookups serve builds without a bundle (run from sources).
 */

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where it came from, for logs and error messages. */
  source: 'setting' | 'bundled' | 'path' | 'python';
  /** The server's environment, when not the extension host's own. */
  env?: NodeJS.ProcessEnv;
}

export interface ServerFacts {
  /** Raw value of `sessionSidecar.serverCommand`. */
  setting: unknown;
  /** Absolute path of `session-sidecar` on PATH, if any. */
  sidecarOnPath?: string;
  /** Interpreter command reported by the Python extension, e.g. ["/venv/bin/python"]. */
  pythonCommand?: string[];
  /** Whether that interpreter can `import sidecar`. */
  pythonHasSidecar?: boolean;
  /** The PATH folders searched for `session-sidecar` (for the error message). */
  pathDirs?: string[];
  /** Whether the Python extension (ms-python.python) is installed. */
  pythonExtension?: boolean;
}

export type Resolution = { ok: true; server: ServerCommand } | { ok: false; message: string };

/** Split a command line on whitespace, honouring single and double quotes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  // Unquoted runs stop at quotes so a"b c" joins into one word below.
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  let current = '';
  let lastEnd = -1;
  for (const match of line.matchAll(re)) {
    const start = match.index ?? 0;
    const piece = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? match[3]);
    // Adjacent pieces without whitespace between them form one word (a"b c").
    if (start === lastEnd) {
      current += piece;
    } else {
      if (lastEnd !== -1) words.push(current);
      current = piece;
    }
    lastEnd = start + match[0].length;
  }
  if (lastEnd !== -1) words.push(current);
  return words;
}

/** The setting as a word list, or undefined when it is unset or empty. */
export function parseCommandSetting(value: unknown): string[] | undefined {
  if (Array.isArray(value)) {
    const words = value.filter((w): w is string => typeof w === 'string' && w.length > 0);
    return words.length ? words : undefined;
  }
  if (typeof value === 'string' && value.trim()) {
    return splitCommandLine(value.trim());
  }
  return undefined;
}

/** PATH folders named in the message before the rest is counted. */
const SHOWN_DIRS = 4;

/** What to do when no server can be found. */
export const MISSING_SERVER_ADVICE =
  'Install it with "pip install session-sidecar" so "session-sidecar" is on PATH (or into the ' +
  'Python interpreter selected in VS Code), or set "sessionSidecar.serverCommand" to the command ' +
  'that runs "session-sidecar serve", then restart.';

/** The PATH folders in a message: the first few, then how many more. */
export function pathText(dirs: string[]): string {
  if (!dirs.length) return 'PATH is empty';
  const shown = dirs.slice(0, SHOWN_DIRS).join(', ');
  return dirs.length > SHOWN_DIRS ? `PATH: ${shown} and ${dirs.length - SHOWN_DIRS} more` : `PATH: ${shown}`;
}

/**
 * What to tell a user when no server can be found: what was searched (the
 * setting, the PATH folders, the Python extension's interpreter), then what
 * to do.
 */
export function missingServerMessage(facts: ServerFacts): string {
  const python = !facts.pythonExtension
    ? 'the Python extension is not installed'
    : !facts.pythonCommand?.length
      ? 'the Python extension has no interpreter selected'
      : `the selected interpreter ${facts.pythonCommand.join(' ')} cannot import "sidecar"`;
  return (
    'Session Sidecar: no server found. Searched: the setting "sessionSidecar.serverCommand" (empty); ' +
    `"session-sidecar" on the extension host's ${pathText(facts.pathDirs ?? [])}; ${python}. ` +
    MISSING_SERVER_ADVICE
  );
}

/**
 * Decide the server command: the setting when given; else `session-sidecar
 * serve` from PATH; else `<python> -m sidecar serve` when the Python
 * extension's interpreter has the package; else an actionable error.
 */
export function resolveServerCommand(facts: ServerFacts): Resolution {
  const words = parseCommandSetting(facts.setting);
  if (words) {
    return { ok: true, server: { command: words[0], args: words.slice(1), source: 'setting' } };
  }
  if (facts.sidecarOnPath) {
    return { ok: true, server: { command: facts.sidecarOnPath, args: ['serve'], source: 'path' } };
  }
  if (facts.pythonCommand?.length && facts.pythonHasSidecar) {
    const [command, ...rest] = facts.pythonCommand;
    return { ok: true, server: { command, args: [...rest, '-m', 'sidecar', 'serve'], source: 'python' } };
  }
  return { ok: false, message: missingServerMessage(facts) };
}
