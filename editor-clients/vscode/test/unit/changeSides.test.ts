import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeSides } from '../../src/changeSides';

describe('changeSides', () => {
  it('splits an edit\'s diff into what was before and after', () => {
    const diff = '--- a/search.py\n+++ b/search.py\n@@ -1,2 +1,2 @@\n def score(doc, query):\n-    tokens = set(doc.text.split())\n+    tokens = doc.tokens\n';
    assert.deepEqual(changeSides(diff), [
      {
        path: 'search.py',
        added: false,
        deleted: false,
        before: 'def score(doc, query):\n    tokens = set(doc.text.split())\n',
        after: 'def score(doc, query):\n    tokens = doc.tokens\n',
      },
    ]);
  });
  it('marks a new file (Write) and separates hunks on both sides', () => {
    const [file] = changeSides('--- /dev/null\n+++ b/ci.yml\n@@ -0,0 +1,2 @@\n+name: ci\n+on: [push]');
    assert.equal(file.path, 'ci.yml');
    assert.equal(file.added, true);
    assert.equal(file.before, '');
    assert.equal(file.after, 'name: ci\non: [push]\n');
    const [two] = changeSides('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n@@ -9 +9 @@\n-c\n+d');
    assert.equal(two.before, 'a\n⋯\nc\n');
    assert.equal(two.after, 'b\n⋯\nd\n');
  });
  it('reads several files of a git diff', () => {
    const diff = [
      'diff --git a/a.py b/a.py',
      'index 1..2 100644',
      '--- a/a.py',
      '+++ b/a.py',
      '@@ -1 +1 @@',
      '-x = 1',
      '+x = 2',
      'diff --git a/b.py b/b.py',
      'deleted file mode 100644',
      '--- a/b.py',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-gone',
    ].join('\n');
    const files = changeSides(diff);
    assert.deepEqual(files.map((f) => [f.path, f.added, f.deleted, f.before, f.after]), [
      ['a.py', false, false, 'x = 1\n', 'x = 2\n'],
      ['b.py', false, true, 'gone\n', ''],
    ]);
  });
  it('reads an apply_patch patch', () => {
    const patch = '*** Begin Patch\n*** Update File: src/app.py\n@@\n-print(1)\n+print(2)\n*** Add File: NEW.md\n+hello\n*** End Patch';
    assert.deepEqual(changeSides(patch).map((f) => [f.path, f.added, f.before, f.after]), [
      ['src/app.py', false, 'print(1)\n', 'print(2)\n'],
      ['NEW.md', true, '', 'hello\n'],
    ]);
  });
  it('names a diff without file headers after the block\'s path', () => {
    assert.deepEqual(changeSides('@@ -1 +1 @@\n-a\n+b', 'notes.txt').map((f) => f.path), ['notes.txt']);
  });
  it('does not take a removed line that starts with "-- " for a file header', () => {
    const [file] = changeSides('--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,1 @@\n--- a comment\n select 1;');
    assert.equal(file.before, '-- a comment\nselect 1;\n');
    assert.equal(file.after, 'select 1;\n');
  });
});
