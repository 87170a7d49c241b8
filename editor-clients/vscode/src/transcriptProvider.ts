/**
 * Read-only Markdown transcripts under `sidecar-session:/<name>.md?id=<id>`,
 * built from the server's display blocks and reloaded when the session's
 * history changes. Remembers where each block starts, so a transcript can be
 * opened at an event.
 */
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import type { ShowResult } from './protocol';
import { fetchBlocks } from './sessionView';
import {
  lineOfEvent,
  renderTranscript,
  sessionIdFromQuery,
  transcriptPath,
  transcriptQuery,
  TRANSCRIPT_SCHEME,
  type BlockAnchor,
} from './transcript';

/** How long opening at a newer event waits for the transcript to reload. */
const RELOAD_TIMEOUT_MS = 10000;

/** `promise`, or undefined once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export class TranscriptProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  /** Block anchors of the last text provided, by URI. */
  private readonly anchors = new Map<string, BlockAnchor[]>();
  /** Who waits for the next text of a URI (see `ensureEvent`). */
  private readonly waiting = new Map<string, ((text: string) => void)[]>();

  constructor(private readonly client: SidecarClient) {}

  /** The URI of a session's transcript; `label` names the editor tab. */
  static uri(sessionId: string, label: string): vscode.Uri {
    return vscode.Uri.from({ scheme: TRANSCRIPT_SCHEME, path: transcriptPath(label), query: transcriptQuery(sessionId) });
  }

  /** Reload every open transcript (they are small; a status change may touch any). */
  refreshOpen(): void {
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme === TRANSCRIPT_SCHEME && !doc.isClosed) {
        this.emitter.fire(doc.uri);
      }
    }
  }

  /** The line where the block showing event `seq` starts in the open transcript `uri`. */
  lineOf(uri: vscode.Uri, seq: number): number {
    return lineOfEvent(this.anchors.get(uri.toString()) ?? [], seq);
  }

  /**
   * Make sure the open transcript `doc` shows event `seq`: an event newer than
   * the text (a search hit just appended) reloads it, and this waits until the
   * document holds the new text.
   */
  async ensureEvent(doc: vscode.TextDocument, seq: number): Promise<void> {
    const key = doc.uri.toString();
    const anchors = this.anchors.get(key);
    if (!anchors || anchors.some((a) => a.seqs.includes(seq))) return;
    const provided = new Promise<string>((resolve) => this.waiting.set(key, [...(this.waiting.get(key) ?? []), resolve]));
    this.emitter.fire(doc.uri);
    const text = await within(provided, RELOAD_TIMEOUT_MS);
    if (text === undefined || doc.getText() === text) return;
    let subscription: vscode.Disposable | undefined;
    const updated = new Promise<void>((resolve) => {
      subscription = vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === doc && doc.getText() === text) resolve();
      });
    });
    try {
      await within(updated, RELOAD_TIMEOUT_MS);
    } finally {
      subscription?.dispose();
    }
  }

  private provided(uri: vscode.Uri, text: string): string {
    const key = uri.toString();
    const waiting = this.waiting.get(key) ?? [];
    this.waiting.delete(key);
    for (const resolve of waiting) resolve(text);
    return text;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const sessionId = sessionIdFromQuery(uri.query);
    if (!sessionId) return `Not a session transcript: ${uri.toString()}\n`;
    try {
      const show = await this.client.request<ShowResult>('sidecar/sessions/show', { sessionId });
      const { blocks } = await fetchBlocks(this.client, sessionId, true);
      const transcript = renderTranscript(show.session, blocks, show.checkpoints ?? []);
      this.anchors.set(uri.toString(), transcript.anchors);
      return this.provided(uri, transcript.text);
    } catch (err) {
      return this.provided(uri, `# Session ${sessionId}\n\nCould not load the transcript: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
