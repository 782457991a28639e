import { Component, ElementRef, effect, input, output, viewChild } from "@angular/core";

/**
 * A confirmation (Portainer's "are you sure" before a destructive action) in a native <dialog>:
 * modal, Escape cancels, focus moves into it and back.
 */
@Component({
  selector: "bkg-confirm",
  template: `
    <dialog #dlg class="m-auto w-full max-w-md rounded-lg border border-slate-300 bg-white p-5 text-slate-900 shadow-xl backdrop:bg-black/40 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100" (close)="cancelled.emit()" aria-labelledby="confirm-title">
      <h2 id="confirm-title" class="h2">{{ title() }}</h2>
      <p class="mb-4 text-sm">{{ message() }}</p>
      <div class="flex justify-end gap-2">
        <button class="btn" type="button" (click)="dlg.close()">Cancel</button>
        <button class="btn" [class.btn-danger]="danger()" [class.btn-primary]="!danger()" type="button" data-testid="confirm-ok" (click)="ok()" autofocus>{{ confirmLabel() }}</button>
      </div>
    </dialog>
  `,
})
export class ConfirmComponent {
  readonly open = input(false);
  readonly title = input("Are you sure?");
  readonly message = input("");
  readonly confirmLabel = input("Confirm");
  readonly danger = input(false);
  readonly confirmed = output<void>();
  readonly cancelled = output<void>();
  private readonly dlg = viewChild.required<ElementRef<HTMLDialogElement>>("dlg");
  private confirming = false;

  constructor() {
    effect(() => {
      const d = this.dlg().nativeElement;
      if (this.open() && !d.open) d.showModal();
      if (!this.open() && d.open) d.close();
    });
  }

  ok(): void {
    this.confirming = true;
    this.confirmed.emit();
    this.dlg().nativeElement.close();
    this.confirming = false;
  }
}
