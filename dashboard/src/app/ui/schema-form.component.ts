import { Component, computed, effect, input, output, signal } from "@angular/core";
import Ajv, { type ErrorObject } from "ajv";

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; enum?: unknown[]; description?: string; minimum?: number; maximum?: number; default?: unknown };
interface Field {
  name: string;
  kind: "string" | "number" | "boolean" | "enum" | "json";
  required: boolean;
  schema: Schema;
}

const ajv = new Ajv({ allErrors: true, strict: false });

/**
 * A form generated from a method's paramsSchema: one field per top-level property (text, number,
 * checkbox, select for enums, JSON for anything nested), or one JSON box when the schema is not an
 * object with properties. The params are checked against the schema before the call, and each
 * error is shown at its field (the daemon checks again).
 */
@Component({
  selector: "bkg-schema-form",
  template: `
    <form (submit)="$event.preventDefault(); submit()" class="space-y-3" novalidate>
      @if (fields().length && !raw()) {
        @for (f of fields(); track f.name) {
          <div>
            <label class="label" [for]="id(f.name)">{{ f.name }}@if (f.required) {<span class="text-red-600" aria-hidden="true"> *</span>} <span class="font-normal normal-case">({{ typeLabel(f) }})</span></label>
            @switch (f.kind) {
              @case ("boolean") { <input type="checkbox" [id]="id(f.name)" [checked]="values()[f.name] === true" (change)="set(f.name, $any($event.target).checked)"> }
              @case ("enum") {
                <select class="input" [id]="id(f.name)" (change)="set(f.name, $any($event.target).value)">
                  <option value="">–</option>
                  @for (o of f.schema.enum ?? []; track $index) { <option [value]="o" [selected]="values()[f.name] === o">{{ o }}</option> }
                </select>
              }
              @case ("json") { <textarea class="input font-mono" rows="3" [id]="id(f.name)" [value]="text(f.name)" (input)="set(f.name, $any($event.target).value)" placeholder="JSON"></textarea> }
              @default { <input class="input" [type]="f.kind === 'number' ? 'number' : 'text'" [id]="id(f.name)" [value]="text(f.name)" (input)="set(f.name, $any($event.target).value)" [attr.aria-invalid]="!!errors()[f.name]" [attr.aria-describedby]="errors()[f.name] ? id(f.name) + '-err' : null"> }
            }
            @if (f.schema.description) { <p class="muted text-xs">{{ f.schema.description }}</p> }
            @if (errors()[f.name]) { <p class="mt-1 text-xs text-red-700 dark:text-red-300" [id]="id(f.name) + '-err'" [attr.data-testid]="'field-error-' + f.name">{{ errors()[f.name] }}</p> }
          </div>
        }
      } @else {
        <div>
          <label class="label" [for]="id('__raw')">params (JSON)</label>
          <textarea class="input font-mono" rows="5" [id]="id('__raw')" [value]="rawText()" (input)="rawText.set($any($event.target).value)"></textarea>
          @if (errors()[""]) { <p class="mt-1 text-xs text-red-700 dark:text-red-300" data-testid="field-error-params">{{ errors()[""] }}</p> }
        </div>
      }
      <div class="flex items-center gap-2">
        <button class="btn btn-primary" type="submit" [disabled]="disabled()">{{ submitLabel() }}</button>
        @if (fields().length) { <button class="btn" type="button" (click)="toggleRaw()">{{ raw() ? "Form" : "JSON" }}</button> }
        <ng-content />
      </div>
    </form>
  `,
})
export class SchemaFormComponent {
  readonly schema = input<Schema | undefined>(undefined);
  readonly formId = input("f");
  readonly submitLabel = input("Call");
  readonly disabled = input(false);
  readonly submitted = output<unknown>();
  readonly values = signal<Record<string, unknown>>({});
  readonly errors = signal<Record<string, string>>({});
  readonly raw = signal(false);
  readonly rawText = signal("{}");

  readonly fields = computed<Field[]>(() => {
    const s = this.schema();
    if (!s || !s.properties) return [];
    const req = new Set(s.required ?? []);
    return Object.entries(s.properties).map(([name, p]) => ({ name, required: req.has(name), schema: p, kind: kindOf(p) }));
  });
  private readonly validate = computed(() => {
    const s = this.schema();
    try {
      return s ? ajv.compile(s) : null;
    } catch {
      return null;
    }
  });

  constructor() {
    effect(() => {
      this.schema();
      this.values.set({});
      this.errors.set({});
      this.rawText.set("{}");
      this.raw.set(false);
    });
  }

  id(name: string): string {
    return `${this.formId()}-${name}`;
  }
  typeLabel(f: Field): string {
    return f.kind === "enum" ? "one of" : f.kind === "json" ? String(f.schema.type ?? "any JSON") : f.kind;
  }
  text(name: string): string {
    const v = this.values()[name];
    return v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
  }
  set(name: string, v: unknown): void {
    this.values.update((all) => ({ ...all, [name]: v }));
    if (this.errors()[name]) this.errors.update(({ [name]: _, ...rest }) => rest);
  }
  toggleRaw(): void {
    if (!this.raw()) {
      const p = this.params();
      this.rawText.set(JSON.stringify(p.ok ? p.value : {}, null, 2));
    }
    this.raw.update((r) => !r);
  }

  /** The params the fields hold: strings for text, numbers parsed, JSON parsed; empty fields left out. */
  private params(): { ok: true; value: unknown } | { ok: false; errors: Record<string, string> } {
    if (this.raw() || !this.fields().length) {
      try {
        return { ok: true, value: JSON.parse(this.rawText() || "{}") };
      } catch (e) {
        return { ok: false, errors: { "": `not valid JSON: ${(e as Error).message}` } };
      }
    }
    const out: Record<string, unknown> = {};
    const errors: Record<string, string> = {};
    for (const f of this.fields()) {
      const v = this.values()[f.name];
      if (v === undefined || v === "") continue;
      if (f.kind === "number") {
        const n = Number(v);
        if (Number.isNaN(n)) errors[f.name] = "must be a number";
        else out[f.name] = n;
      } else if (f.kind === "json") {
        try {
          out[f.name] = JSON.parse(String(v));
        } catch {
          errors[f.name] = "must be valid JSON";
        }
      } else out[f.name] = v;
    }
    return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: out };
  }

  submit(): void {
    const p = this.params();
    if (!p.ok) return this.errors.set(p.errors);
    const validate = this.validate();
    if (validate && !validate(p.value)) {
      this.errors.set(fieldErrors(validate.errors ?? [], this.raw() || !this.fields().length));
      return;
    }
    this.errors.set({});
    this.submitted.emit(p.value);
  }
}

function kindOf(p: Schema): Field["kind"] {
  if (p.enum) return "enum";
  const t = Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type;
  if (t === "string") return "string";
  if (t === "integer" || t === "number") return "number";
  if (t === "boolean") return "boolean";
  return "json";
}

/** ajv's errors by top-level field ("" for the whole params when shown as one JSON box). */
function fieldErrors(errs: ErrorObject[], whole: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errs) {
    const field = e.keyword === "required" ? String((e.params as { missingProperty: string }).missingProperty) : (e.instancePath.split("/")[1] ?? "");
    const key = whole ? "" : field;
    const msg = e.keyword === "required" ? "is required" : e.keyword === "additionalProperties" ? `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"` : (e.message ?? "is invalid");
    const text = whole && field ? `${field} ${msg}` : msg;
    out[key] = out[key] ? `${out[key]}; ${text}` : text;
  }
  return out;
}
