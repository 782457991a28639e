import { Component, inject, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { ApiService, messageOf } from "../core/api.service";
import { FeaturesService } from "../core/features.service";
import { imageForUpload } from "../ui/image-upload";
import { ms } from "../ui/format";

interface Match {
  subject: string;
  similarity: number;
  faceId: string;
}
interface Face {
  box: [number, number, number, number];
  score: number;
  landmarks: [number, number][];
  matches?: Match[];
}
interface Detection {
  faces: Face[];
  width: number;
  height: number;
  ms: number;
  threshold?: number;
}
interface Dataset {
  name: string;
  subjects: number;
  faces: number;
}

/** YuNet's landmark order: the person's right eye, left eye, nose tip, right and left mouth corner. */
const LANDMARKS = ["right eye", "left eye", "nose tip", "right mouth corner", "left mouth corner"];

/**
 * Faces (RustyFace): upload an image, see each face's box and five landmarks drawn over it
 * (rustyface.detect), identify the faces against a dataset of people (rustyface.identify), and
 * enroll the image's face as a subject (rustyface.enroll) to build a dataset from the page.
 */
@Component({
  selector: "bkg-faces",
  imports: [FormsModule],
  template: `
    <h1 class="h1">Faces playground <span class="muted text-sm font-normal">({{ plugin() }})</span></h1>
    @if (error()) { <p class="error-box mb-4" role="alert" data-testid="faces-error">{{ error() }}</p> }
    <div class="grid gap-4 lg:grid-cols-3">
      <section class="card lg:col-span-2" aria-label="Image">
        <div class="mb-3 flex flex-wrap items-end gap-3">
          <div><label class="label" for="f-image">Image (JPEG, PNG or WebP)</label>
            <input id="f-image" type="file" accept="image/jpeg,image/png,image/webp" class="text-sm" (change)="choose($event)"></div>
          <div><label class="label" for="f-dataset">Dataset</label>
            <select id="f-dataset" name="dataset" class="input w-48" [(ngModel)]="dataset">
              @for (d of datasets(); track d.name) { <option [value]="d.name">{{ d.name }} ({{ d.subjects }} people, {{ d.faces }} faces)</option> }
              @empty { <option value="">(no dataset yet)</option> }
            </select></div>
          <button class="btn btn-primary" type="button" (click)="identify()" [disabled]="!image() || !dataset || busy()" data-testid="identify">Identify</button>
        </div>
        @if (busy()) { <p class="muted mb-2 text-sm" aria-busy="true">{{ busy() }}</p> }
        @if (image(); as src) {
          <div class="relative inline-block max-w-full" data-testid="face-canvas">
            <img [src]="src" alt="The uploaded image" class="block max-h-[60vh] max-w-full">
            @if (result(); as r) {
              <svg class="absolute inset-0 h-full w-full" [attr.viewBox]="'0 0 ' + r.width + ' ' + r.height" preserveAspectRatio="none" aria-hidden="true">
                @for (f of r.faces; track $index) {
                  <rect data-testid="face-box" [attr.x]="f.box[0]" [attr.y]="f.box[1]" [attr.width]="f.box[2]" [attr.height]="f.box[3]" fill="none" [attr.stroke]="f.matches?.length ? '#10b981' : '#6366f1'" [attr.stroke-width]="stroke(r)" />
                  @for (l of f.landmarks; track $index) { <circle data-testid="face-landmark" [attr.cx]="l[0]" [attr.cy]="l[1]" [attr.r]="stroke(r) * 1.5" fill="#f59e0b" /> }
                  <text [attr.x]="f.box[0]" [attr.y]="f.box[1] - stroke(r) * 2" [attr.font-size]="stroke(r) * 7" fill="#fff" stroke="#000" paint-order="stroke" [attr.stroke-width]="stroke(r)">{{ labelOf(f) }}</text>
                }
              </svg>
            }
          </div>
        } @else { <p class="muted text-sm" data-testid="no-image">Choose a photo: every face in it is boxed, with its eyes, nose and mouth corners marked.</p> }
        @if (result(); as r) {
          <p class="muted mt-2 text-xs" data-testid="faces-summary">{{ r.faces.length }} face{{ r.faces.length === 1 ? "" : "s" }} in {{ r.width }}×{{ r.height }} · {{ ms(r.ms) }} in the plugin{{ r.threshold !== undefined ? " · match threshold " + r.threshold : "" }}</p>
          @if (r.faces.length === 0) { <p class="text-sm">No face found. Faces must be roughly 10 pixels wide or more after the image is fitted into 640×640; try a closer photo.</p> }
          <table class="table mt-2">
            <thead><tr><th>#</th><th>box (x, y, w, h)</th><th>score</th><th>landmarks</th><th>identified as</th></tr></thead>
            <tbody>
              @for (f of r.faces; track $index) {
                <tr data-testid="face-row"><td>{{ $index + 1 }}</td><td class="font-mono text-xs">{{ boxText(f) }}</td><td>{{ f.score.toFixed(2) }}</td>
                  <td class="text-xs" [title]="landmarkText(f)">5 points</td>
                  <td data-testid="face-match">@if (f.matches === undefined) { <span class="muted">–</span> } @else if (f.matches.length === 0) { <span class="muted">nobody in {{ identifiedIn() }} (below the threshold)</span> } @else { @for (m of f.matches; track m.faceId) { <div><b>{{ m.subject }}</b> <span class="muted">{{ m.similarity.toFixed(3) }}</span></div> } }</td></tr>
              }
            </tbody>
          </table>
        }
      </section>
      <section class="card space-y-4" aria-label="Datasets">
        <form class="space-y-2" (ngSubmit)="enroll()">
          <h2 class="h2">Enroll this face</h2>
          <p class="muted text-xs">The image's best-scoring face joins the person in the chosen dataset (enroll several photos of one person for better matches).</p>
          <label class="label" for="f-subject">Person</label>
          <input id="f-subject" name="subject" class="input" [(ngModel)]="subject" placeholder="ada">
          <button class="btn" type="submit" [disabled]="!image() || !dataset || !subject.trim() || busy()" data-testid="enroll">Enroll into {{ dataset || "…" }}</button>
          @if (enrolled()) { <p class="text-sm text-emerald-700 dark:text-emerald-300" role="status" data-testid="enrolled">{{ enrolled() }}</p> }
        </form>
        <form class="space-y-2" (ngSubmit)="createDataset()">
          <h2 class="h2">New dataset</h2>
          <label class="label" for="f-new-dataset">Name</label>
          <input id="f-new-dataset" name="newDataset" class="input" [(ngModel)]="newDataset" placeholder="staff">
          <button class="btn" type="submit" [disabled]="!newDataset.trim()">Create</button>
        </form>
      </section>
    </div>
  `,
})
export class FacesPage {
  private readonly api = inject(ApiService);
  private readonly features = inject(FeaturesService);
  readonly plugin = signal("rustyface");
  readonly datasets = signal<Dataset[]>([]);
  readonly image = signal<string | null>(null);
  readonly result = signal<Detection | null>(null);
  readonly identifiedIn = signal("");
  readonly busy = signal<string | null>(null);
  readonly error = signal<string | null>(null);
  readonly enrolled = signal<string | null>(null);
  readonly ms = ms;
  dataset = "";
  subject = "";
  newDataset = "";

  constructor() {
    void this.features.probe().then(() => {
      const p = this.features.faces();
      if (!p) return this.error.set("No faces plugin runs on this daemon (one providing detect, identify, datasets.list and enroll, such as rustyface): add its manifest.");
      this.plugin.set(p);
      void this.loadDatasets();
    });
  }

  /** Lines and dots a few pixels wide whatever the image's size. */
  stroke(r: Detection): number {
    return Math.max(1, Math.round(Math.max(r.width, r.height) / 300));
  }
  labelOf(f: Face): string {
    return f.matches?.length ? `${f.matches[0].subject} ${f.matches[0].similarity.toFixed(2)}` : f.score.toFixed(2);
  }
  boxText(f: Face): string {
    return f.box.map((v) => v.toFixed(0)).join(", ");
  }
  landmarkText(f: Face): string {
    return f.landmarks.map((l, i) => `${LANDMARKS[i] ?? i}: ${l[0].toFixed(0)}, ${l[1].toFixed(0)}`).join("\n");
  }

  async loadDatasets(select?: string): Promise<void> {
    try {
      const r = await this.api.call<{ datasets: Dataset[] }>(this.plugin(), "datasets.list");
      this.datasets.set(r.datasets);
      if (select || !r.datasets.some((d) => d.name === this.dataset)) this.dataset = select ?? r.datasets[0]?.name ?? "";
    } catch (e) {
      this.error.set(`Could not list the datasets: ${messageOf(e)}`);
    }
  }

  async choose(ev: Event): Promise<void> {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (!file) return;
    this.error.set(null);
    this.enrolled.set(null);
    this.result.set(null);
    try {
      this.image.set(await imageForUpload(file));
    } catch (e) {
      this.image.set(null);
      return this.error.set(messageOf(e));
    }
    await this.run("Finding faces…", async () => this.result.set(await this.api.call<Detection>(this.plugin(), "detect", { image: this.image() })));
  }

  async identify(): Promise<void> {
    const dataset = this.dataset;
    await this.run(`Identifying against ${dataset}…`, async () => {
      const r = await this.api.call<Detection>(this.plugin(), "identify", { dataset, image: this.image(), topK: 3 });
      this.identifiedIn.set(dataset);
      this.result.set(r);
    });
  }

  async enroll(): Promise<void> {
    const subject = this.subject.trim();
    this.enrolled.set(null);
    await this.run(`Enrolling ${subject}…`, async () => {
      const r = await this.api.call<{ facesInImage: number }>(this.plugin(), "enroll", { dataset: this.dataset, subject, image: this.image() });
      this.subject = "";
      // The counts in the dataset list first, then the note.
      await this.loadDatasets(this.dataset);
      this.enrolled.set(`${subject} enrolled in ${this.dataset}${r.facesInImage > 1 ? ` (the best of ${r.facesInImage} faces)` : ""}.`);
    });
  }

  async createDataset(): Promise<void> {
    const name = this.newDataset.trim();
    await this.run(`Creating ${name}…`, async () => {
      await this.api.call(this.plugin(), "datasets.create", { name });
      this.newDataset = "";
      await this.loadDatasets(name);
    });
  }

  private async run(what: string, fn: () => Promise<void>): Promise<void> {
    this.error.set(null);
    this.busy.set(what);
    try {
      await fn();
    } catch (e) {
      this.error.set(messageOf(e));
    } finally {
      this.busy.set(null);
    }
  }
}
