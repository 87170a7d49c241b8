/**
 * "Open Changes" in VS Code's own diff editor, and "Restore" of a checkpoint.
 *
 * - A change block (an edit, a patch, a file change with its diff): the two
 *   sides its diff records (see `changeSides`), as read-only documents.
 * - A checkpoint: the files that differ between its snapshot and the working
 *   tree (`sidecar/checkpoints/changes`), a quick pick of them, then the diff
 *   editor with the file as the checkpoint holds it (`sidecar/checkpoints/file`)
 *   on the left and the working file on the right.
 *
 * Server content is shown under the read-only `sidecar-content:` scheme and
 * never written anywhere; only Restore (`sidecar/checkpoints/restore`, after a
 * modal confirmation) changes the user's files.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import { changeSides } from './changeSides';
import type { Checkpoint } from './protocol';
import type { CheckpointChangesResult, CheckpointFileResult, DisplayBlock } from './protocol.generated';

/** URI scheme of the read-only sides of a diff. */
export const CONTENT_SCHEME = 'sidecar-content';

export class ChangeContent implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly client: SidecarClient) {}

  /** A read-only document holding `text`; `file` names it (its extension picks the language). */
  held(key: string, file: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: CONTENT_SCHEME, path: `/${key}/${file}`, query: 'held' });
    this.texts.set(uri.toString(), text);
    return uri;
  }

  /** The document of `file` as checkpoint `checkpointId` holds it, read from the server when opened. */
  static atCheckpoint(checkpointId: string, file: string): vscode.Uri {
    return vscode.Uri.from({
      scheme: CONTENT_SCHEME,
      path: `/checkpoint/${file}`,
      query: `checkpoint=${encodeURIComponent(checkpointId)}&path=${encodeURIComponent(file)}`,
    });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const held = this.texts.get(uri.toString());
    if (held !== undefined) return held;
    const query = new URLSearchParams(uri.query);
    const checkpointId = query.get('checkpoint');
    const file = query.get('path');
    if (!checkpointId || !file) return '';
    const result = await this.client.request<CheckpointFileResult>('sidecar/checkpoints/file', { checkpointId, path: file });
    if (result.binary) return `(${file} is a binary file at the checkpoint)\n`;
    return result.content ?? '';
  }

  dispose(): void {
    this.emitter.dispose();
    this.texts.clear();
  }
}

function basename(file: string): string {
  return file.split('/').pop() || file;
}

/** The diff editor's title of a recorded change: `search.py (#12 Edit search.py)`. */
export function changeTitle(file: string, block: Pick<DisplayBlock, 'seq' | 'title'>): string {
  return `${basename(file)} (#${block.seq} ${block.title})`;
}

/** The diff editor's title of a file since a checkpoint: `app.py (checkpoint "x" ↔ working tree)`. */
export function checkpointTitle(file: string, checkpoint: Pick<Checkpoint, 'name'>): string {
  return `${basename(file)} (checkpoint "${checkpoint.name}" ↔ working tree)`;
}

/** Open the diff editor on a change block's recorded before and after (a quick pick when it changes several files). */
export async function openBlockChanges(content: ChangeContent, sessionId: string, block: DisplayBlock): Promise<void> {
  if (!block.diff) {
    void vscode.window.showInformationMessage(`Session Sidecar: #${block.seq} records no diff to show.`);
    return;
  }
  const files = changeSides(block.diff, block.paths?.[0] ?? 'change');
  if (!files.length) {
    void vscode.window.showInformationMessage(`Session Sidecar: the diff of #${block.seq} is empty.`);
    return;
  }
  let chosen = files[0];
  if (files.length > 1) {
    const picked = await vscode.window.showQuickPick(
      files.map((f) => ({ label: f.path, description: f.added ? 'added' : f.deleted ? 'deleted' : 'modified', file: f })),
      { placeHolder: `Files changed in #${block.seq}` },
    );
    if (!picked) return;
    chosen = picked.file;
  }
  const key = `${sessionId}/${block.seq}`;
  const left = content.held(`${key}/before`, chosen.path, chosen.before);
  const right = content.held(`${key}/after`, chosen.path, chosen.after);
  await vscode.commands.executeCommand('vscode.diff', left, right, changeTitle(chosen.path, block), { preview: true });
}

const CHANGE_TEXT: Record<string, string> = {
  added: 'added since',
  deleted: 'deleted since',
  modified: 'modified since',
};

/** The files changed since a checkpoint, picked one by one into the diff editor. */
export async function openCheckpointChanges(client: SidecarClient, checkpointId: string): Promise<void> {
  const result = await client.request<CheckpointChangesResult>('sidecar/checkpoints/changes', { checkpointId });
  const cp = result.checkpoint;
  if (!result.files.length) {
    void vscode.window.showInformationMessage(`Session Sidecar: the working tree matches checkpoint "${cp.name}".`);
    return;
  }
  const items = result.files.map((f) => ({
    label: f.path,
    description: CHANGE_TEXT[f.change] ?? f.change,
    file: f,
  }));
  const picked =
    items.length === 1
      ? items[0]
      : await vscode.window.showQuickPick(items, {
          title: `Changes since checkpoint "${cp.name}"`,
          placeHolder: `${items.length} files differ from the checkpoint; pick one to compare`,
          matchOnDescription: true,
        });
  if (!picked) return;
  const file = picked.file;
  const left = ChangeContent.atCheckpoint(cp.id, file.path);
  const working = vscode.Uri.file(path.join(result.worktree, ...file.path.split('/')));
  // A file deleted since the checkpoint has no working file: an empty side shows the deletion.
  const right = file.change === 'deleted' ? vscode.Uri.from({ scheme: CONTENT_SCHEME, path: `/deleted/${file.path}` }) : working;
  await vscode.commands.executeCommand('vscode.diff', left, right, checkpointTitle(file.path, cp), { preview: true });
}

/** Restore a checkpoint's files after a modal confirmation; true when restored. */
export async function restoreCheckpoint(client: SidecarClient, checkpoint: Pick<Checkpoint, 'id' | 'name'>): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(
    `Restore checkpoint "${checkpoint.name}"? Files it holds are written back over the working tree; HEAD and the branch stay. Create a checkpoint first to keep the current files.`,
    { modal: true },
    'Restore',
  );
  if (choice !== 'Restore') return false;
  await client.request('sidecar/checkpoints/restore', { checkpointId: checkpoint.id, confirm: true });
  void vscode.window.showInformationMessage(`Session Sidecar: restored checkpoint "${checkpoint.name}".`);
  return true;
}
