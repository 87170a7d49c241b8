/**
 * The server shipped inside the extension: `bundled/wheels` holds the server's
 * wheel and its dependencies for one platform and several CPython minors
 * (written by scripts/bundle-server.sh, described by `bundled/manifest.json`).
 * On first start they are installed into a private environment in the
 * extension's global storage with the user's Python 3.11+.
 *
 * Pure: what a manifest says, which interpreters to try, how a probe reads,
 * where the environment's files are, whether to (re)install, and the messages.
 * The I/O is in serverDiscovery.ts and bundledInstall.ts.
 */
import * as path from 'node:path';

/** `bundled/manifest.json`. */
export interface BundleManifest {
  /** Changes whenever any bundled wheel changes. */
  bundleId: string;
  serverVersion: string;
  serverWheel: string;
  /** pip's own wheel, run from the wheel file to install the rest. */
  pipWheel: string;
  /** `process.platform-process.arch` the wheels are for, e.g. `linux-x64`. */
  target: string;
  /** CPython minors with a complete set of wheels, e.g. ["3.11", "3.12"]. */
  pythons: string[];
}

/** The oldest Python the server runs on. */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** Printed by an interpreter asked for its version and executable (two lines). */
export const PROBE_CODE = "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)";

/** The manifest, or undefined when the text is not a complete one. */
export function parseManifest(text: string): BundleManifest | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  const strings = ['bundleId', 'serverVersion', 'serverWheel', 'pipWheel', 'target'] as const;
  if (!strings.every((key) => typeof m[key] === 'string' && m[key])) return undefined;
  if (!Array.isArray(m.pythons) || !m.pythons.every((p) => typeof p === 'string')) return undefined;
  return {
    bundleId: m.bundleId as string,
    serverVersion: m.serverVersion as string,
    serverWheel: m.serverWheel as string,
    pipWheel: m.pipWheel as string,
    target: m.target as string,
    pythons: m.pythons as string[],
  };
}

/** An interpreter worth trying, in the order tried. */
export interface PythonCandidate {
  /** How the user knows it, for messages: `the Python extension's interpreter`, `python3 on PATH`. */
  label: string;
  /** A command (the Python extension's) or a name to look up on PATH. */
  command?: string[];
  onPath?: string;
}

/**
 * What to try: the Python extension's selected interpreter when it is
 * installed, then `python3` and `python` on PATH (`py -3` first on Windows).
 */
export function pythonCandidates(platform: NodeJS.Platform, pythonExtension?: string[]): PythonCandidate[] {
  const candidates: PythonCandidate[] = [];
  if (pythonExtension?.length) {
    candidates.push({ label: "the Python extension's interpreter", command: pythonExtension });
  }
  const names = platform === 'win32' ? ['py', 'python', 'python3'] : ['python3', 'python'];
  for (const name of names) candidates.push({ label: `${name} on PATH`, onPath: name });
  return candidates;
}

/** Extra arguments a PATH name needs before `-c` (the Windows launcher picks Python 3). */
export function launcherArgs(name: string | undefined): string[] {
  return name === 'py' ? ['-3'] : [];
}

/** What trying one candidate found. */
export interface ProbeResult {
  candidate: PythonCandidate;
  /** The command run (absolute path for PATH names); absent when not on PATH. */
  command?: string[];
  version?: [number, number, number];
  /** `sys.executable` of that interpreter. */
  executable?: string;
  /** Why it could not be asked (exit code, timeout, output not understood). */
  error?: string;
}

/** Version and executable from the probe's output, or undefined. */
export function parseProbe(stdout: string): { version: [number, number, number]; executable: string } | undefined {
  const [first, second] = stdout.trim().split(/\r?\n/);
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(first?.trim() ?? '');
  const executable = second?.trim();
  if (!match || !executable) return undefined;
  return { version: [Number(match[1]), Number(match[2]), Number(match[3])], executable };
}

/** `3.11` from [3, 11, 7]. */
export function minorOf(version: readonly number[]): string {
  return `${version[0]}.${version[1]}`;
}

/** Whether the bundle has wheels for that interpreter (3.11+ and one of the bundled minors). */
export function fitsBundle(version: readonly number[], manifest: BundleManifest): boolean {
  const [major, minor] = version;
  const recent = major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
  return recent && manifest.pythons.includes(minorOf(version));
}

/** The first probed interpreter the bundle can be installed with. */
export function choosePython(results: ProbeResult[], manifest: BundleManifest): ProbeResult | undefined {
  return results.find((r) => r.version && r.executable && fitsBundle(r.version, manifest));
}

/** One tried interpreter in words: `python3 on PATH: /usr/bin/python3 is 3.9.18`. */
export function describeProbe(result: ProbeResult): string {
  const { candidate } = result;
  if (!result.command) return `${candidate.label}: not found`;
  const where = result.command.join(' ');
  if (result.version) return `${candidate.label}: ${where} is ${result.version.join('.')}`;
  return `${candidate.label}: ${where} did not answer (${result.error ?? 'no output'})`;
}

/** What to do when no interpreter fits. */
export const NO_PYTHON_ADVICE =
  'Install Python 3.11 or newer (python.org or your package manager) so "python3" is on PATH, or select one ' +
  'with the Python extension, or set "sessionSidecar.serverCommand" to a command that runs ' +
  '"session-sidecar serve"; then Restart.';

/**
 * The error when no interpreter can run the bundled server: every interpreter
 * tried and what it was, the versions the bundle has, the PATH searched, what to do.
 */
export function noPythonMessage(results: ProbeResult[], manifest: BundleManifest, pathShown: string, pythonExtension: boolean): string {
  const tried = results.map(describeProbe);
  if (!pythonExtension) tried.unshift('the Python extension: not installed');
  return (
    `Session Sidecar: no Python ${MIN_PYTHON.join('.')} or newer found to run the bundled server ` +
    `(it has wheels for Python ${manifest.pythons.join(', ')}). Tried: ${tried.join('; ')} ` +
    `(the extension host's ${pathShown}). ${NO_PYTHON_ADVICE}`
  );
}

/** The error when the .vsix was built for another platform. */
export function wrongTargetMessage(manifest: BundleManifest, here: string): string {
  return (
    `Session Sidecar: this build of the extension bundles the server for ${manifest.target}, but this is ${here}. ` +
    'Build the .vsix on this platform ("npm run package" in editor-clients/vscode), or set ' +
    '"sessionSidecar.serverCommand" to a command that runs "session-sidecar serve"; then Restart.'
  );
}

/** The error when pip could not install the bundled wheels. */
export function installFailedMessage(envDir: string, what: string): string {
  return (
    `Session Sidecar: installing the bundled server into ${envDir} failed: ${what}. ` +
    'The whole output is in the "Session Sidecar" output (Show Output). Restart tries again; ' +
    '"sessionSidecar.serverCommand" runs a server you installed yourself instead.'
  );
}

/** Paths of the private environment under the extension's global storage. */
export interface EnvPaths {
  dir: string;
  python: string;
  /** What was installed, written last: its presence means the install finished. */
  record: string;
}

/** Where the environment lives, for this platform's layout (bin/ or Scripts\). */
export function envPaths(storageDir: string, platform: NodeJS.Platform): EnvPaths {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const dir = p.join(storageDir, 'server-env');
  return {
    dir,
    python: platform === 'win32' ? p.join(dir, 'Scripts', 'python.exe') : p.join(dir, 'bin', 'python'),
    record: p.join(dir, 'session-sidecar-bundle.json'),
  };
}

/** What an install recorded. */
export interface InstallRecord {
  bundleId: string;
  serverVersion: string;
  /** The base interpreter the environment was made with. */
  python: string;
  pythonVersion: string;
}

/** Whether the environment must be (re)made: nothing recorded, or another bundle. */
export function needsInstall(recordText: string | undefined, manifest: BundleManifest): boolean {
  if (recordText === undefined) return true;
  try {
    const record = JSON.parse(recordText) as Partial<InstallRecord>;
    return record.bundleId !== manifest.bundleId;
  } catch {
    return true;
  }
}

/** pip's arguments (after the interpreter) to install the bundled server with nothing from the network. */
export function pipInstallArgs(wheelsDir: string, manifest: BundleManifest, platform: NodeJS.Platform): string[] {
  const p = platform === 'win32' ? path.win32 : path.posix;
  return [
    // pip runs from its wheel: the environment is made without pip (no ensurepip needed).
    p.join(wheelsDir, manifest.pipWheel, 'pip'),
    'install',
    '--no-index',
    '--find-links',
    wheelsDir,
    '--no-cache-dir',
    '--disable-pip-version-check',
    '--no-warn-script-location',
    '--quiet',
    `session-sidecar==${manifest.serverVersion}`,
  ];
}

/**
 * The environment of the interpreters, pip and the server: the user's
 * PYTHONPATH, PYTHONHOME and user site would mix other packages into the
 * private environment, and the user's pip settings (PIP_* variables such as
 * PIP_USER or PIP_TARGET, the configuration files) must not steer the install.
 */
export function isolatedEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    const upper = key.toUpperCase();
    if (upper.startsWith('PIP_') || upper === 'PYTHONPATH' || upper === 'PYTHONHOME') continue;
    out[key] = value;
  }
  out.PYTHONNOUSERSITE = '1';
  out.PIP_CONFIG_FILE = platform === 'win32' ? 'nul' : '/dev/null';
  out.PIP_NO_INPUT = '1';
  return out;
}
