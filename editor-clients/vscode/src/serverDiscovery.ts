/**
 * Finds the server: the setting `sessionSidecar.serverCommand`; else the server
 * bundled in the extension, installed on first start with a Python 3.11+ (the
 * Python extension's interpreter, else `python3` / `python` on PATH); a build
 * without a bundle looks for `session-sidecar` on PATH and in the Python
 * extension's interpreter instead.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { installBundle, isInstalled, readManifest, type ExtensionPlaces } from './bundledInstall';
import {
  PROBE_CODE,
  choosePython,
  envPaths,
  isolatedEnv,
  launcherArgs,
  noPythonMessage,
  parseProbe,
  pythonCandidates,
  wrongTargetMessage,
  type BundleManifest,
  type ProbeResult,
} from './bundledServer';
import { pathText, resolveServerCommand, type Resolution } from './serverCommand';

/** The extension host's PATH folders, in order. */
export function pathDirs(): string[] {
  return (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
}

/** Absolute path of an executable named `name` on PATH, or undefined. */
export async function which(name: string): Promise<string | undefined> {
  const dirs = pathDirs();
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', '.bat', ''] : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        await fs.access(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // Not here; keep looking along PATH.
      }
    }
  }
  return undefined;
}

interface PythonApi {
  environments?: {
    getActiveEnvironmentPath?: (resource?: vscode.Uri) => { path?: string } | undefined;
    resolveEnvironment?: (
      env: { path?: string } | string,
    ) => Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails?: (resource?: vscode.Uri) => { execCommand?: string[] } | undefined;
  };
}

/** The interpreter command the ms-python extension selected, if it is installed. */
export async function pythonInterpreter(resource?: vscode.Uri): Promise<string[] | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const envPath = api.environments?.getActiveEnvironmentPath?.(resource);
    if (envPath && api.environments?.resolveEnvironment) {
      const env = await api.environments.resolveEnvironment(envPath);
      const exe = env?.executable?.uri?.fsPath;
      if (exe) return [exe];
    }
    const exec = api.settings?.getExecutionDetails?.(resource)?.execCommand;
    return exec?.length ? exec : undefined;
  } catch {
    // An older or broken Python extension is not a reason to fail: fall through.
    return undefined;
  }
}

/** Whether `python -c "import sidecar"` succeeds with that interpreter. */
export function canImportSidecar(python: string[]): Promise<boolean> {
  const [command, ...rest] = python;
  return new Promise((resolve) => {
    execFile(command, [...rest, '-c', 'import sidecar'], { timeout: 15000 }, (err) => resolve(!err));
  });
}

/** Ask one candidate interpreter for its version and executable. */
export async function probePython(candidate: ProbeResult['candidate']): Promise<ProbeResult> {
  let command = candidate.command;
  if (!command && candidate.onPath) {
    const found = await which(candidate.onPath);
    if (!found) return { candidate };
    command = [found, ...launcherArgs(candidate.onPath)];
  }
  if (!command?.length) return { candidate };
  const [exe, ...rest] = command;
  return new Promise((resolve) => {
    execFile(exe, [...rest, '-c', PROBE_CODE], { timeout: 15000, env: isolatedEnv(process.env, process.platform) }, (err, stdout) => {
      const parsed = err ? undefined : parseProbe(stdout);
      if (parsed) return resolve({ candidate, command, ...parsed });
      resolve({ candidate, command, error: err ? (err.killed ? 'timed out' : err.message.split('\n')[0]) : 'output not understood' });
    });
  });
}

/**
 * The bundled server, installed into the private environment first if it is
 * not there yet (a progress notification), or an error naming what was tried.
 */
async function bundledServer(
  manifest: BundleManifest,
  places: ExtensionPlaces,
  resource: vscode.Uri | undefined,
  output: vscode.LogOutputChannel,
): Promise<Resolution> {
  const here = `${process.platform}-${process.arch}`;
  if (manifest.target !== here) return { ok: false, message: wrongTargetMessage(manifest, here) };
  const env = envPaths(places.storagePath, process.platform);
  if (!(await isInstalled(env, manifest))) {
    const tried: ProbeResult[] = [];
    const pythonExtension = vscode.extensions.getExtension('ms-python.python') !== undefined;
    for (const candidate of pythonCandidates(process.platform, await pythonInterpreter(resource))) {
      tried.push(await probePython(candidate));
      if (choosePython(tried, manifest)) break;
    }
    const python = choosePython(tried, manifest);
    if (!python?.executable || !python.version) {
      return { ok: false, message: noPythonMessage(tried, manifest, pathText(pathDirs()), pythonExtension) };
    }
    const failed = await installBundle(places, manifest, { executable: python.executable, version: python.version.join('.') }, output);
    if (failed) return { ok: false, message: failed };
  }
  return {
    ok: true,
    server: { command: env.python, args: ['-m', 'sidecar', 'serve'], source: 'bundled', env: isolatedEnv(process.env, process.platform) },
  };
}

/** Decide the server command from the current settings, the bundle and the environment. */
export async function discoverServer(
  resource: vscode.Uri | undefined,
  places: ExtensionPlaces,
  output: vscode.LogOutputChannel,
): Promise<Resolution> {
  const setting = vscode.workspace.getConfiguration('sessionSidecar', resource).get<unknown>('serverCommand');
  const first = resolveServerCommand({ setting });
  if (first.ok) return first;
  const manifest = await readManifest(places.extensionPath);
  if (manifest) return bundledServer(manifest, places, resource, output);
  const sidecarOnPath = await which('session-sidecar');
  if (sidecarOnPath) return resolveServerCommand({ setting, sidecarOnPath });
  const pythonCommand = await pythonInterpreter(resource);
  const pythonHasSidecar = pythonCommand ? await canImportSidecar(pythonCommand) : false;
  return resolveServerCommand({
    setting,
    pythonCommand,
    pythonHasSidecar,
    pathDirs: pathDirs(),
    pythonExtension: vscode.extensions.getExtension('ms-python.python') !== undefined,
  });
}
