/**
 * The session view: one webview panel per session (reused when opened again),
 * showing the session's display blocks chat-style (HTML from `sessionViewHtml`),
 * scrolled to an event when asked and reloaded when the session's history
 * changes. Its buttons open changes in the diff editor, restore checkpoints
 * and open the parent of a fork.
 */
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import { openBlockChanges, openCheckpointChanges, restoreCheckpoint, type ChangeContent } from './changeView';
import { sessionLabel } from './present';
import type { ShowResult } from './protocol';
import type { DisplayBlock, RenderResult } from './protocol.generated';
import { makeNonce, pageHtml, sessionBodyHtml, type SessionViewModel } from './sessionViewHtml';

/** Events per render page (the server's maximum). */
const PAGE = 1000;
/** Upper bound so a huge session cannot freeze the editor. */
export const MAX_BLOCKS = 20000;
/** The panels' view type (also what the tests look for). */
export const SESSION_VIEW_TYPE = 'sessionSidecar.sessionView';

/** Every block of a session, page by page (at most `MAX_BLOCKS`); `markdown` asks for each block's Markdown too. */
export async function fetchBlocks(client: SidecarClient, sessionId: string, markdown = false): Promise<{ blocks: DisplayBlock[]; truncated: boolean }> {
  const blocks: DisplayBlock[] = [];
  let afterSeq: number | null | undefined = 0;
  while (afterSeq !== null && afterSeq !== undefined && blocks.length < MAX_BLOCKS) {
    const page: RenderResult = await client.request<RenderResult>('sidecar/sessions/render', { sessionId, afterSeq, limit: PAGE, markdown });
    blocks.push(...page.items);
    afterSeq = page.items.length ? page.nextAfterSeq : null;
  }
  return { blocks, truncated: afterSeq !== null && afterSeq !== undefined };
}

interface Panel {
  panel: vscode.WebviewPanel;
  sessionId: string;
  model?: SessionViewModel;
  /** The page's script said it is listening. */
  ready: boolean;
  reloading?: Promise<void>;
}

/** What a page's buttons ask for. */
interface ViewMessage {
  type: 'ready' | 'openChanges' | 'checkpointChanges' | 'restoreCheckpoint' | 'openSession';
  seq?: number;
  checkpoint?: string;
  session?: string;
}

export class SessionViews implements vscode.Disposable {
  private readonly panels = new Map<string, Panel>();
  private readonly media: vscode.Uri;

  constructor(
    private readonly client: SidecarClient,
    private readonly content: ChangeContent,
    extensionUri: vscode.Uri,
  ) {
    this.media = vscode.Uri.joinPath(extensionUri, 'media');
  }

  /** Open (or bring forward) a session's view; scrolled to event `seq` and highlighted when given. */
  async show(sessionId: string, seq?: number): Promise<void> {
    let entry = this.panels.get(sessionId);
    if (entry) {
      entry.panel.reveal(undefined, false);
      if (seq !== undefined && entry.model && !this.shows(entry.model, seq)) await this.reload(entry, seq);
      else if (seq !== undefined && entry.ready) void entry.panel.webview.postMessage({ type: 'reveal', seq });
      else if (seq !== undefined) await this.reload(entry, seq);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      SESSION_VIEW_TYPE,
      'Session',
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      { enableScripts: true, localResourceRoots: [this.media], retainContextWhenHidden: false, enableFindWidget: true },
    );
    panel.iconPath = vscode.Uri.joinPath(this.media, 'sessions.svg');
    entry = { panel, sessionId, ready: false };
    this.panels.set(sessionId, entry);
    const current = entry;
    panel.onDidDispose(() => this.panels.delete(sessionId));
    // A hidden page is dropped (its context is not kept) and loads again from its HTML when shown.
    panel.onDidChangeViewState((e) => {
      if (!e.webviewPanel.visible) current.ready = false;
    });
    panel.webview.onDidReceiveMessage((msg: ViewMessage) => void this.handle(current, msg));
    await this.reload(entry, seq);
  }

  /** Reload the open views of these sessions (all when none is named). */
  refresh(sessionIds?: string[]): void {
    for (const entry of this.panels.values()) {
      if (!sessionIds || sessionIds.includes(entry.sessionId)) void this.reload(entry);
    }
  }

  /** Whether the view of this session is open. */
  isOpen(sessionId: string): boolean {
    return this.panels.has(sessionId);
  }

  private shows(model: SessionViewModel, seq: number): boolean {
    const last = model.blocks[model.blocks.length - 1];
    return Boolean(last) && Math.max(...(last.seqs.length ? last.seqs : [last.seq])) >= seq;
  }

  private async reload(entry: Panel, reveal?: number): Promise<void> {
    // One reload at a time per panel; a later one runs after it.
    const previous = entry.reloading ?? Promise.resolve();
    const next = previous.then(() => this.render(entry, reveal)).catch((err: unknown) => {
      entry.panel.webview.html = `<!DOCTYPE html><html><body><p>Could not load the session: ${String(err instanceof Error ? err.message : err).replace(/[<&]/g, ' ')}</p></body></html>`;
    });
    entry.reloading = next;
    await next;
  }

  private async render(entry: Panel, reveal?: number): Promise<void> {
    const show = await this.client.request<ShowResult>('sidecar/sessions/show', { sessionId: entry.sessionId });
    const { blocks, truncated } = await fetchBlocks(this.client, entry.sessionId);
    const session = show.session;
    const parent = session.parentId ? (show.lineage ?? []).find((s) => s.id === session.parentId) : undefined;
    const model: SessionViewModel = { session, blocks, checkpoints: show.checkpoints ?? [], parent, truncated };
    entry.model = model;
    const webview = entry.panel.webview;
    entry.panel.title = sessionLabel(session);
    const body = sessionBodyHtml(model);
    if (entry.ready && entry.panel.visible && reveal === undefined) {
      // The page stays; only its content changes (the scroll position is kept).
      await webview.postMessage({ type: 'update', html: body });
      return;
    }
    entry.ready = false;
    webview.html = pageHtml(
      body,
      {
        cspSource: webview.cspSource,
        nonce: makeNonce(),
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.media, 'sessionView.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.media, 'sessionView.css')).toString(),
        title: sessionLabel(session),
      },
      reveal,
    );
  }

  private async handle(entry: Panel, msg: ViewMessage): Promise<void> {
    try {
      const model = entry.model;
      switch (msg.type) {
        case 'ready':
          entry.ready = true;
          return;
        case 'openChanges': {
          const block = model?.blocks.find((b) => b.seq === msg.seq);
          if (block) await openBlockChanges(this.content, entry.sessionId, block);
          return;
        }
        case 'checkpointChanges':
          if (msg.checkpoint) await openCheckpointChanges(this.client, msg.checkpoint);
          return;
        case 'restoreCheckpoint': {
          const cp = model?.checkpoints.find((c) => c.id === msg.checkpoint);
          if (cp && (await restoreCheckpoint(this.client, cp))) await this.reload(entry);
          return;
        }
        case 'openSession':
          if (msg.session) await this.show(msg.session, typeof msg.seq === 'number' ? msg.seq : undefined);
          return;
      }
    } catch (err) {
      void vscode.window.showErrorMessage(`Session Sidecar: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  dispose(): void {
    for (const entry of this.panels.values()) entry.panel.dispose();
    this.panels.clear();
  }
}
