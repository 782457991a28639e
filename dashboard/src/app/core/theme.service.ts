import { Injectable, signal } from "@angular/core";

/** Light or dark, remembered across visits (index.html applies it before the app starts). */
@Injectable({ providedIn: "root" })
export class ThemeService {
  readonly dark = signal(document.documentElement.classList.contains("dark"));

  toggle(): void {
    const dark = !this.dark();
    this.dark.set(dark);
    document.documentElement.classList.toggle("dark", dark);
    localStorage.setItem("bkg.theme", dark ? "dark" : "light");
  }
}
