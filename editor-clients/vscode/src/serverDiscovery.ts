/**
 * Gathers the facts `resolveServerCommand` decides on: the setting, a
 * `session-sidecar` executable on PATH, and the Python extension's interpreter.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveServerCommand, type Resolution } from './serverCommand';

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

/** Decide the server command from the current settings and environment. */
export async function discoverServer(resource?: vscode.Uri): Promise<Resolution> {
  const setting = vscode.workspace.getConfiguration('sessionSidecar', resource).get<unknown>('serverCommand');
  const first = resolveServerCommand({ setting });
  if (first.ok) return first;
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
