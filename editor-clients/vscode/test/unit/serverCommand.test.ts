import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { missingServerMessage, parseCommandSetting, pathText, resolveServerCommand, splitCommandLine } from '../../src/serverCommand';

describe('splitCommandLine', () => {
  it('splits on whitespace and honours quotes', () => {
    assert.deepEqual(splitCommandLine('python -m sidecar serve'), ['python', '-m', 'sidecar', 'serve']);
    assert.deepEqual(splitCommandLine('"/opt/my tools/py" -m sidecar'), ['/opt/my tools/py', '-m', 'sidecar']);
    assert.deepEqual(splitCommandLine("a'b c'd e"), ['ab cd', 'e']);
  });
});

describe('parseCommandSetting', () => {
  it('accepts arrays and strings, ignores empty ones', () => {
    assert.deepEqual(parseCommandSetting(['py', '', '-m', 'sidecar']), ['py', '-m', 'sidecar']);
    assert.deepEqual(parseCommandSetting(' session-sidecar serve '), ['session-sidecar', 'serve']);
    assert.equal(parseCommandSetting(''), undefined);
    assert.equal(parseCommandSetting([]), undefined);
    assert.equal(parseCommandSetting(null), undefined);
  });
});

describe('resolveServerCommand', () => {
  it('prefers the setting', () => {
    const r = resolveServerCommand({ setting: ['/venv/bin/python', '-m', 'sidecar', 'serve'], sidecarOnPath: '/usr/bin/session-sidecar' });
    assert.deepEqual(r, { ok: true, server: { command: '/venv/bin/python', args: ['-m', 'sidecar', 'serve'], source: 'setting' } });
  });
  it('then session-sidecar serve from PATH', () => {
    const r = resolveServerCommand({ setting: null, sidecarOnPath: '/usr/bin/session-sidecar' });
    assert.deepEqual(r, { ok: true, server: { command: '/usr/bin/session-sidecar', args: ['serve'], source: 'path' } });
  });
  it("then the Python extension's interpreter when it has the package", () => {
    const r = resolveServerCommand({ setting: undefined, pythonCommand: ['conda', 'run', 'python'], pythonHasSidecar: true });
    assert.deepEqual(r, { ok: true, server: { command: 'conda', args: ['run', 'python', '-m', 'sidecar', 'serve'], source: 'python' } });
  });
  it('says what it searched and what to install when nothing fits', () => {
    const facts = { setting: '', pythonCommand: ['/usr/bin/python3'], pythonHasSidecar: false, pythonExtension: true, pathDirs: ['/usr/bin', '/bin'] };
    const r = resolveServerCommand(facts);
    assert.deepEqual(r, { ok: false, message: missingServerMessage(facts) });
    assert.ok(!r.ok);
    assert.match(r.message, /no server found/);
    assert.match(r.message, /"sessionSidecar\.serverCommand" \(empty\)/);
    assert.match(r.message, /PATH: \/usr\/bin, \/bin;/);
    assert.match(r.message, /interpreter \/usr\/bin\/python3 cannot import "sidecar"/);
    assert.match(r.message, /pip install session-sidecar/);
  });
  it('names a missing Python extension or interpreter', () => {
    assert.match(missingServerMessage({ setting: null }), /the Python extension is not installed/);
    assert.match(missingServerMessage({ setting: null, pythonExtension: true }), /has no interpreter selected/);
  });
});

describe('pathText', () => {
  it('lists the first folders and counts the rest', () => {
    assert.equal(pathText([]), 'PATH is empty');
    assert.equal(pathText(['/a', '/b', '/c', '/d', '/e', '/f']), 'PATH: /a, /b, /c, /d and 2 more');
  });
});
