import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  choosePython,
  describeProbe,
  envPaths,
  fitsBundle,
  isolatedEnv,
  needsInstall,
  noPythonMessage,
  parseManifest,
  parseProbe,
  pipInstallArgs,
  pythonCandidates,
  wrongTargetMessage,
  type BundleManifest,
  type ProbeResult,
} from '../../src/bundledServer';

const manifest: BundleManifest = {
  bundleId: 'abc123',
  serverVersion: '0.1.0',
  serverWheel: 'session_sidecar-0.1.0-py3-none-any.whl',
  pipWheel: 'pip-26.3-py3-none-any.whl',
  target: 'linux-x64',
  pythons: ['3.11', '3.12', '3.13'],
};

describe('parseManifest', () => {
  it('reads what bundle-server.sh writes', () => {
    assert.deepEqual(parseManifest(JSON.stringify(manifest)), manifest);
  });
  it('refuses an incomplete or broken manifest', () => {
    assert.equal(parseManifest('{'), undefined);
    assert.equal(parseManifest('null'), undefined);
    assert.equal(parseManifest(JSON.stringify({ ...manifest, pipWheel: '' })), undefined);
    assert.equal(parseManifest(JSON.stringify({ ...manifest, pythons: '3.11' })), undefined);
  });
});

describe('parseProbe', () => {
  it('reads the version and the executable', () => {
    assert.deepEqual(parseProbe('3.11.7\n/usr/bin/python3.11\n'), { version: [3, 11, 7], executable: '/usr/bin/python3.11' });
    assert.deepEqual(parseProbe('3.13.0\r\nC:\\Python313\\python.exe\r\n'), { version: [3, 13, 0], executable: 'C:\\Python313\\python.exe' });
  });
  it('refuses anything else', () => {
    assert.equal(parseProbe(''), undefined);
    assert.equal(parseProbe('Python 3.11.7\n/usr/bin/python3'), undefined);
    assert.equal(parseProbe('3.11.7\n'), undefined);
  });
});

describe('fitsBundle and choosePython', () => {
  it('takes 3.11+ with bundled wheels only', () => {
    assert.equal(fitsBundle([3, 11, 0], manifest), true);
    assert.equal(fitsBundle([3, 10, 13], manifest), false);
    assert.equal(fitsBundle([3, 14, 0], manifest), false, 'no wheels bundled for 3.14');
    assert.equal(fitsBundle([2, 7, 18], manifest), false);
  });
  it('picks the first interpreter that fits, in the order tried', () => {
    const results: ProbeResult[] = [
      { candidate: { label: "the Python extension's interpreter", command: ['/venv/bin/python'] }, command: ['/venv/bin/python'], version: [3, 10, 1], executable: '/venv/bin/python' },
      { candidate: { label: 'python3 on PATH', onPath: 'python3' } },
      { candidate: { label: 'python on PATH', onPath: 'python' }, command: ['/usr/bin/python'], version: [3, 12, 2], executable: '/usr/bin/python3.12' },
    ];
    assert.equal(choosePython(results, manifest), results[2]);
    assert.equal(choosePython(results.slice(0, 2), manifest), undefined);
  });
});

describe('pythonCandidates', () => {
  it("tries the Python extension's interpreter, then python3 and python on PATH", () => {
    assert.deepEqual(
      pythonCandidates('linux', ['/venv/bin/python']).map((c) => c.label),
      ["the Python extension's interpreter", 'python3 on PATH', 'python on PATH'],
    );
    assert.deepEqual(pythonCandidates('darwin').map((c) => c.onPath), ['python3', 'python']);
  });
  it('tries the py launcher first on Windows', () => {
    assert.deepEqual(pythonCandidates('win32').map((c) => c.onPath), ['py', 'python', 'python3']);
  });
});

describe('noPythonMessage', () => {
  it('names every interpreter tried, the bundled versions, the PATH and what to do', () => {
    const results: ProbeResult[] = [
      { candidate: { label: 'python3 on PATH', onPath: 'python3' }, command: ['/usr/bin/python3'], version: [3, 9, 18], executable: '/usr/bin/python3.9' },
      { candidate: { label: 'python on PATH', onPath: 'python' } },
    ];
    const message = noPythonMessage(results, manifest, 'PATH: /usr/bin, /bin', false);
    assert.match(message, /no Python 3\.11 or newer found to run the bundled server/);
    assert.match(message, /wheels for Python 3\.11, 3\.12, 3\.13/);
    assert.match(message, /Tried: the Python extension: not installed; python3 on PATH: \/usr\/bin\/python3 is 3\.9\.18; python on PATH: not found \(the extension host's PATH: \/usr\/bin, \/bin\)/);
    assert.match(message, /Install Python 3\.11 or newer/);
    assert.match(message, /"sessionSidecar\.serverCommand"/);
    assert.doesNotMatch(noPythonMessage(results, manifest, 'PATH is empty', true), /Python extension: not installed/);
  });
  it('says why an interpreter did not answer', () => {
    const text = describeProbe({ candidate: { label: 'python3 on PATH' }, command: ['/usr/bin/python3'], error: 'timed out' });
    assert.equal(text, 'python3 on PATH: /usr/bin/python3 did not answer (timed out)');
  });
});

describe('wrongTargetMessage', () => {
  it('names both platforms and how to build for this one', () => {
    const message = wrongTargetMessage(manifest, 'darwin-arm64');
    assert.match(message, /bundles the server for linux-x64, but this is darwin-arm64/);
    assert.match(message, /npm run package/);
  });
});

describe('envPaths', () => {
  it('uses bin/ on Linux and macOS', () => {
    assert.deepEqual(envPaths('/home/u/.config/Code/User/globalStorage/session-sidecar.session-sidecar', 'linux'), {
      dir: '/home/u/.config/Code/User/globalStorage/session-sidecar.session-sidecar/server-env',
      python: '/home/u/.config/Code/User/globalStorage/session-sidecar.session-sidecar/server-env/bin/python',
      record: '/home/u/.config/Code/User/globalStorage/session-sidecar.session-sidecar/server-env/session-sidecar-bundle.json',
    });
    assert.equal(envPaths('/Users/u/storage', 'darwin').python, '/Users/u/storage/server-env/bin/python');
  });
  it('uses Scripts\\python.exe on Windows', () => {
    assert.equal(envPaths('C:\\Users\\u\\storage', 'win32').python, 'C:\\Users\\u\\storage\\server-env\\Scripts\\python.exe');
  });
});

describe('needsInstall', () => {
  it('installs when nothing was recorded, the record is broken or the bundle changed', () => {
    assert.equal(needsInstall(undefined, manifest), true);
    assert.equal(needsInstall('not json', manifest), true);
    assert.equal(needsInstall(JSON.stringify({ bundleId: 'older' }), manifest), true);
    assert.equal(needsInstall(JSON.stringify({ bundleId: 'abc123', serverVersion: '0.1.0' }), manifest), false);
  });
});

describe('pipInstallArgs', () => {
  it('runs the bundled pip from its wheel with nothing from the network', () => {
    const args = pipInstallArgs('/ext/bundled/wheels', manifest, 'linux');
    assert.equal(args[0], '/ext/bundled/wheels/pip-26.3-py3-none-any.whl/pip');
    assert.equal(args[1], 'install');
    assert.ok(args.includes('--no-index'));
    assert.deepEqual(args.slice(args.indexOf('--find-links'), args.indexOf('--find-links') + 2), ['--find-links', '/ext/bundled/wheels']);
    assert.equal(args[args.length - 1], 'session-sidecar==0.1.0');
  });
});

describe('isolatedEnv', () => {
  it("drops the user's PYTHONPATH, PYTHONHOME and pip settings, keeps the rest", () => {
    const env = isolatedEnv({ PATH: '/usr/bin', PYTHONPATH: '/src', PYTHONHOME: '/py', PIP_USER: '1', pip_target: '/t', SIDECAR_DB: '/db' }, 'linux');
    assert.deepEqual(env, {
      PATH: '/usr/bin',
      SIDECAR_DB: '/db',
      PYTHONNOUSERSITE: '1',
      PIP_CONFIG_FILE: '/dev/null',
      PIP_NO_INPUT: '1',
    });
    assert.equal(isolatedEnv({}, 'win32').PIP_CONFIG_FILE, 'nul');
  });
});
