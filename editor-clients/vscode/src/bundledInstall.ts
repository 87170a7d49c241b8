/**
 * Installs the bundled server into its private environment: a venv made
 * with the user's Python, the bundled wheels installed by the bundled pip with
 * `--no-index`, under a progress notification; what was installed is recorded
 * so the next start skips all of it until the bundle changes.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  envPaths,
  installFailedMessage,
  isolatedEnv,
  needsInstall,
  parseManifest,
  pipInstallArgs,
  type BundleManifest,
  type EnvPaths,
  type InstallRecord,
} from './bundledServer';

/** Where the extension keeps its files and its private environment. */
export interface ExtensionPlaces {
  extensionPath: string;
  /** `context.globalStorageUri.fsPath`. */
  storagePath: string;
}

/** The bundle inside the extension, or undefined for a build without one (e.g. from sources). */
export async function readManifest(extensionPath: string): Promise<BundleManifest | undefined> {
  try {
    return parseManifest(await fs.readFile(path.join(extensionPath, 'bundled', 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The bundled wheels folder. */
export function wheelsDir(extensionPath: string): string {
  return path.join(extensionPath, 'bundled', 'wheels');
}

/** Whether the environment holds this bundle already (and its interpreter still runs). */
export async function isInstalled(env: EnvPaths, manifest: BundleManifest): Promise<boolean> {
  let record: string | undefined;
  try {
    record = await fs.readFile(env.record, 'utf8');
    // A venv's python links to the base interpreter: gone with it.
    await fs.access(env.python, fs.constants.X_OK);
  } catch {
    return false;
  }
  return !needsInstall(record, manifest);
}

interface RunResult {
  code: number | string;
  output: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (!err) return resolve({ code: 0, output });
      const code = err.killed ? 'timeout' : typeof err.code === 'number' ? err.code : String(err.code ?? err.message);
      resolve({ code, output: output || err.message });
    });
  });
}

/** Another window installing the same bundle holds this folder; stale after ten minutes. */
async function lock(dir: string, output: vscode.LogOutputChannel): Promise<() => Promise<void>> {
  const lockDir = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60 * 1000;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      return () => fs.rm(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const stat = await fs.stat(lockDir).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > 10 * 60 * 1000) {
      output.warn(`Removing a stale install lock ${lockDir}`);
      await fs.rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another window kept ${lockDir} for ten minutes`);
    // Another process holds it; there is no event to await across processes.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Make the environment for this bundle with `python` (an absolute interpreter
 * path), under a progress notification. Resolves to an error message, or
 * undefined when the environment is ready.
 */
export async function installBundle(
  places: ExtensionPlaces,
  manifest: BundleManifest,
  python: { executable: string; version: string },
  output: vscode.LogOutputChannel,
): Promise<string | undefined> {
  const env = envPaths(places.storagePath, process.platform);
  const childEnv = isolatedEnv(process.env, process.platform);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Session Sidecar: setting up the server' },
    async (progress) => {
      await fs.mkdir(places.storagePath, { recursive: true });
      const unlock = await lock(env.dir, output);
      try {
        // Another window may have finished it while this one waited.
        if (await isInstalled(env, manifest)) return undefined;
        const started = Date.now();
        // Short: the notification cuts what does not fit on its line.
        progress.report({ message: 'new environment' }); // the interpreter is in the log
        output.info(`Installing the bundled server ${manifest.serverVersion} (bundle ${manifest.bundleId}) into ${env.dir} with ${python.executable} (${python.version})`);
        await fs.rm(env.dir, { recursive: true, force: true });
        const venv = await run(python.executable, ['-m', 'venv', '--without-pip', env.dir], childEnv, 120_000);
        if (venv.code !== 0) {
          output.error(`${python.executable} -m venv exited ${venv.code}:\n${venv.output}`);
          return installFailedMessage(env.dir, `"${python.executable} -m venv" exited ${venv.code}: ${lastLine(venv.output)}`);
        }
        progress.report({ message: 'installing (once)' });
        const args = pipInstallArgs(wheelsDir(places.extensionPath), manifest, process.platform);
        const pip = await run(env.python, args, childEnv, 600_000);
        if (pip.output) output.info(pip.output);
        if (pip.code !== 0) {
          output.error(`pip exited ${pip.code}: ${env.python} ${args.join(' ')}`);
          return installFailedMessage(env.dir, `pip exited ${pip.code}: ${lastLine(pip.output)}`);
        }
        const record: InstallRecord = {
          bundleId: manifest.bundleId,
          serverVersion: manifest.serverVersion,
          python: python.executable,
          pythonVersion: python.version,
        };
        await fs.writeFile(env.record, JSON.stringify(record, null, 2) + '\n');
        output.info(`Installed the bundled server into ${env.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return undefined;
      } finally {
        await unlock();
      }
    },
  );
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  return lines.length ? lines[lines.length - 1].trim() : 'no output';
}
