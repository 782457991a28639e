import { Component, DestroyRef, inject, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { ApiService, messageOf } from "../core/api.service";

interface Message {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * Chat with a model through the OpenAI-compatible POST /v1/chat/completions, streamed: the
 * answer grows as tokens arrive (server-sent events), and Stop aborts the request (which cancels
 * the call in the plugin). Listed only when the daemon has the /v1 routes; the models are those /v1/models lists with a chat method.
 */
@Component({
  selector: "bkg-chat",
  imports: [FormsModule],
  template: `
    <h1 class="h1">Chat playground</h1>
    @if (models() === null) { <p class="muted" aria-busy="true">Loading models…</p> }
    @else if (models()!.length === 0) { <div class="card text-sm">No chat model is available. Pull one on the Models page (for example <code>smollm2-135m-instruct</code>).</div> }
    @else {
      <div class="card flex h-[70vh] flex-col">
        <div class="mb-3 flex items-center gap-2 text-sm">
          <label for="chat-model" class="label mb-0">Model</label>
          <select id="chat-model" class="input w-64" [(ngModel)]="model">@for (m of models(); track m) { <option [value]="m">{{ m }}</option> }</select>
          <label for="chat-max" class="label mb-0 ml-3">Max tokens</label>
          <input id="chat-max" name="maxTokens" type="number" min="1" max="4096" class="input w-24" [(ngModel)]="maxTokens">
          <button class="btn ml-auto" type="button" (click)="messages.set([])" [disabled]="busy()">New chat</button>
        </div>
        <div class="flex-1 space-y-3 overflow-auto" aria-live="polite" data-testid="chat-log">
          @for (m of messages(); track $index) {
            <div [attr.data-testid]="'chat-' + m.role" class="max-w-3xl rounded-lg p-3 text-sm whitespace-pre-wrap" [class]="m.role === 'user' ? 'ml-auto bg-indigo-600 text-white' : 'bg-slate-100 dark:bg-slate-800'">{{ m.content }}@if (busy() && $last && m.role === "assistant") {<span class="animate-pulse">▍</span>}</div>
          } @empty { <p class="muted text-sm">Ask something; the answer streams in as the model writes it.</p> }
        </div>
        @if (error()) { <p class="error-box my-2" role="alert">{{ error() }}</p> }
        <form class="mt-3 flex gap-2" (ngSubmit)="send()">
          <label class="sr-only" for="chat-input">Message</label>
          <textarea id="chat-input" name="input" rows="2" class="input flex-1" [(ngModel)]="input" (keydown.enter)="$event.preventDefault(); send()" placeholder="Message (Enter sends, Shift+Enter for a new line)"></textarea>
          @if (busy()) { <button class="btn btn-danger" type="button" (click)="stop()">Stop</button> } @else { <button class="btn btn-primary" type="submit" [disabled]="!input.trim()">Send</button> }
        </form>
      </div>
    }
  `,
})
export class ChatPage {
  private readonly api = inject(ApiService);
  readonly models = signal<string[] | null>(null);
  readonly messages = signal<Message[]>([]);
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  model = "";
  input = "";
  /** The answer's length limit (the plugin caps it to the room left in the context). */
  maxTokens = 256;
  private abort: AbortController | null = null;

  constructor() {
    inject(DestroyRef).onDestroy(() => this.abort?.abort());
    this.api.get<{ data: { id: string; methods?: string[] }[] }>("/v1/models").then(
      (r) => {
        // /v1/models lists embedding models too; only those a plugin can chat with belong here.
        const chat = r.data.filter((m) => !m.methods || m.methods.some((x) => x.endsWith(".chat"))).map((m) => m.id);
        this.models.set(chat);
        this.model = chat[0] ?? "";
      },
      (e) => {
        this.models.set([]);
        this.error.set(`Could not list the models: ${messageOf(e)}`);
      },
    );
  }

  stop(): void {
    this.abort?.abort();
  }

  async send(): Promise<void> {
    const text = this.input.trim();
    if (!text || this.busy()) return;
    this.input = "";
    this.error.set(null);
    const history = [...this.messages(), { role: "user" as const, content: text }];
    this.messages.set([...history, { role: "assistant", content: "" }]);
    this.busy.set(true);
    this.abort = new AbortController();
    try {
      const res = await this.api.request("POST", "/v1/chat/completions", { model: this.model, messages: history, stream: true, max_tokens: Number(this.maxTokens) || 256 }, { signal: this.abort.signal, accept: "text/event-stream" });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: { message: string } };
            if (chunk.error) throw new Error(chunk.error.message);
            const piece = chunk.choices?.[0]?.delta?.content ?? "";
            if (piece) this.messages.update((all) => [...all.slice(0, -1), { role: "assistant", content: all[all.length - 1].content + piece }]);
          }
        }
      }
    } catch (e) {
      if ((e as Error).name !== "AbortError") this.error.set(messageOf(e));
    } finally {
      this.busy.set(false);
      this.abort = null;
    }
  }
}
