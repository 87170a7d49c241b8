/**
 * Read-only Markdown transcripts under `sidecar-session:/<id>.md`, reloaded
 * when the session's history changes.
 */
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import type { EventPage, ShowResult, SidecarEvent } from './protocol';
import { renderTranscript, sessionIdFromQuery, transcriptPath, transcriptQuery, TRANSCRIPT_SCHEME } from './transcript';

/** Events per page when loading a whole transcript. */
const PAGE = 500;
/** Upper bound so a huge session cannot freeze the editor. */
const MAX_EVENTS = 20000;

export class TranscriptProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

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

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const sessionId = sessionIdFromQuery(uri.query);
    if (!sessionId) return `Not a session transcript: ${uri.toString()}\n`;
    try {
      const show = await this.client.request<ShowResult>('sidecar/sessions/show', { sessionId });
      const events: SidecarEvent[] = [];
      let afterSeq: number | null = 0;
      while (afterSeq !== null && events.length < MAX_EVENTS) {
        const page: EventPage = await this.client.request<EventPage>('sidecar/sessions/events', {
          sessionId,
          afterSeq,
          limit: PAGE,
        });
        events.push(...page.items);
        afterSeq = page.items.length ? page.nextAfterSeq : null;
      }
      return renderTranscript(show.session, events, show.checkpoints ?? []);
    } catch (err) {
      return `# Session ${sessionId}\n\nCould not load the transcript: ${err instanceof Error ? err.message : String(err)}\n`;
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
